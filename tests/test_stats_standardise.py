"""paleval.stats.standardise against R (tests/reference/standardise.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.standardise import (
    direct_standardise,
    european_standard_population,
    indirect_standardise,
)

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


# --- rates per person-time and ESP2013 (tests/reference/rates.R, epitools::ageadjust.direct) ---

RATES = Path(__file__).parent / "reference" / "rates"
RATES_RES = pl.read_csv(RATES / "results.csv", null_values="NA")


@pytest.mark.parametrize("conf_level", [0.95, 0.9])
@pytest.mark.parametrize("per", [1.0, 1e5])
def test_rates_match_epitools_own_example(conf_level, per):
    """Fay & Feuer (1997) Table 1, as in ?epitools::ageadjust.direct: 92.3 (80.4, 105.8) per
    100,000 for birth order 1."""
    d = pl.read_csv(RATES / "epitools_data.csv", schema_overrides={"birth_order": pl.String})
    std = pl.read_csv(RATES / "epitools_standard.csv")
    out = direct_standardise(
        d, "events", "person_years", "age", std, by="birth_order", conf_level=conf_level, per=per
    )
    ref = RATES_RES.filter(
        (pl.col("dataset") == "epitools") & (pl.col("conf_level") == conf_level)
    ).sort("group")
    assert out["birth_order"].to_list() == ref["group"].to_list()
    close(out["events"], ref["events"])
    for c in ["crude", "estimate", "std_error", "conf_low", "conf_high"]:
        close(out[c], ref[c] * per)
    if per == 1e5 and conf_level == 0.95:  # as printed in the epitools example
        assert out.select(pl.col("estimate", "conf_low", "conf_high").round(1)).row(0) == (
            92.3,
            80.4,
            105.8,
        )


@pytest.mark.parametrize("conf_level", [0.95, 0.9])
def test_rates_with_fractional_person_years_and_esp2013_match_epitools(conf_level):
    d = pl.read_csv(RATES / "synth_data.csv").with_columns(pl.col("age_lower").cast(pl.Float64))
    std = european_standard_population([40, 65, 75, 85])
    out = direct_standardise(
        d, "events", "person_years", "age_lower", std, by=["region", "period"],
        conf_level=conf_level, per=1000,
    )  # fmt: skip
    ref = RATES_RES.filter((pl.col("dataset") == "synth") & (pl.col("conf_level") == conf_level))
    ref = ref.with_columns(
        pl.col("group").str.split("|").list.get(0).alias("region"),
        pl.col("group").str.split("|").list.get(1).alias("period"),
    ).sort("region", "period")
    assert out.select("region", "period").rows() == ref.select("region", "period").rows()
    close(out["n"], ref["person_years"])
    for c in ["crude", "estimate", "std_error", "conf_low", "conf_high"]:
        close(out[c], ref[c] * 1000)


def test_esp2013_bundled_file_is_eurostats_table():
    """The package file against the values typed into the R script (Eurostat 2013, Table)."""
    esp = european_standard_population()
    ref = pl.read_csv(RATES / "esp2013.csv")
    assert esp["population"].to_list() == ref["population"].to_list()
    assert esp["age_lower"].to_list() == ref["age_lower"].cast(pl.Float64).to_list()
    assert esp["population"].sum() == 100_000
    assert esp["age_band"].to_list()[:3] == ["0", "1-4", "5-9"]
    assert esp["age_band"][-1] == "95+" and esp["age_upper"][-1] == float("inf")
    # aggregated: bands from 40, under 40 left out; 65-74 = 5500 + 5000
    agg = european_standard_population([40, 65, 75, 85])
    assert agg["population"].to_list() == [33500, 10500, 6500, 2500]
    assert agg["age_band"].to_list() == ["40-64", "65-74", "75-84", "85+"]


def test_esp2013_refuses_bands_that_split_an_esp_group():
    with pytest.raises(ValueError, match="not ESP2013 age limits"):
        european_standard_population([0, 62, 75])


def test_esp2013_is_in_the_wheel_sources():
    """Hatch packs every file under src/paleval, so the CSV ships with the package; and it is
    read through importlib.resources, not a path relative to the repository."""
    import importlib.resources as r

    assert (r.files("paleval.stats") / "data" / "esp2013.csv").is_file()


def test_non_integer_events_refused():
    d = pl.DataFrame({"age": ["a", "b"], "x": [1.5, 2.0], "py": [10.0, 20.0]})
    std = pl.DataFrame({"age": ["a", "b"], "population": [1, 1]})
    with pytest.raises(ValueError, match="'x' has 1 non-integer"):
        direct_standardise(d, "x", "py", "age", std)
    # whole numbers stored as floats are counts
    ok = direct_standardise(d.with_columns(x=pl.col("x").round()), "x", "py", "age", std)
    assert ok["events"].item() == 4


@pytest.mark.parametrize("per", [0, -1, float("nan"), "1000"])
def test_bad_per(per):
    d = pl.DataFrame({"age": ["a"], "x": [1], "py": [10.0]})
    std = pl.DataFrame({"age": ["a"], "population": [1]})
    with pytest.raises(ValueError, match="per must be"):
        direct_standardise(d, "x", "py", "age", std, per=per)
