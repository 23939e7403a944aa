"""Confidence intervals for proportions and comparisons of two proportions.

All functions are vectorised over arrays of counts and return tidy polars frames with
the counts behind each estimate, so report tables and disclosure control come from
one place.

References
----------
Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
JASA 22:209-212.

Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in
the case of the binomial. Biometrika 26:404-413.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats._validate import as_counts

__all__ = ["proportion_ci", "risk_difference", "risk_ratio"]

ArrayLike = int | float | Sequence[int] | Sequence[float] | np.ndarray | pl.Series


def _z(conf_level: float) -> float:
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def _check_events_n(events: np.ndarray, n: np.ndarray, ename: str, nname: str) -> None:
    if events.shape != n.shape:
        if events.size == 1 or n.size == 1:
            return
        raise ValueError(f"{ename} and {nname} have different lengths ({events.size}, {n.size})")
    bad = n <= 0
    if bad.any():
        raise ValueError(f"{nname}: {int(bad.sum())} row(s) with a denominator <= 0")
    bad = events > n
    if bad.any():
        raise ValueError(f"{ename}: {int(bad.sum())} row(s) with more events than {nname}")


def _broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*arrays)]


def proportion_ci(
    events: ArrayLike,
    n: ArrayLike,
    method: Literal["wilson", "clopper-pearson"] = "wilson",
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Proportions with Wilson or Clopper-Pearson confidence intervals.

    Parameters
    ----------
    events, n
        Numbers of events and denominators; scalars, sequences, numpy arrays or polars
        Series of equal length (scalars are broadcast).
    method
        ``"wilson"`` — Wilson (1927) score interval without continuity correction
        (as R ``prop.test(x, n, correct = FALSE)``); ``"clopper-pearson"`` — the exact
        interval of Clopper & Pearson (1934) from beta quantiles (as R ``binom.test``).
    conf_level
        Confidence level of the two-sided interval.

    Returns
    -------
    polars.DataFrame
        One row per input with columns ``events, n, estimate, std_error, conf_low,
        conf_high, method``. ``std_error`` is the Wald standard error
        ``sqrt(p (1 - p) / n)`` (for reference; it is not used by either interval).

    Raises
    ------
    ValueError
        If counts are not non-negative integers, ``n <= 0`` or ``events > n``.

    Examples
    --------
    >>> out = proportion_ci([0, 5, 10], [10, 10, 10])
    >>> out["conf_low"].round(4).to_list()
    [0.0, 0.2366, 0.7225]
    >>> proportion_ci(3, 20, method="clopper-pearson")["conf_high"].round(4).item()
    0.3789
    """
    x = as_counts(events, "events")
    m = as_counts(n, "n")
    _check_events_n(x, m, "events", "n")
    x, m = _broadcast(x, m)
    alpha = 1.0 - conf_level
    z = _z(conf_level)
    p = x / m
    if method == "wilson":
        z2 = z * z
        centre = (x + z2 / 2.0) / (m + z2)
        half = z * np.sqrt(m) / (m + z2) * np.sqrt(p * (1.0 - p) + z2 / (4.0 * m))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
        # exact bounds at the boundaries (avoid rounding residue)
        low = np.where(x == 0, 0.0, low)
        high = np.where(x == m, 1.0, high)
    elif method == "clopper-pearson":
        with np.errstate(invalid="ignore"):
            low = np.where(x == 0, 0.0, stats.beta.ppf(alpha / 2.0, x, m - x + 1.0))
            high = np.where(x == m, 1.0, stats.beta.ppf(1.0 - alpha / 2.0, x + 1.0, m - x))
    else:
        raise ValueError(f"method must be 'wilson' or 'clopper-pearson', got {method!r}")
    return pl.DataFrame(
        {
            "events": x.astype(np.int64),
            "n": m.astype(np.int64),
            "estimate": p,
            "std_error": np.sqrt(p * (1.0 - p) / m),
            "conf_low": low,
            "conf_high": high,
            "method": [method] * len(x),
        }
    )


def _two_group_counts(
    events_1: ArrayLike, n_1: ArrayLike, events_0: ArrayLike, n_0: ArrayLike
) -> list[np.ndarray]:
    x1 = as_counts(events_1, "events_1")
    m1 = as_counts(n_1, "n_1")
    x0 = as_counts(events_0, "events_0")
    m0 = as_counts(n_0, "n_0")
    _check_events_n(x1, m1, "events_1", "n_1")
    _check_events_n(x0, m0, "events_0", "n_0")
    try:
        return _broadcast(x1, m1, x0, m0)
    except ValueError as exc:
        raise ValueError("events_1, n_1, events_0, n_0 must have compatible lengths") from exc


