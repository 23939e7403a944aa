"""paleval.stats.funnel against R (tests/reference/funnel.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.funnel import funnel_flags, funnel_limits

REF = Path(__file__).parent / "reference" / "funnel"


@pytest.mark.parametrize("method", ["exact", "normal"])
@pytest.mark.parametrize("target", [0.3, 0.02, 0.85])
def test_limits_match_r(method, target):
    ref = pl.read_csv(REF / "funnel_limits.csv").filter(
        (pl.col("method") == method) & (pl.col("target") == target)
    )
    ns = ref.filter(pl.col("level") == 0.95)["n"]
    out = funnel_limits(ns, target, levels=(0.95, 0.998), method=method)
    j = out.join(ref, on=["n", "level"], suffix="_r")
    assert j.height == ref.height
    for c in ["lower_limit", "upper_limit"]:
        # the R script evaluates the bare formula; paleval clips proportions to [0, 1]
        want = np.clip(j[c + "_r"].to_numpy(), 0.0, 1.0)
        np.testing.assert_allclose(j[c], want, rtol=1e-6, atol=1e-12)


def test_limit_probabilities():
    out = funnel_limits([10], 0.2)
    assert out["p_lower"].to_list() == pytest.approx([0.025, 0.001])
    assert out["p_upper"].to_list() == pytest.approx([0.975, 0.999])
    assert (out["lower_limit"] <= out["upper_limit"]).all()


def test_flags_match_r():
    ref = pl.read_csv(REF / "funnel_units.csv")
    out = funnel_flags(ref.select("unit", "events", "n"))
    for lab in ["95", "99_8"]:
        assert out[f"flag_{lab}"].to_list() == ref[f"flag_{lab}"].to_list()
        up, lo = (np.clip(ref[f"{s}_{lab}"].to_numpy(), 0.0, 1.0) for s in ("upper", "lower"))
        np.testing.assert_allclose(out[f"upper_{lab}"], up, rtol=1e-6)
        np.testing.assert_allclose(out[f"lower_{lab}"], lo, rtol=1e-6, atol=1e-12)
    assert {"above", "below"} <= set(out["flag_95"].to_list())


def test_validation():
    units = pl.DataFrame({"events": [1, 5, None], "n": [4, 3, 2]})
    with pytest.raises(ValueError, match="events: 1 missing"):
        funnel_flags(units)
    with pytest.raises(ValueError, match="1 row"):
        funnel_flags(units.drop_nulls())
    with pytest.raises(ValueError, match="'deaths' not found"):
        funnel_flags(units, events="deaths")
    with pytest.raises(ValueError, match="target"):
        funnel_limits([10], 0.0)
    with pytest.raises(ValueError, match="n: 1 row"):
        funnel_limits([10, 0], 0.5)
    with pytest.raises(ValueError, match="method"):
        funnel_limits([10], 0.5, method="poisson")


def test_exact_limits_stay_within_zero_and_one() -> None:
    lim = funnel_limits([1, 2, 100], 0.7)
    assert lim["lower_limit"].min() >= 0.0 and lim["upper_limit"].max() <= 1.0
    low = funnel_limits([100], 0.02)
    assert low["lower_limit"].min() == 0.0
