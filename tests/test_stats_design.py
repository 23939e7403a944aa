"""One dummy coder for every model: terms ``column[level]``, and ``variable``/``level``
columns in every coefficient table (looked up from the coding, never parsed from the name)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from paleval.stats import (
    cox,
    fine_gray,
    gee,
    logistic,
    mixed_logistic,
    modified_poisson,
    multinomial,
    negative_binomial,
    segmented_regression,
)
from paleval.stats._design import dummy_coding, term_frame


def _frame(n: int = 400, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    stage = rng.choice(["I", "II", "III"], size=n)
    age = rng.normal(70, 10, size=n)
    lp = -0.5 + 0.4 * (stage == "II") + 0.9 * (stage == "III") + 0.02 * (age - 70)
    y = rng.random(n) < 1 / (1 + np.exp(-lp))
    t = rng.exponential(1 / np.exp(lp))
    status = np.where(rng.random(n) < 0.2, 0, np.where(rng.random(n) < 0.6, 1, 2))
    return pl.DataFrame(
        {
            "y": y.astype(int),
            "count": rng.poisson(np.exp(lp) * 2 * rng.gamma(1.0, 1.0, size=n)),
            "stage": stage,
            "age": age,
            "t": t,
            "status": status,
            "e": (status == 1).astype(int),
            "id": rng.integers(0, 20, size=n),
            "place": rng.choice(["home", "hospital", "nursing_home"], size=n),
        }
    )


D = _frame()
EXPECTED = {
    "term": ["stage[II]", "stage[III]", "age"],
    "variable": ["stage", "stage", "age"],
    "level": ["II", "III", None],
}


def _no_intercept(tab: pl.DataFrame) -> dict[str, list]:
    tab = tab.filter(pl.col("term") != "(Intercept)")
    return {c: tab[c].to_list() for c in ("term", "variable", "level")}


@pytest.mark.parametrize(
    "fit",
    [
        lambda d: logistic(d, "y", ["stage"], ["age"]),
        lambda d: modified_poisson(d, "y", ["stage"], ["age"]),
        lambda d: negative_binomial(d, "count", ["stage", "age"]),
        lambda d: gee(d, "y", ["stage", "age"], cluster="id", corstr="exchangeable"),
        lambda d: mixed_logistic(d, "y", ["stage", "age"], "id"),
        lambda d: cox("t", "e", ["stage", "age"], data=d),
        lambda d: fine_gray("t", "status", ["stage", "age"], data=d),
    ],
    ids=["logistic", "poisson", "negbin", "gee", "mixed", "cox", "fine_gray"],
)
def test_every_model_names_terms_alike_with_variable_and_level(fit) -> None:
    tab = fit(D).table
    assert tab.columns[:3] == ["term", "variable", "level"]
    assert _no_intercept(tab) == EXPECTED
    intercept = tab.filter(pl.col("term") == "(Intercept)")
    if intercept.height:
        assert intercept.select("variable", "level").row(0) == ("(Intercept)", None)


def test_multinomial_table_has_variable_and_level_per_outcome_level() -> None:
    tab = multinomial(D, "place", ["stage"], ["age"]).table
    sub = tab.filter(pl.col("y_level") == "nursing_home")
    assert _no_intercept(sub) == EXPECTED


def test_its_effects_are_variable_level_and_slope() -> None:
    months = pl.date_range(dt.date(2015, 1, 1), dt.date(2019, 12, 1), "1mo", eager=True)
    rng = np.random.default_rng(1)
    d = pl.DataFrame({"month": months, "y": rng.normal(10, 1, months.len())})
    tab = segmented_regression(d, "y", "month", {"reform": dt.date(2017, 1, 1)}).table
    eff = tab.filter(pl.col("level").is_not_null())
    assert eff.select("term", "variable", "level").rows() == [
        ("level[reform]", "level", "reform"),
        ("slope[reform]", "slope", "reform"),
    ]


@pytest.mark.parametrize("dtype", [pl.Categorical, pl.Enum(["I", "II", "III"])])
def test_categorical_and_enum_factors_fit_cox_as_the_string_column(dtype) -> None:
    # a Categorical column crashed cox() before (polars removed cat.get_categories)
    as_string = cox("t", "e", ["stage", "age"], data=D)
    as_factor = cox("t", "e", ["stage", "age"], data=D.with_columns(pl.col("stage").cast(dtype)))
    assert as_factor.terms == as_string.terms == EXPECTED["term"]
    np.testing.assert_allclose(as_factor.params, as_string.params, rtol=1e-12)


def test_enum_order_sets_the_reference_in_cox_and_logistic_alike() -> None:
    d = D.with_columns(pl.col("stage").cast(pl.Enum(["III", "I", "II"])))
    c = cox("t", "e", ["stage"], data=d)
    lg = logistic(d, "y", ["stage"])
    assert c.terms == ["stage[I]", "stage[II]"]
    assert lg.terms[1:] == c.terms


def test_levels_with_brackets_are_looked_up_not_parsed() -> None:
    # a parser splitting "col[level]" at the first "[" or stripping "]" gets these wrong
    d = pl.DataFrame(
        {"y": [0, 1, 0, 1, 1, 0, 1, 0, 1, 1], "g[x]": ["a]", "b[1]"] * 5, "z": [1.0] * 10}
    )
    d = d.with_columns(z=pl.Series([0.3, 1.2, 0.5, 2.2, 1.1, 0.4, 0.9, 1.7, 0.2, 1.5]))
    tab = logistic(d, "y", ["g[x]"], ["z"]).table
    assert tab.select("term", "variable", "level").rows()[1] == ("g[x][b[1]]", "g[x]", "b[1]")


def test_dummy_coding_and_term_frame() -> None:
    d = pl.DataFrame({"s": ["b", "a", "c", "a"], "x": [1, 2, 3, 4], "f": [True, False] * 2})
    c = dummy_coding(d, ["s", "x", "f"], {"s": "c"})
    assert c.terms == ["(Intercept)", "s[a]", "s[b]", "x", "f"]
    np.testing.assert_array_equal(
        c.matrix(d),
        [[1, 0, 1, 1, 1], [1, 1, 0, 2, 0], [1, 0, 0, 3, 1], [1, 1, 0, 4, 0]],
    )
    assert term_frame(["x", "s[a]"], c.levels).rows() == [("x", "x", None), ("s[a]", "s", "a")]
    with pytest.raises(ValueError, match="reference level 'z' not found in column 's'"):
        dummy_coding(d, ["s"], {"s": "z"})
