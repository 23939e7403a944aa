"""Staggered difference-in-differences: group-time average treatment effects (Callaway and
Sant'Anna 2021, *J Econometrics* 225:200) without covariates (unconditional parallel trends),
on a balanced panel of units (regions, municipalities) that adopt an intervention at
different times.

For each cohort ``g`` (the units first treated in period ``g``) and period ``t``,
``ATT(g,t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | control]``, where the base period ``b`` is
the last period before ``g`` for ``t >= g`` and the previous period for ``t < g`` (the did
package's default "varying" base period: pre-treatment cells are placebo tests of parallel
trends, one period apart), and the controls are the never-treated units
(``control="never"``) or the units not yet treated by ``t`` (``"not_yet"``: never-treated
and later cohorts, ``G > t``, other than ``g``). Without covariates this equals the
coefficient of a treated indicator in a regression of ``Y_t - Y_b`` on the cohort and its
controls (tested against R ``lm``, and against the did package's published ``mpdta``
estimates).

The aggregations are those of the did package's ``aggte``: *simple* (post-treatment
``ATT(g,t)`` weighted by cohort size), *event study* (``ATT(e)`` for each event time
``e = t - g``, cohorts weighted by size; overall: the mean over ``e >= 0``), and *by group*
(each cohort's mean post-treatment effect; overall weighted by cohort size). Standard errors
are analytical, from the influence functions (including the estimation of the cohort
weights), clustered by unit (or by a coarser ``cluster`` column constant within unit):
``se = sqrt(sum_c (sum_{i in c} psi_i)^2) / n``; no small-sample factor, as the did package.
Confidence intervals are pointwise (normal). With ``cband=True`` a simultaneous (uniform)
band is added to the group-time, event-study and by-group tables, from the multiplier
bootstrap of Callaway and Sant'Anna (2021, sec. 4.1, Remark 10; the did package's ``mboot``):
Rademacher weights per cluster on the cluster sums of the influence functions, the sup-t
statistic over the table's estimates, its ``conf_level`` quantile as the critical value.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl
from scipy import sparse, stats

from paleval.stats._errors import NotEstimableError

__all__ = ["DidResult", "did_group_time"]

ControlGroup = Literal["never", "not_yet"]


@dataclass
class DidResult:
    """Group-time average treatment effects and their aggregations.

    Attributes
    ----------
    group_time : polars.DataFrame
        One row per cell: ``group`` (first treated period), ``time``, ``base_period``,
        ``event_time`` (``time - group``), ``post``, ``att, std_error, conf_low, conf_high``,
        ``n_treated, n_control`` (units).
    event_study : polars.DataFrame
        ``event_time, att, std_error, conf_low, conf_high, n_groups`` (cohorts contributing).
    by_group : polars.DataFrame
        ``group, att, std_error, conf_low, conf_high, n_units``.
    overall : polars.DataFrame
        ``aggregation`` (``simple``, ``event_study``, ``group``), ``att, std_error,
        conf_low, conf_high``.
    influence : numpy.ndarray
        Influence functions of the ``ATT(g,t)`` (units x cells, rows in ``units`` order).
    units : polars.Series
        Unit labels, sorted.
    control : str
        ``"never"`` or ``"not_yet"``.
    n_units, n_clusters : int
        Units analysed, clusters of the standard errors.
    n_dropped_units : dict
        Units left out, by reason (``unbalanced``, ``treated_at_start``).
    critical_values : dict
        With ``cband=True``: the simultaneous critical value of each table (``group_time``,
        ``event_study``, ``by_group``), whose ``band_low``/``band_high`` are
        ``att -/+ c x bootstrap_se`` (as did); empty otherwise.
    bootstrap : dict
        With ``cband=True``: ``iterations``, ``seed`` and ``weights`` (``"rademacher"``).

    Examples
    --------
    >>> d = pl.DataFrame({"id": [1, 1, 2, 2, 3, 3, 4, 4], "t": [1, 2] * 4,
    ...                   "y": [1.0, 3.0, 2.0, 2.5, 1.0, 1.5, 0.0, 0.4],
    ...                   "g": [2, 2, 2, 2, 0, 0, 0, 0]})
    >>> res = did_group_time(d, "y", "id", "t", "g")
    >>> res.group_time.select("group", "time", pl.col("att").round(6)).rows()  # 1.25 - 0.45
    [(2, 2, 0.8)]
    """

    group_time: pl.DataFrame
    event_study: pl.DataFrame
    by_group: pl.DataFrame
    overall: pl.DataFrame
    influence: np.ndarray
    units: pl.Series
    control: str
    outcome: str
    n_units: int
    n_clusters: int
    n_dropped_units: dict
    conf_level: float
    critical_values: dict = field(default_factory=dict)
    bootstrap: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Plain-text summary of the overall effects and the event study.

        Examples
        --------
        >>> d = pl.DataFrame({"id": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3,
        ...                   "y": [1.0, 3.0, 1.0, 1.5, 0.0, 0.4], "g": [2, 2, 0, 0, 0, 0]})
        >>> print(did_group_time(d, "y", "id", "t", "g").summary().splitlines()[0])
        group-time ATTs of 'y' (Callaway-Sant'Anna), never-treated controls
        """
        ctrl = "never-treated" if self.control == "never" else "not-yet-treated"
        lines = [
            f"group-time ATTs of {self.outcome!r} (Callaway-Sant'Anna), {ctrl} controls",
            f"{self.n_units} units, {self.n_clusters} clusters; dropped: {self.n_dropped_units}",
        ]
        with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_width_chars=200):
            lines.append(str(self.overall.with_columns(pl.col(pl.Float64).round(4))))
            lines.append(str(self.event_study.with_columns(pl.col(pl.Float64).round(4))))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<DidResult outcome={self.outcome!r} control={self.control!r} "
            f"units={self.n_units} cells={self.group_time.height}>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.overall._repr_html_()


