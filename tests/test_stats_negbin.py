"""paleval.stats.count.negative_binomial against R MASS::glm.nb (tests/reference/negbin.R)."""

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats._glm import ConvergenceError
from paleval.stats.count import negative_binomial, theta_ml

REF = Path(__file__).parent / "reference" / "negbin"
COEFS = pl.read_csv(REF / "coefs.csv")
THETA = pl.read_csv(REF / "theta.csv")
RTOL = 1e-6  # converged far below glm.nb's epsilon = 1e-13: agreement is much closer than 1e-4


def load(name: str) -> pl.DataFrame:
    return pl.read_csv(REF / f"data_{name}.csv", null_values="NA")


def fit(ds: str):
    if ds == "quine":
        return negative_binomial(load("quine"), "Days", ["Eth", "Sex", "Age", "Lrn"])
    return negative_binomial(
        load("synth"),
        "admissions",
        ["region", "age"],
        exposure="years",
        reference={"region": "Capital"},
    )


@pytest.mark.parametrize("ds", ["quine", "synth"])
def test_matches_glm_nb(ds):
    res = fit(ds)
    ref = COEFS.filter(pl.col("dataset") == ds)
    got = pl.DataFrame(
        {
            "term": [re.sub(r"\[(.*?)\]", r"\1", t) for t in res.terms],
            "est": res.params,
            "se": np.sqrt(np.diag(res.vcov)),
        }
    )
    j = ref.join(got, on="term", how="left")
    assert j["est"].null_count() == 0 and j.height == len(res.terms)
    np.testing.assert_allclose(j["est"], j["estimate"], rtol=RTOL)
    np.testing.assert_allclose(j["se"], j["std_error"], rtol=RTOL)
    t = THETA.filter(pl.col("dataset") == ds).row(0, named=True)
    np.testing.assert_allclose(res.theta, t["theta"], rtol=RTOL)
    np.testing.assert_allclose(res.theta_se, t["theta_se_final"], rtol=RTOL)
    # glm.nb's own SE.theta is one Newton step behind its final theta
    np.testing.assert_allclose(res.theta_se, t["theta_se"], rtol=1e-4)
    np.testing.assert_allclose(res.loglik, t["loglik"], rtol=RTOL)
    np.testing.assert_allclose(res.aic, t["aic"], rtol=RTOL)
    np.testing.assert_allclose(res.deviance, t["deviance"], rtol=RTOL)
    np.testing.assert_allclose(res.table["ratio"], np.exp(res.params))


def test_offset_equals_log_exposure_and_drops():
    d = load("synth").with_columns(pl.col("years").log().alias("log_years"))
    a = negative_binomial(d, "admissions", ["region", "age"], offset="log_years")
    b = negative_binomial(d, "admissions", ["region", "age"], exposure="years")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    n_missing = d.filter(pl.col("age").is_null() | pl.col("region").is_null()).height
    assert a.n_dropped == n_missing > 0 and a.nobs == d.height - n_missing
    # the offset matters: without it the intercept absorbs mean log person-time
    c = negative_binomial(d, "admissions", ["region", "age"])
    assert abs(c.params[0] - a.params[0]) > 0.1
    assert a.offset == "log_years" and "theta" in a.summary()


def test_theta_ml_by_hand():
    # score of the NB2 log-likelihood in theta is zero at the returned theta, checked with a
    # central difference of the log-likelihood written out here
    from scipy.special import gammaln

    y = np.array([0.0, 1, 4, 0, 9, 2, 3, 0, 1, 12])
    mu = np.full(y.size, y.mean())

    def ll(th):
        return np.sum(
            gammaln(th + y)
            - gammaln(th)
            - gammaln(y + 1)
            + th * np.log(th / (th + mu))
            + y * np.log(mu / (th + mu))
        )

    th, se = theta_ml(y, mu, np.ones(y.size))
    h = 1e-5
    assert abs((ll(th + h) - ll(th - h)) / (2 * h)) < 1e-6
    info = -(ll(th + h) - 2 * ll(th) + ll(th - h)) / h**2
    np.testing.assert_allclose(se, 1 / np.sqrt(info), rtol=1e-4)


def test_bad_input():
    d = load("synth")
    with pytest.raises(ValueError, match="either `offset`"):
        negative_binomial(d, "admissions", ["age"], offset="years", exposure="years")
    with pytest.raises(ValueError, match=r"exposure column 'years': 2 row"):
        bad = d.with_columns(
            pl.when(pl.int_range(pl.len()) < 2).then(0.0).otherwise(pl.col("years")).alias("years")
        )
        negative_binomial(bad, "admissions", ["age"], exposure="years")
    with pytest.raises(ValueError, match=r"'admissions': 1 row\(s\) negative"):
        neg = d.with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(-1)
            .otherwise(pl.col("admissions"))
            .alias("admissions")
        )
        negative_binomial(neg, "admissions", ["age"])
    with pytest.raises(ValueError, match=r"\['nope'\] not found"):
        negative_binomial(d, "admissions", ["nope"])
    # equidispersed (Poisson) data: theta runs to infinity, a clear error
    rng = np.random.default_rng(1)
    p = pl.DataFrame({"y": rng.poisson(3.0, 400), "x": rng.normal(size=400)})
    with pytest.raises(ConvergenceError, match="no overdispersion"):
        negative_binomial(p, "y", ["x"])


def test_planted_effects_inside_ci():
    # tests/reference/negbin.R planted: intercept 0.4 - 0.015 * 75, South 0.3, North -0.2,
    # Zealand 0.5, age 0.015 per year, theta (size) 1.7
    res = fit("synth")
    truth = {
        "(Intercept)": 0.4 - 0.015 * 75,
        "region[North]": -0.2,
        "region[South]": 0.3,
        "region[Zealand]": 0.5,
        "age": 0.015,
    }
    for term, lo, hi in res.table.select("term", "conf_low", "conf_high").rows():
        assert lo < truth[term] < hi, term
    assert abs(res.theta - 1.7) < 1.96 * res.theta_se
