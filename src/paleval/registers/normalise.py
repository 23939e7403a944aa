"""Code normalisation helpers as :class:`polars.Expr` functions (no Python loops over rows).

- :func:`normalise_icd10`: ICD-10 / SKS diagnosis codes to one spelling, with or without the
  ``D`` prefix that SKS (the patient register LPR) puts in front of ICD-10 codes and that the
  cause-of-death and cancer registers do not use;
- :func:`honuge_to_week_start` / :func:`honuge_to_week_end`: the health insurance register's
  payment week ``HONUGE`` (``yyww``, ISO year and ISO week) to the Monday / Sunday of that week.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache

import polars as pl

__all__ = [
    "DATE_RANGE",
    "LOCAL_TIME_ZONE",
    "PAYMENT_GRACE_WEEKS",
    "SAS_DATETIME_FORMATS",
    "SAS_DATE_FORMATS",
    "SAS_TIME_FORMATS",
    "TEXT_DATE_FORMATS",
    "TWO_DIGIT_YEAR",
    "honuge_to_week_end",
    "honuge_to_week_start",
    "normalise_icd10",
    "number_date_kind",
    "number_to_date",
    "sas_format_kind",
    "sas_number_to_date",
    "text_to_date",
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


# --------------------------------------------------------------------------- dates
SAS_EPOCH = datetime.date(1960, 1, 1)
"""SAS dates count days, and SAS datetimes seconds, from 1 January 1960."""
_SAS_EPOCH_DAYS = (SAS_EPOCH - datetime.date(1970, 1, 1)).days  # -3653

# SAS formats by the kind of value they display (SAS 9.4 Formats and Informats: Reference,
# "Formats by Category", Date and Time). Partial displays (MONYY., YEAR., QTR., WEEKDAY.) still
# hold a full date, which is what is read. The DT... formats (DTDATE., DTMONYY., DTWKDATX.,
# DTYEAR., DTYYQC.) display the date part of a *datetime*: pyreadstat 1.3 lists DTDATE among
# the date formats and reads it as days (overflow), which is why paleval converts itself.
SAS_DATE_FORMATS: frozenset[str] = frozenset(
    """DATE DAY DDMMYY DDMMYYB DDMMYYC DDMMYYD DDMMYYN DDMMYYP DDMMYYS DOWNAME
    EURDFDD EURDFDE EURDFDN EURDFDWN EURDFMN EURDFMY EURDFWDX EURDFWKX JULDAY JULIAN
    MMDDYY MMDDYYB MMDDYYC MMDDYYD MMDDYYN MMDDYYP MMDDYYS MMYY MMYYC MMYYD MMYYN MMYYP MMYYS
    MONNAME MONTH MONYY NENGO NLDATE NLDATEL NLDATEM NLDATEMD NLDATEMDL NLDATEMDM NLDATEMDS
    NLDATEMN NLDATES NLDATEW NLDATEWN NLDATEYM NLDATEYML NLDATEYMM NLDATEYMS NLDATEYQ
    NLDATEYQL NLDATEYQM NLDATEYQS NLDATEYR NLDATEYW PDJULG PDJULI QTR QTRR WEEKDATE WEEKDATX
    WEEKDAY WEEKU WEEKV WEEKW WORDDATE WORDDATX YEAR YYMM YYMMC YYMMD YYMMN YYMMP YYMMS
    YYMMDD YYMMDDB YYMMDDC YYMMDDD YYMMDDN YYMMDDP YYMMDDS YYMON YYQ YYQC YYQD YYQN YYQP YYQS
    YYQR YYQRC YYQRD YYQRN YYQRP YYQRS YYWEEKU YYWEEKV YYWEEKW
    E8601DA B8601DA IS8601DA ND8601DA""".split()
)
"""SAS formats of date values (days since 1960-01-01)."""

SAS_DATETIME_FORMATS: frozenset[str] = frozenset(
    """DATETIME DATEAMPM DTDATE DTMONYY DTWKDATX DTYEAR DTYYQC MDYAMPM NLDATM NLDATMAP
    NLDATMDT NLDATML NLDATMM NLDATMMD NLDATMMDL NLDATMMDM NLDATMMDS NLDATMMN NLDATMS
    NLDATMW NLDATMWN NLDATMYM NLDATMYML NLDATMYMM NLDATMYMS NLDATMYQ NLDATMYQL NLDATMYQM
    NLDATMYQS NLDATMYR NLDATMYW E8601DT E8601DN E8601DZ E8601LX B8601DT B8601DN B8601DZ
    B8601LX IS8601DT IS8601DN IS8601DZ ND8601DT ND8601DN ND8601DZ EURDFDT""".split()
)
"""SAS formats of datetime values (seconds since 1960-01-01 00:00)."""

SAS_TIME_FORMATS: frozenset[str] = frozenset(
    """TIME TIMEAMPM HHMM HOUR MMSS TOD NLTIME NLTIMAP E8601TM E8601TZ E8601LZ B8601TM
    B8601TZ B8601LZ IS8601TM IS8601TZ IS8601LZ ND8601TM ND8601TZ""".split()
)
"""SAS formats of time-of-day values (seconds since midnight)."""


def sas_format_kind(fmt: str | None) -> str | None:
    """``"date"``, ``"datetime"`` or ``"time"`` for a SAS display format (any width and
    decimals, e.g. ``"DATE9."``, ``"IS8601DA10."``, ``"DATETIME20.3"``), else ``None``.

    Examples
    --------
    >>> [sas_format_kind(f) for f in ["DATE9.", "EURDFDD10.", "DTDATE9.", "TIME8.", "BEST12."]]
    ['date', 'date', 'datetime', 'time', None]
    >>> sas_format_kind("e8601da"), sas_format_kind(None)
    ('date', None)
    """
    if not fmt:
        return None
    name = fmt.strip().upper().lstrip("$")
    name = re.sub(r"(\d+)?\.(\d+)?$", "", name)  # width and decimals: DATE9. DATETIME20.3
    if name not in SAS_DATE_FORMATS | SAS_DATETIME_FORMATS | SAS_TIME_FORMATS:
        name = re.sub(r"\d+$", "", name)  # a width without the dot: DATE9
    for kind, names in (
        ("date", SAS_DATE_FORMATS),
        ("datetime", SAS_DATETIME_FORMATS),
        ("time", SAS_TIME_FORMATS),
    ):
        if name in names:
            return kind
    return None


def sas_number_to_date(expr: pl.Expr | str, kind: str) -> pl.Expr:
    """A SAS date (``kind="date"``, days) or datetime (``kind="datetime"``, seconds) value,
    counted from 1960-01-01, as a polars Date (a datetime's date part). SAS missing values
    (NaN) and values outside 1 January of year 1 to 31 December 9999 give null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"d": [0.0, 20089.0, float("nan")], "dt": [0.0, 1735689600.5, None]})
    >>> df.select(sas_number_to_date("d", "date"), sas_number_to_date("dt", "datetime")).rows()
    ... # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(1960, 1, 1), datetime.date(1960, 1, 1)),
     (datetime.date(2015, 1, 1), datetime.date(2015, 1, 1)), (None, None)]
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    if kind not in ("date", "datetime"):
        raise ValueError(f"kind must be 'date' or 'datetime', not {kind!r}")
    x = e.cast(pl.Float64)
    days = (x / 86_400).floor() if kind == "datetime" else x.floor()
    ok = x.is_finite() & days.is_between(-719_162 - _SAS_EPOCH_DAYS, 2_932_896 - _SAS_EPOCH_DAYS)
    return pl.when(ok).then((days + _SAS_EPOCH_DAYS).cast(pl.Int32).cast(pl.Date))


