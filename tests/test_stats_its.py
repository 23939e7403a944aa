"""paleval.stats.its.segmented_regression against R lm/glm/glm.nb with sandwich::NeweyWest and
nlme::gls(corAR1) (tests/reference/its.R): Seatbelts (real) and a synthetic quarterly series."""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.its import newey_west, segmented_regression

REF = Path(__file__).parent / "reference" / "its"
COEFS = pl.read_csv(REF / "coefs.csv")
EXTRA = pl.read_csv(REF / "extra.csv")
RTOL = 1e-6

SB = pl.read_csv(REF / "data_seatbelts.csv", try_parse_dates=True)
QU = pl.read_csv(REF / "data_quarterly.csv", try_parse_dates=True)
LAW = dt.date(1983, 1, 31)  # in force from 31 January 1983: effect from February 1983
QDATES = [dt.date(2014, 7, 1), dt.date(2018, 1, 1)]

SETUPS = {
    ("seatbelts", "poisson"): dict(
        data=SB, outcome="DriversKilled", interventions=LAW, exposure="kms", seasonality=2
    ),
    ("seatbelts", "negbin"): dict(
        data=SB, outcome="DriversKilled", interventions=LAW, exposure="kms", seasonality=2
    ),
    ("seatbelts", "gaussian"): dict(data=SB, outcome="front", interventions=LAW, seasonality=2),
    ("quarterly", "gaussian"): dict(data=QU, outcome="rate", interventions=QDATES, seasonality=1),
    ("quarterly", "poisson"): dict(
        data=QU, outcome="deaths", interventions=QDATES, exposure="pyears", seasonality=1
    ),
    ("quarterly", "negbin"): dict(
        data=QU, outcome="deaths", interventions=QDATES, exposure="pyears", seasonality=1
    ),
}
VARIANTS = {
    "model": dict(se="model"),
    "NeweyWest": dict(se="newey-west"),
    "NeweyWest_lag3_noprewhite_adjust": dict(se="newey-west", lag=3, prewhite=False, adjust=True),
    "ar1_ML": dict(se="model", errors="ar1", method="ML"),
    "ar1_REML": dict(se="model", errors="ar1", method="REML"),
}


def r_name(term: str) -> str:
    for k, lab in enumerate([str(LAW)] + [str(d) for d in QDATES]):
        kk = 1 if k == 0 else k
        term = term.replace(f"level[{lab}]", f"level{kk}").replace(f"slope[{lab}]", f"slope{kk}")
    return term


def fit(ds, model, variant):
    kw = dict(SETUPS[(ds, model)])
    return segmented_regression(
        kw.pop("data"),
        kw.pop("outcome"),
        "date",
        kw.pop("interventions"),
        family=model,
        **kw,
        **VARIANTS[variant],
    )


CASES = COEFS.select("dataset", "model", "variant").unique(maintain_order=True).rows()


