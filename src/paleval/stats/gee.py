"""Generalised estimating equations (GEE) for clustered data, as R ``geepack::geeglm``.

:func:`gee` fits the marginal mean model ``g(E[y]) = X beta (+ offset)`` of a binomial
(logit), Poisson (log) or Gaussian (identity) outcome, with the working correlation within
a cluster ``independence``, ``exchangeable`` or ``ar1``, and returns the robust (sandwich)
covariance of Liang and Zeger (1986) and the model-based one.

Estimators (those of geepack 1.3, Halekoh, Hojsgaard and Yan 2006; read from its C++ source)
---------------------------------------------------------------------------------------
With Pearson residuals ``r = (y - mu) / sqrt(v(mu))``, alternated to a joint fixed point:

* ``beta``: one Fisher-scoring step of ``sum_i D_i' V_i^-1 (y_i - mu_i) = 0`` with
  ``V_i = phi A_i^1/2 R_i(alpha) A_i^1/2``, step halved while the means are invalid.
* The scale ``phi = sum r^2 / N`` (``N`` rows; **no** ``N - p`` correction), estimated for
  every family (geeglm's ``scale.fix = FALSE`` default, also for binomial and Poisson).
* ``exchangeable``: ``alpha = sum_i sum_{j<k} r_ij r_ik / (phi sum_i n_i (n_i - 1) / 2)``
  (no degrees-of-freedom correction).
* ``ar1``: ``corr(y_ij, y_ik) = alpha^|t_ij - t_ik|`` with ``t`` the ``order`` column
  (geeglm's ``waves``; by default the row's position within its cluster); ``alpha`` is the
  least-squares fit of ``alpha^d`` to the products ``r_ij r_ik / phi`` over **all** pairs
  within a cluster (lag ``d``), which geepack reaches by Gauss-Newton steps.
* Robust covariance ``B^-1 (sum_i U_i U_i') B^-1`` with ``B = sum_i D_i' V_i^-1 D_i`` and
  ``U_i = D_i' V_i^-1 (y_i - mu_i)``: no small-sample factor (geeglm ``std.err = "san.se"``,
  its default; not ``G / (G - 1)``). Model-based: ``B^-1`` (geepack's ``vbeta.naiv``).
* Starting values: the GLM fit under independence. Converged when the largest change in
  ``beta``, ``phi`` and ``alpha`` in one cycle is below ``tol`` (geepack: ``epsilon``).

Rows are grouped by cluster (geeglm needs them contiguous; here any order), sorted within
a cluster by ``order`` if given, else kept in their order. Only rows of clusters of two or
more enter ``alpha``.

Computation: ``V_i^-1`` is applied through a whitening transform (exchangeable: subtract a
multiple of the cluster mean; AR(1): the Prais-Winsten recursion with the gap ``d`` between
neighbours, ``rho = alpha^d``), so the cost is linear in the rows; the AR(1) lag sums come
from FFT autocorrelations of each cluster's residuals on its order grid.

References
----------
Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear models.
Biometrika 73:13-22.

Halekoh U, Hojsgaard S, Yan J (2006). The R package geepack for generalized estimating
equations. Journal of Statistical Software 15(2).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import optimize, sparse

from paleval.stats._design import build_design, offset_values
from paleval.stats._errors import NotEstimableError
from paleval.stats._glm import ConvergenceError, Family, coefficient_text, irls, wald_table

__all__ = ["GEEResult", "gee"]

CorStr = Literal["independence", "exchangeable", "ar1"]
_FAMILIES = {
    "binomial": (Family("binomial", "logit"), "binary"),
    "poisson": (Family("poisson", "log"), "count"),
    "gaussian": (Family("gaussian", "identity"), "continuous"),
}
_MAX_GRID = 50_000_000  # cells of the cluster x order grid of the AR(1) lag sums


@dataclass
class GEEResult:
    """A fitted GEE model.

    Attributes
    ----------
    table : polars.DataFrame
        ``term, estimate, std_error, statistic, p_value, conf_low, conf_high`` (robust SEs,
        link scale) and ``ratio, ratio_low, ratio_high`` (exponentiated: odds or rate
        ratios; not meaningful for the Gaussian family).
    params, vcov, vcov_naive : numpy.ndarray
        Coefficients, their robust (sandwich) and model-based covariance.
    alpha : float or None
        Working correlation parameter (``None`` for independence).
    scale : float
        The scale ``phi`` (``sum r^2 / N``).
    n_clusters, nobs, n_dropped, max_cluster_size : int
        Clusters, rows analysed, rows dropped for a missing value, largest cluster.

    Examples
    --------
    >>> d = pl.DataFrame({"y": [1.0, 2, 4, 3, 5, 7, 6, 8], "x": [1, 2, 3, 1, 2, 3, 1, 2],
    ...                   "id": [1, 1, 1, 2, 2, 2, 3, 3]})
    >>> res = gee(d, "y", ["x"], cluster="id", family="gaussian")
    >>> res.n_clusters, res.corstr
    (3, 'independence')
    """

    table: pl.DataFrame
    outcome: str
    family: str
    corstr: str
    terms: list[str]
    params: np.ndarray
    vcov: np.ndarray
    vcov_naive: np.ndarray
    alpha: float | None
    scale: float
    n_clusters: int
    max_cluster_size: int
    nobs: int
    n_dropped: int
    converged: bool
    iterations: int
    conf_level: float

    def summary(self) -> str:
        """Plain-text summary: model, clusters, correlation and the coefficient table.

        Examples
        --------
        >>> d = pl.DataFrame({"y": [1.0, 2, 4, 3, 5, 7, 6, 8], "x": [1, 2, 3, 1, 2, 3, 1, 2],
        ...                   "id": [1, 1, 1, 2, 2, 2, 3, 3]})
        >>> print(gee(d, "y", ["x"], cluster="id", family="gaussian").summary().splitlines()[0])
        GEE (gaussian, independence working correlation) of 'y'
        """
        alpha = "" if self.alpha is None else f"; alpha = {self.alpha:.4g}"
        lines = [
            f"GEE ({self.family}, {self.corstr} working correlation) of {self.outcome!r}",
            f"rows = {self.nobs} in {self.n_clusters} clusters (largest {self.max_cluster_size}); "
            f"{self.n_dropped} dropped for missing values",
            f"scale = {self.scale:.6g}{alpha}; robust (sandwich) standard errors",
            f"converged: {self.converged} ({self.iterations} iterations)",
            "",
        ]
        lines.append(coefficient_text(self.table))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<GEEResult {self.family} {self.corstr} outcome={self.outcome!r} "
            f"rows={self.nobs} clusters={self.n_clusters}>"
        )

    def _repr_html_(self) -> str:
        head = html.escape(
            f"GEE ({self.family}, {self.corstr}) of {self.outcome!r}; rows = {self.nobs}, "
            f"clusters = {self.n_clusters}"
        )
        return f"<p>{head}</p>" + self.table._repr_html_()


@dataclass
class _Clusters:
    """Rows sorted by cluster then order: cluster codes, sizes, starts and order values."""

    code: np.ndarray  # cluster index per row (sorted)
    sizes: np.ndarray
    first: np.ndarray  # True at the first row of a cluster
    wave: np.ndarray  # order value per row
    summer: sparse.csr_matrix  # cluster x row indicator, for cluster sums

    def sums(self, m: np.ndarray) -> np.ndarray:
        return np.asarray(self.summer @ m)


def _clusters(code: np.ndarray, wave: np.ndarray) -> _Clusters:
    n = code.size
    g = int(code.max()) + 1
    sizes = np.bincount(code, minlength=g)
    first = np.ones(n, dtype=bool)
    first[1:] = code[1:] != code[:-1]
    summer = sparse.csr_matrix((np.ones(n), (code, np.arange(n))), shape=(g, n))
    return _Clusters(code, sizes, first, wave, summer)


def _whiten(cl: _Clusters, corstr: str, alpha: float, m: np.ndarray) -> np.ndarray:
    """``L m`` with ``L' L = R^-1`` block by block (``m`` has one row per row of data)."""
    if corstr == "independence":
        return m
    if corstr == "exchangeable":
        n = cl.sizes.astype(float)
        c = alpha / (1 + (n - 1) * alpha)
        d = 1 - np.sqrt(1 - c * n)  # (I - d J/n)^2 = I - c J
        means = cl.sums(m) / n[:, None]
        return (m - (d[:, None] * means)[cl.code]) / np.sqrt(1 - alpha)
    gap = np.diff(cl.wave, prepend=cl.wave[0])
    if np.all(gap[~cl.first] == 1):  # consecutive order values: one rho
        rho = np.where(cl.first, 0.0, alpha)
    else:
        rho = np.where(cl.first, 0.0, alpha ** np.where(cl.first, 1.0, gap))
    out = np.empty_like(m)
    out[0] = m[0]
    np.multiply(rho[1:, None], m[:-1], out=out[1:])
    np.subtract(m[1:], out[1:], out=out[1:])
    out /= np.sqrt(1 - rho**2)[:, None]
    return out


