"""Analysis 1: time to referral to specialised palliative care (SPC) and the timing of SPC.

Two views of the same question, "how early do people reach SPC?":

- **From diagnosis** (:func:`time_to_referral`, incident cohorts of
  :mod:`paleval.cohort.incident`): cumulative incidence of SPC referral (or first contact) with
  death as the competing event (Aalen-Johansen, not 1 - Kaplan-Meier), by group, with Gray's
  test, Fine-Gray subdistribution hazard ratios and cause-specific Cox hazard ratios.
- **From the end** (:func:`referral_before_death`, the end-of-life cohort of
  :func:`paleval.cohort.end_of_life_cohort`): among referred decedents, the days from referral
  (and from first SPC contact) to death: median and IQR, and the share referred "late" (fewer
  than 7 / 30 / 90 days before death) with Wilson CIs.

Everything exported is aggregated: curves are tabulated on a coarse time grid (never one row per
event time) with the number at risk and the cumulative events behind each point, and the
distribution of intervals is a table of counts per bin, so that
:meth:`~paleval.analyses.result.AnalysisResult.disclosed` can protect every number a figure
shows. Both results also blank points whose counts rise by fewer than 5 since the previous
published point, so that small counts cannot be recovered by differencing along time (or
across the late-referral thresholds).

The waiting time from referral to first contact is analysed elsewhere (``spc_wait_days``).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from paleval.analyses._common import as_frame
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.codes.vocabulary import DIAGNOSIS_CLASSES, LEVEL_ORDER, SPC_UNITS
from paleval.disclosure import DEFAULT_THRESHOLD, Complement, Margin, Protection, Steps
from paleval.disclosure.model import suppress_rows
from paleval.plots import at_risk_table, curves, figure, forest, label, points, stacked_bars
from paleval.stats import (
    aalen_johansen,
    cause_specific_cox,
    fine_gray,
    gray_test,
    proportion_ci,
)

__all__ = [
    "ReferralBeforeDeathResult",
    "TimeToReferralResult",
    "referral_before_death",
    "time_to_referral",
]

ALL = "all"
"""Group label of the whole cohort in tables that also show groups."""

DAYS_PER_MONTH = 365.25 / 12

PERIOD_ORIGIN = 2010
PERIOD_WIDTH = 5
"""Calendar periods (``by="period"``): five-year bands from 2010 (2010-2014, 2015-2019, ...)."""

_LEVEL_ORDER: dict[str, list[str]] = {
    "education": [*LEVEL_ORDER["education"], "unknown"],
    "spc_unit": list(SPC_UNITS),
    "cancer": list(DIAGNOSIS_CLASSES),
    "cohort": list(DIAGNOSIS_CLASSES),
}
"""Display (and reference-first) order of known categorical variables; others sort."""

_OUTCOMES = ("referral", "contact")
DEFAULT_TIMES = (30, 90, 180, 365, 730)
"""Days from diagnosis at which :func:`time_to_referral` reports the CIF by default."""
_HR_COLUMNS = (
    "model", "term", "variable", "level", "reference", "estimate", "conf_low", "conf_high",
    "log_hr", "std_error", "p_value", "n", "events", "n_level", "n_events_level",
)  # fmt: skip
_INTERVALS = {"referral": "referral_to_death", "contact": "contact_to_death"}


# =================================================================== shared helpers
def _levels(values: Sequence[Any], variable: str) -> list[str]:
    """Levels in display order: the known order, "cancer" first, otherwise sorted."""
    present = sorted({str(v) for v in values})
    known = _LEVEL_ORDER.get(variable)
    if known:
        return [v for v in known if v in present] + [v for v in present if v not in known]
    if "cancer" in present:
        return ["cancer", *[v for v in present if v != "cancer"]]
    return present


def _period_expr(year_col: str) -> pl.Expr:
    lo = PERIOD_ORIGIN + ((pl.col(year_col) - PERIOD_ORIGIN) // PERIOD_WIDTH) * PERIOD_WIDTH
    return pl.format("{}-{}", lo, lo + PERIOD_WIDTH - 1)


def _add_derived(frame: pl.DataFrame, variables: Sequence[str], year_col: str) -> pl.DataFrame:
    """Derived groupings: ``period`` (five-year band of ``year_col``), ``cancer`` as a label."""
    exprs = []
    if "period" in variables and "period" not in frame.columns:
        require_columns(frame, [year_col], "the calendar period grouping")
        exprs.append(_period_expr(year_col).alias("period"))
    if "cancer" in variables and "cancer" in frame.columns and frame["cancer"].dtype == pl.Boolean:
        cancer = pl.when(pl.col("cancer")).then(pl.lit("cancer")).otherwise(pl.lit("noncancer"))
        exprs.append(cancer.alias("cancer"))
    return frame.with_columns(exprs) if exprs else frame


def _drop_missing(frame: pl.DataFrame, variables: Sequence[str], notes: list[str]) -> pl.DataFrame:
    """Exclude rows with a missing value in any of ``variables``; count them in ``notes``."""
    for v in variables:
        miss = frame[v].null_count()
        if miss:
            notes.append(f"{miss:,} persons with missing {v} excluded")
            frame = frame.filter(pl.col(v).is_not_null())
    return frame


def cif_protection(group: str, thin: bool = False, keep: Sequence[float] = ()) -> Protection:
    """The declaration of a cumulative-incidence table (``group, time, n, n_risk, events,
    n_competing``): per row ``n - n_risk - events - n_competing`` is the number censored so
    far; at-risk, cumulative event, competing and censored counts differ by a count of persons
    between any two time points of a group; across groups they add up at each time point (a
    total shared with the other tables of the same population, so treated as known). ``n``
    (the group size, on every row) is a published total. With ``thin`` the curve is published
    on a coarser grid of time points (:func:`paleval.disclosure.thin_grid`) instead of
    suppressing the time points between; the times in ``keep`` (reporting times) stay.

    Examples
    --------
    >>> cif_protection("group").counts
    ('n', 'n_risk', 'events', 'n_competing')
    """
    cum = ("n_risk", "events", "n_competing")
    return Protection(
        ("n", *cum),
        [
            Complement("n", cum, name="censored"),
            Steps("time", (*cum, "~censored"), by=(group,)),
            Margin(("time",), counts=cum),
        ],
        keep=("time",),
        differences=False,
        totals=("n",),
        thin="time" if thin else None,
        thin_keep=tuple(float(t) for t in keep),
    )


def _with_reference(tab: pl.DataFrame) -> pl.DataFrame:
    """A hazard-model table with one helper row per categorical variable (``_reference``
    true): its reference level, with ``n_level = n - sum(n_level)`` and ``n_events_level =
    events - sum(n_events_level)``, the persons and events a reader recovers from the published
    rows. With it the margin of each variable adds up to the model's ``n``/``events``, so a
    reference level of 1-4 persons is protected like a listed one; the row is dropped again
    after protection.

    Examples
    --------
    >>> t = pl.DataFrame({"model": ["m", "m"], "variable": ["edu", "edu"],
    ...                   "level": ["mid", "high"], "reference": ["low", "low"],
    ...                   "n": [100, 100], "events": [30, 30], "n_level": [40, 57],
    ...                   "n_events_level": [12, 15]})
    >>> _with_reference(t).filter("_reference").select("level", "n_level", "n_events_level").row(0)
    ('low', 3, 3)
    """
    base = tab.with_columns(_reference=pl.lit(False))
    cat = tab.filter(pl.col("reference").is_not_null())
    if cat.is_empty():
        return base
    ref = cat.group_by("model", "variable", maintain_order=True).agg(
        level=pl.col("reference").first(),
        reference=pl.col("reference").first(),
        n=pl.col("n").first(),
        events=pl.col("events").first(),
        n_level=pl.col("n").first() - pl.col("n_level").sum(),
        n_events_level=pl.col("events").first() - pl.col("n_events_level").sum(),
    )
    ref = ref.with_columns(_reference=pl.lit(True)).with_columns(
        [pl.col(c).cast(base.schema[c]) for c in ref.columns if c in base.columns]
    )
    return pl.concat([base, ref], how="diagonal_relaxed")


_MODEL_PROTECTION = Protection(
    ("n", "events", "n_level", "n_events_level"),
    [Margin(("model", "variable"), counts=("n_level", "n_events_level"))],
)

_GRAY_PROTECTION = Protection(("n", "events"), [Complement("n", ("events",))], keep=("df",))


def _time_to_referral_protection(tables: Mapping[str, pl.DataFrame]) -> dict[str, Protection]:
    times = tables["at_times"]["time"].unique().sort().to_list() if "at_times" in tables else []
    out = {
        "cif": cif_protection("group", thin=True, keep=times),
        "at_times": cif_protection("group"),
    }
    if "cif_period" in tables:
        out["cif_period"] = cif_protection("period", thin=True, keep=times)
    for name in ("fine_gray", "cause_specific"):
        out[name] = _MODEL_PROTECTION
    out["gray_test"] = _GRAY_PROTECTION
    return out


BEFORE_DEATH_PROTECTION: dict[str, Protection] = {
    "summary": Protection(
        ("n",), [Margin(("interval",), counts=("n",), over="group", total="all")]
    ),
    "shares": Protection(
        ("n", "n_late"),
        [
            Complement("n", ("n_late",)),
            Steps("threshold", ("n_late",), by=("interval", "group")),
            Margin(("interval", "threshold"), counts=("n_late",), over="group", total="all"),
        ],
        keep=("threshold",),
        differences=False,
        totals=("n",),
    ),
    "distribution": Protection(
        ("n", "n_group"),
        [
            Margin(("interval", "group"), counts=("n",)),
            Margin(("interval", "bin"), counts=("n",), over="group", total="all"),
        ],
        keep=("bin_low", "bin_high"),
        totals=("n_group",),
    ),
}
"""Declarations of the timing-before-death tables: the diagnosis groups add up to ``all``,
late referrals are cumulative over the thresholds, bins add up to the group."""


def _text_axes(ax: Any, text: str) -> Any:
    if ax is None:
        _, ax = figure(6.0, 3.0)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


_TXT: dict[str, tuple[str, str]] = {
    "cif_title_referral": (
        "Cumulative incidence of referral to SPC\n(death as competing event)",
        "Kumuleret incidens af henvisning til SPI\n(død som konkurrerende hændelse)",
    ),
    "cif_title_contact": (
        "Cumulative incidence of first SPC contact\n(death as competing event)",
        "Kumuleret incidens af første kontakt med SPI\n(død som konkurrerende hændelse)",
    ),
    "months_since_diagnosis": ("Months since diagnosis", "Måneder efter diagnose"),
    "forest_title_referral": (
        "Hazard ratios of referral to SPC",
        "Hazardratioer for henvisning til SPI",
    ),
    "forest_title_contact": (
        "Hazard ratios of first SPC contact",
        "Hazardratioer for første kontakt med SPI",
    ),
    "no_models": (
        "No model fitted (give by= or covariates=)",
        "Ingen model (angiv by= eller covariates=)",
    ),
    "shares_title_referral_to_death": (
        "Referred to SPC shortly before death",
        "Henvist til SPI kort før døden",
    ),
    "shares_title_contact_to_death": (
        "First SPC contact shortly before death",
        "Første kontakt med SPI kort før døden",
    ),
    "share_within": ("Share", "Andel"),
    "dist_title_referral_to_death": (
        "Days from referral to SPC to death",
        "Dage fra henvisning til SPI til død",
    ),
    "dist_title_contact_to_death": (
        "Days from first SPC contact to death",
        "Dage fra første kontakt med SPI til død",
    ),
    "days_lt": ("< {} days", "< {} dage"),
    "days_ge": ("{}+ days", "{}+ dage"),
    "days_range": ("{}-{} days", "{}-{} dage"),
}


def _txt(key: str, lang: str) -> str:
    if lang not in ("en", "da"):
        raise ValueError(f"lang must be 'en' or 'da', got {lang!r}")
    return _TXT[key][0 if lang == "en" else 1]


# =================================================================== (a) from diagnosis
@dataclass(repr=False)
class TimeToReferralResult(AnalysisResult):
    """Cumulative incidence of SPC referral (or first contact) from diagnosis, death competing.

    Tables
    ------
    ``cif``
        The Aalen-Johansen curve per group on a coarse grid (every ``grid_days`` days up to
        the horizon, plus the requested ``times``): ``group, time`` (days), ``n`` (persons in
        the group), ``n_risk`` (still followed at ``time``), ``events`` (cumulative events of
        the outcome by ``time``), ``n_competing`` (cumulative competing events first:
        death, and event 3 where the cohort codes one), ``estimate,
        std_error, conf_low, conf_high``.
    ``at_times``
        The rows of ``cif`` at the requested ``times``.
    ``gray_test``
        With a grouping: Gray's test per cause (``cause, outcome, statistic, df, p_value, n,
        events``).
    ``fine_gray``, ``cause_specific``
        With a grouping or covariates: tidy hazard-ratio tables (``model, term, variable,
        level, reference, estimate`` = HR, ``conf_low, conf_high, log_hr, std_error,
        p_value, n, events`` of the model, ``n_level, n_events_level`` of the level).

    Figures: ``cif`` (curves with CI bands, months since diagnosis), ``forest`` (Fine-Gray and
    cause-specific HRs side by side).
    """

    figures: ClassVar[tuple[str, ...]] = ("cif", "forest")

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> TimeToReferralResult:
        """Disclosure control over the declared survival identities (:func:`cif_protection`:
        at risk, cumulative events, competing events and censored persons between any two
        published time points, and across groups at each time point); ``at_times`` is the
        protected curve at the reporting times. In the hazard-model tables the reference level
        of each variable (not listed: the model's ``n`` and ``events`` minus the listed levels)
        is protected as a helper row that is not published (:func:`_with_reference`).
        """
        models = [k for k in ("fine_gray", "cause_specific") if k in self.tables]
        work = dataclasses.replace(
            self, tables={**self.tables, **{k: _with_reference(self.tables[k]) for k in models}}
        )
        res = super(TimeToReferralResult, work).disclosed(threshold, rounding=rounding)
        tables = dict(res.tables)
        for k in models:
            tables[k] = tables[k].filter(~pl.col("_reference")).drop("_reference")
        cif = tables["cif"]
        times = [float(t) for t in self.params["times"]]
        tables["at_times"] = cif.filter(pl.col("time").is_in(pl.Series(times).implode()))
        return dataclasses.replace(res, tables=tables)

    def _plot_cif(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["cif"].with_columns(pl.col("time") / DAYS_PER_MONTH)
        outcome = self.params["outcome"]
        grouped = bool(self.params.get("by"))
        ax = curves(
            tab,
            time="time",
            group="group" if grouped else None,
            xlabel=_txt("months_since_diagnosis", lang),
            ylabel=f"{label('cumulative_incidence', lang)}: {label(outcome, lang).lower()}",
            title=_txt(f"cif_title_{outcome}", lang),
            lang=lang,
            ax=ax,
        )
        times, rows = self.numbers_at_risk(lang)
        xs = [t / DAYS_PER_MONTH for t in times]
        # reporting times too close to the previous one for their numbers (day 30 next to 0)
        # are left out of the table and the ticks, so no two numbers overlap
        room = 0.07 * max(ax.get_xlim()[1], max(xs))
        keep = [0]
        for k in range(1, len(xs)):
            if xs[k] - xs[keep[-1]] >= room:
                keep.append(k)
        xs = [xs[k] for k in keep]
        rows = [(name, [cells[k] for k in keep]) for name, cells in rows]
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{round(x):d}" for x in xs])
        return at_risk_table(ax, xs, rows, lang=lang)

    def numbers_at_risk(self, lang: str = "en") -> tuple[list[float], list[tuple[str, list[str]]]]:
        """The numbers at risk printed under the CIF: at time 0 (the group size) and at the
        reporting times (``params["times"]``), per group, from the disclosed ``at_times``
        table only (a raw result is disclosed first). A number hidden by disclosure control
        (a count under the threshold, or one that the numbers at risk, events, competing
        events or censored persons of the neighbouring time points would reveal) or under the
        threshold is shown as ``"[s]"``. Returns the times in days and ``(label, cells)`` rows.
        """
        res = self if self.disclosure_threshold is not None else self.disclosed()
        thr = res.disclosure_threshold or DEFAULT_THRESHOLD
        at = res.tables["at_times"]
        times = [0.0, *sorted(float(t) for t in self.params["times"])]
        sep = "." if lang == "da" else ","
        groups = at["group"].unique(maintain_order=True).to_list()
        rows = []
        for g in groups:
            part = at.filter(pl.col("group") == g)
            sizes = part["n"].drop_nulls()
            risk = dict(zip(part["time"].to_list(), part["n_risk"].to_list(), strict=True))
            vals = [sizes[0] if len(sizes) else None, *(risk.get(t) for t in times[1:])]
            cells = [
                "[s]" if v is None or v < thr else f"{int(v):,}".replace(",", sep) for v in vals
            ]
            rows.append((label(g, lang), cells))
        return times, rows

    def _plot_forest(self, ax: Any = None, lang: str = "en") -> Any:
        parts = [self.tables[k] for k in ("fine_gray", "cause_specific") if k in self.tables]
        if not parts:
            return _text_axes(ax, _txt("no_models", lang))
        tab = pl.concat(parts, how="diagonal_relaxed")
        names = {
            (v, lv): f"{label(v, lang)}: {label(lv, lang)}"
            for v, lv in tab.select("variable", "level").unique().iter_rows()
        }
        tab = tab.with_columns(
            term=pl.struct("variable", "level").map_elements(
                lambda s: names[(s["variable"], s["level"])], return_dtype=pl.String
            ),
            model=pl.col("model").replace_strict(
                {m: label(m, lang) for m in ("fine_gray", "cause_specific")}
            ),
        )
        return forest(
            tab,
            term="term",
            estimate="estimate",
            low="conf_low",
            high="conf_high",
            group="model",
            xlabel=f"{label('hazard_ratio', lang)} (95% CI)",
            title=_txt(f"forest_title_{self.params['outcome']}", lang),
            lang=lang,
            ax=ax,
        )


def _stack(cohort: Any) -> pl.DataFrame:
    """A frame, or a mapping name -> frame stacked with ``cohort`` = name and a
    ``diagnosis_group`` (``"cancer"`` for the incident cancer cohort)."""
    if not isinstance(cohort, Mapping):
        return as_frame(cohort)
    frames = []
    for name, data in cohort.items():
        f = as_frame(data).with_columns(cohort=pl.lit(str(name)))
        if "diagnosis_group" not in f.columns:
            f = f.with_columns(
                diagnosis_group=pl.lit("cancer" if "cancer_site" in f.columns else str(name))
            )
        frames.append(f)
    if not frames:
        raise ValueError("`cohort` is an empty mapping")
    return pl.concat(frames, how="diagonal_relaxed")


def _contact_outcome(
    frame: pl.DataFrame, dpd: Any, followup_end: Any, notes: list[str]
) -> pl.DataFrame:
    """Recode ``time``/``event`` to the first SPC contact (DPD) with death competing."""
    import datetime as dt

    require_columns(
        frame, ["PNR", "diagnosis_date", "death_date", "exit_date"], "time to SPC contact"
    )
    reg = as_frame(dpd)
    require_columns(reg, ["PNR", "FOERSTE_KONTAKT_DATO"], "time to SPC contact (the DPD)")
    if followup_end is None:
        fu_end = frame["exit_date"].max()
    else:
        fu_end = (
            dt.date.fromisoformat(followup_end) if isinstance(followup_end, str) else followup_end
        )
    cond = pl.col("FOERSTE_KONTAKT_DATO").is_not_null()
    if "MODTAGET" in reg.columns:
        cond = cond & (pl.col("MODTAGET") == 1)
    contacts = (
        reg.lazy()
        .filter(cond)
        .join(frame.lazy().select("PNR", "diagnosis_date"), on="PNR")
        .filter(pl.col("FOERSTE_KONTAKT_DATO") >= pl.col("diagnosis_date"))
        .group_by("PNR")
        .agg(_contact_date=pl.col("FOERSTE_KONTAKT_DATO").min())
        .collect()
    )
    out = frame.join(contacts, on="PNR", how="left", maintain_order="left")
    # a person's own end of follow-up without events (e.g. emigration) when the cohort has it
    end = pl.lit(fu_end)
    if "censor_date" in frame.columns:
        end = pl.min_horizontal(pl.col("censor_date").fill_null(fu_end), pl.lit(fu_end))
        n_early = frame.filter(pl.col("censor_date") < fu_end).height
        notes.append(
            f"outcome 'contact': {n_early:,} persons followed only to their censor_date "
            "(e.g. emigration) before the end of follow-up"
        )
    contact = pl.when(pl.col("_contact_date") <= pl.col("_end")).then(pl.col("_contact_date"))
    death = pl.when(pl.col("death_date") <= pl.col("_end")).then(pl.col("death_date"))
    out = (
        out.with_columns(_end=end)
        .with_columns(_c=contact, _d=death)
        .with_columns(
            event=pl.when(
                pl.col("_c").is_not_null()
                & (pl.col("_d").is_null() | (pl.col("_c") <= pl.col("_d")))
            )
            .then(1)
            .when(pl.col("_d").is_not_null())
            .then(2)
            .otherwise(0)
            .cast(pl.Int8),
            contact_date=pl.col("_c"),
            _exit=pl.min_horizontal("_c", "_d", "_end"),
        )
        .with_columns(time=(pl.col("_exit") - pl.col("diagnosis_date")).dt.total_days())
        .drop("_c", "_d", "_exit", "_end", "_contact_date")
    )
    notes.append(f"SPC first contact from the DPD (FOERSTE_KONTAKT_DATO), follow-up to {fu_end}")
    return out


def _is_categorical(s: pl.Series) -> bool:
    """Model terms: numeric columns with more than 12 values (or floats) enter linearly."""
    numeric = s.dtype.is_numeric() and s.dtype != pl.Boolean
    return not (numeric and (s.dtype.is_float() or s.n_unique() > 12))


def _without_empty_levels(
    frame: pl.DataFrame, variables: Sequence[str], outcome: str, notes: list[str]
) -> pl.DataFrame:
    """Drop, for the hazard models, persons in categorical levels without any event of the
    outcome (their hazard ratio is not estimable and would stall the fit); count them."""
    keep = pl.lit(True)
    for v in variables:
        if not _is_categorical(frame[v]):
            continue
        ev = frame.group_by(v).agg(pl.col("event").eq(1).sum().alias("_ev"))
        empty = ev.filter(pl.col("_ev") == 0)[v].to_list()
        if empty:
            n = frame.filter(pl.col(v).is_in(pl.Series(empty).implode())).height
            names = ", ".join(str(x) for x in empty)
            notes.append(
                f"{n:,} persons with {v} = {names} (no {outcome} within the horizon) excluded "
                "from the hazard models"
            )
            keep = keep & ~pl.col(v).is_in(pl.Series(empty).implode())
    return frame.filter(keep)


def _design(
    frame: pl.DataFrame, variables: Sequence[str], reference: Mapping[str, Any]
) -> tuple[pl.DataFrame, dict[str, str | None]]:
    """Covariates for the hazard models: categorical variables as Enums with the reference
    level first (dummy-coded by the estimators, one term ``variable[level]`` per other
    level), others numeric.

    Returns the design frame and the reference level of each variable that gives a model
    term (``None`` for a numeric variable; a categorical variable with one level gives none).
    """
    cols: list[pl.Series] = []
    refs: dict[str, str | None] = {}
    for v in variables:
        s = frame[v]
        if not _is_categorical(s):
            cols.append(s.cast(pl.Float64).alias(v))
            refs[v] = None
            continue
        levels = _levels(s.cast(pl.String).unique().to_list(), v)
        ref = str(reference[v]) if v in reference else levels[0]
        if ref not in levels:
            raise ValueError(f"reference level {ref!r} of {v!r} not among its levels {levels}")
        levels = [ref, *[lv for lv in levels if lv != ref]]
        cols.append(s.cast(pl.String).cast(pl.Enum(levels)).alias(v))
        if len(levels) > 1:
            refs[v] = ref
    return pl.DataFrame(cols), refs


def _hr_table(
    model: Any,
    name: str,
    refs: Mapping[str, str | None],
    frame: pl.DataFrame,
    design: pl.DataFrame,
    events: np.ndarray,
) -> pl.DataFrame:
    """Tidy HR table of a fitted hazard model, with persons and events per level.

    ``term``, ``variable`` and ``level`` come from the model's table; a numeric variable's
    ``level`` is the variable itself and its ``reference`` null."""
    tab = model.table
    meta = tab.select(
        "term",
        "variable",
        level=pl.coalesce("level", "variable"),
        reference=pl.col("variable").replace_strict(refs, return_dtype=pl.String),
    )
    n_level, ev_level = [], []
    is_event = pl.Series(events == 1)
    for t in meta.iter_rows(named=True):
        if t["reference"] is None:
            n_level.append(frame.height)
            ev_level.append(int(is_event.sum()))
        else:
            sel = (design[t["variable"]].cast(pl.String) == t["level"]).to_numpy()
            n_level.append(int(sel.sum()))
            ev_level.append(int((sel & (events == 1)).sum()))
    return meta.with_columns(
        model=pl.lit(name),
        estimate=tab["hazard_ratio"],
        conf_low=tab["conf_low"],
        conf_high=tab["conf_high"],
        log_hr=tab["estimate"],
        std_error=tab["std_error"],
        p_value=tab["p_value"],
        n=pl.lit(model.n, pl.Int64),
        events=pl.lit(model.n_events, pl.Int64),
        n_level=pl.Series(n_level, dtype=pl.Int64),
        n_events_level=pl.Series(ev_level, dtype=pl.Int64),
    ).select(_HR_COLUMNS)


def _grid(horizon_days: int, grid_days: int, times: Sequence[int]) -> np.ndarray:
    """Multiples of ``grid_days`` up to the horizon, the horizon and the requested ``times``;
    grid points closer than ``grid_days / 2`` to a requested time (or the horizon) are dropped,
    so that no interval between published points is short (few events, easy differencing).

    Examples
    --------
    >>> _grid(400, 30, [90, 365]).astype(int).tolist()
    [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 365, 400]
    """
    fixed = sorted({*times, horizon_days})
    regular = [
        x
        for x in range(0, horizon_days + 1, grid_days)
        if all(x == f or abs(x - f) >= grid_days / 2 for f in fixed)
    ]
    return np.array(sorted({*regular, *fixed}), dtype=float)


def _cif_grid(
    t: np.ndarray,
    e: np.ndarray,
    g: np.ndarray,
    groups: list[str],
    grid: np.ndarray,
    conf_level: float,
) -> tuple[pl.DataFrame, Any]:
    """Aalen-Johansen CIF of cause 1 per group evaluated on ``grid``, with the counts."""
    aj = aalen_johansen(t, e, cause=1, group=g, conf_level=conf_level)
    at = aj.at(grid).with_columns(pl.col("group").cast(pl.String))
    frames = []
    for lab in groups:
        sel = g == lab
        tg, eg = t[sel], e[sel]
        frames.append(
            pl.DataFrame(
                {
                    "group": [lab] * grid.size,
                    "time": grid,
                    "n": np.full(grid.size, int(sel.sum()), dtype=np.int64),
                    "events": np.searchsorted(np.sort(tg[eg == 1]), grid, side="right"),
                    "n_competing": np.searchsorted(np.sort(tg[eg >= 2]), grid, side="right"),
                }
            ).with_columns(pl.col("events", "n_competing").cast(pl.Int64))
        )
    counts = pl.concat(frames)
    tab = counts.join(
        at.select("group", "time", "n_risk", "estimate", "std_error", "conf_low", "conf_high"),
        on=["group", "time"],
        how="left",
        maintain_order="left",
    ).select(
        "group", "time", "n", "n_risk", "events", "n_competing", "estimate", "std_error",
        "conf_low", "conf_high",
    )  # fmt: skip
    return tab, aj


def _check_options(
    outcome: str,
    times: Sequence[int] | None,
    horizon_days: int,
    grid_days: int,
    period: str | None,
) -> list[int]:
    """The reporting times, sorted (default: the standard times within the horizon)."""
    if outcome not in _OUTCOMES:
        raise ValueError(f"outcome must be one of {_OUTCOMES}, got {outcome!r}")
    if times is None:
        times = [x for x in DEFAULT_TIMES if x <= horizon_days] + [horizon_days]
    times = sorted({int(x) for x in times})
    if horizon_days <= 0 or grid_days <= 0:
        raise ValueError("horizon_days and grid_days must be positive")
    if any(x < 0 or x > horizon_days for x in times):
        raise ValueError(f"times must lie in [0, horizon_days={horizon_days}], got {times}")
    if period is not None and not isinstance(period, str):
        raise ValueError(f"period must be a column name or None, got {period!r}")
    return times


def _check_events(frame: pl.DataFrame, outcome: str, notes: list[str]) -> None:
    """Event codes 0-3 and non-negative times; event 3 (another competing event) noted."""
    bad = frame.filter(~pl.col("event").is_in([0, 1, 2, 3]) | pl.col("event").is_null()).height
    if bad:
        raise ValueError(
            f"`event` must be 0 (censored), 1 ({outcome}), 2 (death) or 3 (another competing "
            f"event, e.g. a new cancer in the non-cancer cohort); {bad} rows are not"
        )
    n3 = frame.filter(pl.col("event") == 3).height
    if n3:
        notes.append(
            f"{n3:,} persons with event 3 (a competing event other than death, e.g. a new "
            "cancer) treated as competing, with death, in the CIF and Fine-Gray; censored in "
            "the cause-specific Cox model"
        )
    neg = frame.filter(pl.col("time").is_null() | (pl.col("time") < 0)).height
    if neg:
        raise ValueError(f"`time` must be non-negative days; {neg} rows are missing or negative")


def _period_cif(
    frame: pl.DataFrame,
    t: np.ndarray,
    e: np.ndarray,
    period: str,
    times: list[int],
    conf_level: float,
    tables: dict[str, pl.DataFrame],
    models: dict[str, Any],
    notes: list[str],
) -> list[str]:
    """The CIF per calendar period of entry at the reporting times (table ``cif_period``);
    returns the period levels."""
    pg = frame[period].cast(pl.String).to_numpy().astype(object)
    plevels = _levels(pg.tolist(), period)
    cp, models["aalen_johansen_period"] = _cif_grid(
        t, e, pg, plevels, np.array(times, dtype=float), conf_level
    )
    tables["cif_period"] = (
        cp.rename({"group": "period"})
        .with_columns(pl.col("period").cast(pl.Enum(plevels)).to_physical().alias("_o"))
        .sort("_o", "time")
        .drop("_o")
    )
    notes.append(
        f"calendar period of entry ({period}: {', '.join(plevels)}): CIF per period in "
        "cif_period"
        + (
            f"; a model covariate, and Fine-Gray censoring distributions estimated per "
            f"{period} (cengroup)"
            if len(plevels) > 1
            else "; one period only, so not a model term"
        )
    )
    return plevels


def _gray_table(
    t: np.ndarray, e: np.ndarray, g: np.ndarray, outcome: str, models: dict[str, Any]
) -> pl.DataFrame:
    """Gray's test of the groups, per cause, with the persons and events behind it."""
    gt = gray_test(t, e, g)
    models["gray_test"] = gt
    ev_counts = {k: int((e == k).sum()) for k in (1, 2, 3)}
    return gt.table.with_columns(
        outcome=pl.col("cause").replace_strict(
            {1: outcome, 2: "death", 3: "other_competing"}, return_dtype=pl.String
        ),
        n=pl.lit(t.size, pl.Int64),
        events=pl.col("cause").replace_strict(ev_counts, return_dtype=pl.Int64),
    ).select("cause", "outcome", "statistic", "df", "p_value", "n", "events")


def _hazard_models(
    frame: pl.DataFrame,
    mvars: list[str],
    reference: dict[str, Any],
    outcome: str,
    cengroup: str | None,
    conf_level: float,
    tables: dict[str, pl.DataFrame],
    models: dict[str, Any],
    notes: list[str],
) -> None:
    """Fine-Gray (censoring distributions per ``cengroup``) and cause-specific Cox models."""
    mframe = _without_empty_levels(frame, mvars, outcome, notes)
    design, refs = _design(mframe, mvars, reference)
    if not refs:
        notes.append("no model terms with more than one level: no hazard models")
        return
    mt = mframe["time"].cast(pl.Float64).to_numpy()
    me = mframe["event"].cast(pl.Int64).to_numpy()
    cg = mframe[cengroup].cast(pl.String) if cengroup else None
    fg = fine_gray(mt, me, design, cause=1, conf_level=conf_level, cengroup=cg)
    cs = cause_specific_cox(mt, me, design, cause=1, conf_level=conf_level)
    models["fine_gray"], models["cause_specific"] = fg, cs
    for name, mod in (("fine_gray", fg), ("cause_specific", cs)):
        if not mod.converged:
            notes.append(f"{name} model did not converge")
        tables[name] = _hr_table(mod, name, refs, mframe, design, me)


def time_to_referral(
    cohort: Any,
    *,
    by: str | None = None,
    covariates: Sequence[str] = (),
    outcome: Literal["referral", "contact"] = "referral",
    dpd: pl.DataFrame | pl.LazyFrame | None = None,
    horizon_days: int = 730,
    times: Sequence[int] | None = None,
    grid_days: int = 30,
    reference: Mapping[str, Any] | None = None,
    followup_end: Any = None,
    period: str | None = "period",
    conf_level: float = 0.95,
) -> TimeToReferralResult:
    """Cumulative incidence of SPC referral from diagnosis, with death as the competing event.

    Follow-up is administratively censored at ``horizon_days``; within it the cumulative
    incidence function (CIF) of the outcome is the Aalen-Johansen estimator
    (:func:`paleval.stats.aalen_johansen`), compared across ``by`` with Gray's test; the
    hazard models (Fine-Gray subdistribution and cause-specific Cox) have ``by`` and
    ``covariates`` as terms.

    Parameters
    ----------
    cohort
        An incident cohort (:func:`paleval.cohort.incident_cancer_cohort` or
        :func:`~paleval.cohort.incident_noncancer_cohort`; DataFrame, LazyFrame or Cohort) with
        ``time`` (days from diagnosis) and ``event`` (0 censored, 1 SPC referral, 2 death, 3
        another competing event such as a new cancer in the non-cancer cohort), or a
        mapping ``{"cancer": ..., "noncancer": ...}`` of such cohorts, stacked with a column
        ``cohort`` (the key) and ``diagnosis_group`` (``"cancer"`` for the cancer cohort).
    by
        Grouping column (e.g. ``"cohort"``, ``"diagnosis_group"``, ``"cancer_site"``,
        ``"education"``, ``"income_quartile"``, ``"region"``) or ``"period"`` (five-year band
        of ``diagnosis_year``). Rows with a missing value are excluded and counted in notes.
    covariates
        Further model terms (categorical columns are dummy-coded, reference first level in
        display order, e.g. ``lower_secondary`` education; numeric columns with more than 12
        values enter linearly).
    outcome
        ``"referral"`` (the cohort's ``event``) or ``"contact"``: the first SPC contact, which
        the incident cohorts do not carry; it is derived from ``dpd`` (the DPD register frame
        with ``PNR, FOERSTE_KONTAKT_DATO`` and optionally ``MODTAGET``): the first contact on
        or after the diagnosis date, competing with death.
    dpd
        The DPD frame for ``outcome="contact"``.
    horizon_days
        End of follow-up in days from diagnosis (censoring at the horizon).
    times
        Days at which the CIF is reported in ``at_times`` (each at most ``horizon_days``);
        default 30, 90, 180, 365 and 730 days up to the horizon, and the horizon.
    grid_days
        Spacing of the tabulated curve.
    reference
        Reference levels of model terms, e.g. ``{"region": "Region Hovedstaden"}``.
    followup_end
        End of follow-up of the cohort for ``outcome="contact"`` (default: the latest
        ``exit_date``, which the censored have). A person's own ``censor_date`` (e.g.
        emigration), when the cohort has one, ends follow-up earlier.
    period
        Calendar period of entry, taken into account by default because referral practice
        and follow-up both change with calendar time (the 1-year CIF rose from 14 % to 25 %
        over 2010-2024): ``"period"`` (default) is the five-year band of ``diagnosis_year``
        (2010-2014, 2015-2019, 2020-2024); another column name uses that column; ``None``
        pools all entrants (the analysis before issue 13). With a period: the hazard models
        add it as a covariate (unless it is ``by``), Fine-Gray estimates the censoring
        distribution separately per period (crr's ``cengroup``: administrative follow-up is
        shorter for later entrants), and the table ``cif_period`` gives the CIF at ``times``
        within each period (Aalen-Johansen, censoring within period).
    conf_level
        Confidence level.

    Returns
    -------
    TimeToReferralResult
        Tables ``cif``, ``at_times``, ``cif_period`` (with ``period``) and, with a grouping,
        covariates or more than one period, ``gray_test`` (with ``by``), ``fine_gray`` and
        ``cause_specific``; models under ``models``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> df = pl.DataFrame({"time": rng.integers(0, 900, 400), "event": rng.integers(0, 3, 400),
    ...                    "sex": rng.choice(["1", "2"], 400),
    ...                    "diagnosis_year": rng.choice([2012, 2017, 2022], 400)})
    >>> res = time_to_referral(df, by="sex", horizon_days=365, times=(90, 365))
    >>> res.tables["at_times"].select("group", "time").rows()
    [('1', 90.0), ('1', 365.0), ('2', 90.0), ('2', 365.0)]
    >>> list(res.tables)
    ['cif', 'at_times', 'cif_period', 'gray_test', 'fine_gray', 'cause_specific']
    >>> res.tables["fine_gray"]["term"].to_list()
    ['sex[2]', 'period[2015-2019]', 'period[2020-2024]']
    >>> res.models["fine_gray"].n_cengroups
    3
    """
    times = _check_options(outcome, times, horizon_days, grid_days, period)
    covariates = [c for c in covariates if c != by]
    if period is not None and not isinstance(period, str):
        raise ValueError(f"period must be a column name or None, got {period!r}")
    reference = dict(reference or {})
    notes: list[str] = []
    frame = _stack(cohort)
    if outcome == "contact":
        if dpd is None:
            raise ValueError(
                "outcome='contact' needs the DPD frame (dpd=...): the incident cohorts carry "
                "the referral date only"
            )
        frame = _contact_outcome(frame, dpd, followup_end, notes)
    variables = ([by] if by else []) + list(covariates)
    all_vars = variables + ([period] if period and period not in variables else [])
    frame = _add_derived(frame, all_vars, "diagnosis_year")
    require_columns(frame, ["time", "event", *all_vars], "time to referral")
    _check_events(frame, outcome, notes)
    n_in = frame.height
    frame = _drop_missing(frame, all_vars, notes)
    if frame.height == 0:
        raise ValueError(f"no persons left to analyse (of {n_in})")
    # administrative censoring at the horizon
    frame = frame.with_columns(
        event=pl.when(pl.col("time") > horizon_days).then(0).otherwise(pl.col("event")),
        time=pl.min_horizontal(pl.col("time"), pl.lit(horizon_days)),
    )
    t = frame["time"].cast(pl.Float64).to_numpy()
    e = frame["event"].cast(pl.Int64).to_numpy()
    if by:
        g = frame[by].cast(pl.String).to_numpy().astype(object)
        groups = _levels(g.tolist(), by)
    else:
        g = np.full(t.size, ALL, dtype=object)
        groups = [ALL]
    grid = _grid(horizon_days, grid_days, times)
    cif, aj = _cif_grid(t, e, g, groups, grid, conf_level)
    cif = (
        cif.with_columns(pl.col("group").cast(pl.Enum(groups)).to_physical().alias("_o"))
        .sort("_o", "time")
        .drop("_o")
    )
    tables: dict[str, pl.DataFrame] = {
        "cif": cif,
        "at_times": cif.filter(
            pl.col("time").is_in(pl.Series([float(x) for x in times]).implode())
        ),
    }
    models: dict[str, Any] = {"aalen_johansen": aj}
    plevels: list[str] = []
    if period:
        plevels = _period_cif(frame, t, e, period, times, conf_level, tables, models, notes)
    mvars = list(variables)
    if period and len(plevels) > 1 and period not in mvars:
        mvars.append(period)
    if by and len(groups) > 1:
        tables["gray_test"] = _gray_table(t, e, g, outcome, models)
    elif by:
        notes.append(f"only one group of {by} ({groups[0]}): no Gray's test")
    if mvars and int((e == 1).sum()) == 0:
        notes.append(f"no {outcome} events within the horizon: no hazard models")
    elif mvars:
        cengroup = period if period and len(plevels) > 1 else None
        _hazard_models(
            frame, mvars, reference, outcome, cengroup, conf_level, tables, models, notes
        )
    params = {
        "outcome": outcome,
        "by": by,
        "covariates": list(covariates),
        "horizon_days": horizon_days,
        "times": times,
        "grid_days": grid_days,
        "period": period,
        "period_levels": plevels,
        "conf_level": conf_level,
    }
    what = "referral to" if outcome == "referral" else "first contact with"
    return TimeToReferralResult(
        title=f"Time from diagnosis to {what} SPC (death as competing event)",
        tables=tables,
        n=frame.height,
        params=params,
        models=models,
        notes=notes,
        protection=_time_to_referral_protection(tables),
    )


# =================================================================== (b) from the end
@dataclass(repr=False)
class ReferralBeforeDeathResult(AnalysisResult):
    """Among referred decedents: days from referral (and first SPC contact) to death.

    Tables (``interval`` is ``referral_to_death`` or ``contact_to_death``; ``group`` the level
    of ``params["by"]``, with ``"all"`` for every referred decedent):

    ``summary``
        ``interval, group, n, median, q1, q3, median_low, median_high`` (distribution-free
        CI of the median from order statistics).
    ``shares``
        ``interval, group, threshold, n, n_late`` (interval under ``threshold`` days),
        ``estimate, conf_low, conf_high`` (Wilson).
    ``distribution``
        Persons per bin of days: ``interval, group, bin, bin_low, bin_high, n, n_group,
        share``.

    Figures: ``shares`` and ``distribution`` (referral to death), ``shares_contact`` and
    ``distribution_contact`` (first contact to death).
    """

    figures: ClassVar[tuple[str, ...]] = (
        "shares", "distribution", "shares_contact", "distribution_contact",
    )  # fmt: skip

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> ReferralBeforeDeathResult:
        """Disclosure control with the link between the two tables declared: the persons
        referred fewer than ``t`` days before death (``shares``) are the bins below ``t``
        (``distribution``), so the distribution is protected with the sum of its bins below
        and above every threshold treated as published, and a bin cannot be recovered as the
        difference of two published shares.
        """
        dist = self.tables["distribution"]
        cuts = sorted({int(t) for t in self.params.get("thresholds", ())})
        helper = dist.with_columns(
            (pl.col("bin_high").is_not_null() & (pl.col("bin_high") < t)).alias(f"_below_{t}")
            for t in cuts
        )
        base = self.protection.get("distribution", BEFORE_DEATH_PROTECTION["distribution"])
        linked = dataclasses.replace(
            base,
            relations=[
                *base.relations,
                *(Margin(("interval", "group", f"_below_{t}"), counts=("n",)) for t in cuts),
            ],
        )
        work = dataclasses.replace(
            self,
            tables={**self.tables, "distribution": helper},
            protection={**self.protection, "distribution": linked},
        )
        res = AnalysisResult.disclosed(work, threshold, rounding=rounding)
        tables = dict(res.tables)
        tables["distribution"] = tables["distribution"].drop([f"_below_{t}" for t in cuts])
        # the group sizes are protected in the summary (groups add up to "all"); a group whose
        # size the summary hides is hidden in the other two tables too, which print it per row
        hidden = tables["summary"].filter(pl.col("suppressed")).select("interval", "group")
        for name in ("shares", "distribution"):
            tab = tables[name]
            mask = (
                tab.select("interval", "group")
                .join(
                    hidden.with_columns(_h=pl.lit(True)),
                    on=["interval", "group"],
                    how="left",
                    maintain_order="left",
                )
                .get_column("_h")
                .fill_null(False)
            )
            tables[name] = suppress_rows(tab, self.declaration(name), mask)
        return dataclasses.replace(res, tables=tables, protection=self.protection)

    def _shares(self, interval: str, ax: Any, lang: str) -> Any:
        tab = self.tables["shares"].filter(pl.col("interval") == interval)
        tab = tab.with_columns(
            late_referral=pl.col("threshold").map_elements(
                lambda d: _txt("days_lt", lang).format(d), return_dtype=pl.String
            )
        )
        return points(
            tab,
            x="group",
            group="late_referral",
            ylabel=_txt("share_within", lang),
            title=_txt(f"shares_title_{interval}", lang),
            lang=lang,
            ax=ax,
        )

    def _distribution(self, interval: str, ax: Any, lang: str) -> Any:
        tab = self.tables["distribution"].filter(pl.col("interval") == interval)
        order = tab["bin"].unique(maintain_order=True).to_list()
        names = {b: _bin_label(b, lang) for b in order}
        tab = tab.with_columns(pl.col("bin").replace_strict(names, return_dtype=pl.String))
        return stacked_bars(
            tab,
            group="group",
            category="bin",
            share="share",
            order=[names[b] for b in order],
            xlabel=label("percent", lang),
            title=_txt(f"dist_title_{interval}", lang),
            lang=lang,
            ax=ax,
        )

    def _plot_shares(self, ax: Any = None, lang: str = "en") -> Any:
        return self._shares("referral_to_death", ax, lang)

    def _plot_shares_contact(self, ax: Any = None, lang: str = "en") -> Any:
        return self._shares("contact_to_death", ax, lang)

    def _plot_distribution(self, ax: Any = None, lang: str = "en") -> Any:
        return self._distribution("referral_to_death", ax, lang)

    def _plot_distribution_contact(self, ax: Any = None, lang: str = "en") -> Any:
        return self._distribution("contact_to_death", ax, lang)


def _bin_label(b: str, lang: str) -> str:
    lo, _, hi = b.partition("-")
    if hi == "":
        return _txt("days_ge", lang).format(lo.rstrip("+"))
    return _txt("days_range", lang).format(lo, hi)


def _bins(edges: Sequence[int]) -> tuple[list[int], list[str]]:
    e = sorted({int(x) for x in edges} | {0})
    labels = [f"{a}-{b - 1}" for a, b in itertools.pairwise(e)] + [f"{e[-1]}+"]
    return e, labels


def referral_before_death(
    cohort: Any,
    *,
    by: str | None = "cause_group",
    thresholds: Sequence[int] = (7, 30, 90),
    bins: Sequence[int] | None = None,
    conf_level: float = 0.95,
) -> ReferralBeforeDeathResult:
    """Timing of SPC before death: days from referral and from first contact to death.

    Among decedents referred to SPC (``spc_referred``, referral on or before death), the days
    from the first referral to death; among those with a first SPC contact
    (``spc_admitted``), the days from first contact to death. Per group: median and IQR, and
    the share with the interval under each threshold (late referral; "under 7 days" means 0 to
    6 days) with Wilson CIs, and the distribution over bins of days.

    Parameters
    ----------
    cohort
        The end-of-life cohort (:func:`paleval.cohort.end_of_life_cohort`): ``death_date,
        spc_referred, spc_referral_date, spc_admitted, spc_contact_date`` and the ``by``
        column.
    by
        Grouping: ``"cancer"`` (cancer / non-cancer), ``"cause_group"``, ``"education"``,
        ``"region"``, ``"spc_unit"`` (unit type; ``none`` = referred, never admitted),
        ``"period"`` (five-year band of ``death_year``), or ``None``.
    thresholds
        Late referral: interval under this many days.
    bins
        Left edges of the bins of days (default: 0, the thresholds, 180 and 365, so that the
        late-referral counts are sums of whole bins).
    conf_level
        Confidence level.

    Returns
    -------
    ReferralBeforeDeathResult
        Tables ``summary``, ``shares``, ``distribution``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2020, 6, 30)
    >>> df = pl.DataFrame({
    ...     "death_date": [d] * 6,
    ...     "spc_referred": [True] * 5 + [False],
    ...     "spc_referral_date": [d - dt.timedelta(days=k) for k in (2, 10, 40, 60, 100)] + [None],
    ...     "spc_admitted": [False, True, True, True, True, False],
    ...     "spc_contact_date": [None] + [d - dt.timedelta(days=k) for k in (5, 30, 50, 90)]
    ...                         + [None],
    ...     "cancer": [True] * 6})
    >>> res = referral_before_death(df, by="cancer")
    >>> res.tables["summary"].select("interval", "group", "n", "median").rows()[:2]
    [('referral_to_death', 'all', 5, 40.0), ('referral_to_death', 'cancer', 5, 40.0)]
    >>> res.tables["shares"].filter(pl.col("group") == "all")["n_late"].to_list()
    [1, 2, 4, 1, 1, 3]
    """
    thresholds = sorted({int(x) for x in thresholds})
    if not thresholds or thresholds[0] <= 0:
        raise ValueError(f"thresholds must be positive days, got {thresholds}")
    edges, bin_labels = _bins(bins if bins is not None else [*thresholds, 180, 365])
    frame = as_frame(cohort)
    needed = ["death_date", "spc_referred", "spc_referral_date", "spc_admitted", "spc_contact_date"]
    variables = [by] if by else []
    frame = _add_derived(frame, variables, "death_year")
    require_columns(frame, needed + variables, "referral before death")
    notes: list[str] = []
    gexpr = pl.col(by).cast(pl.String) if by else pl.lit(ALL)
    long = pl.concat(
        [
            frame.filter(pl.col(flag).fill_null(False) & pl.col(date).is_not_null()).select(
                interval=pl.lit(_INTERVALS[kind]),
                group=gexpr,
                days=(pl.col("death_date") - pl.col(date)).dt.total_days(),
            )
            for kind, flag, date in (
                ("referral", "spc_referred", "spc_referral_date"),
                ("contact", "spc_admitted", "spc_contact_date"),
            )
        ]
    )
    n_ref = long.filter(pl.col("interval") == "referral_to_death").height
    if n_ref == 0:
        raise ValueError("no referred decedents (spc_referred with a referral date) in the cohort")
    neg = long.filter(pl.col("days") < 0).height
    if neg:
        notes.append(f"{neg:,} intervals with the referral/contact after death excluded")
        long = long.filter(pl.col("days") >= 0)
    if by:
        miss = long.filter(pl.col("group").is_null() & (pl.col("interval") == "referral_to_death"))
        if miss.height:
            notes.append(f"{miss.height:,} referred decedents with missing {by} excluded")
        long = long.filter(pl.col("group").is_not_null())
        groups = [ALL, *_levels(long["group"].unique().to_list(), by)]
        long = pl.concat([long.with_columns(group=pl.lit(ALL)), long])
    else:
        groups = [ALL]
    intervals = list(_INTERVALS.values())
    order = pl.DataFrame(
        {
            "interval": [i for i in intervals for _ in groups],
            "group": [g for _ in intervals for g in groups],
        }
    )
    summary = _summary(long, order, conf_level)
    shares = _shares_table(long, order, thresholds, conf_level)
    distribution = _distribution_table(long, order, edges, bin_labels)
    referred = frame.filter(pl.col("spc_referred").fill_null(False)).height
    params = {"by": by, "thresholds": thresholds, "bins": edges, "conf_level": conf_level}
    return ReferralBeforeDeathResult(
        title="Timing of referral to and first contact with SPC before death",
        tables={"summary": summary, "shares": shares, "distribution": distribution},
        n=referred,
        params=params,
        notes=notes,
        protection=BEFORE_DEATH_PROTECTION,
    )


def _summary(long: pl.DataFrame, order: pl.DataFrame, conf_level: float) -> pl.DataFrame:
    from scipy import stats as sps

    z = float(sps.norm.ppf(0.5 + conf_level / 2))
    n = pl.len()
    # distribution-free CI of the median: order statistics n/2 -+ z sqrt(n)/2 (1-based ranks)
    lo = ((n / 2 - z * n.sqrt() / 2).floor() - 1).clip(0, n - 1).cast(pl.Int64)
    hi = ((n / 2 + z * n.sqrt() / 2).ceil()).clip(0, n - 1).cast(pl.Int64)
    days = pl.col("days").cast(pl.Float64)
    stats = long.group_by("interval", "group").agg(
        n=pl.len().cast(pl.Int64),
        median=days.median(),
        q1=days.quantile(0.25, interpolation="linear"),
        q3=days.quantile(0.75, interpolation="linear"),
        median_low=days.sort().get(lo),
        median_high=days.sort().get(hi),
    )
    return order.join(stats, on=["interval", "group"], how="inner", maintain_order="left")


def _shares_table(
    long: pl.DataFrame, order: pl.DataFrame, thresholds: list[int], conf_level: float
) -> pl.DataFrame:
    counts = long.group_by("interval", "group").agg(
        n=pl.len().cast(pl.Int64),
        **{f"_t{k}": (pl.col("days") < k).sum().cast(pl.Int64) for k in thresholds},
    )
    tab = (
        order.join(counts, on=["interval", "group"], how="inner", maintain_order="left")
        .unpivot(
            index=["interval", "group", "n"],
            on=[f"_t{k}" for k in thresholds],
            variable_name="threshold",
            value_name="n_late",
        )
        .with_columns(pl.col("threshold").str.slice(2).cast(pl.Int64))
    )
    # back to interval, group, threshold order
    tab = (
        order.with_row_index("_o")
        .join(tab, on=["interval", "group"], maintain_order="left")
        .sort("_o", "threshold")
        .drop("_o")
    )
    ci = proportion_ci(tab["n_late"], tab["n"], conf_level=conf_level)
    return tab.with_columns(
        estimate=ci["estimate"], conf_low=ci["conf_low"], conf_high=ci["conf_high"]
    ).select("interval", "group", "threshold", "n", "n_late", "estimate", "conf_low", "conf_high")


def _distribution_table(
    long: pl.DataFrame, order: pl.DataFrame, edges: list[int], labels: list[str]
) -> pl.DataFrame:
    idx = np.searchsorted(np.asarray(edges), long["days"].to_numpy(), side="right") - 1
    binned = long.with_columns(_b=pl.Series(idx, dtype=pl.Int64))
    counts = binned.group_by("interval", "group", "_b").agg(n=pl.len().cast(pl.Int64))
    bins = pl.DataFrame(
        {
            "_b": list(range(len(labels))),
            "bin": labels,
            "bin_low": edges,
            "bin_high": [*[x - 1 for x in edges[1:]], None],
        },
        schema={"_b": pl.Int64, "bin": pl.String, "bin_low": pl.Int64, "bin_high": pl.Int64},
    )
    present = order.join(
        long.select("interval", "group").unique(),
        on=["interval", "group"],
        maintain_order="left",
    )
    return (
        present.join(bins, how="cross", maintain_order="left")
        .join(counts, on=["interval", "group", "_b"], how="left", maintain_order="left")
        .with_columns(pl.col("n").fill_null(0))
        .with_columns(n_group=pl.col("n").sum().over("interval", "group"))
        .with_columns(share=pl.col("n") / pl.col("n_group"))
        .select("interval", "group", "bin", "bin_low", "bin_high", "n", "n_group", "share")
    )
