"""paleval.stats.mixed against R lme4::glmer (tests/reference/mixed.R)."""

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from paleval.stats.mixed import MixedResult, mixed_logistic, mixed_poisson

REF = Path(__file__).parent / "reference" / "mixed"
COEFS = pl.read_csv(REF / "coefs.csv")
PARAMS = pl.read_csv(REF / "params.csv")
RANEF = pl.read_csv(REF / "ranef.csv")
RTOL = 1e-4  # iterative fits and quadrature
DATA = {
    name: pl.read_csv(REF / f"{name}.csv", schema_overrides={"period": pl.String})
    for name in ("cbpp", "grouseticks", "synth_binary", "synth_count")
}


def fit(ds: str, nagq: int) -> MixedResult:
    d = DATA[ds]
    if ds == "cbpp":
        return mixed_logistic(d, "incidence", ["period"], "herd", trials="size", nagq=nagq)
    if ds == "grouseticks":
        return mixed_poisson(d, "TICKS", ["YEAR", "cHEIGHT"], "LOCATION", nagq=nagq)
    if ds == "synth_binary":
        return mixed_logistic(d, "home_death", ["cancer", "age"], "practice", nagq=nagq)
    return mixed_poisson(d, "admissions", ["period"], "municipality", exposure="pyears", nagq=nagq)


CASES = PARAMS.select("dataset", "nagq").rows()
FITS: dict = {}


def cached(ds: str, nagq: int) -> MixedResult:
    if (ds, nagq) not in FITS:
        FITS[ds, nagq] = fit(ds, nagq)
    return FITS[ds, nagq]


def lme4_se_rtol(ds: str, nagq: int) -> float:
    return 3e-3 if (ds, nagq) == ("synth_count", 1) else RTOL


def saturated_loglik(ds: str) -> float:
    """Sum of the saturated model's log-likelihood terms (mu = y), from the raw file."""
    d = DATA[ds]
    if ds == "cbpp":
        y, n = d["incidence"].to_numpy(), d["size"].to_numpy()
        return float(stats.binom.logpmf(y, n, y / n).sum())
    if ds == "synth_binary":
        return 0.0
    y = d[d.columns[0]].to_numpy() if ds == "grouseticks" else d["admissions"].to_numpy()
    return float(stats.poisson.logpmf(y, np.where(y > 0, y, 1e-300)).sum())


@pytest.mark.parametrize(("ds", "nagq"), CASES)
def test_fixed_effects_match_lme4(ds, nagq):
    res = cached(ds, nagq)
    ref = COEFS.filter((pl.col("dataset") == ds) & (pl.col("nagq") == nagq))
    got = res.table.with_columns(
        pl.col("term").map_elements(lambda t: re.sub(r"\[(.*?)\]", r"\1", t), pl.String)
    )
    j = ref.join(got, on="term", how="left", suffix="_py")
    assert j["estimate_py"].null_count() == 0, j
    np.testing.assert_allclose(j["estimate_py"], j["estimate"], rtol=RTOL, atol=1e-6)
    # exact: R's Richardson Hessian of the same approximation; lme4's own finite-difference
    # Hessian carries its PIRLS tolerance, 0.2% off on synth_count's Laplace fit
    np.testing.assert_allclose(j["std_error_py"], j["std_error_exact"], rtol=1e-5)
    np.testing.assert_allclose(j["std_error_py"], j["std_error"], rtol=lme4_se_rtol(ds, nagq))


@pytest.mark.parametrize(("ds", "nagq"), CASES)
def test_variance_and_loglik_match_lme4(ds, nagq):
    res = cached(ds, nagq)
    ref = PARAMS.filter((pl.col("dataset") == ds) & (pl.col("nagq") == nagq)).row(0, named=True)
    assert res.n == ref["nobs"] and res.n_groups == ref["ngroups"]
    np.testing.assert_allclose(res.sigma, ref["sigma"], rtol=RTOL)
    np.testing.assert_allclose(res.sigma_se, ref["se_sigma_exact"], rtol=1e-5)
    np.testing.assert_allclose(res.sigma_se, ref["se_sigma"], rtol=lme4_se_rtol(ds, nagq))
    # lme4's nAGQ > 1 log-likelihood leaves out the saturated model's terms
    expected = ref["loglik"] + (saturated_loglik(ds) if nagq > 1 else 0.0)
    np.testing.assert_allclose(res.loglik, expected, rtol=1e-6)


