"""Evaluating an intervention from a cohort: interrupted time series of a person-level outcome.

:func:`interrupted_time_series` turns a cohort (one row per person, a date and a 0/1 outcome)
into a monthly or quarterly series of persons (``n``) and events, and fits a segmented
regression (:func:`paleval.stats.segmented_regression`): by default a Poisson model of the
events with the persons as exposure (``log n`` offset), so the effects are ratios of the share
(the level change at the intervention and the change in the monthly trend), with harmonic
seasonality and Newey-West standard errors (Bernal, Cummins and Gasparrini, Int J Epidemiol
2017;46:348-55). ``family="gaussian"`` models the share itself (differences in percentage
points).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from paleval.analyses._common import as_frame, fit_or_note
from paleval.analyses.result import AnalysisResult
from paleval.disclosure import Complement, Margin, Protection
from paleval.plots import PALETTE, figure, label, style, suppressed_note
from paleval.stats.its import segmented_regression

__all__ = ["InterruptedTimeSeriesResult", "interrupted_time_series"]

_TRUNC = {"month": "1mo", "quarter": "1q"}


class InterruptedTimeSeriesResult(AnalysisResult):
    """An interrupted time series of a share.

    Tables
    ------
    ``effects`` (main): ``term, estimate, conf_low, conf_high, p_value, n, events`` (the
    segmented regression's level and slope changes; ratios for the Poisson and negative
    binomial families, differences of the share for the Gaussian; ``n``, ``events``: the
    persons and events of the whole series). ``series``: ``period, n, events, share,
    fitted, counterfactual`` (shares; the counterfactual without the intervention terms).

    Figures: ``series`` (observed shares, the fitted and counterfactual lines, the
    intervention dates).
    """

    figures: ClassVar[tuple[str, ...]] = ("series",)

    def _plot_series(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["series"]
        if ax is None:
            _fig, ax = figure(7.0, 4.0)
        x = tab["period"].to_numpy()
        with style():
            share = 100 * tab["share"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            ax.plot(x, share, "o", markersize=3, color=PALETTE[0], label=label("observed", lang))
            hidden = np.isnan(share)
            if hidden.any():  # suppressed months: marked on the axis, never drawn as 0
                ax.plot(x[hidden], np.full(hidden.sum(), 0.02), "x", color=PALETTE[0],
                        transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
                ax.annotate(suppressed_note(lang), xy=(0, 0), xycoords=ax.xaxis.label,
                            xytext=(0, -3), textcoords="offset points", va="top",
                            fontsize=7, color="0.3")  # fmt: skip
            for col, style_, key in (
                ("fitted", "-", "fitted"),
                ("counterfactual", "--", "counterfactual"),
            ):
                y = 100 * tab[col].cast(pl.Float64).fill_null(np.nan).to_numpy()
                if np.isnan(y).all():  # the model was not estimable (see the notes)
                    continue
                if col == "counterfactual":  # only where it differs: after the first intervention
                    first = min(self.params["intervention_dates"].values())
                    y = np.where(x >= np.datetime64(first), y, np.nan)
                ax.plot(x, y, style_, color="black" if col == "fitted" else "0.45",
                        linewidth=1.2, label=label(key, lang))  # fmt: skip
            for name, when in self.params["intervention_dates"].items():
                ax.axvline(np.datetime64(when), color="0.6", linestyle=":", linewidth=1)
                ax.annotate(label(name, lang), xy=(np.datetime64(when), 1.0),
                            xycoords=("data", "axes fraction"), xytext=(3, -10),
                            textcoords="offset points", fontsize=7, color="0.3")  # fmt: skip
            ax.set_ylabel(label(self.params["outcome"], lang) + " (%)")
            ax.set_xlabel(label(self.params["freq"], lang))
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=8, loc="lower right")
        return ax


def _series(frame: pl.DataFrame, outcome: str, date: str, freq: str) -> pl.DataFrame:
    """Persons and events per period, every period of the span (0 where nobody)."""
    period = pl.col(date).cast(pl.Date).dt.truncate(_TRUNC[freq])
    counted = (
        frame.group_by(period.alias("period"))
        .agg(n=pl.len().cast(pl.Int64), events=pl.col(outcome).cast(pl.Int64).sum())
        .sort("period")
    )
    first, last = counted["period"].min(), counted["period"].max()
    every = pl.DataFrame({"period": pl.date_range(first, last, _TRUNC[freq], eager=True)})
    return every.join(counted, on="period", how="left").with_columns(
        pl.col("n", "events").fill_null(0)
    )


def _as_date(value: dt.date | str, name: str) -> dt.date:
    """A date argument given as a date or an ISO string (YYYY-MM-DD)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date or an ISO date string (YYYY-MM-DD), got {value!r}")


