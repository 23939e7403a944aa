"""paleval.stats.regression against R glm/sandwich/nnet (tests/reference/regression.R)."""

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.regression import (
    ConvergenceError,
    RegressionResult,
    glm,
    log_binomial,
    logistic,
    marginal_risks,
    modified_poisson,
    multinomial,
)

REF = Path(__file__).parent / "reference" / "regression"
COEFS = pl.read_csv(REF / "coefs.csv")
MARG = pl.read_csv(REF / "marginal.csv")
RTOL = 1e-4  # iterative fits


def load(ds: int) -> pl.DataFrame:
    return pl.read_csv(REF / f"data{ds}.csv", null_values="NA")


DATA = {1: load(1), 2: load(2)}
EXPO = ["spc"]
COV = ["education", "age", "sex"]
REFLEV = {"education": "Upper secondary"}

VARIANTS = {
    "model": {},
    "HC0": {"robust": True},
    "CL": {"cluster": "id"},
    "weights_model": {"weights": "w"},
    "weights_prior_HC0": {"weights": "w", "weight_type": "prior", "robust": True},
    "weights_CL": {"weights": "w", "cluster": "id"},
    "weights_frequency_HC0": {"weights": "w", "robust": True},
}
FUNS = {
    "logistic": logistic,
    "modified_poisson": modified_poisson,
    "log_binomial": log_binomial,
    "multinomial": multinomial,
}


def r_name(term: str) -> str:
    return re.sub(r"\[(.*?)\]", r"\1", term)


def fit(model: str, ds: int, variant: str) -> RegressionResult:
    kw = dict(VARIANTS[variant])
    if model == "modified_poisson":
        kw.pop("robust", None)
    if model == "multinomial":
        cov = COV if ds == 1 else ["age", "sex"]  # data set 2: empty home x Tertiary cell
        return multinomial(
            DATA[ds],
            "place",
            EXPO,
            cov,
            outcome_reference="hospital",
            reference=REFLEV if ds == 1 else None,
            **kw,
        )
    return FUNS[model](DATA[ds], "home_death", EXPO, COV, reference=REFLEV, **kw)


CASES = COEFS.select("dataset", "model", "variant").unique(maintain_order=True).rows()


@pytest.mark.parametrize(("ds", "model", "variant"), CASES)
def test_matches_r(ds, model, variant):
    ref = COEFS.filter(
        (pl.col("dataset") == ds) & (pl.col("model") == model) & (pl.col("variant") == variant)
    )
    res = fit(model, ds, variant)
    got = pl.DataFrame(
        {
            "term": [r_name(t) for t in res.terms],
            "est": res.params,
            "se": np.sqrt(np.diag(res.vcov)),
        }
    )
    j = ref.join(got, on="term", how="left")
    assert j["est"].null_count() == 0 and j.height == len(res.terms)
    np.testing.assert_allclose(j["est"], j["estimate"], rtol=RTOL, atol=1e-8)
    np.testing.assert_allclose(j["se"], j["std_error"], rtol=RTOL)
    # table is consistent with params/vcov
    np.testing.assert_allclose(res.table["estimate"], res.params)
    np.testing.assert_allclose(res.table["ratio"], np.exp(res.params))


def test_result_metadata():
    d = DATA[1]
    res = logistic(d, "home_death", EXPO, COV, cluster="id", reference=REFLEV)
    n_missing = d.filter(pl.col("age").is_null() | pl.col("education").is_null()).height
    assert res.n_dropped == n_missing > 0
    assert res.nobs == res.n == d.height - n_missing
    assert res.n_events == d.drop_nulls(["age", "education"])["home_death"].sum()
    assert res.n_clusters == 30 and res.vcov_type == "CL-HC0" and res.measure == "OR"
    assert res.table.columns[:12] == [
        "term",
        "variable",
        "level",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
        "ratio",
        "ratio_low",
        "ratio_high",
    ]
    row = res.table.filter(pl.col("term") == "spc[yes]")
    sub = d.drop_nulls(["age", "education"]).filter(pl.col("spc") == "yes")
    assert row["n"].item() == sub.height and row["events"].item() == sub["home_death"].sum()
    assert "dropped" in res.summary() and "<RegressionResult" in repr(res)
    assert "<table" in res._repr_html_()
    np.testing.assert_allclose(
        res.table["ratio_low"],
        np.exp(res.table["estimate"] - 1.959963984540054 * res.table["std_error"]),
    )
    w = logistic(d, "home_death", EXPO, COV, weights="w")
    assert w.n == d.drop_nulls(["age", "education"])["w"].sum()
    assert modified_poisson(d, "home_death", EXPO).measure == "PR"


