"""paleval.stats.standardise against R (tests/reference/standardise.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.standardise import direct_standardise, indirect_standardise

REF = Path(__file__).parent / "reference" / "standardise"
STD = pl.read_csv(REF / "standard.csv")


def close(a, b, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("dataset", [1, 2])
@pytest.mark.parametrize("conf_level", [0.95, 0.99])
@pytest.mark.parametrize("method", ["gamma", "normal"])
def test_direct_matches_r(dataset, conf_level, method):
    data = pl.read_csv(REF / f"direct_data{dataset}.csv")
    # epitools gives NA for the gamma lower limit when there are no events; paleval gives 0
    ref = (
        pl.read_csv(REF / "direct_results.csv", null_values="NA")
        .fill_null(0.0)
        .filter((pl.col("dataset") == dataset) & (pl.col("conf_level") == conf_level))
        .sort("group")
    )
    out = direct_standardise(
        data, "events", "n", ["age", "sex"], STD, by="group", method=method, conf_level=conf_level
    )
    assert out["group"].to_list() == ref["group"].to_list()
    for c in ["events", "n", "crude", "estimate", "std_error"]:
        close(out[c], ref[c])
    close(out["conf_low"], ref[f"{method}_low"])
    close(out["conf_high"], ref[f"{method}_high"])
    assert (out["n_strata"] == 8).all()


def test_direct_zero_events_group():
    data = pl.read_csv(REF / "direct_data2.csv").filter(pl.col("group") == "C")
    out = direct_standardise(data, "events", "n", ["age", "sex"], STD)
    assert out["estimate"].item() == 0.0 and out["conf_low"].item() == 0.0
    assert out["conf_high"].item() > 0


def test_direct_validation():
    data = pl.read_csv(REF / "direct_data1.csv")
    with pytest.raises(ValueError, match="no denominator"):
        direct_standardise(
            data.filter(pl.col("age") != "85+"), "events", "n", ["age", "sex"], STD, by="group"
        )
    with pytest.raises(ValueError, match="'events' has 2 missing"):
        direct_standardise(
            data.with_columns(
                pl.when(pl.int_range(pl.len()) < 2)
                .then(None)
                .otherwise(pl.col("events"))
                .alias("events")
            ),
            "events",
            "n",
            ["age", "sex"],
            STD,
        )
    with pytest.raises(ValueError, match="not in standard"):
        direct_standardise(data, "events", "n", ["age", "sex"], STD.filter(pl.col("age") != "85+"))
    with pytest.raises(ValueError, match="duplicated"):
        direct_standardise(data, "events", "n", ["age", "sex"], pl.concat([STD, STD]))
    with pytest.raises(ValueError, match="'age' has type"):
        direct_standardise(
            data,
            "events",
            "n",
            ["age", "sex"],
            STD.with_columns(pl.col("age").cast(pl.Categorical)),
        )
    with pytest.raises(ValueError, match=r"\['pop'\] not found"):
        direct_standardise(data, "events", "n", ["age", "sex"], STD, weight="pop")


@pytest.mark.parametrize("dataset", [1, 2])
@pytest.mark.parametrize("conf_level", [0.95, 0.99])
def test_indirect_matches_r(dataset, conf_level):
    data = pl.read_csv(REF / f"direct_data{dataset}.csv")
    reference = pl.read_csv(REF / "reference.csv")
    ref = (
        pl.read_csv(REF / "indirect_results.csv")
        .filter((pl.col("dataset") == dataset) & (pl.col("conf_level") == conf_level))
        .sort("group")
    )
    out = indirect_standardise(
        data, "events", "n", ["age", "sex"], reference, by="group", conf_level=conf_level
    )
    for c in [
        "observed",
        "n",
        "expected",
        "estimate",
        "conf_low",
        "conf_high",
        "p_value",
        "reference_crude",
        "isr",
    ]:
        close(out[c], ref[c])


def test_indirect_with_rates_and_zero_observed():
    reference = pl.read_csv(REF / "reference.csv").with_columns(
        (pl.col("events") / pl.col("n")).alias("rate")
    )
    data = pl.read_csv(REF / "direct_data2.csv").filter(pl.col("group") == "C")
    a = indirect_standardise(data, "events", "n", ["age", "sex"], reference)
    b = indirect_standardise(
        data, "events", "n", ["age", "sex"], reference.drop("events"), reference_rate="rate"
    )
    close(a["expected"], b["expected"])
    close(a["isr"], b["isr"])
    assert a["observed"].item() == 0 and a["conf_low"].item() == 0.0
    c = indirect_standardise(
        data, "events", "n", ["age", "sex"], reference.drop("events", "n"), reference_rate="rate"
    )
    assert c["isr"].is_null().all()
