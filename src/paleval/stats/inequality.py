"""Summary measures of socioeconomic inequality: SII, RII and the concentration index.

Socioeconomic position (SES) is an ordered variable; each category is given its
*ridit* (mid-point fractional rank): the cumulative population share of the categories
below it plus half its own share (Mackenbach & Kunst 1997). ``order`` lists the
categories from the one given ridit ~ 0 to the one given ridit ~ 1 (e.g. from lowest
to highest education); the SII/RII compare the hypothetical top (ridit 1) with the
bottom (ridit 0) of that ordering.

Data may be individual-level (a 0/1 ``outcome`` column, one row per person) or grouped
counts (``events`` and ``n`` columns, one or more rows per SES category, e.g. by
SES x age group). Grouped rows are expanded to two rows (events with ``y = 1`` and
non-events with ``y = 0``) carrying frequency weights, which reproduces the
individual-level fit and its robust SEs exactly.

References
----------
Mackenbach JP, Kunst AE (1997). Measuring the magnitude of socio-economic inequalities in
health: an overview of available measures illustrated with two examples from Europe.
Social Science & Medicine 44:757-771.

Kakwani N, Wagstaff A, van Doorslaer E (1997). Socioeconomic inequalities in health:
measurement, computation, and statistical inference. Journal of Econometrics 77:87-103.

O'Donnell O, van Doorslaer E, Wagstaff A, Lindelow M (2008). Analyzing Health Equity
Using Household Survey Data, chapter 8. World Bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats._design import missing_mask
from paleval.stats._errors import NotEstimableError
from paleval.stats.regression import glm

__all__ = [
    "concentration_index",
    "relative_index_of_inequality",
    "ridit_scores",
    "slope_index_of_inequality",
]

_RIDIT = "ridit"


def _ses_order(values: pl.Series, order: Sequence | None, ses: str) -> list:
    present = values.unique().drop_nulls().to_list()
    if order is not None:
        order = list(order)
        if len(set(order)) != len(order):
            raise ValueError("order contains duplicates")
        unknown = [v for v in present if v not in set(order)]
        if unknown:
            raise ValueError(
                f"column {ses!r}: {len(unknown)} value(s) not listed in order: {unknown[:5]}"
            )
        return [v for v in order if v in set(present)]
    if isinstance(values.dtype, pl.Enum):
        cats = values.dtype.categories.to_list()
        return [c for c in cats if c in set(present)]
    if values.dtype.is_numeric():
        return sorted(present)
    raise ValueError(
        f"column {ses!r} is {values.dtype}: give `order` (categories from ridit 0 to 1) or "
        "use an Enum or numeric column"
    )


def _check_data_form(
    data: pl.DataFrame, outcome: str | None, events: str | None, n: str | None, weights: str | None
) -> bool:
    """Whether the data are grouped counts (``events`` and ``n``) rather than individuals."""
    if not isinstance(data, pl.DataFrame):
        raise TypeError("data must be a polars DataFrame")
    grouped = events is not None or n is not None
    if grouped and (events is None or n is None):
        raise ValueError("grouped data need both `events` and `n`")
    if grouped == (outcome is not None):
        raise ValueError("give either `outcome` (individual data) or `events` and `n` (grouped)")
    if grouped and weights is not None:
        raise ValueError("weights are not supported with grouped counts")
    return grouped


def _grouped_long(frame: pl.DataFrame, events: str, n: str, keep: list[str]) -> pl.DataFrame:
    """Grouped counts as two weighted rows per group (``_y`` 1 with weight events, 0 with
    weight n - events)."""
    for c in (events, n):
        v = frame[c].cast(pl.Float64).to_numpy()
        bad = int(np.sum(~np.isfinite(v) | (v < 0)))
        if bad:
            raise ValueError(f"column {c!r}: {bad} row(s) negative or not finite")
    over = int((frame[events] > frame[n]).sum())
    if over:
        raise ValueError(f"column {events!r}: {over} row(s) with more events than {n!r}")
    return pl.concat(
        [
            frame.select(
                *keep, pl.lit(1.0).alias("_y"), pl.col(events).cast(pl.Float64).alias("_w")
            ),
            frame.select(
                *keep,
                pl.lit(0.0).alias("_y"),
                (pl.col(n) - pl.col(events)).cast(pl.Float64).alias("_w"),
            ),
        ]
    ).filter(pl.col("_w") > 0)


def _individual_long(
    frame: pl.DataFrame, outcome: str, weights: str | None, binary: bool
) -> pl.DataFrame:
    """Individual rows with the outcome as ``_y`` and the weight as ``_w``."""
    yv = frame[outcome]
    if yv.dtype == pl.Boolean:
        yv = yv.cast(pl.Float64)
    if not yv.dtype.is_numeric():
        raise ValueError(f"outcome column {outcome!r} must be numeric or Boolean")
    y = yv.cast(pl.Float64).to_numpy()
    if binary:
        bad = int(np.sum((y != 0) & (y != 1)))
        if bad:
            raise ValueError(f"outcome column {outcome!r}: {bad} row(s) are not 0 or 1")
    w = frame[weights].cast(pl.Float64).to_numpy() if weights is not None else np.ones(frame.height)
    bad = int(np.sum(~np.isfinite(w) | (w < 0)))
    if bad:
        raise ValueError(f"weights column {weights!r}: {bad} row(s) negative or not finite")
    return frame.with_columns(pl.Series("_y", y), pl.Series("_w", w))


def _prepare(
    data: pl.DataFrame,
    ses: str,
    outcome: str | None,
    events: str | None,
    n: str | None,
    covariates: Sequence[str],
    cluster: str | None,
    weights: str | None,
    order: Sequence | None,
    binary: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame, int, str | None]:
    """Return (long frame with y, _w, ridit, covariates...), ridit table, n_dropped, weights."""
    grouped = _check_data_form(data, outcome, events, n, weights)
    covariates = list(covariates)
    used = [ses, *covariates]
    used += [events, n] if grouped else [outcome]
    used += [c for c in (cluster, weights) if c is not None]
    missing = [c for c in dict.fromkeys(used) if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in data")
    if _RIDIT in used or "_y" in used or "_w" in used:
        raise ValueError(f"columns named {_RIDIT!r}, '_y' or '_w' are reserved")
    frame = data.select(list(dict.fromkeys(used)))
    miss = frame.select(missing_mask(frame, frame.columns).alias("m"))["m"]
    n_dropped = int(miss.sum())
    frame = frame.filter(~miss)
    if frame.height == 0:
        raise NotEstimableError("no rows left after dropping rows with missing values")
    levels = _ses_order(frame[ses], order, ses)
    if len(levels) < 2:
        raise NotEstimableError(f"column {ses!r} has fewer than 2 categories")
    rank = pl.col(ses).replace_strict(levels, list(range(len(levels))), return_dtype=pl.Int64)
    frame = frame.with_columns(rank.alias("_k"))

    if grouped:
        assert events is not None and n is not None
        keep = [ses, "_k", *covariates] + ([cluster] if cluster else [])
        long = _grouped_long(frame, events, n, keep)
    else:
        assert outcome is not None
        long = _individual_long(frame, outcome, weights, binary)
    tab = (
        long.group_by("_k")
        .agg(
            pl.col(ses).first().alias("category"),
            pl.col("_w").sum().alias("n"),
            (pl.col("_w") * pl.col("_y")).sum().alias("events"),
            (pl.col("_w") * pl.col("_y") ** 2).sum().alias("_y2"),
        )
        .sort("_k")
    )
    tot = float(tab["n"].sum())
    if tot <= 0:
        raise ValueError("no individuals with positive weight")
    share = tab["n"].to_numpy() / tot
    ridit = np.cumsum(share) - share / 2
    tab = tab.with_columns(pl.Series("share", share), pl.Series(_RIDIT, ridit))
    long = long.join(tab.select("_k", _RIDIT), on="_k", how="left")
    return long, tab, n_dropped, "_w"


def ridit_scores(
    data: pl.DataFrame,
    ses: str,
    n: str | None = None,
    weights: str | None = None,
    order: Sequence | None = None,
) -> pl.DataFrame:
    """Ridits (mid-point cumulative population shares) of ordered SES categories.

    ``ridit_k = sum_{j < k} share_j + share_k / 2`` (Mackenbach & Kunst 1997).

    Parameters
    ----------
    data
        Individual-level rows, or grouped rows with a population count column ``n``.
    ses
        Ordered socioeconomic category column.
    n
        Count column for grouped data (``None``: one row per individual).
    weights
        Optional individual weights (individual data only).
    order
        Categories from ridit ~ 0 to ~ 1 (default: Enum order or numeric sort).

    Returns
    -------
    polars.DataFrame
        ``category, n, share, ridit`` in order.

    Examples
    --------
    >>> d = pl.DataFrame({"edu": ["low", "mid", "high"], "n": [20, 50, 30]})
    >>> ridit_scores(d, "edu", n="n", order=["low", "mid", "high"])["ridit"].round(6).to_list()
    [0.1, 0.45, 0.85]
    """
    if n is not None:
        frame = data.with_columns(pl.lit(0).alias("_e"))
        _, tab, _, _ = _prepare(frame, ses, None, "_e", n, [], None, None, order)
    else:
        frame = data.with_columns(pl.lit(0.0).alias("_o"))
        _, tab, _, _ = _prepare(frame, ses, "_o", None, None, [], None, weights, order)
    return tab.select("category", "n", "share", _RIDIT)


def _index(
    kind: Literal["SII", "RII"],
    data: pl.DataFrame,
    ses: str,
    outcome: str | None,
    events: str | None,
    n: str | None,
    covariates: Sequence[str],
    order: Sequence | None,
    cluster: str | None,
    weights: str | None,
    model: str,
    conf_level: float,
) -> pl.DataFrame:
    long, tab, n_dropped, wcol = _prepare(
        data, ses, outcome, events, n, covariates, cluster, weights, order
    )
    y = long.filter(pl.col(wcol) > 0)["_y"]
    if y.n_unique() < 2:
        what = f"{events!r}/{n!r}" if outcome is None else repr(outcome)
        raise NotEstimableError(
            f"outcome {what}: all {y.len()} analysed rows are {int(y[0])}; "
            f"the {kind} is not estimable"
        )
    if kind == "SII":
        family, link = "gaussian", "identity"
    elif model == "poisson":
        family, link = "poisson", "log"
    elif model == "logit":
        family, link = "binomial", "logit"
    else:
        raise ValueError(f"model must be 'poisson' or 'logit', got {model!r}")
    res = glm(
        long,
        "_y",
        [_RIDIT],
        list(covariates),
        family=family,
        link=link,
        cluster=cluster,
        weights=wcol,
        weight_type="frequency",
        robust=True,
        conf_level=conf_level,
    )
    row = res.table.filter(pl.col("term") == _RIDIT)
    est = row["estimate"].item()
    se = row["std_error"].item()
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if kind == "SII":
        e, lo, hi = est, est - z * se, est + z * se
    else:
        e, lo, hi = np.exp(est), np.exp(est - z * se), np.exp(est + z * se)
    return pl.DataFrame(
        {
            "measure": [kind],
            "model": [
                "linear probability (OLS)"
                if kind == "SII"
                else ("Poisson, log link" if model == "poisson" else "logistic")
            ],
            "estimate": [e],
            "std_error": [se],
            "statistic": [row["statistic"].item()],
            "p_value": [row["p_value"].item()],
            "conf_low": [lo],
            "conf_high": [hi],
            "n": [float(tab["n"].sum())],
            "events": [float(tab["events"].sum())],
            "n_categories": [tab.height],
            "n_clusters": [res.n_clusters],
            "n_dropped": [n_dropped],
            "vcov_type": [res.vcov_type],
        }
    )


def slope_index_of_inequality(
    data: pl.DataFrame,
    ses: str,
    outcome: str | None = None,
    events: str | None = None,
    n: str | None = None,
    covariates: Sequence[str] = (),
    order: Sequence | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Slope index of inequality (SII; Mackenbach & Kunst 1997).

    The binary outcome is regressed on the ridit of the SES category (plus optional
    ``covariates``) in a linear probability model (identity link, ordinary least
    squares; equal to R ``lm``/``glm(family = gaussian)``). The SII is the ridit
    coefficient: the absolute difference in outcome probability between the top
    (ridit 1) and the bottom (ridit 0) of the ``order``. Standard errors are HC0
    sandwich (R ``sandwich::vcovHC(type = "HC0")``), or cluster-robust with
    ``G/(G-1)`` if ``cluster`` is given (R ``vcovCL(type = "HC0")``); the Wald CI is on
    the probability-difference scale.

    Parameters
    ----------
    data
        Individual-level data (give ``outcome``) or grouped counts (give ``events`` and
        ``n``).
    ses
        Ordered SES category column.
    outcome
        0/1 outcome column (individual data).
    events, n
        Event and population count columns (grouped data).
    covariates
        Adjustment variables (coded as in :mod:`paleval.stats.regression`).
    order
        SES categories from ridit ~ 0 to ~ 1; required for String/Categorical columns.
    cluster
        Cluster id column (individual or grouped data).
    weights
        Individual frequency weights (individual data only).
    conf_level
        Confidence level.

    Returns
    -------
    polars.DataFrame
        One row: ``measure, model, estimate, std_error, statistic, p_value, conf_low,
        conf_high, n, events, n_categories, n_clusters, n_dropped, vcov_type``.

    Examples
    --------
    >>> d = pl.DataFrame({"edu": ["low", "mid", "high"], "deaths_home": [10, 40, 45],
    ...                   "n": [50, 100, 75]})
    >>> sii = slope_index_of_inequality(d, "edu", events="deaths_home", n="n",
    ...                                 order=["low", "mid", "high"])
    >>> round(sii["estimate"].item(), 4)
    0.5486
    """
    return _index(
        "SII",
        data,
        ses,
        outcome,
        events,
        n,
        covariates,
        order,
        cluster,
        weights,
        "",
        conf_level,
    )


