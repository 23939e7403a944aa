"""Benchmark: the decedent cohort with all exposure windows and covariates.

Usage::

    python benchmarks/bench_cohort.py DATA_DIR [DATA_DIR ...]

DATA_DIR is a folder written by ``paleval synth`` (e.g. the ``small`` or ``national`` preset).
Each build runs in a fresh subprocess (peak RSS is its own) and is collected once with the
streaming engine. Baseline, in the same run on the same files: reading the input columns the
build uses (every register scanned and counted) — the I/O floor. Prints a Markdown table for
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import platform
import sys
import time

import polars as pl
from _common import run_child

BUILD = """
import json, resource, sys, time
import polars as pl
from paleval.registers import scan_registers, lpr_contacts, lpr_diagnoses, deduplicate_contacts
from paleval.cohort import (decedent_cohort, add_gp_exposures, add_terminal_declaration,
    add_spc, add_hospital_use, add_drug_use, add_charlson)
d = sys.argv[1]
t0, c0 = time.perf_counter(), time.process_time()
regs = scan_registers(d, ["dod", "dodsaasg", "bef", "udda", "faik", "sssy", "terminal", "dpd",
                          "lmdb"])
cohort = decedent_cohort(regs)
contacts, _ = deduplicate_contacts(lpr_contacts(d))
lf = add_gp_exposures(cohort.frame, regs["sssy"])
lf = add_terminal_declaration(lf, regs["terminal"])
lf = add_spc(lf, regs["dpd"])
lf = add_hospital_use(lf, contacts)
lf = add_drug_use(lf, regs["lmdb"])
lf = add_charlson(lf, lpr_diagnoses(d))
rows = lf.collect(engine="streaming")
flow = cohort.flow.table
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": rows.height,
                  "columns": rows.width, "deaths": int(flow["n"][0])}))
"""

SCAN = """
import json, resource, sys, time
import polars as pl
from paleval.registers import scan_register
d = sys.argv[1]
cols = {"dod": ["PNR", "DODDATO"], "dodsaasg": ["PNR", "C_DODTILGRUNDL_ACME"],
        "bef": ["PNR", "FOED_DAG"], "udda": ["PNR", "HFAUDD"], "faik": ["FAMILIE_ID"],
        "sssy": ["PNR", "HONUGE", "SPECIALE", "YDLANT"], "terminal": ["PNR"], "dpd": ["PNR"],
        "lmdb": ["PNR", "EKSD", "ATC"], "lpr_adm": ["PNR", "D_INDDTO", "D_UDDTO"],
        "lpr_diag": ["RECNUM", "C_DIAG"], "lpr_f_kontakter": ["PNR", "dato_start"],
        "lpr_f_diagnoser": ["DW_EK_KONTAKT", "diagnosekode"]}
t0 = time.perf_counter()
rows = 0
for key, c in cols.items():
    rows += scan_register(d, key).select(c).select(pl.len()).collect(engine="streaming").item()
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "rss_kib": rss, "rows": rows}))
"""


def main() -> None:
    dirs = sys.argv[1:]
    if not dirs:
        raise SystemExit(__doc__)
    results = []
    for d in dirs:
        build = run_child(BUILD, d)
        scan = run_child(SCAN, d)
        results.append((d, build, scan))
        print(f"{d}: {build['wall']:.1f} s", file=sys.stderr)
    print(
        f"\nmachine: {platform.machine()}, python {platform.python_version()}, "
        f"polars {pl.__version__}; date {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| data | deaths | cohort rows x columns | input rows read | wall (s) | CPU (s) | "
        "peak RSS (GiB) | input rows/s | baseline: scan inputs (s) | build / baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d, b, s in results:
        print(
            f"| {d} | {b['deaths']:,} | {b['rows']:,} x {b['columns']} | {s['rows']:,} | "
            f"{b['wall']:.1f} | {b['cpu']:.1f} | {b['rss_kib'] / 2**20:.2f} | "
            f"{s['rows'] / b['wall']:,.0f} | {s['wall']:.1f} | {b['wall'] / s['wall']:.1f}x |"
        )


if __name__ == "__main__":
    main()
