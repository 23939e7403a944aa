"""Chart primitives shared by every analysis: each draws a tidy polars table on an Axes.

Every function takes the table and column names, draws in the house style
(:mod:`paleval.plots.style`), labels categories with :func:`~paleval.plots.style.label` in the
chosen language and returns the matplotlib Axes. Rows whose values were suppressed by
disclosure control (nulls) are never drawn as zero: curves and trend lines break at them (no
line is drawn through a suppressed point) and an "x" marks them on the axis, explained in a
note; points, bars and forest plots leave them out.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from paleval.plots.style import PALETTE, figure, label, style

__all__ = [
    "at_risk_table",
    "bars",
    "curves",
    "fit_ticklabels",
    "forest",
    "funnel",
    "log_ratio_axis",
    "place_labels",
    "points",
    "stacked_bars",
    "suppressed_note",
    "trend",
]


def _groups(table: pl.DataFrame, group: str | None) -> list[Any]:
    if group is None:
        return [None]
    return table[group].unique(maintain_order=True).to_list()


def _sub(table: pl.DataFrame, group: str | None, g: Any) -> pl.DataFrame:
    return table if group is None else table.filter(pl.col(group) == g)


def _axes(ax: Any, width: float, height: float) -> Any:
    if ax is None:
        _, ax = figure(width, height)
    return ax


_RATIO_TICKS = (
    [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0],
    [0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4],
)


def _finish(ax: Any, title: str | None, group: str | None, groups: list[Any], lang: str) -> None:
    """Title, and a legend titled by the grouping when there is more than one group."""
    if title:
        ax.set_title(title)
    if group and len(groups) > 1:
        ax.legend(title=label(group, lang))


def log_ratio_axis(ax: Any, axis: str = "x") -> None:
    """Log scale for ratios with readable ticks (at least three, also for narrow ranges) and no
    labels on the minor ticks.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0.6, 2.5])
    >>> log_ratio_axis(ax, "y")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['0.75', '1', '1.25', '1.5', '2']
    >>> plt.close(fig)
    """
    _log_ratio_axis(ax, axis)


# ticks kept first when two would be too close on a wide axis (1, then halves and doubles, ...)
_TICK_PRIORITY = (1.0, 0.5, 2.0, 0.1, 10.0, 5.0, 0.2, 0.25, 3.0, 4.0, 0.75, 1.5, 1.25, 0.05, 0.02)


def _spread(
    ticks: list[float],
    lo: float,
    hi: float,
    min_share: float = 0.09,
    ax: Any = None,
    axis: str = "x",
) -> list[float]:
    """Drop ticks closer than ``min_share`` of the axis's log range to a more important one, so
    that labels such as 0.2 and 0.25, or 1.25 and 1.5, do not overlap on a wide axis. With
    ``ax`` the share is at least what two labels need on the axis as drawn (its length in
    points and the tick labels' font size)."""
    if len(ticks) <= 3 or lo <= 0 or hi <= lo:
        return ticks
    share = min_share
    if ax is not None:
        box = ax.get_position()
        w, h = ax.figure.get_size_inches()
        length = (box.width * w if axis == "x" else box.height * h) * 72.0  # points
        size = (ax.xaxis if axis == "x" else ax.yaxis).get_ticklabels(minor=False)
        fs = size[0].get_fontsize() if size else 10.0
        need = (max(len(f"{t:g}") for t in ticks) + 1.5) * 0.62 * fs if axis == "x" else 1.6 * fs
        share = max(share, need / max(length, 1.0))
    gap = share * math.log(hi / lo)
    order = sorted(ticks, key=lambda t: _TICK_PRIORITY.index(t) if t in _TICK_PRIORITY else 99)
    kept: list[float] = []
    for t in order:
        if all(abs(math.log(t / k)) >= gap for k in kept):
            kept.append(t)
    return sorted(kept)


def _log_ratio_axis(ax: Any, axis: str = "x") -> None:
    """Log scale for ratios with readable ticks (at least three, also for narrow ranges)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    scale = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    ticks = [t for t in _RATIO_TICKS[0] if lo <= t <= hi]
    if len(ticks) < 3:
        ticks = sorted({*ticks, *(t for t in _RATIO_TICKS[1] if lo <= t <= hi)})
    ticks = _spread(ticks, lo, hi, ax=ax, axis=axis)
    scale.set_major_locator(FixedLocator(ticks))
    scale.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    scale.set_minor_formatter(NullFormatter())


def forest(
    table: pl.DataFrame,
    *,
    term: str = "term",
    estimate: str = "ratio",
    low: str = "ratio_low",
    high: str = "ratio_high",
    group: str | None = None,
    xlabel: str = "Ratio (95% CI)",
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Forest plot: a ratio with its CI per row (log axis, reference line at 1).

    With ``group`` the rows of each group (e.g. model: crude / adjusted) are drawn side by side
    in different colours.

    Examples
    --------
    >>> t = pl.DataFrame({"term": ["a", "b"], "ratio": [1.5, 0.8], "ratio_low": [1.1, 0.6],
    ...                   "ratio_high": [2.0, 1.1]})
    >>> ax = forest(t)
    >>> [x.get_text() for x in ax.get_yticklabels()]
    ['A', 'B']
    """
    table = table.filter(pl.col(estimate).is_not_null())
    terms = table[term].unique(maintain_order=True).to_list()
    groups = _groups(table, group)
    ax = _axes(ax, 6.0, 0.35 * max(len(terms), 1) * max(len(groups), 1) ** 0.5 + 1.2)
    with style():
        ypos = {t: len(terms) - 1 - i for i, t in enumerate(terms)}
        width = 0.6 / max(len(groups), 1)
        for k, g in enumerate(groups):
            sub = _sub(table, group, g)
            off = (len(groups) - 1) / 2 * width - k * width
            y = np.array([ypos[t] for t in sub[term]]) + off
            r, lo, hi = (sub[c].to_numpy().astype(float) for c in (estimate, low, high))
            ax.errorbar(
                r,
                y,
                xerr=[r - lo, hi - r],
                fmt="o",
                markersize=4,
                capsize=2,
                color=PALETTE[k % len(PALETTE)] if group else "black",
                label=None if g is None else label(g, lang),
            )
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
        _log_ratio_axis(ax, "x")
        ax.set_yticks([ypos[t] for t in terms])
        ax.set_yticklabels([label(t, lang) for t in terms])
        ax.grid(axis="x", color="#eeeeee")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title)
        if group:
            ax.legend()
    return ax


