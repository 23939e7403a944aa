"""The interval (linear-programming) attack: suppression must defeat it, the auditor must run it.

Expected intervals are computed here with a linear program written from the raw table
(``scipy.optimize.linprog`` on the row and column sums), independently of
``paleval.disclosure.lp``. Each test failed on the code before the interval attack was added
to ``protect`` and to the auditor (checked with the code of commit 71e3925).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from paleval.disclosure import Margin, Protection, protect

T = 5

# Two-way tables on which the greedy secondary suppression of session 6 (exact deductions
# through single equations) left a primary cell whose interval, from the row and column
# totals, was a single value of 1-4 (found by a random search over 3x3 to 5x5 tables).
LEAKED_BEFORE = [
    [[6, 2, 8], [0, 0, 3], [12, 1, 0], [4, 4, 4]],
    [[6, 3, 5, 0, 3], [0, 1, 4, 0, 3], [5, 12, 2, 3, 2]],
    [[3, 4, 4], [5, 6, 3], [0, 3, 0], [5, 12, 0]],
    [[8, 5, 3], [6, 8, 12], [0, 0, 2]],
    [[8, 12, 5, 2, 4], [0, 4, 4, 0, 0], [6, 0, 3, 3, 0]],
    [[4, 40, 6], [6, 4, 5], [20, 6, 12], [6, 0, 1], [0, 2, 0]],
]


def _long(vals: list[list[int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "r": [f"r{i}" for i, row in enumerate(vals) for _ in row],
            "c": [f"c{j}" for row in vals for j in range(len(row))],
            "n": [v for row in vals for v in row],
        }
    )


def _intervals(vals: np.ndarray, hidden: np.ndarray) -> dict[tuple[int, int], tuple[int, int]]:
    """Feasibility interval of every hidden cell from the published cells and the row and
    column totals that are publishable (0 or at least T; a total of 1-4 is itself hidden)."""
    idx = list(zip(*np.nonzero(hidden), strict=True))
    pos = {k: i for i, k in enumerate(idx)}
    a, b = [], []
    for axis in (0, 1):
        for g in range(vals.shape[axis]):
            cells = (
                [(g, j) for j in range(vals.shape[1])]
                if axis == 0
                else [(i, g) for i in range(vals.shape[0])]
            )
            total = sum(vals[c] for c in cells)
            if 0 < total < T or not any(hidden[c] for c in cells):
                continue
            row = np.zeros(len(idx))
            for c in cells:
                if hidden[c]:
                    row[pos[c]] = 1.0
            a.append(row)
            b.append(total - sum(vals[c] for c in cells if not hidden[c]))
    out = {}
    for k, i in pos.items():
        if not a:
            out[k] = (0, math.inf)
            continue
        c = np.zeros(len(idx))
        c[i] = 1.0
        lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b, float), bounds=(0, None)).fun
        hi = -linprog(-c, A_eq=np.array(a), b_eq=np.array(b, float), bounds=(0, None)).fun
        out[k] = (math.ceil(lo - 1e-6), math.floor(hi + 1e-6))
    return out


@pytest.mark.parametrize("vals", LEAKED_BEFORE)
def test_protect_leaves_no_cell_bounded_inside_1_to_4_by_the_margins(
    vals: list[list[int]],
) -> None:
    out = protect(_long(vals), Protection(("n",), [Margin(("r",)), Margin(("c",))]))
    v = np.array(vals)
    hidden = np.array(out["n"].is_null().to_list()).reshape(v.shape)
    # every small cell is hidden
    assert not ((v > 0) & (v < T) & ~hidden).any()
    for cell, (lo, hi) in _intervals(v, hidden).items():
        assert not (lo >= 1 and hi <= T - 1), (cell, v[cell], lo, hi)
