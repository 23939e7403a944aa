"""Code lists as data: diagnosis groups, cancer sites, municipalities, service codes, ...

Every list is a CSV file in ``paleval/codes/data`` with a ``source`` column (or a source named in
``docs/registers.md``), loaded by :func:`load_codes`. Code never scatters literals such as
``"DC34"``; it asks this module.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported where it is used: `paleval.codes.vocabulary` stays light
    import polars as pl

__all__ = ["available_code_lists", "code_values", "coverage_table", "covered_from", "load_codes"]


def available_code_lists() -> list[str]:
    """Names of the code lists shipped with paleval.

    Examples
    --------
    >>> "diagnosis_groups" in available_code_lists()
    True
    """
    folder = resources.files("paleval.codes") / "data"
    return sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))


@cache
def _read(name: str) -> pl.DataFrame:
    import polars as pl

    folder = resources.files("paleval.codes") / "data"
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise KeyError(f"no code list {name!r}; available: {available_code_lists()}")
    with path.open("rb") as fh:
        return pl.read_csv(fh.read(), infer_schema_length=0)


def load_codes(name: str) -> pl.DataFrame:
    """Load a code list as a polars DataFrame (all columns as strings).

    Parameters
    ----------
    name
        File stem in ``paleval/codes/data``, e.g. ``"diagnosis_groups"``.

    Examples
    --------
    >>> import polars as pl
    >>> groups = load_codes("diagnosis_groups")
    >>> groups.filter(pl.col("icd10_prefix") == "J44")["group"].item()
    'respiratory'
    """
    return _read(name).clone()


def code_values(name: str, column: str) -> list[str]:
    """The distinct codes in ``column`` of code list ``name`` (stripped, sorted): what a coded
    register column is checked against (``paleval.registers.model.CODE_LISTS``, validation
    rule ``code_not_in_list``).

    Examples
    --------
    >>> code_values("regions", "REG")
    ['81', '82', '83', '84', '85']
    >>> code_values("regions", "KOM")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    KeyError: "code list 'regions' has no column 'KOM'; it has ['REGIONSKODE', 'REG', ...]"
    """
    table = _read(name)
    if column not in table.columns:
        raise KeyError(f"code list {name!r} has no column {column!r}; it has {table.columns}")
    values = table.get_column(column).drop_nulls().str.strip_chars()
    return sorted(values.filter(values != "").unique().to_list())


COVERAGE_ACTIONS: tuple[str, ...] = ("unknown", "note")
"""What a declared coverage gap does: ``unknown`` (an exposure computed from the source is
null in the gap) or ``note`` (declared and documented, exposures unchanged)."""


def coverage_table() -> pl.DataFrame:
    """The declared coverage table: where a register source is absent or incomplete.

    One row per register x part (``period``, e.g. ``"out_of_hours"`` services of SSSY) x
    region (``REG``, the BEF region code 81-85; null: every region) x period of time (``start``
    to ``end``, both inclusive; ``end`` null while the gap lasts, ``start`` null when the gap
    is the time before the register began, e.g. ``plh`` before 2011), with ``coverage``
    (``"absent"`` or ``"partial"``), ``action`` (:data:`COVERAGE_ACTIONS`), ``reason`` and
    ``source``. Read from the code list ``coverage``; the exposure functions
    (:func:`paleval.cohort.add_gp_exposures`) and :func:`paleval.registers.validate` use the
    ``sssy`` rows, :func:`covered_from` the open-start ``absent`` rows (``plh``).

    Examples
    --------
    >>> import polars as pl
    >>> t = coverage_table()
    >>> t.filter(pl.col("action") == "unknown").select("register", "period", "REG", "start").row(0)
    ('sssy', 'out_of_hours', '84', datetime.date(2014, 1, 1))
    """
    import polars as pl

    t = load_codes("coverage").with_columns(pl.col("start", "end").str.to_date("%Y-%m-%d"))
    bad = t.filter(
        ~pl.col("action").is_in(list(COVERAGE_ACTIONS))
        | (pl.col("start").is_null() & pl.col("end").is_null())
    )
    if bad.height:
        raise ValueError(
            f"code list 'coverage': rows {bad.select('register', 'REG').rows()} need a start "
            f"or an end date and an action in {list(COVERAGE_ACTIONS)}"
        )
    return t


def covered_from(register: str, period: str | None = None) -> dt.date | None:
    """The first day a register (part) is observed nationally, from the coverage table: the
    day after the end of a declared ``absent`` gap with an open start (``None`` when no such
    gap is declared). A value at an earlier date is unknown, not a negative finding.

    Examples
    --------
    >>> covered_from("plh")
    datetime.date(2011, 1, 1)
    >>> covered_from("sssy", "out_of_hours") is None
    True
    """
    import polars as pl

    t = coverage_table().filter(
        (pl.col("register") == register)
        & pl.col("start").is_null()
        & (pl.col("coverage") == "absent")
        & pl.col("REG").is_null()
    )
    if period is not None:
        t = t.filter(pl.col("period") == period)
    if t.height == 0:
        return None
    return t["end"].max() + dt.timedelta(days=1)