def relative_index_of_inequality(
    data: pl.DataFrame,
    ses: str,
    outcome: str | None = None,
    events: str | None = None,
    n: str | None = None,
    covariates: Sequence[str] = (),
    order: Sequence | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    model: Literal["poisson", "logit"] = "poisson",
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Relative index of inequality (RII; Mackenbach & Kunst 1997).

    ``model="poisson"`` (default): Poisson regression with log link of the binary
    outcome on the ridit (modified Poisson, Zou 2004) with HC0 or cluster-robust
    (``G/(G-1)``) sandwich SEs; ``RII = exp(beta)`` is the ratio of the outcome
    probability at the top (ridit 1) to that at the bottom (ridit 0) of ``order``.
    ``model="logit"``: logistic regression instead, so the RII is an odds ratio (a common
    alternative when the outcome is frequent and a log-linear model fits poorly); SEs
    are then also sandwich SEs. The CI is ``exp(beta +/- z SE)``; ``std_error`` refers to
    ``beta`` (log scale).

    Parameters
    ----------
    data, ses, outcome, events, n, covariates, order, cluster, weights, conf_level
        As :func:`slope_index_of_inequality`.
    model
        ``"poisson"`` or ``"logit"``.

    Returns
    -------
    polars.DataFrame
        One row, columns as :func:`slope_index_of_inequality`.

    Examples
    --------
    >>> d = pl.DataFrame({"edu": ["low", "mid", "high"], "deaths_home": [10, 40, 45],
    ...                   "n": [50, 100, 75]})
    >>> rii = relative_index_of_inequality(d, "edu", events="deaths_home", n="n",
    ...                                    order=["low", "mid", "high"])
    >>> round(rii["estimate"].item(), 3)
    3.834
    """
    return _index(
        "RII",
        data,
        ses,
        outcome,
        events,
        n,
        covariates,
        order,
        cluster,
        weights,
        model,
        conf_level,
    )


def concentration_index(
    data: pl.DataFrame,
    ses: str,
    outcome: str | None = None,
    events: str | None = None,
    n: str | None = None,
    order: Sequence | None = None,
    weights: str | None = None,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Concentration index of an outcome by socioeconomic rank (Kakwani et al. 1997).

    With SES groups ``t`` (ordered by ``order``; every distinct value of a numeric
    ranking variable is a group, so individual-level ranks are a special case) having
    population shares ``f_t``, outcome means ``mu_t`` and fractional ranks (ridits)
    ``R_t``, and overall mean ``mu``, the index is the "convenient covariance" formula
    ``C = 2 cov(y, R) / mu = (2/mu) sum_t f_t mu_t R_t - 1``.

    Its standard error is the grouped-data formula of Kakwani, Wagstaff & van
    Doorslaer (1997) (O'Donnell et al. 2008, eq. 8.8), which includes within-group
    variation:
    ``var(C) = (1/N) [sum_t f_t a_t^2 - (1 + C)^2]
    + 1/(N mu^2) sum_t f_t s_t^2 (2 R_t - 1 - C)^2`` with
    ``a_t = (mu_t/mu)(2 R_t - 1 - C) + 2 - q_{t-1} - q_t``, ``q_t`` the cumulative share
    of the outcome up to group ``t`` (``q_0 = 0``), ``s_t^2`` the within-group
    (population) variance of ``y`` and ``N`` the number of individuals. With one
    individual per group it reduces to their individual-level formula. The CI is the
    Wald interval ``C +/- z SE``. A negative C means the outcome is concentrated at the
    bottom of ``order``.

    Parameters
    ----------
    data
        Individual-level data (``outcome``, which may be any non-negative numeric
        variable) or grouped counts of a binary outcome (``events`` and ``n``).
    ses
        Ordered SES category or numeric ranking variable (e.g. income).
    outcome, events, n, order, weights, conf_level
        As :func:`slope_index_of_inequality`.

    Returns
    -------
    polars.DataFrame
        One row: ``estimate, std_error, statistic, p_value, conf_low, conf_high, n,
        events`` (sum of the outcome), ``mean, n_categories, n_dropped``.

    Examples
    --------
    >>> d = pl.DataFrame({"edu": ["low", "mid", "high"], "deaths_home": [10, 40, 45],
    ...                   "n": [50, 100, 75]})
    >>> ci = concentration_index(d, "edu", events="deaths_home", n="n",
    ...                          order=["low", "mid", "high"])
    >>> round(ci["estimate"].item(), 4)
    0.1871
    """
    binary = outcome is None
    _, tab, n_dropped, _ = _prepare(
        data, ses, outcome, events, n, [], None, weights, order, binary=binary
    )
    if outcome is not None:
        frame = data.select(outcome).to_series().drop_nulls()
        if frame.dtype.is_numeric() and (frame.cast(pl.Float64) < 0).any():
            raise ValueError(f"outcome column {outcome!r} must be non-negative")
    N = float(tab["n"].sum())
    f = tab["share"].to_numpy()
    nt = tab["n"].to_numpy()
    mu_t = tab["events"].to_numpy() / nt
    s2 = tab["_y2"].to_numpy() / nt - mu_t**2
    s2 = np.maximum(s2, 0.0)
    R = tab[_RIDIT].to_numpy()
    mu = float(np.sum(f * mu_t))
    if mu <= 0:
        raise ValueError("the outcome mean is 0: the concentration index is undefined")
    C = 2.0 / mu * float(np.sum(f * mu_t * R)) - 1.0
    q = np.cumsum(f * mu_t) / mu
    qprev = np.concatenate([[0.0], q[:-1]])
    a = (mu_t / mu) * (2 * R - 1 - C) + 2 - qprev - q
    var = (np.sum(f * a**2) - (1 + C) ** 2) / N + np.sum(f * s2 * (2 * R - 1 - C) ** 2) / (
        N * mu**2
    )
    se = float(np.sqrt(max(var, 0.0)))
    z = stats.norm.ppf(0.5 + conf_level / 2)
    stat = C / se if se > 0 else np.nan
    return pl.DataFrame(
        {
            "estimate": [C],
            "std_error": [se],
            "statistic": [stat],
            "p_value": [2 * stats.norm.sf(abs(stat))],
            "conf_low": [C - z * se],
            "conf_high": [C + z * se],
            "n": [N],
            "events": [float(tab["events"].sum())],
            "mean": [mu],
            "n_categories": [tab.height],
            "n_dropped": [n_dropped],
        }
    )
