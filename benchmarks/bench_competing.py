"""Benchmark of paleval.stats.competing (a script, not a test).

* ``aalen_johansen`` on ``--rows`` rows (default 1,000,000) with day-resolution times
  versus lifelines' ``AalenJohansenFitter`` (baseline, same run and data), with and
  without lifelines' variance calculation. Reports the maximum absolute difference of
  the two cumulative incidence curves on a daily grid. lifelines breaks tied event
  times by adding random jitter (``jitter_level``, seeded here), so its curve is an
  estimate on perturbed data; paleval handles ties exactly (R ``survfit``).
* ``fine_gray`` on ``--fg-rows`` rows (default 200,000) with 10 covariates, and R's
  ``cmprsk::crr`` on a ``--crr-rows`` subsample (default 20,000) through an
  ``Rscript`` subprocess when R is available (skipped otherwise); paleval is refitted
  on the same subsample and the coefficients/SEs compared.

* with ``--study DATA_DIR``: ``fine_gray`` on the incident cohorts of a register folder
  (``paleval.report.load_study``; built, or read from ``--cache-dir``): the cancer cohort
  adjusted for age group, sex and education, and cancer + non-cancer with the cohort as a
  further term, as the 01_referral notebook fits them.

Usage::

    python benchmarks/bench_competing.py [--rows 1000000] [--fg-rows 200000]
        [--crr-rows 20000] [--seed 1] [--no-lifelines-variance]
        [--study DATA_DIR [--cache-dir DIR]]

Prints a markdown table. Peak memory is measured with ``tracemalloc`` in a separate
(untimed) run of each call, so timings are not distorted by tracing.
"""

from __future__ import annotations

import argparse
import gc
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

from paleval.stats.competing import aalen_johansen, fine_gray


def make_data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day-resolution competing-risks data with ``p`` covariates (heavy ties)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta1 = np.linspace(-0.3, 0.3, p)
    beta2 = np.linspace(0.2, -0.2, p)
    t1 = rng.exponential(400 * np.exp(-X @ beta1))
    t2 = rng.exponential(900 * np.exp(-X @ beta2))
    c = rng.uniform(30, 1500, size=n)
    t = np.minimum(np.minimum(t1, t2), c)
    e = np.where(c <= np.minimum(t1, t2), 0, np.where(t1 <= t2, 1, 2))
    return np.ceil(t), e.astype(np.int64), X


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def lifelines_aj(t: np.ndarray, e: np.ndarray, variance: bool, seed: int) -> Any:
    from lifelines import AalenJohansenFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AalenJohansenFitter(calculate_variance=variance, seed=seed).fit(
            t, e, event_of_interest=1
        )


def step_at(x: np.ndarray, y: np.ndarray, grid: np.ndarray, start: float = 0.0) -> np.ndarray:
    idx = np.searchsorted(x, grid, side="right") - 1
    return np.where(idx >= 0, y[np.maximum(idx, 0)], start)


def run_crr(t: np.ndarray, e: np.ndarray, X: np.ndarray) -> dict[str, Any] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
        pl.DataFrame({"time": t, "status": e, **cols}).write_csv(inp)
        code = f"""
        suppressPackageStartupMessages(library(cmprsk))
        d <- read.csv("{inp}")
        X <- as.matrix(d[, grep("^x", names(d))])
        tm <- system.time(fit <- crr(d$time, d$status, X, failcode = 1, cencode = 0))
        write.csv(data.frame(term = names(fit$coef), estimate = unname(fit$coef),
                             std_error = sqrt(diag(fit$var)), elapsed = tm[["elapsed"]]),
                  "{out}", row.names = FALSE)
        """
        proc = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"Rscript failed: {proc.stderr.strip()[:500]}")
            return None
        res = pl.read_csv(out)
    return {
        "time": float(res["elapsed"][0]),
        "estimate": res["estimate"].to_numpy(),
        "std_error": res["std_error"].to_numpy(),
    }


