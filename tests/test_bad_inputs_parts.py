"""The same rows in two part files of one register-year (issue 15): a counted exclusion.

``lmdb2019_1.parquet`` and ``lmdb2019_2.parquet`` (or the parts in a folder ``lmdb2019/``)
overlap when an export was restarted or a part delivered twice. Every expected count is read off
the construction (``tests/_badinputs.py``), not computed by paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from _badinputs import BEF, dod_frame, lmdb_frame, write_files
from paleval.registers import scan_register, validate
from paleval.registers.validation import RegisterValidationError

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


def _key_finding(rep) -> list[dict]:  # type: ignore[no-untyped-def]
    return rep.findings.filter(pl.col("rule") == "duplicate_key_across_parts").to_dicts()


def test_a_key_in_two_parts_with_other_values_is_an_error(tmp_path: Path) -> None:
    # eight deaths; part 1 holds persons 0-4, part 2 persons 3-7: person 3's row is repeated
    # as it is (duplicate_across_parts), person 4 comes back with another date of death (two
    # versions of one record), persons 5-7 are new
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    eight = dod_frame(8)
    eight[0:5].write_parquet(d / "dod_1.parquet")
    other = pl.when(pl.col("PNR") == f"{4:010d}").then(dt.date(2016, 1, 1))
    eight[3:8].with_columns(DODDATO=other.otherwise(pl.col("DODDATO"))).write_parquet(
        d / "dod_2.parquet"
    )
    rep = validate(tmp_path / "data", ["dod"], extract_end=END)
    (f,) = _key_finding(rep)
    assert (f["file"], f["column"], f["n"], f["severity"]) == ("dod_2.parquet", "PNR", 1, "error")
    assert f["examples"] == ["row 2 (key also in an earlier part of dod, other values)"]
    # the identical row is only the other rule: the counts do not overlap
    (same,) = _finding(rep)
    assert (same["file"], same["n"]) == ("dod_2.parquet", 1)
    with pytest.raises(RegisterValidationError, match="duplicate_key_across_parts"):
        rep.raise_if_errors()


def test_a_key_in_two_years_or_in_no_earlier_part_is_not_this_rule(tmp_path: Path) -> None:
    d = tmp_path / "data" / "bef"
    rows = BEF.splitlines()
    header, people = rows[0], rows[1:]
    write_files(
        d,
        {
            # 2019 in two parts without a shared person; 2020 the same people again
            "bef201912_1.csv": "\n".join([header, *people[:2]]) + "\n",
            "bef201912_2.csv": "\n".join([header, people[2]]) + "\n",
            "bef202012.csv": "\n".join([header, *people]) + "\n",
        },
    )
    rep = validate(tmp_path / "data", ["bef"], extract_end=END)
    assert _key_finding(rep) == []
    # the same person in both parts, other values: found
    changed = people[1].replace(",751,", ",101,")
    assert changed != people[1]
    write_files(d, {"bef201912_2.csv": "\n".join([header, people[2], changed]) + "\n"})
    rep = validate(tmp_path / "data", ["bef"], extract_end=END)
    (f,) = _key_finding(rep)
    assert (f["file"], f["n"], f["examples"]) == (
        "bef201912_2.csv",
        1,
        ["row 2 (key also in an earlier part of 2019 bef, other values)"],
    )
