"""Shared analysis steps (`paleval.analyses._common`)."""

from __future__ import annotations

import polars as pl
import pytest

from paleval.analyses._common import drop_separated, fit_or_note
from paleval.stats import (
    ConvergenceError,
    NotEstimableError,
    SeparationError,
    logistic,
)


def test_drop_separated_lists_levels_in_a_stable_order() -> None:
    # many levels with no events: group_by returns them in an order that varies between runs,
    # and the note (exported with the report) must be the same bytes every time
    levels = [f"l{i:02d}" for i in range(40)]
    frame = pl.DataFrame(
        {
            "g": [*levels, "x", "x", "y", "y"],
            "_event": [0] * 40 + [0, 1, 1, 0],
        }
    )
    seen = set()
    for _ in range(20):
        notes: list[str] = []
        out = drop_separated(frame, ["g"], notes, "test")
        assert out["g"].to_list() == ["x", "x", "y", "y"]
        seen.add(notes[0])
    assert len(seen) == 1
    assert seen.pop().endswith(", ".join(f"g={v}" for v in levels))


def _raises(exc: Exception):
    def fit():
        raise exc

    return fit


def test_fit_or_note_catches_not_estimable_by_type_whatever_the_message() -> None:
    # a message with none of the words the old substring match looked for ("rank deficient",
    # "not estimable", "no rows left", "fewer than 2"): caught because of its type
    notes: list[str] = []
    assert fit_or_note(_raises(NotEstimableError("empty level 'x'")), notes, "m1") is None
    assert notes == ["m1: not estimable (empty level 'x')"]


def test_fit_or_note_lets_a_plain_value_error_through_even_if_it_says_not_estimable() -> None:
    # a bad argument is an error, not a note, even when its text happens to contain the words
    notes: list[str] = []
    with pytest.raises(ValueError, match="not estimable"):
        fit_or_note(_raises(ValueError("column 'x' not estimable: not found")), notes, "m")
    assert notes == []


def test_fit_or_note_notes_convergence_and_separation() -> None:
    notes: list[str] = []
    fit_or_note(_raises(ConvergenceError("IRLS did not converge")), notes, "a")
    fit_or_note(_raises(SeparationError("fitted values 0 or 1")), notes, "b")
    assert notes == [
        "a: model did not converge (IRLS did not converge)",
        "b: not estimable (fitted values 0 or 1)",
    ]


def test_fit_or_note_on_real_inestimable_models() -> None:
    notes: list[str] = []
    no_events = pl.DataFrame({"y": [0, 0, 0, 0], "g": ["a", "b", "a", "b"]})
    separated = pl.DataFrame({"y": [0, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0]})
    assert fit_or_note(lambda: logistic(no_events, "y", ["g"]), notes, "none") is None
    assert fit_or_note(lambda: logistic(separated, "y", ["x"]), notes, "sep") is None
    assert notes[0].startswith("none: not estimable (outcome column 'y': all 4")
    assert notes[1].startswith("sep: not estimable (logistic: fitted values numerically 0")
    # a missing column is a bad argument and propagates
    with pytest.raises(ValueError, match="not found"):
        fit_or_note(lambda: logistic(no_events, "y", ["nope"]), notes, "bad")
