"""paleval.stats.gee against R geepack::geeglm (tests/reference/gee.R)."""

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.gee import gee

REF = Path(__file__).parent / "reference" / "gee"
COEFS = pl.read_csv(REF / "coefs.csv")
PARAMS = pl.read_csv(REF / "params.csv", null_values="NA")
RTOL = 1e-6  # geeglm run to epsilon = 1e-10; agreement is far inside the 1e-4 of iterative fits


def load(name: str) -> pl.DataFrame:
    return pl.read_csv(REF / f"data_{name}.csv", null_values="NA")


RESP = load("respiratory").with_columns(pl.col("center").cast(pl.String))
DIET = load("dietox")
EPIL = load("epil")
SYNTH = load("synth")

MODELS = {
    ("respiratory", "binomial"): dict(
        data=RESP,
        outcome="outcome",
        covariates=["treat", "sex", "age", "baseline", "center"],
        cluster="cid",
        order="visit",
    ),
    ("dietox", "gaussian"): dict(
        data=DIET, outcome="Weight", covariates=["Time", "Cu", "Start"], cluster="Pig", order="Time"
    ),
    ("epil", "poisson"): dict(
        data=EPIL,
        outcome="y",
        covariates=["lbase", "trt", "lage", "V4"],
        cluster="subject",
        order="period",
    ),
    ("synth", "binomial"): dict(
        data=SYNTH, outcome="bin", covariates=["grp", "age", "ord"], cluster="cl", order="ord"
    ),
    ("synth", "poisson"): dict(
        data=SYNTH,
        outcome="cnt",
        covariates=["grp", "age"],
        cluster="cl",
        order="ord",
        exposure="years",
    ),
    ("synth", "gaussian"): dict(
        data=SYNTH, outcome="cont", covariates=["grp", "age", "ord"], cluster="cl", order="ord"
    ),
}


def r_name(term: str) -> str:
    t = re.sub(r"^center\[(.*)\]$", r"factor(center)\1", term)
    return re.sub(r"\[(.*?)\]", r"\1", t)


CASES = [(ds, fam, cs) for (ds, fam) in MODELS for cs in ("independence", "exchangeable", "ar1")]


@pytest.mark.parametrize(("ds", "family", "corstr"), CASES)
def test_matches_geeglm(ds, family, corstr):
    kw = MODELS[(ds, family)]
    res = gee(family=family, corstr=corstr, **kw)
    key = (pl.col("dataset") == ds) & (pl.col("family") == family) & (pl.col("corstr") == corstr)
    ref = COEFS.filter(key)
    got = pl.DataFrame(
        {
            "term": [r_name(t) for t in res.terms],
            "est": res.params,
            "se": np.sqrt(np.diag(res.vcov)),
            "se_naive": np.sqrt(np.diag(res.vcov_naive)),
        }
    )
    j = ref.join(got, on="term", how="left")
    assert j["est"].null_count() == 0 and j.height == len(res.terms)
    np.testing.assert_allclose(j["est"], j["estimate"], rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(j["se"], j["std_error"], rtol=RTOL)
    np.testing.assert_allclose(j["se_naive"], j["std_error_naive"], rtol=RTOL)
    p = PARAMS.filter(key).row(0, named=True)
    np.testing.assert_allclose(res.scale, p["scale"], rtol=RTOL)
    if corstr == "independence":
        assert res.alpha is None
    else:
        np.testing.assert_allclose(res.alpha, p["alpha"], rtol=RTOL)


def test_row_order_does_not_matter_and_metadata():
    kw = dict(MODELS[("synth", "gaussian")])
    a = gee(family="gaussian", corstr="ar1", **kw)
    kw["data"] = kw["data"].sample(fraction=1.0, shuffle=True, seed=3)
    b = gee(family="gaussian", corstr="ar1", **kw)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    n_missing = SYNTH["age"].null_count()
    assert a.n_dropped == n_missing > 0 and a.nobs == SYNTH.height - n_missing
    assert a.n_clusters == SYNTH.drop_nulls("age")["cl"].n_unique()
    assert "ar1" in a.summary() and "<GEEResult" in repr(a)


def test_exchangeable_alpha_by_hand():
    # alpha = sum over within-cluster pairs of r_j r_k / (phi * pairs), from the fitted means
    kw = MODELS[("epil", "poisson")]
    res = gee(family="poisson", corstr="exchangeable", **kw)
    d = EPIL.with_columns((pl.col("trt") == "progabide").cast(pl.Float64).alias("trt"))
    X = np.column_stack([np.ones(d.height), d.select("lbase", "trt", "lage", "V4").to_numpy()])
    mu = np.exp(X @ res.params)
    r = (d["y"].to_numpy() - mu) / np.sqrt(mu)
    phi = np.mean(r**2)
    num = pairs = 0.0
    for _, g in d.with_columns(r=r).group_by("subject"):
        v = g["r"].to_numpy()
        num += (v.sum() ** 2 - (v**2).sum()) / 2
        pairs += v.size * (v.size - 1) / 2
    np.testing.assert_allclose(res.scale, phi, rtol=1e-10)
    np.testing.assert_allclose(res.alpha, num / pairs / phi, rtol=1e-8)


def test_bad_input():
    kw = dict(MODELS[("synth", "gaussian")])
    with pytest.raises(ValueError, match="corstr must be"):
        gee(family="gaussian", corstr="unstructured", **kw)
    with pytest.raises(ValueError, match="family must be one of"):
        gee(family="gamma", **kw)
    dup = SYNTH.with_columns(pl.lit(1).alias("ord"))
    n_rep = SYNTH.drop_nulls("age").height - SYNTH.drop_nulls("age")["cl"].n_unique()
    with pytest.raises(ValueError, match=f"'ord': {n_rep} row.* repeat an order value within"):
        gee(dup, "cont", ["age"], cluster="cl", family="gaussian", corstr="ar1", order="ord")
    with pytest.raises(ValueError, match="whole numbers"):
        gee(
            SYNTH.with_columns((pl.col("ord") / 3).alias("ord")),
            "cont",
            ["age"],
            cluster="cl",
            family="gaussian",
            order="ord",
        )
    with pytest.raises(ValueError, match=r"'bin': 1 row\(s\) are not 0 or 1"):
        bad = SYNTH.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(2).otherwise(pl.col("bin")).alias("bin")
        )
        gee(bad, "bin", ["age"], cluster="cl")


@pytest.mark.parametrize("corstr", ["exchangeable", "ar1"])
def test_planted_effects_inside_ci(corstr):
    # (under the independence working correlation the Gaussian grp[y] interval, 0.81 to
    # 1.44, misses the planted 1.5: one of 14 intervals; the fits themselves match geeglm)
    # tests/reference/gee.R planted (marginal = conditional for the identity link, and for the
    # log link apart from the intercept): gaussian y +1.5, z -0.8, age 0.1, ord 0.2;
    # Poisson (person-time) y +0.3, z 0, age 0.02
    truth = {
        "gaussian": {"grp[y]": 1.5, "grp[z]": -0.8, "age": 0.1, "ord": 0.2},
        "poisson": {"grp[y]": 0.3, "grp[z]": 0.0, "age": 0.02},
    }
    for family, planted in truth.items():
        res = gee(family=family, corstr=corstr, **MODELS[("synth", family)])
        tab = res.table.filter(pl.col("term").is_in(list(planted)))
        assert tab.height == len(planted)
        for term, lo, hi in tab.select("term", "conf_low", "conf_high").rows():
            assert lo < planted[term] < hi, (family, term)
