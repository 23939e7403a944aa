"""Typed errors of the estimators: a model the data do not identify raises
``NotEstimableError`` (a ``ValueError``), separation ``SeparationError`` (also a
``ConvergenceError``), and bad arguments stay plain ``ValueError``s."""

from __future__ import annotations

import polars as pl
import pytest

from paleval.stats import (
    ConvergenceError,
    NotEstimableError,
    SeparationError,
    cox,
    fine_gray,
    gee,
    logistic,
    multinomial,
    relative_index_of_inequality,
)
from paleval.stats._glm import ConvergenceError as GlmConvergenceError
from paleval.stats.regression import ConvergenceError as RegressionConvergenceError


def test_error_hierarchy_keeps_old_except_clauses_working() -> None:
    assert GlmConvergenceError is ConvergenceError is RegressionConvergenceError
    assert issubclass(ConvergenceError, RuntimeError)
    assert issubclass(NotEstimableError, ValueError)
    assert issubclass(SeparationError, NotEstimableError)
    assert issubclass(SeparationError, ConvergenceError)
    assert not issubclass(ConvergenceError, ValueError)


def _no_events() -> pl.DataFrame:
    return pl.DataFrame(
        {"t": [1.0, 2, 3, 4, 5, 6], "e": [0, 0, 0, 0, 0, 0], "x": [0.0, 1, 0, 1, 0, 1]}
    )


@pytest.mark.parametrize(
    ("fit", "match"),
    [
        (lambda d: logistic(d, "e", ["x"]), "not estimable"),
        (lambda d: cox("t", "e", ["x"], data=d), "no events"),
        (lambda d: fine_gray("t", "e", ["x"], data=d), "no events of cause 1"),
        (lambda d: multinomial(d.with_columns(k=pl.lit("a")), "k", ["x"]), "fewer than 2"),
    ],
)
def test_no_events_or_levels_is_not_estimable(fit, match) -> None:
    with pytest.raises(NotEstimableError, match=match):
        fit(_no_events())


def test_singular_design_and_empty_sample_are_not_estimable() -> None:
    d = pl.DataFrame({"y": [0, 1, 0, 1, 1, 0], "x": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(NotEstimableError, match="rank deficient"):
        logistic(d.with_columns(z=pl.col("x") * 2), "y", ["x", "z"])
    with pytest.raises(NotEstimableError, match="no rows left"):
        logistic(d.with_columns(x=pl.lit(None, pl.Float64)), "y", ["x"])


def test_gee_without_pairs_is_not_estimable() -> None:
    d = pl.DataFrame({"y": [0, 1, 0, 1], "x": [1.0, 2, 3, 5], "id": [1, 2, 3, 4]})
    with pytest.raises(NotEstimableError, match="correlation is not estimable"):
        gee(d, "y", ["x"], cluster="id", family="binomial", corstr="exchangeable")


def test_inequality_with_one_category_is_not_estimable() -> None:
    d = pl.DataFrame({"y": [0, 1, 0, 1], "ses": ["a", "a", "a", "a"]})
    with pytest.raises(NotEstimableError, match="fewer than 2 categories"):
        relative_index_of_inequality(d, "ses", "y", order=["a"])


def test_separation_is_a_separation_error() -> None:
    d = pl.DataFrame({"y": [0, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(SeparationError, match="separation"):
        logistic(d, "y", ["x"])


def test_bad_arguments_stay_plain_value_errors() -> None:
    d = _no_events()
    with pytest.raises(ValueError, match="not found") as info:
        logistic(d, "e", ["nope"])
    assert not isinstance(info.value, NotEstimableError)
