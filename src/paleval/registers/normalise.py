"""Code normalisation helpers as :class:`polars.Expr` functions (no Python loops over rows).

- :func:`normalise_icd10`: ICD-10 / SKS diagnosis codes to one spelling, with or without the
  ``D`` prefix that SKS (the patient register LPR) puts in front of ICD-10 codes and that the
  cause-of-death and cancer registers do not use;
- :func:`honuge_to_week_start` / :func:`honuge_to_week_end`: the health insurance register's
  payment week ``HONUGE`` (``yyww``, ISO year and ISO week) to the Monday / Sunday of that week.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import polars as pl

__all__ = [
    "PAYMENT_GRACE_WEEKS",
    "honuge_to_week_end",
    "honuge_to_week_start",
    "normalise_icd10",
]

PAYMENT_GRACE_WEEKS = 8
"""Payment weeks after death that still belong to the time before death: the health insurance
register (SSSY) dates a GP service by the week it was paid (``HONUGE``), which can lag the
service by weeks, and a service paid after death was given before it. GP windows that end at
death count them (:func:`paleval.cohort.add_gp_exposures`); validation reports them as
``sssy_paid_after_death``, not as events after death (``docs/methods.md``)."""


def normalise_icd10(expr: pl.Expr | str, *, strip_d_prefix: bool) -> pl.Expr:
    """Normalise ICD-10 / SKS diagnosis codes.

    Upper-cases, removes spaces, dots and dashes, and maps empty strings to null. Then:

    - ``strip_d_prefix=True``: remove the SKS ``D`` prefix, giving plain ICD-10 as in the
      cause-of-death (DODSAASG) and cancer (T_TUMOR) registers: ``DC349`` -> ``C349``;
    - ``strip_d_prefix=False``: make sure the SKS ``D`` prefix is there, as in LPR:
      ``C349`` -> ``DC349``.

    A code carries the SKS prefix when it starts with ``D`` followed by a letter (ICD-10 codes
    are one letter followed by digits), so chapter-D codes such as ``D50`` (anaemia) are handled:
    without prefix ``D50``, with prefix ``DD50``.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"code": ["dc34.9", "C34 9", "DD50", "D50", " i21.0 ", "", None]})
    >>> df.select(
    ...     icd=normalise_icd10("code", strip_d_prefix=True),
    ...     sks=normalise_icd10("code", strip_d_prefix=False),
    ... ).to_dicts()[:4]  # doctest: +NORMALIZE_WHITESPACE
    [{'icd': 'C349', 'sks': 'DC349'}, {'icd': 'C349', 'sks': 'DC349'},
     {'icd': 'D50', 'sks': 'DD50'}, {'icd': 'D50', 'sks': 'DD50'}]
    >>> df.select(normalise_icd10("code", strip_d_prefix=True)).to_series().to_list()[4:]
    ['I210', None, None]
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    clean = e.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s.\-]", "")
    clean = pl.when(clean.str.len_chars() > 0).then(clean)
    has_prefix = clean.str.contains(r"^D[A-Z]")
    if strip_d_prefix:
        return pl.when(has_prefix).then(clean.str.slice(1)).otherwise(clean)
    return pl.when(has_prefix).then(clean).otherwise(pl.lit("D") + clean)


@lru_cache(maxsize=8)
def _week_table(century_pivot: int) -> tuple[list[str], list[datetime.date]]:
    """All valid ``yyww`` strings and their Mondays (a lookup table of about 5,200 weeks)."""
    keys, mondays = [], []
    for yy in range(100):
        year = 1900 + yy if yy >= century_pivot else 2000 + yy
        n_weeks = datetime.date(year, 12, 28).isocalendar()[1]  # 28 December is in the last week
        for ww in range(1, n_weeks + 1):
            keys.append(f"{yy:02d}{ww:02d}")
            mondays.append(datetime.date.fromisocalendar(year, ww, 1))
    return keys, mondays


def honuge_to_week_start(expr: pl.Expr | str, *, century_pivot: int = 90) -> pl.Expr:
    """Monday of the ISO week ``yyww`` (the SSSY payment week ``HONUGE``), as a Date.

    ``yy`` at or above ``century_pivot`` (default 90) is 19yy, below it 20yy (SSSY starts in
    1990). Malformed values (not four digits, e.g. ``"1953x"``), week 00, weeks above 53 and
    week 53 in years with 52 ISO weeks give null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"HONUGE": ["1901", "2053", "1553", "1953x", "1954", "9952", None]})
    >>> df.select(honuge_to_week_start("HONUGE")).to_series().to_list()
    ... # doctest: +NORMALIZE_WHITESPACE
    [datetime.date(2018, 12, 31), datetime.date(2020, 12, 28), datetime.date(2015, 12, 28),
     None, None, datetime.date(1999, 12, 27), None]
    """
    # A gather from a 10,000-entry table indexed by the four digits: elementwise (the streaming
    # engine streams it, where a replace_strict lookup would hold the whole column) and about
    # 25 ns a row, where computing the dates per row with date arithmetic is 20x slower.
    e = pl.col(expr) if isinstance(expr, str) else expr
    text = e.cast(pl.String).str.strip_chars()
    index = pl.when(text.str.contains(r"^[0-9]{4}$")).then(text.cast(pl.Int32, strict=False))
    out = pl.lit(_week_lookup(century_pivot)).gather(index)
    try:  # keep the input's name, as an elementwise function would
        return out.alias(e.meta.output_name())
    except pl.exceptions.ComputeError:  # an input without one: name the result yourself
        return out


@lru_cache(maxsize=8)
def _week_lookup(century_pivot: int) -> pl.Series:
    """Monday of week ``yyww`` at position ``int(yyww)`` (null where the week is invalid)."""
    table: list[datetime.date | None] = [None] * 10_000
    for key, monday in zip(*_week_table(century_pivot), strict=True):
        table[int(key)] = monday
    return pl.Series("_week_lookup", table, dtype=pl.Date)


def honuge_is_valid(expr: pl.Expr | str, *, century_pivot: int = 90) -> pl.Expr:
    """Whether a payment week ``yyww`` is valid, i.e. :func:`honuge_to_week_start` gives a date
    (null stays null).

    A membership test against the list of valid weeks: on parquet files the reader answers it
    from the column's dictionary, where the week lookup itself runs on every row (a national
    SSSY year: 0.01 s against 2.6 s).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"HONUGE": ["1901", " 2053", "1553", "1953x", "1954", None]})
    >>> df.select(honuge_is_valid("HONUGE")).to_series().to_list()
    [True, True, True, False, False, None]
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    return e.cast(pl.String).str.strip_chars().is_in(_week_table(century_pivot)[0])


def honuge_to_week_end(expr: pl.Expr | str, *, century_pivot: int = 90) -> pl.Expr:
    """Sunday of the ISO week ``yyww`` (week start + 6 days), null when invalid.

    A service paid in week ``yyww`` took place on some day between
    :func:`honuge_to_week_start` and this date (both inclusive): use the start to test
    "on or after" and the end to test "on or before" conservatively.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"w": ["1901", "2054"]}).select(honuge_to_week_end("w")).to_series().to_list()
    [datetime.date(2019, 1, 6), None]
    """
    return honuge_to_week_start(expr, century_pivot=century_pivot) + pl.duration(days=6)
