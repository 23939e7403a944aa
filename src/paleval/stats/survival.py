"""Kaplan-Meier and Cox proportional hazards estimators (vectorised, deterministic).

The numbers reproduce R's ``survival`` package (Therneau; ``survfit`` and ``coxph``):

* :func:`kaplan_meier` - product-limit estimate with Greenwood variance and the
  confidence intervals of ``survfit`` (``conf.type = "log"`` by default).
* :func:`cox` - partial-likelihood Cox model with Breslow or Efron ties, optional
  strata and a robust (cluster) sandwich variance built from score residuals as in
  ``coxph(..., cluster = )``.

All computations are vectorised numpy over time-sorted arrays: risk-set sums are
reverse cumulative sums, so one likelihood evaluation costs O(n p^2) after an
O(n log n) sort.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as _sps

from paleval.stats._design import term_frame
from paleval.stats._errors import NotEstimableError
from paleval.stats._survival_core import (
    confint,
    newton,
    prepare_regression,
    tabulate,
    z_quantile,
)
from paleval.stats._validate import (
    check_event,
    check_groups,
    check_lengths,
    check_time,
    resolve_column,
)

__all__ = [
    "CoxResult",
    "HazardRegressionResult",
    "KaplanMeierResult",
    "SurvivalCurveResult",
    "cox",
    "kaplan_meier",
]

ConfType = Literal["log", "log-log", "plain"]


# --------------------------------------------------------------------------- helpers


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}g}"


# ---------------------------------------------------------------- curve results
@dataclass(repr=False)
class SurvivalCurveResult:
    """Common base of :class:`KaplanMeierResult` and ``AalenJohansenResult``.

    Attributes
    ----------
    table : polars.DataFrame
        One row per group and distinct observed time with columns ``group, time,
        n_risk, n_event, n_censor, estimate, std_error, conf_low, conf_high``.
    conf_level, conf_type : float, str
        Confidence level and the transform used for the pointwise intervals.

    Examples
    --------
    >>> res = kaplan_meier([1, 2, 3], [1, 0, 1], group=["a", "a", "b"])
    >>> isinstance(res, SurvivalCurveResult), res.groups
    (True, ['a', 'b'])
    """

    table: pl.DataFrame
    conf_level: float
    conf_type: str
    _groups: list[Any] = field(default_factory=list)
    _start_value: float = 1.0
    _title: str = "Survival curve"
    _ylabel: str = "Survival probability"

    @property
    def groups(self) -> list[Any]:
        """Group labels in table order."""
        return list(self._groups)

    def at(self, times: Sequence[float] | np.ndarray | float) -> pl.DataFrame:
        """Evaluate the step function (right-continuous) at arbitrary times.

        Returns a tidy frame ``group, time, n_risk, estimate, std_error, conf_low,
        conf_high``; ``n_risk`` is the number still under observation at ``time``
        (time >= ``time``). Before the first observed time the estimate is the starting
        value with zero standard error; after the last it stays at the last value.

        Examples
        --------
        >>> res = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0])
        >>> res.at([0.5, 1, 3.5]).select("time", "n_risk", "estimate").rows()
        [(0.5, 4, 1.0), (1.0, 4, 0.75), (3.5, 1, 0.375)]
        """
        tq = np.atleast_1d(np.asarray(times, dtype=float))
        if np.isnan(tq).any():
            raise ValueError("`times` contains NaN")
        frames = []
        z = z_quantile(self.conf_level)
        for g in self.groups:
            sub = self.table.filter(pl.col("group") == g) if len(self.groups) > 1 else self.table
            tt = sub["time"].to_numpy()
            idx = np.searchsorted(tt, tq, side="right") - 1
            ok = idx >= 0
            ii = np.where(ok, idx, 0)
            est = np.where(ok, sub["estimate"].to_numpy()[ii], self._start_value)
            se = np.where(ok, sub["std_error"].to_numpy()[ii], 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                se_log = np.where(se == 0, 0.0, se / est)
            lo, hi = confint(est, se_log, self.conf_type, z)
            lo = np.where(ok, sub["conf_low"].to_numpy()[ii], lo)
            hi = np.where(ok, sub["conf_high"].to_numpy()[ii], hi)
            # number at risk at t: n_risk of the first observed time >= t (0 after the last)
            nr = np.concatenate([sub["n_risk"].to_numpy(), [0]])
            n_risk = nr[np.searchsorted(tt, tq, side="left")]
            frames.append(
                pl.DataFrame(
                    {
                        "group": pl.Series([g] * tq.size).cast(self.table["group"].dtype),
                        "time": tq,
                        "n_risk": n_risk.astype(np.int64),
                        "estimate": est,
                        "std_error": se,
                        "conf_low": lo,
                        "conf_high": hi,
                    }
                )
            )
        return pl.concat(frames)

    def plot(self, ax: Any = None, *, conf_int: bool = True, **kwargs: Any) -> Any:
        """Step plot of the estimate per group (matplotlib; imported lazily).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is created when omitted.
        conf_int : bool
            Shade the pointwise confidence band.
        **kwargs
            Passed to ``Axes.step``.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0]).plot()
        >>> ax.get_ylabel()
        'Survival probability'
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for g in self.groups:
            sub = self.table.filter(pl.col("group") == g) if len(self.groups) > 1 else self.table
            t = np.concatenate([[0.0], sub["time"].to_numpy()])
            y = np.concatenate([[self._start_value], sub["estimate"].to_numpy()])
            (line,) = ax.step(t, y, where="post", label=str(g), **kwargs)
            if conf_int:
                lo = np.concatenate([[self._start_value], sub["conf_low"].to_numpy()])
                hi = np.concatenate([[self._start_value], sub["conf_high"].to_numpy()])
                ax.fill_between(t, lo, hi, step="post", alpha=0.2, color=line.get_color())
        ax.set_xlabel("Time")
        ax.set_ylabel(self._ylabel)
        ax.set_title(self._title)
        if len(self.groups) > 1:
            ax.legend(title="group")
        return ax

    def _summary_frame(self) -> pl.DataFrame:
        return self.table.group_by("group", maintain_order=True).agg(
            pl.col("n_risk").first().alias("n"),
            pl.col("n_event").sum().alias("events"),
            pl.col("time").max().alias("max_time"),
            pl.col("estimate").last().alias("final_estimate"),
        )

    def __repr__(self) -> str:
        lines = [
            f"{type(self).__name__}: {self._title}",
            f"  {len(self.groups)} group(s), {self.conf_level:.0%} CI ({self.conf_type} transform)",
        ]
        for row in self._summary_frame().iter_rows(named=True):
            lines.append(
                f"  group={row['group']}: n={row['n']}, events={int(row['events'])}, "
                f"max time={_fmt(row['max_time'])}, estimate at max={_fmt(row['final_estimate'])}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p><b>{type(self).__name__}</b>: {self._title}</p>"
        return head + self._summary_frame()._repr_html_()


@dataclass(repr=False)
class KaplanMeierResult(SurvivalCurveResult):
    """Result of :func:`kaplan_meier` (see :class:`SurvivalCurveResult`).

    Examples
    --------
    >>> res = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    >>> res.at([2.5])["estimate"].round(4).to_list()
    [0.5]
    """


def kaplan_meier(
    time: Any,
    event: Any,
    group: Any = None,
    *,
    data: pl.DataFrame | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the survival function (no competing events).

    Parameters
    ----------
    time : array-like or str
        Follow-up times (>= 0). A column name when ``data`` is given.
    event : array-like or str
        0 = censored, 1 = event (booleans accepted). Codes > 1 are rejected: with
        competing events use :func:`paleval.stats.competing.aalen_johansen`.
    group : array-like or str, optional
        Curves are estimated separately per group (sorted labels).
    data : polars.DataFrame, optional
        Frame holding the columns named in ``time``, ``event``, ``group``.
    conf_level : float
        Confidence level of the pointwise intervals.
    conf_type : {"log", "log-log", "plain"}
        Interval transform, exactly as R ``survfit(conf.type=)``; the default "log"
        is R's default: ``S * exp(+-z * se(log S))`` with the upper limit capped at 1.

    Returns
    -------
    KaplanMeierResult
        ``.table`` has one row per group and distinct time (event or censoring).
        ``std_error`` is on the survival scale (``S * sqrt(Greenwood)``), as in
        ``summary(survfit(...))``.

    Notes
    -----
    Greenwood variance of log S: ``sum d / (n (n - d))``. As in R, once everybody at
    risk has had the event (S = 0) the standard error of log S is infinite, so
    ``std_error`` and the interval are NaN from then on.

    Examples
    --------
    >>> res = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    >>> res.table["n_risk"].to_list()
    [5, 4, 2, 1]
    >>> res.table["estimate"].round(4).to_list()
    [0.8, 0.6, 0.3, 0.3]
    """
    time = resolve_column(time, data, "time")
    event = resolve_column(event, data, "event")
    group = resolve_column(group, data, "group")
    t = check_time(time)
    e = check_event(event, max_code=1)
    n = check_lengths(time=t, event=e)
    g = check_groups(group, n)
    z = z_quantile(conf_level)
    labels, tabs = tabulate(t, e, g)
    frames = []
    for lab, tab in zip(labels, tabs, strict=True):
        utimes, d = tab["time"], tab["d_all"]
        nb = utimes.size
        n_risk = tab["cnt"][::-1].cumsum()[::-1]
        c = tab["cnt"] - d
        surv = np.cumprod(1.0 - d / n_risk)
        with np.errstate(divide="ignore", invalid="ignore"):
            gw = np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf)
            se_log = np.sqrt(np.cumsum(gw))
            se = np.where(np.isinf(se_log), np.nan, surv * se_log)
        lo, hi = confint(surv, se_log, conf_type, z)
        frames.append(
            pl.DataFrame(
                {
                    "group": [lab] * nb,
                    "time": utimes,
                    "n_risk": n_risk.astype(np.int64),
                    "n_event": d.astype(np.int64),
                    "n_censor": c.astype(np.int64),
                    "estimate": surv,
                    "std_error": se,
                    "conf_low": lo,
                    "conf_high": hi,
                }
            )
        )
    table = pl.concat(frames)
    return KaplanMeierResult(
        table=table,
        conf_level=conf_level,
        conf_type=conf_type,
        _groups=labels,
        _start_value=1.0,
        _title="Kaplan-Meier survival",
        _ylabel="Survival probability",
    )


# ----------------------------------------------------------------- regression results
@dataclass(repr=False)
class HazardRegressionResult:
    """Common base of :class:`CoxResult` and ``FineGrayResult``.

    Attributes
    ----------
    terms : list of str
        Covariate names (dummy columns named ``column[level]``).
    params : numpy.ndarray
        Estimated log hazard ratios.
    vcov : numpy.ndarray
        Variance-covariance matrix used for ``std_error`` (robust when requested).
    n, n_events : int
        Number of rows used and number of events of the modelled cause.
    loglik, loglik_null : float
        (Pseudo) log partial likelihood at the estimate and at zero.
    converged : bool
        Whether Newton-Raphson converged.

    Examples
    --------
    >>> res = cox([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [[0], [1], [0], [1], [0], [1]])
    >>> isinstance(res, HazardRegressionResult), res.terms, res.vcov.shape
    (True, ['x1'], (1, 1))
    """

    terms: list[str]
    params: np.ndarray
    vcov: np.ndarray
    n: int
    n_events: int
    loglik: float
    loglik_null: float
    converged: bool
    n_iter: int
    conf_level: float = 0.95
    vcov_naive: np.ndarray | None = None
    _title: str = "Regression"
    term_levels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors (square root of the diagonal of ``vcov``)."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def table(self) -> pl.DataFrame:
        """Tidy coefficient table: ``term``, ``variable``, ``level`` (null for a numeric
        covariate), the log hazard ratio with its Wald test, and the hazard ratio with its CI
        (on the hazard-ratio scale)."""
        se = self.std_errors
        with np.errstate(divide="ignore", invalid="ignore"):
            zstat = self.params / se
        p = 2 * _sps.norm.sf(np.abs(zstat))
        z = z_quantile(self.conf_level)
        terms = term_frame(self.terms, self.term_levels)
        return pl.DataFrame(
            {
                "term": self.terms,
                "variable": terms["variable"],
                "level": terms["level"],
                "estimate": self.params,
                "std_error": se,
                "statistic": zstat,
                "p_value": p,
                "hazard_ratio": np.exp(self.params),
                "conf_low": np.exp(self.params - z * se),
                "conf_high": np.exp(self.params + z * se),
            }
        )

    def summary(self) -> str:
        """Readable text summary (coefficients, HRs with CI, likelihood ratio).

        Examples
        --------
        >>> res = cox([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [[0], [1], [0], [1], [0], [1]])
        >>> print(res.summary().splitlines()[0])
        Cox proportional hazards (efron ties)
        """
        lr = 2 * (self.loglik - self.loglik_null)
        df = len(self.terms)
        lines = [
            self._title,
            f"  n = {self.n}, events = {self.n_events}, converged = {self.converged} "
            f"({self.n_iter} iterations)",
            "",
            f"  {'term':<16}{'coef':>10}{'se':>10}{'z':>9}{'p':>10}{'HR':>9}"
            f"{'lower':>9}{'upper':>9}",
        ]
        for r in self.table.iter_rows(named=True):
            lines.append(
                f"  {r['term']:<16}{r['estimate']:>10.4f}{r['std_error']:>10.4f}"
                f"{r['statistic']:>9.3f}{r['p_value']:>10.3g}{r['hazard_ratio']:>9.3f}"
                f"{r['conf_low']:>9.3f}{r['conf_high']:>9.3f}"
            )
        lines += [
            "",
            f"  {self.conf_level:.0%} CI on the hazard-ratio scale",
            f"  log-likelihood = {self.loglik:.4f} (null {self.loglik_null:.4f}); "
            f"LR chi2 = {lr:.3f} on {df} df, p = {_sps.chi2.sf(lr, df):.3g}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>{self._title}</b>: n = {self.n}, events = {self.n_events}, "
            f"converged = {self.converged}</p>"
        )
        return head + self.table._repr_html_()


@dataclass(repr=False)
class CoxResult(HazardRegressionResult):
    """Result of :func:`cox`.

    Besides :class:`HazardRegressionResult` attributes: ``ties`` ("breslow"/"efron"),
    ``robust`` (whether ``vcov`` is the sandwich) and ``vcov_naive`` (inverse
    information).

    Examples
    --------
    >>> res = cox([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [[0], [1], [0], [1], [0], [1]])
    >>> res.table.columns[:4]
    ['term', 'variable', 'level', 'estimate']
    """

    ties: str = "efron"
    robust: bool = False


# ---------------------------------------------------------------------- Cox engine
class _CoxData:
    """Time-sorted arrays for one Cox fit (all strata stacked; blocks = tie groups)."""

    def __init__(
        self,
        t: np.ndarray,
        d: np.ndarray,
        X: np.ndarray,
        strata: np.ndarray | None,
        ties: str,
    ) -> None:
        n = t.size
        if strata is None:
            codes = np.zeros(n, dtype=np.int64)
        else:
            _, codes = np.unique(strata, return_inverse=True)
        # sort by stratum, time; within a tie block deaths first (as R)
        order = np.lexsort((1 - d, t, codes))
        self.order = order
        self.t = t[order]
        self.d = d[order].astype(np.float64)
        self.X = X[order]
        self.codes = codes[order]
        # tie blocks = (stratum, time)
        new = np.empty(n, dtype=bool)
        new[0] = True
        new[1:] = (self.t[1:] != self.t[:-1]) | (self.codes[1:] != self.codes[:-1])
        self.block = np.cumsum(new) - 1
        self.block_start = np.flatnonzero(new)
        nb = self.block_start.size
        self.nb = nb
        # stratum of each block and index one past the end of each stratum
        newstr = np.empty(n, dtype=bool)
        newstr[0] = True
        newstr[1:] = self.codes[1:] != self.codes[:-1]
        str_start = np.flatnonzero(newstr)
        str_end = np.concatenate([str_start[1:], [n]])
        self.str_id = np.cumsum(newstr) - 1
        self.str_end_of_row = str_end[self.str_id]
        self.block_str = self.str_id[self.block_start]
        self.block_str_first = np.concatenate([[True], self.block_str[1:] != self.block_str[:-1]])
        self.D = np.bincount(self.block, weights=self.d, minlength=nb)
        # rank of each death within its block (0..D-1) for Efron
        dead = self.d > 0
        cum_dead = np.cumsum(self.d)
        first_dead_before = np.concatenate([[0.0], cum_dead])[self.block_start][self.block]
        self.rank = np.where(dead, cum_dead - 1 - first_dead_before, 0.0)
        self.efron = ties == "efron"
        self.dead = dead

    def _rev_cumsum_at_blocks(self, v: np.ndarray) -> np.ndarray:
        """Sum of v over rows with the same stratum and time >= block time (per block)."""
        c = np.cumsum(v[::-1], axis=0)[::-1]  # c[i] = sum_{k >= i} v[k]
        c_pad = np.concatenate([c, np.zeros((1, *c.shape[1:]))], axis=0)
        end = self.str_end_of_row[self.block_start]
        return c_pad[self.block_start] - c_pad[end]

    def _cum_over_blocks_in_stratum(self, v: np.ndarray) -> np.ndarray:
        """Cumulative sum over blocks, restarting at each stratum."""
        c = np.cumsum(v, axis=0)
        first = np.flatnonzero(self.block_str_first)
        offset = np.concatenate([np.zeros((1, *c.shape[1:])), c[:-1]], axis=0)[first]
        return c - offset[self.block_str]

    def evaluate(self, beta: np.ndarray, *, need_info: bool = True) -> dict[str, Any]:
        X, d = self.X, self.d
        eta = X @ beta
        r = np.exp(eta)
        rx = r[:, None] * X
        S0 = self._rev_cumsum_at_blocks(r)
        S1 = self._rev_cumsum_at_blocks(rx)
        dead = self.dead
        b_dead = self.block[dead]
        nb, p = self.nb, X.shape[1]
        if self.efron:
            S0D = np.bincount(self.block, weights=r * d, minlength=nb)
            S1D = np.zeros((nb, p))
            np.add.at(S1D, b_dead, rx[dead])
            f = self.rank[dead] / self.D[b_dead]
        else:
            S0D = np.zeros(nb)
            S1D = np.zeros((nb, p))
            f = np.zeros(b_dead.size)
        # one row per death
        s0k = S0[b_dead] - f * S0D[b_dead]
        Ek = (S1[b_dead] - f[:, None] * S1D[b_dead]) / s0k[:, None]
        loglik = float(eta[dead].sum() - np.log(s0k).sum())
        score = X[dead].sum(axis=0) - Ek.sum(axis=0)
        out: dict[str, Any] = {"loglik": loglik, "score": score, "r": r}
        if not need_info:
            return out
        inv = 1.0 / s0k
        H = np.bincount(b_dead, weights=inv, minlength=nb)
        K = np.bincount(b_dead, weights=f * inv, minlength=nb)
        cumH = self._cum_over_blocks_in_stratum(H)
        w = r * (cumH[self.block] - np.where(dead, K[self.block], 0.0))
        info = (X * w[:, None]).T @ X - Ek.T @ Ek
        out.update(info=info, Ek=Ek, inv=inv, f=f, H=H, K=K, cumH=cumH, b_dead=b_dead)
        return out

    def score_residuals(self, beta: np.ndarray) -> np.ndarray:
        """Score residuals as R ``survival`` coxscore2.c (rows in sorted order)."""
        ev = self.evaluate(beta)
        X, r, dead = self.X, ev["r"], self.dead
        nb, p = self.nb, X.shape[1]
        Ek, inv, f, b_dead = ev["Ek"], ev["inv"], ev["f"], ev["b_dead"]
        M = np.zeros((nb, p))
        np.add.at(M, b_dead, Ek * inv[:, None])
        KM = np.zeros((nb, p))
        np.add.at(KM, b_dead, Ek * (f * inv)[:, None])
        Ebar = np.zeros((nb, p))
        np.add.at(Ebar, b_dead, Ek)
        with np.errstate(invalid="ignore", divide="ignore"):
            Ebar = np.where(self.D[:, None] > 0, Ebar / self.D[:, None], 0.0)
        cumM = self._cum_over_blocks_in_stratum(M)
        blk = self.block
        res = -r[:, None] * (X * ev["cumH"][blk][:, None] - cumM[blk])
        dm = dead[:, None]
        res += np.where(dm, X - Ebar[blk], 0.0)
        res += np.where(dm, r[:, None] * (X * ev["K"][blk][:, None] - KM[blk]), 0.0)
        return res


def cox(
    time: Any,
    event: Any,
    covariates: Any,
    *,
    data: pl.DataFrame | None = None,
    ties: Literal["efron", "breslow"] = "efron",
    strata: Any = None,
    cluster: Any = None,
    robust: bool = False,
    conf_level: float = 0.95,
    max_iter: int = 50,
    tol: float = 1e-12,
) -> CoxResult:
    """Cox proportional hazards regression (R ``coxph`` equivalent).

    Parameters
    ----------
    time : array-like or str
        Follow-up times (>= 0).
    event : array-like or str
        0 = censored, 1 = event (booleans accepted). For several causes use
        :func:`paleval.stats.competing.cause_specific_cox`.
    covariates : polars.DataFrame, 2-d array or list of column names in ``data``
        Numeric/boolean columns are used as is; String, Categorical and Enum
        columns are dummy-coded with the first level (category order for Enum,
        sorted otherwise) as reference, one term ``column[level]`` per other level
        (the coder of the regression models; R's ``model.matrix`` writes
        ``columnlevel``).
    data : polars.DataFrame, optional
        Frame for column-name arguments.
    ties : {"efron", "breslow"}
        Tie handling (R default "efron").
    strata : array-like or str, optional
        Stratum labels: separate baseline hazards (``+ strata(x)`` in R).
    cluster : array-like or str, optional
        Cluster labels; implies ``robust=True`` with score residuals summed within
        clusters (``cluster = x`` in R).
    robust : bool
        Sandwich variance ``D'D`` with ``D`` the dfbeta residuals (R ``robust=TRUE``).
    conf_level : float
        Confidence level for the hazard-ratio intervals.
    max_iter, tol : int, float
        Newton-Raphson controls (relative change in the log partial likelihood).

    Returns
    -------
    CoxResult

    Notes
    -----
    Efron's approximation (Efron 1977, JASA 72:557) is vectorised by giving each of
    the ``d`` tied deaths at a time its own risk-set row with weight ``k/d``
    (``k = 0..d-1``). Score residuals follow ``coxscore2.c`` of Therneau's survival
    package; the robust variance is ``D'D`` with ``D = residuals @ inverse information``
    (Lin & Wei 1989, JASA 84:1074), summed within clusters.

    Examples
    --------
    >>> t = [5, 6, 6, 2, 4, 4, 3, 8, 9, 7]
    >>> e = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> x = [[0], [1], [0], [1], [1], [0], [1], [0], [0], [1]]
    >>> res = cox(t, e, x, ties="breslow")
    >>> round(float(res.params[0]), 4)  # R: coxph(..., ties = "breslow") gives 1.124791
    1.1248
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"`ties` must be 'efron' or 'breslow', got {ties!r}")
    t, e, X, coding = prepare_regression(time, event, covariates, data)
    if (e > 1).any():
        raise ValueError(
            "`event` must be 0/1 for cox(); for competing causes use cause_specific_cox()"
        )
    n = t.size
    strata = check_groups(resolve_column(strata, data, "strata"), n, "strata")
    cluster = check_groups(resolve_column(cluster, data, "cluster"), n, "cluster")
    if e.sum() == 0:
        raise NotEstimableError("`event` has no events: the Cox model is not estimable")
    cd = _CoxData(t, e, X - X.mean(axis=0), strata, ties)
    p = X.shape[1]
    beta, cur, converged, it = newton(cd.evaluate, p, max_iter=max_iter, tol=tol)
    null = cd.evaluate(np.zeros(p), need_info=False)
    vcov_naive = np.linalg.inv(cur["info"])
    use_robust = robust or cluster is not None
    vcov = vcov_naive
    if use_robust:
        dfb = cd.score_residuals(beta) @ vcov_naive
        if cluster is not None:
            _, ccodes = np.unique(cluster[cd.order], return_inverse=True)
            agg = np.zeros((ccodes.max() + 1, p))
            np.add.at(agg, ccodes, dfb)
            dfb = agg
        vcov = dfb.T @ dfb
    return CoxResult(
        terms=coding.terms,
        term_levels=coding.levels,
        params=beta,
        vcov=vcov,
        n=n,
        n_events=int(e.sum()),
        loglik=cur["loglik"],
        loglik_null=null["loglik"],
        converged=converged,
        n_iter=it,
        conf_level=conf_level,
        vcov_naive=vcov_naive,
        _title=f"Cox proportional hazards ({ties} ties"
        + (", stratified" if strata is not None else "")
        + (", robust SE" if use_robust else "")
        + ")",
        ties=ties,
        robust=use_robust,
    )
