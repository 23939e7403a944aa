"""Exposure windows relative to an anchor date (death, diagnosis, referral).

GP services carry only the payment WEEK (``HONUGE``). paleval's rule: a service counts in a
window when its week overlaps the window (week Sunday >= window start and week Monday <= anchor
date). Services in the anchor's own week after the anchor day cannot be told apart and are
counted; the window can therefore reach up to 6 days further back than its nominal length.
This is the documented, deterministic convention every analysis shares. Windows can end
before the anchor (``offset_days``, or the day before a per-person date such as the final
admission: ``end_before``), the same in every cohort that uses these functions.

Coverage: where a source does not cover a person's region and period (the declared coverage
table, :func:`paleval.codes.coverage_table`; out-of-hours GP services are not in SSSY in the
Capital Region from 2014, where the region's 1813 service replaced the GP cooperative), an
exposure computed from that source is null (unknown), never 0, for every person whose window
overlaps the gap wholly or partly (region at the anchor). See ``docs/methods.md``.

Performance (national scale): every function reads its event register once, streaming. The
events are joined to the cohort's ``(PNR, anchor)`` pairs with the cohort as the build side of
the hash join (the register is never hashed), filtered to the window and aggregated to one row
per person before the result is joined back to the cohort. Lookups from code lists are joins
to the (small) code table or elementwise expressions, never ``replace_strict``, which the
streaming engine does not stream. For the fastest build, collect the cohort once and pass
``frame.lazy()`` (each function uses its cohort input twice), and restrict the big registers to
the cohort's persons with a filter, which the loaders push down to just after ``PNR`` is read,
so the other columns are only parsed for the cohort's rows::

    base = cohort.collect()
    persons = pl.col("PNR").is_in(base["PNR"].implode())
    out = add_gp_exposures(base.lazy(), regs["sssy"].filter(persons))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

from paleval.codes import coverage_table, load_codes
from paleval.registers.loading import DUPLICATE_KEY
from paleval.registers.normalise import PAYMENT_GRACE_WEEKS, honuge_to_week_start

__all__ = [
    "DEFAULT_GP_WINDOWS",
    "PAYMENT_GRACE_WEEKS",
    "add_drug_use",
    "add_final_admission",
    "add_gp_exposures",
    "add_hospital_use",
    "add_spc",
    "add_terminal_declaration",
    "coverage_table",
    "gp_service_windows",
]


def _categories() -> pl.LazyFrame:
    return load_codes("gp_services").select("SPECIALE", "category").lazy()


def _anchors(cohort: pl.LazyFrame, anchor: str) -> pl.LazyFrame:
    """``PNR`` and the anchor date as ``_anchor``."""
    return cohort.select("PNR", pl.col(anchor).alias("_anchor"))


def _with_anchor(
    events: pl.LazyFrame, anchors: pl.LazyFrame, *, maintain_order: bool = False
) -> pl.LazyFrame:
    """Events of the cohort's persons with their ``_anchor`` (inner join; the hash table is
    built on the cohort side, the event register is streamed through it)."""
    return events.join(
        anchors,
        on="PNR",
        how="inner",
        build_side="force_right",
        maintain_order="left" if maintain_order else "none",
    )


def _lookup(frame: pl.LazyFrame, table: pl.LazyFrame, on: str) -> pl.LazyFrame:
    """Left join to a small code table (hash table on the table)."""
    return frame.join(table, on=on, how="left", build_side="force_right")


def _week_mondays() -> pl.LazyFrame:
    """Every valid ``HONUGE`` (``yyww``) with its Monday: :func:`honuge_to_week_start` over all
    four-character keys, as a join table (a lookup the streaming engine streams)."""
    keys = pl.DataFrame({"_week": [f"{i:04d}" for i in range(10_000)]})
    return (
        keys.with_columns(_monday=honuge_to_week_start("_week"))
        .filter(pl.col("_monday").is_not_null())
        .lazy()
    )


GpWindows = Mapping[str, tuple[Sequence[str], int, str | None]]


def _window_end(offset_days: int, end_before: str | None) -> pl.Expr:
    """The last day of every window (``_end``): ``offset_days`` before the anchor, and at the
    latest the day before the date in ``end_before`` (when given and not null)."""
    if not isinstance(offset_days, int) or isinstance(offset_days, bool) or offset_days < 0:
        raise ValueError(f"offset_days must be a non-negative integer, got {offset_days!r}")
    end = pl.col("_anchor") - pl.duration(days=offset_days)
    if end_before is not None:
        end = pl.min_horizontal(end, pl.col("_end_before") - pl.duration(days=1))
    return end.alias("_end")


def _gap_rows(
    windows: GpWindows, coverage: pl.DataFrame, partly_uncovered: str
) -> dict[str, list[dict]]:
    """Window name -> the declared SSSY gaps (``action == "unknown"``) that make it unknown."""
    need = {"register", "period", "REG", "region", "start", "end", "action"}
    missing = sorted(need - set(coverage.columns))
    if missing:
        raise ValueError(
            f"the coverage table lacks the columns {missing} (see paleval.codes.coverage_table)"
        )
    gaps = coverage.filter((pl.col("register") == "sssy") & (pl.col("action") == "unknown"))
    out: dict[str, list[dict]] = {}
    for name, (_, _, period) in windows.items():
        if period is None:
            rows = gaps.to_dicts() if partly_uncovered == "null" else []
        else:
            rows = gaps.filter(pl.col("period") == period).to_dicts()
        out[name] = rows
    return out


def _in_gap(row: dict, days: int) -> pl.Expr:
    """The person's window ``[_end - days + 1, _end]`` overlaps the gap ``row`` (wholly or
    partly) in the person's region; a person with an unknown region is in the gap when any
    region has it at that time."""
    start_w = pl.col("_end") - pl.duration(days=days - 1)
    cond = (pl.col("_region") == str(row["REG"])) | pl.col("_region").is_null()
    cond = cond & (pl.col("_end") >= pl.lit(row["start"]))
    if row["end"] is not None:
        cond = cond & (start_w <= pl.lit(row["end"]))
    return cond


def _region_code(col: str) -> pl.Expr:
    """``_region``: the BEF region code (81-85, code list ``regions``) as text; any other value
    (a region name, an SDS code 1081-1085, a typo) counts as unknown, so it can only make
    windows unknown, never hide a gap."""
    codes = load_codes("regions")["REG"]
    value = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(value.is_in(codes.implode())).then(value).alias("_region")


def _gap_label(row: dict) -> str:
    until = f" to {row['end']}" if row["end"] is not None else ""
    return f"{row['register']} {row['period']}: {row['region']} from {row['start']}{until}"


def gp_service_windows(
    anchors: pl.LazyFrame,
    sssy: pl.LazyFrame,
    windows: GpWindows,
    *,
    anchor: str = "death_date",
    offset_days: int = 0,
    end_before: str | None = None,
    region: str | None = None,
    coverage: pl.DataFrame | None = None,
    partly_uncovered: Literal["count", "null"] = "count",
    paid_after_weeks: int = 0,
) -> pl.LazyFrame:
    """Count GP services per person in windows before an anchor date.

    Parameters
    ----------
    anchors
        One row per person: ``PNR``, the anchor date column, and the columns named by
        ``end_before`` and ``region`` when given.
    sssy
        The health insurance register (``SPECIALE``, ``HONUGE``, ``YDLTID``, ``YDLANT``).
    windows
        Output column -> ``(service categories, days, period)``; categories from the code list
        ``gp_services`` (e.g. ``"home_visit"``), ``days`` the window length, ``period``
        ``"daytime"``, ``"out_of_hours"`` or ``None`` for both (code list ``gp_time_codes``).
    offset_days
        Lag: every window ends ``offset_days`` before the anchor (default 0: at the anchor),
        e.g. 14 or 30 to leave out the last weeks before death (reverse causation). The
        window is ``[end - days + 1, end]``.
    end_before
        Optional Date column: where it is not null, the windows end at the latest the day
        before it (e.g. ``final_admission_start`` from :func:`add_final_admission`: GP
        involvement before the final admission).
    region
        Column with the person's region (BEF ``REG`` code, 81-85) at the anchor. When given,
        the declared coverage table is applied: a window of an out-of-hours count that
        overlaps (wholly or partly) a gap with ``action == "unknown"`` in the person's region
        is null (unknown), never 0, and the column ``gp_coverage_gap`` names the gap. A
        person with a null region, or a value that is not a BEF region code (81-85), is
        unknown when any region has such a gap at that time.
        ``None`` (default): raw SSSY counts, 0 where the register has no services.
    coverage
        The coverage table (default :func:`paleval.codes.coverage_table`).
    partly_uncovered
        Windows with ``period=None`` (daytime and out-of-hours services) in a gap:
        ``"count"`` (default) counts what SSSY holds (in the gap it lacks the out-of-hours
        services: an undercount, documented in the methods); ``"null"`` makes them unknown.
    paid_after_weeks
        Payment weeks after the window's end that still count (default 0). Only right for a
        window that ends at the person's death: a service paid after death was given before
        it (:func:`add_gp_exposures` uses :data:`PAYMENT_GRACE_WEEKS` there).

    The week rule: only the payment week (``HONUGE``) is known, so a service counts when its
    week overlaps the window (week Sunday >= window start, week Monday <= window end).
    SSSY dates a service by the week it was paid, which can lag the service: a lag of a week
    or more (``offset_days >= 7``) is what moves the window end clear of the last weeks.

    ``YDLANT`` is summed, so corrections (negative numbers of services) cancel the services
    they correct; a window whose sum is below 0 (corrections of services paid before the
    window) has an unknown count: null, never a negative count.

    Returns
    -------
    polars.LazyFrame
        ``PNR`` and one count column per window (0 when none; null in a coverage gap or when
        the window's services sum below 0), plus ``gp_coverage_gap`` (String) when ``region``
        is given.

    Examples
    --------
    >>> import datetime as dt
    >>> anchors = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2019, 3, 31)] * 2})
    >>> sssy = pl.LazyFrame({"PNR": ["a", "a", "a"], "HONUGE": ["1913", "1850", "1913"],
    ...     "SPECIALE": ["800411", "800411", "800101"], "YDLTID": ["1", "1", "2"],
    ...     "YDLANT": [2, 1, 1]})
    >>> w = {"home_visits_90d": (["home_visit"], 90, "daytime"),
    ...      "ooh_30d": (["consultation", "phone", "home_visit"], 30, "out_of_hours")}
    >>> gp_service_windows(anchors, sssy, w).sort("PNR").collect().rows()
    [('a', 2, 1), ('b', 0, 0)]
    >>> gp_service_windows(anchors, sssy, w, offset_days=14).sort("PNR").collect().rows()
    [('a', 0, 0), ('b', 0, 0)]
    >>> late = pl.concat([sssy, pl.LazyFrame({"PNR": ["a"], "HONUGE": ["1916"],
    ...     "SPECIALE": ["800411"], "YDLTID": ["1"], "YDLANT": [1]})])
    >>> gp_service_windows(anchors, late, w, paid_after_weeks=8).sort("PNR").collect().rows()
    [('a', 3, 1), ('b', 0, 0)]
    >>> reg = anchors.with_columns(region_code=pl.Series(["84", "81"]))
    >>> out = gp_service_windows(reg, sssy, w, region="region_code").sort("PNR").collect()
    >>> out.select("PNR", "ooh_30d").rows()
    [('a', None), ('b', 0)]
    """
    if not windows:
        raise ValueError("gp_service_windows needs at least one window")
    if partly_uncovered not in ("count", "null"):
        raise ValueError(f"partly_uncovered must be 'count' or 'null', got {partly_uncovered!r}")
    if (
        not isinstance(paid_after_weeks, int)
        or isinstance(paid_after_weeks, bool)
        or paid_after_weeks < 0
    ):
        raise ValueError(
            f"paid_after_weeks must be a non-negative integer, got {paid_after_weeks!r}"
        )
    grace = pl.duration(days=7 * paid_after_weeks)
    names = anchors.collect_schema().names()
    for col, what in ((anchor, "anchor"), (end_before, "end_before"), (region, "region")):
        if col is not None and col not in names:
            raise ValueError(f"gp_service_windows: {what} column {col!r} not in {names}")
    longest = max(days for _, days, _ in windows.values())
    periods = load_codes("gp_time_codes").select("YDLTID", "period").lazy()
    base = anchors.select(
        "PNR",
        pl.col(anchor).alias("_anchor"),
        *([pl.col(end_before).alias("_end_before")] if end_before else []),
        *([_region_code(region)] if region else []),
    ).with_columns(_window_end(offset_days, end_before))
    services = _with_anchor(
        sssy.select("PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT"),
        base.select("PNR", "_end"),
    )
    services = (
        # the key honuge_to_week_start looks up: text, stripped
        services.with_columns(_week=pl.col("HONUGE").cast(pl.String).str.strip_chars())
        .join(_week_mondays(), on="_week", how="inner", build_side="force_right")
        .with_columns(_sunday=pl.col("_monday") + pl.duration(days=6))
        .filter(
            (pl.col("_monday") <= pl.col("_end") + grace)
            & (pl.col("_sunday") >= pl.col("_end") - pl.duration(days=longest - 1))
        )
        .pipe(_lookup, _categories(), "SPECIALE")
        .pipe(_lookup, periods, "YDLTID")
    )
    # One value column per window (the services it counts, else 0), then plain sums per
    # person: a group-by the streaming engine runs without holding the services.
    values = []
    for name, (cats, days, period) in windows.items():
        cond = pl.col("category").is_in(list(cats)) & (
            pl.col("_sunday") >= pl.col("_end") - pl.duration(days=days - 1)
        )
        if period is not None:
            cond = cond & (pl.col("period") == period)
        values.append(pl.when(cond).then(pl.col("YDLANT")).otherwise(0).alias(name))
    counts = services.select("PNR", *values).group_by("PNR").agg(pl.col(list(windows)).sum())
    # SSSY books corrections as negative numbers of services: a window whose services net
    # below 0 holds corrections of services paid before it, so its count is unknown (null),
    # never a negative count that would fall into a category such as "1-2" (issue 15)
    out = (
        base.join(counts, on="PNR", how="left", build_side="force_right")
        .with_columns([pl.col(n).fill_null(0).cast(pl.Int64) for n in windows])
        .with_columns([pl.when(pl.col(n) >= 0).then(pl.col(n)).alias(n) for n in windows])
    )
    if region is None:
        return out.select("PNR", *windows)
    table = coverage_table() if coverage is None else coverage
    gaps = _gap_rows(windows, table, partly_uncovered)
    nulled, label = [], pl.lit(None, dtype=pl.String)
    for name, (_, days, _) in windows.items():
        hit = pl.any_horizontal([_in_gap(r, days) for r in gaps[name]] or [pl.lit(False)])
        nulled.append(pl.when(hit).then(None).otherwise(pl.col(name)).alias(name))
        for r in reversed(gaps[name]):
            label = pl.when(_in_gap(r, days)).then(pl.lit(_gap_label(r))).otherwise(label)
    return out.with_columns(*nulled, gp_coverage_gap=label).select(
        "PNR", *windows, "gp_coverage_gap"
    )


DEFAULT_GP_WINDOWS: dict[str, tuple[Sequence[str], int, str | None]] = {
    "gp_home_visits_90d": (["home_visit"], 90, "daytime"),
    "gp_contacts_30d": (["consultation", "e_consultation", "phone", "home_visit"], 30, None),
    "gp_ooh_contacts_30d": (["consultation", "phone", "home_visit"], 30, "out_of_hours"),
}


def add_gp_exposures(
    cohort: pl.LazyFrame,
    sssy: pl.LazyFrame,
    *,
    anchor: str = "death_date",
    windows: GpWindows | None = None,
    offset_days: int = 0,
    end_before: str | None = None,
    region: str | None = "region_code",
    coverage: pl.DataFrame | None = None,
    partly_uncovered: Literal["count", "null"] = "count",
    payment_grace_weeks: int | None = None,
) -> pl.LazyFrame:
    """Add GP-involvement exposures to a cohort (default: home visits in the last 90 days,
    any GP contact and out-of-hours contacts in the last 30 days) and the home-visit category
    ``gp_home_visit_category`` (``"0"``, ``"1-2"``, ``"3+"``).

    The windows, the lag (``offset_days``, ``end_before``) and the coverage rule are those of
    :func:`gp_service_windows`. By default the declared coverage table is applied with the
    person's region at the anchor (``region_code``: the decedent cohort's BEF region on
    31 December before death): out-of-hours counts in the Capital Region from 2014, where the
    out-of-hours service (1813) is not in SSSY, are null (unknown), not 0, and
    ``gp_coverage_gap`` says why. ``region=None`` gives raw SSSY counts (0 in the gap).

    SSSY dates a service by its payment week, which can lag the service by weeks, so windows
    that end at death also count services paid in the ``payment_grace_weeks`` weeks after
    death: a service paid after death was given before it. Default: :data:`PAYMENT_GRACE_WEEKS`
    when the windows end at death (``anchor="death_date"``, no ``offset_days``, no
    ``end_before``), else 0 (after another anchor, or a lagged window's end, a later payment
    may be for a later service).

    Raises
    ------
    ValueError
        The ``region`` column is absent (pass ``region=None`` for raw counts), or a bad
        ``offset_days`` / ``end_before``.

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2019, 3, 31)] * 2,
    ...                   "region_code": ["81", "84"]})
    >>> s = pl.LazyFrame({"PNR": ["a"], "HONUGE": ["1913"], "SPECIALE": ["800411"],
    ...                   "YDLTID": ["1"], "YDLANT": [3]})
    >>> out = add_gp_exposures(c, s).collect()
    >>> out["gp_home_visit_category"].to_list(), out["gp_ooh_contacts_30d"].to_list()
    (['3+', '0'], [0, None])
    >>> paid_late = s.with_columns(HONUGE=pl.lit("1915"))  # two weeks after the death week
    >>> add_gp_exposures(c, paid_late).collect()["gp_home_visits_90d"].to_list()
    [3, 0]
    >>> out = add_gp_exposures(c, paid_late, payment_grace_weeks=0).collect()
    >>> out["gp_home_visits_90d"].to_list()
    [0, 0]
    """
    names = cohort.collect_schema().names()
    if region is not None and region not in names:
        raise ValueError(
            f"add_gp_exposures: the region column {region!r} is not in the cohort ({names}); "
            "it places each person in the coverage table (out-of-hours services in the Capital "
            "Region from 2014 are not in SSSY). Add it, or pass region=None for raw counts."
        )
    if payment_grace_weeks is None:
        at_death = anchor == "death_date" and offset_days == 0 and end_before is None
        payment_grace_weeks = PAYMENT_GRACE_WEEKS if at_death else 0
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    windows = dict(windows or DEFAULT_GP_WINDOWS)
    keep = [c for c in ("PNR", anchor, end_before, region) if c is not None]
    counts = gp_service_windows(
        cohort.select(list(dict.fromkeys(keep))),
        sssy,
        windows,
        anchor=anchor,
        offset_days=offset_days,
        end_before=end_before,
        region=region,
        coverage=coverage,
        partly_uncovered=partly_uncovered,
        paid_after_weeks=payment_grace_weeks,
    )
    out = cohort.join(counts, on="PNR", how="left", maintain_order="left", build_side="force_right")
    if "gp_home_visits_90d" in windows:
        hv = pl.col("gp_home_visits_90d")
        out = out.with_columns(
            gp_home_visit_category=pl.when(hv.is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(hv == 0)
            .then(pl.lit("0"))
            .when(hv <= 2)
            .then(pl.lit("1-2"))
            .otherwise(pl.lit("3+"))
        )
    return out


def add_final_admission(
    cohort: pl.LazyFrame,
    contacts: pl.LazyFrame,
    *,
    anchor: str = "death_date",
    max_gap_days: int = 0,
    lookback_days: int = 365,
) -> pl.LazyFrame:
    """Add ``final_admission_start``: the first day of the final hospital admission.

    The final admission is the person's last inpatient episode (stays chained when one
    starts at most a day after the previous ends, as after a transfer between departments)
    that starts on or before the anchor and ends no more than ``max_gap_days`` before it
    (default 0: in hospital on the day of death, the patient-register hospital death of
    Carollo et al., J Am Geriatr Soc 2018). Stays starting more than ``lookback_days`` before
    the anchor are not read. Null when there is none. With
    ``add_gp_exposures(..., end_before="final_admission_start")`` the GP windows end the day
    before it.

    ``contacts`` is the harmonised LPR contact table (:func:`paleval.registers.lpr_contacts`;
    ``PNR, start, end, inpatient``).

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2020, 1, 31)] * 2})
    >>> k = pl.LazyFrame({"PNR": ["a", "a", "b"], "inpatient": [True, True, True],
    ...     "start": [d(2020, 1, 20), d(2020, 1, 25), d(2019, 12, 1)],
    ...     "end": [d(2020, 1, 25), d(2020, 1, 31), d(2019, 12, 10)]})
    >>> add_final_admission(c, k).collect()["final_admission_start"].to_list()
    [datetime.date(2020, 1, 20), None]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    stays = (
        _with_anchor(
            contacts.filter(pl.col("inpatient")).select("PNR", "start", "end"),
            _anchors(cohort, anchor),
        )
        .filter(
            (pl.col("start") <= pl.col("_anchor"))
            & (pl.col("start") >= pl.col("_anchor") - pl.duration(days=lookback_days))
        )
        .with_columns(pl.col("end").fill_null(pl.col("_anchor")))
    )
    # episodes: a stay starting more than a day after every earlier stay ended opens one
    reach = pl.col("end").cum_max().shift(1).over("PNR", order_by="start")
    opens = (reach.is_null() | (pl.col("start") > reach + pl.duration(days=1))).cast(pl.Int32)
    last = (
        stays.with_columns(_episode=opens.cum_sum().over("PNR", order_by="start"))
        .filter(pl.col("_episode") == pl.col("_episode").max().over("PNR"))
        .group_by("PNR")
        .agg(
            final_admission_start=pl.col("start").min(),
            _last_end=pl.col("end").max(),
            _anchor=pl.col("_anchor").first(),
        )
        .filter(pl.col("_last_end") >= pl.col("_anchor") - pl.duration(days=max_gap_days))
        .select("PNR", "final_admission_start")
    )
    return cohort.join(last, on="PNR", how="left", maintain_order="left", build_side="force_right")


