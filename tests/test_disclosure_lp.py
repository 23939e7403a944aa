"""The interval (linear-programming) attack: suppression must defeat it, the auditor must run it.

Expected intervals are computed here with a linear program written from the raw table
(``scipy.optimize.linprog`` on the row and column sums), independently of
``paleval.disclosure.lp``. Each test failed on the code before the interval attack was added
to ``protect`` and to the auditor and before curves were thinned (checked with the code of
commit 71e3925), except ``test_auditor_does_not_take_coincidental_nesting_as_a_complement``,
a guard against false findings of the new attack.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from paleval.disclosure import Margin, Protection, protect
from paleval.disclosure.audit import audit_grids
from paleval.disclosure.audit_read import Grid

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


def _lp_interval(a: list[list[float]], b: list[float], j: int) -> tuple[int, int]:
    c = np.zeros(len(a[0]))
    c[j] = 1.0
    lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None)).fun
    hi = -linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None)).fun
    return math.ceil(lo - 1e-6), math.floor(hi + 1e-6)


def test_auditor_bounds_a_cell_through_row_and_column_totals_when_every_row_hides_one() -> None:
    # Every row, the total row included, hides a cell, so no row confirms that "Total" is the
    # sum of the places; the column named Total declares it. No single difference opens a
    # cell (every row and column hides two, and no hidden pair sums to 1-4 within a row);
    # the six hidden places form a cycle of row and column totals that bounds home deaths of
    # region a to [2, 4].
    rows = [
        ["a", None, None, 12, 35],
        ["b", 15, None, None, 26],
        ["c", None, 60, None, 68],
        ["Total", 19, 81, 29, None],
    ]
    g = Grid("places.csv", "", ["region", "home", "hospital", "hospice", "Total"], rows)
    # independent: unknowns a_home, a_hosp, b_hosp, b_hospice, c_home, c_hospice
    a = [
        [1, 1, 0, 0, 0, 0],  # row a: 35 - 12
        [0, 0, 1, 1, 0, 0],  # row b: 26 - 15
        [0, 0, 0, 0, 1, 1],  # row c: 68 - 60
        [1, 0, 0, 0, 1, 0],  # home: 19 - 15
        [0, 1, 1, 0, 0, 0],  # hospital: 81 - 60
        [0, 0, 0, 1, 0, 1],  # hospice: 29 - 12
    ]
    b = [23.0, 11.0, 8.0, 4.0, 21.0, 17.0]
    assert _lp_interval(a, b, 0) == (2, 4)
    findings, _, _ = audit_grids([g], [])
    hits = [(f.kind, f.location, f.smallest) for f in findings]
    assert hits == [("differencing", "row 1 (a), column 'home'", 2)], hits
    assert "[2, 4]" in findings[0].how


def test_auditor_bounds_the_complement_of_a_hidden_count_pinned_by_a_total() -> None:
    # events of region a are hidden but pinned by the total row (92 - 20 - 35 = 37, not
    # small), and n is published: n - events = 40 - 37 = 3 persons without the event, a
    # count no published cell shows and no single rule of the old auditor computed.
    rows = [["a", 40, None], ["b", 30, 20], ["c", 50, 35], ["Total", 120, 92]]
    g = Grid("events.csv", "", ["region", "n", "events"], rows)
    assert 40 - (92 - 20 - 35) == 3
    findings, _, _ = audit_grids([g], [])
    assert [(f.kind, f.location, f.smallest) for f in findings] == [
        ("differencing", "row 1 (a), n - events", 3)
    ]
    assert "total row 4" in findings[0].how


def test_auditor_does_not_take_coincidental_nesting_as_a_complement() -> None:
    # hospital >= hospice in the visible rows, but neither holds the persons of the row:
    # hospital - hospice is no count of persons and must not be bounded
    rows = [["a", 40, None], ["b", 30, 20], ["c", 50, 35], ["Total", 120, 92]]
    g = Grid("places.csv", "", ["region", "hospital", "hospice"], rows)
    findings, _, _ = audit_grids([g], [])
    assert findings == []


def _curve() -> pl.DataFrame:
    # two groups followed monthly; a few persons are censored every month (emigration), so
    # the censored count n - at risk - events - competing changes by 1-4 between neighbouring
    # months: protected row by row, every month after the first is suppressed
    times = [0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0]
    ev_a = [0, 6, 12, 14, 20, 27, 33]
    cp_a = [0, 5, 10, 16, 22, 28, 34]
    ce_a = [0, 2, 4, 5, 8, 10, 12]
    ev_b = [0, 8, 15, 23, 26, 35, 41]
    cp_b = [0, 6, 12, 18, 25, 31, 38]
    ce_b = [0, 1, 3, 6, 7, 9, 12]
    rows = []
    for g, n, ev, cp, ce in (("a", 300, ev_a, cp_a, ce_a), ("b", 400, ev_b, cp_b, ce_b)):
        for t, e, c, z in zip(times, ev, cp, ce, strict=True):
            rows.append((g, t, n, n - e - c - z, e, c))
    return pl.DataFrame(
        rows, schema=["group", "time", "n", "n_risk", "events", "n_competing"], orient="row"
    ).with_columns(estimate=pl.col("events") / pl.col("n"))


def test_curve_published_on_a_coarser_grid_loses_fewer_cells_and_leaks_nothing() -> None:
    from paleval.analyses.referral import cif_protection

    raw = _curve()
    rowwise = protect(raw, cif_protection("group"))
    thinned = protect(raw, cif_protection("group", thin=True))
    shown = thinned.filter(~pl.col("suppressed"))
    # fewer suppressed cells, more published time points
    assert thinned["suppressed"].sum() < rowwise["suppressed"].sum()
    assert shown.height > rowwise.filter(~pl.col("suppressed")).height
    # attack, computed here from what is published: every count and the censored identity at
    # each published time, and their change between any two published times of a group
    cols = ["n_risk", "events", "n_competing"]
    for (_,), part in shown.group_by("group"):
        part = part.sort("time").with_columns(
            cens=pl.col("n") - pl.col("n_risk") - pl.col("events") - pl.col("n_competing")
        )
        vals = part.select([*cols, "cens"]).to_numpy()
        assert not ((vals > 0) & (vals < T)).any()
        for i in range(len(vals)):
            for j in range(i + 1, len(vals)):
                d = np.abs(vals[j] - vals[i])
                assert not ((d > 0) & (d < T)).any(), (part["time"][i], part["time"][j])
    # across groups at each published time (the totals other tables print)
    assert set(shown.filter(pl.col("group") == "a")["time"]) == set(
        shown.filter(pl.col("group") == "b")["time"]
    )


def test_reporting_times_stay_on_the_thinned_curve() -> None:
    from paleval.analyses.referral import cif_protection

    out = protect(_curve(), cif_protection("group", thin=True, keep=(90.0,)))
    assert 90.0 in out["time"].to_list()
