"""Code-list declarations of issue 13: ``plh`` coverage before 2011 and the dialysis
procedure codes (session 7). Expected values are the published facts cited in the lists."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import paleval.codes as codes
from paleval.codes import coverage_table, covered_from, load_codes
from paleval.cohort import advanced_disease_codes


def test_plh_is_declared_absent_before_2011_for_every_region() -> None:
    t = coverage_table().filter(pl.col("register") == "plh")
    absent = t.filter(pl.col("coverage") == "absent").row(0, named=True)
    assert (absent["REG"], absent["start"], absent["end"], absent["action"]) == (
        None, None, dt.date(2010, 12, 31), "unknown",
    )  # fmt: skip
    assert "2011" in absent["reason"] and "10.1177/14034948251391588" in absent["source"]
    partial = t.filter(pl.col("coverage") == "partial").row(0, named=True)
    assert (partial["start"], partial["end"], partial["action"]) == (
        dt.date(2011, 1, 1), dt.date(2013, 12, 31), "note",
    )  # fmt: skip
    assert covered_from("plh") == covered_from("plh", "stays") == dt.date(2011, 1, 1)
    assert covered_from("sssy") is None and covered_from("plh", "other") is None


def test_the_sssy_gaps_are_unchanged_by_the_plh_rows() -> None:
    sssy = coverage_table().filter((pl.col("register") == "sssy") & (pl.col("action") == "unknown"))
    assert sssy.select("REG", "start").rows() == [("84", dt.date(2014, 1, 1))]


def test_a_row_without_start_and_end_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = load_codes("coverage").with_columns(start=pl.lit(None, pl.String))
    bad = bad.with_columns(end=pl.when(pl.col("register") == "plh").then(None).otherwise("end"))
    monkeypatch.setattr(codes, "load_codes", lambda name: bad)
    with pytest.raises(ValueError, match="need a start or an end date"):
        codes.coverage_table()


def test_dialysis_procedure_codes_are_declared_not_verified_and_not_read() -> None:
    proc = load_codes("advanced_disease_procedures")
    groups = set(load_codes("advanced_disease")["group"])
    assert set(proc["group"]) <= groups and set(proc["group"]) == {"renal"}
    assert proc["sks_prefix"].to_list() == ["BJFD"]
    assert proc["sks_prefix"].str.contains(r"^B[A-Z0-9]+$").all()  # SKS treatment chapter B
    assert set(proc["verified"]) <= {"yes", "no"}
    assert proc.filter(pl.col("verified") == "no")["source"].str.contains("NOT VERIFIED").all()
    # the cohort reads ICD-10 diagnosis prefixes only; dialysis enters through Z49 / Z99.2
    icd = advanced_disease_codes()
    assert not any(c.startswith("BJ") for c in icd) and {"Z49", "Z992"} <= set(icd)
