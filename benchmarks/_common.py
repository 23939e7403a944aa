"""Helpers shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import json
import subprocess
import sys


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python process (its own peak RSS) and parse its last JSON line."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child failed: {args}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