@pytest.mark.parametrize(("ds", "model", "variant"), CASES)
def test_matches_r(ds, model, variant):
    res = fit(ds, model, variant)
    ref = COEFS.filter(
        (pl.col("dataset") == ds) & (pl.col("model") == model) & (pl.col("variant") == variant)
    )
    got = pl.DataFrame(
        {
            "term": [r_name(t) for t in res.terms],
            "est": res.params,
            "se": np.sqrt(np.diag(res.vcov)),
        }
    )
    j = ref.join(got, on="term", how="left")
    assert j["est"].null_count() == 0 and j.height == len(res.terms)
    np.testing.assert_allclose(j["est"], j["estimate"], rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(j["se"], j["std_error"], rtol=RTOL)
    ex = EXTRA.filter((pl.col("dataset") == ds) & (pl.col("model") == model))
    val = dict(zip(ex["quantity"], ex["value"], strict=True))
    if variant == "NeweyWest":
        assert res.lag == val["nw_lag"]
    if model == "negbin":
        np.testing.assert_allclose(res.theta, val["theta"], rtol=RTOL)
    if variant.startswith("ar1_"):
        m = variant[4:]
        np.testing.assert_allclose(res.phi, val[f"phi_{m}"], rtol=1e-6)
        np.testing.assert_allclose(res.sigma, val[f"sigma_{m}"], rtol=1e-6)
        np.testing.assert_allclose(res.loglik, val[f"loglik_{m}"], rtol=1e-6)


def test_design_series_and_counterfactual():
    res = fit("seatbelts", "poisson", "model")
    # the law takes effect from February 1983: row 170 of the series (t = 169)
    assert res.interventions == {str(LAW): 169}
    s = res.series
    assert s.height == 192 and s["t"].to_list() == list(range(192))
    pre = s.filter(pl.col("t") < 169)
    np.testing.assert_allclose(pre["fitted"], pre["counterfactual"], rtol=1e-12)
    post = s.filter(pl.col("t") >= 169)
    b = dict(zip(res.terms, res.params, strict=True))
    k = post["t"].to_numpy() - 169
    lvl, slp = b[f"level[{LAW}]"], b[f"slope[{LAW}]"]
    np.testing.assert_allclose(
        post["fitted"] / post["counterfactual"], np.exp(lvl + slp * k), rtol=1e-10
    )
    # fitted counts include the offset: they sum to the observed total (Poisson score, intercept)
    np.testing.assert_allclose(s["fitted"].sum(), s["observed"].sum(), rtol=1e-9)


def test_newey_west_by_hand():
    # lag 2, no pre-whitening: S = G0 + sum_j (1 - j/3) (Gj + Gj'), Gj = sum_t u_t u_{t+j}'
    rng = np.random.default_rng(5)
    u = rng.normal(size=(40, 2))
    S = u.T @ u
    for j, wj in ((1, 2 / 3), (2, 1 / 3)):
        G = u[:-j].T @ u[j:]
        S += wj * (G + G.T)
    v, lag = newey_west(u, np.eye(2), lag=2, prewhite=False)
    assert lag == 2
    np.testing.assert_allclose(v, S, rtol=1e-12)
    v2, _ = newey_west(u, np.eye(2), lag=2, prewhite=False, adjust=True)
    np.testing.assert_allclose(v2, S * 40 / 38, rtol=1e-12)


def test_order_and_integer_time():
    shuffled = SB.sample(fraction=1.0, shuffle=True, seed=1)
    a = segmented_regression(SB, "front", "date", LAW, se="model")
    b = segmented_regression(shuffled, "front", "date", LAW, se="model")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    c = segmented_regression(
        SB.with_row_index("i").with_columns(pl.col("i").cast(pl.Int64)),
        "front",
        "i",
        169,
        se="model",
    )
    np.testing.assert_allclose(a.params, c.params, rtol=1e-12)
    assert "interventions" in a.summary() and "<SegmentedRegressionResult" in repr(a)


def test_bad_input():
    with pytest.raises(ValueError, match="not a regular monthly or quarterly series"):
        segmented_regression(SB.filter(pl.col("date") != dt.date(1975, 5, 1)), "front", "date", LAW)
    with pytest.raises(ValueError, match="must fall after the first period"):
        segmented_regression(SB, "front", "date", dt.date(1990, 1, 1))
    with pytest.raises(ValueError, match="increasing, distinct periods"):
        segmented_regression(QU, "rate", "date", QDATES[::-1])
    with pytest.raises(ValueError, match="gaussian family only"):
        segmented_regression(QU, "deaths", "date", QDATES, family="poisson", errors="ar1")
    with pytest.raises(ValueError, match="give se='model'"):
        segmented_regression(QU, "rate", "date", QDATES, errors="ar1")
    with pytest.raises(ValueError, match=r"\['front'\] have missing values"):
        segmented_regression(
            SB.with_columns(
                pl.when(pl.col("law") == 1).then(None).otherwise(pl.col("front")).alias("front")
            ),
            "front",
            "date",
            LAW,
        )
    with pytest.raises(ValueError, match="needs a log-link family"):
        segmented_regression(SB, "front", "date", LAW, exposure="kms")


def test_planted_effects_inside_ci():
    # tests/reference/its.R planted: trend 0.1, level -2 and slope -0.15 from 2014 Q3, level +1
    # and slope 0 from 2018 Q1, 0.3 sin(2 pi s / 4), AR(1) errors with phi 0.5
    res = segmented_regression(QU, "rate", "date", QDATES, seasonality=1, se="model", errors="ar1")
    truth = {
        "time": 0.1,
        "level[2014-07-01]": -2.0,
        "slope[2014-07-01]": -0.15,
        "level[2018-01-01]": 1.0,
        "slope[2018-01-01]": 0.0,
        "sin1": 0.3,
        "cos1": 0.0,
    }
    tab = res.table.filter(pl.col("term").is_in(list(truth)))
    for term, lo, hi in tab.select("term", "conf_low", "conf_high").rows():
        assert lo < truth[term] < hi, term


@pytest.mark.parametrize(
    "events_at",
    [
        pytest.param([30, 31, 33], id="no-events-before"),  # level ratio came out as 3e19
        pytest.param([0, 1, 2, 3, 4, 5, 6], id="no-events-after"),  # and as 8e-18
    ],
)
def test_a_segment_without_events_is_not_estimable_not_a_number(events_at):
    """A run of quarters without events sends the Poisson level or slope to +-inf; the fit
    used to come back 'converged' with ratios of 1e19 and a counterfactual of 1e20, which the
    report published. R's glm.fit warns 'fitted rates numerically 0 occurred' here."""
    from paleval.stats import ConvergenceError

    q = pl.date_range(dt.date(2015, 1, 1), dt.date(2023, 10, 1), "1q", eager=True)
    ev = np.zeros(len(q), int)
    ev[events_at] = 1
    d = pl.DataFrame({"period": q, "events": ev, "n": np.full(len(q), 20)})
    for seasonality in (0, 1):  # IRLS runs off (0) or stops with rates numerically 0 (1)
        with pytest.raises(ConvergenceError, match="separation"):
            segmented_regression(d, "events", "period", {"x": dt.date(2019, 1, 1)},
                                 family="poisson", exposure="n", seasonality=seasonality)  # fmt: skip
    # with events in both segments the same design is estimable
    ev[[2, 9, 14, 22, 27]] = 1
    ok = segmented_regression(d.with_columns(events=pl.Series(ev)), "events", "period",
                              {"x": dt.date(2019, 1, 1)}, family="poisson", exposure="n")  # fmt: skip
    assert np.isfinite(ok.table["ratio"].to_numpy()).all()
    assert ok.series["counterfactual"].max() < 20


def test_a_gaussian_series_with_fitted_shares_at_or_below_zero_is_still_fitted():
    """Separation concerns counts: a Gaussian share fitted at 0 or below is a number, not a
    failure (the planted ITS on small seed 1 has such early quarters)."""
    q = pl.date_range(dt.date(2015, 1, 1), dt.date(2019, 10, 1), "1q", eager=True)
    share = np.r_[np.zeros(8), np.linspace(0.1, 0.3, len(q) - 8)]
    d = pl.DataFrame({"period": q, "share": share})
    res = segmented_regression(d, "share", "period", {"x": dt.date(2017, 1, 1)},
                               family="gaussian", seasonality=0)  # fmt: skip
    assert res.table.filter(pl.col("term") == "level[x]").height == 1
