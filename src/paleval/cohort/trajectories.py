"""Health-care use week by week in the last year of life, and the aggressiveness of care.

:func:`weekly_care_use` gives, per person, measure and week before death, how much care of
each kind the person received (sparse: only weeks with use). Week 1 is the 7 days ending on the
death day (``death - 6 .. death``), week 2 the 7 days before, and so on to ``weeks`` (52: the
last 364 days). Every decedent contributes every week: a decedent was alive and at risk of care
throughout the year before death (persons who immigrated in that year are not observed for the
whole year; restrict the cohort when that matters).

Measures (each from the source a Danish register study would use):

============================ ==================================================================
``hospital_nights``          distinct nights in hospital (LPR2+LPR3 inpatient contacts; nights
                             ``start .. end - 1``, overlapping stays and transfers counted once;
                             no night on or after the death day)
``acute_admissions``         acute inpatient contacts starting in the week (LPR ``acute``; exact
                             duplicate contacts once)
``emergency_contacts``       acute contacts that are not inpatient stays (LPR2 emergency-room
                             patients, LPR3 acute ambulatory contacts) starting in the week
``gp_contacts_daytime``      daytime GP consultations, e-consultations, telephone
                             consultations and home visits (SSSY, ``YDLANT`` summed)
``gp_home_visits``           daytime GP home visits (SSSY)
``gp_out_of_hours``          out-of-hours GP consultations, telephone consultations and home
                             visits (SSSY); unknown where the declared coverage table has a gap
                             (the Capital Region from 2014), see :func:`care_use_unknown`
``opioid_dispensings``       opioid prescriptions dispensed (LMDB ``EKSD``, ATC N02A)
============================ ==================================================================

SSSY services carry only their payment week (``HONUGE``): a service is placed in the week
before death that contains the earlier of its week's Sunday and the death day, so a service of
the death's own calendar week counts in week 1 (the convention of
:mod:`paleval.cohort.exposures`; payment lags are not corrected). Events after the death day,
or more than ``weeks`` weeks before it, are not counted.

:func:`add_aggressiveness` adds the indicators of aggressive end-of-life care of Earle et al.
(J Clin Oncol 2003;21:1133-8; 2004;22:315-21) that the Danish registers paleval reads can
measure; chemotherapy and intensive care need LPR procedure codes (SKS BWHA, NABB/NABE), which
paleval does not load, and are not computed. See ``docs/methods.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from paleval.codes import coverage_table, load_codes
from paleval.cohort.exposures import gp_service_windows
from paleval.registers.loading import DUPLICATE_KEY
from paleval.registers.normalise import honuge_to_week_start

__all__ = [
    "CARE_MEASURES",
    "add_aggressiveness",
    "care_use_unknown",
    "weekly_care_use",
]

CARE_MEASURES: dict[str, str] = {
    "hospital_nights": "lpr",
    "acute_admissions": "lpr",
    "emergency_contacts": "lpr",
    "gp_contacts_daytime": "sssy",
    "gp_home_visits": "sssy",
    "gp_out_of_hours": "sssy",
    "opioid_dispensings": "lmdb",
}
"""Each measure of :func:`weekly_care_use` and the register it is counted from."""

_GP = {
    "gp_contacts_daytime": (("consultation", "e_consultation", "phone", "home_visit"), "daytime"),
    "gp_home_visits": (("home_visit",), "daytime"),
    "gp_out_of_hours": (("consultation", "phone", "home_visit"), "out_of_hours"),
}
_OUT = {"PNR": pl.String, "measure": pl.String, "week": pl.Int32, "count": pl.Int64}


def _anchors(cohort: pl.LazyFrame, anchor: str) -> pl.LazyFrame:
    names = cohort.collect_schema().names()
    for col in ("PNR", anchor):
        if col not in names:
            raise ValueError(f"weekly_care_use: cohort has no column {col!r} (columns: {names})")
    return cohort.select("PNR", pl.col(anchor).cast(pl.Date).alias("_death")).unique("PNR")


def _week(day: pl.Expr, unit: int = 7) -> pl.Expr:
    """Week (``unit`` days) before death of a date: 1 = the ``unit`` days ending on the death
    day."""
    return ((pl.col("_death") - day).dt.total_days() // unit + 1).cast(pl.Int32)


def _counted(
    events: pl.LazyFrame, measure: str, weeks: int, value: pl.Expr | None = None
) -> pl.LazyFrame:
    """Sum ``value`` (default: count the rows) per person and week (weeks 1..``weeks``); one
    measure's sparse rows."""
    total = pl.len() if value is None else value.sum()
    return (
        events.filter(pl.col("week").is_between(1, weeks))
        .group_by("PNR", "week")
        .agg(total.cast(pl.Int64).alias("count"))
        .filter(pl.col("count") > 0)
        .select("PNR", pl.lit(measure).alias("measure"), "week", "count")
    )


