"""Regression models for binary and nominal outcomes with a formula-free API.

Models
------
* :func:`logistic` — binomial GLM, logit link (odds ratios, ``measure="OR"``).
* :func:`modified_poisson` — Poisson GLM, log link, on a binary outcome with robust
  sandwich standard errors (prevalence/risk ratios, ``measure="PR"``; Zou 2004).
* :func:`log_binomial` — binomial GLM, log link (risk ratios, ``measure="RR"``).
* :func:`multinomial` — multinomial logit (relative risk ratios, ``measure="RRR"``).
* :func:`marginal_risks` — standardised (g-computation) risks per exposure level with
  risk differences and ratios and delta-method standard errors.

Conventions
-----------
* Predictors of type String, Categorical or Enum are dummy coded against a reference
  level: the first level (Enum: category order; otherwise sorted) unless given in
  ``reference={"column": "level"}``. Dummy terms are named ``column[level]``, the
  intercept ``(Intercept)``. Boolean columns are coded 0/1, numeric columns enter as is.
* Rows with a missing value (null, or NaN in float columns) in any used column
  (outcome, predictors, cluster, weights) are dropped; the count is reported as
  ``n_dropped`` on the result and in ``summary()``.
* GLMs are fitted by iteratively reweighted least squares mirroring R's ``glm.fit``
  (same starting values, step halving when the deviance is not finite or fitted values
  leave the valid range), converged when the relative deviance change is < 1e-12 and no
  coefficient changes by more than 1e-8 (stricter than R's default ``epsilon = 1e-8``).
  Model-based covariance is R's ``vcov(glm)`` (inverse expected information).
* ``robust=True`` gives the HC0 sandwich ``A B A`` (``A`` the model-based covariance,
  ``B`` the sum of outer products of the score contributions), identical to R
  ``sandwich::vcovHC(fit, type = "HC0")``.
* ``cluster="id"`` gives the cluster-robust sandwich with score contributions summed
  within clusters and the small-sample factor ``G/(G - 1)`` (``G`` clusters) and no
  further adjustment, identical to R
  ``sandwich::vcovCL(fit, cluster = ~id, type = "HC0")`` (whose default
  ``cadjust = TRUE`` applies ``G/(G - 1)``).
* ``weights="w"``: non-negative case weights entering the likelihood as R
  ``glm(..., weights = w)`` (estimates and model-based SEs are identical for either
  interpretation). ``weight_type="frequency"`` (default) treats row ``i`` as ``w_i``
  identical independent individuals: ``n = sum(w)`` and the HC0 meat is
  ``sum_i w_i u_i u_i'`` (= HC0 on the expanded data). ``weight_type="prior"`` treats a
  row as one unit with weight ``w_i``: ``n`` = number of rows and the meat is
  ``sum_i (w_i u_i)(w_i u_i)'``, as R ``vcovHC`` on the weighted fit. Cluster-robust
  SEs are the same for both.
* Confidence intervals are Wald intervals, ``estimate +/- z SE`` on the link scale
  (R ``confint.default``), exponentiated for the ``ratio`` columns; p-values are from
  the normal (z) distribution.

References
----------
Zou G (2004). A modified Poisson regression approach to prospective studies with binary
data. American Journal of Epidemiology 159:702-706.

Wacholder S (1986). Binomial regression in GLIM: estimating risk ratios and risk
differences. American Journal of Epidemiology 123:174-184.

Zeileis A, Koell S, Graham N (2020). Various versatile variances: an object-oriented
implementation of clustered covariances in R. Journal of Statistical Software 95(1).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats._design import Design, OutcomeKind, build_design, with_term_columns
from paleval.stats._errors import ConvergenceError, NotEstimableError, SeparationError
from paleval.stats._glm import Family, WeightType, irls, sandwich

__all__ = [
    "ConvergenceError",
    "RegressionResult",
    "glm",
    "log_binomial",
    "logistic",
    "marginal_risks",
    "modified_poisson",
    "multinomial",
]


# ---------------------------------------------------------------------------------------
# result class
# ---------------------------------------------------------------------------------------


@dataclass
class RegressionResult:
    """Fitted regression model with a tidy coefficient table.

    Attributes
    ----------
    table : polars.DataFrame
        One row per coefficient: ``term, estimate, std_error, statistic, p_value,
        conf_low, conf_high`` on the link scale, ``ratio, ratio_low, ratio_high``
        (exponentiated; the measure is given by ``measure``), and the counts behind each
        term ``n`` and ``events`` (for a dummy term: the individuals at that level and
        their events; otherwise the whole analysis sample). Multinomial models have a
        leading ``y_level`` column (the outcome category compared with the reference).
    measure : str
        ``"OR"`` (logistic), ``"PR"`` (modified Poisson), ``"RR"`` (log-binomial) or
        ``"RRR"`` (multinomial relative risk ratio).
    model : str
        Model name.
    n : float
        Individuals analysed (sum of frequency weights when ``weight_type="frequency"``).
    nobs : int
        Rows analysed.
    n_events : float or dict
        Events (weighted); for multinomial models a dict of counts per outcome level.
    n_clusters : int or None
        Number of clusters when ``cluster`` was given.
    n_dropped : int
        Rows dropped because of missing values in a used column.
    params, vcov : numpy.ndarray
        Coefficients and their covariance matrix (order of ``terms``).
    terms : list of str
        Row labels of ``params`` (multinomial: ``"<y_level>:<term>"``).
    vcov_type : str
        ``"model"``, ``"HC0"`` or ``"CL-HC0"`` (cluster-robust with ``G/(G-1)``).

    Examples
    --------
    >>> d = pl.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1, 0], "x": [0, 0, 0, 1, 1, 1, 1, 0]})
    >>> res = logistic(d, "y", ["x"])
    >>> res.measure, res.n, res.n_events
    ('OR', 8, 4)
    >>> round(res.table.filter(pl.col("term") == "x")["ratio"].item(), 4)
    9.0
    """

    table: pl.DataFrame
    measure: str
    model: str
    outcome: str
    n: float
    nobs: int
    n_events: Any
    n_clusters: int | None
    n_dropped: int
    params: np.ndarray
    vcov: np.ndarray
    terms: list[str]
    vcov_type: str
    conf_level: float
    converged: bool
    iterations: int
    deviance: float
    _design: Design | None = field(default=None, repr=False)
    _family: Family | None = field(default=None, repr=False)

    def summary(self) -> str:
        """Plain-text summary: model, sample, covariance type and the coefficient table.

        Examples
        --------
        >>> d = pl.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1, 0], "x": [0, 0, 0, 1, 1, 1, 1, 0]})
        >>> print(logistic(d, "y", ["x"]).summary().splitlines()[0])
        logistic regression of 'y' (measure: OR)
        """
        lines = [
            f"{self.model} regression of {self.outcome!r} (measure: {self.measure})",
            f"n = {self.n:g} ({self.nobs} rows; {self.n_dropped} dropped for missing values)",
            f"events = {self.n_events}",
            f"standard errors: {self.vcov_type}"
            + (f" ({self.n_clusters} clusters)" if self.n_clusters else ""),
            f"converged: {self.converged} ({self.iterations} iterations); "
            f"deviance = {self.deviance:.6g}",
            "",
        ]
        cols = [c for c in ("y_level", "term") if c in self.table.columns]
        tab = self.table.select(
            *cols,
            pl.col("estimate", "std_error", "ratio", "ratio_low", "ratio_high").round(4),
            pl.col("p_value").map_elements(lambda v: f"{v:.3g}", return_dtype=pl.String),
        )
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            tbl_width_chars=200,
        ):
            lines.append(str(tab))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<RegressionResult {self.model} ({self.measure}) outcome={self.outcome!r} "
            f"n={self.n:g} n_events={self.n_events} n_dropped={self.n_dropped} "
            f"vcov={self.vcov_type}>\n{self.summary()}"
        )

    def _repr_html_(self) -> str:
        head = html.escape(
            f"{self.model} regression of {self.outcome!r} ({self.measure}); n = {self.n:g}, "
            f"events = {self.n_events}, dropped = {self.n_dropped}, SE: {self.vcov_type}"
        )
        return f"<p>{head}</p>" + self.table._repr_html_()

    def plot(self, ax: Any = None, include_intercept: bool = False) -> Any:
        """Forest plot of the ratios with confidence intervals (log x axis).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; a new figure is created if ``None``.
        include_intercept
            Also draw the intercept row.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> d = pl.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1, 0], "x": [0, 0, 0, 1, 1, 1, 1, 0]})
        >>> ax = logistic(d, "y", ["x"]).plot()
        >>> ax.get_xlabel()
        'OR (95% CI)'
        """
        import matplotlib.pyplot as plt  # lazy import

        tab = self.table
        if not include_intercept:
            tab = tab.filter(pl.col("term") != "(Intercept)")
        labels = tab["term"].to_list()
        if "y_level" in tab.columns:
            labels = [f"{a}: {b}" for a, b in zip(tab["y_level"], labels, strict=True)]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * max(len(labels), 1) + 1))
        ypos = np.arange(len(labels))[::-1]
        r = tab["ratio"].to_numpy()
        lo = tab["ratio_low"].to_numpy()
        hi = tab["ratio_high"].to_numpy()
        ax.errorbar(r, ypos, xerr=[r - lo, hi - r], fmt="o", color="black", capsize=3)
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(ypos)
        ax.set_yticklabels(labels)
        ax.set_xlabel(f"{self.measure} ({100 * self.conf_level:g}% CI)")
        return ax


def _term_counts(design: Design, y_event: np.ndarray, weight_type: WeightType):
    """n and events per column of the design (dummy: at that level; else all)."""
    w = design.w if (design.weighted and weight_type == "frequency") else np.ones_like(design.w)
    X = design.X
    is_dummy = design.coding.dummy_mask()
    n_all = float(np.sum(w))
    e_all = float(np.sum(w * y_event))
    n_term = np.where(is_dummy, (X * w[:, None]).sum(axis=0), n_all)
    e_term = np.where(is_dummy, (X * (w * y_event)[:, None]).sum(axis=0), e_all)
    return n_term, e_term, n_all, e_all


def _table(
    terms: Sequence[str],
    coef: np.ndarray,
    vcov: np.ndarray,
    conf_level: float,
    n_term: np.ndarray,
    e_term: np.ndarray,
    levels: Mapping[str, Sequence[str]],
    extra: dict[str, list[str]] | None = None,
) -> pl.DataFrame:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    se = np.sqrt(np.diag(vcov))
    stat = coef / se
    low, high = coef - z * se, coef + z * se
    cols: dict[str, Any] = dict(extra or {})
    cols.update(
        term=list(terms),
        estimate=coef,
        std_error=se,
        statistic=stat,
        p_value=2 * stats.norm.sf(np.abs(stat)),
        conf_low=low,
        conf_high=high,
        ratio=np.exp(coef),
        ratio_low=np.exp(low),
        ratio_high=np.exp(high),
        n=n_term,
        events=e_term,
    )
    return with_term_columns(pl.DataFrame(cols), levels)


@dataclass(frozen=True)
class _Spec:
    """What a regression call asks for, shared by the GLM-type models (one argument list)."""

    data: pl.DataFrame
    outcome: str
    exposures: Sequence[str]
    covariates: Sequence[str]
    cluster: str | None
    weights: str | None
    weight_type: WeightType
    reference: Mapping[str, str] | None


def _fit_binary(
    model: str,
    family: Family,
    measure: str,
    spec: _Spec,
    *,
    robust: bool,
    conf_level: float,
    start: Sequence[float] | None = None,
    tol: float = 1e-12,
    maxit: int = 100,
    outcome_kind: OutcomeKind = "binary",
) -> RegressionResult:
    exposures = [spec.exposures] if isinstance(spec.exposures, str) else spec.exposures
    covariates = [spec.covariates] if isinstance(spec.covariates, str) else spec.covariates
    weight_type = spec.weight_type
    if weight_type not in ("frequency", "prior"):
        raise ValueError(f"weight_type must be 'frequency' or 'prior', got {weight_type!r}")
    predictors = [*exposures, *covariates]
    design, _ = build_design(
        spec.data,
        spec.outcome,
        predictors,
        spec.cluster,
        spec.weights,
        spec.reference,
        outcome_kind,
    )
    X, y, w = design.X, design.y, design.w
    fit = irls(X, y, w, family, None if start is None else np.asarray(start, float), tol, maxit)
    eps = 1e-8
    if (family.name == "binomial" and np.any((fit.mu < eps) | (fit.mu > 1 - eps))) or (
        family.name == "poisson" and np.any(fit.mu < eps)
    ):
        raise SeparationError(
            f"{model}: fitted values numerically 0 or 1 (complete or quasi-complete "
            "separation, e.g. a level of a predictor with no events); estimates are not finite"
        )
    if not fit.converged:
        raise ConvergenceError(f"{model}: IRLS did not converge in {maxit} iterations")
    if design.cluster is not None or robust:
        u = ((y - fit.mu) * family.mu_eta(fit.eta) / family.variance(fit.mu))[:, None] * X
        vcov = sandwich(fit.bread, u, w, weight_type, design.cluster)
        vcov_type = "CL-HC0" if design.cluster is not None else "HC0"
    else:
        vcov = fit.bread * fit.dispersion
        vcov_type = "model"
    n_term, e_term, n_all, e_all = _term_counts(design, y, weight_type)
    coding = design.coding
    tab = _table(coding.terms, fit.coef, vcov, conf_level, n_term, e_term, coding.levels)

    def nice(v: float) -> float | int:
        return int(v) if float(v).is_integer() else v

    return RegressionResult(
        table=tab,
        measure=measure,
        model=model,
        outcome=spec.outcome,
        n=nice(n_all),
        nobs=X.shape[0],
        n_events=nice(e_all),
        n_clusters=None if design.cluster is None else int(design.cluster.max()) + 1,
        n_dropped=design.n_dropped,
        params=fit.coef,
        vcov=vcov,
        terms=list(design.coding.terms),
        vcov_type=vcov_type,
        conf_level=conf_level,
        converged=fit.converged,
        iterations=fit.iterations,
        deviance=fit.deviance,
        _design=design,
        _family=family,
    )


def logistic(
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weight_type: WeightType = "frequency",
    reference: Mapping[str, str] | None = None,
    robust: bool = False,
    conf_level: float = 0.95,
) -> RegressionResult:
    """Logistic regression (odds ratios).

    Binomial GLM with logit link fitted by IRLS (as R ``glm(family = binomial)``).
    See the module docstring for coding, missing values, weights and covariance options.

    Parameters
    ----------
    data
        Individual-level polars frame.
    outcome
        Binary 0/1 (or Boolean) outcome column.
    exposures, covariates
        Predictor columns (the split only documents intent; both enter the model).
    cluster
        Cluster id column for cluster-robust SEs (R ``vcovCL(type = "HC0")``,
        factor ``G/(G-1)``).
    weights
        Optional case-weight column; see ``weight_type``.
    weight_type
        ``"frequency"`` (default) or ``"prior"``; affects ``n`` and HC0 SEs only.
    reference
        Reference levels for categorical predictors, e.g. ``{"education": "Lower"}``.
    robust
        HC0 sandwich SEs without clustering (R ``vcovHC(type = "HC0")``).
    conf_level
        Confidence level of the Wald intervals.

    Returns
    -------
    RegressionResult
        ``measure="OR"``.

    Raises
    ------
    ValueError
        Unknown columns, outcome not 0/1 (naming the number of rows), negative
        weights, unknown reference level or a rank-deficient design.
    ConvergenceError
        If IRLS does not converge (e.g. complete separation).

    Examples
    --------
    >>> d = pl.DataFrame({
    ...     "home_death": [1, 0, 1, 1, 0, 0, 1, 0, 1, 0],
    ...     "spc": ["yes", "no", "yes", "no", "no", "no", "yes", "yes", "yes", "no"],
    ...     "age": [70, 81, 66, 90, 85, 77, 59, 88, 73, None]})
    >>> res = logistic(d, "home_death", ["spc"], ["age"], reference={"spc": "no"})
    >>> res.n_dropped, res.terms
    (1, ['(Intercept)', 'spc[yes]', 'age'])
    >>> round(res.table["ratio"][1], 3)
    4.619
    """
    spec = _Spec(data, outcome, exposures, covariates, cluster, weights, weight_type, reference)
    return _fit_binary(
        "logistic", Family("binomial", "logit"), "OR", spec, robust=robust, conf_level=conf_level
    )


def modified_poisson(
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weight_type: WeightType = "frequency",
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
) -> RegressionResult:
    """Modified Poisson regression for a binary outcome (prevalence/risk ratios; Zou 2004).

    Poisson GLM with log link on a 0/1 outcome with robust sandwich standard errors:
    HC0 (R ``sandwich::vcovHC(fit, type = "HC0")``), or cluster-robust with factor
    ``G/(G-1)`` when ``cluster`` is given (R ``vcovCL(fit, cluster = ~id, type = "HC0")``).
    Model-based Poisson SEs are never used (they are conservative for binary data).

    Parameters
    ----------
    data, outcome, exposures, covariates, cluster, weights, weight_type, reference, conf_level
        As :func:`logistic`.

    Returns
    -------
    RegressionResult
        ``measure="PR"``.

    Examples
    --------
    >>> d = pl.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 0], "x": ["b", "a", "b", "a", "a",
    ...                   "a", "b", "b"]})
    >>> res = modified_poisson(d, "y", ["x"])
    >>> round(res.table["ratio"][1], 3), res.vcov_type
    (3.0, 'HC0')
    """
    spec = _Spec(data, outcome, exposures, covariates, cluster, weights, weight_type, reference)
    return _fit_binary(
        "modified Poisson", Family("poisson", "log"), "PR", spec, robust=True, conf_level=conf_level
    )


def log_binomial(
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weight_type: WeightType = "frequency",
    reference: Mapping[str, str] | None = None,
    robust: bool = False,
    conf_level: float = 0.95,
    start: Sequence[float] | None = None,
    fallback: bool = False,
) -> RegressionResult:
    """Log-binomial regression (risk ratios).

    Binomial GLM with log link fitted by IRLS with R ``glm.fit`` semantics (R's default
    starting values unless ``start`` is given; step halving keeps fitted risks in (0, 1)).
    Fitting often fails when the maximum likelihood estimate has fitted risks at or
    near 1. If fitting with the default start fails because the first step is invalid,
    it is retried once from the modified-Poisson estimates with the intercept shifted so
    that all fitted risks are below 1 (the log-binomial likelihood is concave, so a
    converged fit is the same MLE R finds from any valid start).

    If the fit still fails, :class:`ConvergenceError` is raised — unless
    ``fallback=True``, in which case :func:`modified_poisson` is fitted instead and
    returned (its ``model`` is ``"modified Poisson (fallback from log-binomial)"``, its
    ``measure`` ``"PR"``): the fallback is never silent.

    Parameters
    ----------
    data, outcome, exposures, covariates, cluster, weights, weight_type, reference
        As :func:`logistic`.
    robust, conf_level
        As :func:`logistic`.
    start
        Starting coefficients (order of ``terms``: intercept, then predictors).
    fallback
        Fall back to modified Poisson on non-convergence.

    Returns
    -------
    RegressionResult
        ``measure="RR"``.

    Raises
    ------
    ConvergenceError
        If the fit fails and ``fallback`` is false.

    Examples
    --------
    >>> d = pl.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 0], "x": [1, 0, 1, 0, 0, 0, 1, 1]})
    >>> round(log_binomial(d, "y", ["x"]).table["ratio"][1], 3)
    3.0
    """
    args = (data, outcome, exposures, covariates, cluster, weights, weight_type, reference)
    spec = _Spec(*args)
    fam = Family("binomial", "log")
    opts = {"robust": robust, "conf_level": conf_level}
    try:
        try:
            return _fit_binary("log-binomial", fam, "RR", spec, **opts, start=start)
        except ConvergenceError:
            if start is not None:
                raise
            pois = modified_poisson(*args, conf_level=conf_level)
            assert pois._design is not None
            st = pois.params.copy()
            etamax = float(np.max(pois._design.X @ st))
            if etamax >= -1e-3:
                st[0] -= etamax + 1e-3
            return _fit_binary("log-binomial", fam, "RR", spec, **opts, start=st)
    except ConvergenceError as exc:
        if not fallback:
            raise ConvergenceError(
                f"log-binomial model did not converge ({exc}); supply `start`, or use "
                "modified_poisson() / fallback=True"
            ) from exc
        res = modified_poisson(*args, conf_level=conf_level)
        res.model = "modified Poisson (fallback from log-binomial)"
        return res


_GLM_FAMILIES: dict[str, tuple[tuple[str, ...], Any]] = {
    # family: (links, outcome kind)
    "binomial": (("logit", "log"), "binary"),
    "poisson": (("log",), "count"),
    "gaussian": (("identity",), "continuous"),
}
_GLM_MEASURES = {"logit": "OR", "log": "RR", "identity": "difference"}


def glm(
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    *,
    family: Literal["binomial", "poisson", "gaussian"] = "binomial",
    link: str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    weight_type: WeightType = "frequency",
    reference: Mapping[str, str] | None = None,
    robust: bool = False,
    conf_level: float = 0.95,
    start: Sequence[float] | None = None,
    maxit: int = 100,
) -> RegressionResult:
    """A generalised linear model: the core that :func:`logistic`, :func:`modified_poisson`
    and :func:`log_binomial` specialise, for the families and links they do not cover.

    Fitted by IRLS as R ``glm.fit``; see the module docstring for coding, missing values,
    weights and covariances. ``family="gaussian"`` is ordinary (or weighted) least squares;
    ``family="poisson"`` takes a non-negative outcome (counts, or 0/1 as a binary outcome
    whose exponentiated coefficients are prevalence ratios; use ``robust=True`` then).

    Parameters
    ----------
    data, outcome, exposures, covariates, cluster, weights, weight_type, reference, robust,
    conf_level
        As :func:`logistic`.
    family
        ``"binomial"`` (0/1 outcome), ``"poisson"`` (non-negative outcome) or ``"gaussian"``.
    link
        ``"logit"`` or ``"log"`` for the binomial family, ``"log"`` for Poisson,
        ``"identity"`` for Gaussian; default the canonical link.
    start, maxit
        Starting coefficients (length: number of terms) and the IRLS iteration limit.

    Returns
    -------
    RegressionResult
        ``measure`` ``"OR"`` (logit), ``"RR"`` (log) or ``"difference"`` (identity; the
        ``ratio`` columns are then not meaningful).

    Examples
    --------
    >>> d = pl.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5], "x": [1, 2, 3, 4, 5]})
    >>> res = glm(d, "y", ["x"], family="gaussian")
    >>> [round(float(v), 6) for v in res.params]
    [-0.3, 1.1]
    """
    if family not in _GLM_FAMILIES:
        raise ValueError(f"family must be one of {sorted(_GLM_FAMILIES)}, got {family!r}")
    links, kind = _GLM_FAMILIES[family]
    link = links[0] if link is None else link
    if link not in links:
        raise ValueError(f"the {family} family takes link {' or '.join(links)}, got {link!r}")
    spec = _Spec(data, outcome, exposures, covariates, cluster, weights, weight_type, reference)
    return _fit_binary(
        f"GLM ({family}, {link} link)",
        Family(family, link),
        _GLM_MEASURES[link],
        spec,
        robust=robust,
        conf_level=conf_level,
        start=start,
        maxit=maxit,
        outcome_kind=kind,
    )


def _outcome_order(y_levels: list[str], outcome_reference: str | None, outcome: str) -> list[str]:
    """The outcome levels with the reference first."""
    if len(y_levels) < 2:
        raise NotEstimableError(f"outcome column {outcome!r} has fewer than 2 levels")
    ref = y_levels[0] if outcome_reference is None else str(outcome_reference)
    if ref not in y_levels:
        raise ValueError(f"outcome_reference {ref!r} not found in {outcome!r} ({y_levels})")
    return [ref, *[v for v in y_levels if v != ref]]


def _mlogit_probs(X: np.ndarray, Y: np.ndarray, w: np.ndarray, beta: np.ndarray):
    """Probabilities of the non-reference levels (n x J) and the log-likelihood."""
    J, p = Y.shape[1], X.shape[1]
    eta = X @ beta.reshape(J, p).T  # n x J
    m = np.maximum(eta.max(axis=1), 0.0)
    ex = np.exp(eta - m[:, None])
    den = np.exp(-m) + ex.sum(axis=1)
    P = ex / den[:, None]
    ll = float(np.sum(w * ((Y * eta).sum(axis=1) - (m + np.log(den)))))
    return P, ll


def _mlogit_information(X: np.ndarray, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """The information (negative Hessian of the log-likelihood), level blocks of p x p."""
    J, p = P.shape[1], X.shape[1]
    H = np.zeros((J * p, J * p))
    for j in range(J):  # loop over outcome levels (few), vectorised over rows
        for k in range(j, J):
            d = w * (P[:, j] * ((j == k) - P[:, k]))
            blk = X.T @ (X * d[:, None])
            H[j * p : (j + 1) * p, k * p : (k + 1) * p] = blk
            H[k * p : (k + 1) * p, j * p : (j + 1) * p] = blk.T
    return H


def _diverging(X: np.ndarray, beta: np.ndarray, J: int, limit: float) -> bool:
    """Whether a coefficient exceeds ``limit`` on the scale of its predictor (|beta| x SD;
    the intercept, with SD 0, is not judged)."""
    sd = X.std(axis=0)
    scaled = np.abs(beta.reshape(J, X.shape[1])) * np.where(sd > 0, sd, 0.0)[None, :]
    return bool(np.max(scaled) > limit)


def _mlogit_newton(X: np.ndarray, Y: np.ndarray, w: np.ndarray, tol: float, maxit: int):
    """Newton-Raphson with step halving: ``(beta, P, loglik, converged, iterations)``."""
    J, p = Y.shape[1], X.shape[1]
    beta = np.zeros(J * p)
    P, ll = _mlogit_probs(X, Y, w, beta)
    for it in range(1, maxit + 1):  # noqa: B007
        grad = (X.T @ ((Y - P) * w[:, None])).T.ravel()
        try:
            step = np.linalg.solve(_mlogit_information(X, w, P), grad)
        except np.linalg.LinAlgError as exc:
            raise SeparationError(
                "multinomial: singular information matrix (separation, e.g. an empty "
                "outcome x predictor-level cell?)"
            ) from exc
        t = 1.0
        while True:
            cand = beta + t * step
            Pc, llc = _mlogit_probs(X, Y, w, cand)
            if np.isfinite(llc) and llc >= ll - 1e-10 * abs(ll):
                break
            t /= 2
            if t < 1e-10:
                # under separation the likelihood flattens out towards its supremum while
                # some coefficients grow without bound: step halving then finds no increase
                if _diverging(X, beta, J, 10):
                    raise SeparationError(
                        "multinomial: coefficients diverging (|beta| x SD > 10) and no step "
                        "improves the likelihood, probably separation"
                    )
                raise ConvergenceError("multinomial: step halving failed")
        done = abs(llc - ll) / (abs(llc) + 0.1) < tol and np.max(np.abs(t * step)) < 1e-6
        beta, P, ll = cand, Pc, llc
        if done:
            break
    else:
        raise ConvergenceError(f"multinomial: no convergence in {maxit} iterations")
    # Separation drives some coefficient towards infinity; judge each on the scale of its
    # predictor (|beta| x SD > 30), so an uncentred covariate (e.g. calendar year) with its
    # large compensating intercept is not mistaken for it. The intercept is not judged.
    if _diverging(X, beta, J, 30):
        raise SeparationError(
            "multinomial: coefficients diverging (|beta| x SD > 30), probably separation"
        )
    return beta, P, ll, True, it


def multinomial(
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    outcome_reference: str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    weight_type: WeightType = "frequency",
    reference: Mapping[str, str] | None = None,
    robust: bool = False,
    conf_level: float = 0.95,
    tol: float = 1e-12,
    maxit: int = 100,
) -> RegressionResult:
    """Multinomial logit regression (e.g. place of death), relative risk ratios.

    ``log(P(Y = j)/P(Y = ref)) = x' beta_j`` for every non-reference outcome level ``j``,
    fitted by Newton-Raphson with step halving. Coefficients and model-based SEs
    (inverse observed information) equal R ``nnet::multinom`` (with ``Hess = TRUE``) at
    convergence. Robust (``robust=True``, HC0) and cluster-robust SEs (``G/(G-1)``) use
    the score contributions ``w_i (y_ij - p_ij) x_i`` exactly as ``sandwich`` does for
    GLMs; ``weights`` are case weights as in ``multinom(weights = )``.

    Parameters
    ----------
    data, exposures, covariates, cluster, weights, weight_type, reference, robust
        As :func:`logistic`.
    conf_level
        As :func:`logistic`.
    outcome
        As :func:`logistic`, except that ``outcome`` is a String/Categorical/Enum or
        integer column with at least 3 levels (2 levels gives the logistic model).
    outcome_reference
        Reference outcome level (default: the first level — Enum order, else sorted).
    tol, maxit
        Convergence tolerance (relative change in log-likelihood) and iteration limit.

    Returns
    -------
    RegressionResult
        ``measure="RRR"``; ``table`` has a leading ``y_level`` column; ``n_events`` is a
        dict of (weighted) counts per outcome level; table ``events`` are the counts of
        the ``y_level`` outcome among the term's individuals.

    Raises
    ------
    ConvergenceError
        If Newton-Raphson fails (e.g. separation).

    Examples
    --------
    >>> d = pl.DataFrame({"place": ["home", "hospital", "nursing home", "hospital", "home",
    ...                             "hospital", "nursing home", "home", "hospital", "home"],
    ...                   "age": [70, 81, 74, 75, 66, 85, 93, 72, 88, 80]})
    >>> res = multinomial(d, "place", ["age"], outcome_reference="hospital")
    >>> res.table.select("y_level", "term").rows()[:2]
    [('home', '(Intercept)'), ('home', 'age')]
    """
    if isinstance(exposures, str):
        exposures = [exposures]
    if isinstance(covariates, str):
        covariates = [covariates]
    if weight_type not in ("frequency", "prior"):
        raise ValueError(f"weight_type must be 'frequency' or 'prior', got {weight_type!r}")
    design, y_levels = build_design(
        data, outcome, [*exposures, *covariates], cluster, weights, reference, "nominal"
    )
    assert y_levels is not None
    order = _outcome_order(y_levels, outcome_reference, outcome)
    remap = np.array([order.index(v) for v in y_levels])
    ycode = remap[design.y]
    X, w = design.X, design.w
    n, p = X.shape
    J = len(order) - 1
    Y = np.zeros((n, J))
    rows = np.nonzero(ycode > 0)[0]
    Y[rows, ycode[rows] - 1] = 1.0
    beta, P, ll, conv, it = _mlogit_newton(X, Y, w, tol, maxit)
    bread = np.linalg.inv(_mlogit_information(X, w, P))
    if design.cluster is not None or robust:
        # score rows u_i (unweighted), stacked by outcome level
        U = ((Y - P)[:, :, None] * X[:, None, :]).reshape(n, J * p)
        vcov = sandwich(bread, U, w, weight_type, design.cluster)
        vcov_type = "CL-HC0" if design.cluster is not None else "HC0"
    else:
        vcov, vcov_type = bread, "model"
    terms = design.coding.terms
    wn = w if (design.weighted and weight_type == "frequency") else np.ones(n)
    n_ev = {lvl: float(np.sum(wn[ycode == i])) for i, lvl in enumerate(order)}
    n_ev = {k: int(v) if v.is_integer() else v for k, v in n_ev.items()}
    n_terms, e_terms = [], []
    for j in range(J):
        nt, et, _, _ = _term_counts(design, Y[:, j], weight_type)
        n_terms.append(nt)
        e_terms.append(et)
    tab = _table(
        [t for _ in range(J) for t in terms],
        beta,
        vcov,
        conf_level,
        np.concatenate(n_terms),
        np.concatenate(e_terms),
        design.coding.levels,
        extra={"y_level": [lvl for lvl in order[1:] for _ in terms]},
    )
    n_all = float(np.sum(wn))
    return RegressionResult(
        table=tab,
        measure="RRR",
        model="multinomial logit",
        outcome=outcome,
        n=int(n_all) if n_all.is_integer() else n_all,
        nobs=n,
        n_events=n_ev,
        n_clusters=None if design.cluster is None else int(design.cluster.max()) + 1,
        n_dropped=design.n_dropped,
        params=beta,
        vcov=vcov,
        terms=[f"{lvl}:{t}" for lvl in order[1:] for t in terms],
        vcov_type=vcov_type,
        conf_level=conf_level,
        converged=conv,
        iterations=it,
        deviance=-2 * ll,
        _design=design,
        _family=None,
    )


# ---------------------------------------------------------------------------------------
# marginal (standardised) risks
# ---------------------------------------------------------------------------------------


def marginal_risks(
    result: RegressionResult,
    exposure: str,
    levels: Sequence[Any] | None = None,
    reference: Any = None,
    conf_level: float | None = None,
) -> pl.DataFrame:
    """Standardised (g-computation) risks per exposure level, with differences and ratios.

    For each exposure level ``a`` every individual in the analysis sample is assigned
    ``a`` (other covariates unchanged), the fitted model predicts their risk
    ``mu_i(a) = g^-1(x_i(a)' beta)``, and the marginal risk is the (weighted) mean
    ``r(a) = sum_i w_i mu_i(a) / sum_i w_i`` (direct standardisation to the covariate
    distribution of the whole sample; "method of recycled predictions").

    Standard errors use the delta method with the model's covariance matrix
    (``result.vcov``, i.e. robust/cluster-robust if the model was fitted so), treating
    the covariate distribution as fixed: the gradient of ``r(a)`` is
    ``sum_i w_i mu_eta_i(a) x_i(a) / sum_i w_i``. Differences ``r(a) - r(ref)`` use the
    difference of gradients; ratios are handled on the log scale with gradient
    ``grad r(a)/r(a) - grad r(ref)/r(ref)`` and CI ``exp(log ratio +/- z SE)``
    (``std_error`` of a ratio row is the SE of the log ratio). Risk CIs are Wald
    intervals on the risk scale.

    Parameters
    ----------
    result
        A fitted :func:`logistic`, :func:`modified_poisson` or :func:`log_binomial` model.
    exposure
        A predictor of the model.
    levels
        Exposure levels to evaluate; default all levels of a categorical exposure, or
        ``[0, 1]`` for a numeric 0/1 exposure (required for other numeric exposures).
    reference
        Reference level for differences and ratios (default: the model's reference level,
        or the first of ``levels``).
    conf_level
        Confidence level (default: that of ``result``).

    Returns
    -------
    polars.DataFrame
        Long format: ``exposure, level, contrast`` (``"risk"``, ``"difference"``,
        ``"ratio"``), ``estimate, std_error, statistic, p_value, conf_low, conf_high`` and
        ``n`` (individuals standardised over) and ``n_level``/``events_level``
        (observed individuals and events at the level).

    Examples
    --------
    >>> d = pl.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 0, 1, 0],
    ...                   "spc": ["yes", "no", "yes", "no", "no", "no", "yes", "yes",
    ...                           "yes", "no"],
    ...                   "age": [70, 81, 66, 90, 85, 77, 59, 88, 73, 79]})
    >>> fit = logistic(d, "y", ["spc"], ["age"])
    >>> mr = marginal_risks(fit, "spc")
    >>> mr.select("level", "contrast").rows()
    [('no', 'risk'), ('yes', 'risk'), ('yes', 'difference'), ('yes', 'ratio')]
    """
    design, fam = result._design, result._family
    if design is None or fam is None:
        raise ValueError("marginal_risks needs a logistic, modified Poisson or log-binomial fit")
    if exposure not in design.coding.predictors:
        raise ValueError(f"exposure {exposure!r} is not a predictor of the model")
    conf_level = result.conf_level if conf_level is None else conf_level
    frame = design.data
    is_cat = exposure in design.coding.levels
    if levels is None:
        if is_cat:
            levels = list(design.coding.levels[exposure])
        else:
            vals = set(frame[exposure].cast(pl.Float64).unique().to_list())
            if not vals <= {0.0, 1.0}:
                raise ValueError(f"give `levels` for the numeric exposure {exposure!r}")
            levels = [0, 1]
    levels = list(levels)
    if is_cat:
        levels = [str(v) for v in levels]
        unknown = [v for v in levels if v not in design.coding.levels[exposure]]
        if unknown:
            raise ValueError(f"levels {unknown} not found in {exposure!r}")
    if reference is None:
        reference = levels[0]
    if is_cat:
        reference = str(reference)
    if reference not in levels:
        levels = [reference, *levels]
    if len(set(levels)) != len(levels):
        raise ValueError("levels must be unique")
    w = design.w
    sw = float(np.sum(w))
    risks, grads = [], []
    for lvl in levels:  # loop over exposure levels (few), vectorised over individuals
        val = pl.lit(lvl) if is_cat else pl.lit(float(lvl))
        Xa = design.coding.matrix(frame.with_columns(val.alias(exposure)))
        eta = Xa @ result.params
        mu = fam.linkinv(eta)
        risks.append(float(np.sum(w * mu) / sw))
        grads.append((Xa * (w * fam.mu_eta(eta))[:, None]).sum(axis=0) / sw)
    r = np.array(risks)
    G = np.array(grads)
    V = result.vcov
    iref = levels.index(reference)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    others = [i for i in range(len(levels)) if i != iref]
    se_r = np.sqrt(np.einsum("ij,jk,ik->i", G, V, G))
    Gd = G[others] - G[iref]
    est_d = r[others] - r[iref]
    se_d = np.sqrt(np.einsum("ij,jk,ik->i", Gd, V, Gd))
    Gl = G[others] / r[others, None] - G[iref] / r[iref]
    est_l = np.log(r[others] / r[iref])
    se_l = np.sqrt(np.einsum("ij,jk,ik->i", Gl, V, Gl))

    # observed counts per level
    wn = w if (design.weighted) else np.ones_like(w)
    col = frame[exposure].cast(pl.String) if is_cat else frame[exposure].cast(pl.Float64)
    n_lvl, e_lvl = [], []
    for lvl in levels:
        m = (col == (lvl if is_cat else float(lvl))).to_numpy()
        n_lvl.append(float(np.sum(wn[m])))
        e_lvl.append(float(np.sum(wn[m] * design.y[m])))
    lab = [str(v) for v in levels]
    k = len(others)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat_d = est_d / se_d
        stat_l = est_l / se_l
    out = pl.DataFrame(
        {
            "exposure": [exposure] * (len(levels) + 2 * k),
            "level": lab + [lab[i] for i in others] * 2,
            "contrast": ["risk"] * len(levels) + ["difference"] * k + ["ratio"] * k,
            "estimate": np.concatenate([r, est_d, np.exp(est_l)]),
            "std_error": np.concatenate([se_r, se_d, se_l]),
            "statistic": np.concatenate([np.full(len(levels), np.nan), stat_d, stat_l]),
            "p_value": np.concatenate(
                [
                    np.full(len(levels), np.nan),
                    2 * stats.norm.sf(np.abs(stat_d)),
                    2 * stats.norm.sf(np.abs(stat_l)),
                ]
            ),
            "conf_low": np.concatenate([r - z * se_r, est_d - z * se_d, np.exp(est_l - z * se_l)]),
            "conf_high": np.concatenate([r + z * se_r, est_d + z * se_d, np.exp(est_l + z * se_l)]),
            "n": np.full(len(levels) + 2 * k, float(np.sum(wn))),
            "n_level": n_lvl + [n_lvl[i] for i in others] * 2,
            "events_level": e_lvl + [e_lvl[i] for i in others] * 2,
        }
    )
    return out.with_columns(
        pl.when(pl.col("contrast") == "risk")
        .then(None)
        .otherwise(pl.col("statistic"))
        .alias("statistic"),
        pl.when(pl.col("contrast") == "risk")
        .then(None)
        .otherwise(pl.col("p_value"))
        .alias("p_value"),
    )
