"""Person-time by Lexis split: follow-up cut into age bands (and calendar years).

Each record's follow-up ``(entry, exit]`` is cut at the ages in ``bands`` (and, with
``calendar=True``, at every 1 January), as R ``survival::survSplit`` does on one time scale
and ``Epi::splitLexis`` on several: the pieces are contiguous, their lengths add up to the
follow-up, and an event at ``exit`` is kept only on the last piece. The split is vectorised in
polars (each record is expanded to the bands it crosses with ``int_ranges``/``explode``), with
no loop over records.

Time scale. Numeric ``entry``, ``exit`` and ``birth`` are taken as they are (in years, say),
and age is ``t - birth``. Dates are converted to decimal years of 365.25 days since
1970-01-01, the convention of ``Epi::cal.yr`` (Carstensen et al., *Epi: A Package for
Statistical Analysis in Epidemiology*): age ``a`` is reached ``a x 365.25`` days after birth (at
most a day from the calendar birthday) and 1 January of year ``Y`` is its exact date.

References
----------
Therneau TM. survival: survSplit (R package ``survival``).
Clayton D, Hills M (1993). Statistical Models in Epidemiology, ch. 6 and 34 (the Lexis diagram).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import polars as pl

__all__ = ["age_band_labels", "lexis_split", "person_time_table"]

_DAYS_PER_YEAR = 365.25
_RESERVED = (
    "age_band",
    "age_lower",
    "age_upper",
    "calendar_year",
    "start",
    "stop",
    "person_years",
)


def age_band_labels(bands: Sequence[float]) -> list[str]:
    """Labels of the age bands cut at ``bands``: the band below ``bands[0]``, the bands
    ``[b_k, b_{k+1})`` and the open last band.

    Examples
    --------
    >>> age_band_labels([0, 1, 65, 75, 85])
    ['<0', '0', '1-64', '65-74', '75-84', '85+']
    >>> age_band_labels([0, 62.5])
    ['<0', '0-<62.5', '62.5+']
    """
    b = _check_bands(bands)

    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:g}"

    integer = all(x.is_integer() for x in b)
    labels = [f"<{fmt(b[0])}"]
    for lo, hi in itertools.pairwise(b):
        if integer:
            labels.append(fmt(lo) if hi - lo == 1 else f"{fmt(lo)}-{fmt(hi - 1)}")
        else:
            labels.append(f"{fmt(lo)}-<{fmt(hi)}")
    labels.append(f"{fmt(b[-1])}+")
    return labels


def _check_bands(bands: Sequence[float]) -> list[float]:
    try:
        b = [float(x) for x in bands]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bands must be a sequence of numbers, got {bands!r}") from exc
    if not b:
        raise ValueError("bands must hold at least one age")
    if any(not math.isfinite(x) for x in b):
        raise ValueError(f"bands must be finite, got {b}")
    if any(hi <= lo for lo, hi in itertools.pairwise(b)):
        raise ValueError(f"bands must be strictly increasing, got {b}")
    return b


def _as_years(col: str, dtype: pl.DataType, arg: str) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(col).cast(pl.Int64) / _DAYS_PER_YEAR
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.epoch("s").cast(pl.Float64) / (86400.0 * _DAYS_PER_YEAR)
    if dtype.is_numeric():
        return pl.col(col).cast(pl.Float64)
    raise ValueError(f"{arg} column {col!r} must be a date or numeric, got {dtype}")


def _check_input(
    frame: pl.DataFrame | pl.LazyFrame, entry: str, exit: str, birth: str, event: str | None
) -> dict[str, pl.DataType]:
    if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
        raise TypeError(f"frame must be a polars DataFrame or LazyFrame, got {type(frame)}")
    schema = dict(frame.collect_schema())
    args = {"entry": entry, "exit": exit, "birth": birth}
    if event is not None:
        args["event"] = event
    missing = [f"{a}={c!r}" for a, c in args.items() if c not in schema]
    if missing:
        raise ValueError(f"column(s) not found in frame: {', '.join(missing)}")
    clash = [c for c in _RESERVED if c in schema]
    if clash:
        raise ValueError(f"frame already has column(s) {clash}, which lexis_split adds")
    kinds = {
        a: (schema[c] == pl.Date or isinstance(schema[c], pl.Datetime))
        for a, c in args.items()
        if a != "event"
    }
    if len(set(kinds.values())) > 1:
        raise ValueError(
            f"entry, exit and birth must all be dates or all numeric, got "
            f"{ {a: str(schema[c]) for a, c in args.items() if a != 'event'} }"
        )
    if event is not None and not (schema[event].is_numeric() or schema[event] == pl.Boolean):
        raise ValueError(f"event column {event!r} must be Boolean or numeric, got {schema[event]}")
    return schema


def _validate_rows(lf: pl.LazyFrame, entry: str, exit: str, birth: str) -> None:
    """Null, reversed and before-birth follow-up, counted in one pass."""
    bad = lf.select(
        pl.any_horizontal(pl.col("_t0", "_t1", "_b").is_null()).sum().alias("null"),
        (pl.col("_t1") < pl.col("_t0")).sum().alias("reversed"),
        (pl.col("_t0") < pl.col("_b")).sum().alias("before_birth"),
    ).collect()
    k_null, k_rev, k_birth = bad.row(0)
    if k_null:
        raise ValueError(f"{k_null} row(s) have a missing {entry!r}, {exit!r} or {birth!r}")
    if k_rev:
        raise ValueError(f"{k_rev} row(s) have {exit!r} before {entry!r}")
    if k_birth:
        raise ValueError(f"{k_birth} row(s) have {entry!r} before {birth!r}")


def _split_years(out: pl.LazyFrame, is_date: bool) -> pl.LazyFrame:
    """Cut the pieces ``(start, stop]`` at every 1 January (every integer when numeric)."""
    if is_date:
        d0 = (pl.col("start") * _DAYS_PER_YEAR).round(6).floor()
        d1 = (pl.col("stop") * _DAYS_PER_YEAR).round(6).ceil() - 1
        y0 = d0.cast(pl.Int32).cast(pl.Date).dt.year()
        y1 = d1.cast(pl.Int32).cast(pl.Date).dt.year()
        yr = pl.col("calendar_year")
        lo = pl.date(yr, 1, 1).cast(pl.Int64) / _DAYS_PER_YEAR
        hi = pl.date(yr + 1, 1, 1).cast(pl.Int64) / _DAYS_PER_YEAR
    else:
        y0 = pl.col("start").floor()
        y1 = pl.col("stop").ceil() - 1
        lo = pl.col("calendar_year").cast(pl.Float64)
        hi = lo + 1.0
    y0 = y0.cast(pl.Int32)
    y1 = pl.max_horizontal(y0, y1.cast(pl.Int32))
    return (
        out.with_columns(pl.int_ranges(y0, y1 + 1, dtype=pl.Int32).alias("calendar_year"))
        .explode("calendar_year")
        .with_columns(
            pl.max_horizontal("start", lo).alias("start"),
            pl.min_horizontal("stop", hi).alias("stop"),
        )
        .with_columns(pl.min_horizontal("start", "stop").alias("start"))
    )


def lexis_split(
    frame: pl.DataFrame | pl.LazyFrame,
    entry: str,
    exit: str,
    birth: str,
    bands: Sequence[float],
    *,
    calendar: bool = False,
    event: str | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """Split each record's follow-up ``(entry, exit]`` into age bands (and calendar years).

    Parameters
    ----------
    frame
        One row per record (person or episode), as a DataFrame or LazyFrame (a LazyFrame is
        returned lazily, after one pass checking the input).
    entry, exit
        Start and end of follow-up (dates, or numbers in years).
    birth
        Date of birth (or a number on the same scale as ``entry``); age is ``t - birth``.
    bands
        Increasing ages where the bands start, e.g. ``[0, 65, 75, 85]``: the bands are
        ``[b_k, b_{k+1})`` (labelled ``"65-74"``) and ``b_last+`` (``"85+"``); time below
        ``b_0`` goes to a band ``"<b_0"``.
    calendar
        Also cut at every 1 January (dates) or every integer (numeric time): adds
        ``calendar_year``.
    event
        Optional event indicator (Boolean or numeric code) at ``exit``; it is kept on the last
        piece and set to 0 (False) on the others.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        The input columns plus ``age_band`` (label), ``age_lower``, ``age_upper`` (band
        limits, ``inf`` for the last), ``calendar_year`` (with ``calendar``), ``start`` and
        ``stop`` (decimal years on the input's scale; dates as years since 1970 of 365.25
        days) and ``person_years`` (``stop - start``), in record order and then time order.
        Records with ``entry == exit`` keep one piece of length 0 (as ``survSplit``).

    Raises
    ------
    ValueError
        Missing columns, mixed date and numeric columns, missing values, ``exit`` before
        ``entry`` or ``entry`` before ``birth``, invalid ``bands``.

    Examples
    --------
    >>> d = pl.DataFrame({"id": [1], "birth": [0.0], "entry": [60.0], "exit": [77.5],
    ...                   "died": [1]})
    >>> s = lexis_split(d, "entry", "exit", "birth", [0, 65, 75], event="died")
    >>> s.select("age_band", "start", "stop", "person_years", "died").rows()
    [('0-64', 60.0, 65.0, 5.0, 0), ('65-74', 65.0, 75.0, 10.0, 0), ('75+', 75.0, 77.5, 2.5, 1)]
    """
    schema = _check_input(frame, entry, exit, birth, event)
    b = _check_bands(bands)
    labels = age_band_labels(b)
    lazy = isinstance(frame, pl.LazyFrame)
    lf = frame.lazy().with_columns(
        _as_years(entry, schema[entry], "entry").alias("_t0"),
        _as_years(exit, schema[exit], "exit").alias("_t1"),
        _as_years(birth, schema[birth], "birth").alias("_b"),
    )
    _validate_rows(lf, entry, exit, birth)
    is_date = schema[entry] == pl.Date or isinstance(schema[entry], pl.Datetime)

    a0 = pl.col("_t0") - pl.col("_b")
    a1 = pl.col("_t1") - pl.col("_b")
    # band index of the first and the last instant of (entry, exit]: 0 = below b[0]
    k0 = pl.sum_horizontal([(a0 >= x).cast(pl.Int32) for x in b])
    k1 = pl.sum_horizontal([(a1 > x).cast(pl.Int32) for x in b])
    lows = [-math.inf, *b]
    highs = [*b, math.inf]
    band_tab = pl.LazyFrame(
        {
            "_k": pl.Series(range(len(labels)), dtype=pl.Int32),
            "age_band": labels,
            "age_lower": lows,
            "age_upper": highs,
        }
    )
    out = (
        lf.with_columns(
            pl.int_ranges(k0, pl.max_horizontal(k0, k1) + 1, dtype=pl.Int32).alias("_k")
        )
        .explode("_k")
        .join(band_tab, on="_k", how="left", maintain_order="left")
        .with_columns(
            pl.max_horizontal("_t0", pl.col("_b") + pl.col("age_lower")).alias("start"),
            pl.min_horizontal("_t1", pl.col("_b") + pl.col("age_upper")).alias("stop"),
        )
        .with_columns(pl.min_horizontal("start", "stop").alias("start"))
    )
    if calendar:
        out = _split_years(out, is_date)
    keep_last = pl.col("stop") >= pl.col("_t1")
    if event is not None:
        zero = pl.lit(False) if schema[event] == pl.Boolean else pl.lit(0).cast(schema[event])
        out = out.with_columns(pl.when(keep_last).then(pl.col(event)).otherwise(zero).alias(event))
    cols = [*schema, "age_band", "age_lower", "age_upper"]
    if calendar:
        cols.append("calendar_year")
    out = out.with_columns((pl.col("stop") - pl.col("start")).alias("person_years")).select(
        *cols, "start", "stop", "person_years"
    )
    return out if lazy else out.collect()


def person_time_table(
    frame: pl.DataFrame | pl.LazyFrame,
    entry: str,
    exit: str,
    birth: str,
    bands: Sequence[float],
    *,
    event: str,
    by: str | Sequence[str] | None = None,
    calendar: bool = False,
) -> pl.DataFrame:
    """Events and person-years per age band (and calendar year, and ``by`` group).

    The follow-up is split with :func:`lexis_split`; an event counts in the band (and year)
    where it occurs. Bands without person-time are absent.

    Parameters
    ----------
    frame, entry, exit, birth, bands, calendar
        As :func:`lexis_split`.
    event
        Event indicator at ``exit`` (Boolean or 0/1; a code above 1 counts as one event).
    by
        Optional grouping column(s) constant over a record (region, sex, period).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``age_band``, ``age_lower``, ``age_upper``, (``calendar_year``), ``events``
        (integer), ``person_years``, ``n_records``, sorted.

    Examples
    --------
    >>> d = pl.DataFrame({"birth": [0.0, 0.0], "entry": [60.0, 70.0], "exit": [77.5, 72.0],
    ...                   "died": [True, False]})
    >>> t = person_time_table(d, "entry", "exit", "birth", [0, 65, 75], event="died")
    >>> t.select("age_band", "events", "person_years", "n_records").rows()
    [('0-64', 0, 5.0, 1), ('65-74', 0, 12.0, 2), ('75+', 1, 2.5, 1)]
    """
    by_l = [by] if isinstance(by, str) else list(by or [])
    schema = dict(frame.collect_schema()) if isinstance(frame, pl.DataFrame | pl.LazyFrame) else {}
    missing = [c for c in by_l if schema and c not in schema]
    if missing:
        raise ValueError(f"by column(s) {missing} not found in frame")
    split = lexis_split(frame.lazy(), entry, exit, birth, bands, calendar=calendar, event=event)
    keys = [*by_l, "age_band", "age_lower", "age_upper"] + (["calendar_year"] if calendar else [])
    return (
        split.group_by(keys)
        .agg(
            (pl.col(event).cast(pl.Float64) > 0).sum().cast(pl.Int64).alias("events"),
            pl.col("person_years").sum(),
            pl.len().cast(pl.Int64).alias("n_records"),
        )
        .sort([*by_l, "age_lower"] + (["calendar_year"] if calendar else []))
        .collect()
    )
