"""Small, named polars expressions and frame steps that cohorts are built from."""

from __future__ import annotations

import itertools
from typing import Any

import polars as pl

from paleval.codes import load_codes
from paleval.codes.vocabulary import AGE_BREAKS, AGE_BREAKS_80PLUS, AGE_GROUPS, moved_aliases

__all__ = [
    "AGE_BREAKS",
    "AGE_BREAKS_80PLUS",
    "age_group",
    "age_labels",
    "icd10_clean",
    "icd10_grouper",
    "years_between",
]

# AGE_BREAKS (the default breaks: 18-49, 50-59, ..., 80-89, 90+) and AGE_BREAKS_80PLUS (the
# former open 80+ band) are defined in paleval.codes.vocabulary, with the labels AGE_GROUPS.
_MOVED: dict[str, tuple[str, Any]] = {"AGE_LABELS": ("AGE_GROUPS", AGE_GROUPS)}


# deprecated aliases of names that moved to paleval.codes.vocabulary (kept for one release)
__getattr__ = moved_aliases(__name__, _MOVED)


def years_between(start: str | pl.Expr, end: str | pl.Expr) -> pl.Expr:
    """Completed years from ``start`` to ``end`` (age at an event).

    Examples
    --------
    >>> import datetime as dt
    >>> df = pl.DataFrame({"b": [dt.date(1950, 6, 1)], "d": [dt.date(2020, 5, 31)]})
    >>> df.select(years_between("b", "d")).item()
    69
    """
    s = pl.col(start) if isinstance(start, str) else start
    e = pl.col(end) if isinstance(end, str) else end
    had_birthday = (e.dt.month() > s.dt.month()) | (
        (e.dt.month() == s.dt.month()) & (e.dt.day() >= s.dt.day())
    )
    return (e.dt.year() - s.dt.year() - (~had_birthday).cast(pl.Int32)).cast(pl.Int32)


def age_group(age: str | pl.Expr, breaks: tuple[int, ...] = AGE_BREAKS) -> pl.Expr:
    """Age groups 18-49, 50-59, 60-69, 70-79, 80-89, 90+ (default ``breaks``).

    ``breaks`` are the lower bounds of the groups after the first, increasing; labels are
    ``"{lo}-{hi - 1}"`` and the last is open (``"{lo}+"``); the first group is
    ``"18-{breaks[0] - 1}"`` (cohorts are adults). ``breaks=AGE_BREAKS_80PLUS`` gives the
    former open 80+ band. A null age gives null.

    Examples
    --------
    >>> pl.DataFrame({"a": [18, 59, 85, 90]}).select(age_group("a")).to_series().to_list()
    ['18-49', '50-59', '80-89', '90+']
    >>> d = pl.DataFrame({"a": [85, 95]})
    >>> d.select(age_group("a", AGE_BREAKS_80PLUS)).to_series().to_list()
    ['80+', '80+']
    """
    labels = age_labels(breaks)
    a = pl.col(age) if isinstance(age, str) else age
    expr = pl.when(a < breaks[0]).then(pl.lit(labels[0]))
    for hi, label in zip(breaks[1:], labels[1:-1], strict=True):
        expr = expr.when(a < hi).then(pl.lit(label))
    return expr.when(a.is_not_null()).then(pl.lit(labels[-1]))


def age_labels(breaks: tuple[int, ...] = AGE_BREAKS) -> tuple[str, ...]:
    """The labels :func:`age_group` gives with ``breaks``, youngest first.

    Examples
    --------
    >>> age_labels((50, 80))
    ('18-49', '50-79', '80+')
    """
    b = tuple(int(x) for x in breaks)
    if not b or any(lo >= hi for lo, hi in itertools.pairwise(b)) or b[0] <= 18:
        raise ValueError(f"age breaks must be increasing and above 18, got {breaks!r}")
    inner = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(b)]
    return (f"18-{b[0] - 1}", *inner, f"{b[-1]}+")


def icd10_clean(code: str | pl.Expr, *, strip_d: bool = False) -> pl.Expr:
    """Upper-case an ICD-10 / SKS code and remove spaces and dots; optionally the SKS 'D'.

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["dc34.1", " C509", "DI21"]})
    >>> df.select(icd10_clean("c", strip_d=True)).to_series().to_list()
    ['C341', 'C509', 'I21']
    """
    c = pl.col(code) if isinstance(code, str) else code
    c = c.str.to_uppercase().str.replace_all(r"[\s.]", "")
    if strip_d:
        c = pl.when(c.str.contains(r"^D[A-Z]\d")).then(c.str.slice(1)).otherwise(c)
    return c


def icd10_grouper(
    frame: pl.LazyFrame,
    code_col: str,
    list_name: str,
    out: str,
    *,
    key: str = "group",
    maintain_order: bool = True,
) -> pl.LazyFrame:
    """Map ICD-10 codes (no D prefix) to a group from a code list of prefixes.

    The code lists hold 3- and 4-character prefixes (``G122`` before ``G12``): a 4-character
    match wins over a 3-character one. Codes that match nothing get null.
    ``maintain_order=False`` lets the rows come out in any order (cheaper on big frames).

    Examples
    --------
    >>> lf = pl.LazyFrame({"c": ["C341", "G122", "I219", "X59"]})
    >>> icd10_grouper(lf, "c", "diagnosis_groups", "grp").collect()["grp"].to_list()
    ['cancer', 'neurodegenerative', 'heart', None]
    """
    table = load_codes(list_name).select(pl.col("icd10_prefix"), pl.col(key).alias(out))
    four = table.filter(pl.col("icd10_prefix").str.len_chars() == 4).lazy()
    three = table.filter(pl.col("icd10_prefix").str.len_chars() == 3).lazy()
    return (
        frame.with_columns(
            _p4=pl.col(code_col).str.slice(0, 4), _p3=pl.col(code_col).str.slice(0, 3)
        )
        .join(
            four.rename({"icd10_prefix": "_p4", out: "_g4"}),
            on="_p4",
            how="left",
            maintain_order="left" if maintain_order else "none",
        )
        .join(
            three.rename({"icd10_prefix": "_p3", out: "_g3"}),
            on="_p3",
            how="left",
            maintain_order="left" if maintain_order else "none",
        )
        .with_columns(pl.coalesce("_g4", "_g3").alias(out))
        .drop("_p4", "_p3", "_g4", "_g3")
    )
