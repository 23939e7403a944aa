"""Date columns of raw files: the refused forms checked at scan time (month-first dates,
two-digit years, a numeric column mixing SAS day numbers and ``YYYYMMDD`` integers) and the
parsing of a raw column as a Date (see :mod:`paleval.registers.loading`, "Dates")."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from paleval.registers.discovery import RegisterFile, RegisterLoadError
from paleval.registers.model import EARLIEST_DATES
from paleval.registers.normalise import (
    LOCAL_TIME_ZONE,
    TWO_DIGIT_YEAR,
    number_date_kind,
    number_to_date,
    text_to_date,
)

__all__ = ["check_number_dates", "parse_date", "sniff_text_dates"]


_TEXT_DATE_COUNTS: dict[tuple, dict[str, int]] = {}
_NUMBER_KINDS: dict[tuple[str, int, int, str], tuple[int, int, list[str], str | None]] = {}

UNIX_SHIFT_DAYS = 3653
"""Days from SAS's day 0 (1960-01-01) to Unix's day 0 (1970-01-01): a Unix day number read as
a SAS day number gives a date 3,653 days (ten years) early."""

YEAR_DATES: dict[str, str] = {
    "lpr_adm": "D_INDDTO",
    "lpr_f_kontakter": "dato_start",
    "lmdb": "EKSD",
}
"""The date column of a yearly file that falls in the file's year (the year in its name)."""


def _unix_signals(col: str, name: str, f: RegisterFile) -> list[pl.Expr]:
    """Aggregates telling SAS from Unix day numbers in column ``col`` (declared ``name``):
    the day numbers whose date falls in the file's year read from 1960 (``sy``) and from 1970
    (``uy``), and those before the register's coverage (:data:`EARLIEST_DATES`) read from
    1960 (``sb``) and from 1970 (``ub``)."""
    days = number_date_kind(pl.col(col)) == "sas_days"
    sas = pl.when(days).then(number_to_date(pl.col(col)))
    unix = sas + pl.duration(days=UNIX_SHIFT_DAYS)
    out = []
    if f.year is not None and YEAR_DATES.get(f.register) == name:
        out += [(sas.dt.year() == f.year).sum().alias(f"sy|{col}")]
        out += [(unix.dt.year() == f.year).sum().alias(f"uy|{col}")]
    earliest = EARLIEST_DATES.get((f.register, name))
    if earliest is not None:
        out += [(sas < earliest).sum().alias(f"sb|{col}")]
        out += [(unix < earliest).sum().alias(f"ub|{col}")]
    return out


def _unix_reason(row: dict, col: str, n_days: int, f: RegisterFile, name: str) -> str | None:
    """Why the day numbers of ``col`` look like Unix day numbers, or None."""
    sy, uy = row.get(f"sy|{col}"), row.get(f"uy|{col}")
    if sy is not None and uy is not None and uy > sy and 2 * uy >= n_days:
        return (
            f"read from 1960-01-01 (SAS) {sy} of {n_days} dates fall in the file's year "
            f"{f.year}, read from 1970-01-01 (Unix) {uy} do"
        )
    sb, ub = row.get(f"sb|{col}"), row.get(f"ub|{col}")
    if sb and ub == 0:
        first = EARLIEST_DATES[(f.register, name)].isoformat()
        return (
            f"read from 1960-01-01 (SAS) {sb} of {n_days} dates fall before the register "
            f"began ({first}), read from 1970-01-01 (Unix) none do"
        )
    return None


_MONTH_FIRST = r"^(?:0?[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])/\d{4}"


def sniff_text_dates(
    lf: pl.LazyFrame, f: RegisterFile, cols: list[tuple[str, str]], pivot: int | None
) -> None:
    """Month-first dates and two-digit years (without a pivot) in every row of the text date
    columns: one streaming pass counting them (remembered per file, size and modification
    time), and a second query for the first three examples only when there are any.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dod.csv"
    >>> _ = p.write_text("PNR,DODDATO\\n1,31-01-15\\n")
    >>> f = RegisterFile("dod", p, None, "csv")
    >>> try:
    ...     sniff_text_dates(pl.scan_csv(p, infer_schema=False), f, [("DODDATO", "DODDATO")], None)
    ... except RegisterLoadError as e:
    ...     print(e.message[:34])
    two-digit years in 1 of 1 rows (e.
    """
    st = f.path.stat()
    checks: list[tuple[str, str, str]] = []  # (raw column, what, condition id)
    conds: dict[str, pl.Expr] = {}
    for i, (_, raw) in enumerate(cols):
        s = pl.col(raw).str.strip_chars().str.to_uppercase()
        conds[f"m{i}"] = s.str.contains(_MONTH_FIRST).fill_null(False)
        checks.append((raw, "month-first", f"m{i}"))
        if pivot is None:
            no_time = s.str.replace(r"(?:[ T:]\d{1,2}:\d{2}.*)$", "")
            conds[f"t{i}"] = no_time.str.contains(TWO_DIGIT_YEAR).fill_null(False)
            checks.append((raw, "two-digit", f"t{i}"))
    key = (str(f.path), st.st_size, st.st_mtime_ns, tuple(sorted(conds)), tuple(cols))
    counts = _TEXT_DATE_COUNTS.get(key)
    if counts is None:
        aggs = [pl.len().alias("__n")] + [c.sum().alias(k) for k, c in conds.items()]
        try:
            row = lf.select(aggs).collect(engine="streaming").row(0, named=True)
        except Exception:  # unreadable rows: reported where the data are read
            return
        counts = {k: int(v) for k, v in row.items()}
        _TEXT_DATE_COUNTS[key] = counts
    todo = {
        "month-first": ("month-first dates (MM/DD/YYYY)", "paleval reads DD/MM/YYYY (Danish "
                        "usage): convert the column"),
        "two-digit": ("two-digit years", "the century is unknown: deliver four-digit years or "
                      "pass two_digit_year_pivot= (e.g. 30: 00-29 -> 20yy, 30-99 -> 19yy)"),
    }  # fmt: skip
    names = dict((raw, name) for name, raw in cols)
    for raw, kind, cid in checks:
        n = counts[cid]
        if not n:
            continue
        what, advice = todo[kind]
        bad = (
            lf.select(raw)
            .with_row_index("__row", offset=1)
            .filter(conds[cid])
            .head(3)
            .collect(engine="streaming")
        )
        ex = "; ".join(f"row {r}: {v!r}" for r, v in bad.iter_rows())
        raise RegisterLoadError(
            f.register, f.name, names[raw],
            f"{what} in {n} of {counts['__n']} rows (e.g. {ex}): {advice}",
        )  # fmt: skip


