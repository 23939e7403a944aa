"""paleval.stats.lexis against R survival::survSplit (tests/reference/lexis.R) and by hand."""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.lexis import lexis_split, person_time_table

REF = Path(__file__).parent / "reference" / "lexis"
RTOL = 1e-9  # the same arithmetic


def _compare(got: pl.DataFrame, ref: pl.DataFrame, calendar: bool) -> None:
    keys = ["id", "start"]
    got = got.sort(keys)
    # R's round trip calendar -> age -> calendar scale leaves a few pieces of length ~1e-14
    # where an age limit and 1 January coincide to the last bit; they carry no person-time
    ref = ref.filter(pl.col("person_years") > 1e-12).sort(keys)
    assert got.height == ref.height
    np.testing.assert_array_equal(got["id"], ref["id"])
    for c in ("start", "stop", "person_years"):
        np.testing.assert_allclose(got[c], ref[c], rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(got["age_lower"], ref["age_lower"])
    np.testing.assert_array_equal(got["event"], ref["event"])
    if calendar:
        np.testing.assert_array_equal(got["calendar_year"], ref["calendar_year"])


def test_lung_age_split_matches_survsplit():
    d = pl.read_csv(REF / "lung_input.csv")
    got = lexis_split(d, "entry", "exit", "birth", [40, 50, 60, 65, 70, 75, 80], event="event")
    _compare(
        got,
        pl.read_csv(REF / "lung_split.csv", schema_overrides={"age_lower": pl.Float64}),
        calendar=False,
    )
    # person-time is preserved, and events are not duplicated
    assert got["person_years"].sum() == pytest.approx((d["exit"] - d["entry"]).sum(), rel=1e-12)
    assert got["event"].sum() == d["event"].sum()


def _synth() -> pl.DataFrame:
    return pl.read_csv(REF / "synth_input.csv", try_parse_dates=True)


def test_dates_age_and_calendar_split_matches_survsplit():
    d = _synth()
    assert d.schema["birth"] == pl.Date
    got = lexis_split(
        d, "entry", "exit", "birth", [50, 60, 70, 80, 90], calendar=True, event="event"
    )
    _compare(got, pl.read_csv(REF / "synth_split.csv"), calendar=True)


def test_person_time_table_matches_r():
    ref = pl.read_csv(REF / "synth_table.csv").sort("age_lower", "calendar_year")
    got = person_time_table(
        _synth(), "entry", "exit", "birth", [50, 60, 70, 80, 90], event="event", calendar=True
    )
    assert got.height == ref.height
    np.testing.assert_array_equal(got["age_lower"], ref["age_lower"])
    np.testing.assert_array_equal(got["calendar_year"], ref["calendar_year"])
    np.testing.assert_array_equal(got["events"], ref["events"])
    np.testing.assert_allclose(got["person_years"], ref["person_years"], rtol=RTOL)


def test_lazy_in_lazy_out():
    got = lexis_split(_synth().lazy(), "entry", "exit", "birth", [60, 80], calendar=True)
    assert isinstance(got, pl.LazyFrame)
    assert got.collect().height > _synth().height


def test_by_hand_boundaries():
    """Entry exactly on a band limit, exit exactly on 1 January, an event on the last piece."""
    d = pl.DataFrame(
        {"birth": [0.0, 0.0], "entry": [65.0, 2000.5], "exit": [75.0, 2002.0], "ev": [1, 1]}
    )
    s = lexis_split(d.head(1), "entry", "exit", "birth", [65, 75], event="ev")
    assert s.select("age_band", "person_years", "ev").rows() == [("65-74", 10.0, 1)]
    # calendar on a numeric scale cuts at integers; the year ending exactly at exit is not opened
    s = lexis_split(
        d.tail(1).with_columns(birth=pl.lit(1930.0)),
        "entry",
        "exit",
        "birth",
        [0],
        calendar=True,
        event="ev",
    )
    assert s.select("calendar_year", "start", "stop", "ev").rows() == [
        (2000, 2000.5, 2001.0, 0),
        (2001, 2001.0, 2002.0, 1),
    ]


def test_zero_length_follow_up_keeps_the_event():
    d = pl.DataFrame(
        {
            "birth": [dt.date(1940, 1, 1)],
            "entry": [dt.date(2015, 3, 1)],
            "exit": [dt.date(2015, 3, 1)],
            "died": [True],
        }
    )
    s = lexis_split(d, "entry", "exit", "birth", [0, 65, 75], calendar=True, event="died")
    assert s.select("age_band", "calendar_year", "person_years", "died").rows() == [
        ("75+", 2015, 0.0, True)
    ]


def test_age_band_uses_365_25_day_years():
    """Born 1950-01-01: 70 years of 365.25 days later is 2020-01-01 (17 leap days): the band
    changes there, not at a date computed some other way."""
    d = pl.DataFrame(
        {
            "birth": [dt.date(1950, 1, 1)],
            "entry": [dt.date(2019, 7, 1)],
            "exit": [dt.date(2020, 7, 1)],
            "e": [0],
        }
    )
    s = lexis_split(d, "entry", "exit", "birth", [60, 70])
    cut = (dt.date(1950, 1, 1) - dt.date(1970, 1, 1)).days / 365.25 + 70
    assert s["stop"][0] == pytest.approx(cut, abs=1e-12)
    assert s["age_band"].to_list() == ["60-69", "70+"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.drop("exit"), "exit='exit'"),
        (lambda d: d.with_columns(exit=pl.col("entry") - 1), "before 'entry'"),
        (
            lambda d: d.with_columns(entry=pl.col("birth") - 1, exit=pl.col("birth")),
            "before 'birth'",
        ),
        (lambda d: d.with_columns(entry=pl.lit(None, dtype=pl.Float64)), "missing"),
        (lambda d: d.with_columns(birth=pl.lit("x")), "date or numeric"),
        (lambda d: d.with_columns(age_band=pl.lit(1)), "already has"),
    ],
)
def test_bad_input_names_the_column(change, match):
    d = pl.DataFrame({"birth": [0.0], "entry": [60.0], "exit": [70.0]})
    with pytest.raises(ValueError, match=match):
        lexis_split(change(d), "entry", "exit", "birth", [65])


def test_mixed_dates_and_numbers_refused():
    d = pl.DataFrame(
        {"birth": [0.0], "entry": [dt.date(2015, 1, 1)], "exit": [dt.date(2016, 1, 1)]}
    )
    with pytest.raises(ValueError, match="all be dates or all numeric"):
        lexis_split(d, "entry", "exit", "birth", [65])


@pytest.mark.parametrize("bands", [[], [70, 65], [65, float("nan")], ["a"]])
def test_bad_bands(bands):
    d = pl.DataFrame({"birth": [0.0], "entry": [60.0], "exit": [70.0]})
    with pytest.raises(ValueError, match="bands"):
        lexis_split(d, "entry", "exit", "birth", bands)