def test_plot():
    import matplotlib

    matplotlib.use("Agg")
    res = modified_poisson(DATA[1], "home_death", EXPO, COV)
    ax = res.plot()
    assert len(ax.get_yticklabels()) == len(res.terms) - 1
    m = multinomial(DATA[1], "place", EXPO, ["age"], outcome_reference="hospital")
    assert m.plot() is not None


@pytest.mark.parametrize("ds", [1, 2])
@pytest.mark.parametrize("model", ["logistic", "modified_poisson", "modified_poisson_CL"])
def test_marginal_risks_match_r(ds, model):
    kw = {"cluster": "id"} if model.endswith("_CL") else {}
    f = logistic if model == "logistic" else modified_poisson
    res = f(DATA[ds], "home_death", EXPO, COV, reference=REFLEV, **kw)
    ref = MARG.filter((pl.col("dataset") == ds) & (pl.col("model") == model))
    for expo in ref["exposure"].unique().to_list():
        r = ref.filter(pl.col("exposure") == expo)
        out = marginal_risks(res, expo)
        j = r.join(out, on=["level", "contrast"], how="left", suffix="_py")
        assert j["estimate_py"].null_count() == 0 and out.height == r.height
        np.testing.assert_allclose(j["estimate_py"], j["estimate"], rtol=1e-6)
        # R uses a numeric (central-difference) gradient
        np.testing.assert_allclose(j["std_error_py"], j["std_error"], rtol=1e-5)


def test_marginal_risks_numeric_and_validation():
    d = DATA[1].with_columns((pl.col("spc") == "yes").cast(pl.Int64).alias("spc01"))
    a = marginal_risks(logistic(d, "home_death", ["spc01"], COV), "spc01")
    b = marginal_risks(logistic(d, "home_death", ["spc"], COV), "spc")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-8)
    res = logistic(d, "home_death", ["age"])
    with pytest.raises(ValueError, match="give `levels`"):
        marginal_risks(res, "age")
    assert marginal_risks(res, "age", levels=[70, 80, 90]).height == 7
    with pytest.raises(ValueError, match="not a predictor"):
        marginal_risks(res, "spc")
    m = multinomial(d, "place", ["spc"])
    with pytest.raises(ValueError, match="needs a logistic"):
        marginal_risks(m, "spc")


def test_validation_errors():
    d = DATA[1]
    bad = d.with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(2)
        .otherwise(pl.col("home_death"))
        .alias("home_death")
    )
    with pytest.raises(ValueError, match=r"'home_death': 3 row\(s\) are not 0 or 1"):
        logistic(bad, "home_death", EXPO)
    with pytest.raises(ValueError, match=r"\['nope'\] not found"):
        logistic(d, "home_death", ["nope"])
    with pytest.raises(ValueError, match="reference level 'PhD' not found in column 'education'"):
        logistic(d, "home_death", ["education"], reference={"education": "PhD"})
    negw = d.with_columns(pl.when(pl.col("id") == "c01").then(-1).otherwise(pl.col("w")).alias("w"))
    k = d.filter(pl.col("id") == "c01").height
    with pytest.raises(ValueError, match=f"'w': {k} row"):
        logistic(negw, "home_death", EXPO, weights="w")
    with pytest.raises(ValueError, match="rank deficient"):
        logistic(d.with_columns(pl.col("age").alias("age2")), "home_death", ["age", "age2"])
    with pytest.raises(ValueError, match="must be 0/1"):
        logistic(d, "place", EXPO)
    with pytest.raises(ValueError, match="outcome_reference"):
        multinomial(d, "place", EXPO, outcome_reference="hospice2")