def check_number_dates(lf: pl.LazyFrame, f: RegisterFile, cols: list[tuple[str, str]]) -> None:
    """Refuse a numeric date column of ``f`` (``cols``: declared name, raw name) that mixes
    SAS day numbers and ``YYYYMMDD`` integers (:class:`RegisterLoadError`); all rows are
    counted once per file version (path, size, modification time).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dod.parquet"
    >>> pl.DataFrame({"PNR": ["1", "2"], "D": [20150131, 20000]}).write_parquet(p)
    >>> f = RegisterFile("dod", p, None, "parquet")
    >>> try:
    ...     check_number_dates(pl.scan_parquet(p), f, [("DODDATO", "D")])
    ... except RegisterLoadError as e:
    ...     print(e.message[:42])
    numbers of two kinds in one date column: 1
    """
    st = f.path.stat()
    todo = [
        (n, r) for n, r in cols if (str(f.path), st.st_size, st.st_mtime_ns, r) not in _NUMBER_KINDS
    ]
    if todo:
        aggs = []
        for n, r in todo:
            k = number_date_kind(pl.col(r))
            aggs += [
                (k == "sas_days").sum().alias(f"d|{r}"),
                (k == "yyyymmdd").sum().alias(f"y|{r}"),
                *_unix_signals(r, n, f),
            ]
        aggs += [
            pl.col(r)
            .filter(number_date_kind(pl.col(r)) == "yyyymmdd")
            .first()
            .cast(pl.String)
            .alias(f"e|{r}")
            for _, r in todo
        ]
        try:
            row = lf.select(aggs).collect(engine="streaming").row(0, named=True)
        except Exception:
            return
        for n, r in todo:
            key = (str(f.path), st.st_size, st.st_mtime_ns, r)
            n_days = int(row[f"d|{r}"])
            why = _unix_reason(row, r, n_days, f, n) if n_days else None
            _NUMBER_KINDS[key] = (n_days, int(row[f"y|{r}"]), [str(row[f"e|{r}"])], why)
    for name, r in cols:
        n_days, n_ymd, ex, unix = _NUMBER_KINDS[(str(f.path), st.st_size, st.st_mtime_ns, r)]
        if n_days and n_ymd:
            raise RegisterLoadError(
                f.register, f.name, name,
                f"numbers of two kinds in one date column: {n_days} SAS day numbers and "
                f"{n_ymd} YYYYMMDD integers (e.g. {ex[0]}): ambiguous, convert the column",
            )  # fmt: skip
        if unix is not None:
            raise RegisterLoadError(
                f.register, f.name, name,
                f"day numbers from an unknown origin: {unix}. Day numbers are read as SAS "
                "day numbers (days since 1960-01-01); these look like Unix day numbers (days "
                "since 1970-01-01), which would put every date ten years (3,653 days) early: "
                "convert the column to dates (or to SAS day numbers)",
            )  # fmt: skip


def parse_date(
    e: pl.Expr, src: pl.DataType, text: Callable[[pl.Expr], pl.Expr], pivot: int | None
) -> pl.Expr:
    """A raw column as a Date: dates as they are, datetimes' date part (a datetime with a time
    zone: its date in Danish time, :data:`LOCAL_TIME_ZONE`), numbers as SAS day
    numbers or ``YYYYMMDD`` integers by range (:func:`~paleval.registers.normalise.
    number_to_date`), text in the accepted formats (:func:`~paleval.registers.normalise.
    text_to_date`); other types (times of day) null.

    Examples
    --------
    >>> df = pl.DataFrame({"d": ["31JAN2015", "x"]})
    >>> df.select(parse_date(pl.col("d"), pl.String(), lambda e: e, None)).to_series().to_list()
    [datetime.date(2015, 1, 31), None]
    """
    if src == pl.Date:
        return e
    if isinstance(src, pl.Datetime):
        if src.time_zone is not None:
            # an instant: its date is the calendar day in Denmark, not in UTC (2020-05-31
            # 22:30 UTC is 2020-06-01 00:30 in Copenhagen)
            return e.dt.convert_time_zone(LOCAL_TIME_ZONE).dt.date()
        return e.dt.date()
    if src.is_numeric():
        return number_to_date(e)
    if src == pl.String:
        return text_to_date(text(e), two_digit_year_pivot=pivot)
    return pl.lit(None, pl.Date)
