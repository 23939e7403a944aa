"""The same rows in two part files of one register-year (issue 15): a counted exclusion.

``lmdb2019_1.parquet`` and ``lmdb2019_2.parquet`` (or the parts in a folder ``lmdb2019/``)
overlap when an export was restarted or a part delivered twice. Every expected count is read off
the construction (``tests/_badinputs.py``), not computed by paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from _badinputs import lmdb_frame
from paleval.registers import scan_register, validate

END = dt.date(2024, 12, 31)


def _dir(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "lmdb"
    d.mkdir(parents=True)
    return d


def _finding(rep) -> list[dict]:  # type: ignore[no-untyped-def]
    return rep.findings.filter(pl.col("rule") == "duplicate_across_parts").to_dicts()


def test_rows_repeated_in_a_later_part_are_counted_and_read_once(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    # nine prescriptions; part 1 holds rows 0-5, part 2 rows 3-8: its first three rows
    # repeat part 1's last three
    nine = lmdb_frame(9)
    nine[0:6].write_parquet(d / "lmdb2019_1.parquet")
    nine[3:9].write_parquet(d / "lmdb2019_2.parquet")
    lmdb_frame(4).write_parquet(d / "lmdb2020.parquet")  # same rows, another year: kept
    rep = validate(tmp_path / "data", ["lmdb"], extract_end=END)
    (f,) = _finding(rep)
    assert (f["file"], f["n"], f["severity"]) == ("lmdb2019_2.parquet", 3, "exclude")
    assert f["examples"] == [f"row {r} (also in an earlier part of 2019 lmdb)" for r in (1, 2, 3)]
    raw = scan_register(tmp_path / "data", "lmdb").collect()
    kept = scan_register(tmp_path / "data", "lmdb", exclude=True, extract_end=END).collect()
    # the counts add up: 16 rows read = 13 kept + 3 excluded
    assert (raw.height, kept.height) == (16, 13)
    assert sorted(kept.filter(pl.col("year") == 2019)["PNR"].to_list()) == [
        f"{i:010d}" for i in range(9)
    ]
    assert kept.filter(pl.col("year") == 2020).height == 4


def test_a_part_delivered_twice_in_a_folder(tmp_path: Path) -> None:
    d = _dir(tmp_path) / "lmdb2019"
    d.mkdir()
    lmdb_frame(5).write_parquet(d / "part-0.parquet")
    lmdb_frame(2, offset=5).write_parquet(d / "part-1.parquet")
    lmdb_frame(5).write_parquet(d / "part-2.parquet")  # part 0 again
    rep = validate(tmp_path / "data", ["lmdb"], extract_end=END)
    (f,) = _finding(rep)
    assert (f["file"], f["n"]) == ("lmdb2019/part-2.parquet", 5)
    kept = scan_register(tmp_path / "data", "lmdb", exclude=True, extract_end=END).collect()
    assert kept.height == 7 and kept["PNR"].n_unique() == 7


def test_identical_rows_within_one_part_are_not_this_rule(tmp_path: Path) -> None:
    # two identical prescriptions in one file can be real (two packages on one day)
    d = _dir(tmp_path)
    one = lmdb_frame(3)
    pl.concat([one, one.head(1)]).write_parquet(d / "lmdb2019_1.parquet")
    lmdb_frame(2, offset=3).write_parquet(d / "lmdb2019_2.parquet")
    rep = validate(tmp_path / "data", ["lmdb"], extract_end=END)
    assert _finding(rep) == []
    kept = scan_register(tmp_path / "data", "lmdb", exclude=True, extract_end=END).collect()
    assert kept.height == 6
