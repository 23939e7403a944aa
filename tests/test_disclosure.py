"""Disclosure control: primary and secondary suppression, and the output checker."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paleval.cli import main
from paleval.disclosure import DisclosureError, check_output, suppress


def grid(counts: list[list[int]]) -> pl.DataFrame:
    rows = [
        {"region": f"r{i}", "year": 2010 + j, "n": c}
        for i, row in enumerate(counts)
        for j, c in enumerate(row)
    ]
    return pl.DataFrame(rows)


def test_primary_suppression_keeps_zero_and_large_counts() -> None:
    t = pl.DataFrame({"g": ["a", "b", "c", "d"], "n": [0, 1, 4, 5]})
    out = suppress(t, ["n"])
    assert out["suppressed"].to_list() == [False, True, True, False]
    assert out["n"].to_list() == [0, None, None, 5]


def test_dependent_columns_are_blanked_with_the_count() -> None:
    t = pl.DataFrame({"g": ["a", "b"], "n": [2, 50], "estimate": [0.5, 0.2], "label": ["x", "y"]})
    out = suppress(t, ["n"])
    assert out["estimate"].to_list() == [None, 0.2]
    assert out["label"].to_list() == ["x", "y"]


def test_secondary_suppression_protects_row_and_column_totals() -> None:
    t = grid([[3, 20, 30], [40, 50, 60], [70, 80, 90]])
    out = suppress(t, ["n"], margins=[["region"], ["year"]])
    sup = out.filter(pl.col("suppressed"))
    # Every region and every year with a suppressed cell has at least two of them.
    for m in ("region", "year"):
        counts = sup.group_by(m).len()["len"]
        assert (counts >= 2).all(), m
    assert sup.height >= 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=3, max_size=3), min_size=3, max_size=4))
def test_no_suppressed_cell_is_alone_in_any_margin(counts: list[list[int]]) -> None:
    try:
        out = suppress(grid(counts), ["n"], margins=[["region"], ["year"]])
    except DisclosureError as e:
        # only when the known (published) totals pin a small cell whatever is suppressed
        assert "no published cell is left to suppress" in str(e)
        return
    raw = grid(counts)
    work = out.with_columns(raw=raw["n"], small=(raw["n"] > 0) & (raw["n"] < 5))
    for m in ("region", "year"):
        per = work.group_by(m).agg(
            k=pl.col("suppressed").sum(),
            hidden_sum=pl.col("raw").filter(pl.col("suppressed")).sum(),
            hidden_small=(pl.col("small") & pl.col("suppressed")).sum(),
            total=pl.col("raw").sum(),
        )
        # with a publishable margin total (0 or >= 5), subtracting the published cells must
        # neither give one small cell exactly nor a small sum of suppressed cells
        published_total = per.filter(pl.col("total") >= 5)
        lone_small = published_total.filter((pl.col("k") == 1) & (pl.col("hidden_small") == 1))
        assert lone_small.height == 0, (m, counts)
        small_sum = published_total.filter((pl.col("hidden_sum") > 0) & (pl.col("hidden_sum") < 5))
        assert small_sum.height == 0, (m, counts)
    # No published count is below the threshold.
    shown = out.filter(~pl.col("suppressed"))["n"]
    assert not ((shown > 0) & (shown < 5)).any()


def test_bad_arguments_are_clear_errors() -> None:
    t = pl.DataFrame({"g": ["a"], "estimate": [0.1]})
    with pytest.raises(ValueError, match="no count columns"):
        suppress(t)
    with pytest.raises(ValueError, match=r"columns not in the table: \['region'\]"):
        suppress(pl.DataFrame({"n": [1]}), margins=[["region"]])


def test_checker_passes_clean_output_and_fails_a_planted_small_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    suppress(grid([[3, 20], [40, 50]]), ["n"], margins=[["region"]]).write_csv(clean / "a.csv")
    assert check_output(clean) == []
    assert main(["check-output", str(clean)]) == 0
    bad = tmp_path / "bad"
    (bad / "tables").mkdir(parents=True)
    pl.DataFrame({"group": ["x", "y"], "n_referred": [2, 30]}).write_parquet(
        bad / "tables" / "t.parquet"
    )
    findings = check_output(bad)
    assert [(f.file, f.column, f.rows, f.smallest) for f in findings] == [
        ("tables/t.parquet", "n_referred", 1, 2)
    ]
    assert main(["check-output", str(bad)]) == 1
    assert "n_referred" in capsys.readouterr().out


def test_checker_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_output(tmp_path / "nope")
