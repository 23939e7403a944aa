"""Tests of paleval.stats.survival (Kaplan-Meier, Cox) against R survival 3.5.

Reference numbers: tests/reference/competing_risks.R -> tests/reference/competing_risks/.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest

from paleval.stats.survival import CoxResult, KaplanMeierResult, cox, kaplan_meier

matplotlib.use("Agg")

REF = Path(__file__).parent / "reference" / "competing_risks"
DATASETS = ["ties", "ordinary", "edge"]
COVARIATES = {"ties": ["x1", "x2"], "ordinary": ["age", "sex", "score", "stage"], "edge": ["x1"]}
CLOSED = {"rtol": 1e-6, "atol": 0.0}
ITER = {"rtol": 1e-4, "atol": 0.0}


@pytest.fixture(scope="module")
def data() -> dict[str, pl.DataFrame]:
    return {k: pl.read_csv(REF / f"data_{k}.csv") for k in DATASETS}


# ------------------------------------------------------------------ Kaplan-Meier
def r_terms(res) -> list[str]:
    """Our terms as R's model.matrix names them (``columnlevel``), built from the table's
    ``variable`` and ``level`` columns (which this also checks)."""
    tb = res.table
    return tb.select(pl.concat_str("variable", pl.col("level").fill_null("")))[:, 0].to_list()


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("by", ["all", "group"])
def test_kaplan_meier_matches_survfit(data, ds, by):
    ref = pl.read_csv(REF / "kaplan_meier.csv").filter(pl.col("dataset") == ds)
    ref = (
        ref.filter(pl.col("group") == "all")
        if by == "all"
        else ref.filter(pl.col("group") != "all")
    )
    d = data[ds]
    ev = (d["status"] > 0).cast(pl.Int64)
    group = None if by == "all" else d["group"]
    res = kaplan_meier(d["time"], ev, group)
    tb = res.table
    assert tb.height == ref.height
    for col in ["time", "n_risk", "n_event", "n_censor"]:
        np.testing.assert_array_equal(tb[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    for col in ["estimate", "std_error", "conf_low", "conf_high"]:
        np.testing.assert_allclose(
            tb[col].to_numpy(), ref[col].to_numpy().astype(float), **CLOSED, err_msg=col
        )
    for ct, suffix in [("log-log", "loglog"), ("plain", "plain")]:
        other = kaplan_meier(d["time"], ev, group, conf_type=ct).table  # type: ignore[arg-type]
        for side in ["low", "high"]:
            np.testing.assert_allclose(
                other[f"conf_{side}"].to_numpy(),
                ref[f"conf_{side}_{suffix}"].to_numpy().astype(float),
                **CLOSED,
                err_msg=f"{ct} {side}",
            )


def test_kaplan_meier_rejects_competing_codes():
    with pytest.raises(ValueError, match=r"codes > 1 in 1 row\(s\), e.g. at index 2"):
        kaplan_meier([1, 2, 3], [1, 0, 2])


def test_kaplan_meier_edge_cases():
    res = kaplan_meier([1, 2, 3], [0, 0, 0])
    assert res.table["estimate"].to_list() == [1.0, 1.0, 1.0]
    assert res.table["std_error"].to_list() == [0.0, 0.0, 0.0]
    res = kaplan_meier([0, 0, 1, 2], [True, False, True, False])
    assert res.table["time"].to_list() == [0.0, 1.0, 2.0]
    assert res.table["estimate"][0] == pytest.approx(0.75)
    at = res.at([-1.0, 0.0, 0.5, 5.0])
    assert at["estimate"].to_list() == pytest.approx([1.0, 0.75, 0.75, 0.375])
    assert at["n_risk"].to_list() == [4, 4, 2, 0]


def test_kaplan_meier_result_api(data):
    import matplotlib.pyplot as plt

    d = data["ties"]
    res = kaplan_meier("time", (d["status"] > 0).cast(pl.Int64), "group", data=d)
    assert isinstance(res, KaplanMeierResult)
    assert "Kaplan-Meier" in repr(res)
    assert res._repr_html_()
    ax = res.plot()
    assert len(ax.get_lines()) == 3
    plt.close("all")


# --------------------------------------------------------------------------- Cox
def _cox_models():
    ref = pl.read_csv(REF / "cox.csv")
    keys = ref.select("dataset", "model").unique(maintain_order=True).rows()
    return [k for k in keys if k[1].startswith("any")]


@pytest.mark.parametrize(("ds", "model"), _cox_models())
def test_cox_matches_coxph(data, ds, model):
    ref = pl.read_csv(REF / "cox.csv").filter(
        (pl.col("dataset") == ds) & (pl.col("model") == model)
    )
    d = data[ds]
    ties = model.rsplit("_", 1)[1]
    kw: dict = {}
    if "strata" in model:
        kw["strata"] = d["group"]
    if "cluster" in model:
        kw["cluster"] = d["cluster"]
    if "robust" in model:
        kw["robust"] = True
    ev = (d["status"] > 0).cast(pl.Int64)
    res = cox(d["time"], ev, d.select(COVARIATES[ds]), ties=ties, **kw)
    assert isinstance(res, CoxResult)
    assert res.converged
    assert r_terms(res) == ref["term"].to_list()
    np.testing.assert_allclose(res.params, ref["estimate"].to_numpy(), **ITER)
    np.testing.assert_allclose(
        np.sqrt(np.diag(res.vcov_naive)), ref["std_error"].to_numpy(), **ITER
    )
    if ref["robust_se"].null_count() == 0:
        assert res.robust
        np.testing.assert_allclose(res.std_errors, ref["robust_se"].to_numpy(), **ITER)
    else:
        np.testing.assert_allclose(res.std_errors, ref["std_error"].to_numpy(), **ITER)
    assert res.loglik == pytest.approx(ref["loglik"][0], rel=1e-6)
    assert res.loglik_null == pytest.approx(ref["loglik_null"][0], rel=1e-6)


def test_cox_breslow_equals_efron_without_ties():
    rng = np.random.default_rng(5)
    t = rng.exponential(size=200)
    e = rng.integers(0, 2, size=200)
    x = rng.normal(size=(200, 2))
    a = cox(t, e, x, ties="breslow")
    b = cox(t, e, x, ties="efron")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)


def test_cox_table_summary_and_validation(data):
    d = data["ordinary"]
    res = cox("time", (d["status"] > 0).cast(pl.Int64), ["age", "stage"], data=d)
    tb = res.table
    assert tb["term"].to_list() == ["age", "stage[II]", "stage[III]"]
    assert tb["variable"].to_list() == ["age", "stage", "stage"]
    assert tb["level"].to_list() == [None, "II", "III"]
    z = tb["estimate"] / tb["std_error"]
    np.testing.assert_allclose(tb["statistic"].to_numpy(), z.to_numpy(), rtol=1e-12)
    assert "Cox proportional hazards" in res.summary()
    assert "LR chi2" in repr(res)
    with pytest.raises(ValueError, match="no events"):
        cox([1, 2, 3], [0, 0, 0], [[1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="cause_specific_cox"):
        cox([1, 2, 3], [1, 2, 0], [[1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="ties"):
        cox([1, 2, 3], [1, 1, 0], [[1.0], [2.0], [3.0]], ties="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`strata` has 2 rows"):
        cox([1, 2, 3], [1, 1, 0], [[1.0], [2.0], [3.0]], strata=["a", "b"])
