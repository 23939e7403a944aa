"""Funnel-plot control limits for proportions (Spiegelhalter 2005).

References
----------
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance.
Statistics in Medicine 24:1185-1202.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats._validate import as_counts

__all__ = ["funnel_flags", "funnel_limits"]

Method = Literal["exact", "normal"]


def _level_label(level: float) -> str:
    """``0.95 -> '95'``, ``0.998 -> '99_8'`` (for column names)."""
    txt = f"{100 * level:.6g}"
    return txt.replace(".", "_")


def _limit(n: np.ndarray, target: float, p: float, method: Method) -> np.ndarray:
    """The ``p``-th control limit (as a proportion) for denominators ``n``."""
    if method == "exact":
        # Spiegelhalter (2005), appendix A.1.1: r_p is the smallest r with
        # P(R <= r) >= p; interpolate for discreteness with
        # alpha = (P(R <= r_p) - p) / (P(R <= r_p) - P(R <= r_p - 1)); limit = (r_p - alpha)/n.
        rp = stats.binom.ppf(p, n, target)
        cdf = stats.binom.cdf(rp, n, target)
        pmf = stats.binom.pmf(rp, n, target)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(pmf > 0, (cdf - p) / pmf, 0.0)
        # at r_p = 0 the interpolation can fall below 0 (and at r_p = n above 1): a proportion
        # limit is clipped to [0, 1]
        return np.clip((rp - alpha) / n, 0.0, 1.0)
    if method == "normal":
        z = stats.norm.ppf(p)
        return np.clip(target + z * np.sqrt(target * (1 - target) / n), 0.0, 1.0)
    raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")


def _check_levels(levels: Sequence[float]) -> list[float]:
    out = [float(v) for v in levels]
    if not out or any(not 0 < v < 1 for v in out):
        raise ValueError(f"levels must be in (0, 1), got {levels!r}")
    return out


def funnel_limits(
    n: Sequence[int] | np.ndarray | pl.Series | int,
    target: float,
    levels: Sequence[float] = (0.95, 0.998),
    method: Method = "exact",
) -> pl.DataFrame:
    """Control limits around a target proportion as a function of the denominator.

    For a two-sided coverage ``level`` the lower and upper limits are the
    ``p = (1 - level)/2`` and ``1 - p`` quantiles of the proportion ``R/n`` with
    ``R ~ Binomial(n, target)``: ``p = 0.025/0.975`` for 95 % and ``0.001/0.999`` for
    99.8 % limits.

    ``method="exact"`` uses the binomial quantile ``r_p`` (the smallest ``r`` with
    ``P(R <= r) >= p``, R ``qbinom``) with Spiegelhalter's (2005) interpolation for
    discreteness, ``limit = (r_p - alpha)/n`` where
    ``alpha = (P(R <= r_p) - p) / P(R = r_p)``. ``method="normal"`` uses
    ``target +/- z_p sqrt(target (1 - target)/n)``, truncated to ``[0, 1]``.

    Parameters
    ----------
    n
        Denominators (positive integers) at which to evaluate the limits; e.g. the
        units' denominators or a grid such as ``range(1, 1001)`` for drawing.
    target
        Target proportion, strictly between 0 and 1 (e.g. the pooled proportion).
    levels
        Two-sided coverage levels.
    method
        ``"exact"`` (default) or ``"normal"``.

    Returns
    -------
    polars.DataFrame
        Long format, one row per denominator and level: ``n, target, level, method,
        p_lower, p_upper, lower_limit, upper_limit``.

    Examples
    --------
    >>> lim = funnel_limits([20, 100], target=0.3, levels=[0.95])
    >>> lim.select("n", "lower_limit", "upper_limit").with_columns(
    ...     pl.col("lower_limit", "upper_limit").round(4))
    shape: (2, 3)
    ┌─────┬─────────────┬─────────────┐
    │ n   ┆ lower_limit ┆ upper_limit │
    │ --- ┆ ---         ┆ ---         │
    │ i64 ┆ f64         ┆ f64         │
    ╞═════╪═════════════╪═════════════╡
    │ 20  ┆ 0.0812      ┆ 0.4873      │
    │ 100 ┆ 0.2069      ┆ 0.3869      │
    └─────┴─────────────┴─────────────┘
    """
    m = as_counts(n, "n")
    if (m <= 0).any():
        raise ValueError(f"n: {int((m <= 0).sum())} row(s) with a denominator <= 0")
    if not 0 < target < 1:
        raise ValueError(f"target must be strictly between 0 and 1, got {target!r}")
    lv = _check_levels(levels)
    frames = []
    for level in lv:  # loop over (few) levels, vectorised over n
        pl_, pu = (1 - level) / 2, 1 - (1 - level) / 2
        frames.append(
            pl.DataFrame(
                {
                    "n": m.astype(np.int64),
                    "target": np.full(m.size, float(target)),
                    "level": np.full(m.size, level),
                    "method": [method] * m.size,
                    "p_lower": np.full(m.size, pl_),
                    "p_upper": np.full(m.size, pu),
                    "lower_limit": _limit(m, target, pl_, method),
                    "upper_limit": _limit(m, target, pu, method),
                }
            )
        )
    return pl.concat(frames)


def funnel_flags(
    units: pl.DataFrame,
    events: str = "events",
    n: str = "n",
    target: float | None = None,
    levels: Sequence[float] = (0.95, 0.998),
    method: Method = "exact",
) -> pl.DataFrame:
    """Classify units as below, within or above funnel-plot control limits.

    Parameters
    ----------
    units
        One row per unit (e.g. hospital, municipality) with an event count and a
        denominator column; other columns are carried through.
    events, n
        Column names of the event counts and denominators.
    target
        Target proportion; by default the pooled proportion ``sum(events)/sum(n)``.
    levels, method
        As :func:`funnel_limits` (Spiegelhalter 2005).

    Returns
    -------
    polars.DataFrame
        ``units`` with added columns ``estimate`` (``events/n``), ``target`` and per level
        ``lower_<L>``, ``upper_<L>`` and ``flag_<L>`` (``"below"``, ``"within"`` or
        ``"above"``; a unit is above if its proportion is strictly greater than the upper
        limit and below if strictly less than the lower limit), where ``<L>`` is the
        level in percent with ``_`` for the decimal point (``95``, ``99_8``).

    Raises
    ------
    ValueError
        Missing columns, missing/negative/non-integer counts or ``events > n``
        (the message names the column and the number of offending rows).

    Examples
    --------
    >>> units = pl.DataFrame({"unit": ["a", "b", "c"], "events": [2, 30, 45],
    ...                       "n": [20, 100, 100]})
    >>> funnel_flags(units, target=0.3)["flag_99_8"].to_list()
    ['within', 'within', 'above']
    """
    for col in (events, n):
        if col not in units.columns:
            raise ValueError(f"column {col!r} not found in units")
    x = as_counts(units[events], events)
    m = as_counts(units[n], n)
    if (m <= 0).any():
        raise ValueError(f"{n}: {int((m <= 0).sum())} row(s) with a denominator <= 0")
    if (x > m).any():
        raise ValueError(f"{events}: {int((x > m).sum())} row(s) with more events than {n}")
    if target is None:
        target = float(x.sum() / m.sum())
    lv = _check_levels(levels)
    p = x / m
    new: dict[str, np.ndarray | list[str]] = {"estimate": p, "target": np.full(m.size, target)}
    lim = funnel_limits(m, target, lv, method)
    for level in lv:
        sub = lim.filter(pl.col("level") == level)
        lo = sub["lower_limit"].to_numpy()
        hi = sub["upper_limit"].to_numpy()
        lab = _level_label(level)
        new[f"lower_{lab}"] = lo
        new[f"upper_{lab}"] = hi
        new[f"flag_{lab}"] = np.where(p > hi, "above", np.where(p < lo, "below", "within")).tolist()
    return units.with_columns(pl.DataFrame(new))