def _check(frame: pl.DataFrame, outcome: str, date: str, freq: str, family: str) -> None:
    missing = [c for c in (outcome, date) if c not in frame.columns]
    if missing:
        raise ValueError(f"interrupted_time_series: cohort lacks column(s) {missing}")
    if not frame.schema[date].is_temporal():
        raise ValueError(f"{date!r} must be a date column, got {frame.schema[date]}")
    if freq not in _TRUNC:
        raise ValueError(f"freq must be 'month' or 'quarter', got {freq!r}")
    if family not in ("poisson", "negbin", "gaussian"):
        raise ValueError(f"family must be 'poisson', 'negbin' or 'gaussian', got {family!r}")
    values = frame[outcome].drop_nulls()
    if values.dtype != pl.Boolean and not values.is_in([0, 1]).all():
        raise ValueError(f"outcome {outcome!r} must be Boolean or 0/1")


def interrupted_time_series(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    outcome: str,
    date: str,
    intervention: dt.date | str | Mapping[str, dt.date | str],
    *,
    freq: Literal["month", "quarter"] = "month",
    family: Literal["poisson", "negbin", "gaussian"] = "poisson",
    seasonality: int = 1,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    conf_level: float = 0.95,
) -> InterruptedTimeSeriesResult:
    """Interrupted time series of the share of persons with ``outcome``, by calendar period.

    Parameters
    ----------
    cohort
        One row per person (DataFrame, LazyFrame or Cohort).
    outcome
        A Boolean or 0/1 column (e.g. ``"spc_admitted"``, ``"home_death"``); persons with a
        null outcome are left out, counted in a note.
    date
        The date that places a person in a period (e.g. ``"death_date"``).
    intervention
        A date, or a mapping name -> date for several (each takes effect from the first period
        starting on or after it).
    freq
        ``"month"`` or ``"quarter"``.
    family
        ``"poisson"`` (events with the persons as exposure: ratios of the share; default),
        ``"negbin"`` (overdispersed) or ``"gaussian"`` (the share; differences).
    seasonality
        Fourier pairs for the season within the year (default 1; 0 for none).
    start, end
        The series' span (default: the cohort's dates); partial periods at the ends are not
        trimmed, so give whole months or quarters.
    conf_level
        Confidence level.

    Returns
    -------
    InterruptedTimeSeriesResult

    Examples
    --------
    >>> import datetime as dt
    >>> rng = np.random.default_rng(3)
    >>> days = pl.date_range(dt.date(2016, 1, 1), dt.date(2019, 12, 31), "1d", eager=True)
    >>> day = days.sample(20_000, with_replacement=True, seed=1)
    >>> after = (day >= dt.date(2018, 1, 1)).to_numpy()
    >>> spc = rng.random(20_000) < np.where(after, 0.45, 0.3)  # a level change of 1.5
    >>> c = pl.DataFrame({"death_date": day, "spc": spc})
    >>> res = interrupted_time_series(c, "spc", "death_date", {"reform": dt.date(2018, 1, 1)})
    >>> row = res.table.filter(pl.col("term") == "level[reform]")
    >>> bool(row["conf_low"][0] < 1.5 < row["conf_high"][0])
    True
    """
    frame = as_frame(cohort)
    _check(frame, outcome, date, freq, family)
    notes: list[str] = []
    missing = frame[outcome].null_count() + frame[date].null_count()
    frame = frame.filter(pl.col(outcome).is_not_null() & pl.col(date).is_not_null())
    if missing:
        notes.append(f"{missing:,} persons with a missing {outcome} or {date} left out")
    if start is not None:
        frame = frame.filter(pl.col(date) >= _as_date(start, "start"))
    if end is not None:
        frame = frame.filter(pl.col(date) <= _as_date(end, "end"))
    given = (
        dict(intervention) if isinstance(intervention, Mapping) else {"intervention": intervention}
    )
    dates = {k: _as_date(v, f"intervention {k!r}") for k, v in given.items()}
    series = _series(frame, outcome, date, freq)
    empty = series.filter(pl.col("n") == 0).height
    if empty:
        raise ValueError(
            f"interrupted_time_series: {empty} {freq}(s) without persons in the series; "
            "choose a coarser freq or a shorter span"
        )
    data = series.with_columns(share=pl.col("events") / pl.col("n"))
    ratio = family != "gaussian"
    what = f"segmented regression ({family}{', persons as exposure' if ratio else ''})"
    if family == "gaussian":
        fit = fit_or_note(
            lambda: segmented_regression(data, "share", "period", dates, family="gaussian",
                                         seasonality=seasonality, conf_level=conf_level),
            notes, what,
        )  # fmt: skip
    else:
        fit = fit_or_note(
            lambda: segmented_regression(data, "events", "period", dates, family=family,
                                         exposure="n", seasonality=seasonality,
                                         conf_level=conf_level),
            notes, what,
        )  # fmt: skip
    n_total, e_total = int(series["n"].sum()), int(series["events"].sum())
    if fit is None:  # not estimable (e.g. periods without events): the observed series only
        effects = pl.DataFrame(
            schema={"term": pl.String, "estimate": pl.Float64, "conf_low": pl.Float64,
                    "conf_high": pl.Float64, "p_value": pl.Float64, "n": pl.Int64,
                    "events": pl.Int64}
        )  # fmt: skip
        nothing = pl.lit(None, pl.Float64)
        table = data.with_columns(fitted=nothing, counterfactual=nothing)
    else:
        scale = 1.0 if family == "gaussian" else data["n"]
        effects = fit.table.filter(pl.col("variable").is_in(["level", "slope"])).select(
            "term",
            estimate=pl.col("ratio" if ratio else "estimate"),
            conf_low=pl.col("ratio_low" if ratio else "conf_low"),
            conf_high=pl.col("ratio_high" if ratio else "conf_high"),
            p_value="p_value",
            n=pl.lit(n_total, pl.Int64),
            events=pl.lit(e_total, pl.Int64),
        )
        table = data.with_columns(
            fitted=fit.series["fitted"] / scale,
            counterfactual=fit.series["counterfactual"] / scale,
        )
        notes.append(
            f"{what}, {series.height} {freq}s, seasonality {seasonality} Fourier pair(s), "
            f"{fit.se_type} standard errors; effects are "
            + ("ratios of the share" if ratio else "differences of the share")
            + "; level: the change at the intervention, slope: the change per "
            + freq
        )
    return InterruptedTimeSeriesResult(
        title=f"Interrupted time series of {outcome}",
        tables={"effects": effects, "series": table},
        n=n_total,
        params={
            "outcome": outcome,
            "date": date,
            "freq": freq,
            "family": family,
            "seasonality": seasonality,
            "conf_level": conf_level,
            "intervention_dates": {k: v.isoformat() for k, v in dates.items()},
            "events": e_total,
        },
        models={} if fit is None else {"segmented_regression": fit},
        notes=notes,
        protection={
            "effects": Protection(("n", "events"), [Complement("n", ("events",))]),
            # the periods add up to the published total of the effects table
            "series": Protection(
                ("n", "events"), [Complement("n", ("events",)), Margin(())], keep=("period",)
            ),
        },
    )


