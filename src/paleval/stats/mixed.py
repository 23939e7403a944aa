"""Random-intercept generalised linear mixed models: variation between practices, hospitals
or municipalities.

* :func:`mixed_logistic` — a binary outcome (or events out of trials), logit link;
* :func:`mixed_poisson` — a count, log link, with a person-time offset or exposure.

Both are R ``lme4::glmer(y ~ x + (1 | group), nAGQ = k)``: the marginal likelihood is
approximated by the Laplace method (``nagq=1``) or adaptive Gauss-Hermite quadrature with
``nagq`` nodes centred on each group's conditional mode and scaled by its curvature, and
maximised in the fixed effects ``beta`` and the random-intercept standard deviation
``sigma`` jointly. Standard errors of ``beta`` come from the Hessian of the approximate
log-likelihood in ``(beta, sigma)`` (lme4's default ``vcov`` for GLMMs; here the Hessian is
central differences of the exact gradient). Reference values from lme4 on ``cbpp``,
``grouseticks`` and two synthetic data sets are in ``tests/reference/mixed``.

The between-group variation is summarised by

* ``sigma`` and the variance ``sigma**2``, with a Wald interval on ``log(sigma)`` (the
  standard error of ``sigma`` from the same Hessian, by the delta method) or, with
  ``sigma_ci="profile"``, a profile-likelihood interval;
* the latent-scale intraclass correlation ``sigma^2 / (sigma^2 + pi^2/3)`` (logit only;
  Snijders and Bosker);
* the median odds ratio (Merlo et al. 2006, *J Epidemiol Community Health* 60:290) or, for
  counts, the median rate ratio ``exp(sqrt(2) * sigma * qnorm(0.75))`` — the median of the
  ratio between two randomly drawn groups, higher against lower — with the interval from the
  endpoints of the interval for ``sigma`` (the transformation is monotone);
* empirical-Bayes predictions per group: the conditional modes of the random intercepts with
  their conditional standard deviations (lme4 ``ranef(condVar = TRUE)``) and Wald intervals.

Rows with a missing value in a used column are dropped (counted in ``n_dropped``).
Categorical covariates are dummy coded against their first (or ``reference``) level, as in
:mod:`paleval.stats.regression`.

Note: lme4 reports, for ``nAGQ > 1`` only, a log-likelihood without the saturated model's
terms (the deviance residuals' sum); paleval reports the full log-likelihood for every
``nagq`` (the same as lme4's for ``nAGQ = 1`` and for binary outcomes).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats._design import Coding, build_design, missing_mask
from paleval.stats._errors import NotEstimableError
from paleval.stats._glm import ConvergenceError, Family, irls
from paleval.stats._mixed_core import MixedData, MixedFamily, fit_mixed, profile_interval

__all__ = ["MixedResult", "mixed_logistic", "mixed_poisson"]

_MAX_NAGQ = 25


@dataclass
class MixedResult:
    """A fitted random-intercept GLMM.

    Attributes
    ----------
    table : polars.DataFrame
        Fixed effects: ``term, estimate, std_error, statistic, p_value, conf_low,
        conf_high`` (link scale) and ``ratio, ratio_low, ratio_high`` (exponentiated: odds
        ratios or rate ratios, see ``measure``).
    variance : polars.DataFrame
        The between-group variation: ``parameter`` (``sigma``, ``variance``, ``icc`` for
        the logit model, ``median_ratio``), ``estimate, std_error, conf_low, conf_high``.
    groups : polars.DataFrame
        Empirical-Bayes predictions: ``group, n, events, estimate`` (conditional mode of the
        random intercept), ``std_error`` (conditional SD), ``conf_low, conf_high``, and
        ``ratio, ratio_low, ratio_high`` (the group's odds or rate relative to a typical
        group), sorted by group.
    sigma, sigma_se : float
        Random-intercept standard deviation and its standard error.
    icc : float or None
        Latent-scale intraclass correlation (logit model), else ``None``.
    median_ratio : float
        Median odds ratio (logit) or median rate ratio (Poisson).
    loglik : float
        Approximate marginal log-likelihood at the maximum (full, with constants).
    nagq : int
        Quadrature nodes (1: Laplace).
    measure : str
        ``"OR"`` or ``"RR"``.
    n, n_groups, n_dropped : int
        Rows analysed, groups, rows dropped for missing values.
    params, vcov, terms
        Fixed effects, their covariance matrix and labels.
    at_boundary : bool
        ``sigma`` estimated as zero (no between-group variation): its interval is not
        computed and the fixed effects are those of the ordinary GLM.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(30), 20)
    >>> y = rng.binomial(1, 1 / (1 + np.exp(-(-0.5 + rng.normal(0, 0.8, 30)[g]))))
    >>> res = mixed_logistic(pl.DataFrame({"y": y, "g": g}), "y", [], "g")
    >>> res.measure, res.n, res.n_groups, res.variance["parameter"].to_list()
    ('OR', 600, 30, ['sigma', 'variance', 'icc', 'median_ratio'])
    """

    table: pl.DataFrame
    variance: pl.DataFrame
    groups: pl.DataFrame
    sigma: float
    sigma_se: float
    icc: float | None
    median_ratio: float
    loglik: float
    nagq: int
    measure: str
    model: str
    outcome: str
    group: str
    n: int
    n_groups: int
    n_dropped: int
    params: np.ndarray
    vcov: np.ndarray
    terms: list[str]
    conf_level: float
    converged: bool
    iterations: int
    at_boundary: bool

    def summary(self) -> str:
        """Plain-text summary: model, sample, variance components and fixed effects.

        Examples
        --------
        >>> d = pl.DataFrame({"y": [0, 1, 1, 0, 1, 0, 0, 1, 1, 1], "g": list("aabbccddee")})
        >>> print(mixed_logistic(d, "y", [], "g").summary().splitlines()[0])
        mixed logistic regression of 'y', random intercept by 'g' (Laplace)
        """
        method = "Laplace" if self.nagq == 1 else f"adaptive Gauss-Hermite, {self.nagq} nodes"
        lines = [
            f"{self.model} regression of {self.outcome!r}, random intercept by "
            f"{self.group!r} ({method})",
            f"n = {self.n} rows in {self.n_groups} groups; {self.n_dropped} dropped for "
            f"missing values; log-likelihood = {self.loglik:.6g}",
        ]
        cfg = pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            tbl_width_chars=200,
        )
        with cfg:
            lines.append(str(self.variance.with_columns(pl.col(pl.Float64).round(4))))
            lines.append(
                str(
                    self.table.select(
                        "term", "estimate", "std_error", "ratio", "ratio_low", "ratio_high"
                    ).with_columns(pl.col(pl.Float64).round(4))
                )
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<MixedResult {self.model} ({self.measure}) outcome={self.outcome!r} "
            f"group={self.group!r} n={self.n} groups={self.n_groups} nagq={self.nagq}>"
        )

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        return f"<p>{head}</p>" + self.variance._repr_html_() + self.table._repr_html_()


def _check_options(nagq: int, conf_level: float, sigma_ci: str) -> None:
    if sigma_ci not in ("wald", "profile"):
        raise ValueError(f"sigma_ci must be 'wald' or 'profile', got {sigma_ci!r}")
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)):
        raise TypeError(f"nagq must be an integer, got {type(nagq).__name__}")
    if not 1 <= nagq <= _MAX_NAGQ:
        raise ValueError(f"nagq must be between 1 and {_MAX_NAGQ} (as lme4), got {nagq}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")


def _complete_rows(frame: pl.DataFrame, cols: list[str]) -> tuple[pl.DataFrame, int]:
    """The rows of ``frame`` with no missing value in ``cols``, and how many were dropped."""
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"frame must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in dict.fromkeys(cols) if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in frame")
    sub = frame.select(list(dict.fromkeys(cols)))
    miss = sub.select(missing_mask(sub, list(sub.columns)).alias("m"))["m"]
    return sub.filter(~miss), int(miss.sum())


def _numeric(clean: pl.DataFrame, col: str, arg: str) -> np.ndarray:
    if not clean.schema[col].is_numeric():
        raise ValueError(f"{arg} column {col!r} must be numeric, got {clean.schema[col]}")
    v = clean[col].cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise ValueError(f"{arg} column {col!r}: {bad.size} row(s) not finite (rows {bad[:5]})")
    return v


def _sigma_interval(
    md: MixedData, fit: Any, se_sigma: float, method: str, nagq: int, conf_level: float
) -> tuple[float, float]:
    """Interval for sigma: Wald on log(sigma) (delta method) or profile likelihood."""
    sigma = float(fit.params[-1])
    if method == "profile":
        return profile_interval(md, nagq, fit, conf_level)
    if fit.at_boundary or not np.isfinite(se_sigma) or sigma <= 0:
        return np.nan, np.nan
    z = stats.norm.ppf(0.5 + conf_level / 2)
    se_log = se_sigma / sigma
    return sigma * np.exp(-z * se_log), sigma * np.exp(z * se_log)


def _intervals(
    fit_sigma: float, se_sigma: float, lo: float, hi: float, logit: bool
) -> pl.DataFrame:
    """sigma, variance, ICC and median ratio with the interval for sigma transformed."""
    sig = np.array([fit_sigma, lo, hi])
    k = np.sqrt(2.0) * stats.norm.ppf(0.75)
    rows = {
        "sigma": (sig, se_sigma),
        "variance": (sig**2, 2 * fit_sigma * se_sigma),
    }
    if logit:
        icc = sig**2 / (sig**2 + np.pi**2 / 3)
        rows["icc"] = (icc, np.nan)
    rows["median_ratio"] = (np.exp(k * sig), np.nan)
    return pl.DataFrame(
        {
            "parameter": list(rows),
            "estimate": [float(v[0][0]) for v in rows.values()],
            "std_error": [float(v[1]) for v in rows.values()],
            "conf_low": [float(v[0][1]) for v in rows.values()],
            "conf_high": [float(v[0][2]) for v in rows.values()],
        }
    )


def _fixed_table(coding: Coding, coef: np.ndarray, vcov: np.ndarray, z: float) -> pl.DataFrame:
    se = np.sqrt(np.diag(vcov))
    stat = coef / se
    lo, hi = coef - z * se, coef + z * se
    names = coding.term_frame()
    return pl.DataFrame(
        {
            "term": coding.terms,
            "variable": names["variable"],
            "level": names["level"],
            "estimate": coef,
            "std_error": se,
            "statistic": stat,
            "p_value": 2 * stats.norm.sf(np.abs(stat)),
            "conf_low": lo,
            "conf_high": hi,
            "ratio": np.exp(coef),
            "ratio_low": np.exp(lo),
            "ratio_high": np.exp(hi),
        }
    )


def _fit(
    model: str,
    frame: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    *,
    family: str,
    trials: str | None,
    offset_col: str | None,
    log_offset: bool,
    nagq: int,
    reference: Mapping[str, str] | None,
    conf_level: float,
    sigma_ci: str,
) -> MixedResult:
    _check_options(nagq, conf_level, sigma_ci)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if group in covariates or group == outcome:
        raise ValueError(f"group column {group!r} is also the outcome or a covariate")
    extra = [c for c in (trials, offset_col) if c is not None]
    clean, n_dropped = _complete_rows(frame, [outcome, *covariates, group, *extra])
    if clean.height == 0:
        raise NotEstimableError("no rows left after dropping rows with missing values")
    kind = "binary" if (family == "binomial" and trials is None) else "count"
    design, _ = build_design(clean, outcome, covariates, group, None, reference, kind)
    y = design.y
    n = None
    if trials is not None:
        n = _numeric(clean, trials, "trials")
        bad = np.flatnonzero((n < y) | (n != np.round(n)) | (y != np.round(y)))
        if bad.size:
            raise ValueError(
                f"trials column {trials!r}: {bad.size} row(s) where the outcome is not a whole "
                f"number between 0 and the trials (rows {bad[:5].tolist()})"
            )
    if family == "poisson" and np.any(y != np.round(y)):
        raise ValueError(f"outcome column {outcome!r} must hold whole-number counts")
    off = np.zeros(y.size)
    if offset_col is not None:
        off = _numeric(clean, offset_col, "exposure" if log_offset else "offset")
        if log_offset:
            bad = np.flatnonzero(off <= 0)
            if bad.size:
                raise ValueError(
                    f"exposure column {offset_col!r}: {bad.size} row(s) not positive "
                    f"(rows {bad[:5].tolist()})"
                )
            off = np.log(off)
    assert design.cluster is not None
    n_groups = int(design.cluster.max()) + 1
    if n_groups < 2:
        raise ValueError(f"group column {group!r} has {n_groups} group; need at least 2")
    X = design.X
    if X.shape[0] != y.size:  # an intercept-only coding yields one row: repeat it
        X = np.broadcast_to(X[:1], (y.size, X.shape[1])).copy()
    md = MixedData(X, y, n, off, design.cluster, n_groups, MixedFamily(family))
    start = _glm_start(X, y, n, off, family)
    fit = fit_mixed(md, nagq, start)
    p = X.shape[1]
    if fit.at_boundary:
        vcov = np.linalg.inv(fit.hessian[:p, :p])
        se_sigma = np.nan
    else:
        V = np.linalg.inv(fit.hessian)
        if not np.all(np.isfinite(V)) or np.any(np.diag(V) <= 0):
            raise ConvergenceError("the Hessian at the maximum is not positive definite")
        vcov, se_sigma = V[:p, :p], float(np.sqrt(V[p, p]))
    zq = float(stats.norm.ppf(0.5 + conf_level / 2))
    sigma = float(fit.params[-1])
    lo, hi = _sigma_interval(md, fit, se_sigma, sigma_ci, nagq, conf_level)
    variance = _intervals(sigma, se_sigma, lo, hi, family == "binomial")
    groups = _group_table(md, fit, clean[group], zq, n)
    return MixedResult(
        table=_fixed_table(design.coding, fit.params[:p], vcov, zq),
        variance=variance,
        groups=groups,
        sigma=sigma,
        sigma_se=se_sigma,
        icc=float(variance.filter(pl.col("parameter") == "icc")["estimate"].item())
        if family == "binomial"
        else None,
        median_ratio=float(variance["estimate"][-1]),
        loglik=fit.loglik,
        nagq=nagq,
        measure="OR" if family == "binomial" else "RR",
        model=model,
        outcome=outcome,
        group=group,
        n=int(y.size),
        n_groups=n_groups,
        n_dropped=n_dropped,
        params=fit.params[:p],
        vcov=vcov,
        terms=design.coding.terms,
        conf_level=conf_level,
        converged=fit.converged,
        iterations=fit.iterations,
        at_boundary=fit.at_boundary,
    )


def _glm_start(
    X: np.ndarray, y: np.ndarray, n: np.ndarray | None, off: np.ndarray, family: str
) -> np.ndarray:
    """Starting fixed effects: the GLM without the random intercept (offset: adjusted
    intercept only)."""
    if family == "binomial":
        nn = np.ones_like(y) if n is None else n
        keep = nn > 0
        fit = irls(X[keep], y[keep] / nn[keep], nn[keep], Family("binomial", "logit"))
        return fit.coef
    try:
        fit = irls(X, y, np.ones_like(y), Family("poisson", "log"))
        beta = fit.coef.copy()
    except ConvergenceError:
        beta = np.zeros(X.shape[1])
    beta[0] += np.log(max(y.sum(), 0.5) / np.exp(X @ beta + off).sum())
    return beta


def _group_table(
    md: MixedData, fit: Any, labels: pl.Series, z: float, n: np.ndarray | None
) -> pl.DataFrame:
    sigma = float(fit.params[-1])
    mode = sigma * fit.state.u
    sd = sigma / np.sqrt(fit.state.D)
    lab = labels.unique().sort()  # group codes are dense ranks: the sorted labels
    return pl.DataFrame(
        {
            "group": lab,
            "n": md.gsum(np.ones(md.y.size) if n is None else n),
            "events": md.gsum(md.y),
            "estimate": mode,
            "std_error": sd,
            "conf_low": mode - z * sd,
            "conf_high": mode + z * sd,
            "ratio": np.exp(mode),
            "ratio_low": np.exp(mode - z * sd),
            "ratio_high": np.exp(mode + z * sd),
        }
    )


def mixed_logistic(
    frame: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    *,
    trials: str | None = None,
    nagq: int = 1,
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    sigma_ci: Literal["wald", "profile"] = "wald",
) -> MixedResult:
    """Random-intercept logistic regression (R ``glmer(..., family = binomial, nAGQ)``).

    Parameters
    ----------
    frame
        One row per individual (or per cell with ``trials``).
    outcome
        0/1 outcome column; with ``trials``, the number of events out of ``trials``.
    covariates
        Fixed-effect columns (numeric, Boolean or categorical; may be empty).
    group
        Column identifying the groups (practice, hospital, municipality).
    trials
        Optional column of trials per row (R ``cbind(events, trials - events)``).
    nagq
        Quadrature nodes: 1 (Laplace, default) or up to 25 (adaptive Gauss-Hermite).
    reference
        Reference level per categorical covariate (default the first level).
    conf_level
        Confidence level of the intervals.
    sigma_ci
        Interval for sigma (and the variance, ICC and median odds ratio derived from it):
        ``"wald"`` on log(sigma) by the delta method (default, instant) or ``"profile"``
        likelihood (refits the fixed effects at each trial sigma; better with few groups;
        R ``confint(fit, method = "profile")``).

    Returns
    -------
    MixedResult
        Odds ratios, sigma, ICC, median odds ratio and empirical-Bayes predictions.

    Examples
    --------
    >>> d = pl.DataFrame({"herd": ["a", "a", "b", "b", "c", "c"], "cases": [2, 3, 0, 1, 5, 4],
    ...                   "size": [10, 12, 9, 11, 10, 9], "late": [0, 1, 0, 1, 0, 1]})
    >>> res = mixed_logistic(d, "cases", ["late"], "herd", trials="size", nagq=5)
    >>> res.table["term"].to_list(), res.groups.height
    (['(Intercept)', 'late'], 3)
    """
    return _fit(
        "mixed logistic",
        frame,
        outcome,
        covariates,
        group,
        family="binomial",
        trials=trials,
        offset_col=None,
        log_offset=False,
        nagq=nagq,
        reference=reference,
        conf_level=conf_level,
        sigma_ci=sigma_ci,
    )


def mixed_poisson(
    frame: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    *,
    offset: str | None = None,
    exposure: str | None = None,
    nagq: int = 1,
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    sigma_ci: Literal["wald", "profile"] = "wald",
) -> MixedResult:
    """Random-intercept Poisson regression (R ``glmer(..., family = poisson, nAGQ)``).

    Parameters
    ----------
    frame, covariates, group, nagq, reference, conf_level, sigma_ci
        As :func:`mixed_logistic`.
    outcome
        Count column (non-negative whole numbers).
    offset
        Column added to the linear predictor as is (R ``offset(log(pyears))``: give the log).
    exposure
        Column of person-time (positive); its log is the offset. Not with ``offset``.

    Returns
    -------
    MixedResult
        Rate ratios, sigma, median rate ratio and empirical-Bayes predictions (``icc`` is
        ``None``: the latent-scale ICC is defined for the logit model).

    Examples
    --------
    >>> d = pl.DataFrame({"m": ["a", "a", "b", "b", "c", "c"], "adm": [4, 6, 1, 2, 9, 7],
    ...                   "pyears": [10.0, 12, 9, 11, 10, 9], "after": [0, 1, 0, 1, 0, 1]})
    >>> res = mixed_poisson(d, "adm", ["after"], "m", exposure="pyears")
    >>> res.measure, res.icc is None
    ('RR', True)
    """
    if offset is not None and exposure is not None:
        raise ValueError("give either offset (log scale) or exposure (person-time), not both")
    return _fit(
        "mixed Poisson",
        frame,
        outcome,
        covariates,
        group,
        family="poisson",
        trials=None,
        offset_col=offset if offset is not None else exposure,
        log_offset=exposure is not None,
        nagq=nagq,
        reference=reference,
        conf_level=conf_level,
        sigma_ci=sigma_ci,
    )
