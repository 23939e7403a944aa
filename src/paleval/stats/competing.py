"""Competing-risks estimators: Aalen-Johansen, Gray's test, Fine-Gray, cause-specific Cox.

Numbers reproduce R: ``survival::survfit(Surv(time, factor(status)) ~ group)``
(multi-state Aalen-Johansen with infinitesimal-jackknife standard errors),
``cmprsk::cuminc`` (Gray's K-sample test) and ``cmprsk::crr`` (Fine-Gray model).

Everything is vectorised over time-sorted arrays (an O(n log n) sort followed by
cumulative sums); there are no Python loops over rows or risk sets. Ties are
handled exactly and deterministically (no jitter).

Event coding throughout: ``0`` = censored, ``1, 2, ...`` = causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as _sps

from paleval.stats._errors import NotEstimableError
from paleval.stats._survival_core import (
    confint,
    distinct,
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
from paleval.stats.survival import (
    CoxResult,
    HazardRegressionResult,
    SurvivalCurveResult,
    cox,
)

__all__ = [
    "AalenJohansenResult",
    "FineGrayResult",
    "GrayTestResult",
    "aalen_johansen",
    "cause_specific_cox",
    "fine_gray",
    "gray_test",
]


# =========================================================================== AJ
@dataclass(repr=False)
class AalenJohansenResult(SurvivalCurveResult):
    """Result of :func:`aalen_johansen`: cumulative incidence of one cause.

    Attributes
    ----------
    table : polars.DataFrame
        ``group, time, n_risk, n_event, n_censor, estimate, std_error, conf_low,
        conf_high``; one row per group and distinct time (events of any cause or
        censorings), ``n_event`` counts events of ``cause``.
    cause : int
        The cause whose cumulative incidence is estimated.

    Examples
    --------
    >>> res = aalen_johansen([1, 2, 2, 3, 4], [1, 2, 1, 0, 1], cause=1)
    >>> res.at([0.5, 2, 10])["estimate"].round(4).to_list()
    [0.0, 0.4, 0.8]
    """

    cause: int = 1


def _aj_curve(tab: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Aalen-Johansen CIF and infinitesimal-jackknife SE from a per-time tabulation.

    ``tab`` holds, per distinct time (sorted), the number of rows ``cnt``, the events
    of any cause ``d_all`` and the events of the cause of interest ``d_k``.

    For a competing-risks process starting in state 0 the AJ estimator reduces to
    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with ``S`` the all-cause KM.
    The variance is the infinitesimal-jackknife (IJ) variance that
    ``survival::survfit`` uses for multi-state curves (Therneau, "The survfit
    function", survival vignette, section on the IJ variance):
    ``var F(t) = sum_i U_i(t)^2`` with ``U_i = dF/dw_i`` at unit weights.
    By the chain rule (our derivation), with ``lambda_j = d_j/n_j``,
    ``h_j = 1/(n_j - d_j)`` (0 when everybody at risk fails, S then stays 0),
    ``g_j = d_j h_j / n_j``,
    ``C1(s) = sum_{t_j<=s} S(t_j-) d_kj / n_j^2``, ``C2(s) = sum F_j g_j``,
    ``C3(s) = sum g_j``:

        U_i(t) = 1{T_i<=t} [delta_ik S(T_i-)/n(T_i) - delta_i (F(t) - F(T_i)) h(T_i)]
                 - C1(s_i) - C2(s_i) + F(t) C3(s_i),          s_i = min(t, T_i).

    Subjects still at risk after ``t`` share one value; for the others ``U_i`` is
    linear in ``F(t)`` (``a_i + b_i F(t)``), so ``sum_i U_i^2`` is a handful of
    cumulative sums: O(n) after sorting.
    """
    utimes, cnt, d_all, d_k = tab["time"], tab["cnt"], tab["d_all"], tab["d_k"]
    n_risk = cnt[::-1].cumsum()[::-1]
    n_cens = cnt - d_all
    surv = np.cumprod(1.0 - d_all / n_risk)
    surv_m = np.concatenate([[1.0], surv[:-1]])  # S(t_j-)
    F = np.cumsum(surv_m * d_k / n_risk)
    full = n_risk == d_all
    h = np.where(full, 0.0, 1.0 / np.where(full, 1.0, n_risk - d_all))
    g = d_all * h / n_risk
    C1 = np.cumsum(surv_m * d_k / n_risk**2)
    C2 = np.cumsum(F * g)
    C3 = np.cumsum(g)
    base = -C1 - C2
    # per-time aggregates for the three kinds of subjects leaving at t_m
    a_k = surv_m / n_risk + F * h + base  # cause-k event
    a_o = F * h + base  # other-cause event
    a_c = base  # censored
    b_e = -h + C3  # any event
    b_c = C3
    d_o = d_all - d_k
    sa2 = d_k * a_k**2 + d_o * a_o**2 + n_cens * a_c**2
    sab = d_k * a_k * b_e + d_o * a_o * b_e + n_cens * a_c * b_c
    sb2 = d_all * b_e**2 + n_cens * b_c**2
    R = base + F * C3
    n_after = n_risk - cnt
    var = np.cumsum(sa2) + 2 * F * np.cumsum(sab) + F**2 * np.cumsum(sb2) + n_after * R**2
    se = np.sqrt(np.maximum(var, 0.0))
    return {
        "time": utimes,
        "n_risk": n_risk.astype(np.int64),
        "n_event": d_k.astype(np.int64),
        "n_censor": n_cens.astype(np.int64),
        "estimate": F,
        "std_error": se,
    }


