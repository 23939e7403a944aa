"""Validation rules of the nursing-home register ``plh`` (issue 13): reversed stays excluded and
counted, open stays kept, overlapping stays and stays after death reported.

The extract is written by hand (tests/_badinputs.py plus a ``plh`` file); every expected count
is read off the rows below, not computed by paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from _badinputs import BEF, DOD, write_files
from paleval.cohort.decedents import add_nursing_home
from paleval.registers import exclusion_filter, scan_register, validate

D = dt.date
A, B, C = "0101501111", "0202602222", "0303703333"  # A dies on 2020-06-01 (DOD)
PLH_ROWS = [
    (A, "2018-01-01", "2018-06-30"),  # row 1: closed
    (A, "2018-06-30", "2020-06-05"),  # row 2: a move on the day of the move-out; out after death
    (A, "2020-07-01", ""),  # row 3: moved in after death (open)
    (B, "2019-05-01", "2019-03-01"),  # row 4: reversed -> end_before_start (excluded)
    (B, "2019-01-01", "2019-12-31"),  # row 5
    (B, "2019-06-01", "2019-08-01"),  # row 6: inside row 5 -> overlap
    (C, "2019-02-01", ""),  # row 7: open stay, kept
    (C, "2019-03-01", "2019-04-01"),  # row 8: inside the open stay -> overlap
]
PLH = "PNR,TILFLYT_DATO,FRAFLYT_DATO\n" + "".join(f"{p},{i},{o}\n" for p, i, o in PLH_ROWS)
KEYS = ["bef", "dod", "plh"]


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    return write_files(tmp_path, {"bef/bef201912.csv": BEF, "dod/dod.csv": DOD, "plh/plh.csv": PLH})


def _finding(rep, rule: str, column: str) -> dict:  # type: ignore[no-untyped-def]
    rows = rep.findings.filter((pl.col("rule") == rule) & (pl.col("column") == column))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_reversed_stay_excluded_and_counted(extract: Path) -> None:
    rep = validate(extract, KEYS)
    f = _finding(rep, "end_before_start", "FRAFLYT_DATO")
    assert (f["register"], f["file"], f["n"], f["severity"]) == ("plh", "plh.csv", 1, "exclude")
    assert f["examples"] == ["row 4: '2019-03-01'"]
    kept = scan_register(extract, "plh", exclude=True).collect()
    # 8 rows read = 7 kept + 1 excluded; the reversed stay is the one missing
    assert kept.height == 7
    assert (B, D(2019, 5, 1)) not in set(kept.select("PNR", "TILFLYT_DATO").iter_rows())
    # the filter the loaders use is the one validation counts with
    raw = scan_register(extract, "plh").collect()
    keep = exclusion_filter("plh", raw.columns, extract_end=D(2020, 12, 31))
    assert raw.filter(~keep)["TILFLYT_DATO"].to_list() == [D(2019, 5, 1)]


def test_open_stays_kept(extract: Path) -> None:
    kept = scan_register(extract, "plh", exclude=True).collect()
    open_stays = kept.filter(pl.col("FRAFLYT_DATO").is_null())
    assert sorted(open_stays.select("PNR", "TILFLYT_DATO").rows()) == [
        (A, D(2020, 7, 1)),
        (C, D(2019, 2, 1)),
    ]
    rep = validate(extract, KEYS)
    assert rep.n("null_required", "plh") == 0
    assert rep.n("end_before_start", "plh") == 1


def test_overlapping_stays_reported(extract: Path) -> None:
    rep = validate(extract, KEYS)
    f = _finding(rep, "stay_overlap", "TILFLYT_DATO")
    # rows 6 and 8; the reversed row 4 is excluded, so it is no overlap; row 2 starts on the
    # day row 1 ends (a move)
    assert (f["n"], f["severity"], f["examples"]) == (2, "warn", ["row 6", "row 8"])
    dbg = validate(extract, KEYS, debug=True)
    assert _finding(dbg, "stay_overlap", "TILFLYT_DATO")["examples"] == [
        f"row 6: {B}",
        f"row 8: {C}",
    ]


def test_stays_after_death_noted_and_kept(extract: Path) -> None:
    rep = validate(extract, KEYS)
    moved_in = _finding(rep, "stay_after_death", "TILFLYT_DATO")
    moved_out = _finding(rep, "stay_after_death", "FRAFLYT_DATO")
    assert (moved_in["n"], moved_in["examples"]) == (1, ["row 3"])
    assert (moved_out["n"], moved_out["examples"]) == (1, ["row 2"])
    assert moved_in["severity"] == "warn"
    kept = scan_register(extract, "plh", exclude=True).collect()
    assert kept.filter(pl.col("PNR") == A).height == 3
    # the stay moved out of four days after death covers the death
    cohort = pl.LazyFrame({"PNR": [A], "death_date": [D(2020, 6, 1)]})
    res = add_nursing_home(cohort, kept.lazy()).collect()
    assert res["nursing_home_resident"].to_list() == [True]


def test_plh_without_dod_still_checks_overlaps(tmp_path: Path) -> None:
    d = write_files(tmp_path, {"bef/bef201912.csv": BEF, "plh/plh.csv": PLH})
    rep = validate(d, ["plh"])
    assert rep.n("stay_overlap", "plh") == 2
    assert rep.n("end_before_start", "plh") == 1
    assert rep.n("stay_after_death") == 0
