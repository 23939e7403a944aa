"""Benchmark: weekly care in the last year of life (``weekly_care_use``) against the cohort build.

Usage (from the repository root)::

    python benchmarks/bench_care_use.py DATA_DIR [--repeats 2]

The study build (``paleval.report.load_study``) adds ``weekly_care_use`` to the end-of-life
cohort: one more pass over the health insurance (SSSY) and prescription (LMDB) registers and
the LPR contacts, restricted to the decedents. Each step runs in a fresh Python process (its
own peak RSS), one after the other, ``--repeats`` times, alternating:

- **cohort**: ``end_of_life_cohort`` collected as ``load_study`` builds it (the baseline: the
  cost a study build had before the weekly measures);
- **care**: ``weekly_care_use`` of those decedents (SSSY and LMDB filtered to them, the LPR
  contacts), collected with the streaming engine;
- **I/O floor**: the columns the care step reads, decoded for the same persons (no work).

Prints wall and CPU seconds, peak memory and rows per second, and a Markdown table for
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from _common import run_child

HEAD = """
import json, resource, sys, time
import polars as pl
from paleval.registers import scan_registers, lpr_contacts, lpr_diagnoses
d, persons_file = sys.argv[1], sys.argv[2]
t0, c0 = time.perf_counter(), time.process_time()
"""

TAIL = """
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"wall": wall, "cpu": cpu, "peak_gib": rss, "rows": rows, "input": n_in}))
"""

COHORT = (
    HEAD
    + """
from paleval.cohort import charlson_codes, end_of_life_cohort
from paleval.report.study import study_registers, LPR_REGISTERS
keys = [k for k in study_registers(d) if k not in LPR_REGISTERS]
regs = scan_registers(d, keys, exclude=True)
contacts = lpr_contacts(d, exclude=True)
diagnoses = lpr_diagnoses(d, exclude=True, codes=charlson_codes())
eol = end_of_life_cohort(regs, contacts, diagnoses).collect()
eol.select("PNR", "death_date").write_parquet(persons_file)
rows, n_in = eol.height, eol.height
"""
    + TAIL
)

CARE = (
    HEAD
    + """
from paleval.cohort.trajectories import weekly_care_use
dec = pl.read_parquet(persons_file)
regs = scan_registers(d, ["sssy", "lmdb"], exclude=True)
persons = pl.col("PNR").is_in(dec["PNR"].implode())
care = weekly_care_use(dec, contacts=lpr_contacts(d, exclude=True),
                       sssy=regs["sssy"].filter(persons), lmdb=regs["lmdb"].filter(persons))
out = care.collect(engine="streaming")
rows = out.height
n_in = None
"""
    + TAIL
)

FLOOR = (
    HEAD
    + """
dec = pl.read_parquet(persons_file)
persons = pl.col("PNR").is_in(dec["PNR"].implode())
def scan(reg, cols):
    files = sorted(Path(d, reg).glob("*.parquet"))
    return pl.concat([pl.scan_parquet(f).select(cols) for f in files])
from pathlib import Path
parts = [scan("sssy", ["PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT"]).filter(persons),
         scan("lmdb", ["PNR", "EKSD", "ATC"]).filter(persons)]
got = pl.collect_all([p.select(pl.len()) for p in parts], engine="streaming")
n_in = int(sum(g.item() for g in got))
rows = n_in
"""
    + TAIL
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    runs: dict[str, list[dict]] = {"cohort": [], "care": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        persons = str(Path(tmp) / "decedents.parquet")
        for i in range(a.repeats):
            for name, code in (("cohort", COHORT), ("care", CARE), ("floor", FLOOR)):
                r = run_child(code, str(a.data), persons)
                runs[name].append(r)
                print(f"run {i + 1} {name}: {r}", file=sys.stderr)
    print(f"\n{a.data} on {platform.machine()}, {platform.python_version()}\n")
    print("| step | wall s | CPU s | peak GiB | output rows | input rows/s |")
    print("|---|---|---|---|---|---|")
    for name, rs in runs.items():
        best = min(rs, key=lambda r: r["wall"])
        rate = f"{best['input'] / best['wall']:,.0f}" if best.get("input") else ""
        print(
            f"| {name} | {best['wall']:.1f} | {best['cpu']:.1f} | {best['peak_gib']:.2f} | "
            f"{best['rows']:,} | {rate} |"
        )
    print("\n(best of the repeats; CPU is the steadier figure on a shared machine)")


if __name__ == "__main__":
    main()
