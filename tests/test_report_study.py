"""`load_study`: study options are part of the cache key; the validation of the files is shared."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import paleval.registers as registers
from paleval.report import load_study


def test_lagged_gp_windows_are_their_own_study_and_reuse_the_validation(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    plain = load_study(tiny_dir, cache_dir=cache)
    assert plain.params["gp_offset_days"] == 0
    assert len(list(cache.glob("validation-*.parquet"))) == 1

    # a second study of the same files must not validate them again
    def no_validation(*args: object, **kwargs: object) -> None:
        raise AssertionError("validated twice")

    monkeypatch.setattr(registers, "validate", no_validation)
    lagged = load_study(tiny_dir, cache_dir=cache, gp_offset_days=14)
    assert lagged.params["gp_offset_days"] == 14
    assert len(list(cache.glob("study-*"))) == 2
    assert lagged.validation.equals(plain.validation)
    assert lagged.decedents["PNR"].equals(plain.decedents["PNR"])

    # the lag itself is tested week by week in tests/test_coverage.py; here: it reaches the
    # study's decedents
    differ = (
        plain.decedents.join(lagged.decedents, on="PNR", suffix="_lag")
        .filter(pl.col("gp_home_visits_90d") != pl.col("gp_home_visits_90d_lag"))
        .height
    )
    assert differ > 0  # the lag changes who counts as visited
    # the cached lagged study is read back, not rebuilt
    again = load_study(tiny_dir, cache_dir=cache, gp_offset_days=14)
    assert again.decedents.equals(lagged.decedents)


def test_bad_lag_is_refused_before_any_work(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gp_offset_days must be 0 or more"):
        load_study(tiny_dir, cache_dir=tmp_path, gp_offset_days=-7)
    with pytest.raises(TypeError, match="whole number of days"):
        load_study(tiny_dir, cache_dir=tmp_path, gp_offset_days=7.5)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
