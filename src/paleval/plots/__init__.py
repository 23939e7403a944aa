"""Figures in one house style: chart primitives over tidy tables, labels in English or Danish."""

from paleval.plots.charts import (
    at_risk_table,
    bars,
    curves,
    fit_ticklabels,
    forest,
    funnel,
    log_ratio_axis,
    place_labels,
    points,
    stacked_bars,
    suppressed_note,
    trend,
)
from paleval.plots.style import (
    LABELS,
    PALETTE,
    STYLE,
    colour_for,
    figure,
    label,
    save_figure,
    style,
)

__all__ = [
    "LABELS",
    "PALETTE",
    "STYLE",
    "at_risk_table",
    "bars",
    "colour_for",
    "curves",
    "figure",
    "fit_ticklabels",
    "forest",
    "funnel",
    "label",
    "log_ratio_axis",
    "place_labels",
    "points",
    "save_figure",
    "stacked_bars",
    "style",
    "suppressed_note",
    "trend",
]