# ---------------------------------------------------------------------------------------
# input checks and the wide panel
# ---------------------------------------------------------------------------------------


@dataclass
class _Panel:
    Y: np.ndarray  # units x periods
    G: np.ndarray  # first treated period per unit, 0 = never
    times: np.ndarray
    units: pl.Series
    cl: np.ndarray  # cluster code per unit
    n_clusters: int
    dropped: dict


def _check_frame(frame: pl.DataFrame, cols: list[str]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"frame must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in dict.fromkeys(cols) if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in frame")
    for arg, c in zip(("outcome", "time", "first_treated"), cols[:3], strict=True):
        if not frame.schema[c].is_numeric():
            raise ValueError(f"{arg} column {c!r} must be numeric, got {frame.schema[c]}")


def _constant_within_unit(long: pl.DataFrame, unit: str, col: str, arg: str) -> None:
    bad = long.group_by(unit).agg(pl.col(col).n_unique().alias("k")).filter(pl.col("k") > 1)
    if bad.height:
        raise ValueError(
            f"{arg} column {col!r} varies within {bad.height} unit(s) "
            f"(e.g. {bad[unit].head(3).to_list()}); it must be constant per unit"
        )


def _panel(
    frame: pl.DataFrame, outcome: str, unit: str, time: str, first: str, cluster: str | None
) -> _Panel:
    cols = [outcome, time, first, unit] + ([cluster] if cluster else [])
    _check_frame(frame, cols)
    long = frame.select(list(dict.fromkeys(cols))).with_columns(pl.col(first).fill_null(0))
    dup = long.group_by(unit, time).len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValueError(f"{dup.height} (unit, time) pair(s) occur more than once in {unit!r}")
    _constant_within_unit(long, unit, first, "first_treated")
    if cluster:
        _constant_within_unit(long, unit, cluster, "cluster")
    long = long.drop_nulls([outcome, time, unit] + ([cluster] if cluster else []))
    long = long.filter(pl.col(outcome).is_finite())
    times = np.sort(long[time].unique().to_numpy())
    n_all = long[unit].n_unique()
    complete = long.group_by(unit).len().filter(pl.col("len") == times.size)[unit]
    long = long.filter(pl.col(unit).is_in(complete.implode()))
    dropped = {"unbalanced": n_all - complete.len()}
    g = pl.col(first)
    long = long.with_columns(pl.when(g > times[-1]).then(0).otherwise(g).alias(first))
    early = (pl.col(first) > 0) & (pl.col(first) <= times[0])
    dropped["treated_at_start"] = long.filter(early)[unit].n_unique()
    long = long.filter(~early).sort(unit, time)
    if long.height == 0:
        raise NotEstimableError("no complete units left (every unit lacks a period or an outcome)")
    n = long.height // times.size
    Y = long[outcome].cast(pl.Float64).to_numpy().reshape(n, times.size)
    firsts = long.gather_every(times.size)
    G = firsts[first].to_numpy()
    if cluster:
        cl = firsts[cluster].rank("dense").to_numpy().astype(np.int64) - 1
    else:
        cl = np.arange(n)
    return _Panel(Y, G, times, firsts[unit], cl, int(cl.max()) + 1, dropped)


