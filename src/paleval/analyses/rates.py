"""Age-standardised rates per person-time from a cohort's follow-up.

:func:`standardised_rates` splits each person's follow-up into age bands (and calendar periods)
with :func:`paleval.stats.lexis_split`, counts events and person-years per group x age band,
and standardises the band rates directly to the 2013 European Standard Population
(:func:`paleval.stats.european_standard_population`) with Fay-Feuer gamma intervals
(:func:`paleval.stats.direct_standardise`): e.g. SPC referrals per 1,000 person-years after a
diagnosis, by region and period.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl

from paleval.analyses._common import as_frame
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.disclosure import Complement, Margin, Protection
from paleval.plots import points
from paleval.stats.lexis import lexis_split
from paleval.stats.standardise import direct_standardise, european_standard_population

__all__ = ["StandardisedRatesResult", "standardised_rates"]

_DAYS_PER_YEAR = 365.25


class StandardisedRatesResult(AnalysisResult):
    """Directly age-standardised rates per ``per`` person-years, by group.

    Tables
    ------
    ``rates`` (main): the group columns (``by``, ``period``), ``n`` (persons with follow-up in
    the group), ``events``, ``person_years``, ``crude_rate``, ``estimate`` (age-standardised
    rate), ``conf_low``, ``conf_high`` (Fay-Feuer gamma), and ``events_age_<band>`` (the events
    of each age band, which the standardised rate rests on).

    Disclosure: persons and events under the threshold are suppressed, and so is every group
    with an age band of 1 to ``threshold - 1`` events (the band counts are count columns of the
    row): a standardised rate, its SE and limits are linear in the band counts, so a small band
    could otherwise be solved from them. The band counts add up to the group's events, the
    groups to the totals of each grouping (declared as margins), and ``n - events`` is a count
    of persons.

    Figures: ``rates`` (standardised rates with CIs by group).
    """

    figures: ClassVar[tuple[str, ...]] = ("rates",)

    def _plot_rates(self, ax: Any = None, lang: str = "en") -> Any:
        keys = self.params["groups"]
        tab = self.tables["rates"]
        x = keys[0] if keys else None
        group = keys[1] if len(keys) > 1 else None
        if x is None:
            tab = tab.with_columns(pl.lit("all").alias("_all"))
            x = "_all"
        per = self.params["per"]
        ylabel = (
            f"Age-standardised rate per {per:,.0f} person-years"
            if lang == "en"
            else f"Aldersstandardiseret rate pr. {per:,.0f} personår".replace(",", ".")
        )
        return points(tab, x=x, group=group, percent=False, ylabel=ylabel, lang=lang, ax=ax)


def _band_column(label: str) -> str:
    return f"events_age_{label}"


def _prepare(
    frame: pl.DataFrame,
    event: str,
    event_value: int | None,
    entry: str,
    exit: str,
    birth: str | None,
    age: str,
) -> tuple[pl.DataFrame, str, list[str]]:
    """Event indicator, and birth from age at entry when no birth date is given."""
    notes: list[str] = []
    ev = pl.col(event)
    if event_value is None:
        if frame.schema[event] != pl.Boolean and not frame.schema[event].is_numeric():
            raise ValueError(f"event column {event!r} must be Boolean or numeric")
        ev = ev.cast(pl.Float64).fill_null(0) > 0
    else:
        ev = (ev == event_value).fill_null(False)
    out = frame.with_columns(ev.cast(pl.Int64).alias("_event"), pl.int_range(pl.len()).alias("_id"))
    if birth is None:
        if frame.schema[entry] != pl.Date or not frame.schema[age].is_numeric():
            raise ValueError(
                f"standardised_rates: without `birth`, entry column {entry!r} must be a date "
                f"(got {frame.schema[entry]}) and age column {age!r} numeric "
                f"(got {frame.schema[age]})"
            )
        # completed years at entry: birth taken half a year before the last birthday
        days = ((pl.col(age).cast(pl.Float64) + 0.5) * _DAYS_PER_YEAR).round().cast(pl.Int64)
        out = out.with_columns((pl.col(entry) - pl.duration(days=days)).alias("_birth"))
        notes.append(
            f"birth dates taken from the age at {entry} in completed years ({age!r} + 0.5 years)"
        )
        birth = "_birth"
    return out, birth, notes


def _period_labels(periods: Sequence[int]) -> list[str]:
    p = [int(x) for x in periods]
    labels = [f"{a}-{b - 1}" if b - a > 1 else str(a) for a, b in itertools.pairwise(p)]
    return [*labels, f"{p[-1]}+"]


def _split(
    frame: pl.DataFrame,
    entry: str,
    exit: str,
    birth: str,
    bands: Sequence[float],
    periods: Sequence[int] | None,
) -> tuple[pl.DataFrame, list[str]]:
    """Person-time pieces inside the bands (and periods), with the period label."""
    notes: list[str] = []
    split = lexis_split(
        frame.select("_id", "_event", entry, exit, birth, *[c for c in frame.columns
                                                             if c.startswith("_g_")]),
        entry, exit, birth, bands, calendar=periods is not None, event="_event",
    )  # fmt: skip
    below = split.filter(pl.col("age_lower") < float(bands[0]))
    if below.height:
        notes.append(
            f"{below['person_years'].sum():,.1f} person-years and {int(below['_event'].sum())} "
            f"event(s) below age {bands[0]:g} left out (outside the standard)"
        )
    split = split.filter(pl.col("age_lower") >= float(bands[0]))
    if periods is not None:
        p = sorted(int(x) for x in periods)
        labels = _period_labels(p)
        k = pl.sum_horizontal([(pl.col("calendar_year") >= y).cast(pl.Int32) for y in p])
        split = split.with_columns(k.alias("_k"))
        early = split.filter(pl.col("_k") == 0)
        if early.height:
            notes.append(
                f"{early['person_years'].sum():,.1f} person-years and "
                f"{int(early['_event'].sum())} event(s) before {p[0]} left out"
            )
        split = split.filter(pl.col("_k") > 0).with_columns(
            pl.col("_k").replace_strict(list(range(1, len(p) + 1)), labels, return_dtype=pl.String)
            .alias("period")
        )  # fmt: skip
    return split, notes


def _protection(keys: list[str], band_cols: list[str], has_period: bool) -> Protection:
    """Counts: persons, events and the band events; margins over every grouping (their totals
    treated as known); persons are additive over the groups but not over periods (a person's
    follow-up spans periods)."""
    ev_cols = ("events", *band_cols)
    relations: list[Any] = [Complement("n", ("events",)), Complement("events", tuple(band_cols))]
    for r in range(len(keys)):
        for fixed in itertools.combinations(keys, r):
            summed = set(keys) - set(fixed)
            persons = not (has_period and "period" in summed)
            relations.append(Margin(fixed, counts=(*ev_cols, "n") if persons else ev_cols))
    return Protection(("n", *ev_cols), relations)


def standardised_rates(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    event: str = "event",
    *,
    event_value: int | None = None,
    entry: str = "diagnosis_date",
    exit: str = "exit_date",
    birth: str | None = None,
    age: str = "age",
    by: str | Sequence[str] | None = "region",
    periods: Sequence[int] | None = None,
    bands: Sequence[float] = (0, 65, 75, 85),
    standard: pl.DataFrame | None = None,
    per: float = 1000.0,
    conf_level: float = 0.95,
) -> StandardisedRatesResult:
    """Age-standardised rates of an event per ``per`` person-years of follow-up, by group.

    Each person's follow-up from ``entry`` to ``exit`` is split into the age ``bands`` (and,
    with ``periods``, calendar periods); events at ``exit`` count in the band and period where
    they occur. The rates of each group are standardised directly to ``standard`` (default:
    the 2013 European Standard Population in ``bands``), with Fay-Feuer gamma intervals.

    Parameters
    ----------
    cohort
        One row per person with entry and exit dates and the event (e.g. the incident cohorts
        of :mod:`paleval.cohort.incident`: ``diagnosis_date``, ``exit_date``, ``event`` with 1 =
        SPC referral and 2 = death).
    event
        Event column: Boolean/0-1, or a code compared with ``event_value``.
    event_value
        The code of the event counted (e.g. 1 for referral); ``None``: any non-zero value.
    entry, exit
        Follow-up dates.
    birth
        Birth date column; ``None``: from ``age`` (completed years at ``entry``), birth half a
        year before the last birthday.
    age
        Age at entry, used when ``birth`` is ``None``.
    by
        Group column(s) constant per person (region, sex); ``None`` for one group.
    periods
        First calendar years of periods (``[2010, 2015, 2020]``: 2010-2014, 2015-2019, 2020+);
        person-time is split at 1 January; ``None``: no periods.
    bands
        Lower limits of the age bands (ESP2013 limits when ``standard`` is ``None``); person-time
        below the first is left out (counted in the notes).
    standard
        Standard population: ``age_lower`` (float, the band's lower limit) and ``population``.
    per
        Rates per ``per`` person-years.
    conf_level
        Confidence level.

    Returns
    -------
    StandardisedRatesResult
        Table ``rates``; groups lacking person-time in a band of the standard have no
        standardised rate (null; counted in the notes).

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({
    ...     "diagnosis_date": [dt.date(2015, 1, 1)] * 4, "exit_date": [dt.date(2017, 1, 1)] * 4,
    ...     "age": [60, 70, 80, 90], "event": [1, 0, 1, 1], "region": ["A"] * 4})
    >>> res = standardised_rates(d, event_value=1)
    >>> res.table.select("region", "events", pl.col("person_years").round(1)).rows()
    [('A', 3, 8.0)]
    """
    frame = as_frame(cohort)
    by_l = [by] if isinstance(by, str) else list(by or [])
    need = [event, entry, exit, *by_l] + ([birth] if birth else [age])
    require_columns(frame, need, "standardised_rates")
    if not (isinstance(per, int | float) and per > 0):
        raise ValueError(f"per must be a positive number, got {per!r}")
    if periods is not None and (len(periods) == 0 or list(periods) != sorted(set(periods))):
        raise ValueError(f"periods must be increasing first years, got {periods!r}")
    std = european_standard_population(bands) if standard is None else standard
    require_columns(std, ["age_lower", "population"], "standardised_rates (standard)")

    prepared, birth_col, notes = _prepare(frame, event, event_value, entry, exit, birth, age)
    nulls = prepared.select(
        pl.any_horizontal(pl.col(entry, exit, birth_col).is_null()).sum()
    ).item()
    if nulls:
        notes.append(f"{nulls} person(s) without {entry}, {exit} or age/birth left out")
        prepared = prepared.drop_nulls([entry, exit, birth_col])
    prepared = prepared.with_columns(pl.col(c).alias(f"_g_{c}") for c in by_l)
    split, split_notes = _split(prepared, entry, exit, birth_col, bands, periods)
    notes += split_notes
    split = split.rename({f"_g_{c}": c for c in by_l})
    keys = [*by_l] + (["period"] if periods is not None else [])
    gkeys = keys or ["_all"]
    if not keys:
        split = split.with_columns(pl.lit("all").alias("_all"))

    cells = split.group_by([*gkeys, "age_band", "age_lower"]).agg(
        pl.col("_event").sum().alias("events"), pl.col("person_years").sum()
    )
    groups = split.group_by(gkeys).agg(
        pl.col("_id").n_unique().cast(pl.Int64).alias("n"),
        pl.col("_event").sum().cast(pl.Int64).alias("events"),
        pl.col("person_years").sum(),
    )
    labels = std.select("age_lower").join(
        cells.select("age_lower", "age_band").unique(), on="age_lower", how="left"
    )
    band_cols = [_band_column(b) for b in labels["age_band"].fill_null("?").to_list()]
    wide = (
        groups.select(gkeys)
        .join(std.select("age_lower"), how="cross")
        .join(cells, on=[*gkeys, "age_lower"], how="left")
        .with_columns(pl.col("events").fill_null(0), pl.col("person_years").fill_null(0.0))
    )
    complete = wide.group_by(gkeys).agg((pl.col("person_years") > 0).all().alias("ok"))
    ok = complete.filter("ok").select(gkeys)
    incomplete = complete.height - ok.height
    if incomplete:
        notes.append(
            f"{incomplete} group(s) without person-time in every age band: no standardised rate"
        )
    z_cols = {"estimate": pl.Float64, "conf_low": pl.Float64, "conf_high": pl.Float64}
    if ok.height:
        dsr = direct_standardise(
            wide.join(ok, on=gkeys), "events", "person_years", "age_lower", std, by=gkeys,
            conf_level=conf_level, per=per,
        ).select(*gkeys, *z_cols)  # fmt: skip
    else:
        dsr = pl.DataFrame(schema={**{k: groups.schema[k] for k in gkeys}, **z_cols})
    band_counts = (
        wide.with_columns(
            pl.col("age_lower").replace_strict(
                labels["age_lower"].to_list(), band_cols, return_dtype=pl.String
            ).alias("_band")
        )
        .pivot("_band", index=gkeys, values="events", aggregate_function="sum")
        .with_columns(pl.col(band_cols).fill_null(0).cast(pl.Int64))
    )  # fmt: skip
    table = (
        groups.join(dsr, on=gkeys, how="left")
        .join(band_counts, on=gkeys, how="left")
        .with_columns((pl.col("events") / pl.col("person_years") * per).alias("crude_rate"))
        .select(*keys, "n", "events", "person_years", "crude_rate", *z_cols, *band_cols)
        .sort(keys or "n")
    )
    notes.append(
        f"rates per {per:,.0f} person-years, directly standardised to "
        + ("the 2013 European Standard Population" if standard is None else "the given standard")
        + f" in age bands {', '.join(labels['age_band'].fill_null('?').to_list())}; "
        "Fay-Feuer gamma intervals"
    )
    return StandardisedRatesResult(
        title=f"Age-standardised rates of {event}" + (f" = {event_value}" if event_value else ""),
        tables={"rates": table},
        n=int(prepared.height),
        params={
            "event": event,
            "event_value": event_value,
            "entry": entry,
            "exit": exit,
            "by": by_l,
            "periods": list(periods) if periods is not None else None,
            "bands": [float(b) for b in bands],
            "per": per,
            "conf_level": conf_level,
            "groups": keys,
        },
        notes=notes,
        protection={"rates": _protection(keys, band_cols, periods is not None)},
    )
