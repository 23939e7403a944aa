"""Care in the last year of life: weekly health-care use and the aggressiveness of care.

:func:`care_trajectories` takes the decedent cohort and the sparse person-week use of
:func:`paleval.cohort.weekly_care_use`, and gives per group and week before death the persons
(``n``), the persons with any use that week (``persons``), the total use (``total``), the mean
use per person (``estimate``, with a normal-approximation CI from the person-level variance,
which is exact for the mean of independent persons) and the share with any use
(``share``). With the cohort's counts from :func:`paleval.cohort.add_aggressiveness` it also
gives Earle's indicators of aggressive end-of-life care (Earle et al., J Clin Oncol
2003;21:1133-8) that the Danish registers measure, as shares with Wilson CIs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl
from scipy.stats import norm

from paleval.analyses._common import as_frame, share_table
from paleval.analyses.result import AnalysisResult
from paleval.codes.vocabulary import UNKNOWN_PLACE
from paleval.cohort.trajectories import CARE_MEASURES
from paleval.disclosure import Complement, Margin, Protection
from paleval.plots import PALETTE, figure, label, style, suppressed_note, trend

__all__ = ["AGGRESSIVENESS", "CareTrajectoriesResult", "care_trajectories"]

AGGRESSIVENESS: dict[str, tuple[str, str]] = {
    # indicator: (cohort column, the rule on it); Earle 2003 and 2004 (see module docstring)
    "emergency_contacts_gt1": ("emergency_contacts_{days}d", "more than one emergency contact"),
    "acute_admissions_gt1": ("acute_admissions_{days}d", "more than one acute admission"),
    "hospital_nights_gt14": ("hospital_nights_{days}d", "more than 14 nights in hospital"),
    "death_in_hospital": ("place_of_death", "death in hospital (known places only)"),
    "spc_none_or_late": (
        "spc_contact_to_anchor_days",
        "no specialised palliative care, or first contact under 3 days before death",
    ),
}
"""Earle's indicators that paleval measures: name -> (cohort column, definition)."""


def _indicator_expr(name: str, days: int) -> pl.Expr:
    col = AGGRESSIVENESS[name][0].format(days=days)
    if name == "emergency_contacts_gt1" or name == "acute_admissions_gt1":
        return pl.col(col) > 1
    if name == "hospital_nights_gt14":
        return pl.col(col) > 14
    if name == "death_in_hospital":
        place = pl.col(col)
        return (
            pl.when(place.is_null() | (place == UNKNOWN_PLACE))
            .then(None)
            .otherwise(place == "hospital")
        )
    return pl.col(col).is_null() | (pl.col(col) < 3)