def add_terminal_declaration(
    cohort: pl.LazyFrame, terminal: pl.LazyFrame, *, anchor: str = "death_date"
) -> pl.LazyFrame:
    """Add ``terminal_declaration`` (granted on or before the anchor) and
    ``terminal_days_before`` (days from the first grant to the anchor).

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2019, 3, 31)] * 2})
    >>> t = pl.LazyFrame({"PNR": ["a"], "BEVILLING_DATO": [dt.date(2019, 3, 1)]})
    >>> add_terminal_declaration(c, t).collect()["terminal_days_before"].to_list()
    [30, None]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    first = (
        _with_anchor(terminal.select("PNR", "BEVILLING_DATO"), _anchors(cohort, anchor))
        .filter(pl.col("BEVILLING_DATO") <= pl.col("_anchor"))
        .group_by("PNR")
        .agg(_grant=pl.col("BEVILLING_DATO").min())
    )
    return (
        cohort.join(first, on="PNR", how="left", maintain_order="left", build_side="force_right")
        .with_columns(
            terminal_declaration=pl.col("_grant").is_not_null(),
            terminal_days_before=(pl.col(anchor) - pl.col("_grant")).dt.total_days(),
        )
        .drop("_grant")
    )


def add_spc(cohort: pl.LazyFrame, dpd: pl.LazyFrame, *, anchor: str = "death_date") -> pl.LazyFrame:
    """Add specialised palliative care from the DPD, up to the anchor date.

    Columns: ``spc_referred`` (a referral received on or before the anchor), ``spc_referral_date``
    (first such referral), ``spc_admitted`` (a first contact on or before the anchor),
    ``spc_contact_date`` (first contact), ``spc_unit`` (``"hospice"``, ``"hospital"`` — team or
    unit — or ``"none"``, from the first contact), ``spc_wait_days`` (first contact minus the
    referral of that contact), ``spc_contact_to_anchor_days``.

    Referrals dated after the anchor (for example after death) are not counted; the validation
    report lists them.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2019, 3, 31)] * 2})
    >>> dpd = pl.LazyFrame({"PNR": ["a"], "HENV_DATO": [d(2019, 3, 1)], "MODTAGET": [1],
    ...     "FOERSTE_KONTAKT_DATO": [d(2019, 3, 8)], "ENHED_TYPE": ["hospice"]})
    >>> add_spc(c, dpd).collect().select("spc_unit", "spc_wait_days").rows()
    [('hospice', 7), ('none', None)]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    anchors = _anchors(cohort, anchor)
    dpd = _with_anchor(
        dpd.select("PNR", "HENV_DATO", "MODTAGET", "FOERSTE_KONTAKT_DATO", "ENHED_TYPE"), anchors
    )
    ref = (
        dpd.filter(pl.col("HENV_DATO") <= pl.col("_anchor"))
        .group_by("PNR")
        .agg(spc_referral_date=pl.col("HENV_DATO").min())
    )
    contact = (
        dpd.filter(
            (pl.col("MODTAGET") == 1)
            & pl.col("FOERSTE_KONTAKT_DATO").is_not_null()
            & (pl.col("FOERSTE_KONTAKT_DATO") <= pl.col("_anchor"))
        )
        .sort("PNR", "FOERSTE_KONTAKT_DATO", "HENV_DATO")
        .group_by("PNR")
        .agg(
            spc_contact_date=pl.col("FOERSTE_KONTAKT_DATO").first(),
            _contact_referral=pl.col("HENV_DATO").first(),
            spc_unit=pl.col("ENHED_TYPE").first(),
        )
    )
    return (
        cohort.join(ref, on="PNR", how="left", maintain_order="left", build_side="force_right")
        .join(contact, on="PNR", how="left", maintain_order="left", build_side="force_right")
        .with_columns(
            spc_referred=pl.col("spc_referral_date").is_not_null(),
            spc_admitted=pl.col("spc_contact_date").is_not_null(),
            spc_unit=pl.when(pl.col("spc_unit") == "hospice")
            .then(pl.lit("hospice"))
            .when(pl.col("spc_unit").is_not_null())
            .then(pl.lit("hospital"))
            .otherwise(pl.lit("none")),
            spc_wait_days=(
                pl.col("spc_contact_date") - pl.col("_contact_referral")
            ).dt.total_days(),
            spc_contact_to_anchor_days=(
                pl.col(anchor) - pl.col("spc_contact_date")
            ).dt.total_days(),
        )
        .drop("_contact_referral")
    )


