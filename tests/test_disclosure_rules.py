"""Output rules beyond counts: medians and percentiles rest on at least ``threshold`` persons
on each side, and rounding is declared cosmetic in the legend (shares are computed from
unrounded counts). Both tests failed on the code of commit 71e3925."""

from __future__ import annotations

import polars as pl

from paleval.disclosure import Margin, Protection, legend_rows, protect


def test_medians_and_quartiles_need_threshold_persons_on_each_side() -> None:
    t = pl.DataFrame(
        {
            "unit": ["a", "b", "c", "d"],
            "n": [8, 12, 25, 40],
            "median_days": [3.0, 4.0, 5.0, 6.0],
            "q1_days": [1.0, 2.0, 2.0, 3.0],
            "q3_days": [6.0, 7.0, 8.0, 9.0],
            "referral_to_death_interval_n": [40, 40, 15, 9],
            "referral_to_death_median": [20.0, 21.0, 22.0, 23.0],
        }
    )
    out = protect(t, Protection(("n", "referral_to_death_interval_n"), [Margin()]), threshold=5)
    # computed by hand: a median needs n >= 10 (5 below, 5 above), a quartile n >= 20
    assert out["median_days"].to_list() == [None, 4.0, 5.0, 6.0]
    assert out["q1_days"].to_list() == [None, None, 2.0, 3.0]
    assert out["q3_days"].to_list() == [None, None, 8.0, 9.0]
    # the median of an interval rests on that interval's count, not on n
    assert out["referral_to_death_median"].to_list() == [20.0, 21.0, 22.0, None]
    # the rows themselves stay published (no count is small)
    assert out["suppressed"].to_list() == [False] * 4


def test_rounding_is_declared_cosmetic_in_both_languages() -> None:
    en = " ".join(legend_rows("en", 5, rounding=5))
    da = " ".join(legend_rows("da", 5, rounding=5))
    assert "multiple of 5" in en and "unrounded" in en and "cosmetic" in en
    assert "multiplum af 5" in da and "uafrundede" in da and "kosmetisk" in da
