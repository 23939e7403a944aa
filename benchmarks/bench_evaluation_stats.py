"""Benchmark of paleval.stats' evaluation estimators (a script, not a test).

* ``gee`` (binomial, exchangeable and AR(1) working correlation; Poisson with person-time,
  exchangeable) and ``negative_binomial`` (with person-time) on ``--rows`` rows (default
  900,000, a national decedent cohort) in ``--clusters`` clusters (default 2,000 practices),
  with 10 model terms (age, sex, 4 regions, 3 education levels, SPC);
* the baseline, statsmodels' ``GEE`` and ``NegativeBinomial`` (discrete ML, NB2, Newton), on
  the same arrays in the same run: paleval and statsmodels alternate, ``--repeats`` times each,
  and wall and CPU (process) time are reported (the minimum over repeats). statsmodels'
  ``Autoregressive`` GEE is run only up to ``--sm-ar1-rows`` rows (default 20,000: it took
  333 s wall, 101 s CPU there, on 100 clusters of 200 rows); The largest
  absolute coefficient difference between the two is printed (statsmodels' GEE estimates the
  scale and exchangeable correlation with degrees-of-freedom corrections that geepack and
  paleval do not use, so its coefficients differ slightly);
* ``segmented_regression``: a 240-month series, Poisson with Newey-West SEs;
* R (``geepack::geeglm``, ``MASS::glm.nb``) through ``Rscript`` on a CSV of the first
  ``--r-rows`` rows (default 20,000; ``0`` skips R), timed inside R with ``system.time``;
  paleval is timed on the same subsample. (geepack's cost grows with the cube of the cluster
  size: on 100,000 rows in clusters of ~450 it had not finished after 7 CPU minutes.)

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_evaluation_stats.py [--rows 900000]
        [--clusters 2000] [--repeats 2] [--r-rows 20000] [--sm-ar1-rows 20000] [--seed 1]
        [--workdir DIR]

Peak memory is measured with ``tracemalloc`` in a separate (untimed) run of each call. Prints
a markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from paleval.stats.count import negative_binomial
from paleval.stats.gee import gee
from paleval.stats.its import segmented_regression

COVS = ["age", "sex", "region", "education", "spc"]


def make_data(n: int, g: int, seed: int) -> pl.DataFrame:
    """Decedent-like rows in ``g`` practices: a binary outcome with a practice effect and
    NB counts with person-time."""
    rng = np.random.default_rng(seed)
    practice = np.sort(rng.integers(0, g, n))
    u = rng.normal(0, 0.4, g)[practice]
    age = rng.normal(80, 9, n).round()
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["R1", "R2", "R3", "R4", "R5"], n)
    edu = rng.choice(["low", "mid", "high", "unknown"], n, p=[0.4, 0.4, 0.15, 0.05])
    spc = rng.binomial(1, 0.35, n)
    lp = -1.0 + 0.5 * spc - 0.02 * (age - 80) + 0.2 * (sex == "M") + 0.3 * (edu == "high") + u
    home = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    years = rng.uniform(0.05, 1.0, n).round(4)
    mu = years * np.exp(0.5 + 0.3 * spc + 0.01 * (age - 80) + 0.5 * u)
    visits = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    order = np.arange(n) - np.searchsorted(practice, practice)  # position within practice
    return pl.DataFrame(
        {
            "practice": practice,
            "order": order,
            "age": age,
            "sex": sex,
            "region": region,
            "education": edu,
            "spc": spc,
            "home_death": home,
            "years": years,
            "visits": visits,
        }
    )


def design_arrays(d: pl.DataFrame) -> np.ndarray:
    """The design matrix paleval builds (reference levels first in sorted order)."""
    cols = [np.ones(d.height), d["age"].to_numpy()]
    for c in ("sex", "region", "education"):  # the order of COVS
        lv = sorted(d[c].unique().to_list())
        cols += [(d[c] == v).cast(pl.Float64).to_numpy() for v in lv[1:]]
    cols.append(d["spc"].cast(pl.Float64).to_numpy())
    return np.column_stack(cols)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def sm_gee(d: pl.DataFrame, family: str, cov: str, offset: bool):
    import statsmodels.api as sm

    fam = sm.families.Binomial() if family == "binomial" else sm.families.Poisson()
    cs = sm.cov_struct.Exchangeable() if cov == "exchangeable" else sm.cov_struct.Autoregressive()
    y = d["home_death" if family == "binomial" else "visits"].to_numpy().astype(float)
    kw: dict[str, Any] = {}
    if offset:
        kw["offset"] = np.log(d["years"].to_numpy())
    if cov == "ar1":
        kw["time"] = d["order"].to_numpy()
    m = sm.GEE(
        y, design_arrays(d), groups=d["practice"].to_numpy(), family=fam, cov_struct=cs, **kw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.fit().params


def sm_nb(d: pl.DataFrame):
    import statsmodels.api as sm

    m = sm.NegativeBinomial(
        d["visits"].to_numpy().astype(float),
        design_arrays(d),
        loglike_method="nb2",
        offset=np.log(d["years"].to_numpy()),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.fit(method="newton", maxiter=100, disp=0).params[:-1]


def cases(d: pl.DataFrame) -> dict[str, tuple[Callable, Callable | None]]:
    return {
        "gee binomial exchangeable": (
            lambda: gee(d, "home_death", COVS, cluster="practice", corstr="exchangeable").params,
            lambda: sm_gee(d, "binomial", "exchangeable", False),
        ),
        "gee binomial ar1": (
            lambda: (
                gee(d, "home_death", COVS, cluster="practice", corstr="ar1", order="order").params
            ),
            lambda: sm_gee(d, "binomial", "ar1", False),
        ),
        "gee poisson exchangeable (person-time)": (
            lambda: (
                gee(
                    d,
                    "visits",
                    COVS,
                    cluster="practice",
                    family="poisson",
                    corstr="exchangeable",
                    exposure="years",
                ).params
            ),
            lambda: sm_gee(d, "poisson", "exchangeable", True),
        ),
        "negative_binomial (person-time)": (
            lambda: negative_binomial(d, "visits", COVS, exposure="years").params,
            lambda: sm_nb(d),
        ),
    }


def its_case() -> Callable[[], Any]:
    rng = np.random.default_rng(3)
    months = pl.date_range(dt.date(2005, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)
    t = np.arange(months.len())
    py = rng.uniform(9000, 11000, t.size)
    mu = py / 1000 * np.exp(1 + 0.002 * t - 0.2 * (t >= 150) + 0.1 * np.sin(2 * np.pi * t / 12))
    s = pl.DataFrame({"month": months, "deaths": rng.poisson(mu), "py": py})
    return lambda: (
        segmented_regression(
            s,
            "deaths",
            "month",
            dt.date(2017, 7, 1),
            family="poisson",
            exposure="py",
            seasonality=2,
        ).params
    )


R_SCRIPT = r"""
suppressPackageStartupMessages({library(geepack); library(MASS)})
d <- read.csv(commandArgs(TRUE)[1])
for (v in c("sex", "region", "education")) d[[v]] <- factor(d[[v]])
f <- ~ age + sex + region + education + spc
res <- list()
tm <- function(name, expr) {  # one line per call as it finishes (a long run can be stopped)
  res[[name]] <<- unname(system.time(expr)[c("elapsed", "user.self")])
  message(sprintf("R %s: %.2f s wall, %.2f s CPU", name, res[[name]][1], res[[name]][2]))
}
tm("gee binomial exchangeable", geeglm(update(f, home_death ~ .), binomial, d, id = practice,
   corstr = "exchangeable"))
