"""Count models: negative binomial (NB2) regression with a log link and person-time offsets.

:func:`negative_binomial` fits the model of R ``MASS::glm.nb``: the variance is
``mu + mu^2 / theta``; the coefficients are fitted by IRLS (:mod:`paleval.stats._glm`, R
``glm.fit`` semantics) at a fixed ``theta``, alternating with the maximum-likelihood
``theta`` (Newton-Raphson on its score, R ``MASS::theta.ml``) until both settle. The fit
starts, as ``glm.nb``, from a Poisson fit and ``theta`` from its moment estimate
``n / sum((y / mu - 1)^2)``.

* Coefficient standard errors are R ``summary(glm.nb)``'s: the inverse expected
  information of the coefficients at the final ``theta`` (dispersion 1).
* The standard error of ``theta`` is ``1 / sqrt(I(theta))``, the observed information of
  ``theta`` at the fitted means (R ``fit$SE.theta``; R evaluates it one Newton step before
  its final ``theta``, paleval at the final one: they agree to about 1e-5 relative).
* ``loglik`` is the full NB log-likelihood (R ``logLik(fit)``; ``aic`` counts ``theta`` as
  a parameter, as R).
* Convergence: the relative change in ``theta`` below 1e-10 and the IRLS criterion of
  :func:`paleval.stats.glm` at each ``theta`` (stricter than ``glm.nb``'s default
  ``epsilon = 1e-8``).

References
----------
Venables WN, Ripley BD (2002). Modern Applied Statistics with S, 4th ed., section 7.4.
Springer. (``MASS::glm.nb``, ``MASS::theta.ml``.)
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from paleval.stats._design import build_design, offset_values
from paleval.stats._glm import ConvergenceError, Family, GLMFit, coefficient_text, irls, wald_table

__all__ = ["NegativeBinomialResult", "fit_negbin", "negative_binomial"]


@dataclass
class NegativeBinomialResult:
    """A fitted negative binomial (NB2, log link) regression.

    Attributes
    ----------
    table : polars.DataFrame
        ``term, estimate, std_error, statistic, p_value, conf_low, conf_high`` (log scale,
        Wald) and ``ratio, ratio_low, ratio_high`` (rate ratios).
    theta, theta_se : float
        The shape parameter (variance ``mu + mu^2 / theta``) and its standard error.
    loglik, aic, deviance : float
        Log-likelihood, AIC (``theta`` counted) and residual deviance at ``theta``.
    params, vcov : numpy.ndarray
        Coefficients and their covariance (order of ``terms``).
    fitted : numpy.ndarray
        Fitted means of the analysed rows.
    nobs, n_dropped : int
        Rows analysed, and rows dropped for a missing value in a used column.

    Examples
    --------
    >>> d = pl.DataFrame({"y": [0, 2, 1, 5, 0, 7, 3, 9], "x": [0, 0, 0, 0, 1, 1, 1, 1]})
    >>> res = negative_binomial(d, "y", ["x"])
    >>> round(res.table.filter(pl.col("term") == "x")["ratio"].item(), 4)
    2.375
    """

    table: pl.DataFrame
    outcome: str
    terms: list[str]
    params: np.ndarray
    vcov: np.ndarray
    theta: float
    theta_se: float
    loglik: float
    aic: float
    deviance: float
    fitted: np.ndarray
    nobs: int
    n_dropped: int
    offset: str | None
    converged: bool
    iterations: int
    conf_level: float

    def summary(self) -> str:
        """Plain-text summary: sample, theta, log-likelihood and the coefficient table.

        Examples
        --------
        >>> d = pl.DataFrame({"y": [0, 2, 1, 5, 0, 7, 3, 9], "x": [0, 0, 0, 0, 1, 1, 1, 1]})
        >>> print(negative_binomial(d, "y", ["x"]).summary().splitlines()[0])
        negative binomial (NB2, log link) regression of 'y'
        """
        lines = [
            f"negative binomial (NB2, log link) regression of {self.outcome!r}",
            f"rows = {self.nobs} ({self.n_dropped} dropped for missing values); "
            f"offset: {self.offset or 'none'}",
            f"theta = {self.theta:.6g} (SE {self.theta_se:.4g}); log-likelihood = "
            f"{self.loglik:.6g}; AIC = {self.aic:.6g}",
            f"converged: {self.converged} ({self.iterations} alternations)",
            "",
        ]
        lines.append(coefficient_text(self.table))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<NegativeBinomialResult outcome={self.outcome!r} rows={self.nobs} "
            f"theta={self.theta:.4g}>"
        )

    def _repr_html_(self) -> str:
        head = html.escape(
            f"negative binomial regression of {self.outcome!r}; rows = {self.nobs}, "
            f"theta = {self.theta:.4g} (SE {self.theta_se:.3g})"
        )
        return f"<p>{head}</p>" + self.table._repr_html_()


def nb_loglik(y: np.ndarray, mu: np.ndarray, theta: float, w: np.ndarray) -> float:
    """The NB2 log-likelihood (R ``glm.nb``'s ``loglik``).

    Examples
    --------
    >>> round(nb_loglik(np.array([0.0, 3.0]), np.array([1.0, 2.0]), 2.0, np.ones(2)), 6)
    -2.890372
    """
    th = theta
    ll = (
        special.gammaln(th + y)
        - special.gammaln(th)
        - special.gammaln(y + 1)
        + th * np.log(th)
        + y * np.log(mu + (y == 0))
        - (th + y) * np.log(th + mu)
    )
    return float(np.sum(w * ll))


def theta_ml(
    y: np.ndarray,
    mu: np.ndarray,
    w: np.ndarray,
    maxit: int = 100,
    tol: float = 1e-12,
    start: float | None = None,
) -> tuple[float, float]:
    """The ML ``theta`` of an NB2 model at fixed means, and its SE (R ``MASS::theta.ml``).

    Newton-Raphson from ``start`` (default the moment estimate
    ``sum(w) / sum(w (y / mu - 1)^2)``, as R); the SE is ``1 / sqrt(information)`` at the
    returned ``theta``. The digamma and trigamma terms, which depend on ``y`` only, are
    summed over the distinct outcome values (exact, and fast for counts).

    Examples
    --------
    >>> y = np.array([0.0, 1, 4, 0, 9, 2]); mu = np.full(6, y.mean())
    >>> round(theta_ml(y, mu, np.ones(6))[0], 4)
    0.7442
    """
    yu, inv = np.unique(y, return_inverse=True)
    wu = np.bincount(inv.ravel(), weights=w, minlength=yu.size)
    sw = float(np.sum(w))

    def score(th: float) -> float:
        g = np.sum(wu * special.digamma(th + yu)) - sw * special.digamma(th)
        rest = np.sum(w * (np.log(th) + 1 - np.log(th + mu) - (y + th) / (mu + th)))
        return float(g + rest)

    def info(th: float) -> float:
        g = -np.sum(wu * special.polygamma(1, th + yu)) + sw * special.polygamma(1, th)
        rest = np.sum(w * (-1 / th + 2 / (mu + th) - (y + th) / (mu + th) ** 2))
        return float(g + rest)

    t0 = float(sw / np.sum(w * (y / mu - 1) ** 2)) if start is None else float(start)
    for _ in range(maxit):
        t0 = abs(t0)
        delta = score(t0) / info(t0)
        t0 = t0 + delta
        if not np.isfinite(t0) or t0 > 1e8:
            raise ConvergenceError(
                "theta diverges to infinity: no overdispersion relative to the Poisson "
                "model; fit a Poisson model (paleval.stats.glm(family='poisson')) instead"
            )
        if abs(delta) <= tol * max(1.0, abs(t0)):
            break
    else:
        raise ConvergenceError(
            f"theta did not converge in {maxit} Newton steps (last value {t0:.4g}); a theta "
            "growing without bound means no overdispersion relative to the Poisson model: "
            "fit a Poisson model (paleval.stats.glm(family='poisson')) instead"
        )
    if t0 <= 0:
        raise ConvergenceError("the ML theta is not positive")
    return t0, float(1 / np.sqrt(info(t0)))


def negative_binomial(
    data: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    *,
    offset: str | None = None,
    exposure: str | None = None,
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    maxit: int = 100,
) -> NegativeBinomialResult:
    """Negative binomial (NB2) regression with a log link, as R ``MASS::glm.nb``.

    Parameters
    ----------
    data
        One row per unit (person, region-month, ...).
    outcome
        Column with non-negative counts.
    covariates
        Predictor columns; String/Categorical/Enum columns are dummy coded against their
        first level (or ``reference``), as in :func:`paleval.stats.logistic`.
    offset
        Column added to the linear predictor as is (already on the log scale, e.g. log
        person-years), as R ``offset(...)``.
    exposure
        Column of person-time (> 0), whose log is the offset; give ``offset`` or
        ``exposure``, not both.
    reference
        Reference level per categorical covariate.
    conf_level
        Confidence level of the Wald intervals.
    maxit
        Limit on the alternations between the coefficients and ``theta`` (and on the IRLS
        iterations of each).

    Returns
    -------
    NegativeBinomialResult
        Coefficients with rate ratios, ``theta`` and its SE, log-likelihood and AIC. Rows
        with a missing value in a used column are dropped (``n_dropped``).

    Examples
    --------
    >>> d = pl.DataFrame({
    ...     "y": [0, 2, 1, 9, 0, 14, 3, 0, 4, 1],
    ...     "group": ["a", "a", "a", "a", "a", "b", "b", "b", "b", "b"],
    ...     "years": [1.0, 2, 1, 3, 1, 2, 1, 3, 2, 1],
    ... })
    >>> res = negative_binomial(d, "y", ["group"], exposure="years")
    >>> res.terms
    ['(Intercept)', 'group[b]']
    >>> round(res.theta, 3), round(float(res.params[1]), 4)
    (1.05, 0.8082)
    """
    extra = [c for c in (offset, exposure) if c is not None]
    design, _ = build_design(
        data, outcome, covariates, None, None, reference, "count", extra_columns=extra
    )
    off, off_col = offset_values(design.data, offset, exposure)
    y, w = design.y, design.w
    fit, theta, theta_se, it = fit_negbin(design.X, y, w, off, maxit)
    terms = design.coding.terms
    vcov = fit.bread
    ll = nb_loglik(y, fit.mu, theta, w)
    return NegativeBinomialResult(
        table=pl.DataFrame(wald_table(terms, fit.coef, vcov, conf_level, design.coding.levels)),
        outcome=outcome,
        terms=terms,
        params=fit.coef,
        vcov=vcov,
        theta=theta,
        theta_se=theta_se,
        loglik=ll,
        aic=-2 * ll + 2 * (len(terms) + 1),
        deviance=fit.deviance,
        fitted=fit.mu,
        nobs=int(y.size),
        n_dropped=design.n_dropped,
        offset=off_col,
        converged=True,
        iterations=it,
        conf_level=conf_level,
    )


def fit_negbin(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, offset: np.ndarray | None, maxit: int = 100
) -> tuple[GLMFit, float, float, int]:
    """The NB2 fit on a design matrix: the IRLS state at the final ``theta``, ``theta``, its
    SE and the number of alternations (see :func:`negative_binomial`).

    Examples
    --------
    >>> X = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    >>> y = np.array([0.0, 2, 1, 5, 0, 7, 3, 9])
    >>> fit, theta, se, it = fit_negbin(X, y, np.ones(8), None)
    >>> [round(float(v), 4) for v in np.exp(fit.coef)]
    [2.0, 2.375]
    """
    fit = irls(X, y, w, Family("poisson", "log"), maxit=maxit, offset=offset)
    theta, _ = theta_ml(y, fit.mu, w, maxit=maxit)
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007
        nb = Family("negbin", "log", theta)
        fit = irls(X, y, w, nb, start=fit.coef, maxit=maxit, offset=offset)
        new, _ = theta_ml(y, fit.mu, w, maxit=maxit, start=theta)
        change = abs(new - theta) / theta
        theta = new
        if change < 1e-10:
            converged = True
            break
    nb = Family("negbin", "log", theta)
    fit = irls(X, y, w, nb, start=fit.coef, maxit=maxit, offset=offset)
    if not (converged and fit.converged):
        raise ConvergenceError(f"negative binomial fit did not converge in {maxit} alternations")
    return fit, theta, theta_ml(y, fit.mu, w, maxit=maxit, start=theta)[1], it