def _lpr(contacts: pl.LazyFrame, base: pl.LazyFrame, n: int, unit: int = 7) -> list[pl.LazyFrame]:
    """The three LPR measures per person and period of ``unit`` days before death (1 = the
    period ending on the death day), periods 1..``n``."""
    key = [c for c in DUPLICATE_KEY if c in contacts.collect_schema().names()]
    first_day = pl.col("_death") - pl.duration(days=unit * n - 1)
    near = (
        contacts.select(*dict.fromkeys([*key, "inpatient", "acute"]))
        .join(base, on="PNR", how="inner", build_side="force_right")
        .filter((pl.col("end") >= first_day) & (pl.col("start") <= pl.col("_death")))
        .unique(subset=key, keep="first", maintain_order=True)
    )
    starts = near.filter(pl.col("start") >= first_day).with_columns(
        week=_week(pl.col("start"), unit)
    )
    acute = starts.filter(pl.col("inpatient") & pl.col("acute"))
    emergency = starts.filter(~pl.col("inpatient") & pl.col("acute"))
    # nights: the dates start .. end - 1 inside the window, before the death day; distinct
    first = pl.max_horizontal("start", first_day)
    last = pl.min_horizontal(pl.col("end"), pl.col("_death")) - pl.duration(days=1)
    nights = (
        near.filter(pl.col("inpatient"))
        .select("PNR", "_death", first.alias("_first"), last.alias("_last"))
        .filter(pl.col("_last") >= pl.col("_first"))
        .with_columns(night=pl.date_ranges("_first", "_last"))
        .explode("night")
        .unique(["PNR", "night"])
        .with_columns(week=_week(pl.col("night"), unit))
    )
    return [
        _counted(acute, "acute_admissions", n),
        _counted(emergency, "emergency_contacts", n),
        _counted(nights, "hospital_nights", n),
    ]


def _sssy(sssy: pl.LazyFrame, base: pl.LazyFrame, weeks: int, measures: Sequence[str]):
    cats = load_codes("gp_services").select("SPECIALE", "category").lazy()
    periods = load_codes("gp_time_codes").select("YDLTID", "period").lazy()
    services = (
        sssy.select("PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT")
        .join(base, on="PNR", how="inner", build_side="force_right")
        .with_columns(_monday=honuge_to_week_start(pl.col("HONUGE")))
        .filter(pl.col("_monday") <= pl.col("_death"))
        .with_columns(
            week=_week(pl.min_horizontal(pl.col("_monday") + pl.duration(days=6), "_death"))
        )
        .filter(pl.col("week") <= weeks)
        .join(cats, on="SPECIALE", how="inner")
        .join(periods, on="YDLTID", how="left")
    )
    out = []
    for m in measures:
        categories, period = _GP[m]
        sel = services.filter(pl.col("category").is_in(categories) & (pl.col("period") == period))
        out.append(_counted(sel, m, weeks, pl.col("YDLANT")))
    return out


def _lmdb(lmdb: pl.LazyFrame, base: pl.LazyFrame, weeks: int) -> pl.LazyFrame:
    prefixes = load_codes("atc_groups").filter(pl.col("group") == "opioid")["atc_prefix"]
    atc = pl.col("ATC").str.replace_all(" ", "", literal=True).str.to_uppercase()
    dispensed = (
        lmdb.select("PNR", "EKSD", atc.alias("ATC"))
        .filter(pl.any_horizontal([pl.col("ATC").str.starts_with(p) for p in prefixes]))
        .join(base, on="PNR", how="inner", build_side="force_right")
        .filter(pl.col("EKSD") <= pl.col("_death"))
        .with_columns(week=_week(pl.col("EKSD")))
    )
    return _counted(dispensed, "opioid_dispensings", weeks)


def weekly_care_use(
    cohort: pl.LazyFrame | pl.DataFrame,
    *,
    contacts: pl.LazyFrame | None = None,
    sssy: pl.LazyFrame | None = None,
    lmdb: pl.LazyFrame | None = None,
    anchor: str = "death_date",
    weeks: int = 52,
) -> pl.LazyFrame:
    """Care received per person, measure and week before death (sparse: weeks with use).

    Parameters
    ----------
    cohort
        One row per decedent: ``PNR`` and the death date (``anchor``).
    contacts
        Harmonised LPR2+LPR3 contacts (:func:`paleval.registers.lpr_contacts`): the
        ``hospital_nights``, ``acute_admissions`` and ``emergency_contacts`` measures.
    sssy
        The health insurance register: the GP measures.
    lmdb
        The prescription register: ``opioid_dispensings``.
    anchor
        The death-date column.
    weeks
        Weeks before death (1 to 104; default 52, the last 364 days).

    Returns
    -------
    LazyFrame
        ``PNR, measure, week, count`` with ``count > 0``; a measure's sources not given are
        left out. See the module docstring for each measure's definition.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a"], "death_date": [d(2020, 3, 31)]})
    >>> k = pl.LazyFrame({"PNR": ["a", "a"], "inpatient": [True, False], "acute": [True, True],
    ...     "start": [d(2020, 3, 20), d(2020, 3, 30)], "end": [d(2020, 3, 26), d(2020, 3, 30)]})
    >>> for row in weekly_care_use(c, contacts=k).sort("measure", "week").collect().rows():
    ...     print(row)
    ('a', 'acute_admissions', 2, 1)
    ('a', 'emergency_contacts', 1, 1)
    ('a', 'hospital_nights', 1, 1)
    ('a', 'hospital_nights', 2, 5)
    """
    if not isinstance(weeks, int) or isinstance(weeks, bool) or not 1 <= weeks <= 104:
        raise ValueError(f"weeks must be a whole number from 1 to 104, got {weeks!r}")
    if contacts is None and sssy is None and lmdb is None:
        raise ValueError("weekly_care_use needs at least one of contacts, sssy, lmdb")
    base = _anchors(cohort.lazy(), anchor)
    parts: list[pl.LazyFrame] = []
    if contacts is not None:
        parts += _lpr(contacts, base, weeks)
    if sssy is not None:
        parts += _sssy(sssy, base, weeks, list(_GP))
    if lmdb is not None:
        parts.append(_lmdb(lmdb, base, weeks))
    return pl.concat([p.cast(_OUT) for p in parts], how="vertical")


