"""The interval (linear-programming) attack shared by the auditor and by suppression.

An output checker computes, for every hidden count, the smallest and largest value that agree
with every published number and every linear relation between them (margins, complements,
steps, totals shared across tables), with counts non-negative (GaussSuppression's
``ComputeIntervals``; the attacker problem of sdcTable and tau-argus). A hidden count leaks when
that interval, rounded inward to integers, lies inside ``[1, threshold - 1]``: the value is
pinned, or the reader learns that it is a small non-zero count. A hidden count is protected when
some feasible point puts it at 0 and another at ``threshold`` or above -- the protection
requirement of sdcTable ("every primary sensitive cell cannot be recalculated") with the
interval the 5-person rule asks for.

:func:`leaking_intervals` solves this for a system ``A x = b`` with ``x >= 0`` (or free, for
derived differences that may be negative): a few aggregate linear programs settle the cells
that can reach the threshold or 0, and only the rest get their own pair of programs (with
integrality, by ``scipy.optimize.milp``, when asked).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = ["leaking_intervals"]

_TOL = 1e-6


def _reach(
    a: sparse.csr_array,
    b: np.ndarray,
    lower: np.ndarray,
    todo: list[int],
    cap: float,
    a_ub: sparse.csr_array | None,
    b_ub: np.ndarray | None,
) -> set[int] | None:
    """Variables of ``todo`` that some feasible point puts at ``cap`` or above: one LP that
    maximises sum(min(x_i, cap)); None when the system is infeasible."""
    n = a.shape[1]
    m = len(todo)
    a_eq = sparse.hstack([a, sparse.csr_array((a.shape[0], m))]).tocsr()
    link = sparse.hstack(
        [-sparse.csr_array((np.ones(m), (np.arange(m), todo)), shape=(m, n)), sparse.eye(m)]
    ).tocsr()
    ub_rows = [link]
    ub_rhs = [np.zeros(m)]
    if a_ub is not None and b_ub is not None:
        ub_rows.insert(0, sparse.hstack([a_ub, sparse.csr_array((a_ub.shape[0], m))]).tocsr())
        ub_rhs.insert(0, b_ub)
    c = np.concatenate([np.zeros(n), -np.ones(m)])
    bounds = [(lo, None) for lo in lower] + [(None, cap)] * m
    res = linprog(
        c,
        A_ub=sparse.vstack(ub_rows).tocsr(),
        b_ub=np.concatenate(ub_rhs),
        A_eq=a_eq,
        b_eq=b,
        bounds=bounds,
        method="highs",
    )
    if res.status == 2:
        return None
    if res.status != 0:
        return set()
    y = res.x[n:]
    return {todo[i] for i in range(m) if y[i] >= cap - _TOL}


def _zero(
    a: sparse.csr_array,
    b: np.ndarray,
    lower: np.ndarray,
    todo: list[int],
    a_ub: sparse.csr_array | None,
    b_ub: np.ndarray | None,
) -> set[int]:
    """Non-negative variables of ``todo`` at 0 in a point minimising their sum."""
    todo = [j for j in todo if lower[j] == 0]
    if not todo:
        return set()
    c = np.zeros(a.shape[1])
    c[todo] = 1.0
    bounds = [(lo, None) for lo in lower]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a, b_eq=b, bounds=bounds, method="highs")
    if res.status != 0:
        return set()
    return {j for j in todo if res.x[j] <= _TOL}


def _extreme(
    a: sparse.csr_array,
    b: np.ndarray,
    lower: np.ndarray,
    j: int,
    sign: float,
    integer: bool,
    a_ub: sparse.csr_array | None,
    b_ub: np.ndarray | None,
) -> float | None:
    """min (sign=1) or max (sign=-1) of x_j; None when unbounded or unsolved."""
    n = a.shape[1]
    c = np.zeros(n)
    c[j] = sign
    if integer:
        cons = [LinearConstraint(a, b, b)]
        if a_ub is not None and b_ub is not None:
            cons.append(LinearConstraint(a_ub, -np.inf, b_ub))
        res = milp(
            c,
            constraints=cons,
            integrality=np.ones(n),
            bounds=Bounds(np.where(np.isfinite(lower), lower, -np.inf), np.inf),
        )
    else:
        res = linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a,
            b_eq=b,
            bounds=[(lo, None) for lo in lower],
            method="highs",
        )
    if res.status != 0 or res.x is None:
        return None
    return sign * float(res.fun)


def leaking_intervals(
    a: sparse.csr_array,
    b: np.ndarray,
    targets: list[int],
    threshold: int,
    *,
    free: np.ndarray | None = None,
    a_ub: sparse.csr_array | None = None,
    b_ub: np.ndarray | None = None,
    integer: bool = False,
) -> dict[int, tuple[int, int]] | None:
    """The targets whose feasibility interval leaks, with that interval (integers).

    The system is ``a @ x == b``, ``a_ub @ x <= b_ub``, ``x >= 0`` except where ``free``. A
    target leaks when its interval, rounded inward, lies in ``[1, threshold - 1]`` (for a free
    variable the attacker also learns a small count when it lies in ``[-(threshold - 1), -1]``).
    Returns None when the system is infeasible (relations that do not hold together).

    Examples
    --------
    Two hidden cells of a row whose total is 9, one of them also in a column whose total
    (with the other cells of that column published) leaves 3:

    >>> a = sparse.csr_array(np.array([[1.0, 1.0], [1.0, 0.0]]))
    >>> leaking_intervals(a, np.array([9.0, 3.0]), [0, 1], 5)
    {0: (3, 3)}
    >>> leaking_intervals(a, np.array([12.0, 7.0]), [0, 1], 5)
    {}
    """
    n = a.shape[1]
    free = np.zeros(n, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    lower = np.where(free, -np.inf, 0.0)
    todo = list(dict.fromkeys(targets))
    while todo:
        high = _reach(a, b, lower, todo, float(threshold), a_ub, b_ub)
        if high is None:
            return None
        todo = [j for j in todo if j not in high]
        if not high:
            break
    if any(free[j] for j in todo):
        # a free target may leak on the negative side: settle those that reach -threshold
        neg = [j for j in todo if free[j]]
        flip = np.ones(n)
        flip[neg] = -1.0
        af = (a @ sparse.diags(flip)).tocsr()
        aubf = None if a_ub is None else (a_ub @ sparse.diags(flip)).tocsr()
        low = _reach(af, b, lower, neg, float(threshold), aubf, b_ub) or set()
        todo = [j for j in todo if j not in low]
    while todo:
        zero = _zero(a, b, lower, todo, a_ub, b_ub)
        todo = [j for j in todo if j not in zero]
        if not zero:
            break
    out = {}
    for j in todo:
        lo = _extreme(a, b, lower, j, 1.0, integer, a_ub, b_ub)
        hi = _extreme(a, b, lower, j, -1.0, integer, a_ub, b_ub)
        lo_i = math.ceil(lo - _TOL) if lo is not None else -math.inf
        hi_i = math.floor(hi + _TOL) if hi is not None else math.inf
        if (1 <= lo_i and hi_i <= threshold - 1) or (1 - threshold <= lo_i and hi_i <= -1):
            out[j] = (int(lo_i), int(hi_i))
    return out
