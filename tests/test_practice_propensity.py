"""Practice home-visit propensity: timing before death, person-time with decedents, empirical
Bayes shrinkage and list-size-weighted quartiles, each checked against a hand computation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import optimize, stats

from paleval.codes import load_codes
from paleval.cohort.practice import (
    add_practice_propensity,
    gamma_poisson_prior,
    practice_home_visit_propensity,
    practice_propensity_before_death,
    weighted_quartiles,
)

D = dt.date
HV = "800411"  # a daytime GP home visit (code list gp_services)
Y = 365.25


def _registers() -> dict[str, pl.LazyFrame]:
    """Four practices, everybody 65 and male in 2015 (one stratum).

    p1: a1 alive; a2 dies 2015-07-01 after 6 home visits (end-of-life visits).
    p2: b1 (1 visit), b2 alive.
    p3: c1 (2 visits); c2 moves here from p2 on 2015-07-01 and has 1 visit after the move.
    p4: d1, d2 alive; d1 has 5 visits in 2016 (the year of death of the index persons).
    """
    pnr = ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2"]
    bef = pl.LazyFrame(
        {
            "PNR": pnr + [p for p in pnr if p != "a2"],
            "year": [2014] * 8 + [2015] * 7,
            "FOED_DAG": [D(1950, 3, 1)] * 15,
            "KOEN": [1] * 15,
        }
    )
    til = pl.LazyFrame(
        {
            "PNR": ["a1", "a2", "b1", "b2", "c1", "c2", "c2", "d1", "d2"],
            "YDERNR": ["p1", "p1", "p2", "p2", "p3", "p2", "p3", "p4", "p4"],
            "DATO_FRA": [D(2000, 1, 1)] * 6 + [D(2015, 7, 1)] + [D(2000, 1, 1)] * 2,
            "DATO_TIL": [None] * 5 + [D(2015, 7, 1)] + [None] * 3,
        },
        schema_overrides={"DATO_TIL": pl.Date},
    )
    visits = [
        *[("a2", f"15{w:02d}") for w in (10, 12, 14, 16, 18, 20)],
        ("b1", "1510"),
        ("c1", "1505"),
        ("c1", "1540"),
        ("c2", "1530"),  # Monday 2015-07-20: after the move to p3
        *[("d1", f"16{w:02d}") for w in (3, 4, 5, 6, 7)],
    ]
    sssy = pl.LazyFrame(
        {
            "PNR": [v[0] for v in visits],
            "HONUGE": [v[1] for v in visits],
            "SPECIALE": [HV] * len(visits),
            "YDLTID": ["1"] * len(visits),
            "YDLANT": [1] * len(visits),
        }
    )
    dod = pl.LazyFrame({"PNR": ["a2"], "DODDATO": [D(2015, 7, 1)]})
    return {"bef": bef, "tilknytning": til, "sssy": sssy, "dod": dod}


# person-years by hand: a2 listed 1 Jan - 1 Jul 2015 inclusive (182 days); c2 181 days in p2,
# 184 in p3
PY = {"p1": (365 + 182) / Y, "p2": (365 + 365 + 181) / Y, "p3": (365 + 184) / Y, "p4": 730 / Y}
OBS = {"p1": 6, "p2": 1, "p3": 3, "p4": 0}


def test_observed_expected_by_hand_and_old_definition_differs() -> None:
    out = practice_propensity_before_death(
        _registers(), death_years=[2016], lookback_years=1, shrinkage="none", weights="practices"
    )
    assert out["death_year"].to_list() == [2016] * 4
    got = {r["YDERNR"]: r for r in out.iter_rows(named=True)}
    rate = sum(OBS.values()) / sum(PY.values())
    for p in PY:
        assert got[p]["observed"] == OBS[p], p
        assert got[p]["person_years"] == pytest.approx(PY[p], rel=1e-12), p
        assert got[p]["expected"] == pytest.approx(PY[p] * rate, rel=1e-12), p
        assert got[p]["estimate"] == pytest.approx(OBS[p] / (PY[p] * rate), rel=1e-12), p
    # new: p1 (a2's end-of-life visits counted) is the highest; p4 (visits only in the year
    # of death) the lowest
    assert {p: got[p]["propensity_quartile"] for p in PY} == {"p1": 4, "p2": 2, "p3": 3, "p4": 1}
    # the old definition (year-end 2015 residents, visits of residents only): p1 has a1 alone
    # with 0 visits, so it would be in the lowest quartile
    old_o = {"p1": 0, "p2": 1, "p3": 3, "p4": 0}
    assert old_o["p1"] == 0 and got["p1"]["propensity_quartile"] != 1


def test_nothing_from_the_year_of_death_or_after() -> None:
    regs = _registers()
    more = pl.LazyFrame(
        {"PNR": ["b2"] * 3, "HONUGE": ["1610", "1620", "1710"], "SPECIALE": [HV] * 3,
         "YDLTID": ["1"] * 3, "YDLANT": [1] * 3}
    )  # fmt: skip
    regs2 = {**regs, "sssy": pl.concat([regs["sssy"], more])}
    a = practice_propensity_before_death(regs, death_years=[2016], lookback_years=1)
    b = practice_propensity_before_death(regs2, death_years=[2016], lookback_years=1)
    assert a.equals(b)
    # a window that contains 2016 does see them
    c = practice_propensity_before_death(regs2, death_years=[2017], lookback_years=2)
    assert c.filter(pl.col("YDERNR") == "p2")["observed"].item() == 1 + 2


def test_uncovered_years_are_unknown_not_low() -> None:
    # no home visit anywhere in 2012-2014: death years 2013-2015 have no covered window year
    out = practice_propensity_before_death(_registers(), death_years=[2015, 2016], lookback_years=1)
    assert out["death_year"].unique().to_list() == [2016]
    assert (out["window_years"] == 1).all()


def test_moment_shrinkage_by_hand() -> None:
    out = practice_propensity_before_death(
        _registers(), death_years=[2016], lookback_years=1, shrinkage="moments"
    )
    o = out["observed"].to_numpy().astype(float)
    e = out["expected"].to_numpy()
    m = o.sum() / e.sum()
    s2 = np.sum(e * (o / e - m) ** 2) / e.sum() - m / e.mean()  # Marshall 1991
    a, b = m * m / s2, m / s2
    assert out["prior_shape"][0] == pytest.approx(a, rel=1e-12)
    assert out["eb_estimate"].to_numpy() == pytest.approx((o + a) / (e + b), rel=1e-12)
    lo = stats.gamma.ppf(0.025, a + o, scale=1 / (e + b))
    assert out["eb_low"].to_numpy() == pytest.approx(lo, rel=1e-9)
    raw = out["estimate"].to_numpy()
    post = out["eb_estimate"].to_numpy()
    assert np.all(np.abs(post - m) <= np.abs(raw - m) + 1e-12)  # toward the prior mean


def test_shrinkage_pulls_small_practices_toward_one() -> None:
    rng = np.random.default_rng(7)
    k = 400
    e = np.exp(rng.uniform(np.log(2), np.log(800), k))
    theta = rng.gamma(8.0, 1 / 8.0, k)
    o = rng.poisson(theta * e).astype(float)
    e = e * o.sum() / e.sum()  # expected from the pooled rates: sum O = sum E
    for method in ("moments", "ml"):
        a, b = gamma_poisson_prior(o, e, method)
        assert a / b == pytest.approx(1.0, abs=0.05 if method == "ml" else 1e-12)
        assert 4 < a < 16  # the planted prior shape 8
        post = (o + a) / (e + b)
        raw = o / e
        small, big = e < 10, e > 400
        # small practices move most of the way to 1, big ones hardly at all
        moved = np.abs(raw - post) / np.maximum(np.abs(raw - 1), 1e-9)
        assert np.median(moved[small]) > 0.3 > 0.05 > np.median(moved[big])
        # and the shrunk ratios are closer to the truth
        assert np.mean((post - theta) ** 2) < 0.7 * np.mean((raw - theta) ** 2)


def test_ml_prior_matches_an_independent_negative_binomial_fit() -> None:
    rng = np.random.default_rng(3)
    e = rng.uniform(5, 300, 300)
    o = rng.poisson(rng.gamma(5.0, 1 / 5.0, 300) * e)
    a, b = gamma_poisson_prior(o, e, "ml")

    def nll(p: np.ndarray) -> float:  # scipy's nbinom: n = a, p = b / (b + E)
        aa, bb = np.exp(p)
        return -stats.nbinom.logpmf(o, aa, bb / (bb + e)).sum()

    ref = optimize.minimize(nll, np.log([1.0, 1.0]), method="L-BFGS-B").x
    assert np.log([a, b]) == pytest.approx(ref, abs=2e-3)


def test_no_between_practice_variance_shrinks_everyone_to_the_mean() -> None:
    o = np.array([10.0, 10, 10, 10])
    e = np.array([10.0, 10, 10, 10])
    assert gamma_poisson_prior(o, e) == (float("inf"), float("inf"))


def test_weighted_quartiles_by_person_units() -> None:
    rng = np.random.default_rng(11)
    est = rng.normal(size=60)
    w = rng.integers(1, 40, 60).astype(float)
    q = weighted_quartiles(est, w)
    # independent: expand each practice into its persons; a practice is placed by the
    # quartile of its middle person
    order = np.argsort(est)
    cum = np.cumsum(w[order])
    mid = cum - w[order] / 2
    expect = np.empty(60, int)
    expect[order] = np.minimum(np.floor(4 * mid / cum[-1]) + 1, 4)
    assert (q == expect).all()
    # each quartile holds about a quarter of the persons (at most one practice off)
    for g in range(1, 5):
        assert abs(w[q == g].sum() - w.sum() / 4) <= w.max()
    # unweighted: a quarter of the practices each
    assert np.bincount(weighted_quartiles(est, np.ones(60)))[1:].tolist() == [15] * 4
    # ties share a quartile
    assert len(set(weighted_quartiles(np.array([1.0, 1, 1, 2]), np.ones(4))[:3])) == 1


def test_list_size_weighting_changes_the_quartiles() -> None:
    regs = _registers()
    w = practice_propensity_before_death(regs, death_years=[2016], lookback_years=1)
    u = practice_propensity_before_death(
        regs, death_years=[2016], lookback_years=1, weights="practices"
    )
    py = w["person_years"].to_numpy()
    expect = weighted_quartiles(w["eb_estimate"].to_numpy(), py)
    assert w["propensity_quartile"].to_list() == expect.tolist()
    assert u["propensity_quartile"].sort().to_list() == [1, 2, 3, 4]


def test_add_practice_propensity_joins_by_practice_and_year() -> None:
    prop = practice_propensity_before_death(_registers(), death_years=[2016], lookback_years=1)
    c = pl.LazyFrame({"practice": ["p1", "p4", "p1", None], "death_year": [2016, 2016, 2015, 2016]})
    out = add_practice_propensity(c, prop).collect()
    q = dict(zip(prop["YDERNR"], prop["propensity_quartile"], strict=True))
    assert out["propensity_quartile"].to_list() == [q["p1"], q["p4"], None, None]


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="shrinkage"):
        practice_propensity_before_death(_registers(), death_years=[2016], shrinkage="x")
    with pytest.raises(ValueError, match="lookback_years"):
        practice_propensity_before_death(_registers(), death_years=[2016], lookback_years=0)
    with pytest.raises(KeyError, match="dod"):
        regs = _registers()
        del regs["dod"]
        practice_home_visit_propensity(regs, years=[2015])


def test_tiny_registers_totals_by_independent_count(tiny_dir: Path) -> None:
    """On the tiny synthetic registers: person-years and visits of one window year counted
    from the raw files person by person (pandas), against the practice table's sums."""
    from paleval.registers import scan_registers

    regs = scan_registers(tiny_dir, ["bef", "sssy", "tilknytning", "dod"])
    out = practice_propensity_before_death(regs, death_years=[2016], lookback_years=1)
    # indirect standardisation against all practices: sum O = sum E
    assert out["observed"].sum() == pytest.approx(out["expected"].sum(), rel=1e-9)
    bef = regs["bef"].filter(pl.col("year") == 2014).collect()
    at_risk = {r["PNR"] for r in bef.iter_rows(named=True) if 2015 - r["FOED_DAG"].year >= 40}
    dod: dict[str, dt.date] = {}
    for r in regs["dod"].collect().iter_rows(named=True):
        dod[r["PNR"]] = min(r["DODDATO"], dod.get(r["PNR"], r["DODDATO"]))
    start, stop = D(2015, 1, 1), D(2016, 1, 1)
    days = 0
    by_pnr: dict[str, list] = {}
    for r in regs["tilknytning"].collect().iter_rows(named=True):
        if r["PNR"] not in at_risk:
            continue
        s = max(r["DATO_FRA"], start)
        e = stop if r["DATO_TIL"] is None else min(r["DATO_TIL"], stop)
        if r["PNR"] in dod:
            e = min(e, dod[r["PNR"]] + dt.timedelta(days=1))
        if e > s:
            days += (e - s).days
            by_pnr.setdefault(r["PNR"], []).append((s, e))
    assert out["person_years"].sum() == pytest.approx(days / Y, rel=1e-12)
    codes = set(load_codes("gp_services").filter(pl.col("category") == "home_visit")["SPECIALE"])
    day = set(load_codes("gp_time_codes").filter(pl.col("period") == "daytime")["YDLTID"])
    n = 0
    for r in (
        regs["sssy"].filter(pl.col("year").is_in([2015, 2016])).collect().iter_rows(named=True)
    ):
        if r["SPECIALE"] not in codes or r["YDLTID"] not in day:
            continue
        monday = dt.date.fromisocalendar(2000 + int(r["HONUGE"][:2]), int(r["HONUGE"][2:]), 1)
        if monday.year == 2015 and any(s <= monday < e for s, e in by_pnr.get(r["PNR"], [])):
            n += r["YDLANT"]
    assert out["observed"].sum() == n > 0


