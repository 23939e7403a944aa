"""The duplicate-LPR-contact count (rule ``lpr_duplicate_contact``) alone, old code against
new, alternating in one run: wall, CPU time and peak memory, and the counts and examples
compared for equality.

Usage (from the repository root)::

    python benchmarks/bench_duplicate_contacts.py DATA --old-src OLD/src [--repeats 1]

Each measurement is ``paleval.registers.validation._duplicate_contacts`` on ``DATA`` (every
LPR contact file there) in a fresh Python process, with ``PYTHONPATH`` the new code's ``src``
(this checkout) or ``--old-src`` (e.g. ``git archive <commit> src | tar -x -C OLD``). The
parquet column checks of the registers' scans are remembered in one cache folder, made
before the first timed run, as :func:`paleval.registers.validate` has made them by the time
it reaches this rule; the figures are the rule's own (CPU: user + system, all threads).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from paleval.registers.loading import lpr_contacts
from paleval.registers.validation import _Collector, _duplicate_contacts
data, cache = Path(sys.argv[1]), sys.argv[2]
lpr_contacts(data, cache_dir=cache)  # the column checks: cached, as in validate()
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
out = _Collector()
_duplicate_contacts(data, ["lpr_adm", "lpr_f_kontakter"], out, cache)
wall, cpu_s = time.perf_counter() - t0, cpu() - c0
rows = out.frame().select("register", "n", "examples").sort("register").rows()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"wall_s": wall, "cpu_s": cpu_s, "peak_gib": rss, "rows": rows}))
"""


def _run(src: Path, data: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(cache)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--old-src", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    new_src = Path(__file__).resolve().parents[1] / "src"
    with tempfile.TemporaryDirectory(prefix="bench-dup-") as cache:
        results: dict[str, list[dict]] = {"old": [], "new": []}
        for i in range(args.repeats):
            for name, src in (("old", args.old_src), ("new", new_src)):
                r = _run(src, args.data, Path(cache))
                results[name].append(r)
                print(
                    f"{name} run {i + 1}: wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, "
                    f"peak {r['peak_gib']:.2f} GiB, {r['rows']}",
                    flush=True,
                )
    same = all(o["rows"] == n["rows"] for o, n in zip(results["old"], results["new"], strict=True))
    print("counts and examples identical:", same)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