def _alpha_exchangeable(cl: _Clusters, r: np.ndarray, phi: float) -> float:
    s = cl.sums(r[:, None])[:, 0]
    s2 = cl.sums((r**2)[:, None])[:, 0]
    pairs = float(np.sum(cl.sizes * (cl.sizes - 1)) / 2)
    if pairs == 0:
        raise NotEstimableError("no cluster has two or more rows: the correlation is not estimable")
    return float(np.sum(s**2 - s2) / 2 / phi / pairs)


def _lag_sums(cl: _Clusters, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``r_j r_k`` and counts of pairs at each lag ``d = 1, 2, ...`` (order units)."""
    start = np.minimum.reduceat(cl.wave, np.flatnonzero(cl.first))
    pos = (cl.wave - start[cl.code]).astype(np.int64)
    span = int(pos.max()) + 1
    g = cl.sizes.size
    if g * span > _MAX_GRID:
        raise ValueError(
            f"order column spans {span} values within a cluster: too sparse for the AR(1) "
            "working correlation (use consecutive integers such as visit numbers)"
        )
    nfft = int(2 ** np.ceil(np.log2(2 * span)))
    grid_r = np.zeros((g, span))
    grid_r[cl.code, pos] = r
    grid_1 = np.zeros((g, span))
    grid_1[cl.code, pos] = 1.0
    out = []
    for grid in (grid_r, grid_1):
        f = np.fft.rfft(grid, nfft, axis=1)
        ac = np.fft.irfft(f * np.conj(f), nfft, axis=1)[:, 1:span].sum(axis=0)
        out.append(ac)
    counts = np.rint(out[1])
    return np.where(counts > 0, out[0], 0.0), counts


def _alpha_ar1(cl: _Clusters, r: np.ndarray, phi: float, start: float) -> float:
    s, n = _lag_sums(cl, r / np.sqrt(phi))
    if n.sum() == 0:
        raise NotEstimableError("no cluster has two or more rows: the correlation is not estimable")
    d = np.arange(1, s.size + 1, dtype=float)
    keep = n > 0
    s, n, d = s[keep], n[keep], d[keep]

    def q(a: float) -> float:  # least-squares objective, up to a constant
        return float(np.sum(n * a ** (2 * d) - 2 * s * a**d))

    def pw(a: float, e: np.ndarray) -> np.ndarray:  # a^e, with 0 for negative powers
        return np.where(e >= 0, a ** np.maximum(e, 0), 0.0)

    def dq(a: float) -> tuple[float, float]:
        g = np.sum(2 * d * (n * pw(a, 2 * d - 1) - s * pw(a, d - 1)))
        h = np.sum(2 * d * (n * (2 * d - 1) * pw(a, 2 * d - 2) - s * (d - 1) * pw(a, d - 2)))
        return float(g), float(h)

    a = start
    for _ in range(50):  # Newton from the previous alpha, as geepack's Gauss-Newton steps
        g, h = dq(a)
        if not (h > 0 and np.isfinite(g)):
            break
        step = g / h
        a_new = a - step
        if not -1 < a_new < 1:
            break
        a = a_new
        if abs(step) < 1e-15:
            return a
    res = optimize.minimize_scalar(q, bounds=(-0.999999, 0.999999), method="bounded")
    return float(res.x)


def _prepare(
    data: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    cluster: str,
    family: str,
    order: str | None,
    offset: str | None,
    exposure: str | None,
    reference: Mapping[str, str] | None,
):
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {sorted(_FAMILIES)}, got {family!r}")
    if not isinstance(cluster, str):
        raise ValueError("cluster must name a column (the cluster identifier)")
    extra = [c for c in (order, offset, exposure) if c is not None]
    fam, kind = _FAMILIES[family]
    design, _ = build_design(
        data, outcome, covariates, cluster, None, reference, kind, extra_columns=extra
    )
    off, _ = offset_values(design.data, offset, exposure)
    code = design.cluster
    assert code is not None
    if order is None:
        wave = np.zeros(code.size)
    else:
        if not design.data.schema[order].is_numeric():
            raise ValueError(f"order column {order!r} must be numeric (integers)")
        wave = design.data[order].cast(pl.Float64).to_numpy()
        if np.any(wave != np.round(wave)):
            raise ValueError(f"order column {order!r} must hold whole numbers")
    idx = np.lexsort((wave, code))  # stable: by cluster, then order, else data order
    code, wave = code[idx], wave[idx]
    if order is None:
        first = np.ones(code.size, dtype=bool)
        first[1:] = code[1:] != code[:-1]
        starts = np.flatnonzero(first)
        wave = np.arange(code.size) - np.repeat(starts, np.diff(np.append(starts, code.size)))
        wave = wave.astype(float)
    else:
        dup = (code[1:] == code[:-1]) & (wave[1:] == wave[:-1])
        if dup.any():
            raise ValueError(
                f"order column {order!r}: {int(dup.sum())} row(s) repeat an order value "
                f"within their cluster of {cluster!r}"
            )
    off_sorted = None if off is None else off[idx]
    return design, fam, idx, _clusters(code, wave), off_sorted


def gee(
    data: pl.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    *,
    cluster: str,
    family: Literal["binomial", "poisson", "gaussian"] = "binomial",
    corstr: CorStr = "independence",
    order: str | None = None,
    offset: str | None = None,
    exposure: str | None = None,
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    tol: float = 1e-10,
    maxit: int = 100,
) -> GEEResult:
    """Generalised estimating equations with robust standard errors, as R ``geeglm``.

    Parameters
    ----------
    data
        One row per observation.
    outcome
        0/1 (binomial), a non-negative count (Poisson) or a number (Gaussian).
    covariates
        Predictor columns, coded as in :func:`paleval.stats.logistic`.
    cluster
        Column identifying the clusters (patients, practices, municipalities).
    family
        ``"binomial"`` (logit link), ``"poisson"`` (log) or ``"gaussian"`` (identity).
    corstr
        Working correlation: ``"independence"``, ``"exchangeable"`` or ``"ar1"``.
    order
        Whole-number column ordering the rows within a cluster (visit, month); AR(1)
        correlations decay with its differences (geeglm ``waves``). Default: data order.
    offset, exposure
        Log-scale offset column, or person-time column whose log is the offset (not both).
    reference
        Reference level per categorical covariate.
    conf_level
        Confidence level of the Wald intervals.
    tol, maxit
        Convergence tolerance on the largest change of ``beta``, ``phi``, ``alpha`` in one
        cycle, and the cycle limit.

    Returns
    -------
    GEEResult
        See the module docstring for the estimators (they are geepack's).

    Examples
    --------
    >>> d = pl.DataFrame({
    ...     "y": [0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0],
    ...     "x": [0.0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    ...     "id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ... })
    >>> res = gee(d, "y", ["x"], cluster="id", corstr="exchangeable")
    >>> round(res.alpha, 4), [round(float(b), 4) for b in res.params]
    (-0.3275, [-0.5191, 0.5108])
    """
    if corstr not in ("independence", "exchangeable", "ar1"):
        raise ValueError(f"corstr must be 'independence', 'exchangeable' or 'ar1', got {corstr!r}")
    design, fam, idx, cl, off = _prepare(
        data, outcome, covariates, cluster, family, order, offset, exposure, reference
    )
    X, y = design.X[idx], design.y[idx]
    offv = np.zeros(y.size) if off is None else off
    beta = irls(X, y, np.ones(y.size), fam, offset=off, maxit=maxit).coef
    alpha = 0.0
    phi = 1.0
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007
        beta, dbeta = _beta_step(X, y, offv, fam, cl, corstr, alpha, beta)
        mu = fam.linkinv(X @ beta + offv)
        r = (y - mu) / np.sqrt(fam.variance(mu))
        phi_new = float(np.mean(r**2))
        a_new = alpha
        if corstr == "exchangeable":
            a_new = _alpha_exchangeable(cl, r, phi_new)
        elif corstr == "ar1":
            a_new = _alpha_ar1(cl, r, phi_new, alpha)
        if not -1 < a_new < 1:
            raise ConvergenceError(f"working correlation alpha = {a_new:.4g} left (-1, 1)")
        delta = max(dbeta, abs(phi_new - phi), abs(a_new - alpha))
        phi, alpha = phi_new, a_new
        if delta <= tol:
            converged = True
            break
    if not converged:
        raise ConvergenceError(f"GEE did not converge in {maxit} iterations")
    vcov, naive = _covariances(X, y, offv, fam, cl, corstr, alpha, phi, beta)
    terms = design.coding.terms
    return GEEResult(
        table=pl.DataFrame(wald_table(terms, beta, vcov, conf_level, design.coding.levels)),
        outcome=outcome,
        family=family,
        corstr=corstr,
        terms=terms,
        params=beta,
        vcov=vcov,
        vcov_naive=naive,
        alpha=None if corstr == "independence" else alpha,
        scale=phi,
        n_clusters=int(cl.sizes.size),
        max_cluster_size=int(cl.sizes.max()),
        nobs=int(y.size),
        n_dropped=design.n_dropped,
        converged=converged,
        iterations=it,
        conf_level=conf_level,
    )


def _standardised(X, y, off, fam, beta):
    eta = X @ beta + off
    mu = fam.linkinv(eta)
    sd = np.sqrt(fam.variance(mu))
    return X * (fam.mu_eta(eta) / sd)[:, None], (y - mu) / sd


def _beta_step(X, y, off, fam, cl, corstr, alpha, beta):
    """One Fisher-scoring step of the estimating equations (phi cancels), step halved while
    the fitted means leave the family's valid range (as geepack)."""
    D, r = _standardised(X, y, off, fam, beta)
    both = _whiten(cl, corstr, alpha, np.column_stack([D, r]))
    Dw, rw = both[:, :-1], both[:, -1]
    step = np.linalg.solve(Dw.T @ Dw, Dw.T @ rw)
    for _ in range(60):
        new = beta + step
        if fam.valid(fam.linkinv(X @ new + off)):
            return new, float(np.max(np.abs(step)))
        step = step / 2
    raise ConvergenceError("step halving failed to find valid fitted means")


def _covariances(X, y, off, fam, cl, corstr, alpha, phi, beta):
    D, r = _standardised(X, y, off, fam, beta)
    both = _whiten(cl, corstr, alpha, np.column_stack([D, r]))
    Dw, rw = both[:, :-1], both[:, -1]
    naive = np.linalg.inv(Dw.T @ Dw / phi)
    U = cl.sums(Dw * (rw / phi)[:, None])
    return naive @ (U.T @ U) @ naive, naive