def _frame(
    x1: np.ndarray,
    m1: np.ndarray,
    x0: np.ndarray,
    m0: np.ndarray,
    est: np.ndarray,
    se: np.ndarray,
    stat: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> pl.DataFrame:
    with np.errstate(invalid="ignore"):
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    return pl.DataFrame(
        {
            "events_1": x1.astype(np.int64),
            "n_1": m1.astype(np.int64),
            "events_0": x0.astype(np.int64),
            "n_0": m0.astype(np.int64),
            "risk_1": x1 / m1,
            "risk_0": x0 / m0,
            "n": (m1 + m0).astype(np.int64),
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": pval,
            "conf_low": low,
            "conf_high": high,
        },
        nan_to_null=False,
    )


def risk_difference(
    events_1: ArrayLike,
    n_1: ArrayLike,
    events_0: ArrayLike,
    n_0: ArrayLike,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Difference of two proportions ``p1 - p0`` with a Wald confidence interval.

    ``SE = sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``; the interval is
    ``estimate +/- z SE`` truncated to ``[-1, 1]`` (as R
    ``prop.test(c(x1, x0), c(n1, n0), correct = FALSE)``)
    and the p-value is from the Wald statistic ``estimate / SE``. When both
    proportions are 0 or 1 the SE is 0 and the interval degenerates to a point.

    Parameters
    ----------
    events_1, n_1
        Events and denominators in the index (exposed) group.
    events_0, n_0
        Events and denominators in the reference group.
    conf_level
        Confidence level.

    Returns
    -------
    polars.DataFrame
        Columns ``events_1, n_1, events_0, n_0, risk_1, risk_0, n, estimate, std_error,
        statistic, p_value, conf_low, conf_high`` (``n = n_1 + n_0``).

    Examples
    --------
    >>> rd = risk_difference(30, 100, 20, 100)
    >>> round(rd["estimate"].item(), 2), round(rd["conf_low"].item(), 4)
    (0.1, -0.0192)
    """
    x1, m1, x0, m0 = _two_group_counts(events_1, n_1, events_0, n_0)
    p1, p0 = x1 / m1, x0 / m0
    est = p1 - p0
    se = np.sqrt(p1 * (1 - p1) / m1 + p0 * (1 - p0) / m0)
    z = _z(conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, est / se, np.nan)
    low = np.maximum(-1.0, est - z * se)
    high = np.minimum(1.0, est + z * se)
    return _frame(x1, m1, x0, m0, est, se, stat, low, high)


def risk_ratio(
    events_1: ArrayLike,
    n_1: ArrayLike,
    events_0: ArrayLike,
    n_0: ArrayLike,
    conf_level: float = 0.95,
    zero_correction: float = 0.0,
) -> pl.DataFrame:
    """Ratio of two proportions ``p1 / p0`` with a Wald confidence interval on the log scale.

    ``log RR`` has ``SE = sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)`` (Katz et al. 1978); the
    interval is ``exp(log RR +/- z SE)``. ``estimate`` and the CI are on the ratio
    scale; ``std_error`` and ``statistic`` refer to ``log RR``.

    Rows with zero events in either group have no finite log-scale SE: they return
    ``estimate`` 0 or inf (NaN if both are 0) and NaN SE/CI/p-value, unless
    ``zero_correction > 0``, in which case ``zero_correction`` is added to both event
    counts and ``2 * zero_correction`` to both denominators *in those rows only*
    (``zero_correction=0.5`` is the Haldane-Anscombe correction).

    Parameters
    ----------
    events_1, n_1
        Events and denominators in the index (exposed) group.
    events_0, n_0
        Events and denominators in the reference group.
    conf_level
        Confidence level.
    zero_correction
        Continuity correction for rows with a zero event count (default none).

    Returns
    -------
    polars.DataFrame
        Columns as :func:`risk_difference`; ``risk_1``/``risk_0`` are the uncorrected
        proportions.

    Examples
    --------
    >>> rr = risk_ratio(30, 100, 20, 100)
    >>> round(rr["estimate"].item(), 2), round(rr["conf_low"].item(), 4)
    (1.5, 0.916)
    """
    x1, m1, x0, m0 = _two_group_counts(events_1, n_1, events_0, n_0)
    if zero_correction < 0:
        raise ValueError("zero_correction must be >= 0")
    zero = (x1 == 0) | (x0 == 0)
    cc = np.where(zero, zero_correction, 0.0)
    a1, b1, a0, b0 = x1 + cc, m1 + 2 * cc, x0 + cc, m0 + 2 * cc
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (a1 / b1) / (a0 / b0)
        se = np.sqrt(1 / a1 - 1 / b1 + 1 / a0 - 1 / b0)
        se = np.where(np.isfinite(se), se, np.nan)
        logrr = np.log(est)
        stat = logrr / se
        z = _z(conf_level)
        low = np.exp(logrr - z * se)
        high = np.exp(logrr + z * se)
    return _frame(x1, m1, x0, m0, est, se, stat, low, high)
