"""paleval.stats.proportions against R (tests/reference/proportions.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.proportions import proportion_ci, risk_difference, risk_ratio

REF = Path(__file__).parent / "reference" / "proportions"


def close(a, b, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize("conf_level", [0.95, 0.90])
def test_proportion_ci_matches_r(method, conf_level):
    ref = pl.read_csv(REF / "proportion_ci.csv").filter(
        (pl.col("method") == method) & (pl.col("conf_level") == conf_level)
    )
    out = proportion_ci(ref["events"], ref["n"], method=method, conf_level=conf_level)
    assert out.height == ref.height
    close(out["conf_low"], ref["conf_low"])
    close(out["conf_high"], ref["conf_high"])
    close(out["estimate"], ref["events"] / ref["n"])
    assert out["n"].to_list() == ref["n"].to_list()


def test_proportion_ci_edges_and_scalars():
    out = proportion_ci([0, 7], 7, method="clopper-pearson")
    assert out["conf_low"][0] == 0.0 and out["conf_high"][1] == 1.0
    assert out["std_error"][0] == 0.0
    assert out.columns == [
        "events",
        "n",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "method",
    ]


@pytest.mark.parametrize(
    ("events", "n", "msg"),
    [
        ([1, 5], [2, 4], "1 row"),
        ([1, -1], [2, 4], "events: 1 row"),
        ([1, 2], [0, 0], "2 row"),
        ([1.5], [2], "events: 1 row"),
        ([np.nan], [2], "events: 1 row"),
    ],
)
def test_proportion_ci_validation(events, n, msg):
    with pytest.raises(ValueError, match=msg):
        proportion_ci(events, n)


def test_proportion_ci_bad_method_and_level():
    with pytest.raises(ValueError, match="method"):
        proportion_ci(1, 2, method="wald")
    with pytest.raises(ValueError, match="conf_level"):
        proportion_ci(1, 2, conf_level=95)


def test_risk_difference_matches_r():
    ref = pl.read_csv(REF / "risk_difference.csv")
    out = risk_difference(ref["events_1"], ref["n_1"], ref["events_0"], ref["n_0"])
    close(out["estimate"], ref["estimate"])
    close(out["std_error"], ref["std_error"])
    close(out["conf_low"], ref["conf_low"])
    close(out["conf_high"], ref["conf_high"])
    ok = ref["std_error"].to_numpy() > 0
    close(out["p_value"].to_numpy()[ok], ref["p_value"].to_numpy()[ok])


@pytest.mark.parametrize("cc", [0.0, 0.5])
def test_risk_ratio_matches_r(cc):
    ref = pl.read_csv(REF / "risk_ratio.csv").filter(pl.col("zero_correction") == cc)
    out = risk_ratio(ref["events_1"], ref["n_1"], ref["events_0"], ref["n_0"], zero_correction=cc)
    # R writes Inf/NA; compare finite entries and NaN pattern
    for col in ["estimate", "std_error", "conf_low", "conf_high", "p_value"]:
        r = ref[col].cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
        p = out[col].to_numpy()
        fin = np.isfinite(r)
        assert np.array_equal(fin, np.isfinite(p)), col
        close(p[fin], r[fin])


def test_risk_ratio_zero_cells():
    out = risk_ratio([0, 3], [10, 10], [2, 0], [10, 10])
    assert out["estimate"][0] == 0.0 and np.isinf(out["estimate"][1])
    assert np.isnan(out["conf_low"].to_numpy()).all()
    with pytest.raises(ValueError, match="zero_correction"):
        risk_ratio(1, 2, 1, 2, zero_correction=-1)


def test_two_group_validation():
    with pytest.raises(ValueError, match="events_0: 1 row"):
        risk_difference([1, 2], [5, 5], [6, 1], [5, 5])
    with pytest.raises(ValueError, match="compatible"):
        risk_ratio([1, 2], [5, 5], [1, 1, 1], [5, 5, 5])