DATE_RANGE = (datetime.date(1850, 1, 1), datetime.date(2099, 12, 31))
"""Dates a number without a SAS format can stand for: a SAS day number in this range
(-40,177 to 51,134) or a ``YYYYMMDD`` integer (18,500,101 to 20,991,231); the ranges do not
overlap, so each value is read one way only."""
_DAY_MIN = (DATE_RANGE[0] - SAS_EPOCH).days
_DAY_MAX = (DATE_RANGE[1] - SAS_EPOCH).days
_YMD_MIN = int(DATE_RANGE[0].strftime("%Y%m%d"))
_YMD_MAX = int(DATE_RANGE[1].strftime("%Y%m%d"))


def number_date_kind(expr: pl.Expr | str) -> pl.Expr:
    """``"sas_days"``, ``"yyyymmdd"`` or null (neither) for numbers in a date column without a
    SAS format (see :data:`DATE_RANGE`).

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"x": [20089, 20150101, 20151301, 5]}).select(number_date_kind("x"))[
    ...     "x"].to_list()
    ['sas_days', 'yyyymmdd', None, 'sas_days']
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    x = e.cast(pl.Float64)
    whole = x.is_finite() & (x == x.floor())
    ymd = x.cast(pl.Int64, strict=False).cast(pl.String).str.to_date("%Y%m%d", strict=False)
    out = (
        pl.when(whole & x.is_between(_DAY_MIN, _DAY_MAX))
        .then(pl.lit("sas_days"))
        .when(whole & x.is_between(_YMD_MIN, _YMD_MAX) & ymd.is_not_null())
        .then(pl.lit("yyyymmdd"))
    )
    try:  # keep the input's name, as an elementwise function would
        return out.alias(e.meta.output_name())
    except pl.exceptions.ComputeError:
        return out


def number_to_date(expr: pl.Expr | str) -> pl.Expr:
    """A number without a SAS format in a date column, as a Date: a SAS day number
    (days since 1960-01-01) or a ``YYYYMMDD`` integer, told apart by range
    (:func:`number_date_kind`); anything else (fractions, other ranges, invalid dates) null.
    The loader refuses a column that mixes the two kinds.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"x": [20089, 20150131, 20150231, 10**9]}).select(number_to_date("x"))[
    ...     "x"].to_list()
    [datetime.date(2015, 1, 1), datetime.date(2015, 1, 31), None, None]
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    kind = number_date_kind(e)
    x = e.cast(pl.Float64)
    ymd = x.cast(pl.Int64, strict=False).cast(pl.String).str.to_date("%Y%m%d", strict=False)
    return (
        pl.when(kind == "sas_days")
        .then(sas_number_to_date(x, "date"))
        .when(kind == "yyyymmdd")
        .then(ymd)
    )


