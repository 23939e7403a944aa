"""Shared analysis steps (`paleval.analyses._common`)."""

from __future__ import annotations

import polars as pl

from paleval.analyses._common import drop_separated


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
