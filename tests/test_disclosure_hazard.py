"""Hazard-model tables list every level but the reference; the reference level's persons and
events are the model's n and events minus the listed levels, so they must be protected like a
published count. Failed on the code of commit 71e3925 (the reference was not declared)."""

from __future__ import annotations

import polars as pl

from paleval.analyses.referral import TimeToReferralResult, _time_to_referral_protection


def _result() -> TimeToReferralResult:
    cif = pl.DataFrame(
        {
            "group": ["all", "all"],
            "time": [0.0, 30.0],
            "n": [100, 100],
            "n_risk": [100, 80],
            "events": [0, 10],
            "n_competing": [0, 10],
            "estimate": [0.0, 0.1],
        }
    )
    # education: reference "low" has 100 - 40 - 57 = 3 persons and 30 - 12 - 15 = 3 events
    hr = pl.DataFrame(
        {
            "model": ["fine_gray"] * 3,
            "term": ["edu_mid", "edu_high", "age"],
            "variable": ["education", "education", "age"],
            "level": ["mid", "high", None],
            "reference": ["low", "low", None],
            "estimate": [1.2, 0.9, 1.01],
            "conf_low": [0.8, 0.6, 1.0],
            "conf_high": [1.8, 1.4, 1.02],
            "n": [100, 100, 100],
            "events": [30, 30, 30],
            "n_level": [40, 57, 100],
            "n_events_level": [12, 15, 30],
        },
        schema_overrides={"level": pl.String},
    )
    tables = {"cif": cif, "at_times": cif.filter(pl.col("time") == 30.0), "fine_gray": hr}
    return TimeToReferralResult(
        "t",
        tables,
        100,
        params={"times": [30.0]},
        protection=_time_to_referral_protection(tables),
    )


def test_reference_level_of_a_hazard_model_cannot_be_recovered() -> None:
    pub = _result().disclosed().tables["fine_gray"]
    # the table keeps its rows (no helper row leaks out) and its columns
    assert pub.height == 3 and "_reference" not in pub.columns
    edu = pub.filter(pl.col("variable") == "education")
    # attack, from what is published: model n (events) minus the listed levels
    n = edu["n"].drop_nulls().to_list()
    ev = edu["events"].drop_nulls().to_list()
    if n and None not in edu["n_level"].to_list():
        rest = n[0] - sum(edu["n_level"].to_list())
        assert not 0 < rest < 5, rest
    if ev and None not in edu["n_events_level"].to_list():
        rest = ev[0] - sum(edu["n_events_level"].to_list())
        assert not 0 < rest < 5, rest
    # the continuous covariate's row is untouched
    assert pub.filter(pl.col("variable") == "age")["estimate"].to_list() == [1.01]
