"""paleval.analyses.standardised_rates: person-years, events and ESP2013-standardised rates
against an independent per-person computation, and its disclosure declaration."""

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from paleval.analyses import StandardisedRatesResult, standardised_rates
from paleval.report import export

sys.path.insert(0, str(Path(__file__).parent))
import _attacker

ESP_BANDS = {0: 80500, 65: 10500, 75: 6500, 85: 2500}  # ESP2013 summed by hand: 0-64, ...
EPOCH = dt.date(1970, 1, 1)


def _years(d: dt.date) -> float:
    return (d - EPOCH).days / 365.25


def _cohort(n: int = 600, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    birth = [dt.date(1925, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 40 * 365, n)]
    entry = [dt.date(2012, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 8 * 365, n)]
    fu = rng.exponential(900, n).astype(int) + 1
    exit_ = [
        min(e + dt.timedelta(days=int(f)), dt.date(2021, 12, 31))
        for e, f in zip(entry, fu, strict=True)
    ]
    return pl.DataFrame({
        "PNR": [f"p{i}" for i in range(n)], "birth_date": birth, "diagnosis_date": entry,
        "exit_date": exit_, "event": rng.choice([0, 1, 2], n, p=[0.4, 0.35, 0.25]).astype(np.int8),
        "region": rng.choice(["North", "South"], n),
    })  # fmt: skip


def _by_hand(d: pl.DataFrame, periods: list[int]) -> dict:
    """Per person and band and period, the overlap of (entry, exit] with the age band and the
    calendar period, in years of 365.25 days: a plain loop, independent of lexis_split."""
    limits = sorted(ESP_BANDS)
    edges = [_years(dt.date(y, 1, 1)) for y in periods] + [np.inf]
    cells: dict = {}
    persons: dict = {}
    for row in d.iter_rows(named=True):
        b, t0, t1 = (
            _years(row["birth_date"]),
            _years(row["diagnosis_date"]),
            _years(row["exit_date"]),
        )
        for i, lo in enumerate(limits):
            hi = limits[i + 1] if i + 1 < len(limits) else np.inf
            for j in range(len(periods)):
                s = max(t0, b + lo, edges[j])
                e = min(t1, b + hi, edges[j + 1])
                if e > s:
                    key = (row["region"], j, lo)
                    py, ev = cells.get(key, (0.0, 0))
                    died_here = row["event"] == 1 and e == t1
                    cells[key] = (py + e - s, ev + int(died_here))
                    persons.setdefault((row["region"], j), set()).add(row["PNR"])
    return {"cells": cells, "persons": persons}


def test_rates_match_a_per_person_computation_and_the_fay_feuer_formula():
    d = _cohort()
    periods = [2012, 2016, 2020]
    res = standardised_rates(d, event_value=1, birth="birth_date", periods=periods)
    assert isinstance(res, StandardisedRatesResult)
    hand = _by_hand(d, periods)
    labels = ["2012-2015", "2016-2019", "2020+"]
    w = np.array([ESP_BANDS[k] for k in sorted(ESP_BANDS)], float)
    w = w / w.sum()
    for row in res.table.iter_rows(named=True):
        j = labels.index(row["period"])
        py = np.array(
            [hand["cells"].get((row["region"], j, lo), (0.0, 0))[0] for lo in sorted(ESP_BANDS)]
        )
        x = np.array(
            [hand["cells"].get((row["region"], j, lo), (0.0, 0))[1] for lo in sorted(ESP_BANDS)]
        )
        assert row["n"] == len(hand["persons"][(row["region"], j)])
        assert row["events"] == x.sum()
        assert [row[f"events_age_{b}"] for b in ("0-64", "65-74", "75-84", "85+")] == x.tolist()
        assert row["person_years"] == pytest.approx(py.sum(), rel=1e-9)
        y = np.sum(w * x / py)
        v = np.sum(w**2 * x / py**2)
        wm = np.max(w / py)
        lo = stats.gamma.ppf(0.025, y**2 / v, scale=v / y)
        hi = stats.gamma.ppf(0.975, (y + wm) ** 2 / (v + wm**2), scale=(v + wm**2) / (y + wm))
        assert row["estimate"] == pytest.approx(1000 * y, rel=1e-9)
        assert row["conf_low"] == pytest.approx(1000 * lo, rel=1e-9)
        assert row["conf_high"] == pytest.approx(1000 * hi, rel=1e-9)
        assert row["crude_rate"] == pytest.approx(1000 * x.sum() / py.sum(), rel=1e-9)


def test_age_from_completed_years_when_no_birth_date():
    """Age 69 at entry: born 69.5 years before entry, so 65-74 holds the first 5.5 years."""
    d = pl.DataFrame({"diagnosis_date": [dt.date(2015, 1, 1)], "exit_date": [dt.date(2023, 1, 1)],
                      "age": [69], "event": [1], "region": ["A"]})  # fmt: skip
    res = standardised_rates(d, standard=pl.DataFrame({"age_lower": [65.0, 75.0],
                                                       "population": [1, 1]}), bands=[65, 75])  # fmt: skip
    py = (dt.date(2023, 1, 1) - dt.date(2015, 1, 1)).days / 365.25
    birth = dt.date(2015, 1, 1) - dt.timedelta(days=round(69.5 * 365.25))
    first = _years(birth) + 75 - _years(dt.date(2015, 1, 1))
    t = res.table
    assert t["person_years"].item() == pytest.approx(py)
    assert t["events_age_65-74"].item() == 0 and t["events_age_75+"].item() == 1
    # the rate of each band: 0 / first and 1 / (py - first), weights 1/2 each
    assert t["estimate"].item() == pytest.approx(1000 * 0.5 / (py - first), rel=1e-6)
    assert any("completed years" in x for x in res.notes)


def test_person_time_outside_bands_and_periods_is_left_out_and_counted():
    d = _cohort(200)
    res = standardised_rates(
        d, event_value=1, birth="birth_date", periods=[2014], bands=[65, 75, 85]
    )
    assert any("below age 65 left out" in x for x in res.notes)
    assert any("before 2014 left out" in x for x in res.notes)
    assert res.table["period"].unique().to_list() == ["2014+"]


def _rows(region, bands, py=100.0):
    """A cohort whose persons die in the given age bands (one person per event, plus persons
    without events), 85+ etc: each person followed for a year inside one band."""
    out = []
    for lo, k in zip((50, 70, 80, 90), bands, strict=True):
        for i in range(k + 10):
            entry = dt.date(2016, 1, 1)
            out.append({"region": region, "diagnosis_date": entry,
                        "exit_date": dt.date(2017, 1, 1), "age": lo,
                        "event": int(i < k)})  # fmt: skip
    return out


def test_a_small_age_band_suppresses_its_group_and_the_margins_hold():
    """North has 2 events at 85+ (with 40 in all): its rate, SE and limits are linear in the band
    counts, so the row goes; South (every band 0 or >= 5) is published unless a margin needs
    it; no count 1-4 is recoverable by differencing."""
    d = pl.DataFrame(_rows("North", (12, 14, 12, 2)) + _rows("South", (9, 0, 7, 30))
                     + _rows("West", (6, 8, 10, 7)))  # fmt: skip
    res = standardised_rates(d, event_value=1)
    raw = res.table.sort("region")
    assert raw["events"].to_list() == [40, 46, 31]
    pub = res.disclosed().table.sort("region")
    north = pub.filter(pl.col("region") == "North")
    assert north["suppression"].item() == "primary" and north["estimate"].item() is None
    assert north["events"].item() is None
    # the band totals are declared known: with North hidden, its 85+ count would be the
    # total minus the others, so a second region is hidden too
    assert pub["suppressed"].sum() >= 2
    shown = pub.filter(~pl.col("suppressed"))
    for c in ["events_age_0-64", "events_age_65-74", "events_age_75-84", "events_age_85+"]:
        assert not shown[c].is_between(1, 4).any()


def test_export_leaves_nothing_for_the_adversary(tmp_path):
    d = pl.DataFrame(_rows("North", (12, 14, 12, 2)) + _rows("South", (9, 0, 7, 30))
                     + _rows("West", (6, 8, 10, 7)) + _rows("East", (3, 20, 20, 20)))  # fmt: skip
    res = standardised_rates(d, event_value=1)
    export(res, "rates", tmp_path, formats=("svg",), xlsx=False)
    leaks = _attacker.attack(tmp_path).leaks
    assert leaks == []


def test_plot_and_repr():
    res = standardised_rates(_cohort(300), event_value=1, birth="birth_date", periods=[2012, 2017])
    ax = res.plot()
    assert "person-years" in ax.get_ylabel()
    assert ax.get_xticklabels()
    assert "StandardisedRatesResult" in repr(res) or "Age-standardised" in repr(res)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"entry": "nope"}, r"needs the cohort columns \['nope'\]"),
        ({"by": "municipality"}, r"\['municipality'\]"),
        ({"per": 0}, "per must be"),
        ({"periods": [2016, 2012]}, "periods must be increasing"),
        ({"bands": [0, 62]}, "not ESP2013 age limits"),
        ({"birth": "dob"}, r"\['dob'\]"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        standardised_rates(_cohort(20), **{"birth": "birth_date", **kwargs})


def test_bad_types_are_named():
    d = _cohort(20).with_columns(age=pl.lit(70))
    with pytest.raises(ValueError, match="entry column 'diagnosis_date' must be a date"):
        standardised_rates(d.with_columns(pl.col("diagnosis_date").cast(pl.String)))
    with pytest.raises(ValueError, match="event column 'region' must be Boolean or numeric"):
        standardised_rates(d, "region")
    with pytest.raises(ValueError, match=r"all be dates or all numeric.*'exit': 'String'"):
        standardised_rates(d.with_columns(pl.col("exit_date").cast(pl.String)), birth="birth_date")