def test_equal_practices_are_all_shrunk_to_the_mean_and_ml_runs() -> None:
    regs = _registers()
    # p2 and p4 only, each with 1 visit in 2015 and equal person-time: no between variance
    keep = ["b1", "b2", "d1", "d2"]
    one = pl.LazyFrame({"PNR": ["b1", "d1"], "HONUGE": ["1510", "1510"], "SPECIALE": [HV] * 2,
                        "YDLTID": ["1"] * 2, "YDLANT": [1, 1]})  # fmt: skip
    til = pl.LazyFrame({"PNR": keep, "YDERNR": ["p2", "p2", "p4", "p4"],
                        "DATO_FRA": [D(2000, 1, 1)] * 4, "DATO_TIL": [None] * 4},
                       schema_overrides={"DATO_TIL": pl.Date})  # fmt: skip
    r = {**regs, "sssy": one, "tilknytning": til}
    out = practice_propensity_before_death(r, death_years=[2016], lookback_years=1)
    assert out["eb_estimate"].to_list() == pytest.approx([1.0, 1.0])
    assert out["prior_shape"].is_infinite().all()
    ml = practice_propensity_before_death(
        regs, death_years=[2016], lookback_years=1, shrinkage="ml"
    )
    o, e = ml["observed"].to_numpy(), ml["expected"].to_numpy()
    a, b = gamma_poisson_prior(o, e, "ml")
    if np.isfinite(a):
        assert ml["eb_estimate"].to_numpy() == pytest.approx((o + a) / (e + b))
    else:
        assert ml["eb_estimate"].to_numpy() == pytest.approx(np.full(4, o.sum() / e.sum()))
