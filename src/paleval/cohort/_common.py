"""Helpers shared by the cohort modules (public names inside this private module)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from paleval.codes import covered_from

NURSING_HOME_REGISTER = "plh"


def require_registers(registers: Mapping[str, pl.LazyFrame], keys: list[str]) -> None:
    """A clear error naming the registers a cohort needs and does not have."""
    missing = [k for k in keys if k not in registers]
    if missing:
        raise KeyError(f"the cohort needs the registers {missing}; got {sorted(registers)}")


def as_date(x: str | dt.date) -> dt.date:
    """A date from an ISO string or a date.

    Examples
    --------
    >>> as_date("2020-01-31")
    datetime.date(2020, 1, 31)
    """
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(x)


def nursing_home_observed(anchor: str) -> pl.Expr:
    """True where the nursing-home register covers the anchor date (from 2011-01-01, the
    coverage table's ``plh`` rows: :func:`paleval.codes.covered_from`); before it, residence
    is unknown, not "no stay"."""
    first = covered_from(NURSING_HOME_REGISTER)
    return pl.lit(True) if first is None else pl.col(anchor) >= pl.lit(first)


def resident_or_unknown(anchor: str) -> pl.Expr:
    """``nursing_home_resident``: True with a covering stay, False without one where the
    register covers the anchor date, null before it."""
    return (
        pl.when(nursing_home_observed(anchor))
        .then(pl.col("nursing_home_resident").fill_null(False))
        .otherwise(pl.lit(None, pl.Boolean))
        .alias("nursing_home_resident")
    )
