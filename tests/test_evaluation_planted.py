"""The evaluation analyses recover the planted intervention of the ``small`` data.

The design (municipalities in code order dealt to 2016-01-01, 2019-01-01, never) is rebuilt
from the code list CSV; the truth from ``truth/persons.parquet`` only (``spc_p0``, ``spc_p1``:
the SPC admittance probabilities without and with the intervention). The analyses run on the
end-of-life cohort built from the registers (municipality from BEF, SPC from DPD).
"""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from paleval.analyses import difference_in_differences, interrupted_time_series

NEED = ["heart", "respiratory", "stroke", "renal", "liver", "dementia", "neurodegenerative", "hiv"]
ITS_END = dt.date(2018, 12, 31)  # before the second group adopts


def _design() -> dict[str, str | None]:
    text = (resources.files("paleval.codes") / "data" / "municipalities.csv").read_text("utf-8")
    codes = sorted({int(r["KOM"]) for r in csv.DictReader(text.splitlines())})
    cycle = ["2016-01-01", "2019-01-01", None]
    return {str(k): cycle[i % 3] for i, k in enumerate(codes)}


@pytest.fixture(scope="module")
def noncancer(eol_small: pl.DataFrame) -> pl.DataFrame:
    return eol_small.filter(pl.col("cause_group").is_in(NEED))


@pytest.fixture(scope="module")
def persons(small_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(small_dir / "truth" / "persons.parquet").filter("adult_decedent")


def test_did_att_covers_the_true_att(noncancer: pl.DataFrame, persons: pl.DataFrame) -> None:
    adoption = {k: v for k, v in _design().items() if v is not None}
    res = difference_in_differences(noncancer, "spc_admitted", "municipality", "death_date",
                                    adoption)  # fmt: skip
    treated = persons.filter("intervention_treated")
    assert treated["cause_group"].is_in(NEED).all() and treated.height > 1000
    true_att = (treated["spc_p1"] - treated["spc_p0"]).mean()
    assert 0.03 < true_att < 0.1  # OR 4 on a 2-3 % baseline
    for agg in ("simple", "event_study", "group"):
        row = res.tables["overall"].filter(pl.col("aggregation") == agg).row(0, named=True)
        assert row["conf_low"] < true_att < row["conf_high"], (agg, row, true_att)
        assert row["conf_low"] > 0, (agg, row)  # detected
    # before adoption there is nothing (parallel pre-trends by construction)
    pre = res.tables["event_study"].filter(pl.col("event_time") < -1)
    inside = ((pl.col("conf_low") < 0) & (pl.col("conf_high") > 0)).mean()
    assert pre.select(inside).item() >= 0.8


def test_did_on_the_wrong_units_finds_nothing(noncancer: pl.DataFrame) -> None:
    """A placebo: every other never-adopting municipality given 2016-01-01, the rest as the
    never-treated controls: no effect (the CI holds 0)."""
    design = _design()
    never = sorted(k for k, v in design.items() if v is None)
    wrong = {k: "2016-01-01" for k in never[::2]}
    sub = noncancer.filter(pl.col("municipality").is_in(never))
    res = difference_in_differences(sub, "spc_admitted", "municipality", "death_date", wrong)
    row = res.tables["overall"].filter(pl.col("aggregation") == "simple").row(0, named=True)
    assert row["conf_low"] < 0 < row["conf_high"], row


@pytest.fixture(scope="module")
def adopters_2016(noncancer: pl.DataFrame) -> pl.DataFrame:
    units = [k for k, v in _design().items() if v == "2016-01-01"]
    return noncancer.filter(pl.col("municipality").is_in(units))


def _true_2016(persons: pl.DataFrame) -> pl.DataFrame:
    return persons.filter(
        pl.col("intervention_treated")
        & (pl.col("intervention_adoption") == dt.date(2016, 1, 1))
        & (pl.col("death_date") <= ITS_END)
    )


def test_its_level_change_covers_the_truth(
    adopters_2016: pl.DataFrame, persons: pl.DataFrame
) -> None:
    """Poisson ITS (ratio of the share): the true ratio sum(p1) / sum(p0) of the 2016
    adopters' treated decedents to 2018; Gaussian ITS (difference): mean(p1 - p0)."""
    t = _true_2016(persons)
    ratio = t["spc_p1"].sum() / t["spc_p0"].sum()
    diff = (t["spc_p1"] - t["spc_p0"]).mean()
    assert 3.0 < ratio < 4.0
    for family, truth, null in (("poisson", ratio, 1.0), ("gaussian", diff, 0.0)):
        res = interrupted_time_series(adopters_2016, "spc_admitted", "death_date",
                                      {"adoption": "2016-01-01"}, freq="quarter", family=family,
                                      start="2010-01-01", end=ITS_END)  # fmt: skip
        level = res.table.filter(pl.col("term") == "level[adoption]").row(0, named=True)
        assert level["conf_low"] < truth < level["conf_high"], (family, level, truth)
        assert level["conf_low"] > null, (family, level)
        slope = res.table.filter(pl.col("term") == "slope[adoption]").row(0, named=True)
        assert slope["conf_low"] < null < slope["conf_high"], (family, slope)


def test_its_in_never_adopters_finds_nothing(noncancer: pl.DataFrame) -> None:
    never = [k for k, v in _design().items() if v is None]
    res = interrupted_time_series(noncancer.filter(pl.col("municipality").is_in(never)),
                                  "spc_admitted", "death_date", {"adoption": "2016-01-01"},
                                  freq="quarter", start="2010-01-01", end=ITS_END)  # fmt: skip
    level = res.table.filter(pl.col("term") == "level[adoption]").row(0, named=True)
    assert level["conf_low"] < 1.0 < level["conf_high"], level
