"""Coverage-stratified place of death vs the GP (``place_of_death_gp(coverage_strata=True)``).

A synthetic cohort where the coverage gap matters: the Capital Region (84) has no out-of-hours
data from 2014 (the declared gap) and, by construction, no effect of GP contact on home death,
while the other regions have a prevalence ratio of 2. Expected values are computed directly
from the rows (crude prevalence ratios of a binary exposure are ratios of proportions).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from paleval.analyses.place_of_death import place_of_death_gp

_GAP = "sssy out_of_hours: Capital Region from 2014-01-01"


def _cohort(n: int = 6000, seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["81", "82", "83", "84", "85"], n, p=[0.1, 0.2, 0.2, 0.3, 0.2])
    death = [dt.date(2010, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 3650, n)]
    contact = rng.random(n) < 0.5
    ooh = rng.random(n) < 0.3
    capital = region == "84"
    p_home = np.where(capital, 0.25, np.where(contact, 0.40, 0.20))  # PR 1 in 84, 2 elsewhere
    home = rng.random(n) < p_home
    place = np.where(home, "home", rng.choice(["hospital", "nursing_home", "other"], n))
    frame = pl.DataFrame(
        {
            "place_of_death": place,
            "gp_contact_30d": contact,
            "gp_ooh_30d": ooh,
            "female": rng.random(n) < 0.5,
            "practice": rng.integers(0, 60, n).astype(str),
            "region_code": region,
            "death_date": death,
        }
    )
    gap = (pl.col("region_code") == "84") & (pl.col("death_date") >= dt.date(2014, 1, 1))
    return frame.with_columns(
        gp_ooh_30d=pl.when(gap).then(None).otherwise(pl.col("gp_ooh_30d")),
        gp_coverage_gap=pl.when(gap).then(pl.lit(_GAP)),
    )


_ARGS = dict(
    exposures=["gp_contact_30d", "gp_ooh_30d"],
    covariates=["female"],
    outcomes=["home_death"],
    population="all",
)


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return _cohort()


@pytest.fixture(scope="module")
def res(cohort):
    return place_of_death_gp(cohort, coverage_strata=True, **_ARGS)


def _pr(tab: pl.DataFrame, split: str, stratum: str, exposure: str, model: str) -> dict:
    row = tab.filter(
        (pl.col("split") == split) & (pl.col("stratum") == stratum)
        & (pl.col("exposure") == exposure) & (pl.col("model") == model)
        & (pl.col("measure") == "PR") & (pl.col("outcome") == "home_death")
    )  # fmt: skip
    assert row.height == 1, (split, stratum, exposure, model, row)
    return row.row(0, named=True)


def _direct(frame: pl.DataFrame, exposure: str) -> tuple[float, int, int]:
    """Crude PR of home death, persons and events at the exposed level, from the rows."""
    f = frame.filter(pl.col(exposure).is_not_null())
    home = pl.col("place_of_death") == "home"
    p1 = f.filter(pl.col(exposure))[["place_of_death"]].select(home.mean()).item()
    p0 = f.filter(~pl.col(exposure))[["place_of_death"]].select(home.mean()).item()
    exposed = f.filter(pl.col(exposure))
    return p1 / p0, exposed.height, exposed.filter(home).height


def test_strata_are_the_declared_subsets_computed_from_the_rows(res, cohort):
    tab = res.tables["coverage"]
    gap = (pl.col("region_code") == "84") & (pl.col("death_date") >= dt.date(2014, 1, 1))
    subsets = {
        ("coverage", "all"): cohort,
        ("coverage", "covered"): cohort.filter(~gap),
        ("coverage", "uncovered"): cohort.filter(gap),
        ("region", "regions_without_gap"): cohort.filter(pl.col("region_code") != "84"),
        ("region", "regions_with_gap"): cohort.filter(pl.col("region_code") == "84"),
    }
    for (split, stratum), sub in subsets.items():
        got = _pr(tab, split, stratum, "gp_contact_30d", "crude")
        ratio, n, events = _direct(sub, "gp_contact_30d")
        assert got["ratio"] == pytest.approx(ratio, rel=1e-6)
        assert (got["n"], got["events"]) == (n, events)
    # out-of-hours contact is unknown in the gap: no estimate in the uncovered stratum, and
    # the covered estimate is the main one (the gap persons already leave that exposure)
    unc = tab.filter((pl.col("stratum") == "uncovered") & (pl.col("exposure") == "gp_ooh_30d"))
    assert unc.height == 0
    main = _pr(tab, "coverage", "all", "gp_ooh_30d", "adjusted")
    cov = _pr(tab, "coverage", "covered", "gp_ooh_30d", "adjusted")
    assert cov["ratio"] == pytest.approx(main["ratio"], rel=1e-9) and cov["n"] == main["n"]
    # the Capital Region before 2014 is covered: the region split estimates ooh there
    ratio, n, _ = _direct(subsets[("region", "regions_with_gap")], "gp_ooh_30d")
    assert _pr(tab, "region", "regions_with_gap", "gp_ooh_30d", "crude")["n"] == n
    assert any("uncovered: gp_ooh_30d unknown or constant, not estimated" in x for x in res.notes)


def test_each_split_partitions_the_main_analysis(res):
    tab = res.tables["coverage"].filter(
        (pl.col("exposure") == "gp_contact_30d") & (pl.col("measure") == "PR")
    )
    for split in ("coverage", "region"):
        t = tab.filter(pl.col("split") == split)
        total = t.filter(pl.col("stratum") == "all").select("model", "n", "events").sort("model")
        parts = (
            t.filter(pl.col("stratum") != "all")
            .group_by("model")
            .agg(pl.col("n", "events").sum())
            .sort("model")
        )
        assert parts.equals(total)
    # the "all" rows are the main ratios table
    main = res.tables["ratios"]
    allrows = res.tables["coverage"].filter(
        (pl.col("split") == "coverage") & (pl.col("stratum") == "all")
    )
    assert allrows.drop("split", "stratum").equals(main)


def test_the_strata_show_where_the_effect_is(res):
    tab = res.tables["coverage"]
    outside = _pr(tab, "region", "regions_without_gap", "gp_contact_30d", "adjusted")
    inside = _pr(tab, "region", "regions_with_gap", "gp_contact_30d", "adjusted")
    pooled = _pr(tab, "region", "all", "gp_contact_30d", "adjusted")
    assert outside["conf_low"] > 1.6 and inside["conf_high"] < 1.4  # planted 2 and 1
    assert inside["ratio"] < pooled["ratio"] < outside["ratio"]
    assert res.params["coverage_strata"] is True and res.params["region"] == "region_code"
    assert any(x.startswith("coverage strata (coverage_strata=True") for x in res.notes)


def test_unknown_region_goes_with_the_gap_regions_and_errors(cohort):
    c = cohort.head(3000).with_columns(
        region_code=pl.when(pl.int_range(pl.len()) < 40).then(None).otherwise("region_code")
    )
    r = place_of_death_gp(c, coverage_strata=True, **_ARGS)
    n_out = c.filter(pl.col("region_code").is_null() | (pl.col("region_code") == "84")).height
    assert f"or an unknown region_code {n_out:,}" in " ".join(r.notes)
    with pytest.raises(ValueError, match="coverage_strata=True needs the cohort column"):
        place_of_death_gp(cohort.drop("gp_coverage_gap"), coverage_strata=True, **_ARGS)
    with pytest.raises(ValueError, match="'region_code'"):
        place_of_death_gp(cohort.drop("region_code"), coverage_strata=True, **_ARGS)
    # without the option nothing changes
    plain = place_of_death_gp(cohort, **_ARGS)
    assert "coverage" not in plain.tables and plain.params["coverage_strata"] is False


def test_coverage_table_is_declared_for_disclosure(res):
    out = res.disclosed()
    assert "coverage" in out.tables
    assert out.tables["coverage"].height == res.tables["coverage"].height
