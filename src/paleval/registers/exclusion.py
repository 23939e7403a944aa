"""The exclusion rules of the register extracts: what a row or a value must satisfy to be
used, as polars conditions. The one source of what :func:`~paleval.registers.validate` counts
and what the loaders (``scan_register(..., exclude=True)``) drop or make null.

- :func:`row_rules` / :func:`exclusion_filter`: rules about a row (severity ``exclude``);
- :func:`value_rules` / :func:`value_nulls`: rules about one value (severity ``null``);
- :func:`date_rules`: the date plausibility rules of one column.

This module imports only the register model and the normalisers, so both
:mod:`paleval.registers.loading` and :mod:`paleval.registers.validation` import it at the top
(before, the loader imported validation lazily inside ``scan_register``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from paleval.registers.model import (
    DATE_FLOOR,
    EARLIEST_DATES,
    NOT_BOUNDED_BY_EXTRACT,
    OPEN_END_DATES,
    REGISTERS,
    SAS_ZERO,
    SENTINEL_DATES,
    SENTINEL_FROM_YEAR,
)
from paleval.registers.normalise import honuge_is_valid

__all__ = [
    "AT_LEAST_ONE",
    "DATE_PAIRS",
    "NON_NEGATIVE",
    "NULL_MEANS_OPEN",
    "date_rules",
    "end_date",
    "exclusion_filter",
    "nulls_value",
    "row_rules",
    "valid_date",
    "value_nulls",
    "value_rules",
]


NON_NEGATIVE: frozenset[str] = frozenset({"V_SENGDAGE", "ANTPERSF", "LISTESTOERRELSE", "PACKSIZE"})

AT_LEAST_ONE: frozenset[str] = frozenset({"ANTPERSF"})
"""Counts that cannot be zero (rule ``count_below_minimum``): BEF's number of persons in the
family counts the person themself, so a family has at least one person; a 0 would make the
person "not living alone" (``ANTPERSF == 1``)."""


DATE_PAIRS: dict[str, tuple[str, str, str]] = {
    "lpr_adm": ("D_INDDTO", "D_UDDTO", "end_before_start"),
    "lpr_f_kontakter": ("dato_start", "dato_slut", "end_before_start"),
    "tilknytning": ("DATO_FRA", "DATO_TIL", "end_before_start"),
    "dpd": ("HENV_DATO", "FOERSTE_KONTAKT_DATO", "dpd_contact_before_referral"),
    "plh": ("TILFLYT_DATO", "FRAFLYT_DATO", "end_before_start"),
}


def date_rules(key: str, column: str, value: pl.Expr, extract_end: dt.date) -> dict[str, pl.Expr]:
    """The date plausibility rules of one date column: rule -> condition (``True``: the value
    breaks it; never null). The conditions are disjoint: a sentinel is only ``date_sentinel``.

    Examples
    --------
    >>> d = dt.date
    >>> df = pl.DataFrame({"x": [d(1900, 1, 1), d(1960, 1, 1), d(1993, 5, 1), d(2030, 1, 1),
    ...     d(2015, 3, 3), None]})
    >>> r = date_rules("lmdb", "EKSD", pl.col("x"), d(2024, 12, 31))
    >>> df.select(**r).rows()  # doctest: +NORMALIZE_WHITESPACE
    [(True, False, False), (True, False, False), (False, True, False),
     (False, False, True), (False, False, False), (False, False, False)]
    """
    earliest = EARLIEST_DATES.get((key, column), DATE_FLOOR)
    far_future = value >= pl.lit(dt.date(SENTINEL_FROM_YEAR, 1, 1))
    open_end = (key, column) in OPEN_END_DATES
    if open_end:  # "still current": kept, an interval open to the future
        sentinel = pl.any_horizontal([value == pl.lit(d) for d in SENTINEL_DATES if d.year < 2000])
    else:
        sentinel = pl.any_horizontal([value == pl.lit(d) for d in SENTINEL_DATES]) | far_future
    if earliest > SAS_ZERO:
        sentinel = sentinel | (value == pl.lit(SAS_ZERO))
    out = {
        "date_sentinel": sentinel,
        "date_before_range": ~sentinel & (value < pl.lit(earliest)),
    }
    if (key, column) not in NOT_BOUNDED_BY_EXTRACT:
        after = ~sentinel & (value > pl.lit(extract_end))
        out["date_after_extract_end"] = after & ~far_future if open_end else after
    return {rule: cond.fill_null(False) for rule, cond in out.items()}


def valid_date(key: str, column: str, value: pl.Expr, extract_end: dt.date) -> pl.Expr:
    return ~pl.any_horizontal(list(date_rules(key, column, value, extract_end).values()))


def row_rules(
    key: str, values: dict[str, pl.Expr], extract_end: dt.date
) -> list[tuple[str, str, pl.Expr]]:
    """The per-row *exclude* rules of register ``key`` that look at values, as
    ``(rule, column, condition)`` (``True``: the row breaks the rule; never null).

    ``values`` maps each declared column present to its (parsed) value: :func:`validate`
    passes the raw columns cast to the declared types, :func:`exclusion_filter` the loaded
    columns, so what is counted and what is dropped come from the same conditions. Rules:
    the date rules (:func:`date_rules`) of the key and required date columns, the date pairs
    (``end_before_start``, ``dpd_contact_before_referral``; only between two plausible
    dates), ``honuge_invalid`` and ``lpr3_refuted_diagnosis``. ``null_required`` is
    separate (a missing raw value, see :func:`exclusion_filter`). The rules about one value
    (``number_not_finite``, ``negative_value``, an implausible date in a nullable non-key
    column) null the value instead: :func:`value_rules`.

    Examples
    --------
    >>> d = dt.date
    >>> df = pl.DataFrame({"PNR": ["a", "b"], "EKSD": [d(2019, 1, 1), d(1900, 1, 1)],
    ...     "APK": [1.0, float("nan")]})
    >>> rules = row_rules("lmdb", {c: pl.col(c) for c in df.columns}, d(2024, 12, 31))
    >>> [(r, c) for r, c, _ in rules]
    [('date_sentinel', 'EKSD'), ('date_before_range', 'EKSD'), ('date_after_extract_end', 'EKSD')]
    >>> df.select(rules[0][2]).to_series().to_list()
    [False, True]
    """
    return [r for r in _value_conditions(key, values, extract_end) if not nulls_value(key, *r[:2])]


def value_rules(
    key: str, values: dict[str, pl.Expr], extract_end: dt.date
) -> list[tuple[str, str, pl.Expr]]:
    """The per-value rules of register ``key``, as ``(rule, column, condition)`` (``True``: the
    value breaks the rule; never null): the value is made null by the loaders
    (:func:`value_nulls`) and counted by :func:`validate` (severity ``null``); the row is kept.

    ``number_not_finite``, ``negative_value`` and ``count_below_minimum`` always; the date
    rules in a nullable date column outside the register's key (:func:`nulls_value`).

    Examples
    --------
    >>> rules = value_rules("faik", {"FAMAEKVIVADISP_13": pl.col("x")}, dt.date(2024, 12, 31))
    >>> [(r, c) for r, c, _ in rules]
    [('number_not_finite', 'FAMAEKVIVADISP_13')]
    """
    return [r for r in _value_conditions(key, values, extract_end) if nulls_value(key, *r[:2])]


def nulls_value(key: str, rule: str, column: str) -> bool:
    """Whether ``rule`` makes a value of ``column`` null (``True``) or drops the row.

    Examples
    --------
    >>> nulls_value("dpd", "date_sentinel", "FOERSTE_KONTAKT_DATO")
    True
    >>> nulls_value("dpd", "date_sentinel", "HENV_DATO")
    False
    >>> nulls_value("faik", "number_not_finite", "FAMAEKVIVADISP_13")
    True
    >>> nulls_value("plh", "date_sentinel", "FRAFLYT_DATO")  # null would mean "still there"
    False
    """
    if rule in ("number_not_finite", "negative_value", "count_below_minimum"):
        return True
    if rule in ("date_sentinel", "date_before_range", "date_after_extract_end"):
        reg = REGISTERS[key]
        v = next((v for v in reg.variables if v.name == column), None)
        return (
            v is not None
            and v.nullable
            and column not in reg.primary_key
            and (key, column) not in NULL_MEANS_OPEN
        )
    return False


NULL_MEANS_OPEN: frozenset[tuple[str, str]] = frozenset(
    {("tilknytning", "DATO_TIL"), ("plh", "FRAFLYT_DATO")}
)
"""Nullable end dates in which an empty value means "still current" (a listing, a
nursing-home stay): an implausible date there excludes the row, as nulling it would turn an
unknown end into an interval open to the end of follow-up."""


def _value_conditions(
    key: str, values: dict[str, pl.Expr], extract_end: dt.date
) -> list[tuple[str, str, pl.Expr]]:
    reg = REGISTERS[key]
    out: list[tuple[str, str, pl.Expr]] = []
    for v in reg.variables:
        e = values.get(v.name)
        if e is None:
            continue
        if v.name in NON_NEGATIVE:
            out.append(("negative_value", v.name, (e < 0).fill_null(False)))
        if v.name in AT_LEAST_ONE:
            out.append(("count_below_minimum", v.name, (e == 0).fill_null(False)))
        if v.dtype == pl.Float64:
            out.append(
                ("number_not_finite", v.name, (e.is_nan() | e.is_infinite()).fill_null(False))
            )
        if v.dtype == pl.Date:
            out += [(r, v.name, c) for r, c in date_rules(key, v.name, e, extract_end).items()]
        if v.name == "HONUGE":
            out.append(
                ("honuge_invalid", v.name, (e.is_not_null() & ~honuge_is_valid(e)).fill_null(False))
            )
        if key == "lpr_f_diagnoser" and v.name == "senere_afkraeftet":
            out.append(("lpr3_refuted_diagnosis", v.name, (e == "Ja").fill_null(False)))
    pair = DATE_PAIRS.get(key)
    if pair and pair[0] in values and pair[1] in values:
        start, end, rule = pair
        s_, e_ = values[start], values[end]
        both = valid_date(key, start, s_, extract_end) & valid_date(key, end, e_, extract_end)
        out.append((rule, end, (both & (e_ < s_)).fill_null(False)))
    return out


def end_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def exclusion_filter(
    key: str,
    columns: Iterable[str] | None = None,
    *,
    extract_end: dt.date | str | None = None,
) -> pl.Expr | None:
    """The row filter (``True``: keep) of every per-row *exclude* rule of register ``key``:
    the one source of what the loaders drop and what :func:`validate` counts.

    Applied by the loaders with ``exclude=True`` (:func:`~paleval.registers.scan_register`,
    :func:`~paleval.registers.lpr_contacts`, :func:`~paleval.registers.lpr_diagnoses`):

    - ``null_required``: a required (non-nullable) variable is missing;
    - the conditions of :func:`row_rules` (the same expressions :func:`validate` counts):
      ``negative_value``, ``number_not_finite``, ``date_sentinel``, ``date_before_range``,
      ``date_after_extract_end``, ``end_before_start``, ``dpd_contact_before_referral``,
      ``honuge_invalid``, ``lpr3_refuted_diagnosis``.

    Exclude rules that are not per row of one register: ``lpr_duplicate_contact``
    (:func:`deduplicate_contacts`, and :func:`paleval.cohort.add_hospital_use` inside its
    window); ``death_before_birth`` and ``age_over_max`` (:func:`death_rules`, applied by
    :func:`paleval.cohort.decedent_cohort`); ``event_after_death`` and
    ``event_before_birth`` (every exposure window ends at its anchor date, e.g. death).
    ``columns`` restricts the filter to the variables present (default: all declared).
    ``extract_end`` defaults to today; pass :func:`extract_end_of` ``(data_dir)`` (what
    :func:`validate` uses by default) to drop what validation counts after the extract's end.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> dpd = pl.DataFrame({"PNR": ["a", "b", None, "c"], "HENV_DATO": [d(2020, 1, 5)] * 3
    ...     + [d(1900, 1, 1)], "FOERSTE_KONTAKT_DATO": [d(2020, 1, 9), d(2020, 1, 1), None, None]})
    >>> dpd.filter(exclusion_filter("dpd", dpd.columns))["PNR"].to_list()
    ['a']
    """
    reg = REGISTERS[key]
    present = set(columns) if columns is not None else {v.name for v in reg.variables}
    end = end_date(extract_end) or dt.date.today()
    values = {v.name: pl.col(v.name) for v in reg.variables if v.name in present}
    conds = [
        pl.col(v.name).is_not_null() for v in reg.variables if v.name in present and not v.nullable
    ]
    conds += [~cond for _, _, cond in row_rules(key, values, end)]
    return pl.all_horizontal(conds) if conds else None


def value_nulls(
    key: str,
    columns: Iterable[str] | None = None,
    *,
    extract_end: dt.date | str | None = None,
) -> dict[str, pl.Expr]:
    """Column -> the column with its invalid values made null: the per-value rules
    (:func:`value_rules`) of register ``key``, applied by the loaders with ``exclude=True``
    after :func:`exclusion_filter`. A value :func:`validate` counts as nulled (severity
    ``null``) is null in every study frame; the row stays.

    Examples
    --------
    >>> faik = pl.DataFrame({"FAMILIE_ID": ["a", "b"], "FAMAEKVIVADISP_13": [1.0, float("nan")]})
    >>> faik.with_columns(**value_nulls("faik", faik.columns))["FAMAEKVIVADISP_13"].to_list()
    [1.0, None]
    """
    reg = REGISTERS[key]
    present = set(columns) if columns is not None else {v.name for v in reg.variables}
    end = end_date(extract_end) or dt.date.today()
    values = {v.name: pl.col(v.name) for v in reg.variables if v.name in present}
    bad: dict[str, list[pl.Expr]] = {}
    for _, col, cond in value_rules(key, values, end):
        bad.setdefault(col, []).append(cond)
    return {c: pl.when(~pl.any_horizontal(cs)).then(pl.col(c)).alias(c) for c, cs in bad.items()}
