"""Benchmark: the whole report, and each analysis called directly.

Usage::

    python benchmarks/bench_report.py DATA_DIR [--jobs 2]

DATA_DIR is a folder written by ``paleval synth`` (e.g. the ``small`` preset). Measured, each in
a fresh process:

1. ``paleval report`` end to end with empty caches (validation, cohort build, every
   notebook, export, disclosure check): wall, CPU (the process and its kernels), peak RSS of
   the largest process, and the per-notebook times from the manifest;
2. the same report again with the study cache warm (notebooks only);
3. baseline, in the same run on the same data: every analysis the notebooks run, called
   directly in one Python process on the cached study frames (no notebooks, no files) — the
   library's floor, so the difference is the cost of kernels, figures and export.

Prints a Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import run_child

ANALYSES = """
import json, resource, sys, time
t_import = time.perf_counter()
from paleval.analyses import (cancer_vs_noncancer, characteristics, place_of_death_gp,
    quality_indicators, referral_before_death, social_inequality, time_to_referral, waiting_time)
from paleval.report import load_study
study = load_study(sys.argv[1], cache_dir=sys.argv[2])
times = {}
def timed(name, fn):
    t0 = time.perf_counter(); fn(); times[name] = round(time.perf_counter() - t0, 2)
inc = {"cancer": study.incident_cancer, "noncancer": study.incident_noncancer}
t0, c0 = time.perf_counter(), time.process_time()
timed("characteristics", lambda: characteristics(study.decedents))
timed("time_to_referral", lambda: time_to_referral(inc, by="cohort",
      covariates=["age_group", "sex", "education"]))
timed("referral_before_death", lambda: referral_before_death(study.decedents))
timed("place_of_death_gp", lambda: place_of_death_gp(study.decedents))
timed("cancer_vs_noncancer", lambda: cancer_vs_noncancer(study.decedents))
timed("social_inequality", lambda: social_inequality(study.decedents))
timed("quality_indicators", lambda: quality_indicators(study.dpd, study.decedents))
timed("waiting_time", lambda: waiting_time(study.dpd, decedents=study.decedents))
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "times": times,
                  "decedents": study.decedents.height}))
"""


def _report(data: str, out: Path, cache: Path, jobs: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "from paleval.cli import main; raise SystemExit(main())",
         "report", "--data", data, "--out", str(out),
         "--cache-dir", str(cache), "--jobs", str(jobs)],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("paleval report failed")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall": wall,
        "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_kib": after.ru_maxrss,
        "notebooks": manifest["timings"]["notebooks"],
        "files": len(manifest["checksums"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    # the loaders' cache (converted files, remembered column checks) starts empty too
    os.environ["PALEVAL_CACHE_DIR"] = str(work / "loader-cache")
    try:
        cold = _report(args.data, work / "cold", work / "cache", args.jobs)
        warm = _report(args.data, work / "warm", work / "cache", args.jobs)
        base = run_child(ANALYSES, args.data, str(work / "cache"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    gib = 1024 * 1024
    print(f"\n{platform.machine()}, Python {platform.python_version()}, data {args.data}, "
          f"{base['decedents']:,} decedents, --jobs {args.jobs}\n")  # fmt: skip
    print("| run | wall (s) | CPU (s) | peak RSS (GiB) | vs baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, r in [("report, cold cache (build + notebooks)", cold),
                    ("report, warm cache (notebooks only)", warm)]:  # fmt: skip
        print(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_kib'] / gib:.2f} | "
              f"{r['wall'] / base['wall']:.1f}x |")  # fmt: skip
    print(f"| baseline: the analyses called directly | {base['wall']:.1f} | {base['cpu']:.1f} | "
          f"{base['rss_kib'] / gib:.2f} | 1.0x |")  # fmt: skip
    print("\nper notebook (s, warm): " + ", ".join(
        f"{k} {v}" for k, v in warm["notebooks"].items()))  # fmt: skip
    print("per analysis (s, direct): " + ", ".join(f"{k} {v}" for k, v in base["times"].items()))
    print(f"files written per report: {warm['files']}")


if __name__ == "__main__":
    main()
