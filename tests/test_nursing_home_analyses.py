"""Nursing-home residence in the analyses (register ``plh``): a resident's home is the nursing
home, and a cohort without the register must not look as if it had one."""

from __future__ import annotations

import polars as pl
import pytest

from paleval.analyses import characteristics, place_of_death_gp


def _with_nh(eol: pl.DataFrame, value: bool | None) -> pl.DataFrame:
    return eol.with_columns(nursing_home_resident=pl.lit(value, dtype=pl.Boolean))


def test_nursing_home_as_covariate_of_home_death_is_refused_with_the_reason(
    eol_tiny: pl.DataFrame,
) -> None:
    with pytest.raises(ValueError, match="no resident dies in an own home"):
        place_of_death_gp(
            _with_nh(eol_tiny, False), covariates=["age_group", "nursing_home_resident"]
        )


def test_table1_without_the_register_shows_no_nursing_home_row(eol_tiny: pl.DataFrame) -> None:
    res = characteristics(_with_nh(eol_tiny, None), by="cancer")
    t = res.tables["characteristics"]
    assert "nursing_home_resident" not in t["variable"].to_list()
    assert any("includes nursing-home residents" in n for n in res.notes)
    filled = characteristics(_with_nh(eol_tiny, False), by="cancer").tables["characteristics"]
    assert "nursing_home_resident" in filled["variable"].to_list()