def aalen_johansen(
    time: Any,
    event: Any,
    cause: int = 1,
    group: Any = None,
    *,
    data: pl.DataFrame | None = None,
    conf_level: float = 0.95,
    conf_type: Literal["log", "log-log", "plain"] = "log",
) -> AalenJohansenResult:
    """Aalen-Johansen cumulative incidence of ``cause`` in the presence of competing risks.

    Reproduces ``survival::survfit(Surv(time, factor(status)) ~ group)`` (multi-state
    fit): estimate, ``std.err`` (infinitesimal jackknife) and ``lower``/``upper``.

    Parameters
    ----------
    time : array-like or str
        Follow-up times (>= 0); a column name when ``data`` is given.
    event : array-like or str
        0 = censored, 1, 2, ... = cause of the event.
    cause : int
        Cause whose cumulative incidence function (CIF) is estimated.
    group : array-like or str, optional
        Separate curves per group (sorted labels).
    data : polars.DataFrame, optional
        Frame for column-name arguments.
    conf_level : float
        Confidence level.
    conf_type : {"log", "log-log", "plain"}
        CI transform. Default "log" is what R's ``survfit`` reports for multi-state
        curves: ``F * exp(+-z * se / F)`` (upper limit capped at 1; undefined where
        F = 0). "log-log" and "plain" follow ``survival:::survfit_confint`` too.

    Returns
    -------
    AalenJohansenResult
        ``.table`` (one row per group and distinct time), ``.at(times)``, ``.plot()``.

    Notes
    -----
    Ties: all events (of any cause) and censorings at the same time are handled
    together, censorings count as at risk at their time (R convention). Events at
    time 0 are allowed. See :func:`_aj_curve` for the variance formula.

    Examples
    --------
    >>> res = aalen_johansen([1, 2, 2, 3, 4], [1, 2, 1, 0, 1], cause=1)
    >>> res.table.select("time", "n_risk", "estimate").rows()
    [(1.0, 5, 0.2), (2.0, 4, 0.4), (3.0, 2, 0.4), (4.0, 1, 0.8)]
    """
    time = resolve_column(time, data, "time")
    event = resolve_column(event, data, "event")
    group = resolve_column(group, data, "group")
    t = check_time(time)
    e = check_event(event)
    n = check_lengths(time=t, event=e)
    g = check_groups(group, n)
    if not isinstance(cause, int | np.integer) or cause < 1:
        raise ValueError(f"`cause` must be a positive integer code, got {cause!r}")
    z = z_quantile(conf_level)
    labels, tabs = tabulate(t, e, g, int(cause))
    frames = []
    for lab, tab in zip(labels, tabs, strict=True):
        cur = _aj_curve(tab)
        with np.errstate(divide="ignore", invalid="ignore"):
            se_log = np.where(cur["std_error"] == 0, 0.0, cur["std_error"] / cur["estimate"])
        lo, hi = confint(cur["estimate"], se_log, conf_type, z)
        frames.append(
            pl.DataFrame(
                {"group": [lab] * cur["time"].size, **cur, "conf_low": lo, "conf_high": hi}
            )
        )
    return AalenJohansenResult(
        table=pl.concat(frames),
        conf_level=conf_level,
        conf_type=conf_type,
        _groups=labels,
        _start_value=0.0,
        _title=f"Aalen-Johansen cumulative incidence, cause {int(cause)}",
        _ylabel="Cumulative incidence",
        cause=int(cause),
    )