# ---------------------------------------------------------------------------------------
# estimation
# ---------------------------------------------------------------------------------------


def _cells(p: _Panel, control: ControlGroup) -> tuple[list[dict], np.ndarray]:
    """Each ATT(g,t) with its influence function (n-scaled, zero outside the cell)."""
    n = p.G.size
    rows: list[dict] = []
    infs: list[np.ndarray] = []
    for g in np.unique(p.G[p.G > 0]):  # cohorts x periods: a handful of cells, not units
        treated = p.G == g
        base_g = int(np.flatnonzero(p.times < g)[-1])
        for ti in range(1, p.times.size):
            t = p.times[ti]
            b = base_g if t >= g else ti - 1
            ctrl = p.G == 0
            if control == "not_yet":
                ctrl = ctrl | ((p.G > t) & ~treated)
            n1, n0 = int(treated.sum()), int(ctrl.sum())
            if n0 == 0:
                continue
            dy = p.Y[:, ti] - p.Y[:, b]
            m1, m0 = dy[treated].mean(), dy[ctrl].mean()
            inf = np.zeros(n)
            inf[treated] = n * (dy[treated] - m1) / n1
            inf[ctrl] = -n * (dy[ctrl] - m0) / n0
            rows.append(dict(group=g, time=t, base_period=p.times[b], att=m1 - m0, n1=n1, n0=n0))
            infs.append(inf)
    if not rows:
        raise ValueError("no group-time cell has control units (no never-treated units?)")
    return rows, np.column_stack(infs)


def _se(inf: np.ndarray, p: _Panel) -> np.ndarray:
    """Cluster-robust SE(s) of influence function column(s): sqrt(sum_c S_c^2) / n."""
    n = p.G.size
    Z = sparse.csr_matrix((np.ones(n), (p.cl, np.arange(n))), shape=(p.n_clusters, n))
    S = np.asarray(Z @ inf.reshape(n, -1))
    return np.sqrt((S**2).sum(axis=0)) / n