_DANISH_MONTHS = {"MAJ": "MAY", "OKT": "OCT"}
_TIME_TAIL = r"(?:[ T:]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d*)?)?(?:Z|[+-]\d{2}:?\d{2})?)$"
TEXT_DATE_FORMATS: tuple[tuple[str, str, str], ...] = (
    ("YYYY-MM-DD", r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
    ("DDMONYYYY", r"^\d{1,2}-?[A-Z]{3}-?\d{4}$", "%d%b%Y"),
    ("DD-MM-YYYY", r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    ("DD.MM.YYYY", r"^\d{1,2}\.\d{1,2}\.\d{4}$", "%d.%m.%Y"),
    ("DD/MM/YYYY", r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
    ("YYYY/MM/DD", r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    ("YYYY.MM.DD", r"^\d{4}\.\d{1,2}\.\d{1,2}$", "%Y.%m.%d"),
    ("YYYYMMDD", r"^(?:18|19|20|21)\d{2}(?:0[1-9]|1[0-2])\d{2}$", "%Y%m%d"),
    ("DDMMYYYY", r"^\d{2}(?:0[1-9]|1[0-2])(?:18|19|20|21)\d{2}$", "%d%m%Y"),
)
"""Text date formats read (name, the shape a value must have, the strptime format), each
optionally followed by a time. An eight-digit value is ``YYYYMMDD`` when digits 5-6 are a
month and the year starts with 18-21, else ``DDMMYYYY`` (digits 5-6 of ``DDMMYYYY`` are the
century, never a month, so no value is read both ways). Slashed dates are day first (Danish
usage, SAS ``DDMMYY10.``); ``MM/DD/YYYY`` (SAS ``MMDDYY10.``) is refused by the loader."""

TWO_DIGIT_YEAR = r"^(?:\d{1,2}[-./]?\d{1,2}[-./]?\d{2}|\d{1,2}-?[A-Z]{3}-?\d{2})$"
"""Shape of a date with a two-digit year (``31-01-15``, ``310115``, ``31JAN15``)."""


def _clean_date_text(e: pl.Expr) -> pl.Expr:
    s = e.cast(pl.String).str.strip_chars().str.to_uppercase().str.replace(_TIME_TAIL, "")
    for dk, en in _DANISH_MONTHS.items():
        s = s.str.replace(rf"^(\d{{1,2}}-?){dk}", f"${{1}}{en}")
    return s


_INSTANT = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"
LOCAL_TIME_ZONE = "Europe/Copenhagen"
"""The time zone whose calendar day an instant (a time with ``Z`` or an offset) is read as."""


def _instant_to_date(e: pl.Expr) -> pl.Expr:
    """An ISO 8601 time with a UTC offset (``2020-05-31T22:30:00Z``) as its calendar day in
    Denmark (2020-06-01), not the day written in another zone; null for other text."""
    s = e.cast(pl.String).str.strip_chars().str.to_uppercase()
    iso = (
        s.str.replace(r"Z$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"T(\d{2}:\d{2})([+-])", "T${1}:00${2}")
        .str.replace(r"([+-]\d{2})(\d{2})$", "${1}:${2}")
    )
    at = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC")
    return pl.when(s.str.contains(_INSTANT)).then(
        at.dt.convert_time_zone(LOCAL_TIME_ZONE).dt.date()
    )


def text_to_date(expr: pl.Expr | str, *, two_digit_year_pivot: int | None = None) -> pl.Expr:
    """Text dates in any of :data:`TEXT_DATE_FORMATS` (also with a time, which is dropped) as
    a Date; anything else null. An ISO time with a UTC offset or ``Z`` is an instant: read as
    its calendar day in Denmark (:data:`LOCAL_TIME_ZONE`; ``2020-05-31T22:30:00Z`` is
    2020-06-01).

    A two-digit year (``31-01-15``, ``310115``, ``31JAN15``) is null unless
    ``two_digit_year_pivot`` is given: years below it are 20yy, the others 19yy (as SAS's
    ``YEARCUTOFF=`` does with 1900 + pivot). Only day-first two-digit dates are read.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"d": ["2015-01-31", "31jan2015", "31.01.2015", "20150131",
    ...                          "31012015", "2015-01-31T10:00:00", "31-01-15", "01MAJ2015"]})
    >>> df.select(text_to_date("d"))["d"].dt.to_string().to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['2015-01-31', '2015-01-31', '2015-01-31', '2015-01-31', '2015-01-31', '2015-01-31',
     None, '2015-05-01']
    >>> df.select(text_to_date("d", two_digit_year_pivot=30))["d"][6]
    datetime.date(2015, 1, 31)
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    s = _clean_date_text(e)
    parts = [_instant_to_date(e)]
    parts += [
        pl.when(s.str.contains(shape)).then(
            s.str.replace_all("-", "").str.to_date(fmt, strict=False)
        )
        if fmt == "%d%b%Y"
        else pl.when(s.str.contains(shape)).then(s.str.to_date(fmt, strict=False))
        for _, shape, fmt in TEXT_DATE_FORMATS
    ]
    if two_digit_year_pivot is not None:
        parts.append(_two_digit(s, two_digit_year_pivot))
    return pl.coalesce(parts)


def _two_digit(s: pl.Expr, pivot: int) -> pl.Expr:
    if not 0 <= pivot <= 99:
        raise ValueError(f"two_digit_year_pivot must be 0-99, not {pivot}")
    numeric = s.str.extract_groups(r"^(\d{1,2})[-./]?(\d{1,2})[-./]?(\d{2})$")
    named = s.str.extract_groups(r"^(\d{1,2})-?([A-Z]{3})-?(\d{2})$")
    out = []
    for groups, fmt in ((numeric, "%d-%m-%Y"), (named, "%d-%b-%Y")):
        yy = groups.struct.field("3")
        century = (
            pl.when(yy.cast(pl.Int32, strict=False) < pivot)
            .then(pl.lit("20"))
            .otherwise(pl.lit("19"))
        )
        text = pl.concat_str(
            [groups.struct.field("1"), groups.struct.field("2"), century + yy], separator="-"
        )
        out.append(text.str.to_date(fmt, strict=False))
    return pl.coalesce(out)
