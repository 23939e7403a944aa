"""The generalised linear model core of paleval's regression models: families with their
links, iteratively reweighted least squares with R ``glm.fit`` semantics, and HC0 and
cluster-robust sandwich covariances (R ``sandwich``). Public names inside this private module;
the models are :mod:`paleval.stats.regression`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import sparse

from paleval.stats._design import term_frame
from paleval.stats._errors import ConvergenceError

WeightType = Literal["frequency", "prior"]


@dataclass(frozen=True)
class Family:
    """An exponential family and its link (R ``family`` objects): ``binomial`` with ``logit``
    or ``log``, ``poisson`` with ``log``, ``gaussian`` with ``identity``, and ``negbin``
    (negative binomial NB2, variance ``mu + mu^2 / theta``, R ``MASS::negative.binomial``)
    with ``log`` and a fixed ``theta``.

    Examples
    --------
    >>> Family("binomial", "logit").linkinv(np.array([0.0]))
    array([0.5])
    """

    name: str
    link: str
    theta: float = float("inf")  # negbin only: the NB2 shape parameter

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return 1.0 / (1.0 + np.exp(-eta))
        if self.link == "log":
            return np.exp(eta)
        return eta

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return np.log(mu / (1 - mu))
        if self.link == "log":
            return np.log(mu)
        return mu

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            e = np.exp(-np.abs(eta))
            return e / (1 + e) ** 2
        if self.link == "log":
            return np.exp(eta)
        return np.ones_like(eta)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return mu * (1 - mu)
        if self.name == "poisson":
            return mu
        if self.name == "negbin":
            return mu + mu**2 / self.theta
        return np.ones_like(mu)

    def valid(self, mu: np.ndarray) -> bool:
        if not np.all(np.isfinite(mu)):
            return False
        if self.name == "binomial":
            return bool(np.all((mu > 0) & (mu < 1)))
        if self.name in ("poisson", "negbin"):
            return bool(np.all(mu > 0))
        return True

    def mustart(self, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return (w * y + 0.5) / (w + 1)
        if self.name == "poisson":
            return y + 0.1
        if self.name == "negbin":
            return y + (y == 0) / 6
        return y.astype(float)

    def deviance(self, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.name == "binomial":
                t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
                t2 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
                return float(2 * np.sum(w * (t1 + t2)))
            if self.name == "poisson":
                t = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
                return float(2 * np.sum(w * t))
            if self.name == "negbin":
                th = self.theta
                t = np.where(y > 0, y * np.log(y / mu), 0.0)
                t = t - (y + th) * np.log((y + th) / (mu + th))
                return float(2 * np.sum(w * t))
        return float(np.sum(w * (y - mu) ** 2))


@dataclass
class GLMFit:
    """The converged IRLS state: coefficients, fitted values and the unscaled covariance."""

    coef: np.ndarray
    mu: np.ndarray
    eta: np.ndarray
    converged: bool
    iterations: int
    deviance: float
    bread: np.ndarray  # (X'WX)^-1, R's cov.unscaled
    dispersion: float


def irls(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    family: Family,
    start: np.ndarray | None = None,
    tol: float = 1e-12,
    maxit: int = 100,
    offset: np.ndarray | None = None,
) -> GLMFit:
    """Iteratively reweighted least squares with R ``glm.fit`` semantics.

    ``offset`` (one value per row, on the linear-predictor scale, e.g. log person-time) is
    added to ``X @ coef`` as R ``glm(..., offset = )``; ``eta`` in the result includes it.
    """
    p = X.shape[1]
    off = np.zeros(X.shape[0]) if offset is None else np.asarray(offset, dtype=float)
    if start is None:
        eta = family.linkfun(family.mustart(y, w))
        coefold = None
    else:
        coefold = np.asarray(start, dtype=float)
        if coefold.shape != (p,):
            raise ValueError(f"start must have length {p}")
        eta = X @ coefold + off
    mu = family.linkinv(eta)
    if not family.valid(mu):
        raise ConvergenceError(
            "starting values give fitted values outside the valid range; supply `start`"
        )
    devold = family.deviance(y, mu, w)
    conv = False
    coef = coefold
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007
        mueta = family.mu_eta(eta)
        good = (w > 0) & (mueta != 0)
        var = family.variance(mu)
        rows = slice(None) if good.all() else good  # usually all: views, not copies
        with np.errstate(over="ignore", invalid="ignore"):
            z = eta[rows] - off[rows] + (y[rows] - mu[rows]) / mueta[rows]
            wz = np.sqrt(w[rows] * mueta[rows] ** 2 / var[rows])
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(wz))):
            # the linear predictor has run off to where the working weights overflow: the
            # fit diverges (separation), and a least-squares step would fail inside LAPACK
            raise ConvergenceError(
                "IRLS diverged (working weights not finite; complete or quasi-complete "
                "separation, e.g. a level of a predictor with no events)"
            )
        start_new = weighted_lstsq(X[rows] * wz[:, None], z * wz)
        eta = X @ start_new + off
        mu = family.linkinv(eta)
        dev = family.deviance(y, mu, w)
        halvings = 0
        while not (np.isfinite(dev) and family.valid(mu)):
            if coefold is None:
                raise ConvergenceError(
                    "no valid set of coefficients found (fitted values outside the valid "
                    "range at the first iteration); supply starting values via `start`"
                )
            halvings += 1
            if halvings > 60:
                raise ConvergenceError("step halving failed to find valid fitted values")
            start_new = (start_new + coefold) / 2
            eta = X @ start_new + off
            mu = family.linkinv(eta)
            dev = family.deviance(y, mu, w)
        small_step = coefold is not None and np.max(np.abs(start_new - coefold)) < 1e-8
        if abs(dev - devold) / (abs(dev) + 0.1) < tol and small_step:
            conv = True
            coef = start_new
            break
        devold = dev
        coef = coefold = start_new
    assert coef is not None
    mueta = family.mu_eta(eta)
    W = w * mueta**2 / family.variance(mu)
    xtwx = X.T @ (X * W[:, None])
    bread = np.linalg.inv(xtwx)
    if family.name == "gaussian":
        dfres = np.sum(w > 0) - p
        dispersion = float(np.sum(w * (y - mu) ** 2) / dfres) if dfres > 0 else np.nan
    else:
        dispersion = 1.0
    return GLMFit(coef, mu, eta, conv, it, dev, bread, dispersion)


def weighted_lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares solution of ``a @ x = b`` for one IRLS step.

    Solved from the normal equations ``a'a x = a'b`` when ``a'a`` is well conditioned (one
    matrix product, about 10x faster than an SVD of ``a`` for a national cohort's 900,000
    rows), else by SVD (``lstsq``), as for collinear or badly scaled designs. The IRLS fixed
    point is the same; the coefficients agree with the SVD route to about 1e-9 relative.
    """
    ata = a.T @ a
    if np.linalg.cond(ata) < 1e10:
        return np.linalg.solve(ata, a.T @ b)
    return np.linalg.lstsq(a, b, rcond=None)[0]


def sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    w: np.ndarray,
    weight_type: WeightType,
    cluster: np.ndarray | None,
) -> np.ndarray:
    """HC0 or cluster-robust (``G/(G-1)``) sandwich from unweighted score rows ``u_i``.

    ``scores`` has one row per observation: the unweighted score contribution ``u_i``;
    the weighted contribution is ``w_i u_i``.
    """
    if cluster is not None:
        g = int(cluster.max()) + 1
        # per-cluster sums of the weighted score rows, as one sparse product (cluster x
        # observation, entries w_i): no n x k temporary, and ~20x faster than np.add.at
        n = scores.shape[0]
        sums = np.asarray(sparse.csr_matrix((w, (cluster, np.arange(n))), shape=(g, n)) @ scores)
        meat = sums.T @ sums * (g / (g - 1))
    elif weight_type == "frequency":
        meat = scores.T @ (scores * w[:, None])
    else:
        ws = scores * w[:, None]
        meat = ws.T @ ws
    return bread @ meat @ bread


def coefficient_text(table: pl.DataFrame) -> str:
    """A coefficient table as plain text for a result's ``summary()``: every row and numeric
    column, estimates to 4 decimals, p-values to 6 (``variable`` and ``level`` are left out:
    the term names them).

    Examples
    --------
    >>> t = pl.DataFrame({"term": ["x"], "estimate": [0.123456], "statistic": [2.0],
    ...                   "p_value": [0.0455003]})
    >>> print(coefficient_text(t).splitlines()[-2])
    │ x    ┆ 0.1235   ┆ 0.0455  │
    """
    tab = table.select(
        "term",
        pl.exclude("term", "variable", "level", "statistic", "p_value").round(4),
        pl.col("p_value").round(6),
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_width_chars=200):
        return str(tab)


def wald_table(
    terms: list[str],
    coef: np.ndarray,
    vcov: np.ndarray,
    conf_level: float,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, np.ndarray | list[str] | list[str | None]]:
    """Columns of a tidy coefficient table: ``term, variable, level`` (looked up in ``levels``
    by :func:`paleval.stats._design.term_frame`), ``estimate, std_error, statistic, p_value,
    conf_low, conf_high`` (Wald, normal quantiles, link scale) and ``ratio, ratio_low,
    ratio_high`` (exponentiated), as a dict for ``polars.DataFrame``.

    Examples
    --------
    >>> cols = wald_table(["(Intercept)", "g[b]"], np.zeros(2), np.eye(2), 0.95, {"g": ["a", "b"]})
    >>> cols["variable"], cols["level"]
    (['(Intercept)', 'g'], [None, 'b'])
    """
    from scipy import stats  # lazy: only the tables need it

    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    se = np.sqrt(np.diag(vcov))
    stat = coef / se
    low, high = coef - z * se, coef + z * se
    names = term_frame(terms, levels)
    with np.errstate(over="ignore"):
        return {
            "term": list(terms),
            "variable": names["variable"].to_list(),
            "level": names["level"].to_list(),
            "estimate": coef,
            "std_error": se,
            "statistic": stat,
            "p_value": 2 * stats.norm.sf(np.abs(stat)),
            "conf_low": low,
            "conf_high": high,
            "ratio": np.exp(coef),
            "ratio_low": np.exp(low),
            "ratio_high": np.exp(high),
        }