def test_zero_and_all_events():
    d = DATA[2].with_columns(pl.lit(0).alias("y0"), pl.lit(1).alias("y1"))
    with pytest.raises(ValueError, match="all 68 analysed rows are 0"):
        logistic(d, "y0", EXPO)
    with pytest.raises(ValueError, match="are 1"):
        modified_poisson(d, "y1", EXPO)
    # a level with no events: quasi-complete separation
    sep = d.with_columns(
        pl.when(pl.col("education") == "Tertiary")
        .then(0)
        .otherwise(pl.col("home_death"))
        .alias("home_death")
    )
    with pytest.raises(ConvergenceError, match="separation"):
        logistic(sep, "home_death", ["education"])
    with pytest.raises(ConvergenceError, match="separation"):
        multinomial(DATA[2], "place", ["education"])


def test_log_binomial_failure_and_fallback():
    x = np.linspace(0, 1, 60)
    y = (x > 0.5).astype(int)
    y[[3, 10, 20]] = 1
    d = pl.DataFrame({"y": y, "x": x})
    with pytest.raises(ConvergenceError, match="log-binomial"):
        log_binomial(d, "y", ["x"])
    res = log_binomial(d, "y", ["x"], fallback=True)
    assert res.measure == "PR" and "fallback" in res.model


def test_missing_rows_dropped_and_reported():
    d = DATA[2]
    res = multinomial(d, "place", EXPO, ["age", "sex"], outcome_reference="hospital")
    assert res.n_dropped == d.filter(pl.col("age").is_null()).height > 0
    assert sum(res.n_events.values()) == res.n == d.height - res.n_dropped
    f = d.with_columns(pl.col("age").cast(pl.Float64))
    f = f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(float("nan"))
        .otherwise(pl.col("age"))
        .alias("age")
    )
    r2 = logistic(f, "home_death", ["age"])
    assert r2.n_dropped == f.filter(pl.col("age").is_nan() | pl.col("age").is_null()).height


def test_enum_categorical_boolean_coding():
    d = DATA[1]
    base = logistic(d, "home_death", EXPO, COV, reference=REFLEV)
    enum = d.with_columns(
        pl.col("education").cast(pl.Enum(["Upper secondary", "Lower secondary", "Tertiary"])),
        pl.col("spc").cast(pl.Categorical),
        (pl.col("home_death") == 1).alias("home_death"),
    )
    res = logistic(enum, "home_death", EXPO, COV)  # Enum order gives the reference level
    assert res.terms == base.terms
    np.testing.assert_allclose(res.params, base.params, rtol=1e-10)
    np.testing.assert_allclose(res.vcov, base.vcov, rtol=1e-10)
    sorted_ref = logistic(d, "home_death", EXPO, COV)
    assert "education[Upper secondary]" in sorted_ref.terms  # default: first sorted level
    m = multinomial(
        d.with_columns(
            pl.col("place").cast(pl.Enum(["hospital", "home", "nursing home", "hospice"]))
        ),
        "place",
        EXPO,
        ["age"],
    )
    assert m.table["y_level"].unique(maintain_order=True).to_list() == [
        "home",
        "nursing home",
        "hospice",
    ]
    assert (
        m.n_events["hospital"] == d.drop_nulls("age").filter(pl.col("place") == "hospital").height
    )


def test_conf_level_and_unused_enum_level():
    d = DATA[2].with_columns(
        pl.col("spc").cast(pl.Enum(["never", "no", "yes"]))
    )  # "never" is unused
    r90 = logistic(d, "home_death", EXPO, conf_level=0.90)
    assert r90.terms == ["(Intercept)", "spc[yes]"]
    z = 1.6448536269514722
    np.testing.assert_allclose(
        r90.table["conf_high"], r90.table["estimate"] + z * r90.table["std_error"]
    )
    with pytest.raises(ValueError, match="conf_level"):
        logistic(d, "home_death", EXPO, conf_level=95)