def study_fine_gray(data_dir: str, cache_dir: str | None, notes: list[str]) -> list[dict]:
    """fine_gray on the incident cohorts of a register folder, as 01_referral fits them."""
    import polars as pl

    from paleval.report import load_study

    t0 = time.perf_counter()
    study = load_study(data_dir, cache_dir=cache_dir)
    notes.append(f"study {data_dir}: loaded or built in {time.perf_counter() - t0:.0f} s")
    cols = ["time", "event", "age_group", "sex", "education"]
    cancer = study.incident_cancer.select(cols).with_columns(cohort=pl.lit("cancer"))
    both = pl.concat(
        [cancer, study.incident_noncancer.select(cols).with_columns(cohort=pl.lit("non-cancer"))]
    )
    out = []
    for task, df, terms in [
        ("Fine-Gray, incident cancer cohort", cancer, ["age_group", "sex", "education"]),
        ("Fine-Gray, cancer + non-cancer", both, ["cohort", "age_group", "sex", "education"]),
    ]:
        fit = lambda df=df, terms=terms: fine_gray("time", "event", terms, data=df)  # noqa: E731
        t_fit, res = timed(fit)
        out.append(
            dict(task=task, impl="paleval fine_gray", rows=df.height, time=t_fit,
                 mem=peak_mb(fit), ratio=float("nan"))
        )  # fmt: skip
        notes.append(f"{task}: {len(res.params)} terms, converged={res.converged}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for aalen_johansen")
    ap.add_argument("--fg-rows", type=int, default=200_000, help="rows for fine_gray")
    ap.add_argument("--crr-rows", type=int, default=20_000, help="subsample for R crr")
    ap.add_argument("--covariates", type=int, default=10, help="covariates for fine_gray")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--no-lifelines-variance",
        action="store_true",
        help="skip the (slow) lifelines run with calculate_variance=True",
    )
    ap.add_argument("--study", help="register folder: also time fine_gray on its cohorts")
    ap.add_argument("--cache-dir", help="load_study cache for --study")
    args = ap.parse_args()

    rows: list[dict[str, Any]] = []
    notes: list[str] = []

    # ------------------------------------------------------------ Aalen-Johansen
    n = args.rows
    t, e, _ = make_data(n, 1, args.seed)
    n_days = int(np.unique(t).size)
    t_pal, res = timed(lambda: aalen_johansen(t, e, cause=1), repeat=3)
    m_pal = peak_mb(lambda: aalen_johansen(t, e, cause=1))
    rows.append(
        dict(task="AJ CIF + SE", impl="paleval aalen_johansen", rows=n, time=t_pal, mem=m_pal)
    )
    grid = np.arange(0, t.max() + 1) + 0.5  # mid-day: every tied/jittered day-d event included
    ours = step_at(res.table["time"].to_numpy(), res.table["estimate"].to_numpy(), grid)

    variants = [False] if args.no_lifelines_variance else [True, False]
    ll_times = {}
    for var in variants:
        t_ll, ajf = timed(lambda var=var: lifelines_aj(t, e, var, args.seed))
        m_ll = peak_mb(lambda var=var: lifelines_aj(t, e, var, args.seed))
        ll_times[var] = t_ll
        label = "lifelines AalenJohansenFitter" + (" (variance)" if var else " (no variance)")
        rows.append(
            dict(task="AJ CIF + SE" if var else "AJ CIF", impl=label, rows=n, time=t_ll, mem=m_ll)
        )
        cd = ajf.cumulative_density_
        theirs = step_at(cd.index.to_numpy(dtype=float), cd.iloc[:, 0].to_numpy(), grid)
        diff = float(np.max(np.abs(ours - theirs)))
        notes.append(
            f"max |CIF_paleval - CIF_lifelines| on the daily grid ({label}): {diff:.2e} "
            f"({n_days} distinct days; lifelines jitters tied times at random, seed "
            f"{args.seed}, so it estimates on perturbed data)"
        )
    for r in rows:
        # paleval speed-up relative to each baseline row (baseline time / paleval time)
        r["ratio"] = float("nan") if r["impl"].startswith("paleval") else r["time"] / t_pal

    # ------------------------------------------------------------------ Fine-Gray
    nf, p = args.fg_rows, args.covariates
    tf, ef, Xf = make_data(nf, p, args.seed + 1)
    t_fg, fg = timed(lambda: fine_gray(tf, ef, Xf, cause=1))
    m_fg = peak_mb(lambda: fine_gray(tf, ef, Xf, cause=1))
    rows.append(
        dict(
            task=f"Fine-Gray, {p} covariates",
            impl="paleval fine_gray",
            rows=nf,
            time=t_fg,
            mem=m_fg,
            ratio=float("nan"),
        )
    )
    notes.append(f"paleval fine_gray converged={fg.converged} in {fg.n_iter} Newton iterations")

    ns = min(args.crr_rows, nf)
    sub = np.random.default_rng(args.seed + 2).choice(nf, size=ns, replace=False)
    ts, es, Xs = tf[sub], ef[sub], Xf[sub]
    t_sub, fg_sub = timed(lambda: fine_gray(ts, es, Xs, cause=1))
    m_sub = peak_mb(lambda: fine_gray(ts, es, Xs, cause=1))
    crr = run_crr(ts, es, Xs)
    rows.append(
        dict(
            task=f"Fine-Gray, {p} covariates",
            impl="paleval fine_gray",
            rows=ns,
            time=t_sub,
            mem=m_sub,
            ratio=float("nan"),
        )
    )
    if crr is None:
        notes.append("R cmprsk::crr: skipped (Rscript not available or failed)")
    else:
        rows.append(
            dict(
                task=f"Fine-Gray, {p} covariates",
                impl="R cmprsk::crr (Rscript)",
                rows=ns,
                time=crr["time"],
                mem=float("nan"),
                ratio=crr["time"] / t_sub,
            )
        )
        dc = np.max(np.abs(fg_sub.params - crr["estimate"]) / np.abs(crr["estimate"]))
        ds = np.max(np.abs(fg_sub.std_errors - crr["std_error"]) / crr["std_error"])
        notes.append(
            f"paleval vs crr on the {ns}-row subsample: max rel. diff coef {dc:.1e}, "
            f"SE {ds:.1e} (crr default gtol=1e-6, so ~1e-6 differences reflect crr's "
            "convergence); crr time is R's system.time elapsed, excluding R start-up"
        )

    if args.study:
        rows.extend(study_fine_gray(args.study, args.cache_dir, notes))

    # ------------------------------------------------------------------- output
    print(
        "| task | implementation | rows | time (s) | peak memory (MB) | rows/s "
        "| paleval speed-up vs this |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        mem = "n/a" if np.isnan(r["mem"]) else f"{r['mem']:.0f}"
        ratio = "" if np.isnan(r.get("ratio", np.nan)) else f"{r['ratio']:.1f}x"
        print(
            f"| {r['task']} | {r['impl']} | {r['rows']:,} | {r['time']:.3f} | {mem} | "
            f"{r['rows'] / r['time']:,.0f} | {ratio} |"
        )
    print()
    print("Speed-up = baseline time / paleval time on the same rows (same run, same data).")
    for s in notes:
        print(f"- {s}")


if __name__ == "__main__":
    main()