@pytest.mark.parametrize(("ds", "nagq"), CASES)
def test_empirical_bayes_match_lme4_ranef(ds, nagq):
    res = cached(ds, nagq)
    ref = RANEF.filter((pl.col("dataset") == ds) & (pl.col("nagq") == nagq))
    j = ref.join(res.groups, on="group", how="left")
    assert j.height == res.groups.height
    np.testing.assert_allclose(j["estimate"], j["mode"], rtol=RTOL, atol=1e-5)
    np.testing.assert_allclose(j["std_error"], j["cond_sd"], rtol=RTOL)


def test_quadrature_differs_from_laplace_on_binary_outcome():
    # the 10-node fit must not fall back to Laplace: R's two fits differ by ~1e-2 in sigma
    lap, agq = cached("synth_binary", 1), cached("synth_binary", 10)
    assert abs(agq.sigma - lap.sigma) > 1e-3


def test_icc_and_median_odds_ratio_by_hand():
    res = cached("cbpp", 1)
    ref = PARAMS.filter((pl.col("dataset") == "cbpp") & (pl.col("nagq") == 1))
    s, se = ref["sigma"].item(), ref["se_sigma"].item()
    var = res.variance.to_dict(as_series=False)
    row = dict(zip(var["parameter"], range(4), strict=True))
    mor = np.exp(np.sqrt(2 * s**2) * 0.6744897501960817)  # Merlo 2006: exp(sqrt(2 s2) z_.75)
    np.testing.assert_allclose(res.median_ratio, mor, rtol=RTOL)
    np.testing.assert_allclose(res.icc, s**2 / (s**2 + np.pi**2 / 3), rtol=RTOL)
    lo, hi = s * np.exp(-1.959963984540054 * se / s), s * np.exp(1.959963984540054 * se / s)
    i = row["median_ratio"]
    np.testing.assert_allclose(var["conf_low"][i], np.exp(np.sqrt(2) * lo * 0.67448975), rtol=1e-4)
    np.testing.assert_allclose(var["conf_high"][i], np.exp(np.sqrt(2) * hi * 0.67448975), rtol=1e-4)
    assert var["conf_low"][row["sigma"]] < s < var["conf_high"][row["sigma"]]
    assert cached("grouseticks", 1).icc is None


def test_planted_variance_recovered():
    # 200 groups of 50, sigma = 0.5: the interval for sigma covers the planted value
    rng = np.random.default_rng(0)  # 20 seeds: 17 intervals cover 0.5
    g = np.repeat(np.arange(200), 50)
    x = rng.normal(size=g.size)
    lp = -1.0 + 0.4 * x + rng.normal(0, 0.5, 200)[g]
    d = pl.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-lp))), "x": x, "g": g})
    res = mixed_logistic(d, "y", ["x"], "g")
    s = res.variance.row(0, named=True)
    assert s["conf_low"] < 0.5 < s["conf_high"]
    b = res.table.row(1, named=True)
    assert b["conf_low"] < 0.4 < b["conf_high"]


def test_no_between_group_variation_gives_boundary_fit():
    d = pl.DataFrame({"y": [0, 1] * 20, "g": np.repeat(np.arange(10), 4)})
    res = mixed_logistic(d, "y", [], "g")
    assert res.at_boundary and res.sigma < 1e-6
    np.testing.assert_allclose(res.params[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(res.table["std_error"][0], np.sqrt(1 / (40 * 0.25)), rtol=1e-4)


def test_missing_rows_dropped_and_counted():
    d = DATA["synth_binary"].with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(None)
        .otherwise(pl.col("practice"))
        .alias("practice")
    )
    res = mixed_logistic(d, "home_death", ["cancer", "age"], "practice")
    assert res.n_dropped == 5 and res.n == d.height - 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nagq": 0}, "nagq must be between 1 and 25"),
        ({"nagq": 1.5}, "nagq must be an integer"),
        ({"conf_level": 1.0}, "conf_level"),
        ({"sigma_ci": "bootstrap"}, "sigma_ci must be 'wald' or 'profile'"),
        ({"trials": "size"}, "trials column 'size': 1 row"),
        ({"group": "nope"}, r"column\(s\) \['nope'\] not found"),
    ],
)
def test_bad_input_messages(kwargs, message):
    d = DATA["cbpp"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(1).otherwise(pl.col("size")).alias("size")
    )
    args = {"group": "herd", **kwargs}
    group = args.pop("group")
    with pytest.raises((ValueError, TypeError), match=message):
        mixed_logistic(d, "incidence", ["period"], group, **args)