def care_use_unknown(
    cohort: pl.LazyFrame | pl.DataFrame,
    *,
    anchor: str = "death_date",
    region: str = "region_code",
    weeks: int = 52,
    coverage: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Persons whose measure of :func:`weekly_care_use` is unknown: their last ``weeks`` weeks
    overlap a declared coverage gap of the measure's source in their region (the coverage
    table, :func:`paleval.codes.coverage_table`). Today only ``gp_out_of_hours`` has a gap
    (SSSY out-of-hours services in the Capital Region from 2014, where the region's 1813
    service replaced the GP cooperative): such a person's out-of-hours use is unknown, not 0.

    Returns ``PNR, measure``; the analyses leave these persons out of that measure.

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2016, 5, 1)] * 2,
    ...                   "region_code": [84, 85]})
    >>> care_use_unknown(c).collect().rows()
    [('a', 'gp_out_of_hours')]
    """
    cohort = cohort.lazy()
    empty = pl.LazyFrame(schema={"PNR": pl.String, "SPECIALE": pl.String, "HONUGE": pl.String,
                                 "YDLTID": pl.String, "YDLANT": pl.Int64})  # fmt: skip
    window = {"_ooh": (list(_GP["gp_out_of_hours"][0]), 7 * weeks, "out_of_hours")}
    known = gp_service_windows(
        cohort.select("PNR", anchor, region),
        empty,
        window,
        anchor=anchor,
        region=region,
        coverage=coverage_table() if coverage is None else coverage,
        partly_uncovered="null",
    )
    return known.filter(pl.col("_ooh").is_null()).select(
        "PNR", pl.lit("gp_out_of_hours").alias("measure")
    )


def add_aggressiveness(
    cohort: pl.LazyFrame | pl.DataFrame,
    contacts: pl.LazyFrame,
    *,
    anchor: str = "death_date",
    days: int = 30,
) -> pl.LazyFrame:
    """Add the counts behind Earle's indicators of aggressive end-of-life care that the
    Danish registers can measure, in the last ``days`` days of life (default 30):

    - ``emergency_contacts_{days}d``: acute non-inpatient contacts starting in the window
      (indicator: more than one);
    - ``acute_admissions_{days}d``: acute inpatient admissions starting in the window
      (indicator: more than one);
    - ``hospital_nights_{days}d``: distinct nights in hospital in the window (indicator: more
      than 14 days in hospital).

    The window is ``death - days + 1 .. death`` (the death day included). Death in hospital and
    late or no specialised palliative care come from the decedent cohort's ``place_of_death``
    and ``spc_contact_to_anchor_days``; :func:`paleval.analyses.care_trajectories` combines
    them.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2020, 3, 31)] * 2})
    >>> k = pl.LazyFrame({"PNR": ["a"] * 3, "inpatient": [True, True, False],
    ...     "acute": [True] * 3, "start": [d(2020, 3, 1), d(2020, 3, 10), d(2020, 3, 28)],
    ...     "end": [d(2020, 3, 9), d(2020, 3, 25), d(2020, 3, 28)]})
    >>> add_aggressiveness(c, k).select(pl.selectors.ends_with("30d")).collect().rows()
    [(1, 1, 22), (0, 0, 0)]
    """
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 364:
        raise ValueError(f"days must be a whole number from 1 to 364, got {days!r}")
    cohort = cohort.lazy()
    names = {
        m: f"{m}_{days}d" for m in ("emergency_contacts", "acute_admissions", "hospital_nights")
    }
    # the LPR measures over ``days`` periods of one day, summed per person
    sums = (
        pl.concat(_lpr(contacts, _anchors(cohort, anchor), days, unit=1))
        .group_by("PNR")
        .agg(
            [
                pl.col("count").filter(pl.col("measure") == m).sum().alias(c)
                for m, c in names.items()
            ]
        )
    )
    out = cohort.join(sums, on="PNR", how="left", maintain_order="left", build_side="force_right")
    return out.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in names.values()])