# ===================================================================== Gray's test
@dataclass(repr=False)
class GrayTestResult:
    """Result of :func:`gray_test`.

    Attributes
    ----------
    table : polars.DataFrame
        One row per cause: ``cause, statistic, df, p_value``.
    groups : list
        Group labels compared.
    rho : float
        Power of the weight function ``(1 - F(t-))^rho``.

    Examples
    --------
    >>> res = gray_test([1, 2, 3, 4, 5, 6], [1, 2, 1, 1, 0, 2], ["a", "b"] * 3)
    >>> res.table.columns
    ['cause', 'statistic', 'df', 'p_value']
    """

    table: pl.DataFrame
    groups: list[Any]
    rho: float
    scores: dict[int, np.ndarray]
    variances: dict[int, np.ndarray]

    def statistic(self, cause: int = 1) -> float:
        """Chi-square statistic for ``cause``."""
        return float(self.table.filter(pl.col("cause") == cause)["statistic"][0])

    def p_value(self, cause: int = 1) -> float:
        """P-value for ``cause``."""
        return float(self.table.filter(pl.col("cause") == cause)["p_value"][0])

    def __repr__(self) -> str:
        lines = [f"Gray's test (rho = {self.rho}) comparing {len(self.groups)} groups"]
        for r in self.table.iter_rows(named=True):
            lines.append(
                f"  cause {r['cause']}: chi2 = {r['statistic']:.4f} on {r['df']} df, "
                f"p = {r['p_value']:.4g}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p><b>Gray's test</b> (rho = {self.rho})</p>" + self.table._repr_html_()


def _gray_stratum(
    ts: np.ndarray, m: np.ndarray, gcode: np.ndarray, ng: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score and variance of Gray's test in one stratum (port of cmprsk ``crst``).

    Vectorised over distinct times: per-time, per-group quantities are (J, ng)
    arrays and the recursions of the Fortran routine become cumulative sums.
    ``m``: 0 censored, 1 cause of interest, 2 other cause; ``ts`` sorted.
    """
    utimes, _, block = distinct(ts)
    nb = utimes.size
    cnt = np.zeros((nb, ng))
    np.add.at(cnt, (block, gcode), 1.0)
    d1 = np.zeros((nb, ng))
    np.add.at(d1, (block[m == 1], gcode[m == 1]), 1.0)
    d2 = np.zeros((nb, ng))
    np.add.at(d2, (block[m == 2], gcode[m == 2]), 1.0)
    rs_all = cnt[::-1].cumsum(axis=0)[::-1]  # at risk at each distinct time per group
    keep = (d1.sum(axis=1) + d2.sum(axis=1)) > 0
    rs, d1, d2 = rs_all[keep], d1[keep], d2[keep]
    J = rs.shape[0]
    if J == 0:
        return np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    valid = rs > 0
    rs_safe = np.where(valid, rs, 1.0)
    td = d1 + d2
    fac = np.where(valid, (rs - td) / rs_safe, 1.0)
    skm = np.cumprod(fac, axis=0)
    skmm = np.vstack([np.ones((1, ng)), skm[:-1]])
    f1 = np.cumsum(np.where(valid, skmm * d1 / rs_safe, 0.0), axis=0)
    f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
    t1 = np.where(valid, rs / np.where(skmm > 0, skmm, 1.0), 0.0)
    tr = t1.sum(axis=1)
    tq = np.where(valid, rs * (1 - f1m) / np.where(skmm > 0, skmm, 1.0), 0.0).sum(axis=1)
    nd1 = d1.sum(axis=1)
    f = np.cumsum(nd1 / tr)
    fm = np.concatenate([[0.0], f[:-1]])
    fb = (1 - fm) ** rho
    # a[j] = fb (diag(t1) - t1 t1'/tr); c = cumsum(a * nd1/(tr (1 - fm)))
    a = -fb[:, None, None] * t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
    diag = np.arange(ng)
    a[:, diag, diag] += fb[:, None] * t1
    c = np.cumsum(a * (nd1 / (tr * (1 - fm)))[:, None, None], axis=0)
    # score (first ng-1 groups)
    s_all = np.where(
        valid,
        fb[:, None]
        * (d1 - nd1[:, None] * rs * (1 - f1m) / (np.where(skmm > 0, skmm, 1.0) * tq[:, None])),
        0.0,
    )
    s = s_all.sum(axis=0)[: ng - 1]
    # variance, cause-1 part
    with np.errstate(divide="ignore", invalid="ignore"):
        t4 = np.where(skm > 0, 1 - (1 - f[:, None]) / np.where(skm > 0, skm, 1.0), 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = t5 * skmm * nd1[:, None] / (tr[:, None] * rs_safe)
    t3 = np.where(valid & (nd1[:, None] > 0), t3, 0.0)
    v3 = (t4**2 * t3).sum(axis=0)
    A = a - t4[:, None, :] * c  # (J, i, k)
    v2 = np.einsum("jik,jk->ik", A, t4 * t3)
    v = np.einsum("jik,jlk,jk->il", A, A, t3)
    # variance, other-cause part
    ok2 = (skm > 0) & (d2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        u4 = np.where(ok2, (1 - f[:, None]) / np.where(skm > 0, skm, 1.0), 0.0)
        u5 = np.where(d2 > 1, 1 - (d2 - 1.0) / (rs_safe - 1.0), 1.0)
        u3 = np.where(ok2, u5 * skmm**2 * d2 / rs_safe**2, 0.0)
    v3 += (u4**2 * u3).sum(axis=0)
    v2 -= np.einsum("jik,jk->ik", c, u4 * u4 * u3)
    v += np.einsum("jik,jlk,jk->il", c, c, u4**2 * u3)
    cf = c[-1]
    v += (cf * v3[None, :]) @ cf.T + cf @ v2.T + v2 @ cf.T
    return s, v[: ng - 1, : ng - 1]


def gray_test(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    rho: float = 0.0,
    data: pl.DataFrame | None = None,
) -> GrayTestResult:
    """Gray's K-sample test for equality of cumulative incidence functions.

    Port of ``cmprsk::cuminc(...)$Tests`` (Fortran ``crstm``/``crst``; Gray 1988,
    Ann. Statist. 16:1141-1154), vectorised over time. One test per observed cause.

    Parameters
    ----------
    time, event : array-like or str
        Times (>= 0) and codes (0 = censored, 1, 2, ... = causes).
    group : array-like or str
        Groups to compare (at least two non-empty groups).
    strata : array-like or str, optional
        Stratified test: scores and variances summed over strata.
    rho : float
        Weight ``(1 - F(t-))^rho``; 0 (default) as in cmprsk.
    data : polars.DataFrame, optional
        Frame for column-name arguments.

    Returns
    -------
    GrayTestResult
        ``.table``: ``cause, statistic, df, p_value`` (chi-square on K - 1 df). A
        singular variance gives NaN (cmprsk reports -1).

    Examples
    --------
    >>> t = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> e = [1, 2, 1, 0, 1, 1, 2, 0]
    >>> res = gray_test(t, e, ["a", "b"] * 4)
    >>> res.table["df"].to_list()
    [1, 1]
    """
    time = resolve_column(time, data, "time")
    event = resolve_column(event, data, "event")
    group = resolve_column(group, data, "group")
    strata = resolve_column(strata, data, "strata")
    t = check_time(time)
    e = check_event(event)
    n = check_lengths(time=t, event=e)
    g = check_groups(group, n)
    if g is None:
        raise ValueError("`group` is required for gray_test")
    labels, gcode = np.unique(g, return_inverse=True)
    ng = labels.size
    if ng < 2:
        raise ValueError(f"gray_test needs at least two groups, got {ng} ({labels.tolist()})")
    st = check_groups(strata, n, "strata")
    scodes = np.zeros(n, dtype=np.int64) if st is None else np.unique(st, return_inverse=True)[1]
    causes = np.unique(e[e > 0])
    rows = []
    scores, variances = {}, {}
    for k in causes:
        m = np.where(e == 0, 0, np.where(e == k, 1, 2))
        s = np.zeros(ng - 1)
        v = np.zeros((ng - 1, ng - 1))
        for sc in np.unique(scodes):
            sel = np.flatnonzero(scodes == sc)
            o = sel[np.argsort(t[sel], kind="stable")]
            ss, vv = _gray_stratum(t[o], m[o], gcode[o], ng, float(rho))
            s += ss
            v += vv
        try:
            if np.linalg.matrix_rank(v) < ng - 1:
                raise np.linalg.LinAlgError
            stat = float(s @ np.linalg.solve(v, s))
        except np.linalg.LinAlgError:
            stat = float("nan")
        rows.append((int(k), stat, ng - 1, float(_sps.chi2.sf(stat, ng - 1))))
        scores[int(k)] = s
        variances[int(k)] = v
    table = pl.DataFrame(
        rows, schema=["cause", "statistic", "df", "p_value"], orient="row"
    ).with_columns(pl.col("cause").cast(pl.Int64), pl.col("df").cast(pl.Int64))
    return GrayTestResult(
        table=table, groups=labels.tolist(), rho=float(rho), scores=scores, variances=variances
    )


# ====================================================================== Fine-Gray
@dataclass(repr=False)
class FineGrayResult(HazardRegressionResult):
    """Result of :func:`fine_gray` (subdistribution hazard ratios).

    ``vcov`` is crr's ``var`` (sandwich including the censoring-weight term);
    ``vcov_naive`` is the inverse information (crr's ``invinf``).

    Examples
    --------
    >>> t = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> e = [1, 2, 1, 0, 1, 2, 1, 0, 1, 2]
    >>> x = [[0], [1], [1], [0], [1], [0], [0], [1], [1], [0]]
    >>> fine_gray(t, e, x).table.columns[:4]
    ['term', 'variable', 'level', 'estimate']
    """

    cause: int = 1
    n_cengroups: int = 1


class _FGData:
    """Sorted arrays and censoring weights for the Fine-Gray fit.

    ``group`` holds censoring-group codes ``0..ncg-1`` (crr's ``cengroup``; all zero for one
    group): each group has its own Kaplan-Meier censoring distribution ``G_g``, and a subject
    failing from a competing cause is weighted with its own group's ``G_g``.
    """

    def __init__(
        self, t: np.ndarray, e: np.ndarray, X: np.ndarray, cause: int, group: np.ndarray
    ) -> None:
        order = np.argsort(t, kind="stable")
        self.t = t[order]
        e = e[order]
        self.X = X[order]
        grp = group[order]
        ncg = int(grp.max()) + 1 if grp.size else 1
        self.grp, self.ncg = grp, ncg
        self.is1 = e == cause
        self.is2 = (e > 0) & ~self.is1
        cens = e == 0
        utimes, starts, block = distinct(self.t)
        nb = utimes.size
        self.block = block
        self.starts = starts
        # crr evaluates G at ftime * (1 - 100 eps) with a left-continuous step function
        # (approx(..., method="constant", f=0)): G(T-) for T > 0, and G(0) for T == 0.
        x = utimes * (1 - 100 * np.finfo(float).eps)
        j = np.searchsorted(utimes, x, side="right") - 1
        Gm = np.empty((ncg, nb))
        c_cnt = np.empty((ncg, nb))
        n_risk = np.empty((ncg, nb))
        for g in range(ncg):
            m = grp == g
            cnt = np.bincount(block, weights=m.astype(np.float64), minlength=nb)
            n_risk[g] = np.cumsum(cnt[::-1])[::-1]
            c_cnt[g] = np.bincount(block, weights=(cens & m).astype(np.float64), minlength=nb)
            with np.errstate(divide="ignore", invalid="ignore"):
                hz = np.where(n_risk[g] > 0, c_cnt[g] / n_risk[g], 0.0)
            # KM of the group's censoring times (censoring is the "event"), as crr's survfit
            G = np.cumprod(1.0 - hz)
            Gg = np.where(j >= 0, G[np.maximum(j, 0)], 1.0)
            # crr's approx(..., rule = 2) is 0 after the group's last time (another group's
            # failure times can be later): a competing failure of the group leaves the risk set
            tmax = self.t[m].max() if m.any() else -np.inf
            Gm[g] = np.where(utimes > tmax, 0.0, Gg)
        self.g_row = Gm[grp, block]  # G_{g(i)}(T_i-) per row
        self.c_cnt = c_cnt
        self.n_risk = n_risk
        # distinct cause-of-interest failure times
        d1 = np.bincount(block, weights=self.is1.astype(np.float64), minlength=nb)
        self.fail_blocks = np.flatnonzero(d1 > 0)
        self.d = d1[self.fail_blocks]
        self.d_group = [
            np.bincount(block, weights=(self.is1 & (grp == g)).astype(np.float64),
                        minlength=nb)[self.fail_blocks]
            for g in range(ncg)
        ] if ncg > 1 else [self.d]  # fmt: skip
        self.Gt = Gm[:, self.fail_blocks].T  # G_g(t_j-), failure times x groups
        self.fstart = starts[self.fail_blocks]
        # for each row: number of failure times <= T_i
        self.nf_le = np.searchsorted(self.fail_blocks, block, side="right")
        self.cens = cens
        self.nb = nb

    def _in_group(self, v: np.ndarray, g: int) -> np.ndarray:
        if self.ncg == 1:
            return v
        m = self.grp == g
        return np.where(m[:, None], v, 0.0) if v.ndim == 2 else np.where(m, v, 0.0)

    def _sums(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = self.X
        p = X.shape[1]
        r = np.exp(X @ beta)
        rx = r[:, None] * X
        # at risk with weight 1: T_i >= t_j (reverse cumulative sums at block starts)
        c0 = np.concatenate([np.cumsum(r[::-1])[::-1], [0.0]])
        c1 = np.concatenate([np.cumsum(rx[::-1], axis=0)[::-1], np.zeros((1, p))])
        S0 = c0[self.fstart]
        S1 = c1[self.fstart]
        # competing failures before t_j with weight G_g(t_j-)/G_g(T_i-), per censoring group
        w2 = np.zeros_like(r)
        np.divide(r, self.g_row, out=w2, where=self.is2)
        for g in range(self.ncg):
            wg = self._in_group(w2, g)
            q0 = np.concatenate([[0.0], np.cumsum(wg)])
            q1 = np.concatenate([np.zeros((1, p)), np.cumsum(wg[:, None] * X, axis=0)])
            S0 = S0 + self.Gt[:, g] * q0[self.fstart]
            S1 = S1 + self.Gt[:, g, None] * q1[self.fstart]
        return r, S0, S1

    def evaluate(self, beta: np.ndarray, *, need_info: bool = True) -> dict[str, Any]:
        X = self.X
        r, S0, S1 = self._sums(beta)
        eta1 = X[self.is1] @ beta
        E = S1 / S0[:, None]
        loglik = float(eta1.sum() - (self.d * np.log(S0)).sum())
        score = X[self.is1].sum(axis=0) - (self.d[:, None] * E).sum(axis=0)
        out: dict[str, Any] = {"loglik": loglik, "score": score}
        if not need_info:
            return out
        # information: X' diag(r c) X - E' diag(d) E, with c_i = sum_{t_j <= T_i} d_j/S0_j
        # + 1{cause2} / G_g(T_i-) sum_{t_j > T_i} d_j G_g(t_j-)/S0_j  (g: i's censoring group)
        A = np.concatenate([[0.0], np.cumsum(self.d / S0)])
        C = np.vstack([np.zeros((1, self.ncg)),
                       np.cumsum((self.d / S0)[:, None] * self.Gt, axis=0)])  # fmt: skip
        k = self.nf_le
        rest = np.zeros_like(r)
        np.divide(C[-1, self.grp] - C[k, self.grp], self.g_row, out=rest, where=self.is2)
        w = r * (A[k] + rest)
        info = (X * w[:, None]).T @ X - (E * self.d[:, None]).T @ E
        out.update(info=info, r=r, S0=S0, S1=S1, E=E, A=A, C=C)
        return out

    def crr_variance(self, beta: np.ndarray, info: np.ndarray) -> np.ndarray:
        """crr's sandwich ``I^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') I^-1``.

        Port of Fortran ``crrvv`` (cmprsk; Fine & Gray 1999, JASA 94:496-509,
        section 3): ``eta_i`` are the score residuals with weighted risk sets and
        ``psi_i`` the correction for estimating the censoring distribution,
        ``psi_i = int q_g(u)/pi_g(u) dM^c_i(u)`` with ``pi_g`` the risk set of i's censoring
        group ``g``. As in ``crrvv`` (cmprsk 2.2-11/2.2-12), ``q_g(u)`` pairs the competing
        failures of group ``g`` before ``u`` with the cause-of-interest failures of group ``g``
        at or after ``u``. All sums are cumulative sums over sorted time.
        """
        X = self.X
        p = X.shape[1]
        ev = self.evaluate(beta)
        r, S0, E = ev["r"], ev["S0"], ev["E"]
        d, Gt, grp = self.d, self.Gt, self.grp
        k = self.nf_le
        zero = np.zeros((1, p))
        # eta_i
        A, C = ev["A"], ev["C"]
        B = np.concatenate([zero, np.cumsum((d / S0)[:, None] * E, axis=0)])
        # Dm[g]: cumulative sums of d_j G_g(t_j-) E_j / S0_j
        Dm = [
            np.concatenate([zero, np.cumsum((d * Gt[:, g] / S0)[:, None] * E, axis=0)])
            for g in range(self.ncg)
        ]
        # failure-time index of each cause-of-interest row
        fidx = np.maximum(k - 1, 0)
        eta = np.where(self.is1[:, None], X - E[fidx], 0.0)
        eta -= r[:, None] * (X * A[k][:, None] - B[k])
        w2 = np.zeros_like(r)
        np.divide(r, self.g_row, out=w2, where=self.is2)
        Drest = np.empty((r.size, p))
        for g in range(self.ncg):
            m = grp == g
            Drest[m] = Dm[g][-1] - Dm[g][k[m]]
        comp = w2[:, None] * (X * (C[-1, grp] - C[k, grp])[:, None] - Drest)
        eta -= comp  # zero unless a competing failure (w2 == 0 otherwise)
        # psi_i: q_g(u) at censoring times u (distinct blocks with >= 1 censoring, any group)
        cblocks = np.flatnonzero(self.c_cnt.sum(axis=0) > 0)
        st = self.starts[cblocks]
        # failures with t_j >= u: indices j >= (number of failure times < u)
        nlt = np.searchsorted(self.fail_blocks, cblocks, side="left")
        # censoring blocks u <= T_i
        ncb = np.searchsorted(cblocks, self.block, side="right")
        own = np.minimum(np.searchsorted(cblocks, self.block, side="left"),
                         max(cblocks.size - 1, 0))  # fmt: skip
        psi = np.zeros((r.size, p))
        for g in range(self.ncg):
            m = grp == g
            # crrvv: q_g(u) pairs group g's competing failures before u with group g's
            # cause-of-interest failures at t_j >= u (one group: every failure)
            dg = d if self.ncg == 1 else self.d_group[g]
            cw = dg * Gt[:, g] / S0
            Cg = np.concatenate([[0.0], np.cumsum(cw)])
            Dg = np.concatenate([zero, np.cumsum(cw[:, None] * E, axis=0)])
            wg = self._in_group(w2, g)
            P = np.concatenate([zero, np.cumsum(wg[:, None] * X, axis=0)])  # rows before
            Q = np.concatenate([[0.0], np.cumsum(wg)])
            q = P[st] * (Cg[-1] - Cg[nlt])[:, None] - Q[st][:, None] * (Dg[-1] - Dg[nlt])
            pi = self.n_risk[g, cblocks]
            cc = self.c_cnt[g, cblocks]
            frac = np.zeros_like(pi)
            np.divide(cc, pi**2, out=frac, where=cc > 0)
            comp_c = np.concatenate([zero, np.cumsum(q * frac[:, None], axis=0)])
            psi[m] = -comp_c[ncb[m]]
            if cblocks.size:
                mc = m & self.cens
                psi[mc] += q[own[mc]] / pi[own[mc]][:, None]
        u = eta + psi
        v2 = u.T @ u
        hinv = np.linalg.inv(info)
        return hinv @ v2 @ hinv.T


def fine_gray(
    time: Any,
    event: Any,
    covariates: Any,
    cause: int = 1,
    *,
    data: pl.DataFrame | None = None,
    cengroup: Any = None,
    conf_level: float = 0.95,
    max_iter: int = 50,
    tol: float = 1e-12,
) -> FineGrayResult:
    """Fine-Gray proportional subdistribution hazards regression (``cmprsk::crr``).

    Parameters
    ----------
    time : array-like or str
        Follow-up times (>= 0).
    event : array-like or str
        0 = censored, 1, 2, ... = causes.
    covariates : polars.DataFrame, 2-d array or list of column names in ``data``
        Numeric/boolean columns as is; String/Categorical/Enum columns dummy-coded
        with the first level as reference.
    cause : int
        Cause of interest (crr's ``failcode``); all other positive codes compete.
    data : polars.DataFrame, optional
        Frame for column-name arguments.
    cengroup : array-like or str, optional
        Censoring groups (crr's ``cengroup``): the censoring distribution ``G`` is estimated
        by Kaplan-Meier separately in each group (e.g. calendar period of entry, when
        administrative follow-up differs between periods). ``None``: one group.
    conf_level : float
        Confidence level for subdistribution hazard ratios.
    max_iter, tol : int, float
        Newton-Raphson controls.

    Returns
    -------
    FineGrayResult
        ``vcov`` equals crr's ``var``; ``vcov_naive`` crr's ``invinf``.

    Notes
    -----
    Fine & Gray (1999), JASA 94:496-509. As in crr: the censoring distribution ``G``
    is the Kaplan-Meier of the censoring times (single censoring group) evaluated at
    ``T-``; a subject failing from a competing cause at ``T_i`` stays in the risk set
    at ``t > T_i`` with weight ``G(t-)/G(T_i-)``; ties use Breslow's method. With
    weights of that form every risk-set sum is ``sum_{T_i >= t} r_i x_i +
    G(t-) sum_{T_i < t, competing} r_i x_i / G(T_i-)``: two cumulative sums. The
    information is ``X' diag(r_i c_i) X - sum_j d_j e_j e_j'`` with
    ``c_i = sum_{t_j<=T_i} d_j/S0_j (+ sum_{t_j>T_i} d_j G_j/S0_j / G(T_i-))`` so
    one iteration costs O(n p^2). With censoring groups (``cengroup``) each group ``g`` has its
    own ``G_g`` and a competing failure of group ``g`` is weighted ``G_g(t-)/G_g(T_i-)``
    (Fine & Gray 1999, section 3); as crr does, ``G_g`` is 0 after the group's last
    observed time, and the censoring-martingale term ``q_g(u)`` of the variance pairs group
    ``g``'s competing failures with group ``g``'s cause-of-interest failures (Fortran
    ``crrvv``, cmprsk 2.2-11), so ``vcov`` is crr's ``var`` in this case too; one
    iteration then costs O(n p^2 ncg). Time-varying covariates (crr's ``cov2``) are not
    implemented.

    Examples
    --------
    >>> t = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> e = [1, 2, 1, 0, 1, 2, 1, 0, 1, 2]
    >>> x = [[0], [1], [1], [0], [1], [0], [0], [1], [1], [0]]
    >>> res = fine_gray(t, e, x, cause=1)
    >>> res.n_events
    5
    >>> period = ["a"] * 5 + ["b"] * 5
    >>> fine_gray(t, e, x, cengroup=period).n_cengroups
    2
    """
    t, e, X, coding = prepare_regression(time, event, covariates, data)
    group, n_groups = _censoring_groups(cengroup, data, t.size)
    if not isinstance(cause, int | np.integer) or cause < 1:
        raise ValueError(f"`cause` must be a positive integer code, got {cause!r}")
    n_ev = int((e == cause).sum())
    if n_ev == 0:
        raise NotEstimableError(f"no events of cause {cause}: the Fine-Gray model is not estimable")
    fg = _FGData(t, e, X, int(cause), group)
    p = X.shape[1]
    beta, cur, converged, it = newton(fg.evaluate, p, max_iter=max_iter, tol=tol)
    null = fg.evaluate(np.zeros(p), need_info=False)
    vcov_naive = np.linalg.inv(cur["info"])
    vcov = fg.crr_variance(beta, cur["info"])
    return FineGrayResult(
        terms=coding.terms,
        term_levels=coding.levels,
        params=beta,
        vcov=vcov,
        n=t.size,
        n_events=n_ev,
        loglik=cur["loglik"],
        loglik_null=null["loglik"],
        converged=converged,
        n_iter=it,
        conf_level=conf_level,
        vcov_naive=vcov_naive,
        _title=f"Fine-Gray subdistribution hazards, cause {int(cause)}"
        + (f", {n_groups} censoring groups" if n_groups > 1 else ""),
        cause=int(cause),
        n_cengroups=n_groups,
    )


def _censoring_groups(cengroup: Any, data: pl.DataFrame | None, n: int) -> tuple[np.ndarray, int]:
    """Censoring-group codes 0..ncg-1 in sorted order of the values (as crr), and ncg."""
    if cengroup is None:
        return np.zeros(n, dtype=np.int64), 1
    arr = check_groups(resolve_column(cengroup, data, "cengroup"), n, "cengroup")
    _, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64).ravel(), int(codes.max()) + 1


# ============================================================= cause-specific Cox
def cause_specific_cox(
    time: Any,
    event: Any,
    covariates: Any,
    cause: int = 1,
    *,
    data: pl.DataFrame | None = None,
    **kwargs: Any,
) -> CoxResult:
    """Cause-specific Cox model: other causes are treated as censored.

    Thin wrapper around :func:`paleval.stats.survival.cox` (``coxph(Surv(time,
    status == cause) ~ ...)`` in R); keyword arguments (``ties``, ``strata``,
    ``cluster``, ``robust``, ...) are passed on.

    Examples
    --------
    >>> t = [5, 6, 6, 2, 4, 4, 3, 8, 9, 7]
    >>> e = [1, 0, 2, 1, 2, 0, 1, 1, 0, 1]
    >>> x = [[0], [1], [0], [1], [1], [0], [1], [0], [0], [1]]
    >>> cause_specific_cox(t, e, x, cause=1).n_events
    5
    """
    ev = check_event(resolve_column(event, data, "event"))
    if not isinstance(cause, int | np.integer) or cause < 1:
        raise ValueError(f"`cause` must be a positive integer code, got {cause!r}")
    res = cox(time, (ev == cause).astype(np.int64), covariates, data=data, **kwargs)
    res._title = f"Cause-specific Cox, cause {int(cause)}: " + res._title
    return res
