"""Benchmark of paleval.stats.mixed (a script, not a test).

* ``mixed_logistic`` (Laplace, and adaptive quadrature with ``--nagq`` nodes) on ``--rows``
  rows (default 900,000, a national decedent cohort) in ``--groups`` practices (default
  2,000, log-normal sizes), a binary outcome with a planted random-intercept SD of 0.4 and
  six fixed-effect terms (age, sex, cancer, a four-level region);
* R ``lme4::glmer(..., nAGQ = 1)`` on the same rows through an ``Rscript`` subprocess (skipped
  when R or lme4 is missing; ``--no-r`` to skip), timed inside R around ``glmer`` only
  (reading the CSV is not counted), with the largest differences of the estimates;
* statsmodels' ``BinomialBayesMixedGLM.fit_vb`` (variational Bayes: a different estimator,
  compared for time and rough agreement) on the first ``--sm-rows`` rows (default 20,000:
  its formula interface builds a dense rows x groups random-effects matrix, 14 GB at
  900,000 x 2,000), with paleval refitted on the same rows.

Usage::

    python benchmarks/bench_mixed.py [--rows 900000] [--groups 2000] [--nagq 5]
        [--sm-rows N] [--workdir DIR] [--no-r] [--no-statsmodels] [--seed 1]

Prints a markdown table: wall and CPU seconds of each fit in this run, and peak memory
(``tracemalloc``, in a separate untimed run of the paleval call; ``ru_maxrss`` for R).
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from paleval.stats.mixed import mixed_logistic

SIGMA = 0.4


def make_data(n: int, groups: int, seed: int) -> pl.DataFrame:
    """Decedents in practices of log-normal size, home death with a practice effect."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.6, groups)
    practice = rng.choice(groups, size=n, p=size / size.sum())
    age = rng.normal(80, 9, n).round()
    sex = rng.choice(["F", "M"], n)
    cancer = rng.choice(["no", "yes"], n, p=[0.65, 0.35])
    region = rng.choice(["Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland"], n)
    u = rng.normal(0, SIGMA, groups)[practice]
    lp = (
        -1.1
        - 0.02 * (age - 80)
        + 0.1 * (sex == "M")
        + 0.8 * (cancer == "yes")
        + np.select([region == "Midtjylland", region == "Nordjylland"], [0.2, 0.3], 0.0)
        + u
    )
    y = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    frame = pl.DataFrame(
        {
            "practice": pl.Series(practice).cast(pl.String).str.zfill(4),
            "home_death": y,
            "age": age,
            "sex": sex,
            "cancer": cancer,
            "region": region,
        }
    )
    return frame.with_columns(("p" + pl.col("practice")).alias("practice"))


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def peak_mib(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


R_CODE = r"""
suppressPackageStartupMessages(library(lme4))
a <- commandArgs(TRUE)
d <- read.csv(a[1])
d$region <- factor(d$region); d$sex <- factor(d$sex); d$cancer <- factor(d$cancer)
t0 <- proc.time()
fit <- glmer(home_death ~ age + sex + cancer + region + (1 | practice), data = d,
             family = binomial, nAGQ = 1)
el <- proc.time() - t0
b <- fixef(fit)
fmt <- paste0('{"wall": %.3f, "cpu": %.3f, "sigma": %.10f, "maxrss_mib": %.1f, ',
              '"beta": [%s], "se": [%s]}\n')
cat(sprintf(fmt,
    el[["elapsed"]], el[["user.self"]] + el[["sys.self"]], getME(fit, "theta")[[1]],
    as.numeric(system(paste("ps -o rss= -p", Sys.getpid()), intern = TRUE)) / 1024,
    paste(sprintf("%.10f", b), collapse = ","),
    paste(sprintf("%.10f", sqrt(diag(as.matrix(vcov(fit))))), collapse = ",")))
"""


def run_lme4(data: pl.DataFrame, workdir: Path) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    csv = workdir / "bench_mixed.csv"
    data.write_csv(csv)
    script = workdir / "bench_mixed.R"
    script.write_text(R_CODE)
    proc = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_statsmodels(data: pl.DataFrame) -> tuple[Any, float, float]:
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    pdf = data.to_pandas()  # statsmodels takes pandas
    model = BinomialBayesMixedGLM.from_formula(
        "home_death ~ age + sex + cancer + region", {"practice": "0 + C(practice)"}, pdf
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return timed(model.fit_vb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=900_000)
    ap.add_argument("--groups", type=int, default=2_000)
    ap.add_argument("--nagq", type=int, default=5)
    ap.add_argument("--sm-rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-statsmodels", action="store_true")
    args = ap.parse_args()

    data = make_data(args.rows, args.groups, args.seed)
    covs = ["age", "sex", "cancer", "region"]
    rows: list = []

    def add(row: tuple) -> None:  # progress on stderr: partial results survive a long R fit
        rows.append(row)
        print(f"done: {row}", file=sys.stderr, flush=True)

    def fit(k: int) -> Any:
        return mixed_logistic(data, "home_death", covs, "practice", nagq=k)

    lap, w, c = timed(lambda: fit(1))
    add(("paleval mixed_logistic, Laplace", w, c, peak_mib(lambda: fit(1)), lap.sigma))
    if args.nagq > 1:
        agq, w, c = timed(lambda: fit(args.nagq))
        add(
            (
                f"paleval mixed_logistic, nAGQ={args.nagq}",
                w,
                c,
                peak_mib(lambda: fit(args.nagq)),
                agq.sigma,
            )
        )
    notes = []
    if not args.no_r:
        tmp = args.workdir or Path(tempfile.mkdtemp())
        tmp.mkdir(parents=True, exist_ok=True)
        r = run_lme4(data, tmp)
        if r is not None:
            add(("R lme4::glmer, nAGQ=1", r["wall"], r["cpu"], r["maxrss_mib"], r["sigma"]))
            db = np.max(np.abs(np.array(r["beta"]) - lap.params))
            dse = np.max(np.abs(np.array(r["se"]) / np.sqrt(np.diag(lap.vcov)) - 1))
            notes.append(
                f"paleval Laplace vs lme4: max |beta diff| {db:.2e}, max SE rel. diff {dse:.2e}, "
                f"sigma {lap.sigma:.6f} vs {r['sigma']:.6f}"
            )
    if not args.no_statsmodels:
        sub = data.head(args.sm_rows)
        res, w, c = run_statsmodels(sub)
        add((f"statsmodels fit_vb ({sub.height} rows)", w, c, np.nan, np.exp(res.vcp_mean[0])))
        same, w, c = timed(lambda: mixed_logistic(sub, "home_death", covs, "practice"))
        add((f"paleval Laplace ({sub.height} rows)", w, c, np.nan, same.sigma))
    print_table(args, rows, notes)


def print_table(args: argparse.Namespace, rows: list, notes: list) -> None:
    print(f"{args.rows} rows, {args.groups} groups, planted sigma {SIGMA}\n")
    print("| fit | wall s | CPU s | peak MiB | sigma |")
    print("|---|---:|---:|---:|---:|")
    for name, w, c, m, s in rows:
        print(f"| {name} | {w:.1f} | {c:.1f} | {m:.0f} | {s:.4f} |")
    for n in notes:
        print(f"\n{n}")


if __name__ == "__main__":
    main()