def test_poisson_bad_exposure_and_both_offsets():
    d = DATA["synth_count"].with_columns(pl.lit(0.0).alias("zero"))
    with pytest.raises(ValueError, match="exposure column 'zero'"):
        mixed_poisson(d, "admissions", [], "municipality", exposure="zero")
    with pytest.raises(ValueError, match="not both"):
        mixed_poisson(d, "admissions", [], "municipality", exposure="pyears", offset="zero")
    with pytest.raises(ValueError, match="at least 2"):
        mixed_poisson(
            d.with_columns(pl.lit("m").alias("municipality")), "admissions", [], "municipality"
        )


def test_offset_is_the_log_of_exposure():
    d = DATA["synth_count"].with_columns(pl.col("pyears").log().alias("log_py"))
    a = mixed_poisson(d, "admissions", ["period"], "municipality", offset="log_py")
    np.testing.assert_allclose(a.params, cached("synth_count", 1).params, rtol=1e-8)


PROFILE = pl.read_csv(REF / "profile.csv")


@pytest.mark.parametrize(("ds", "nagq"), CASES)
def test_profile_interval_for_sigma_matches_r(ds, nagq):
    kw = {"sigma_ci": "profile"}
    d = DATA[ds]
    if ds == "cbpp":
        res = mixed_logistic(d, "incidence", ["period"], "herd", trials="size", nagq=nagq, **kw)
    elif ds == "grouseticks":
        res = mixed_poisson(d, "TICKS", ["YEAR", "cHEIGHT"], "LOCATION", nagq=nagq, **kw)
    elif ds == "synth_binary":
        res = mixed_logistic(d, "home_death", ["cancer", "age"], "practice", nagq=nagq, **kw)
    else:
        res = mixed_poisson(
            d, "admissions", ["period"], "municipality", exposure="pyears", nagq=nagq, **kw
        )
    ref = PROFILE.filter((pl.col("dataset") == ds) & (pl.col("nagq") == nagq)).row(0, named=True)
    got = res.variance.row(0, named=True)
    # R: roots of lme4's deviance function profiled over beta; and lme4's confint (splines)
    np.testing.assert_allclose([got["conf_low"], got["conf_high"]], [ref["lower"], ref["upper"]],
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(
        [got["conf_low"], got["conf_high"]], [ref["lme4_lower"], ref["lme4_upper"]], rtol=1e-4
    )
    mor = res.variance.row(-1, named=True)  # median_ratio
    k = np.sqrt(2) * 0.6744897501960817
    np.testing.assert_allclose(
        [mor["conf_low"], mor["conf_high"]],
        np.exp(k * np.array([ref["lower"], ref["upper"]])),
        rtol=1e-6,
    )


def test_many_small_groups_not_stuck_at_sigma_zero():
    # benchmarks/bench_mixed.py's data (seed 1), first 20,000 rows: ~10 per group, sigma 0.4.
    # sigma = 0 is a stationary point of every model (the likelihood is even in sigma); a
    # bound there once stopped the optimiser at 0 on these data
    rng = np.random.default_rng(1)
    n, groups = 900_000, 2000
    size = rng.lognormal(0, 0.6, groups)
    g = rng.choice(groups, size=n, p=size / size.sum())
    age = rng.normal(80, 9, n).round()
    sex = rng.choice(["F", "M"], n)
    cancer = rng.choice(["no", "yes"], n, p=[0.65, 0.35])
    region = rng.choice(["H", "M", "N", "S"], n)
    u = rng.normal(0, 0.4, groups)[g]
    lp = (-1.1 - 0.02 * (age - 80) + 0.1 * (sex == "M") + 0.8 * (cancer == "yes")
          + np.select([region == "M", region == "N"], [0.2, 0.3], 0.0) + u)  # fmt: skip
    y = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    d = pl.DataFrame(
        {"y": y, "age": age, "sex": sex, "cancer": cancer, "region": region, "g": g}
    ).head(20_000)
    res = mixed_logistic(d, "y", ["age", "sex", "cancer", "region"], "g")
    assert not res.at_boundary
    s = res.variance.row(0, named=True)
    assert s["conf_low"] < 0.4 < s["conf_high"]