class DifferenceInDifferencesResult(AnalysisResult):
    """Staggered difference-in-differences of a share across units (regions, municipalities).

    Tables
    ------
    ``event_study`` (main): ``event_time, att, conf_low, conf_high, adoption_years, n`` (the
    average effect on the share by years since adoption, Callaway and Sant'Anna's dynamic
    aggregation; ``adoption_years``: the adoption cohorts behind it; ``n``: persons
    in the adopting units' cells at that event time). ``overall``:
    ``aggregation, att, conf_low, conf_high, n`` (simple, event-study and group averages;
    ``n``: persons in the adopting units, all years). The group-time effects are in
    ``models["did"].group_time`` (not exported: their persons would add up to the event
    study's).

    Figures: ``event_study`` (effects with CIs by event time; the adoption between -1 and 0).
    """

    figures: ClassVar[tuple[str, ...]] = ("event_study",)

    def _plot_event_study(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["event_study"].filter(pl.col("att").is_not_null())
        if ax is None:
            _fig, ax = figure(6.4, 4.0)
        scale = 100.0
        with style():
            e = tab["event_time"].to_numpy()
            att, lo, hi = (scale * tab[c].to_numpy() for c in ("att", "conf_low", "conf_high"))
            pre = e < 0
            for mask, colour in ((pre, "0.5"), (~pre, PALETTE[0])):
                ax.errorbar(e[mask], att[mask], yerr=[att[mask] - lo[mask], hi[mask] - att[mask]],
                            fmt="o", capsize=3, markersize=4, color=colour)  # fmt: skip
            ax.axhline(0, color="black", linewidth=0.8)
            ax.axvline(-0.5, color="0.6", linestyle=":", linewidth=1)
            ax.set_xlabel(label("years_since_adoption", lang))
            ax.set_ylabel(label("effect_on_share", lang) + " (%-points)")
            ax.set_title(label(self.params["outcome"], lang))
        return ax


def _unit_panel(
    frame: pl.DataFrame, outcome: str, unit: str, date: str, adoption: Mapping[Any, Any]
) -> pl.DataFrame:
    """Persons, events and the share per unit and calendar year, with the adoption year."""
    first = pl.DataFrame(
        {unit: list(adoption), "first_treated": [_year(v) for v in adoption.values()]},
        schema={unit: frame.schema[unit], "first_treated": pl.Int64},
    )
    return (
        frame.group_by(unit, pl.col(date).dt.year().cast(pl.Int64).alias("year"))
        .agg(n=pl.len().cast(pl.Int64), events=pl.col(outcome).cast(pl.Int64).sum())
        .join(first, on=unit, how="left")
        .with_columns(pl.col("first_treated").fill_null(0), share=pl.col("events") / pl.col("n"))
        .sort(unit, "year")
    )


def _year(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if value.month != 1 or value.day != 1:
        raise ValueError(
            f"adoption date {value} is not 1 January: the panel is yearly, so an adoption "
            "within a year would count that year as treated; give the first full year"
        )
    return value.year


def difference_in_differences(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    outcome: str,
    unit: str,
    date: str,
    adoption: Mapping[Any, dt.date | str | int | None],
    *,
    control: Literal["never", "not_yet"] = "never",
    cluster: str | None = None,
    conf_level: float = 0.95,
) -> DifferenceInDifferencesResult:
    """Effect of an intervention adopted by units at different times, on the share of persons
    with ``outcome`` (staggered difference-in-differences, Callaway and Sant'Anna 2021).

    The cohort is counted per unit and calendar year; the outcome of a unit-year is its share
    (each unit weighted equally, as the did package does for a panel of units);
    :func:`paleval.stats.did_group_time` gives the group-time effects and their aggregations
    with standard errors clustered by unit (or ``cluster``).

    Parameters
    ----------
    cohort
        One row per person, with ``outcome`` (Boolean or 0/1), ``unit`` and ``date``.
    outcome, unit, date
        The outcome, the adopting unit (e.g. ``"region"``, ``"municipality"``) and the date
        that places a person in a year (e.g. ``"death_date"``).
    adoption
        Unit -> the first year (an int, or 1 January of it) of the intervention; units not
        listed, or ``None``, never adopted.
    control
        ``"never"`` (never-adopting units) or ``"not_yet"`` (also units adopting later).
    cluster
        A column constant within unit to cluster on (default: the unit).
    conf_level
        Confidence level.

    Returns
    -------
    DifferenceInDifferencesResult

    Examples
    --------
    >>> import datetime as dt
    >>> rng = np.random.default_rng(5)
    >>> n = 40_000
    >>> unit = rng.integers(0, 20, n)
    >>> year = rng.integers(2012, 2020, n)
    >>> treated = (unit < 8) & (year >= np.where(unit < 4, 2015, 2017))
    >>> c = pl.DataFrame({"unit": unit, "death_date": [dt.date(int(y), 6, 1) for y in year],
    ...                   "home": rng.random(n) < 0.3 + 0.01 * (year - 2012) + 0.1 * treated})
    >>> res = difference_in_differences(c, "home", "unit", "death_date",
    ...                                 {u: (2015 if u < 4 else 2017) for u in range(8)})
    >>> simple = res.tables["overall"].filter(pl.col("aggregation") == "simple")
    >>> bool(simple["conf_low"][0] < 0.1 < simple["conf_high"][0])
    True
    """
    from paleval.stats.did import did_group_time

    frame = as_frame(cohort)
    missing = [
        c for c in (outcome, unit, date, *([cluster] if cluster else [])) if c not in frame.columns
    ]
    if missing:
        raise ValueError(f"difference_in_differences: cohort lacks column(s) {missing}")
    notes: list[str] = []
    dropped = frame.filter(pl.any_horizontal(pl.col(outcome, unit, date).is_null())).height
    if dropped:
        notes.append(f"{dropped:,} persons with a missing {outcome}, {unit} or {date} left out")
        frame = frame.filter(pl.all_horizontal(pl.col(outcome, unit, date).is_not_null()))
    unknown = sorted(set(adoption) - set(frame[unit].unique().to_list()), key=str)
    if unknown:
        raise ValueError(f"adoption names unit(s) not in the cohort's {unit!r}: {unknown[:5]}")
    panel = _unit_panel(frame, outcome, unit, date, adoption)
    if cluster:
        panel = panel.join(frame.select(unit, cluster).unique(unit), on=unit, how="left")
    fit = did_group_time(panel, "share", unit, "year", "first_treated", control=control,
                         cluster=cluster, conf_level=conf_level)  # fmt: skip
    # persons behind each published effect: the adopting units' cells of that year
    treated = panel.filter(pl.col("first_treated") > 0).with_columns(
        event_time=pl.col("year") - pl.col("first_treated")
    )
    n_event = treated.group_by("event_time").agg(n=pl.col("n").sum())
    n_treated = int(treated["n"].sum())
    keep = ["att", "conf_low", "conf_high"]
    # the adoption years behind each event time, as text: a number of cohorts (1, 2) is not a
    # count of persons, but an output checker cannot tell it from one
    years = fit.group_time.group_by("event_time").agg(
        adoption_years=pl.col("group").unique().sort().cast(pl.String).str.join(", ")
    )
    event_study = (
        fit.event_study.select("event_time", *keep)
        .join(years, on="event_time", how="left")
        .join(n_event, on="event_time", how="left")
    )
    overall = fit.overall.select("aggregation", *keep).with_columns(n=pl.lit(n_treated, pl.Int64))
    if fit.n_dropped_units:
        notes.append(f"units left out: {fit.n_dropped_units}")
    notes.append(
        f"Callaway and Sant'Anna group-time effects on the yearly share of {outcome} "
        f"({fit.n_units} units, {control}-treated controls, unconditional parallel trends), "
        f"standard errors clustered by {cluster or unit} ({fit.n_clusters} clusters); "
        "effects are differences of the share"
    )
    # the event times' persons add up to the overall table's n (published): one margin
    return DifferenceInDifferencesResult(
        title=f"Difference-in-differences of {outcome}",
        tables={"event_study": event_study, "overall": overall},
        n=frame.height,
        params={
            "outcome": outcome,
            "unit": unit,
            "date": date,
            "control": control,
            "cluster": cluster,
            "conf_level": conf_level,
            "adoption": {str(k): _year(v) for k, v in adoption.items()},
        },
        models={"did": fit},
        notes=notes,
        protection={
            "event_study": Protection(("n",), [Margin((), counts=("n",))], keep=("event_time",)),
            "overall": Protection(("n",), []),
        },
    )
