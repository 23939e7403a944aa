"""paleval.stats.inequality against R lm/glm + sandwich (tests/reference/inequality.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.inequality import (
    concentration_index,
    relative_index_of_inequality,
    ridit_scores,
    slope_index_of_inequality,
)

REF = Path(__file__).parent / "reference" / "inequality"
RES = pl.read_csv(REF / "results.csv")
IND = pl.read_csv(REF / "individual.csv", null_values="NA")
GRP = pl.read_csv(REF / "grouped.csv")
UNIQ = pl.read_csv(REF / "individual_unique_income.csv")
ORDER = ["Primary", "Lower secondary", "Upper secondary", "Short tertiary", "Long tertiary"]


def ref(dataset, variant, measure):
    r = RES.filter(
        (pl.col("dataset") == dataset)
        & (pl.col("variant") == variant)
        & (pl.col("measure") == measure)
    )
    assert r.height == 1
    return r["estimate"].item(), r["std_error"].item()


VARIANTS = {
    ("individual", "plain"): dict(data=IND, outcome="y"),
    ("individual", "age"): dict(data=IND, outcome="y", covariates=["age"]),
    ("individual", "cluster"): dict(data=IND, outcome="y", cluster="id"),
    ("individual", "weights"): dict(data=IND, outcome="y", weights="w"),
    ("grouped", "plain"): dict(data=GRP, events="events", n="n"),
    ("grouped", "ageband"): dict(data=GRP, events="events", n="n", covariates=["ageband"]),
}


@pytest.mark.parametrize(("dataset", "variant"), list(VARIANTS))
def test_sii_rii_match_r(dataset, variant):
    kw = VARIANTS[(dataset, variant)]
    sii = slope_index_of_inequality(ses="education", order=ORDER, **kw)
    est, se = ref(dataset, variant, "SII")
    np.testing.assert_allclose(sii["estimate"].item(), est, rtol=1e-6)
    np.testing.assert_allclose(sii["std_error"].item(), se, rtol=1e-6)
    for model in ["poisson", "logit"]:
        rii = relative_index_of_inequality(ses="education", order=ORDER, model=model, **kw)
        est, se = ref(dataset, variant, f"RII_{model}")
        np.testing.assert_allclose(np.log(rii["estimate"].item()), est, rtol=1e-5)
        np.testing.assert_allclose(rii["std_error"].item(), se, rtol=1e-5)
        lo = np.exp(est - 1.959963984540054 * se)
        np.testing.assert_allclose(rii["conf_low"].item(), lo, rtol=1e-5)


def test_output_counts():
    sii = slope_index_of_inequality(IND, "education", "y", order=ORDER, cluster="id")
    assert sii["n_dropped"].item() == 2 and sii["n"].item() == IND.height - 2
    assert sii["n_clusters"].item() == 30 and sii["vcov_type"].item() == "CL-HC0"
    assert sii["events"].item() == IND.drop_nulls()["y"].sum()
    g = slope_index_of_inequality(GRP, "education", events="events", n="n", order=ORDER)
    assert g["n"].item() == GRP["n"].sum() and g["n_categories"].item() == 5


def test_ridits():
    r = pl.read_csv(REF / "ridits_grouped.csv")
    out = ridit_scores(GRP, "education", n="n", order=ORDER)
    assert out["category"].to_list() == ORDER
    np.testing.assert_allclose(out["ridit"], r["ridit"], rtol=1e-12)
    enum = GRP.with_columns(pl.col("education").cast(pl.Enum(ORDER)))
    np.testing.assert_allclose(ridit_scores(enum, "education", n="n")["ridit"], r["ridit"])


@pytest.mark.parametrize(
    ("dataset", "variant", "ses", "outcome"),
    [
        ("individual", "income_visits", "income", "visits"),
        ("individual", "income_y", "income", "y"),
        ("individual", "education_y", "education", "y"),
        ("individual", "education_visits", "education", "visits"),
        ("grouped", "plain", "education", None),
    ],
)
def test_concentration_index_matches_r(dataset, variant, ses, outcome):
    est, se = ref(dataset, variant, "C")
    if dataset == "grouped":
        out = concentration_index(GRP, "education", events="events", n="n", order=ORDER)
    elif ses == "income":
        out = concentration_index(UNIQ, "income", outcome)
    else:
        out = concentration_index(IND, "education", outcome, order=ORDER)
    np.testing.assert_allclose(out["estimate"].item(), est, rtol=1e-6)
    np.testing.assert_allclose(out["std_error"].item(), se, rtol=1e-6)


def test_validation():
    with pytest.raises(ValueError, match="give `order`"):
        slope_index_of_inequality(IND, "education", "y")
    with pytest.raises(ValueError, match="'education': 1 value"):
        slope_index_of_inequality(IND, "education", "y", order=ORDER[:-1])
    with pytest.raises(ValueError, match="either `outcome`"):
        slope_index_of_inequality(GRP, "education", "y", events="events", n="n", order=ORDER)
    bad = GRP.with_columns(
        pl.when(pl.col("n") < 20).then(500).otherwise(pl.col("events")).alias("events")
    )
    with pytest.raises(ValueError, match="'events': 2 row"):
        slope_index_of_inequality(bad, "education", events="events", n="n", order=ORDER)
    with pytest.raises(ValueError, match=r"'visits': .* not 0 or 1"):
        relative_index_of_inequality(IND, "education", "visits", order=ORDER)
    with pytest.raises(ValueError, match="model must be"):
        relative_index_of_inequality(IND, "education", "y", order=ORDER, model="probit")
    zero = GRP.with_columns(pl.lit(0).alias("events"))
    with pytest.raises(ValueError, match="mean is 0"):
        concentration_index(zero, "education", events="events", n="n", order=ORDER)
    with pytest.raises(ValueError, match="fewer than 2"):
        concentration_index(
            GRP.filter(pl.col("education") == "Primary"),
            "education",
            events="events",
            n="n",
            order=ORDER,
        )
