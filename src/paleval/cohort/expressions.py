"""Small, named polars expressions and frame steps that cohorts are built from."""

from __future__ import annotations

import polars as pl

from paleval.codes import load_codes

__all__ = [
    "age_group",
    "icd10_clean",
    "icd10_grouper",
    "years_between",
]

AGE_BREAKS = (50, 60, 70, 80)
AGE_LABELS = ("18-49", "50-59", "60-69", "70-79", "80+")


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


def age_group(age: str | pl.Expr) -> pl.Expr:
    """Age groups 18-49, 50-59, 60-69, 70-79, 80+ (as in paleval's planted models).

    Examples
    --------
    >>> pl.DataFrame({"a": [18, 59, 80]}).select(age_group("a")).to_series().to_list()
    ['18-49', '50-59', '80+']
    """
    a = pl.col(age) if isinstance(age, str) else age
    expr = pl.when(a < AGE_BREAKS[0]).then(pl.lit(AGE_LABELS[0]))
    for lo, label in zip(AGE_BREAKS[1:], AGE_LABELS[1:-1], strict=True):
        expr = expr.when(a < lo).then(pl.lit(label))
    return expr.when(a.is_not_null()).then(pl.lit(AGE_LABELS[-1]))


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
