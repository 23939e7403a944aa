"""Tests of paleval.stats.competing against R (survival 3.5, cmprsk 2.2).

Reference numbers: tests/reference/competing_risks.R -> tests/reference/competing_risks/.
Tolerances: 1e-6 relative for closed-form estimators, 1e-4 for iterative fits.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest

from paleval.stats.competing import (
    AalenJohansenResult,
    FineGrayResult,
    GrayTestResult,
    aalen_johansen,
    cause_specific_cox,
    fine_gray,
    gray_test,
)

matplotlib.use("Agg")

REF = Path(__file__).parent / "reference" / "competing_risks"
DATASETS = ["ties", "ordinary", "edge"]
COVARIATES = {"ties": ["x1", "x2"], "ordinary": ["age", "sex", "score", "stage"], "edge": ["x1"]}
CLOSED = {"rtol": 1e-6, "atol": 0.0}
ITER = {"rtol": 1e-4, "atol": 0.0}


@pytest.fixture(scope="module")
def data() -> dict[str, pl.DataFrame]:
    return {k: pl.read_csv(REF / f"data_{k}.csv") for k in DATASETS}


@pytest.fixture(scope="module")
def aj_ref() -> pl.DataFrame:
    return pl.read_csv(REF / "aalen_johansen.csv")


def _ref_curve(aj_ref: pl.DataFrame, ds: str, by: str, cause: int) -> pl.DataFrame:
    ref = aj_ref.filter((pl.col("dataset") == ds) & (pl.col("cause") == cause))
    return (
        ref.filter(pl.col("group") == "all")
        if by == "all"
        else ref.filter(pl.col("group") != "all")
    )


# ----------------------------------------------------------------- Aalen-Johansen
def r_terms(res) -> list[str]:
    """Our terms as R's model.matrix names them (``columnlevel``), built from the table's
    ``variable`` and ``level`` columns (which this also checks)."""
    tb = res.table
    return tb.select(pl.concat_str("variable", pl.col("level").fill_null("")))[:, 0].to_list()


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("by", ["all", "group"])
@pytest.mark.parametrize("cause", [1, 2])
def test_aalen_johansen_matches_r(data, aj_ref, ds, by, cause):
    d = data[ds]
    res = aalen_johansen(
        d["time"], d["status"], cause=cause, group=None if by == "all" else d["group"]
    )
    ref = _ref_curve(aj_ref, ds, by, cause)
    tb = res.table
    assert tb.columns == [
        "group",
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
    ]
    assert tb.height == ref.height
    assert tb["group"].cast(pl.String).to_list() == ref["group"].cast(pl.String).to_list()
    for col in ["time", "n_risk", "n_event", "n_censor"]:
        np.testing.assert_array_equal(tb[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    for col in ["estimate", "std_error", "conf_low", "conf_high"]:
        np.testing.assert_allclose(
            tb[col].to_numpy(), ref[col].to_numpy().astype(float), **CLOSED, err_msg=col
        )


def test_ties_data_has_last_time_with_both_causes_and_censoring(data):
    d = data["ties"]
    last = d.filter(pl.col("time") == d["time"].max())
    assert {0, 1, 2} <= set(last["status"].to_list())


def test_aalen_johansen_at_is_right_continuous_step(data, aj_ref):
    d = data["ties"]
    res = aalen_johansen(d["time"], d["status"], cause=1)
    ref = _ref_curve(aj_ref, "ties", "all", 1)
    times = ref["time"].to_numpy()
    at = res.at(times)
    np.testing.assert_allclose(at["estimate"].to_numpy(), ref["estimate"].to_numpy(), **CLOSED)
    np.testing.assert_allclose(at["std_error"].to_numpy(), ref["std_error"].to_numpy(), **CLOSED)
    # just before each time: the previous value; before the first time: 0
    before = res.at(times - 0.5)
    expected = np.concatenate([[0.0], ref["estimate"].to_numpy()[:-1]])
    np.testing.assert_allclose(before["estimate"].to_numpy(), expected, **CLOSED)
    # after the last time: stays at the last value; n_risk 0
    after = res.at([1e6])
    assert after["estimate"][0] == pytest.approx(ref["estimate"][-1], rel=1e-12)
    assert after["n_risk"][0] == 0
    # n_risk at a time = number with time >= t
    assert res.at([3.0])["n_risk"][0] == int((d["time"] >= 3).sum())
    assert at.columns == [
        "group",
        "time",
        "n_risk",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
    ]


def test_aalen_johansen_at_by_group(data):
    d = data["ordinary"]
    res = aalen_johansen(d["time"], d["status"], cause=2, group=d["group"])
    at = res.at([0.0, 50.0, 100.0])
    assert at.height == 9
    assert sorted(set(at["group"].to_list())) == ["home", "hospice", "hospital"]
    for g in ["home", "hospice", "hospital"]:
        sub = res.table.filter((pl.col("group") == g) & (pl.col("time") <= 50.0))
        val = at.filter((pl.col("group") == g) & (pl.col("time") == 50.0))["estimate"][0]
        assert val == pytest.approx(sub["estimate"][-1], rel=1e-12)


def test_aalen_johansen_dataframe_interface_and_lists(data):
    d = data["ties"]
    a = aalen_johansen("time", "status", cause=2, group="group", data=d)
    b = aalen_johansen(d["time"].to_list(), d["status"].to_list(), 2, d["group"].to_numpy())
    assert a.table.equals(b.table)


def test_aalen_johansen_deterministic_under_row_permutation(data):
    d = data["ordinary"]
    perm = np.random.default_rng(3).permutation(d.height)
    dp = d[perm]
    a = aalen_johansen(d["time"], d["status"], group=d["group"]).table
    b = aalen_johansen(dp["time"], dp["status"], group=dp["group"]).table
    for col in ["time", "n_risk", "n_event", "n_censor"]:
        assert a[col].to_list() == b[col].to_list()
    np.testing.assert_allclose(a["estimate"].to_numpy(), b["estimate"].to_numpy(), rtol=1e-13)
    np.testing.assert_allclose(a["std_error"].to_numpy(), b["std_error"].to_numpy(), rtol=1e-10)


def test_aalen_johansen_cif_sum_equals_one_minus_km(data):
    d = data["ordinary"]
    f1 = aalen_johansen(d["time"], d["status"], cause=1).table["estimate"].to_numpy()
    f2 = aalen_johansen(d["time"], d["status"], cause=2).table["estimate"].to_numpy()
    from paleval.stats.survival import kaplan_meier

    km = kaplan_meier(d["time"], (d["status"] > 0).cast(pl.Int64)).table["estimate"].to_numpy()
    np.testing.assert_allclose(f1 + f2, 1 - km, rtol=1e-12, atol=1e-14)


def test_aalen_johansen_all_censored():
    res = aalen_johansen([1, 2, 3, 3], [0, 0, 0, 0])
    tb = res.table
    assert tb["estimate"].to_list() == [0.0, 0.0, 0.0]
    assert tb["std_error"].to_list() == [0.0, 0.0, 0.0]
    assert tb["conf_low"].is_nan().all()


def test_aalen_johansen_no_events_of_cause():
    res = aalen_johansen([1, 2, 3, 4], [2, 0, 2, 1], cause=3)
    assert (res.table["estimate"] == 0).all()
    assert res.table["n_event"].sum() == 0


def test_aalen_johansen_times_at_zero():
    res = aalen_johansen([0, 0, 0, 1, 2], [1, 2, 0, 1, 0], cause=1)
    tb = res.table
    assert tb["time"].to_list() == [0.0, 1.0, 2.0]
    assert tb["estimate"][0] == pytest.approx(1 / 5)
    # everybody still at risk at 1: two remaining, one event of cause 1
    assert tb["estimate"][1] == pytest.approx(1 / 5 + (3 / 5) * (1 / 2))


def test_aalen_johansen_conf_types_and_level(data):
    d = data["ties"]
    r95 = aalen_johansen(d["time"], d["status"]).table
    r80 = aalen_johansen(d["time"], d["status"], conf_level=0.8).table
    ok = r95["estimate"].to_numpy() > 0
    assert (r80["conf_low"].to_numpy()[ok] > r95["conf_low"].to_numpy()[ok]).all()
    plain = aalen_johansen(d["time"], d["status"], conf_type="plain").table
    z = 1.959963984540054
    np.testing.assert_allclose(
        plain["conf_high"].to_numpy(),
        np.minimum(plain["estimate"].to_numpy() + z * plain["std_error"].to_numpy(), 1),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="conf_type"):
        aalen_johansen(d["time"], d["status"], conf_type="logit")  # type: ignore[arg-type]


def test_aalen_johansen_result_repr_and_plot(data):
    import matplotlib.pyplot as plt

    d = data["ties"]
    res = aalen_johansen(d["time"], d["status"], group=d["group"])
    assert isinstance(res, AalenJohansenResult)
    text = repr(res)
    assert "Aalen-Johansen" in text and "group=A" in text
    assert "<table" in res._repr_html_() or "<div" in res._repr_html_()
    ax = res.plot()
    assert len(ax.get_lines()) == 3
    plt.close("all")


# -------------------------------------------------------------------- Gray's test
def test_gray_test_matches_r(data):
    ref = pl.read_csv(REF / "gray_test.csv")
    for row in ref.iter_rows(named=True):
        d = data[row["dataset"]]
        strata = None if row["strata"] == "none" else d[row["strata"]]
        res = gray_test(d["time"], d["status"], d["group"], rho=row["rho"], strata=strata)
        got = res.table.filter(pl.col("cause") == row["cause"])
        assert got["statistic"][0] == pytest.approx(row["statistic"], rel=1e-6)
        assert got["p_value"][0] == pytest.approx(row["p_value"], rel=1e-6)
        assert got["df"][0] == row["df"]


def test_gray_test_result_api(data):
    d = data["ordinary"]
    res = gray_test("time", "status", "group", data=d)
    assert isinstance(res, GrayTestResult)
    assert res.table["cause"].to_list() == [1, 2]
    assert res.groups == ["home", "hospice", "hospital"]
    assert res.statistic(1) > 0 and 0 < res.p_value(1) < 1
    assert "Gray's test" in repr(res)


def test_gray_test_single_group_and_missing_cause():
    with pytest.raises(ValueError, match="at least two groups"):
        gray_test([1, 2, 3], [1, 2, 0], ["a", "a", "a"])
    # a cause never observed is simply not tested
    res = gray_test([1, 2, 3, 4], [1, 0, 1, 0], ["a", "b", "a", "b"])
    assert res.table["cause"].to_list() == [1]


# ----------------------------------------------------------------------- Fine-Gray
@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("cause", [1, 2])
def test_fine_gray_matches_crr(data, ds, cause):
    ref = pl.read_csv(REF / "fine_gray.csv").filter(
        (pl.col("dataset") == ds) & (pl.col("failcode") == cause)
    )
    d = data[ds]
    res = fine_gray(d["time"], d["status"], d.select(COVARIATES[ds]), cause=cause)
    assert isinstance(res, FineGrayResult)
    assert res.converged
    assert r_terms(res) == ref["term"].to_list()
    np.testing.assert_allclose(res.params, ref["estimate"].to_numpy(), **ITER)
    np.testing.assert_allclose(res.std_errors, ref["std_error"].to_numpy(), **ITER)
    np.testing.assert_allclose(
        np.sqrt(np.diag(res.vcov_naive)), ref["std_error_naive"].to_numpy(), **ITER
    )
    assert res.loglik == pytest.approx(ref["loglik"][0], rel=1e-6)
    assert res.loglik_null == pytest.approx(ref["loglik_null"][0], rel=1e-6)
    assert res.n == d.height
    assert res.n_events == int((d["status"] == cause).sum())


def test_fine_gray_table_and_summary(data):
    d = data["ordinary"]
    res = fine_gray("time", "status", ["age", "sex", "score", "stage"], data=d)
    tb = res.table
    assert tb.columns == [
        "term",
        "variable",
        "level",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "hazard_ratio",
        "conf_low",
        "conf_high",
    ]
    np.testing.assert_allclose(tb["hazard_ratio"].to_numpy(), np.exp(res.params), rtol=1e-12)
    assert (tb["conf_low"] < tb["hazard_ratio"]).all()
    assert (tb["hazard_ratio"] < tb["conf_high"]).all()
    assert "stage[III]" in res.summary() and "Fine-Gray" in repr(res)
    assert "<table" in res._repr_html_() or "<div" in res._repr_html_()


def test_fine_gray_enum_reference_level(data):
    d = data["ordinary"].with_columns(
        pl.col("stage").cast(pl.Enum(["III", "II", "I"])).alias("stage")
    )
    res = fine_gray(d["time"], d["status"], d.select("stage"))
    assert res.terms == ["stage[II]", "stage[I]"]
    assert res.table["level"].to_list() == ["II", "I"]


def test_fine_gray_no_events_of_cause_and_all_censored():
    with pytest.raises(ValueError, match="no events of cause 3"):
        fine_gray([1, 2, 3, 4], [1, 2, 0, 1], [[0.0], [1.0], [0.0], [1.0]], cause=3)
    with pytest.raises(ValueError, match="no events"):
        fine_gray([1, 2, 3, 4], [0, 0, 0, 0], [[0.0], [1.0], [0.0], [1.0]])


# ------------------------------------------------------------ cause-specific Cox
@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cause_specific_cox_matches_coxph(data, ds, cause, ties):
    ref = pl.read_csv(REF / "cox.csv").filter(
        (pl.col("dataset") == ds) & (pl.col("model") == f"cause{cause}_{ties}")
    )
    d = data[ds]
    res = cause_specific_cox(d["time"], d["status"], d.select(COVARIATES[ds]), cause, ties=ties)
    np.testing.assert_allclose(res.params, ref["estimate"].to_numpy(), **ITER)
    np.testing.assert_allclose(res.std_errors, ref["std_error"].to_numpy(), **ITER)
    assert "Cause-specific" in res.summary()


# ------------------------------------------------------------------ validation
def test_validation_messages():
    with pytest.raises(ValueError, match=r"same length: `time` has 3, `event` has 2"):
        aalen_johansen([1, 2, 3], [1, 0])
    with pytest.raises(ValueError, match=r"`time` contains NaN: 1 row\(s\), e.g. at index 1"):
        aalen_johansen([1, np.nan, 3], [1, 0, 1])
    with pytest.raises(ValueError, match=r"`time` contains negative times: 2 row\(s\).*0, 2"):
        aalen_johansen([-1, 2, -3], [1, 0, 1])
    with pytest.raises(ValueError, match="`event` contains negative codes"):
        aalen_johansen([1, 2, 3], [1, -1, 1])
    with pytest.raises(ValueError, match="`event` contains non-integer codes"):
        aalen_johansen([1, 2, 3], [1, 0.5, 1])
    with pytest.raises(ValueError, match="`event` contains NaN"):
        aalen_johansen([1, 2, 3], [1, np.nan, 1])
    with pytest.raises(ValueError, match="missing values"):
        aalen_johansen(pl.Series([1.0, None, 3.0]), [1, 0, 1])
    with pytest.raises(ValueError, match="`group` has 2 rows"):
        aalen_johansen([1, 2, 3], [1, 0, 1], group=["a", "b"])
    with pytest.raises(ValueError, match="column 'tt' not found"):
        aalen_johansen("tt", "e", data=pl.DataFrame({"t": [1], "e": [1]}))
    with pytest.raises(ValueError, match="no `data` frame"):
        aalen_johansen("t", "e")
    with pytest.raises(ValueError, match="empty"):
        aalen_johansen([], [])
    with pytest.raises(ValueError, match="`cause` must be a positive integer"):
        aalen_johansen([1, 2], [1, 0], cause=0)
    with pytest.raises(ValueError, match="infinite"):
        aalen_johansen([1, np.inf], [1, 0])
    with pytest.raises(ValueError, match="`event` must hold integer codes"):
        aalen_johansen([1, 2], ["a", "b"])


def test_validation_covariates():
    with pytest.raises(ValueError, match=r"`covariates` contains NaN.*index 1"):
        fine_gray([1, 2, 3], [1, 2, 1], [[0.0], [np.nan], [1.0]])
    with pytest.raises(ValueError, match="`covariates` has 2 rows"):
        fine_gray([1, 2, 3], [1, 2, 1], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="column 'x' contains missing values"):
        fine_gray([1, 2, 3], [1, 2, 1], pl.DataFrame({"x": [1.0, None, 2.0]}))
    with pytest.raises(ValueError, match="unsupported dtype"):
        fine_gray([1, 2, 3], [1, 2, 1], pl.DataFrame({"x": [[1], [2], [3]]}))


def test_aalen_johansen_integer_and_general_paths_agree(data):
    # integer-valued times are tabulated with bincount, others with a sort
    d = data["ties"]
    a = aalen_johansen(d["time"], d["status"], group=d["group"]).table
    b = aalen_johansen(d["time"] * 0.37, d["status"], group=d["group"]).table
    np.testing.assert_allclose(a["time"].to_numpy() * 0.37, b["time"].to_numpy(), rtol=1e-15)
    for col in ["n_risk", "n_event", "n_censor", "estimate", "std_error", "conf_low"]:
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    # large integer times fall back to the sort path
    c = aalen_johansen(d["time"] * 10**9, d["status"], group=d["group"]).table
    np.testing.assert_array_equal(a["estimate"].to_numpy(), c["estimate"].to_numpy())


# ------------------------------------------------------- Fine-Gray with censoring groups
# Reference: tests/reference/fine_gray_cengroup.R -> tests/reference/fine_gray_cengroup/
# (crr(..., cengroup=), gtol 1e-10; mgus2 and pbc are R's public data sets).
REF_CG = Path(__file__).parent / "reference" / "fine_gray_cengroup"
CG_DATA = {
    "mgus2": (REF_CG / "data_mgus2.csv", ["age", "male", "mspike"], "period"),
    "pbc": (REF_CG / "data_pbc.csv", ["age", "edema", "logbili", "albumin"], "group"),
    "periods": (REF_CG / "data_periods.csv", ["x", "z"], "period"),
    "ties": (REF / "data_ties.csv", COVARIATES["ties"], "group"),
    "ordinary": (REF / "data_ordinary.csv", COVARIATES["ordinary"], "group"),
    "edge": (REF / "data_edge.csv", COVARIATES["edge"], "group"),
}
TIGHT = {"rtol": 1e-6, "atol": 0.0}


@pytest.fixture(scope="module")
def cg_ref() -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        pl.read_csv(REF_CG / "fine_gray_cengroup.csv"),
        pl.read_csv(REF_CG / "fine_gray_cengroup_vcov.csv"),
    )


@pytest.mark.parametrize("ds", list(CG_DATA))
@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize("grouped", [False, True])
def test_fine_gray_cengroup_matches_crr(cg_ref, ds, cause, grouped):
    path, cov, gcol = CG_DATA[ds]
    d = pl.read_csv(path)
    cg = gcol if grouped else "none"
    sel = (pl.col("dataset") == ds) & (pl.col("failcode") == cause) & (pl.col("cengroup") == cg)
    ref, vref = cg_ref[0].filter(sel), cg_ref[1].filter(sel)
    res = fine_gray("time", "status", cov, cause=cause, data=d,
                    cengroup=gcol if grouped else None)  # fmt: skip
    assert r_terms(res) == ref["term"].to_list()
    assert res.n_cengroups == (d[gcol].n_unique() if grouped else 1)
    np.testing.assert_allclose(res.params, ref["estimate"].to_numpy(), **TIGHT)
    k = len(res.terms)
    v = np.zeros((k, k))
    v[vref["row"].to_numpy() - 1, vref["col"].to_numpy() - 1] = vref["var"].to_numpy()
    np.testing.assert_allclose(res.vcov, v, rtol=1e-6, atol=1e-6 * np.abs(v).max())
    np.testing.assert_allclose(res.std_errors, ref["std_error"].to_numpy(), **TIGHT)
    np.testing.assert_allclose(
        np.sqrt(np.diag(res.vcov_naive)), ref["std_error_naive"].to_numpy(), **TIGHT
    )
    assert res.loglik == pytest.approx(ref["loglik"][0], rel=1e-9)
    assert res.loglik_null == pytest.approx(ref["loglik_null"][0], rel=1e-9)


@pytest.mark.parametrize("ds", ["mgus2", "periods", "ordinary"])
def test_fine_gray_cengroup_differs_from_one_censoring_distribution(cg_ref, ds):
    # the grouped reference is not reproduced by a single pooled KM of the censoring times
    path, cov, gcol = CG_DATA[ds]
    d = pl.read_csv(path)
    ref = cg_ref[0].filter(
        (pl.col("dataset") == ds) & (pl.col("failcode") == 1) & (pl.col("cengroup") == gcol)
    )
    pooled = fine_gray("time", "status", cov, data=d)
    grouped = fine_gray("time", "status", cov, data=d, cengroup=gcol)
    est = ref["estimate"].to_numpy()
    assert np.max(np.abs(pooled.params / est - 1)) > 1e-4
    assert np.max(np.abs(pooled.std_errors / ref["std_error"].to_numpy() - 1)) > 1e-4
    np.testing.assert_allclose(grouped.params, est, **TIGHT)
    assert "censoring groups" in repr(grouped) or "censoring groups" in grouped.summary()


def test_fine_gray_cengroup_labels_and_order_do_not_matter():
    path, cov, gcol = CG_DATA["periods"]
    d = pl.read_csv(path).with_row_index("rid")
    a = fine_gray("time", "status", cov, data=d, cengroup=gcol)
    # relabelled groups (other sort order) and shuffled rows give the same fit
    relab = d.with_columns(
        pl.col(gcol).replace({"2010-14": "c", "2015-19": "a", "2020-24": "b"}).alias("g2")
    ).sample(fraction=1.0, shuffle=True, seed=3)
    b = fine_gray("time", "status", cov, data=relab, cengroup="g2")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-8)
    # one group equals no groups; integer codes work as labels
    one = fine_gray("time", "status", cov, data=d, cengroup=np.ones(d.height, dtype=int))
    none = fine_gray("time", "status", cov, data=d)
    np.testing.assert_allclose(one.params, none.params, rtol=1e-12)
    np.testing.assert_allclose(one.vcov, none.vcov, rtol=1e-12)


def test_fine_gray_cengroup_validation():
    t, e, x = [1, 2, 3, 4], [1, 0, 2, 1], [[0.0], [1.0], [0.0], [1.0]]
    with pytest.raises(ValueError, match=r"cengroup.*missing"):
        fine_gray(t, e, x, cengroup=pl.Series(["a", None, "b", "b"]))
    with pytest.raises(ValueError, match=r"cengroup.*3 rows"):
        fine_gray(t, e, x, cengroup=["a", "b", "b"])
    with pytest.raises(ValueError, match=r"cengroup.*no `data`"):
        fine_gray(t, e, x, cengroup="period")