def test_multinomial_uncentred_covariate_is_not_separation():
    rng = np.random.default_rng(3)
    n = 3000
    year = rng.integers(2010, 2025, n)
    eta1 = -0.5 + 0.05 * (year - 2010)
    eta2 = 0.3 - 0.04 * (year - 2010)
    p = np.exp(np.c_[np.zeros(n), eta1, eta2])
    p /= p.sum(axis=1, keepdims=True)
    place = np.array(["hospital", "home", "nursing"])[
        (rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    ]
    d = pl.DataFrame({"place": place, "year": year, "year0": year - 2010})
    raw = multinomial(d, "place", [], ["year"], outcome_reference="hospital")
    centred = multinomial(d, "place", [], ["year0"], outcome_reference="hospital")
    a = raw.table.filter(pl.col("term") == "year")["estimate"].to_numpy()
    b = centred.table.filter(pl.col("term") == "year0")["estimate"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_irls_step_solver_normal_equations_and_svd_fallback() -> None:
    from paleval.stats._glm import weighted_lstsq as _weighted_lstsq

    rng = np.random.default_rng(3)
    n = 5000
    a = np.column_stack([np.ones(n), rng.random(n) < 0.3, rng.normal(size=n)])
    b = rng.normal(size=n)
    svd = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(_weighted_lstsq(a, b), svd, rtol=1e-9)
    # collinear columns: a'a is singular, the SVD route gives the minimum-norm solution
    twin = np.column_stack([a, a[:, 1]])
    np.testing.assert_allclose(
        _weighted_lstsq(twin, b), np.linalg.lstsq(twin, b, rcond=None)[0], rtol=1e-9
    )


# ------------------------------------------------------------------ glm: the shared core
def test_glm_specialises_to_the_named_models_and_ols() -> None:
    rng = np.random.default_rng(7)
    n = 400
    d = pl.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "g": rng.choice(["a", "b", "c"], n),
            "x": rng.normal(size=n),
            "cl": rng.integers(0, 30, n),
        }
    )
    a = logistic(d, "y", ["g"], ["x"], cluster="cl")
    b = glm(d, "y", ["g"], ["x"], family="binomial", cluster="cl")
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.vcov, b.vcov)
    p = modified_poisson(d, "y", ["g"], ["x"])
    q = glm(d, "y", ["g"], ["x"], family="poisson", robust=True)
    np.testing.assert_array_equal(p.params, q.params)
    np.testing.assert_array_equal(p.vcov, q.vcov)
    # gaussian: ordinary least squares, checked against numpy's solver (independent code)
    yc = rng.normal(size=n) + 2 * d["x"].to_numpy()
    dc = d.with_columns(yc=pl.Series(yc))
    r = glm(dc, "yc", ["g"], ["x"], family="gaussian")
    X = np.column_stack([np.ones(n), d["g"] == "b", d["g"] == "c", d["x"].to_numpy()]).astype(float)
    beta, *_ = np.linalg.lstsq(X, yc, rcond=None)
    np.testing.assert_allclose(r.params, beta, rtol=1e-10)
    resid = yc - X @ beta
    sigma2 = resid @ resid / (n - 4)
    np.testing.assert_allclose(r.vcov, sigma2 * np.linalg.inv(X.T @ X), rtol=1e-8)
    # Poisson takes counts, which the binary models refuse
    counts = dc.with_columns(k=pl.Series(rng.poisson(np.exp(0.3 * d["x"].to_numpy()))))
    k = glm(counts, "k", ["x"], family="poisson")
    assert k.measure == "RR" and abs(k.params[1] - 0.3) < 0.15


def test_glm_refuses_unknown_families_links_and_negative_counts() -> None:
    d = pl.DataFrame({"y": [0, 1, 2, -1], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="family must be one of"):
        glm(d, "y", ["x"], family="gamma")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="takes link log"):
        glm(d, "y", ["x"], family="poisson", link="identity")
    with pytest.raises(ValueError, match="1 row\\(s\\) negative or not finite"):
        glm(d, "y", ["x"], family="poisson")


def test_irls_that_runs_off_is_a_convergence_error_not_a_lapack_failure() -> None:
    # A linear predictor where the working weights overflow (as a mutually adjusted modified
    # Poisson model on the tiny synthetic cohort reached): before, numpy's SVD failed with
    # LinAlgError ("SVD did not converge"), a traceback that fit_or_note could not catch.
    from paleval.stats._glm import Family, irls

    X = np.ones((6, 1))
    y = np.array([0, 1, 0, 1, 1, 0.0])
    with pytest.raises(ConvergenceError, match="IRLS diverged"):
        irls(X, y, np.ones(6), Family("poisson", "log"), start=np.array([700.0]))


def test_intercept_only_model_has_one_row_per_observation() -> None:
    """An intercept-only design is a column of ones as long as the data (it was one row)."""
    d = pl.DataFrame({"y": [1, 0, 0, 1, 1, 1, 0, 1]})
    res = logistic(d, "y", [])
    assert res.nobs == 8
    assert res.params[0] == pytest.approx(np.log(5 / 3), rel=1e-9)