def add_hospital_use(
    cohort: pl.LazyFrame,
    contacts: pl.LazyFrame,
    *,
    anchor: str = "death_date",
    days: int = 30,
) -> pl.LazyFrame:
    """Add inpatient admissions and bed days in the ``days`` before the anchor.

    ``contacts`` is the harmonised LPR2+LPR3 contact table
    (:func:`paleval.registers.lpr_contacts`). Exact duplicate contacts (equal on
    ``PNR, start, end, department, action_diagnosis``, rule ``lpr_duplicate_contact``) count
    once: the first is kept, as :func:`paleval.registers.deduplicate_contacts` would, but only
    among the contacts that overlap the window, so passing the contacts with or without
    de-duplication gives the same result. Bed days count the distinct nights spent in hospital
    inside the window ``[anchor - days, anchor]`` (overlapping or nested stays, as after
    transfers, count once); admissions count inpatient stays that overlap the window.
    Columns: ``admissions_{days}d``, ``bed_days_{days}d``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2020, 1, 31)] * 2})
    >>> k = pl.LazyFrame({"PNR": ["a", "a"], "inpatient": [True, True],
    ...     "start": [d(2019, 12, 25), d(2020, 1, 20)], "end": [d(2020, 1, 5), d(2020, 1, 31)]})
    >>> add_hospital_use(c, k).collect().select("admissions_30d", "bed_days_30d").rows()
    [(2, 15), (0, 0)]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    w_start = pl.col("_anchor") - pl.duration(days=days)
    # The window depends on key columns only, so restricting before the de-duplication keeps
    # or drops whole sets of duplicates; in the input order, the first of each set is the one
    # deduplicate_contacts keeps.
    key = [c for c in DUPLICATE_KEY if c in contacts.collect_schema().names()]
    stays = (
        _with_anchor(
            contacts.select(*key, "inpatient"), _anchors(cohort, anchor), maintain_order=True
        )
        .filter((pl.col("end") >= w_start) & (pl.col("start") <= pl.col("_anchor")))
        .unique(subset=key, keep="first", maintain_order=True)
        .filter(pl.col("inpatient"))
        .with_columns(
            _first=pl.max_horizontal("start", w_start),
            _last=pl.min_horizontal("end", "_anchor") - pl.duration(days=1),
        )
    )
    # Bed days: distinct nights (overlapping or nested stays count once). With a person's
    # stays in order of their first night, the nights already counted from any night on
    # are those up to the latest last night so far, so each stay adds the nights after it.
    first, last = pl.col("_first"), pl.col("_last")
    counted = last.cum_max().shift(1).over("PNR", order_by="_first")
    new = (last - pl.max_horizontal(first, counted + pl.duration(days=1))).dt.total_days() + 1
    stays = (
        stays.with_columns(_new=new.clip(lower_bound=0))
        .group_by("PNR")
        .agg(pl.len().alias(f"admissions_{days}d"), pl.col("_new").sum().alias(f"bed_days_{days}d"))
    )
    cols = [f"admissions_{days}d", f"bed_days_{days}d"]
    out = cohort.join(stays, on="PNR", how="left", maintain_order="left", build_side="force_right")
    return out.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in cols])


def add_drug_use(
    cohort: pl.LazyFrame,
    lmdb: pl.LazyFrame,
    *,
    group: str = "opioid",
    anchor: str = "death_date",
    days: int = 90,
) -> pl.LazyFrame:
    """Add whether a drug of an ATC group (code list ``atc_groups``) was dispensed in the
    ``days`` before the anchor: column ``{group}_{days}d``.

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2020, 3, 1)] * 2})
    >>> m = pl.LazyFrame({"PNR": ["a"], "EKSD": [dt.date(2020, 2, 1)], "ATC": ["N02AA05"]})
    >>> add_drug_use(c, m).collect()["opioid_90d"].to_list()
    [True, False]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    prefixes = load_codes("atc_groups").filter(pl.col("group") == group)["atc_prefix"].to_list()
    if not prefixes:
        raise ValueError(f"no ATC group {group!r} in the code list 'atc_groups'")
    name = f"{group}_{days}d"
    # ATC codes in lower case or with spaces (validation counts them as code_normalised)
    atc = pl.col("ATC").str.replace_all(" ", "", literal=True).str.to_uppercase()
    dispensed = lmdb.select("PNR", "EKSD", atc.alias("ATC")).filter(
        pl.any_horizontal([pl.col("ATC").str.starts_with(p) for p in prefixes])
    )
    hits = (
        _with_anchor(dispensed.select("PNR", "EKSD"), _anchors(cohort, anchor))
        .filter(
            (pl.col("EKSD") <= pl.col("_anchor"))
            & (pl.col("EKSD") > pl.col("_anchor") - pl.duration(days=days))
        )
        .select("PNR")
        .unique()
        .with_columns(pl.lit(True).alias(name))
    )
    out = cohort.join(hits, on="PNR", how="left", maintain_order="left", build_side="force_right")
    return out.with_columns(pl.col(name).fill_null(False))
