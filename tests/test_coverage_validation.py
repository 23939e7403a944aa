"""validate() warns when out-of-hours GP activity collapses in a region without a declared
reason, and stays quiet for the declared Capital Region gap (issue 13)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from paleval.registers import validate


def _region_of(bef_dir: Path, year: int) -> pl.DataFrame:
    return pl.read_parquet(bef_dir / f"bef{year}12.parquet").select("PNR", "REG")


def test_declared_capital_region_gap_is_not_reported(tiny_dir: Path) -> None:
    # the synthetic SSSY has (almost) no out-of-hours services in region 84 from 2014 ...
    sssy = pl.read_parquet(tiny_dir / "sssy" / "sssy2016.parquet")
    cap = _region_of(tiny_dir / "bef", 2015).filter(pl.col("REG") == "84")
    ooh_cap = sssy.filter(pl.col("YDLTID") == "2").join(cap, on="PNR")
    assert ooh_cap.height == 0
    # ... which the coverage table declares: no finding
    rep = validate(tiny_dir, ["sssy", "bef"])
    assert rep.n("rate_collapse") == 0


def test_undeclared_collapse_is_a_warning_with_counts(tiny_dir: Path, tmp_path: Path) -> None:
    """Region 82's out-of-hours services of 2018 removed: a collapse nobody declared."""
    data = tmp_path / "data"
    (data / "sssy").mkdir(parents=True)
    (data / "bef").symlink_to(tiny_dir / "bef", target_is_directory=True)
    central = _region_of(tiny_dir / "bef", 2017).filter(pl.col("REG") == "82")
    for f in sorted((tiny_dir / "sssy").glob("*.parquet")):
        df = pl.read_parquet(f)
        if f.stem == "sssy2018":
            drop = (pl.col("YDLTID") == "2") & pl.col("PNR").is_in(central["PNR"].implode())
            assert df.filter(drop).height > 100
            df = df.filter(~drop)
        df.write_parquet(data / "sssy" / f.name)
    rep = validate(data, ["sssy", "bef"])
    found = rep.findings.filter(pl.col("rule") == "rate_collapse")
    assert found.height == 1
    row = found.row(0, named=True)
    assert row["severity"] == "warn" and row["register"] == "sssy"
    # n: the region's residents, BEF status on 31 December 2017
    assert row["n"] == central.height
    assert row["examples"][0].startswith("region 82 2018: 0 out-of-hours services")
    assert "no declared reason" in row["examples"][0]
