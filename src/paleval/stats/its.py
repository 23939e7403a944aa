"""Segmented regression for interrupted time series (ITS) on a regular monthly or quarterly
series: level and slope changes at one or more intervention dates, harmonic seasonality,
Gaussian, Poisson or negative binomial outcomes with offsets, Newey-West (HAC) standard
errors, and AR(1) errors by generalised least squares for the Gaussian family.

The design (Wagner et al. 2002; Bernal et al. 2017)
---------------------------------------------------
``t = 0, 1, ...`` counts periods from the first of the series. An intervention date takes
effect from the first period starting on or after it (a law of 31 January 1983 from
February 1983), its index ``T_k``. Terms:

* ``time`` (``t``): the pre-intervention trend;
* ``level[k]`` = ``1(t >= T_k)``: the change in level at ``T_k``;
* ``slope[k]`` = ``(t - T_k) 1(t >= T_k)``: the change in slope after ``T_k`` (zero in
  the first period of the new regime, so ``level[k]`` is the immediate change);
* with ``seasonality=K``, ``sin{j}``/``cos{j}`` = ``sin/cos(2 pi j s / P)``, ``j = 1..K``,
  ``s`` the period within the year (month - 1, or quarter - 1), ``P`` = 12 or 4;
* any further numeric ``covariates``.

The counterfactual series sets every ``level`` and ``slope`` term to zero (trend,
seasonality, covariates and offset kept).

Standard errors
---------------
* ``se="newey-west"`` (default): the HAC sandwich of R ``sandwich::NeweyWest`` **with its
  defaults**: Bartlett weights ``1 - j / (lag + 1)``; ``lag`` (when not given) from the
  automatic bandwidth of Newey and West (1994), R ``floor(bwNeweyWest(fit))`` (the
  intercept's score column weighted 0); VAR(1) pre-whitening of the scores
  (``prewhite=True``, R ``ar(method = "ols", demean = FALSE)``), and no ``n / (n - k)``
  adjustment (``adjust=False``). The scores and bread are R's ``estfun``/``bread`` of the
  ``lm``/``glm``/``glm.nb`` fit, so the Gaussian family's SEs equal those of ``lm``.
* ``se="model"``: ``vcov`` of ``lm`` (Gaussian, ``sigma^2 = RSS / (n - p)``), ``glm``
  (Poisson) or ``glm.nb`` (negative binomial).
* ``errors="ar1"`` (Gaussian only): AR(1) errors, fitted as R
  ``nlme::gls(correlation = corAR1())``, by REML (``method="REML"``, gls's default) or
  ``"ML"``: ``phi`` maximises the profile (restricted) likelihood; the covariance is
  ``sigma^2 (X' R^-1 X)^-1`` with ``sigma^2 = RSS_GLS / (n - p)`` (REML) or ``/ n`` (ML).

Wald intervals use the normal distribution (as paleval's other models), not ``t``.

References
----------
Wagner AK, Soumerai SB, Zhang F, Ross-Degnan D (2002). Segmented regression analysis of
interrupted time series studies in medication use research. J Clin Pharm Ther 27:299-309.

Bernal JL, Cummins S, Gasparrini A (2017). Interrupted time series regression for the
evaluation of public health interventions: a tutorial. Int J Epidemiol 46:348-355.

Newey WK, West KD (1994). Automatic lag selection in covariance matrix estimation. Review of
Economic Studies 61:631-653. Zeileis A (2004). Econometric computing with HC and HAC
covariance matrix estimators. Journal of Statistical Software 11(10).

Harvey AC, Durbin J (1986). The effects of seat belt legislation on British road casualties.
JRSS A 149:187-227 (the ``Seatbelts`` data of the tests).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import optimize

from paleval.stats._design import offset_values
from paleval.stats._errors import ConvergenceError, NotEstimableError, SeparationError
from paleval.stats._glm import Family, coefficient_text, irls, wald_table
from paleval.stats.count import fit_negbin

__all__ = ["SegmentedRegressionResult", "newey_west", "segmented_regression"]

FamilyName = Literal["gaussian", "poisson", "negbin"]


@dataclass
class SegmentedRegressionResult:
    """A fitted segmented (interrupted time series) regression.

    Attributes
    ----------
    table : polars.DataFrame
        ``term, estimate, std_error, statistic, p_value, conf_low, conf_high`` and
        ``ratio, ratio_low, ratio_high`` (rate ratios for the log-link families).
    series : polars.DataFrame
        One row per period: ``<time column>, t, observed, fitted, counterfactual`` (means on
        the outcome's scale; for counts with an offset, expected counts).
    params, vcov : numpy.ndarray
        Coefficients and their covariance (``se_type``).
    interventions : dict
        Intervention label -> index ``T_k`` of its first period.
    lag : int or None
        Newey-West lag used.
    phi, sigma, theta : float or None
        AR(1) coefficient and residual SD (``errors="ar1"``), negative binomial ``theta``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({
    ...     "month": pl.date_range(dt.date(2020, 1, 1), dt.date(2021, 12, 1), "1mo", eager=True),
    ...     "y": [float(10 + 0.5 * i + (3 if i >= 12 else 0)) for i in range(24)],
    ... })
    >>> res = segmented_regression(d, "y", "month", dt.date(2021, 1, 1), se="model")
    >>> [round(float(v), 6) + 0.0 for v in res.params]
    [10.0, 0.5, 3.0, 0.0]
    """

    table: pl.DataFrame
    series: pl.DataFrame
    outcome: str
    family: str
    terms: list[str]
    params: np.ndarray
    vcov: np.ndarray
    se_type: str
    interventions: dict[str, int]
    lag: int | None
    phi: float | None
    sigma: float | None
    theta: float | None
    loglik: float | None
    nobs: int
    conf_level: float

    def summary(self) -> str:
        """Plain-text summary: model, interventions, SE type and the coefficient table.

        Examples
        --------
        >>> import datetime as dt
        >>> d = pl.DataFrame({"q": pl.date_range(dt.date(2015, 1, 1), dt.date(2019, 10, 1),
        ...                                      "3mo", eager=True),
        ...                   "y": [float(i % 5 + i // 10) for i in range(20)]})
        >>> res = segmented_regression(d, "y", "q", [dt.date(2017, 4, 1)])
        >>> print(res.summary().splitlines()[0])
        segmented regression (gaussian) of 'y', 20 periods
        """
        extra = []
        if self.lag is not None:
            extra.append(f"Newey-West lag {self.lag}")
        if self.phi is not None:
            extra.append(f"AR(1) phi = {self.phi:.4g}, sigma = {self.sigma:.4g}")
        if self.theta is not None:
            extra.append(f"theta = {self.theta:.4g}")
        lines = [
            f"segmented regression ({self.family}) of {self.outcome!r}, {self.nobs} periods",
            "interventions: " + ", ".join(f"{k} (t = {v})" for k, v in self.interventions.items()),
            f"standard errors: {self.se_type}" + (f"; {'; '.join(extra)}" if extra else ""),
            "",
        ]
        lines.append(coefficient_text(self.table))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<SegmentedRegressionResult {self.family} outcome={self.outcome!r} "
            f"periods={self.nobs} se={self.se_type}>"
        )

    def _repr_html_(self) -> str:
        head = html.escape(
            f"segmented regression ({self.family}) of {self.outcome!r}; {self.nobs} periods; "
            f"SE: {self.se_type}"
        )
        return f"<p>{head}</p>" + self.table._repr_html_()

    def plot(self, ax: Any = None) -> Any:
        """Observed series (points), fitted (line) and counterfactual (dashed) curves, with
        the interventions as vertical lines.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import datetime as dt
        >>> d = pl.DataFrame({"q": pl.date_range(dt.date(2015, 1, 1), dt.date(2019, 10, 1),
        ...                                      "3mo", eager=True),
        ...                   "y": [float(i % 5 + i // 10) for i in range(20)]})
        >>> ax = segmented_regression(d, "y", "q", dt.date(2017, 4, 1)).plot()
        >>> len(ax.lines)
        4
        """
        import matplotlib.pyplot as plt  # lazy import

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        x = self.series[self.series.columns[0]].to_numpy()
        ax.plot(x, self.series["observed"], "o", color="grey", markersize=3, label="observed")
        ax.plot(x, self.series["fitted"], color="black", label="fitted")
        ax.plot(x, self.series["counterfactual"], "--", color="black", label="counterfactual")
        for k in self.interventions.values():
            ax.axvline(x[k], color="grey", linewidth=1)
        ax.set_ylabel(self.outcome)
        ax.legend(frameon=False)
        return ax


# ---------------------------------------------------------------------------------------
# Newey-West
# ---------------------------------------------------------------------------------------


def _var1(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VAR(1) by OLS without intercept (R ``ar(method="ols", demean=FALSE)``): residuals and
    ``(I - A)^-1``."""
    b = np.linalg.lstsq(u[:-1], u[1:], rcond=None)[0]
    resid = u[1:] - u[:-1] @ b
    return resid, np.linalg.inv(np.eye(u.shape[1]) - b.T)


def _bandwidth(u: np.ndarray, weights: np.ndarray, prewhite: bool) -> float:
    """The Newey-West (1994) automatic bandwidth, Bartlett kernel (R ``bwNeweyWest``)."""
    n = u.shape[0]
    pw = int(prewhite)
    m = int(np.floor((3 if pw else 4) * (n / 100) ** (2 / 9)))
    if pw:
        u = _var1(u)[0]
        n -= 1
    hw = u @ weights
    sigma = np.array([np.sum(hw[: n - j] * hw[j:]) / n for j in range(m + 1)])
    s0 = sigma[0] + 2 * np.sum(sigma[1:])
    s1 = 2 * np.sum(np.arange(1, m + 1) * sigma[1:])
    return float(1.1447 * ((s1 / s0) ** 2) ** (1 / 3) * (n + pw) ** (1 / 3))


def newey_west(
    scores: np.ndarray,
    bread: np.ndarray,
    *,
    lag: int | None = None,
    prewhite: bool = True,
    adjust: bool = False,
    intercept: int | None = 0,
) -> tuple[np.ndarray, int]:
    """Newey-West HAC covariance ``bread @ S @ bread`` from time-ordered score rows, as R
    ``sandwich::NeweyWest`` (defaults: automatic lag, VAR(1) pre-whitening, no adjustment).

    Parameters
    ----------
    scores
        ``n x k`` score contributions ``x_i w_i (y_i - mu_i) / v(mu_i) dmu/deta`` (R
        ``estfun``), in time order.
    bread
        ``(X' W X)^-1`` (R ``bread(fit) / n``).
    lag
        Truncation lag; default ``floor(bwNeweyWest)``.
    prewhite, adjust
        VAR(1) pre-whitening; the ``n / (n - k)`` factor.
    intercept
        Column of the intercept, weighted 0 in the automatic bandwidth (``None``: none).

    Returns
    -------
    (numpy.ndarray, int)
        The covariance and the lag used.

    Examples
    --------
    >>> u = np.array([[1.0], [-0.5], [0.2], [0.4], [-1.0], [0.3]])
    >>> v, lag = newey_west(u, np.eye(1), lag=1, prewhite=False)
    >>> float(np.round(v[0, 0], 4)), lag  # 2.54 + 2 * 0.5 * (-0.5 - 0.1 + 0.08 - 0.4 - 0.3)
    (1.32, 1)
    """
    u = np.asarray(scores, dtype=float)
    n, k = u.shape
    if lag is None:
        w = np.ones(k)
        if intercept is not None:
            w[intercept] = 0.0
        if not np.any(w > 0):
            w[:] = 1.0
        lag = int(np.floor(_bandwidth(u, w, prewhite)))
    if lag < 0:
        raise ValueError(f"lag must be >= 0, got {lag}")
    D = None
    if prewhite:
        u, D = _var1(u)
    m = u.shape[0]
    utu = 0.5 * (u.T @ u)
    for j in range(1, min(lag, m - 1) + 1):
        utu += (1 - j / (lag + 1)) * (u[: m - j].T @ u[j:])
    utu = utu + utu.T
    if adjust:
        utu *= n / (n - k)
    if D is not None:
        utu = D @ utu @ D.T
    return bread @ utu @ bread, lag


# ---------------------------------------------------------------------------------------
# AR(1) errors by GLS
# ---------------------------------------------------------------------------------------


def _ar1_whiten(m: np.ndarray, phi: float) -> np.ndarray:
    out = np.empty_like(m)
    out[0] = m[0]
    out[1:] = (m[1:] - phi * m[:-1]) / np.sqrt(1 - phi**2)
    return out


def gls_ar1(
    X: np.ndarray, y: np.ndarray, method: Literal["REML", "ML"] = "REML"
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Linear regression with AR(1) errors by (restricted) maximum likelihood, as R
    ``nlme::gls(correlation = corAR1())``: coefficients, covariance, ``phi``, ``sigma`` and
    the log-likelihood.

    Examples
    --------
    >>> t = np.arange(30.0); e = np.sin(t) + 0.5 * np.cos(2.3 * t)
    >>> X = np.column_stack([np.ones(30), t]); y = 1 + 0.2 * t + e
    >>> beta, V, phi, sigma, ll = gls_ar1(X, y, "ML")
    >>> round(phi, 4)
    0.3016
    """
    if method not in ("REML", "ML"):
        raise ValueError(f"method must be 'REML' or 'ML', got {method!r}")
    n, p = X.shape
    reml = method == "REML"

    def fit(phi: float):
        Xw, yw = _ar1_whiten(X, phi), _ar1_whiten(y[:, None], phi)[:, 0]
        xtx = Xw.T @ Xw
        beta = np.linalg.solve(xtx, Xw.T @ yw)
        rss = float(np.sum((yw - Xw @ beta) ** 2))
        return beta, xtx, rss

    def negll(phi: float) -> float:
        _, xtx, rss = fit(phi)
        logdet_r = (n - 1) * np.log(1 - phi**2)
        if reml:
            return 0.5 * ((n - p) * np.log(rss) + logdet_r + np.linalg.slogdet(xtx)[1])
        return 0.5 * (n * np.log(rss) + logdet_r)

    res = optimize.minimize_scalar(
        negll, bounds=(-0.999999, 0.999999), method="bounded", options={"xatol": 1e-12}
    )
    phi = float(res.x)
    beta, xtx, rss = fit(phi)
    df = n - p if reml else n
    sigma2 = rss / df
    logdet_r = (n - 1) * np.log(1 - phi**2)
    ll = -0.5 * (df * (np.log(2 * np.pi * sigma2) + 1) + logdet_r)
    if reml:
        ll += -0.5 * np.linalg.slogdet(xtx)[1]
    # nlme scales the covariance by RSS / (n - p) for ML fits as well
    vcov = rss / (n - p) * np.linalg.inv(xtx)
    return beta, vcov, phi, float(np.sqrt(sigma2)), float(ll)


# ---------------------------------------------------------------------------------------
# the series and the design
# ---------------------------------------------------------------------------------------


def _series_index(frame: pl.DataFrame, time: str, period: int | None):
    """Period index ``t``, period-of-year ``s``, the period ``P`` and each period's start."""
    dtype = frame.schema[time]
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        d = frame[time].cast(pl.Date)
        mi = (d.dt.year() * 12 + d.dt.month() - 1).to_numpy().astype(np.int64)
        steps = np.unique(np.diff(mi))
        if steps.size != 1 or steps[0] not in (1, 3):
            raise ValueError(
                f"time column {time!r} is not a regular monthly or quarterly series (one row "
                f"per month or per quarter, no gaps or repeats); steps in months: "
                f"{sorted(set(np.diff(mi).tolist()))[:10]}"
            )
        step = int(steps[0])
        if step == 3 and np.any((mi % 3) != mi[0] % 3):
            raise ValueError(f"time column {time!r}: quarters do not start in the same month")
        P = 12 if step == 1 else 4
        s = (mi % 12) // step
        starts = [dt.date(int(v // 12), int(v % 12) + 1, 1) for v in mi]
        return (mi - mi[0]) // step, s, P, starts
    if not dtype.is_integer():
        raise ValueError(f"time column {time!r} must be a Date or an integer period index")
    v = frame[time].to_numpy().astype(np.int64)
    if np.any(np.diff(v) != 1):
        raise ValueError(f"time column {time!r}: periods must be consecutive integers")
    return v - v[0], None if period is None else v % period, period, list(v)


def _intervention_index(interventions: Any, starts: list, time: str) -> dict[str, int]:
    if isinstance(interventions, Mapping):
        items = list(interventions.items())
    else:
        seq = (
            [interventions]
            if isinstance(interventions, (dt.date, int, np.integer))
            else list(interventions)
        )
        items = [(str(v), v) for v in seq]
    if not items:
        raise ValueError("give at least one intervention date")
    out: dict[str, int] = {}
    for label, when in items:
        w = when.date() if isinstance(when, dt.datetime) else when
        k = next((i for i, s0 in enumerate(starts) if s0 >= w), None)
        if k is None or k == 0:
            raise ValueError(
                f"intervention {label!r} ({when}) must fall after the first period and no "
                f"later than the last period of {time!r} ({starts[0]} to {starts[-1]})"
            )
        out[str(label)] = k
    ks = list(out.values())
    if any(b <= a for a, b in itertools.pairwise(ks)):
        raise ValueError(
            f"interventions must take effect in increasing, distinct periods; periods: {out}"
        )
    return out


def _design(
    t: np.ndarray,
    s: np.ndarray | None,
    P: int | None,
    index: dict[str, int],
    seasonality: int,
    extra: dict[str, np.ndarray],
) -> tuple[np.ndarray, list[str], np.ndarray]:
    cols = [np.ones(t.size), t.astype(float)]
    terms = ["(Intercept)", "time"]
    for label, k in index.items():
        cols += [(t >= k).astype(float), np.where(t >= k, t - k, 0).astype(float)]
        terms += [f"level[{label}]", f"slope[{label}]"]
    is_effect = np.array([term.startswith(("level[", "slope[")) for term in terms])
    if seasonality:
        if s is None or P is None:
            raise ValueError("seasonality with an integer time column needs `period`")
        if not 0 < 2 * seasonality <= P:
            raise ValueError(f"seasonality must be between 1 and {P // 2} pairs for period {P}")
        for j in range(1, seasonality + 1):
            cols += [np.sin(2 * np.pi * j * s / P), np.cos(2 * np.pi * j * s / P)]
            terms += [f"sin{j}", f"cos{j}"]
    for name, v in extra.items():
        cols.append(v)
        terms.append(name)
    is_effect = np.append(is_effect, np.zeros(len(terms) - is_effect.size, dtype=bool))
    X = np.column_stack(cols)
    # a cos term of the Nyquist harmonic (j = P/2) is constant or a sign flip: drop exact zeros
    return X, terms, is_effect


def _check_inputs(data, outcome, time, covariates, family, se, errors):
    if not isinstance(data, pl.DataFrame):
        raise TypeError(f"data must be a polars DataFrame, got {type(data).__name__}")
    missing = [c for c in (outcome, time, *covariates) if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in data")
    if family not in ("gaussian", "poisson", "negbin"):
        raise ValueError(f"family must be 'gaussian', 'poisson' or 'negbin', got {family!r}")
    if se not in ("newey-west", "model"):
        raise ValueError(f"se must be 'newey-west' or 'model', got {se!r}")
    if errors not in ("independent", "ar1"):
        raise ValueError(f"errors must be 'independent' or 'ar1', got {errors!r}")
    if errors == "ar1" and family != "gaussian":
        raise ValueError("errors='ar1' (GLS) is for the gaussian family only")
    if errors == "ar1" and se == "newey-west":
        raise ValueError("with errors='ar1' the GLS covariance is used: give se='model'")
    for c in (outcome, *covariates):
        if not data.schema[c].is_numeric():
            raise ValueError(f"column {c!r} must be numeric, got {data.schema[c]}")
    nulls = [c for c in (outcome, time, *covariates) if data[c].null_count()]
    if nulls:
        raise ValueError(f"column(s) {nulls} have missing values: a series must be complete")


def segmented_regression(
    data: pl.DataFrame,
    outcome: str,
    time: str,
    interventions: Any,
    *,
    family: FamilyName = "gaussian",
    offset: str | None = None,
    exposure: str | None = None,
    seasonality: int = 0,
    period: int | None = None,
    covariates: Sequence[str] = (),
    se: Literal["newey-west", "model"] = "newey-west",
    lag: int | None = None,
    prewhite: bool = True,
    adjust: bool = False,
    errors: Literal["independent", "ar1"] = "independent",
    method: Literal["REML", "ML"] = "REML",
    conf_level: float = 0.95,
) -> SegmentedRegressionResult:
    """Interrupted time series by segmented regression (see the module docstring).

    Parameters
    ----------
    data
        One row per period: a complete, regular monthly or quarterly series.
    outcome
        The series (a rate or share for ``"gaussian"``, counts for ``"poisson"`` and
        ``"negbin"``).
    time
        Date column (any day within each month or quarter), or consecutive integers.
    interventions
        A date, a list of dates, or a mapping label -> date; each takes effect from the
        first period starting on or after it. Integers for an integer time column.
    family
        ``"gaussian"`` (identity), ``"poisson"`` or ``"negbin"`` (NB2; both log link).
    offset, exposure
        Log-scale offset column, or person-time column whose log is the offset.
    seasonality
        Number ``K`` of Fourier pairs (0: none).
    period
        Periods per year for an integer time column (12 or 4); inferred from dates.
    covariates
        Further numeric columns.
    se
        ``"newey-west"`` (HAC, R ``sandwich::NeweyWest``) or ``"model"``.
    lag, prewhite, adjust
        Newey-West options, R's defaults: automatic lag, VAR(1) pre-whitening, no ``n/(n-k)``.
    errors, method
        ``"ar1"``: AR(1) errors by GLS (Gaussian only; ``se="model"``), by ``"REML"`` or
        ``"ML"`` (R ``nlme::gls``).
    conf_level
        Confidence level of the Wald intervals.

    Returns
    -------
    SegmentedRegressionResult
        Coefficient table, the fitted and counterfactual series, ``plot()``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({
    ...     "month": pl.date_range(dt.date(2019, 1, 1), dt.date(2021, 12, 1), "1mo", eager=True),
    ...     "deaths": [30, 28, 35, 31, 29, 33, 36, 30, 32, 34, 31, 35, 33, 37, 34,
    ...                40, 38, 44, 41, 45, 43, 47, 44, 49, 46, 50, 52, 48, 51, 55,
    ...                53, 56, 54, 58, 57, 60],
    ... })
    >>> res = segmented_regression(d, "deaths", "month", {"reform": dt.date(2020, 3, 1)},
    ...                            family="poisson")
    >>> res.terms
    ['(Intercept)', 'time', 'level[reform]', 'slope[reform]']
    >>> res.series.columns
    ['month', 't', 'observed', 'fitted', 'counterfactual']
    """
    covariates = list(covariates)
    _check_inputs(data, outcome, time, covariates, family, se, errors)
    frame = data.sort(time)
    t, s, P, starts = _series_index(frame, time, period)
    if period is not None and P != period:
        raise ValueError(f"period={period} does not match the {P} periods per year of {time!r}")
    index = _intervention_index(interventions, starts, time)
    extra = {c: frame[c].cast(pl.Float64).to_numpy() for c in covariates}
    X, terms, is_effect = _design(t, s, P, index, seasonality, extra)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise NotEstimableError(f"the design is rank deficient; terms: {terms}")
    y = frame[outcome].cast(pl.Float64).to_numpy()
    off, _ = offset_values(frame, offset, exposure)
    if off is not None and family == "gaussian":
        raise ValueError("an offset or exposure needs a log-link family ('poisson', 'negbin')")
    fit = _fit(X, y, off, family, se, lag, prewhite, adjust, errors, method)
    coef, vcov = fit["coef"], fit["vcov"]
    offv = np.zeros(y.size) if off is None else off
    inv = np.exp if family != "gaussian" else (lambda v: v)
    counter = inv(X[:, ~is_effect] @ coef[~is_effect] + offv)
    series = pl.DataFrame(
        {
            time: frame[time],
            "t": t,
            "observed": y,
            "fitted": inv(X @ coef + offv),
            "counterfactual": counter,
        }
    )
    return SegmentedRegressionResult(
        table=pl.DataFrame(
            wald_table(terms, coef, vcov, conf_level, {"level": list(index), "slope": list(index)})
        ),
        series=series,
        outcome=outcome,
        family=family,
        terms=terms,
        params=coef,
        vcov=vcov,
        se_type=fit["se_type"],
        interventions=index,
        lag=fit.get("lag"),
        phi=fit.get("phi"),
        sigma=fit.get("sigma"),
        theta=fit.get("theta"),
        loglik=fit.get("loglik"),
        nobs=int(y.size),
        conf_level=conf_level,
    )


def _fit(X, y, off, family, se, lag, prewhite, adjust, errors, method) -> dict[str, Any]:
    if errors == "ar1":
        beta, vcov, phi, sigma, ll = gls_ar1(X, y, method)
        return dict(
            coef=beta, vcov=vcov, phi=phi, sigma=sigma, loglik=ll, se_type=f"GLS AR(1) {method}"
        )
    out: dict[str, Any] = {}
    w = np.ones(y.size)
    if family == "negbin":
        g, out["theta"], _, _ = fit_negbin(X, y, w, off)
        fam = Family("negbin", "log", out["theta"])
    else:
        fam = Family(family, "identity" if family == "gaussian" else "log")
        if family == "poisson" and np.any((y < 0) | (y != np.round(y))):
            raise ValueError("family='poisson' needs non-negative whole-number counts")
        g = irls(X, y, w, fam, offset=off)
    if family != "gaussian" and np.any(g.mu < 1e-8):
        # as R's glm.fit warns "fitted rates numerically 0 occurred": a segment without events
        # sends its level or slope to -inf, and the ratios (and the counterfactual) are noise
        raise SeparationError(
            "segmented_regression: fitted counts numerically 0 in some periods (quasi-complete "
            "separation, e.g. a segment or a run of periods without events); the level and "
            "slope changes are not finite"
        )
    if not g.converged:
        raise ConvergenceError("segmented_regression: IRLS did not converge in 100 iterations")
    out["coef"] = g.coef
    if se == "model":
        out["vcov"] = g.bread * g.dispersion
        out["se_type"] = "model"
        return out
    scores = X * ((y - g.mu) * fam.mu_eta(g.eta) / fam.variance(g.mu))[:, None]
    out["vcov"], out["lag"] = newey_west(
        scores, g.bread, lag=lag, prewhite=prewhite, adjust=adjust, intercept=0
    )
    out["se_type"] = (
        f"Newey-West (lag {out['lag']}{', prewhitened' if prewhite else ''}"
        f"{', adjusted' if adjust else ''})"
    )
    return out
