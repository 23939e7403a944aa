"""Helpers shared by :mod:`paleval.stats.survival` and :mod:`paleval.stats.competing`:
confidence limits of curves, tabulation of counts per distinct time, Newton-Raphson for partial
likelihoods and the checked inputs of a hazard regression. Public names inside this private
module; not part of paleval's API."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import stats as _sps

from paleval.stats._design import Coding
from paleval.stats._validate import (
    check_event,
    check_lengths,
    check_time,
    covariate_matrix,
    resolve_column,
)


def z_quantile(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(f"`conf_level` must be in (0, 1), got {conf_level}")
    return float(_sps.norm.ppf(1 - (1 - conf_level) / 2))


def confint(
    p: np.ndarray, se_log: np.ndarray, conf_type: str, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI as R ``survival:::survfit_confint`` (``se_log`` = SE of log p)."""
    p = np.asarray(p, dtype=float)
    se_log = np.asarray(se_log, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            lo = np.exp(np.log(xx) - z * se_log)
            hi = np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        elif conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se_log / np.log(xx)
            lo = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            hi = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        elif conf_type == "plain":
            se2 = z * se_log * p
            lo = np.maximum(p - se2, 0.0)
            hi = np.minimum(p + se2, 1.0)
        else:
            raise ValueError(f"`conf_type` must be 'log', 'log-log' or 'plain', got {conf_type!r}")
    return lo, hi


def tabulate(
    t: np.ndarray, e: np.ndarray, group: np.ndarray | None, cause: int = 1
) -> tuple[list[Any], list[dict[str, np.ndarray]]]:
    """Counts per group and distinct time: all rows, events of any cause, of ``cause``.

    Day-resolution data (integer-valued times, not too large) are tabulated with
    ``np.bincount`` in O(n + max time); other data with one O(n log n) sort. Both
    paths give identical tables (deterministic, no tie-breaking involved).
    """
    n = t.size
    if group is None:
        labels: list[Any] = ["all"]
        codes = np.zeros(n, dtype=np.int64)
    else:
        lab_arr, codes = np.unique(group, return_inverse=True)
        labels = lab_arr.tolist()
    ng = len(labels)
    is_ev = (e > 0).astype(np.float64)
    is_k = (e == cause).astype(np.float64)
    tmax = float(t.max())
    out = []
    if tmax < 2**31 and ng * (tmax + 1) <= max(8 * n, 2**22) and np.all(t == np.floor(t)):
        m = int(tmax) + 1
        key = codes * m + t.astype(np.int64)
        size = ng * m
        cnt = np.bincount(key, minlength=size).reshape(ng, m)
        d_all = np.bincount(key, weights=is_ev, minlength=size).reshape(ng, m)
        d_k = np.bincount(key, weights=is_k, minlength=size).reshape(ng, m)
        for gi in range(ng):
            nz = np.flatnonzero(cnt[gi])
            out.append(
                {
                    "time": nz.astype(np.float64),
                    "cnt": cnt[gi, nz].astype(np.float64),
                    "d_all": d_all[gi, nz],
                    "d_k": d_k[gi, nz],
                }
            )
        return labels, out
    order = np.lexsort((t, codes))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=ng))])
    for gi in range(ng):
        idx = order[bounds[gi] : bounds[gi + 1]]
        ts = t[idx]
        utimes, _, block = distinct(ts)
        nb = utimes.size
        out.append(
            {
                "time": utimes,
                "cnt": np.bincount(block, minlength=nb).astype(np.float64),
                "d_all": np.bincount(block, weights=is_ev[idx], minlength=nb),
                "d_k": np.bincount(block, weights=is_k[idx], minlength=nb),
            }
        )
    return labels, out


def distinct(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted ``ts``: distinct values, first index of each, block id of every row."""
    new = np.empty(ts.size, dtype=bool)
    new[0] = True
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    block = np.cumsum(new) - 1
    return ts[starts], starts, block


def newton(
    evaluate: Any, p: int, *, max_iter: int, tol: float, init: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, Any], bool, int]:
    """Newton-Raphson with step halving on the log (partial) likelihood."""
    beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    cur = evaluate(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        try:
            step = np.linalg.solve(cur["info"], cur["score"])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(cur["info"], cur["score"], rcond=None)[0]
        new_beta = beta + step
        new = evaluate(new_beta)
        halvings = 0
        while (not np.isfinite(new["loglik"]) or new["loglik"] < cur["loglik"] - 1e-12) and (
            halvings < 30
        ):
            step = step / 2
            new_beta = beta + step
            new = evaluate(new_beta)
            halvings += 1
        done = abs(new["loglik"] - cur["loglik"]) <= tol * max(1.0, abs(cur["loglik"])) and (
            np.max(np.abs(step)) <= np.sqrt(tol) * max(1.0, float(np.max(np.abs(beta))))
        )
        beta, cur = new_beta, new
        if done:
            converged = True
            break
    return beta, cur, converged, it


def prepare_regression(
    time: Any, event: Any, covariates: Any, data: pl.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Coding]:
    """Checked ``time``, ``event``, the covariate matrix and its coding (terms and the levels
    of the dummy-coded columns)."""
    time = resolve_column(time, data, "time")
    event = resolve_column(event, data, "event")
    if (
        isinstance(covariates, list | tuple)
        and covariates
        and all(isinstance(c, str) for c in covariates)
    ):
        if data is None:
            raise ValueError("`covariates` given as column names but no `data` frame was given")
        missing = [c for c in covariates if c not in data.columns]
        if missing:
            raise ValueError(f"`covariates`: columns {missing} not found in `data`")
        covariates = data.select(list(covariates))
    t = check_time(time)
    e = check_event(event)
    n = check_lengths(time=t, event=e)
    X, coding = covariate_matrix(covariates, n)
    return t, e, X, coding
