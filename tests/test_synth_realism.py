"""Register realism features of the synthetic generator (issue 13): each present at its planted
rate, computed from the raw parquet files, counted in truth.json, and absent when switched off."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from paleval.synth import SynthConfig, generate


def read(data: Path, key: str) -> pl.DataFrame:
    return pl.scan_parquet(data / key / "*.parquet").collect()


def truth(data: Path) -> dict:
    return json.loads((data / "truth.json").read_text())


def persons(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / "truth" / "persons.parquet")


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every realism feature switched off by its own flag (messiness otherwise on)."""
    out = tmp_path_factory.mktemp("plain")
    generate(SynthConfig(n_persons=6000, seed=7, multi_unit_spc=False, sssy_payment_lag=False), out)
    return out


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(SynthConfig(n_persons=6000, seed=7, messiness=False), out)
    return out


# ---------------------------------------------------------------- multi-unit SPC courses (DPD)
def _dpd_per_person(data: Path) -> pl.DataFrame:
    return (
        read(data, "dpd")
        .group_by("PNR")
        .agg(
            rows=pl.len(),
            units=pl.col("ENHED_ID").n_unique(),
            admitted=(pl.col("MODTAGET") == 1).any(),
            first_referral=pl.col("HENV_DATO").min(),
            first_contact=pl.col("FOERSTE_KONTAKT_DATO").min(),
        )
    )


def test_about_a_third_of_spc_patients_have_two_units(tiny_dir: Path) -> None:
    per = _dpd_per_person(tiny_dir)
    counted = truth(tiny_dir)["realism"]["multi_unit_spc"]
    multi = per.filter(pl.col("rows") >= 2)
    assert multi.height == counted["spc_patients_2plus_referrals"] > 0
    assert per.filter(pl.col("units") >= 2).height == counted["spc_patients_2plus_units"]
    admitted = per.filter(pl.col("admitted"))
    share = admitted.filter(pl.col("rows") >= 2).height / admitted.height
    # DPD 2018: one third; tiny has ~300 admitted patients (binomial SD ~0.03)
    assert 0.23 < share < 0.44, share
    # only admitted patients go on to a second unit
    assert multi.filter(~pl.col("admitted")).height == 0
    # the DPD rows are more than the patients: counting rows is not counting patients
    assert read(tiny_dir, "dpd").height == per.height + multi.height


def test_multi_unit_courses_keep_the_per_person_truth(tiny_dir: Path) -> None:
    per = _dpd_per_person(tiny_dir)
    p = persons(tiny_dir).filter(pl.col("spc_referred"))
    j = p.join(per, on="PNR", how="left", validate="1:1")
    assert j["rows"].null_count() == 0
    assert (j["rows"] == j["spc_referrals"]).all()
    assert (j["admitted"] == j["spc_admitted"]).all()
    adm = j.filter(pl.col("spc_admitted"))
    # first referral and first contact of a patient are those the calibration targets mean
    assert (adm["first_referral"] == adm["spc_referral_date"]).all()
    assert (adm["first_contact"] == adm["spc_contact_date"]).all()


def test_second_units_follow_the_first_contact(tiny_dir: Path) -> None:
    dpd = read(tiny_dir, "dpd").sort("PNR", "HENV_DATO")
    first = dpd.group_by("PNR", maintain_order=True).first()
    later = dpd.join(first.select("PNR", "HENV_DATO"), on=["PNR", "HENV_DATO"], how="anti")
    assert later.height > 0
    j = later.join(
        first.select("PNR", c0="FOERSTE_KONTAKT_DATO", u0="ENHED_ID", t0="ENHED_TYPE"), on="PNR"
    )
    assert (j["HENV_DATO"] > j["c0"]).all()
    assert (j["ENHED_ID"] != j["u0"]).all()
    # a hospice is followed by a hospital team; the typical course is a team, then a hospice
    assert j.filter(pl.col("t0") == "hospice")["ENHED_TYPE"].eq("palliativt_team").all()
    assert j.filter(pl.col("t0") != "hospice")["ENHED_TYPE"].eq("hospice").mean() > 0.5
    deaths = read(tiny_dir, "dod")
    jd = j.join(deaths, on="PNR", how="left")
    contacted = jd.filter(pl.col("MODTAGET") == 1)
    assert (contacted["FOERSTE_KONTAKT_DATO"] >= contacted["HENV_DATO"]).all()
    died = contacted.filter(pl.col("DODDATO").is_not_null())
    assert (died["FOERSTE_KONTAKT_DATO"] <= died["DODDATO"]).all()
    none = jd.filter(pl.col("MODTAGET") == 0)
    assert none["IKKE_MODTAGET_AARSAG"].null_count() == 0
    assert none["EORTC_UDFYLDT"].null_count() == none.height


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_one_referral_per_person(which: str, request: pytest.FixtureRequest) -> None:
    data: Path = request.getfixturevalue(which)
    per = _dpd_per_person(data)
    assert per.height > 0 and per["rows"].max() == 1
    counted = truth(data)["realism"]["multi_unit_spc"]
    assert counted["enabled"] is False and counted["dpd_rows_added"] == 0