tm("gee binomial ar1", geeglm(update(f, home_death ~ .), binomial, d, id = practice,
   waves = order, corstr = "ar1"))
tm("gee poisson exchangeable (person-time)", geeglm(update(f, visits ~ . + offset(log(years))),
   poisson, d, id = practice, corstr = "exchangeable"))
tm("negative_binomial (person-time)", glm.nb(update(f, visits ~ . + offset(log(years))), d))
cat(paste0("{", paste(sprintf('"%s": [%f, %f]', names(res),
    sapply(res, `[`, 1), sapply(res, `[`, 2)), collapse = ", "), "}"), "\n")
"""


def run_r(d: pl.DataFrame, workdir: Path) -> dict[str, list[float]] | None:
    if shutil.which("Rscript") is None:
        return None
    csv = workdir / "bench_r.csv"
    d.write_csv(csv)
    script = workdir / "bench_r.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv)], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        print("R failed (see its messages above)")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=900_000)
    ap.add_argument("--clusters", type=int, default=2_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--r-rows", type=int, default=20_000)
    ap.add_argument("--sm-ar1-rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    d = make_data(a.rows, a.clusters, a.seed)
    print(f"{platform.processor() or platform.machine()}; rows {a.rows:,}; clusters {a.clusters:,}")
    print(
        "\n| call | paleval wall s | paleval CPU s | rows/s | peak MiB | statsmodels wall s "
        "| statsmodels CPU s | max abs coef diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (ours, theirs) in cases(d).items():
        if "ar1" in name and a.rows > a.sm_ar1_rows:
            theirs = None  # statsmodels' Autoregressive: 333 s for 20,000 rows in 100 clusters
        best_o, best_t = (np.inf, np.inf), (np.inf, np.inf)
        po = pt = None
        for _ in range(a.repeats):  # alternate paleval and statsmodels
            w, c, po = timed(ours)
            best_o = min(best_o, (w, c))
            if theirs is not None:
                w, c, pt = timed(theirs)
                best_t = min(best_t, (w, c))
        sm = (
            f"{best_t[0]:.2f} | {best_t[1]:.2f} | "
            f"{float(np.max(np.abs(np.asarray(po) - np.asarray(pt)))):.2g}"
            if pt is not None
            else f"not run (> {a.sm_ar1_rows:,} rows) | | "
        )
        print(
            f"| {name} | {best_o[0]:.2f} | {best_o[1]:.2f} | {a.rows / best_o[0]:,.0f} "
            f"| {peak_mb(ours):.0f} | {sm} |",
            flush=True,
        )
    its = its_case()
    w, c, _ = timed(its)
    print(
        f"| segmented_regression (240 months, Poisson, Newey-West) | {w:.3f} | {c:.3f} | | "
        f"{peak_mb(its):.1f} | | | |"
    )
    if a.r_rows:
        sub = d.head(a.r_rows)
        with tempfile.TemporaryDirectory() as tmp:
            r = run_r(sub, a.workdir or Path(tmp))
        if r is None:
            print("\nR: skipped (Rscript not found or failed)")
            return
        print(f"\nOn the first {a.r_rows:,} rows ({sub['practice'].n_unique()} clusters):\n")
        print("| call | paleval wall s | paleval CPU s | R wall s | R CPU s |")
        print("|---|---|---|---|---|")
        for name, (ours, _) in cases(sub).items():
            w, c, _ = timed(ours)
            rw, rc = r[name]
            print(f"| {name} | {w:.2f} | {c:.2f} | {rw:.2f} | {rc:.2f} |")


if __name__ == "__main__":
    main()
