"""Benchmark: synthetic register generation (time, CPU, peak memory, rows/s).

Usage::

    python benchmarks/bench_synth.py                       # tiny and small
    python benchmarks/bench_synth.py --presets small national --out /big/disk

Each preset runs in a fresh subprocess so peak memory (max RSS) is its own. The baseline,
measured in the same run on the same files, is the I/O floor: reading every generated parquet
file and writing it again with polars. The ratio says how much of the generation time is
simulation rather than unavoidable I/O. Prints a Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from _common import run_child

CHILD = """
import json, resource, sys, time
from paleval.synth import SynthConfig, generate
cfg = SynthConfig.from_preset(sys.argv[1], seed=1)
t0, c0 = time.perf_counter(), time.process_time()
truth = generate(cfg, sys.argv[2], progress=True, overwrite=True)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(truth["counts"]["rows"].values())
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": rows,
                  "persons": cfg.n_persons}))
"""

COPY = """
import json, resource, sys, time
from pathlib import Path
import polars as pl
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
rows = 0
for f in sorted(src.rglob("*.parquet")):
    out = dst / f.relative_to(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    df = pl.read_parquet(f)
    rows += df.height
    df.write_parquet(out, compression="zstd")
    del df
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "rss_kib": rss, "rows": rows}))
"""


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "small"])
    ap.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    scratch = Path(args.out or tempfile.mkdtemp(prefix="paleval-bench-"))
    rows_out = []
    for preset in args.presets:
        data = scratch / preset
        gen = run_child(CHILD, preset, str(data))
        copy_dir = scratch / f"{preset}-copy"
        base = run_child(COPY, str(data), str(copy_dir))
        size = du(data)
        shutil.rmtree(copy_dir, ignore_errors=True)
        rows_out.append((preset, gen, base, size))
        print(f"{preset}: {gen['wall']:.1f} s, {gen['rows']:,} rows", file=sys.stderr)
    print(
        f"\nmachine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}, polars {pl.__version__}; "
        f"date {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| preset | persons | rows | files (GiB) | wall (s) | CPU (s) | peak RSS (GiB) | "
        "rows/s | baseline: read+rewrite all files (s) | generation / baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset, gen, base, size in rows_out:
        print(
            f"| {preset} | {gen['persons']:,} | {gen['rows']:,} | {size / 2**30:.2f} | "
            f"{gen['wall']:.1f} | {gen['cpu']:.1f} | {gen['rss_kib'] / 2**20:.2f} | "
            f"{gen['rows'] / gen['wall']:,.0f} | {base['wall']:.1f} | "
            f"{gen['wall'] / base['wall']:.1f}x |"
        )
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