def _weight_if(keep: np.ndarray, pg: np.ndarray, G: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Influence function of the estimated cohort-share weights (did's ``wif``)."""
    spg = pg[keep].sum()
    centered = (G[:, None] == group[keep][None, :]).astype(float) - pg[keep][None, :]
    return centered / spg - np.outer(centered.sum(axis=1), pg[keep] / spg**2)


def _weighted(
    keep: np.ndarray, att: np.ndarray, inf: np.ndarray, pg: np.ndarray, G: np.ndarray, grp
) -> tuple[float, np.ndarray]:
    """Cohort-share weighted mean of ATT cells ``keep`` and its influence function."""
    w = pg[keep] / pg[keep].sum()
    psi = inf[:, keep] @ w + _weight_if(keep, pg, G, grp) @ att[keep]
    return float(w @ att[keep]), psi


def _ci_frame(cols: dict, att: np.ndarray, se: np.ndarray, z: float) -> pl.DataFrame:
    return pl.DataFrame(
        {**cols, "att": att, "std_error": se, "conf_low": att - z * se, "conf_high": att + z * se}
    )


def _aggregate(p: _Panel, tab: pl.DataFrame, inf: np.ndarray, z: float):
    g_cell = tab["group"].to_numpy()
    t_cell = tab["time"].to_numpy()
    att = tab["att"].to_numpy()
    cohorts = np.unique(p.G[p.G > 0])
    pg_cohort = np.array([np.mean(p.G == g) for g in cohorts])
    pg = pg_cohort[np.searchsorted(cohorts, g_cell)]
    post = np.flatnonzero(t_cell >= g_cell)
    if post.size == 0:
        raise ValueError("no post-treatment cells: every cohort is treated after the last period")
    simple, psi_simple = _weighted(post, att, inf, pg, p.G, g_cell)

    e_cell = t_cell - g_cell
    eseq = np.unique(e_cell)
    es = [_weighted(np.flatnonzero(e_cell == e), att, inf, pg, p.G, g_cell) for e in eseq]
    att_e = np.array([a for a, _ in es])
    psi_e = np.column_stack([s for _, s in es])
    pos = eseq >= 0
    psi_dyn = psi_e[:, pos].mean(axis=1)

    gs = [np.flatnonzero((g_cell == g) & (t_cell >= g)) for g in cohorts]
    has = np.array([k.size > 0 for k in gs])
    att_g = np.array([att[k].mean() for k, h in zip(gs, has, strict=True) if h])
    psi_g = np.column_stack([inf[:, k].mean(axis=1) for k, h in zip(gs, has, strict=True) if h])
    att_group, psi_group = _weighted(
        np.arange(att_g.size), att_g, psi_g, pg_cohort[has], p.G, cohorts[has]
    )

    n_groups = [int(np.unique(g_cell[e_cell == e]).size) for e in eseq]
    event = _ci_frame({"event_time": eseq}, att_e, _se(psi_e, p), z).with_columns(
        pl.Series("n_groups", n_groups)
    )
    by_group = _ci_frame({"group": cohorts[has]}, att_g, _se(psi_g, p), z).with_columns(
        pl.Series("n_units", [int(np.sum(p.G == g)) for g in cohorts[has]])
    )
    overall = _ci_frame(
        {"aggregation": ["simple", "event_study", "group"]},
        np.array([simple, att_e[pos].mean(), att_group]),
        _se(np.column_stack([psi_simple, psi_dyn, psi_group]), p),
        z,
    )
    return event, by_group, overall, psi_e, psi_g


def _multiplier_draws(inf: np.ndarray, p: _Panel, biters: int, rng: np.random.Generator):
    """Multiplier-bootstrap draws of the estimates' deviations: ``(1/n) sum_c v_c S_c`` with
    Rademacher ``v_c`` per cluster and cluster sums ``S_c`` of the influence functions
    (biters x columns); their conditional SD is the analytical clustered SE."""
    n = p.G.size
    Z = sparse.csr_matrix((np.ones(n), (p.cl, np.arange(n))), shape=(p.n_clusters, n))
    S = np.asarray(Z @ inf.reshape(n, -1))
    out = np.empty((biters, S.shape[1]))
    step = max(1, 2_000_000 // max(p.n_clusters, 1))  # bound the weight matrix's memory
    for start in range(0, biters, step):  # chunks of draws, not records
        k = min(step, biters - start)
        v = rng.integers(0, 2, size=(k, p.n_clusters), dtype=np.int8) * 2 - 1
        out[start : start + k] = (v @ S) / n
    return out


def _critical_value(
    draws: np.ndarray, se: np.ndarray, conf_level: float, z: float
) -> tuple[float, np.ndarray]:
    """Sup-t critical value as did's ``mboot``: each estimate's bootstrap SE is the
    interquartile range of its draws over that of the normal (type-1 quantiles); the critical
    value is the ``conf_level`` quantile (type 1) of ``max_j |D_j| / se_boot_j`` over the
    non-degenerate estimates, and never below the pointwise ``z`` (did's rule)."""
    b = draws.shape[0]

    def q(x: np.ndarray, prob: float) -> np.ndarray:  # R quantile(type = 1)
        return np.sort(x, axis=0)[max(int(np.ceil(prob * b)) - 1, 0)]

    iqr = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    se_boot = (q(draws, 0.75) - q(draws, 0.25)) / iqr
    finite = np.isfinite(se)
    keep = finite & (se > 1e-10 * np.max(se[finite], initial=0.0)) & (se_boot > 0)
    se_boot = np.where(keep, se_boot, np.nan)
    if not keep.any():
        return z, se_boot
    t = np.max(np.abs(draws[:, keep]) / se_boot[keep], axis=1)
    return max(float(q(t, conf_level)), z), se_boot


def _add_bands(
    tab: pl.DataFrame, inf: np.ndarray, p: _Panel, conf_level: float, z: float, b: int, rng
) -> tuple[pl.DataFrame, float]:
    draws = _multiplier_draws(inf, p, b, rng)
    c, se_boot = _critical_value(draws, tab["std_error"].to_numpy(), conf_level, z)
    sb = pl.Series("bootstrap_se", se_boot).fill_nan(None)
    return tab.with_columns(sb).with_columns(
        band_low=pl.col("att") - c * pl.col("bootstrap_se").fill_null(0.0),
        band_high=pl.col("att") + c * pl.col("bootstrap_se").fill_null(0.0),
    ), c


def did_group_time(
    frame: pl.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    *,
    control: ControlGroup = "never",
    cluster: str | None = None,
    conf_level: float = 0.95,
    cband: bool = False,
    biters: int = 1000,
    seed: int | None = None,
) -> DidResult:
    """Group-time average treatment effects under staggered adoption (R ``did::att_gt`` with
    ``xformla = ~1``, ``bstrap = FALSE``) and their aggregations (``did::aggte``).

    Parameters
    ----------
    frame
        A long panel: one row per unit and period.
    outcome
        Numeric outcome column (e.g. the share of deaths at home in a municipality-year).
    unit
        Unit identifier (region, municipality).
    time
        Numeric period (year, quarter number).
    first_treated
        The period in which the unit first adopts (constant within unit); 0 or null for units
        never treated; a value after the last period counts as never treated, units treated in
        or before the first period are left out (no pre-treatment period).
    control
        ``"never"`` (never-treated units) or ``"not_yet"`` (also units adopting after ``t``).
    cluster
        Optional column, constant within unit, to cluster the standard errors on (e.g. the
        region of a municipality); default: by unit.
    conf_level
        Level of the pointwise confidence intervals and of the simultaneous bands.
    cband
        Add simultaneous confidence bands (``bootstrap_se``, ``band_low``, ``band_high``) to
        ``group_time``, ``event_study`` and ``by_group``, from the multiplier bootstrap
        (Rademacher weights, clustered as the SEs), as ``did::att_gt(cband = TRUE)`` and
        ``aggte``: ``att -/+ c x bootstrap_se`` with the sup-t critical value ``c``
        (:attr:`DidResult.critical_values`). The pointwise ``conf_low``/``conf_high`` keep
        the analytical SE.
    biters
        Bootstrap draws for the bands.
    seed
        Seed of the bootstrap (``None``: not reproducible).

    Returns
    -------
    DidResult
        ``group_time``, ``event_study``, ``by_group`` and ``overall`` tables.

    Notes
    -----
    Units missing the outcome in any period are left out (a balanced panel, as the did
    package's default). The influence-function matrix is units x cells.

    Examples
    --------
    >>> rows = [(u, t, float(u + t + (2.0 if u < 2 and t >= 3 else 0.0)), 3 if u < 2 else 0)
    ...         for u in range(4) for t in (1, 2, 3)]
    >>> d = pl.DataFrame(rows, schema=["id", "t", "y", "g"], orient="row")
    >>> res = did_group_time(d, "y", "id", "t", "g")
    >>> res.overall.filter(pl.col("aggregation") == "simple")["att"].item()
    2.0
    """
    if control not in ("never", "not_yet"):
        raise ValueError(f"control must be 'never' or 'not_yet', got {control!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    if cband and (isinstance(biters, bool) or not isinstance(biters, int) or biters < 100):
        raise ValueError(f"biters must be an integer of at least 100, got {biters!r}")
    p = _panel(frame, outcome, unit, time, first_treated, cluster)
    if control == "never" and not np.any(p.G == 0):
        raise ValueError(
            f"no never-treated units in {first_treated!r} (0 or null); use control='not_yet'"
        )
    if not np.any(p.G > 0):
        raise ValueError(f"no treated units in {first_treated!r} after the first period")
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    rows, inf = _cells(p, control)
    cells = pl.DataFrame(rows)
    gt = _ci_frame(
        {
            "group": cells["group"],
            "time": cells["time"],
            "base_period": cells["base_period"],
            "event_time": cells["time"] - cells["group"],
            "post": cells["time"] >= cells["group"],
        },
        cells["att"].to_numpy(),
        _se(inf, p),
        z,
    ).with_columns(n_treated=cells["n1"], n_control=cells["n0"])
    event, by_group, overall, psi_e, psi_g = _aggregate(p, gt, inf, z)
    crit: dict[str, float] = {}
    boot: dict = {}
    if cband:
        rng = np.random.default_rng(seed)
        gt, crit["group_time"] = _add_bands(gt, inf, p, conf_level, z, biters, rng)
        event, crit["event_study"] = _add_bands(event, psi_e, p, conf_level, z, biters, rng)
        by_group, crit["by_group"] = _add_bands(by_group, psi_g, p, conf_level, z, biters, rng)
        boot = {"iterations": biters, "seed": seed, "weights": "rademacher"}
    return DidResult(
        group_time=gt,
        event_study=event,
        by_group=by_group,
        overall=overall,
        influence=inf,
        units=p.units,
        control=control,
        outcome=outcome,
        n_units=int(p.G.size),
        n_clusters=p.n_clusters,
        n_dropped_units=p.dropped,
        conf_level=conf_level,
        critical_values=crit,
        bootstrap=boot,
    )
