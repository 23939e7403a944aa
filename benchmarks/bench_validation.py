"""Validation time, CPU time and peak memory, old code against new, alternating in one run.

Usage (from the repository root)::

    python benchmarks/bench_validation.py DATA [--old-src OLD/src] [--repeats 2] [--out DIR]

Each measurement is ``paleval.registers.validate(DATA)`` in a fresh Python process (its own
peak RSS, empty caches in a new temporary cache folder), with ``PYTHONPATH`` the new code's
``src`` (this checkout) or ``--old-src`` (e.g. ``git archive <commit> src | tar -x -C OLD``).
Runs alternate old, new, old, new, ... so that load on a shared machine hits both alike.
The findings tables of every run are written to ``--out`` and compared: the script fails when
old and new differ in anything but order.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

CHILD = r"""
import json, resource, sys, tempfile, time
t0, c0 = time.perf_counter(), time.process_time()
from paleval.registers import validate
with tempfile.TemporaryDirectory(prefix="bench-validation-") as cache:
    rep = validate(sys.argv[1], cache_dir=cache)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rep.findings.write_parquet(sys.argv[2])
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_gib": rss, "findings": rep.findings.height}))
"""


def _run(src: Path, data: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(out)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"validation failed with {src}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(a: Path, b: Path) -> bool:
    fa, fb = pl.read_parquet(a), pl.read_parquet(b)
    cols = ["rule", "register", "file", "column"]
    return fa.sort(cols, nulls_last=True).equals(fb.sort(cols, nulls_last=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--old-src", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-validation-"))
    out.mkdir(parents=True, exist_ok=True)
    new_src = Path(__file__).resolve().parents[1] / "src"
    versions = {"new": new_src} | ({"old": args.old_src} if args.old_src else {})
    order = sorted(versions, reverse=True)  # old first when given
    rows, first = [], {}
    for i in range(args.repeats):
        for name in order:
            path = out / f"findings_{name}_{i}.parquet"
            r = _run(versions[name], args.data, path)
            first.setdefault(name, path)
            rows.append({"version": name, "run": i} | r)
            print(json.dumps(rows[-1]), flush=True)
    table = pl.DataFrame(rows)
    print(table.group_by("version").agg(pl.all().exclude("run").median()).sort("version"))
    if "old" in first:
        same = _same(first["old"], first["new"])
        print(f"findings identical old/new: {same}")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