_SUPPRESSED_NOTE = {
    "en": "x: value suppressed by disclosure control",
    "da": "x: værdi skjult af diskretionering",
}


def _values(sub: pl.DataFrame, col: str) -> np.ndarray:
    """A column as floats with suppressed (null) values as NaN, so lines break there."""
    return sub[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _mark_suppressed(ax: Any, x: np.ndarray, y: np.ndarray, colour: Any) -> bool:
    """An "x" just above the horizontal axis at every suppressed point; True if any."""
    miss = np.isnan(y)
    if not miss.any():
        return False
    ax.plot(
        x[miss],
        np.full(int(miss.sum()), 0.02),
        linestyle="none",
        marker="x",
        markersize=5,
        color=colour,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
    )
    return True


def suppressed_note(lang: str = "en") -> str:
    """The explanation of the "x" that marks a suppressed point, in ``lang``.

    Examples
    --------
    >>> suppressed_note("da")
    'x: værdi skjult af diskretionering'
    """
    return _SUPPRESSED_NOTE.get(lang, _SUPPRESSED_NOTE["en"])


def _suppressed_note(ax: Any, lang: str) -> None:
    """The note under the x-axis label (anchored to it, so the two never overlap)."""
    ax.annotate(
        suppressed_note(lang),
        xy=(0.0, 0.0),
        xycoords=ax.xaxis.label,
        xytext=(0, -3),
        textcoords="offset points",
        va="top",
        ha="left",
        fontsize=7,
        color="0.3",
    )


def at_risk_table(
    ax: Any,
    xs: Sequence[float],
    rows: Sequence[tuple[str, Sequence[str]]],
    *,
    lang: str = "en",
) -> Any:
    """Numbers at risk under the axes: a heading and one text row per group, the values
    centred at the positions ``xs`` (data coordinates of the x-axis), below the x-axis label
    (and below the note on suppressed points, when there is one). The values are drawn as
    given: disclosure control is the caller's (see ``docs/disclosure.md``).

    Examples
    --------
    >>> ax = curves(pl.DataFrame({"time": [1.0, 2.0], "estimate": [0.1, 0.2]}), group=None,
    ...             low=None, high=None)
    >>> ax = at_risk_table(ax, [0, 1, 2], [("All", ["40", "31", "[s]"])])
    >>> sorted(t.get_text() for t in ax.texts)[:3]
    ['31', '40', 'All']
    """
    with style():
        below = 3.0
        if any(t.get_text() == suppressed_note(lang) for t in ax.texts):
            below += 11.0
        head = "Number at risk" if lang == "en" else "Antal i risiko"
        lines = [(head, None), *[(name, vals) for name, vals in rows]]
        for k, (name, vals) in enumerate(lines):
            dy = -(below + 11.0 * k)
            ax.annotate(
                name,
                xy=(0.0, 0.0),
                xycoords=("axes fraction", ax.xaxis.label),
                xytext=(-22 if vals is not None else 0, dy),
                textcoords="offset points",
                va="top",
                ha="right" if vals is not None else "left",
                fontsize=7,
                fontweight="bold" if vals is None else "normal",
                color="0.2",
            )
            for x, v in zip(xs, vals or [], strict=False):
                ax.annotate(
                    v,
                    xy=(x, 0.0),
                    xycoords=("data", ax.xaxis.label),
                    xytext=(0, dy),
                    textcoords="offset points",
                    va="top",
                    ha="center",
                    fontsize=7,
                    color="0.2",
                )
    return ax


def curves(
    table: pl.DataFrame,
    *,
    time: str = "time",
    estimate: str = "estimate",
    low: str | None = "conf_low",
    high: str | None = "conf_high",
    group: str | None = "group",
    xlabel: str = "Time",
    ylabel: str = "Cumulative incidence",
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Step curves (cumulative incidence, survival) per group with pointwise CI bands.

    Each group's curve starts at ``(0, 0)``; use a table with a ``time == 0`` row for curves
    that start elsewhere.

    Examples
    --------
    >>> t = pl.DataFrame({"group": ["a", "a", "b"], "time": [1.0, 2.0, 1.5],
    ...                   "estimate": [0.1, 0.3, 0.2], "conf_low": [0.0, 0.1, 0.1],
    ...                   "conf_high": [0.2, 0.5, 0.3]})
    >>> ax = curves(t)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['A', 'B']
    """
    table = table.filter(pl.col(time).is_not_null())
    ax = _axes(ax, 6.0, 4.0)
    groups = _groups(table, group)
    hidden = False
    with style():
        for k, g in enumerate(groups):
            sub = _sub(table, group, g).sort(time)
            t = sub[time].to_numpy().astype(float)
            y = _values(sub, estimate)
            if t.size == 0 or t[0] > 0:
                t, y = np.r_[0.0, t], np.r_[0.0, y]
                pad = True
            else:
                pad = False
            colour = PALETTE[k % len(PALETTE)]
            # a suppressed point (NaN) breaks the curve: no step is drawn across it
            ax.step(t, y, where="post", color=colour, label=None if g is None else label(g, lang))
            hidden |= _mark_suppressed(ax, t, y, colour)
            if low and high:
                lo, hi = _values(sub, low), _values(sub, high)
                if pad:
                    lo, hi = np.r_[0.0, lo], np.r_[0.0, hi]
                ax.fill_between(t, lo, hi, step="post", alpha=0.15, color=colour, linewidth=0)
        if hidden:
            _suppressed_note(ax, lang)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
        _finish(ax, title, group, groups, lang)
    return ax


def stacked_bars(
    table: pl.DataFrame,
    *,
    group: str,
    category: str,
    share: str = "share",
    order: Sequence[Any] | None = None,
    xlabel: str = "Per cent",
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Horizontal 100 % stacked bars: the distribution of ``category`` within each ``group``.

    ``share`` holds proportions (0-1); suppressed (null) cells are drawn as gaps.

    Examples
    --------
    >>> t = pl.DataFrame({"g": ["x", "x", "y", "y"], "c": ["home", "hospital"] * 2,
    ...                   "share": [0.3, 0.7, 0.5, 0.5]})
    >>> ax = stacked_bars(t, group="g", category="c")
    >>> len(ax.patches)
    4
    """
    groups = table[group].unique(maintain_order=True).to_list()
    cats = list(order) if order is not None else table[category].unique(maintain_order=True)
    cats = list(cats)
    ax = _axes(ax, 7.0, 0.45 * max(len(groups), 1) + 1.4)
    with style():
        y = np.arange(len(groups))[::-1]
        left = np.zeros(len(groups))
        for k, c in enumerate(cats):
            vals = np.array(
                [
                    (
                        table.filter((pl.col(group) == g) & (pl.col(category) == c))[share]
                        .fill_null(0.0)
                        .sum()
                    )
                    for g in groups
                ],
                dtype=float,
            )
            ax.barh(y, 100 * vals, left=left, color=PALETTE[k % len(PALETTE)], label=label(c, lang))
            left += 100 * vals
        ax.set_yticks(y)
        ax.set_yticklabels([label(g, lang) for g in groups])
        ax.set_xlim(0, 100)
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", color="#eeeeee")
        ax.legend(ncols=min(len(cats), 5), loc="upper center", bbox_to_anchor=(0.5, -0.18))
        if title:
            ax.set_title(title)
    return ax


def points(
    table: pl.DataFrame,
    *,
    x: str,
    estimate: str = "estimate",
    low: str = "conf_low",
    high: str = "conf_high",
    group: str | None = None,
    ylabel: str = "Proportion",
    percent: bool = True,
    log: bool = False,
    reference: float | None = None,
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Point estimates with CIs over a categorical ``x`` (gradient plots, group comparisons).

    With ``group`` the groups are dodged side by side. ``percent`` shows proportions as per
    cent; ``log`` uses a log scale (ratios) and ``reference`` draws a horizontal line.

    Examples
    --------
    >>> t = pl.DataFrame({"edu": ["low", "high"], "estimate": [0.2, 0.3],
    ...                   "conf_low": [0.15, 0.25], "conf_high": [0.25, 0.35]})
    >>> ax = points(t, x="edu")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['Low', 'High']
    """
    table = table.filter(pl.col(estimate).is_not_null())
    xs = table[x].unique(maintain_order=True).to_list()
    groups = _groups(table, group)
    ax = _axes(ax, max(4.0, 0.9 * len(xs) + 2), 4.0)
    scale = 100.0 if percent and not log else 1.0
    with style():
        width = 0.7 / max(len(groups), 1)
        for k, g in enumerate(groups):
            sub = _sub(table, group, g)
            off = -(len(groups) - 1) / 2 * width + k * width
            pos = np.array([xs.index(v) for v in sub[x]]) + off
            e, lo, hi = (scale * sub[c].to_numpy().astype(float) for c in (estimate, low, high))
            ax.errorbar(
                pos,
                e,
                yerr=[e - lo, hi - e],
                fmt="o",
                markersize=5,
                capsize=3,
                color=PALETTE[k % len(PALETTE)],
                label=None if g is None else label(g, lang),
            )
        if reference is not None:
            ax.axhline(reference * scale, color="grey", linestyle="--", linewidth=0.8)
        if log:
            _log_ratio_axis(ax, "y")
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([label(v, lang) for v in xs])
        fit_ticklabels(ax)
        ax.set_ylabel(ylabel + (" (%)" if scale == 100.0 else ""))
        _finish(ax, title, group, groups, lang)
    return ax


def bars(
    table: pl.DataFrame,
    *,
    x: str,
    estimate: str = "estimate",
    low: str | None = "conf_low",
    high: str | None = "conf_high",
    group: str | None = None,
    ylabel: str = "Proportion",
    percent: bool = True,
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Vertical bars per ``x`` (dodged by ``group``) with CI whiskers.

    Examples
    --------
    >>> t = pl.DataFrame({"g": ["a", "b"], "estimate": [0.2, 0.4]})
    >>> ax = bars(t, x="g", low=None, high=None)
    >>> len(ax.patches)
    2
    """
    table = table.filter(pl.col(estimate).is_not_null())
    xs = table[x].unique(maintain_order=True).to_list()
    groups = _groups(table, group)
    ax = _axes(ax, max(4.0, 0.8 * len(xs) + 2), 4.0)
    scale = 100.0 if percent else 1.0
    with style():
        width = 0.8 / max(len(groups), 1)
        for k, g in enumerate(groups):
            sub = _sub(table, group, g)
            off = -(len(groups) - 1) / 2 * width + k * width
            pos = np.array([xs.index(v) for v in sub[x]]) + off
            e = scale * sub[estimate].to_numpy().astype(float)
            err = None
            if low and high:
                lo, hi = (scale * sub[c].to_numpy().astype(float) for c in (low, high))
                err = [e - lo, hi - e]
            ax.bar(
                pos,
                e,
                width=width * 0.95,
                yerr=err,
                capsize=2,
                color=PALETTE[k % len(PALETTE)],
                label=None if g is None else label(g, lang),
            )
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([label(v, lang) for v in xs])
        fit_ticklabels(ax)
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
        _finish(ax, title, group, groups, lang)
    return ax


def trend(
    table: pl.DataFrame,
    *,
    x: str = "year",
    estimate: str = "estimate",
    low: str | None = "conf_low",
    high: str | None = "conf_high",
    group: str | None = None,
    standard: float | None = None,
    ylabel: str = "Proportion",
    percent: bool = True,
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Lines over calendar time per group with CI bands and an optional standard line.

    Examples
    --------
    >>> t = pl.DataFrame({"year": [2010, 2011], "estimate": [0.5, 0.6],
    ...                   "conf_low": [0.4, 0.5], "conf_high": [0.6, 0.7]})
    >>> ax = trend(t, standard=0.9)
    >>> len(ax.lines)
    2
    """
    table = table.filter(pl.col(x).is_not_null())
    groups = _groups(table, group)
    ax = _axes(ax, 6.4, 4.0)
    scale = 100.0 if percent else 1.0
    hidden = False
    with style():
        for k, g in enumerate(groups):
            sub = _sub(table, group, g).sort(x)
            xv = sub[x].to_numpy()
            colour = PALETTE[k % len(PALETTE)]
            y = scale * _values(sub, estimate)
            # suppressed years (NaN) break the line and get a marker on the axis instead
            ax.plot(
                xv,
                y,
                marker="o",
                markersize=3,
                color=colour,
                label=None if g is None else label(g, lang),
            )
            hidden |= _mark_suppressed(ax, xv.astype(float), y, colour)
            if low and high:
                ax.fill_between(
                    xv,
                    scale * _values(sub, low),
                    scale * _values(sub, high),
                    color=colour,
                    alpha=0.15,
                    linewidth=0,
                )
        if hidden:
            _suppressed_note(ax, lang)
        if standard is not None:
            ax.axhline(
                scale * standard,
                color="black",
                linestyle=":",
                linewidth=1,
                label=label("standard", lang),
            )
        ax.set_xlabel(label(x, lang))
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
        if title:
            ax.set_title(title)
        if (group and len(groups) > 1) or standard is not None:
            ax.legend(title=label(group, lang) if group else None)
    return ax


def funnel(
    units: pl.DataFrame,
    limits: pl.DataFrame,
    *,
    unit: str = "unit",
    n: str = "n",
    estimate: str = "estimate",
    target: float,
    xlabel: str = "Patients (n)",
    ylabel: str = "Proportion",
    percent: bool = True,
    title: str | None = None,
    lang: str = "en",
    ax: Any = None,
) -> Any:
    """Funnel plot: units' proportions against their denominators with control limits.

    ``limits`` is :func:`paleval.stats.funnel_limits` on a grid of ``n`` (columns ``n``,
    ``level``, ``lower_limit``, ``upper_limit``). Units outside the outermost limits are labelled.

    Examples
    --------
    >>> from paleval.stats import funnel_limits
    >>> u = pl.DataFrame({"unit": ["A", "B"], "n": [50, 200], "estimate": [0.9, 0.6]})
    >>> lim = funnel_limits(range(10, 300, 10), 0.7)
    >>> ax = funnel(u, lim, target=0.7)
    >>> ax.get_xlabel()
    'Patients (n)'
    """
    units = units.filter(pl.col(estimate).is_not_null() & pl.col(n).is_not_null())
    ax = _axes(ax, 6.4, 4.4)
    scale = 100.0 if percent else 1.0
    with style():
        levels = sorted(limits["level"].unique().to_list())
        styles = ["--", ":", "-."]
        for k, lev in enumerate(levels):
            sub = limits.filter(pl.col("level") == lev).sort("n")
            ls = styles[k % len(styles)]
            ax.plot(sub["n"], scale * sub["lower_limit"], color="grey", linestyle=ls, linewidth=0.9)
            ax.plot(
                sub["n"],
                scale * sub["upper_limit"],
                color="grey",
                linestyle=ls,
                linewidth=0.9,
                label=f"{100 * lev:g}% {label('control_limits', lang)}",
            )
        ax.axhline(scale * target, color="black", linewidth=0.9, label=label("target", lang))
        ax.scatter(units[n], scale * units[estimate], color=PALETTE[0], zorder=3, s=18)
        outer = limits.filter(pl.col("level") == max(levels)).sort("n")
        lo = np.interp(units[n].to_numpy(), outer["n"].to_numpy(), outer["lower_limit"].to_numpy())
        hi = np.interp(units[n].to_numpy(), outer["n"].to_numpy(), outer["upper_limit"].to_numpy())
        est = units[estimate].to_numpy()
        outside = (est < lo) | (est > hi)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
        if title:
            ax.set_title(title)
        ax.legend()
        if percent:  # a proportion lies in [0, 100] %: limits first, so labels stay in view
            bottom, top = ax.get_ylim()
            ax.set_ylim(max(bottom, 0.0), min(top, 100.0))
        names = [label(v, lang) for v in units[unit].filter(pl.Series(outside))]
        points_out = list(zip(units[n].to_numpy()[outside], scale * est[outside], strict=True))
        place_labels(ax, names, points_out)
    return ax


def _overlapping(boxes: list) -> bool:
    return any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def fit_ticklabels(ax: Any, width: int = 22) -> None:
    """Make the categorical x tick labels of ``ax`` readable without overlapping: long labels
    are wrapped at ``width`` characters, then the labels are turned 30, 45 and at last 90
    degrees until no two overlap.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(3, 2))
    >>> _ = ax.set_xticks(range(6))
    >>> _ = ax.set_xticklabels([f"a rather long category label {i}" for i in range(6)])
    >>> fit_ticklabels(ax)
    >>> ax.get_xticklabels()[0].get_rotation()
    90.0
    >>> plt.close(fig)
    """
    labels = ax.get_xticklabels()
    for t in labels:
        text = t.get_text()
        if len(text) > width and "\n" not in text:
            t.set_text(textwrap.fill(text, width))
    renderer = ax.figure.canvas.get_renderer()
    for angle in (0, 30, 45, 90):
        for t in labels:
            t.set_rotation(angle)
            t.set_horizontalalignment("center" if angle in (0, 90) else "right")
            t.set_rotation_mode("anchor" if angle not in (0, 90) else "default")
        ax.figure.canvas.draw()
        if not _overlapping([t.get_window_extent(renderer) for t in labels if t.get_text()]):
            return


_OFFSETS = ((3, 3), (3, -10), (-3, 3), (-3, -10), (3, 12), (3, -19), (-3, 12), (-3, -19))


def place_labels(ax: Any, texts: Sequence[str], points: Sequence[tuple[float, float]]) -> list:
    """Label points so that no label overlaps another label, the title, the legend or the
    axis labels: each label takes the first of a few offsets around its point that is free,
    else it is left out (the point stays) and the figure says how many were left out.

    Returns the placed annotations.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([1, 1.001], [1, 1.001], "o")
    >>> anns = place_labels(ax, ["first unit", "second unit"], [(1, 1), (1.001, 1.001)])
    >>> a, b = (x.get_window_extent() for x in anns)
    >>> bool(a.overlaps(b))
    False
    >>> plt.close(fig)
    """
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [
        t.get_window_extent(renderer)
        for t in (ax.title, ax.xaxis.label, ax.yaxis.label)
        if t.get_text()
    ]
    if ax.get_legend() is not None:
        taken.append(ax.get_legend().get_window_extent(renderer))
    frame = ax.get_window_extent(renderer)
    placed, skipped = [], 0
    for text, xy in zip(texts, points, strict=True):
        for dx, dy in _OFFSETS:
            ann = ax.annotate(
                text, xy, xytext=(dx, dy), textcoords="offset points", fontsize=7,
                ha="left" if dx > 0 else "right",
            )  # fmt: skip
            box = ann.get_window_extent(renderer)
            # inside the axes: a title or facet label set later cannot cover it
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(b) for b in taken):
                taken.append(box)
                placed.append(ann)
                break
            ann.remove()
        else:
            skipped += 1
    if skipped:
        ax.annotate(
            f"{skipped} label(s) left out: no room",
            xy=(1.0, 0.0), xycoords=ax.xaxis.label, xytext=(0, -3),
            textcoords="offset points", ha="right", va="top", fontsize=7, color="0.3",
        )  # fmt: skip
    return placed
