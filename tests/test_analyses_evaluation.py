"""Interrupted time series of a cohort outcome, checked against hand counts and statsmodels.

The monthly series is counted in plain Python from the cohort's rows; the segmented regression
is refitted with statsmodels' GLM (an independent implementation) on a design built here from
the ITS definition (Bernal et al. 2017): trend, level change from the first month on or after
the intervention, slope change counted from that month, one Fourier pair.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest

from paleval.analyses.evaluation import interrupted_time_series
from paleval.disclosure import count_columns


def _cohort(n: int = 30_000, level: float = 1.5, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = dt.date(2015, 1, 1)
    day = np.array([start + dt.timedelta(days=int(d)) for d in rng.integers(0, 6 * 365, n)])
    month = np.array([(d.year - 2015) * 12 + d.month - 1 for d in day])
    base = 0.20 * np.exp(0.004 * month + 0.05 * np.sin(2 * np.pi * (month % 12) / 12))
    after = day >= dt.date(2018, 3, 1)
    p = np.where(after, base * level, base)
    return pl.DataFrame(
        {
            "death_date": pl.Series(list(day), dtype=pl.Date),
            "spc": rng.random(n) < p,
            "age": rng.integers(50, 99, n),
        }
    )


def test_series_equals_a_hand_count() -> None:
    c = _cohort(5_000)
    res = interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1))
    n, e = Counter(), Counter()
    for d, y in c.select("death_date", "spc").rows():
        key = dt.date(d.year, d.month, 1)
        n[key] += 1
        e[key] += int(y)
    got = {r["period"]: (r["n"], r["events"]) for r in res.tables["series"].iter_rows(named=True)}
    assert got == {k: (n[k], e[k]) for k in n}
    eff = res.table
    assert eff["n"].to_list() == [5_000, 5_000] and eff["events"][0] == sum(e.values())


def test_effects_equal_statsmodels_on_the_its_design() -> None:
    """Fails on: the level term starting a month late, the slope counted from the series
    start, no exposure offset, a missing season term."""
    import statsmodels.api as sm

    c = _cohort()
    res = interrupted_time_series(c, "spc", "death_date", {"reform": dt.date(2018, 3, 15)})
    s = res.tables["series"].sort("period")
    t = np.arange(s.height, dtype=float)
    months = np.array([p.month - 1 for p in s["period"]])
    first = next(i for i, p in enumerate(s["period"]) if p >= dt.date(2018, 3, 15))  # April
    level = (t >= first).astype(float)
    slope = np.where(t >= first, t - first, 0.0)
    X = np.column_stack(
        [np.ones_like(t), t, level, slope, np.sin(2 * np.pi * months / 12),
         np.cos(2 * np.pi * months / 12)]
    )  # fmt: skip
    fit = sm.GLM(
        s["events"].to_numpy(), X, family=sm.families.Poisson(), offset=np.log(s["n"].to_numpy())
    ).fit(tol=1e-12)
    eff = {r["term"]: r["estimate"] for r in res.table.iter_rows(named=True)}
    np.testing.assert_allclose(eff["level[reform]"], np.exp(fit.params[2]), rtol=1e-6)
    np.testing.assert_allclose(eff["slope[reform]"], np.exp(fit.params[3]), rtol=1e-6)
    # the fitted shares are the model's means over the persons
    np.testing.assert_allclose(
        s["fitted"].to_numpy(), fit.fittedvalues / s["n"].to_numpy(), rtol=1e-6
    )


def test_a_planted_level_change_is_recovered_and_none_is_found_where_none_is() -> None:
    planted = interrupted_time_series(_cohort(level=1.5), "spc", "death_date", dt.date(2018, 3, 1))
    row = planted.table.filter(pl.col("term") == "level[intervention]").row(0, named=True)
    assert row["conf_low"] < 1.5 < row["conf_high"] and row["conf_low"] > 1.2
    null = interrupted_time_series(_cohort(level=1.0), "spc", "death_date", dt.date(2018, 3, 1))
    row = null.table.filter(pl.col("term") == "level[intervention]").row(0, named=True)
    assert row["conf_low"] < 1.0 < row["conf_high"]


def test_gaussian_family_gives_differences_of_the_share() -> None:
    res = interrupted_time_series(
        _cohort(level=1.5), "spc", "death_date", dt.date(2018, 3, 1), family="gaussian"
    )
    row = res.table.filter(pl.col("term") == "level[intervention]").row(0, named=True)
    # the share rises from about 0.20 * exp(0.004 * 38) = 0.23 to 1.5 times that
    assert 0.06 < row["estimate"] < 0.18


def test_disclosed_series_has_no_small_count_and_draws() -> None:
    import matplotlib

    matplotlib.use("Agg")
    c = _cohort(1_500)  # about 21 persons a month: some months have fewer than 5 events
    pub = interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1)).disclosed()
    for name, tab in pub.tables.items():
        for col in count_columns(tab.columns):
            assert tab.filter(pl.col(col).is_between(1, 4)).height == 0, (name, col)
    assert pub.tables["series"]["suppressed"].any()
    assert not pub.tables["series"]["suppressed"].all()
    assert not [n for n in pub.notes if "withheld" in n], pub.notes
    assert pub.plot("series", lang="da") is not None


def test_bad_input_is_named() -> None:
    c = _cohort(2_000)
    with pytest.raises(ValueError, match="must be Boolean or 0/1"):
        interrupted_time_series(c, "age", "death_date", dt.date(2018, 3, 1))
    with pytest.raises(ValueError, match="lacks column"):
        interrupted_time_series(c, "spc", "date", dt.date(2018, 3, 1))
    with pytest.raises(ValueError, match="without persons"):
        gap = c.filter(pl.col("death_date").dt.year() != 2017)
        interrupted_time_series(gap, "spc", "death_date", dt.date(2018, 3, 1))
    with pytest.raises(ValueError, match="must be a date"):
        interrupted_time_series(c, "spc", "age", dt.date(2018, 3, 1))
    with pytest.raises(ValueError, match="family"):
        interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1), family="binomial")
    for bad in ("2016-13-01", "01/03/2016", "soon"):
        with pytest.raises(ValueError, match=r"start must be a date or an ISO date string"):
            interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1), start=bad)
    with pytest.raises(ValueError, match=r"end must be a date"):
        interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1), end=20191231)
    with pytest.raises(ValueError, match=r"intervention 'reform' must be a date"):
        interrupted_time_series(c, "spc", "death_date", {"reform": "2018-3-1x"})


def test_string_dates_equal_dates() -> None:
    """start, end and the intervention as ISO strings give the same series as dates, and the
    span is cut where the strings say (a hand count of the rows inside it)."""
    c = _cohort(6_000)
    a = interrupted_time_series(c, "spc", "death_date", "2018-03-01", start="2016-01-01",
                                end="2019-12-31")  # fmt: skip
    b = interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1),
                                start=dt.date(2016, 1, 1), end=dt.date(2019, 12, 31))  # fmt: skip
    assert a.tables["series"].equals(b.tables["series"])
    assert a.table.equals(b.table)
    inside = sum(dt.date(2016, 1, 1) <= d <= dt.date(2019, 12, 31) for d in c["death_date"])
    assert a.n == inside < c.height
    assert a.tables["series"]["period"].min() == dt.date(2016, 1, 1)


# --- difference-in-differences --------------------------------------------------------------


def _panel_cohort(n: int = 60_000, effect: float = 0.1, seed: int = 11) -> tuple:
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, 24, n)
    year = rng.integers(2012, 2021, n)
    adopt = {u: (2015 if u < 5 else 2018) for u in range(10)}  # units 10..23 never adopt
    first = np.array([adopt.get(int(u), 9999) for u in unit])
    p = 0.25 + 0.01 * (year - 2012) + 0.004 * unit + effect * (year >= first)
    c = pl.DataFrame(
        {"unit": unit, "death_date": pl.Series([dt.date(int(y), 7, 1) for y in year]),
         "home": rng.random(n) < p}
    )  # fmt: skip
    return c, adopt


def test_group_time_effects_equal_hand_computed_2x2_contrasts() -> None:
    """ATT(g, t) for t >= g: the adopters' change in mean share from g - 1 to t minus the
    never-adopters' change (units weighted equally). Fails on: the base period t - 1 for
    post-periods, pooled persons instead of unit shares, not-yet controls by default."""
    from paleval.analyses.evaluation import difference_in_differences

    c, adopt = _panel_cohort()
    res = difference_in_differences(c, "home", "unit", "death_date", adopt)
    share: dict[tuple[int, int], float] = {}
    n, e = Counter(), Counter()
    for u, d, y in c.select("unit", "death_date", "home").rows():
        n[(u, d.year)] += 1
        e[(u, d.year)] += int(y)
    for k in n:
        share[k] = e[k] / n[k]
    never = [u for u in range(24) if u not in adopt]
    gt = res.models["did"].group_time.filter(pl.col("time") >= pl.col("group"))
    assert gt.height > 0
    for g, t, att in gt.select("group", "time", "att").rows():
        treated = [u for u, a in adopt.items() if a == g]

        def change(units: list[int], g: int = g, t: int = t) -> float:
            return float(np.mean([share[(u, t)] - share[(u, g - 1)] for u in units]))

        assert att == pytest.approx(change(treated) - change(never), rel=1e-9, abs=1e-12)
    # the event study's persons: the adopters' persons at each event time
    es = {r["event_time"]: r["n"] for r in res.table.iter_rows(named=True)}
    assert es[0] == sum(n[(u, a)] for u, a in adopt.items())
    # the cohorts behind each event time as text (2012-2020; adoption 2015 and 2018): -5 only
    # the 2018 cohort, 3..5 only 2015's, 0 both; no numeric column but the persons
    years = dict(res.table.select("event_time", "adoption_years").iter_rows())
    assert years[-5] == "2018" and years[0] == "2015, 2018" and years[5] == "2015"
    assert res.table.select(pl.selectors.numeric()).columns == [
        "event_time", "att", "conf_low", "conf_high", "n"
    ]  # fmt: skip


def test_a_planted_effect_is_recovered_and_the_event_study_is_flat_before() -> None:
    from paleval.analyses.evaluation import difference_in_differences

    c, adopt = _panel_cohort(effect=0.1)
    res = difference_in_differences(c, "home", "unit", "death_date", adopt)
    simple = res.tables["overall"].filter(pl.col("aggregation") == "simple").row(0, named=True)
    assert simple["conf_low"] < 0.1 < simple["conf_high"]
    pre = res.table.filter(pl.col("event_time") < 0)
    assert ((pre["conf_low"] < 0) & (pre["conf_high"] > 0)).mean() >= 0.8


def test_did_disclosure_and_bad_input() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from paleval.analyses.evaluation import difference_in_differences

    c, adopt = _panel_cohort(n=3_000)
    pub = difference_in_differences(c, "home", "unit", "death_date", adopt).disclosed()
    for tab in pub.tables.values():
        assert tab.filter(pl.col("n").is_between(1, 4)).height == 0
    assert not [n for n in pub.notes if "withheld" in n], pub.notes
    assert pub.plot("event_study") is not None
    with pytest.raises(ValueError, match="not 1 January"):
        difference_in_differences(c, "home", "unit", "death_date", {0: dt.date(2015, 7, 1)})
    with pytest.raises(ValueError, match="not in the cohort"):
        difference_in_differences(c, "home", "unit", "death_date", {99: 2015})


def test_a_series_the_model_cannot_fit_gives_a_note_and_the_observed_shares() -> None:
    """No admission before the intervention (tiny synthetic sets): the segmented Poisson fit is
    not estimable. The analysis says so in a note, publishes no effect and no fitted line, and
    still draws and formats the observed series (it used to publish a counterfactual of 1e20)."""
    import matplotlib

    matplotlib.use("Agg")
    c = _cohort(6_000, seed=3)
    c = c.with_columns(spc=pl.col("spc") & (pl.col("death_date") >= dt.date(2018, 3, 1)))
    res = interrupted_time_series(c, "spc", "death_date", dt.date(2018, 3, 1), freq="quarter")
    assert res.tables["effects"].height == 0 and "segmented_regression" not in res.models
    assert [n for n in res.notes if "segmented regression" in n and "separation" in n], res.notes
    series = res.tables["series"]
    assert series["fitted"].null_count() == series.height
    assert series["events"].sum() == c["spc"].sum() and series["n"].sum() == c.height
    pub = res.disclosed()
    assert pub.plot("series", lang="da") is not None
    assert pub.formatted("effects").table.height == 0
