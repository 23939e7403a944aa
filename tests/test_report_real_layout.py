"""The report notebooks on a real-data layout: CSV (latin-1, semicolons) and SAS copies of tiny.

A research server's extract has no ``manifest.json`` or ground truth, comes as CSV or SAS
files, and is read-only. The same notebooks must run on it unchanged and give the same tables
as on the parquet original.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import polars as pl
import pytest

from _formats import write_as
from paleval.registers.model import REGISTERS
from paleval.report import run_report

pytestmark = pytest.mark.slow


def _copy_as(tiny_dir: Path, target: Path, fmt: str) -> Path:
    for key in REGISTERS:
        folder = tiny_dir / key
        if not folder.is_dir():
            continue
        (target / key).mkdir(parents=True, exist_ok=True)
        for f in sorted(folder.glob("*.parquet")):
            df = pl.read_parquet(f)
            write_as(df, target / key / f.stem, fmt)
    # read-only, as on a research server
    for p in sorted(target.rglob("*"), reverse=True):
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    target.chmod(target.stat().st_mode & ~stat.S_IWUSR)
    return target


@pytest.fixture(scope="module")
def parquet_report(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parquet_report")
    return run_report(root / "out", data_dir=tiny_dir, cache_dir=root / "c", log=lambda m: None)


@pytest.mark.parametrize("fmt", ["csv_latin1", "xpt"])
def test_notebooks_run_on_a_real_layout_and_give_the_same_tables(
    fmt: str, tiny_dir: Path, parquet_report: Path, tmp_path: Path
) -> None:
    data = _copy_as(tiny_dir, tmp_path / "extract", fmt)
    assert not (data / "manifest.json").exists()
    out = run_report(
        tmp_path / "report", data_dir=data, cache_dir=tmp_path / "cache", log=lambda m: None
    )
    a = json.loads((parquet_report / "manifest.json").read_text())["checksums"]
    b = json.loads((out / "manifest.json").read_text())["checksums"]
    assert set(a) == set(b)
    tables = sorted(k for k in a if k.endswith(".csv"))
    differ = [k for k in tables if a[k] != b[k]]
    assert not differ, f"tables differ between parquet and {fmt}: {differ}"