class CareTrajectoriesResult(AnalysisResult):
    """Weekly care in the last year of life by group, and the aggressiveness indicators.

    Tables
    ------
    ``weekly`` (main): ``<by>, measure, week_before, n, persons, total, estimate,
    conf_low, conf_high, share`` (week 1 = the 7 days ending on the death day; ``persons``
    used the service that week; ``estimate`` = mean use per person that week). The weeks are
    not cumulative: each is its own count. ``indicators``: ``<by>, indicator, n, events, estimate,
    conf_low, conf_high`` (share of decedents), when the cohort has the columns.

    Figures: ``weekly`` (mean use per person by week before death, one panel per measure),
    ``indicators`` (the shares by group).
    """

    figures: ClassVar[tuple[str, ...]] = ("weekly", "indicators")

    def _plot_weekly(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["weekly"]
        measures = [m for m in self.params["measures"] if m in tab["measure"].to_list()]
        group = self.params["by"]
        if ax is not None:  # one measure on the caller's axes
            measures = measures[:1]
            axes = [ax]
        else:
            ncols = min(3, len(measures))
            nrows = -(-len(measures) // ncols)
            _fig, grid = figure(4.2 * ncols, 3.2 * nrows, nrows=nrows, ncols=ncols)
            axes = list(np.atleast_1d(grid).ravel())
            for extra in axes[len(measures) :]:
                extra.set_visible(False)
        hidden = False
        for k, (a, m) in enumerate(zip(axes, measures, strict=False)):
            trend(
                tab.filter(pl.col("measure") == m),
                x="week_before",
                group=group,
                percent=False,
                ylabel=label("per_person", lang) if k % 3 == 0 else "",
                title=label(m, lang),
                lang=lang,
                ax=a,
            )
            a.set_xlabel(label("weeks_before_death", lang))
            a.invert_xaxis()  # death on the right
            hidden |= bool(a.texts)
            for note in list(a.texts):  # one note for the figure, below
                note.remove()
            if k and a.get_legend() is not None:  # one legend, in the first panel
                a.get_legend().remove()
        fig = axes[0].figure
        if ax is None:
            fig.tight_layout(rect=(0, 0.04 if hidden else 0, 1, 1))
        if hidden:
            fig.text(0.01, 0.01, suppressed_note(lang), fontsize=7, color="0.3")
        return axes[0]

    def _plot_indicators(self, ax: Any = None, lang: str = "en") -> Any:
        if "indicators" not in self.tables:
            raise ValueError("no indicators: the cohort lacks add_aggressiveness's columns")
        tab = self.tables["indicators"].filter(pl.col("estimate").is_not_null())
        names = [k for k in AGGRESSIVENESS if k in tab["indicator"].to_list()]
        group = self.params["by"]
        groups = [None] if group is None else tab[group].unique(maintain_order=True).to_list()
        if ax is None:
            _fig, ax = figure(7.0, 0.35 * len(names) * len(groups) + 1.6)
        height = 0.7 / len(groups)
        with style():
            for k, g in enumerate(groups):
                sub = tab if g is None else tab.filter(pl.col(group) == g)
                pos = [
                    names.index(v) + (k - (len(groups) - 1) / 2) * height for v in sub["indicator"]
                ]
                e, lo, hi = (
                    100 * sub[c].to_numpy().astype(float)
                    for c in ("estimate", "conf_low", "conf_high")
                )
                ax.errorbar(e, pos, xerr=[e - lo, hi - e], fmt="o", markersize=5, capsize=3,
                            color=PALETTE[k % len(PALETTE)],
                            label=None if g is None else label(g, lang))  # fmt: skip
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels([textwrap.fill(label(v, lang), 30) for v in names])
            ax.invert_yaxis()
            ax.set_xlim(0, 100)
            ax.set_xlabel(label("share_of_decedents", lang) + " (%)")
            ax.set_title(label("aggressiveness_title", lang))
            if group is not None and len(groups) > 1:
                ax.legend(title=label(group, lang), fontsize=8)
            ax.figure.tight_layout()
        return ax


def _check(cohort: pl.DataFrame, use: pl.DataFrame, by: str | None, weeks: int) -> None:
    for frame, what, cols in (
        (cohort, "cohort", ["PNR", *([by] if by else [])]),
        (use, "use", ["PNR", "measure", "week", "count"]),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"care_trajectories: {what} lacks column(s) {missing}")
    if not isinstance(weeks, int) or isinstance(weeks, bool) or not 1 <= weeks <= 104:
        raise ValueError(f"weeks must be a whole number from 1 to 104, got {weeks!r}")
    unknown = sorted(set(use["measure"].unique().to_list()) - set(CARE_MEASURES))
    if unknown:
        raise ValueError(f"care_trajectories: unknown measure(s) {unknown} in use")
    strays = use.join(cohort.select("PNR"), on="PNR", how="anti").height
    if strays:
        raise ValueError(
            f"care_trajectories: {strays:,} rows of use belong to persons not in the cohort "
            "(compute use from the same cohort)"
        )


def _weekly(
    cohort: pl.DataFrame,
    use: pl.DataFrame,
    unknown: pl.DataFrame,
    keys: list[str],
    measures: list[str],
    weeks: int,
    conf_level: float,
) -> pl.DataFrame:
    """Per group, measure and week: n, persons, total and the mean with its CI."""
    groups = cohort.select("PNR", *keys)
    # persons per group and measure: the cohort less those whose measure is unknown
    grid = groups.join(pl.DataFrame({"measure": measures}), how="cross")
    grid = grid.join(unknown, on=["PNR", "measure"], how="anti")
    n = grid.group_by([*keys, "measure"]).agg(n=pl.len().cast(pl.Int64))
    cells = n.join(pl.DataFrame({"week": np.arange(1, weeks + 1, dtype=np.int32)}), how="cross")
    counted = (
        use.filter(pl.col("measure").is_in(measures) & pl.col("week").is_between(1, weeks))
        .join(unknown, on=["PNR", "measure"], how="anti")
        .join(groups, on="PNR")
        .group_by([*keys, "measure", "week"])
        .agg(
            persons=pl.len().cast(pl.Int64),
            total=pl.col("count").sum().cast(pl.Int64),
            _sumsq=(pl.col("count").cast(pl.Float64) ** 2).sum(),
        )
    )
    tab = cells.join(counted, on=[*keys, "measure", "week"], how="left").with_columns(
        pl.col("persons", "total").fill_null(0), pl.col("_sumsq").fill_null(0.0)
    )
    z = float(norm.ppf(0.5 + conf_level / 2))
    mean = pl.col("total") / pl.col("n")
    var = (pl.col("_sumsq") - pl.col("n") * mean**2) / (pl.col("n") - 1)
    se = (var.clip(lower_bound=0.0) / pl.col("n")).sqrt()
    order = {m: i for i, m in enumerate(measures)}
    return (
        tab.with_columns(
            estimate=mean,
            conf_low=(mean - z * se).clip(lower_bound=0.0),
            conf_high=mean + z * se,
            share=pl.col("persons") / pl.col("n"),
            _order=pl.col("measure").replace_strict(order, return_dtype=pl.Int32),
        )
        .sort([*keys, "_order", "week"])
        .rename({"week": "week_before"})
        .select(
            *keys,
            "measure",
            "week_before",
            "n",
            "persons",
            "total",
            "estimate",
            "conf_low",
            "conf_high",
            "share",
        )
    )


def _indicators(cohort: pl.DataFrame, keys: list[str], days: int, conf_level: float):
    present = [
        k for k, (col, _) in AGGRESSIVENESS.items() if col.format(days=days) in cohort.columns
    ]
    parts = [
        share_table(cohort, keys, _indicator_expr(k, days), conf_level).with_columns(
            indicator=pl.lit(k)
        )
        for k in present
    ]
    if not parts:
        return None, present
    tab = pl.concat(parts, how="vertical_relaxed")
    cols = [*keys, "indicator", "n", "events", "estimate", "conf_low", "conf_high"]
    return tab.select(cols), present


def care_trajectories(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    use: pl.DataFrame | pl.LazyFrame,
    *,
    unknown: pl.DataFrame | pl.LazyFrame | None = None,
    by: str | None = None,
    measures: Sequence[str] | None = None,
    weeks: int = 52,
    days: int = 30,
    conf_level: float = 0.95,
) -> CareTrajectoriesResult:
    """Health-care use week by week in the last year of life, and aggressive care at the end.

    Parameters
    ----------
    cohort
        The decedent cohort (one row per person; ``PNR`` and the ``by`` column; for the
        indicators the columns of :func:`paleval.cohort.add_aggressiveness`,
        ``place_of_death`` and ``spc_contact_to_anchor_days``).
    use
        Person-week use from :func:`paleval.cohort.weekly_care_use` on the same cohort.
    unknown
        Persons whose measure is unknown (:func:`paleval.cohort.care_use_unknown`: the
        out-of-hours GP measure in a declared coverage gap); they are left out of that
        measure's ``n``, counted in a note.
    by
        Grouping column (e.g. ``"cancer"``, ``"region"``), or ``None`` for all decedents.
    measures
        Measures to tabulate (default: every measure present in ``use``, in the order of
        :data:`paleval.cohort.CARE_MEASURES`).
    weeks
        Weeks before death to tabulate (default 52).
    days
        The window of the aggressiveness counts (the ``days`` of ``add_aggressiveness``).
    conf_level
        Confidence level of the CIs.

    Returns
    -------
    CareTrajectoriesResult

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.DataFrame({"PNR": ["a", "b"], "death_date": [dt.date(2020, 3, 31)] * 2,
    ...                   "cancer": [True, False]})
    >>> u = pl.DataFrame({"PNR": ["a", "a", "b"], "measure": ["gp_home_visits"] * 3,
    ...                   "week": [1, 2, 1], "count": [2, 1, 1]})
    >>> res = care_trajectories(c, u, weeks=2)
    >>> res.table.select("week_before", "n", "persons", "total", "estimate").rows()
    [(1, 2, 2, 3, 1.5), (2, 2, 1, 1, 0.5)]
    """
    frame = as_frame(cohort)
    use = use.collect() if isinstance(use, pl.LazyFrame) else use
    _check(frame, use, by, weeks)
    present = set(use["measure"].unique().to_list())
    if measures is None:
        measures = [m for m in CARE_MEASURES if m in present]
    measures = list(measures)
    bad = [m for m in measures if m not in CARE_MEASURES]
    if bad:
        raise ValueError(f"unknown measure(s) {bad}; choose from {list(CARE_MEASURES)}")
    unk = (
        pl.DataFrame(schema={"PNR": pl.String, "measure": pl.String})
        if unknown is None
        else (unknown.collect() if isinstance(unknown, pl.LazyFrame) else unknown)
    ).join(frame.select("PNR"), on="PNR", how="semi")
    keys = [by] if by else []
    notes: list[str] = []
    if by and frame.schema[by] == pl.Boolean:  # label the levels, not True/False
        yes, no = ("cancer", "noncancer") if by == "cancer" else ("yes", "no")
        frame = frame.with_columns(
            pl.when(pl.col(by)).then(pl.lit(yes)).when(~pl.col(by)).then(pl.lit(no)).alias(by)
        )
    if by and frame[by].null_count():
        notes.append(f"{frame[by].null_count():,} persons with unknown {by} left out")
        frame = frame.filter(pl.col(by).is_not_null())
    for m, k in unk.group_by("measure").len().sort("measure").iter_rows():
        if m in measures:
            notes.append(
                f"{m}: {k:,} persons whose last {weeks} weeks overlap a declared coverage gap "
                "left out of this measure (unknown, not 0)"
            )
    tables = {"weekly": _weekly(frame, use, unk, keys, measures, weeks, conf_level)}
    # ``total - persons`` counts the uses beyond the first of each user (1 means one person
    # used the service twice): a count of persons like ``n - persons``, protected alike
    margin = [Margin(("measure", "week_before"), counts=("n", "persons", "total"))] if by else []
    protection = {
        "weekly": Protection(
            ("n", "persons", "total"),
            [Complement("n", ("persons",)), Complement("total", ("persons",)), *margin],
            keep=("week_before",),
            totals=("n",),
        )
    }
    ind, used = _indicators(frame, keys, days, conf_level)
    if ind is not None:
        tables["indicators"] = ind
        protection["indicators"] = Protection(
            ("n", "events"),
            [Complement("n", ("events",)), *([Margin(("indicator",))] if by else [])],
        )
        notes.append(
            "aggressiveness indicators (Earle et al. 2003): "
            + "; ".join(f"{k}: {AGGRESSIVENESS[k][1]}" for k in used)
            + f" (window: last {days} days); chemotherapy and intensive care need LPR "
            "procedure codes and are not measured"
        )
    return CareTrajectoriesResult(
        title="Care in the last year of life",
        tables=tables,
        n=frame.height,
        params={
            "by": by,
            "measures": measures,
            "weeks": weeks,
            "days": days,
            "conf_level": conf_level,
        },
        notes=notes,
        protection=protection,
    )
