"""``validate`` accounts for every file of the data folder and, on request, verifies each file
against its own metadata (issue 15: nothing skipped silently, corrupt pages found)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

from _badinputs import dod_frame, flip, lmdb_frame
from paleval.registers import validate


def test_refused_file_is_a_finding_and_the_other_files_are_still_checked(tmp_path: Path) -> None:
    d = tmp_path / "lmdb"
    d.mkdir()
    good = lmdb_frame(30)
    # one impossible dispensing date in the readable file: it must still be counted
    good = good.with_columns(EKSD=good["EKSD"].scatter(3, dt.date(1900, 1, 1)))
    good.write_parquet(d / "lmdb2019.parquet")
    lmdb_frame(10).write_parquet(d / "lmdb2O20.parquet")  # letter O in the year
    rep = validate(tmp_path, ["lmdb"])
    f = rep.findings
    refused = f.filter(f["rule"] == "file_refused")
    assert refused.height == 1
    row = refused.row(0, named=True)
    assert row["file"] == "lmdb/lmdb2O20.parquet" and row["severity"] == "error"
    assert "matches no file" in row["examples"][0]
    assert rep.n("register_missing") == 0  # the register is delivered: one file is refused
    assert rep.n("date_sentinel") == 1  # and the readable file was checked
    assert not rep.ok


def test_verify_finds_a_damaged_parquet_page_that_a_lazy_read_accepts(tmp_path: Path) -> None:
    path = tmp_path / "dod.parquet"
    dod_frame(2000).write_parquet(path, compression="uncompressed", statistics=True)
    col = pq.read_metadata(path).row_group(0).column(1)
    flip(path, col.data_page_offset + col.total_compressed_size - 40, b"\xff\xff\x7f\x10")
    quick = validate(tmp_path, ["dod"])
    assert quick.n("file_corrupt") == 0  # off by default: no extra full read
    full = validate(tmp_path, ["dod"], verify=True)
    assert full.n("file_corrupt") == 1
    row = full.findings.filter(full.findings["rule"] == "file_corrupt").row(0, named=True)
    assert row["file"] == "dod.parquet" and "DODDATO" in row["examples"][0]


def test_clean_folder_has_no_file_findings(tmp_path: Path) -> None:
    dod_frame(50).write_parquet(tmp_path / "dod.parquet")
    rep = validate(tmp_path, ["dod"], verify=True)
    assert rep.n("file_refused") == 0 and rep.n("file_corrupt") == 0


def test_lower_case_atc_codes_count_as_the_drug_they_name() -> None:
    import polars as pl

    from paleval.cohort import add_drug_use

    c = pl.LazyFrame({"PNR": ["a", "b", "c"], "death_date": [dt.date(2020, 3, 1)] * 3})
    m = pl.LazyFrame(
        {
            "PNR": ["a", "b", "c"],
            "EKSD": [dt.date(2020, 2, 1)] * 3,
            "ATC": ["n02aa05", "N02 AA05", "A02BC01"],  # opioid, opioid, not an opioid
        }
    )
    got = add_drug_use(c, m).collect().sort("PNR")["opioid_90d"].to_list()
    assert got == [True, True, False]


def test_far_future_listing_end_means_still_listed_not_excluded(tmp_path: Path) -> None:
    import polars as pl

    from paleval.registers import scan_register

    d = dt.date
    pl.DataFrame(
        {
            "PNR": ["a", "b", "c"],
            "YDERNR": ["1001", "1002", "1003"],
            "DATO_FRA": [d(2010, 1, 1), d(2011, 1, 1), d(2012, 1, 1)],
            "DATO_TIL": [d(9999, 12, 31), None, d(1900, 1, 1)],  # open, open, missing-sentinel
        }
    ).write_parquet(tmp_path / "tilknytning.parquet")
    rep = validate(tmp_path, ["tilknytning"])
    assert rep.n("date_sentinel") == 1  # only 1900-01-01
    kept = scan_register(tmp_path, "tilknytning", exclude=True).collect()
    assert sorted(kept["PNR"].to_list()) == ["a", "b"]
