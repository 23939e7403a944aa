"""The disclosure model: what each exported table declares, and suppression that protects it.

A table declares its *count columns* (persons) and the *relations* between its numbers:

- :class:`Margin` -- rows that agree on ``by`` add up to a total (a total row of the table, or a
  total published elsewhere or implied: such a total is treated as *known to the attacker*);
- :class:`Complement` -- within a row, ``total - sum(parts)`` is a count of persons (``n -
  events``, ``referred - contacted``, ``n - at risk - events - competing`` = censored);
- :class:`Steps` -- consecutive rows (``order`` within ``by``) of a cumulative or a
  remaining count differ by a count of persons (flow steps, at-risk sets, cumulative events),
  optionally equal to a published column of the later row (``removed``: the flow's
  ``n_excluded``).

Every relation is compiled into linear equations ``total = part_1 + ... + part_k`` over
*cells*: published counts (row, column) and *virtual* cells (derived counts that are never
printed, such as ``n - events``). :func:`protect` then suppresses whole rows:

1. **primary**: every row with a count of 1 to ``threshold - 1`` (zero is not a disclosure);
2. **secondary**, until no equation leaks: the attacker's knowledge is propagated (a cell is
   known when it is published, or when it is the only unknown term of an equation, or when the
   unknown parts of an equation with a known total sum to 0); an equation *leaks* when a cell
   worth 1 to ``threshold - 1`` becomes known, or when the unknown parts of an equation whose
   total is known sum to 1 to ``threshold - 1`` (a combined group of fewer than ``threshold``
   persons). For each leaking equation the smallest published non-zero count among its terms
   (and the terms of the equations that revealed them) is suppressed with its row.

Dependent values (shares, estimates, confidence limits, medians) are blanked with their row;
a ``suppression`` column says ``"primary"`` or ``"secondary"`` (null when published).

3. **the interval attack**: the attacker's linear programs over every equation
   (:mod:`paleval.disclosure.lp`); a hidden small cell or derived count whose feasibility
   interval lies inside ``[1, threshold - 1]`` takes a further row with it, until every one can
   be 0 or reach the threshold (leaks that persist with the whole table hidden rest on totals
   printed elsewhere and are left to those tables).

Curve tables may instead be published on a coarser grid of their order column
(``Protection.thin``, :func:`thin_grid`).

The heuristic is of the family of sdcTable's ``SIMPLEHEURISTIC`` (protectTable) and
tau-argus' modular method, with the linear-programming attacker of the former. See
``docs/disclosure.md`` for the argument, the limits and the sources.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from collections.abc import Sequence as Seq
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse

from paleval.disclosure.audit_rules import subtractions
from paleval.disclosure.lp import leaking_intervals

__all__ = [
    "Complement",
    "DisclosureError",
    "Ledger",
    "Margin",
    "Protection",
    "Quantile",
    "Relation",
    "Steps",
    "active_ledger",
    "protect",
    "suppress_rows",
    "thin_grid",
]


class DisclosureError(ValueError):
    """A table cannot be made safe by suppression, or lacks its disclosure declaration."""


@dataclass(frozen=True)
class Margin:
    """Rows that agree on ``by`` add up (per count column in ``counts``) to a total.

    ``over``/``total``: the column whose value ``total`` marks the total row of each group
    (e.g. ``over="group", total="total"`` in Table 1). Without them the total is not in the
    table; it is treated as published (known), which is what makes each table safe on its own
    when tables share their totals (a grand total printed in a flow, a by-year and a
    by-diagnosis table of the same population).

    Examples
    --------
    >>> Margin(("variable", "group"), counts=("n",))
    Margin(by=('variable', 'group'), counts=('n',), over=None, total=None)
    """

    by: tuple[str, ...] = ()
    counts: tuple[str, ...] | None = None
    over: str | None = None
    total: str | None = None


@dataclass(frozen=True)
class Complement:
    """Within every row, ``total - sum(parts)`` is a count of persons.

    Examples
    --------
    >>> Complement("n", ("events",))
    Complement(total='n', parts=('events',), name=None)
    """

    total: str
    parts: tuple[str, ...]
    name: str | None = None
    """Name of the derived count, so a :class:`Steps` can use it (``"~censored"``)."""


@dataclass(frozen=True)
class Steps:
    """Consecutive rows (sorted by ``order`` within ``by``) of each column in ``columns``
    differ by a count of persons; with ``removed``, the difference is published in those
    columns of the later row (``n[i] = n[i+1] + n_excluded[i+1]``).

    Examples
    --------
    >>> Steps("step", ("n",), removed=("n_excluded",))
    Steps(order='step', columns=('n',), by=(), removed=('n_excluded',))
    """

    order: str
    columns: tuple[str, ...]
    by: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quantile:
    """A column holding an order statistic (``p`` = 0.5 for a median, 0.25 for a quartile) of
    the persons counted in ``n``, in the rows where ``where`` (column, value) holds (all rows
    when None): published only when ``min(p, 1 - p) * n >= threshold``, i.e. at least the
    threshold of persons on each side (a median from ``2 * threshold`` persons, a quartile
    from ``4 * threshold``). For columns not named like the statistic (Table 1's ``value``,
    ``value_low``, ``value_high`` on its ``"median (IQR)"`` rows).

    Examples
    --------
    >>> Quantile("value", 0.5, where=("level", "median (IQR)"))
    Quantile(column='value', p=0.5, n='n', where=('level', 'median (IQR)'))
    """

    column: str
    p: float
    n: str = "n"
    where: tuple[str, str] | None = None


Relation = Margin | Complement | Steps
"""A declared relation between the numbers of a table."""


@dataclass
class Protection:
    """How one table is protected: its count columns and relations.

    ``counts`` are person counts (checked and blanked); ``keep`` are numeric columns that are
    not derived from the row's persons (time points, thresholds, bin limits, standards) and
    are never blanked. Every other numeric column is blanked with its row. ``differences``
    (default on) adds, in every row, the difference of every pair of count columns as a
    derived count (a conservative stand-in for undeclared complements: ``n - events``,
    ``n_group - n``). ``totals`` are count columns that hold a published total on every row.

    Examples
    --------
    >>> Protection(("n", "events"), [Complement("n", ("events",))]).counts
    ('n', 'events')
    """

    counts: tuple[str, ...]
    relations: list[Relation] = field(default_factory=list)
    keep: tuple[str, ...] = ()
    differences: bool = True
    totals: tuple[str, ...] = ()
    """Count columns that are published totals repeated on every row (Table 1's ``n_group``):
    known to the reader whatever is suppressed, blanked only where they are themselves small."""
    published: tuple[tuple[str, int], ...] = ()
    """Cells known to the reader from elsewhere, as (column, row; negative from the end): the
    flow's final count is the cohort size every other table prints."""
    extremes: tuple[str, ...] = ()
    """Columns holding minima or maxima (one person's value): never published. Columns named
    ``min``, ``max``, ``minimum``, ``maximum`` or ending in ``_min``/``_max`` are added."""
    thin: str | None = None
    """The order column of a curve table (``time``) whose rows may be left out rather than
    suppressed: :func:`protect` publishes the table on a coarser grid of its order values, one
    grid for all groups, kept only where no count is small and every :class:`Steps` column
    (derived ones too) changes by 0 or at least the threshold between any two kept points,
    as life tables are published at fixed times (see :func:`thin_grid`)."""
    thin_keep: tuple[float, ...] = ()
    """Order values always published when ``thin`` is set (reporting times); suppression then
    protects them like any row."""
    reader_differences: bool = False
    """Also protect every within-row subtraction of count columns that an output checker
    tries (``a - b - c - d``, the auditor's own enumeration,
    :func:`paleval.disclosure.audit_rules.subtractions`), even where the columns overlap and
    the difference counts no set of persons: a row where one of them is 1 to
    ``threshold - 1`` is protected as if it were a count (a checker would query it)."""
    quantiles: tuple[Quantile, ...] = ()
    """Order statistics in columns not named like them (:class:`Quantile`); columns named
    ``median``, ``q1``, ``q3``, ``p25``, ``iqr``, ... are found by name."""
    link: tuple[str, ...] = ()
    """Label columns that identify a cell across the tables of one report (Table 1 by cause
    and Table 1 by cancer share the cancer and total columns). Under an active
    :class:`Ledger` (``paleval.report.export`` opens one per report), a table with ``link`` is
    protected together with the tables already published that hold the same cells (same
    labels, same counts): their suppression is fixed, their published cells are known, and
    secondary suppression in this table closes every leak of the union."""


# --------------------------------------------------------------------------------------------
# the equation system

Cell = tuple[str, int]  # (column, row); virtual columns start with "~"


class _System:
    def __init__(
        self, values: dict[str, list[int | None]], n_rows: int, threshold: int = 5
    ) -> None:
        self.values = values
        self.n_rows = n_rows
        self.threshold = threshold
        self.equations: list[tuple[Cell | None, list[Cell]]] = []
        self.totals: set[str] = set()
        self.published: set[Cell] = set()
        self.known_totals: dict[int, int] = {}
        self.fixed: set[int] = set()
        """Rows of tables published before (ledger): never suppressed here."""
        self.fixed_hidden: set[int] = set()

    def value(self, cell: Cell) -> int | None:
        return self.values[cell[0]][cell[1]]

    def add_virtual(self, name: str, vals: list[int | None]) -> str:
        key = f"~{name}"
        i = 1
        while key in self.values:
            i += 1
            key = f"~{name}#{i}"
        self.values[key] = vals
        return key

    def equation(self, total: Cell | None, parts: list[Cell]) -> None:
        cells = [c for c in [total, *parts] if c is not None]
        if any(self.value(c) is None for c in cells) or not parts:
            return  # a missing number is not part of the published identity
        self.equations.append((total, parts))


def _groups(frame: pl.DataFrame, by: Seq[str]) -> list[list[int]]:
    if not by:
        return [list(range(frame.height))]
    g = frame.with_row_index("_r").group_by(list(by), maintain_order=True).agg(pl.col("_r"))
    return [list(x) for x in g["_r"].to_list()]


def _compile_margin(sys: _System, frame: pl.DataFrame, rel: Margin, counts: Seq[str]) -> None:
    cols = list(rel.counts) if rel.counts is not None else list(counts)
    by = list(rel.by)
    if rel.over is not None:
        is_total = (frame[rel.over].cast(pl.String) == str(rel.total)).to_list()
    else:
        is_total = [False] * frame.height
    for rows in _groups(frame, by):
        tot = [r for r in rows if is_total[r]]
        parts = [r for r in rows if not is_total[r]]
        if rel.over is not None and len(tot) != 1:
            continue  # no total row for this group
        if not tot and len(parts) < 2:
            continue  # the implied total of one row is that row, not a second number
        for c in cols:
            total_cell = (c, tot[0]) if tot else None
            sys.equation(total_cell, [(c, r) for r in parts])


def _compile_complement(sys: _System, rel: Complement) -> None:
    tot = sys.values[rel.total]
    parts = [sys.values[p] for p in rel.parts]
    rest: list[int | None] = []
    for r in range(sys.n_rows):
        vals = [tot[r], *(p[r] for p in parts)]
        if any(v is None for v in vals):
            rest.append(None)
            continue
        d = vals[0] - sum(vals[1:])  # type: ignore[operator]
        # kept when negative: an identity that holds only up to ties (at risk *at* t, events
        # *up to* t) still gives a reader a difference of published counts to check
        rest.append(d)
    if rel.name is not None:
        name = f"~{rel.name}"
        sys.values[name] = rest
    else:
        name = sys.add_virtual(f"{rel.total}-{'-'.join(rel.parts)}", rest)
    for r in range(sys.n_rows):
        if rest[r] is not None:
            sys.equation((rel.total, r), [*((p, r) for p in rel.parts), (name, r)])


_WINDOW = 40
"""Rows apart within which every pair of a sequence is related (all pairs in shorter groups)."""


def _sequence_pairs(frame: pl.DataFrame, rel: Steps) -> list[tuple[int, int, bool]]:
    """(earlier row, later row, consecutive) for every pair within ``_WINDOW`` rows."""
    order = frame[rel.order].to_list()
    out = []
    for rows in _groups(frame, rel.by):
        rows = sorted((r for r in rows if order[r] is not None), key=lambda r: order[r])
        for i, a in enumerate(rows):
            for j in range(i + 1, min(len(rows), i + 1 + _WINDOW)):
                out.append((a, rows[j], j == i + 1))
    return out


def _compile_sequence(sys: _System, frame: pl.DataFrame, rel: Steps) -> None:
    """Every two rows of a cumulative (or remaining) count differ by a count of persons: one
    equation per pair, so that a difference between any two published rows is checked, not
    only between neighbours."""
    pairs = _sequence_pairs(frame, rel)
    for c in rel.columns:
        vals = sys.values[c]
        diffs: list[int | None] = []
        name = sys.add_virtual(f"diff:{c.lstrip('~')}", diffs)
        # ties are oriented as the column runs (a reader knows that cumulative events grow
        # and at-risk sets shrink, not which of two equal hidden values is the larger)
        steps = [vals[b] - vals[a] for a, b, _ in pairs if None not in (vals[a], vals[b])]  # type: ignore[operator]
        rising = sum(d > 0 for d in steps) > sum(d < 0 for d in steps)
        for a, b, consecutive in pairs:
            va, vb = vals[a], vals[b]
            if va is None or vb is None:
                continue
            hi, lo = (a, b) if va > vb or (va == vb and not rising) else (b, a)
            removed = [sys.values[x][b] for x in rel.removed]
            if consecutive and rel.removed and None not in removed and sum(removed) == abs(va - vb):  # type: ignore[arg-type]
                sys.equation((c, hi), [(c, lo), *((x, b) for x in rel.removed)])
            diffs.append(abs(va - vb))
            sys.equation((c, hi), [(c, lo), (name, len(diffs) - 1)])


def _compile_differences(sys: _System, counts: Seq[str]) -> None:
    for i, a in enumerate(counts):
        for b in counts[i + 1 :]:
            va, vb = sys.values[a], sys.values[b]
            d = [
                None if x is None or y is None or x == y else abs(x - y)
                for x, y in zip(va, vb, strict=True)
            ]
            if all(v is None for v in d):
                continue
            name = sys.add_virtual(f"{a}-{b}", d)
            for r in range(sys.n_rows):
                if d[r] is None:
                    continue
                hi, lo = (a, b) if va[r] > vb[r] else (b, a)  # type: ignore[operator]
                sys.equation((hi, r), [(lo, r), (name, r)])


def _as_count(v: float | None) -> int | None:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return int(v + 0.5) if v >= 0 else -int(-v + 0.5)


def _small(v: int | None, threshold: int) -> bool:
    """1 to ``threshold - 1`` persons (a derived difference counts by its size)."""
    return v is not None and 0 < abs(v) < threshold


def _total_known(
    sys: _System, total: Cell | None, parts: list[Cell], known: set[Cell], t: int
) -> bool:
    """Whether the total of an equation is known: a published or deduced cell, or an implied
    total that is publishable (0 or at least ``t``; a smaller total is itself suppressed
    wherever it is printed)."""
    if total is not None:
        return total in known
    return not _small(sum(sys.value(c) or 0 for c in parts), t)


def _propagate(sys: _System, hidden: set[int], threshold: int) -> tuple[set[Cell], dict[Cell, int]]:
    """The cells the attacker knows, and the equation that revealed each deduced cell."""
    known: set[Cell] = set()
    for col, vals in sys.values.items():
        if col.startswith("~"):
            continue
        always = col in sys.totals
        for r, v in enumerate(vals):
            if v is not None and (r not in hidden or (always and not _small(v, threshold))):
                known.add((col, r))
    known |= {c for c in sys.published if sys.value(c) is not None}
    deduced: dict[Cell, int] = {}
    changed = True
    while changed:
        changed = False
        for k, (total, parts) in enumerate(sys.equations):
            unknown = [c for c in parts if c not in known]
            total_unknown = not _total_known(sys, total, parts, known, threshold)
            if total_unknown and total is not None:
                unknown.append(total)
            if total_unknown and total is None:
                continue
            if len(unknown) == 1:
                known.add(unknown[0])
                deduced[unknown[0]] = k
                changed = True
            elif unknown and not total_unknown and sum(sys.value(c) or 0 for c in unknown) == 0:
                for c in unknown:
                    known.add(c)
                    deduced[c] = k
                changed = True
    return known, deduced


def _leaks(sys: _System, known: set[Cell], deduced: dict[Cell, int], threshold: int) -> list[int]:
    """Equations through which a count of 1 to threshold - 1 is recovered."""
    out = {k for c, k in deduced.items() if _small(sys.value(c), threshold)}
    for k, (total, parts) in enumerate(sys.equations):
        if not _total_known(sys, total, parts, known, threshold):
            continue
        s = sum(sys.value(c) or 0 for c in parts if c not in known)
        if 0 < abs(s) < threshold:
            out.add(k)
    return sorted(out)


def _pool(sys: _System, k: int, deduced: dict[Cell, int], hidden: set[int]) -> list[Cell]:
    """The terms of equation ``k`` and, breadth first, of the equations that revealed its
    deduced terms, until a published (suppressible) cell is among them."""
    seen_eq = {k}
    frontier = [k]
    pool: list[Cell] = []
    depth = 0
    while frontier:
        depth += 1
        nxt = []
        for e in frontier:
            total, parts = sys.equations[e]
            for c in [total, *parts]:
                if c is None:
                    continue
                pool.append(c)
                if c in deduced and deduced[c] not in seen_eq:
                    seen_eq.add(deduced[c])
                    nxt.append(deduced[c])
        if depth >= 2 and any(_suppressible(sys, c, hidden) for c in pool):
            break
        frontier = nxt
    return pool


def _suppressible(sys: _System, cell: Cell, hidden: set[int]) -> bool:
    col, r = cell
    return not (
        col.startswith("~")
        or r in hidden
        or r in sys.fixed
        or col in sys.totals
        or cell in sys.published
    ) and (sys.value(cell) is not None)


def _candidate(
    sys: _System, k: int, deduced: dict[Cell, int], hidden: set[int], added: set[int]
) -> int | None:
    """The row to suppress next for leaking equation ``k``: the smallest published non-zero
    count among its terms and the terms of the equations that revealed them (``-1`` when a
    row added in this round is among them: the leak may be closed already)."""
    pool = _pool(sys, k, deduced, hidden)
    if any(r in added for col, r in pool if not col.startswith("~")):
        return -1
    best: tuple[int, int, int] | None = None  # (is_zero, value, row)
    for col, r in pool:
        if not _suppressible(sys, (col, r), hidden):
            continue
        v = sys.value((col, r))
        key = (int(v == 0), v, r)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def _lp_system(
    sys: _System, known: set[Cell], threshold: int
) -> tuple[dict[Cell, int], sparse.csr_array, np.ndarray, np.ndarray, list[list[int]]]:
    """The attacker's linear system over the cells not known: one row per equation with an
    unknown cell (an implied total of 1 to ``threshold - 1`` is not known, so its equation is
    left out), the variables (free when the derived count can be negative) and, per variable,
    the equations it is in."""
    vars_: dict[Cell, int] = {}
    ri, ci, co, rhs = [], [], [], []
    eqs: list[int] = []
    for k, (total, parts) in enumerate(sys.equations):
        if total is None and not _total_known(sys, None, parts, known, threshold):
            continue
        terms = [(c, 1.0) for c in parts]
        const = -float(sum(sys.value(c) or 0 for c in parts)) if total is None else 0.0
        if total is not None:
            terms.append((total, -1.0))
        row_known = const
        unknown = []
        for c, coef in terms:
            if c in known:
                row_known += coef * (sys.value(c) or 0)
            else:
                unknown.append((c, coef))
        if not unknown:
            continue
        i = len(rhs)
        for c, coef in unknown:
            ri.append(i)
            ci.append(vars_.setdefault(c, len(vars_)))
            co.append(coef)
        rhs.append(-row_known)
        eqs.append(k)
    a = sparse.csr_array((co, (ri, ci)), shape=(len(rhs), len(vars_)))
    negative = {c for c, vals in sys.values.items() if any(v is not None and v < 0 for v in vals)}
    free = np.array([c[0] in negative for c in vars_], dtype=bool)
    of_var: list[list[int]] = [[] for _ in vars_]
    for i, j in zip(ri, ci, strict=True):
        of_var[j].append(eqs[i])
    return vars_, a, np.array(rhs, dtype=float), free, of_var


def _lp_candidates(
    sys: _System, threshold: int, known: set[Cell], hidden: set[int]
) -> list[tuple[Cell, set[int]]]:
    """Hidden small cells whose feasibility interval lies in ``[1, threshold - 1]`` (the
    interval attack), each with the equations it is in."""
    vars_, a, b, free, of_var = _lp_system(sys, known, threshold)
    targets = [j for c, j in vars_.items() if _small(sys.value(c), threshold)]
    if not targets:
        return []
    out = leaking_intervals(a, b, targets, threshold, free=free)
    names = {j: c for c, j in vars_.items()}
    return [(names[j], set(of_var[j])) for j in sorted(out or {})]


def _lp_row(sys: _System, eqs: set[int], hidden: set[int]) -> int | None:
    """The row to suppress against an interval leak: the smallest published non-zero count in
    the leaking cell's equations, then in equations sharing a hidden row with them."""

    def best(cells: list[Cell]) -> int | None:
        pick: tuple[int, int, int] | None = None
        for cell in cells:
            if _suppressible(sys, cell, hidden):
                v = sys.value(cell)
                key = (int(v == 0), v, cell[1])  # type: ignore[arg-type]
                if pick is None or key < pick:
                    pick = key
        return None if pick is None else pick[2]

    def cells_of(ks: set[int]) -> list[Cell]:
        return [c for k in ks for c in (sys.equations[k][0], *sys.equations[k][1]) if c is not None]

    seen = set(eqs)
    for _ in range(4):
        r = best(cells_of(seen))
        if r is not None:
            return r
        rows = {c[1] for c in cells_of(seen) if c[1] in hidden}
        more = {
            k
            for k, (total, parts) in enumerate(sys.equations)
            if any(c is not None and c[1] in rows for c in (total, *parts))
        }
        if more <= seen:
            break
        seen |= more
    return None


def _unfixable(sys: _System, threshold: int) -> set[Cell]:
    """Small cells the interval attack bounds even with every row of the table hidden: they
    rest on totals known from elsewhere (published or implied), so no suppression in this
    table protects them; the tables that print those totals must."""
    every = (set(range(sys.n_rows)) - sys.fixed) | sys.fixed_hidden
    known, _ = _propagate(sys, every, threshold)
    return {cell for cell, _ in _lp_candidates(sys, threshold, known, every)}


def _solve(sys: _System, primary: set[int], threshold: int, table: str) -> set[int]:
    hidden = set(primary)
    unfixable: set[Cell] | None = None
    for _ in range(10 * sys.n_rows + 10):
        known, deduced = _propagate(sys, hidden, threshold)
        leaks = _leaks(sys, known, deduced, threshold)
        if not leaks:
            lp = _lp_candidates(sys, threshold, known, hidden) if hidden else []
            if lp and unfixable is None:
                unfixable = _unfixable(sys, threshold)
            lp = [(cell, eqs) for cell, eqs in lp if cell not in (unfixable or set())]
            rows = {_lp_row(sys, eqs, hidden) for _, eqs in lp} - {None}
            if not rows:
                # no leak, or leaks whose equations hold no published cell any more: they
                # rest on implied totals alone (printed, and protected, by other tables)
                return hidden
            hidden |= rows  # type: ignore[arg-type]
            continue
        added: set[int] = set()
        for k in leaks:
            r = _candidate(sys, k, deduced, hidden, added)
            if r is not None and r >= 0:
                added.add(r)
        if not added:
            total, parts = sys.equations[leaks[0]]
            raise DisclosureError(
                f"table {table!r}: a count under {threshold} stays recoverable through "
                f"{_describe(total, parts)} and no published cell is left to suppress; "
                "publish the table at a coarser level"
            )
        hidden |= added
    raise DisclosureError(f"table {table!r}: secondary suppression did not converge")


def _describe(total: Cell | None, parts: list[Cell]) -> str:
    def name(c: Cell) -> str:
        return f"{c[0].lstrip('~')}[row {c[1]}]"

    lhs = "a published total" if total is None else name(total)
    return (
        f"{lhs} = " + " + ".join(name(c) for c in parts[:6]) + (" + ..." if len(parts) > 6 else "")
    )


def protect(
    table: pl.DataFrame,
    protection: Protection,
    *,
    threshold: int = 5,
    rounding: int | None = None,
    name: str = "table",
) -> pl.DataFrame:
    """Suppress rows of ``table`` so that no count of 1 to ``threshold - 1`` is published or
    recoverable through the declared relations; mark them ``primary``/``secondary``.

    Returns the table with suppressed rows' counts and dependent values set to null, a Boolean
    column ``suppressed`` and a String column ``suppression`` (``"primary"``, ``"secondary"``
    or null). With ``rounding`` (e.g. 5 or 10) the published counts are then rounded to that
    base (half up); suppression is applied first, so rounding never publishes a small count.

    Examples
    --------
    A group of 100 with 96 events: 4 persons without the event, so both numbers go; the row's
    own numbers are large, so it is marked secondary ("[s]"), not "<5".

    >>> t = pl.DataFrame({"g": ["a", "b"], "n": [100, 60], "events": [96, 30]})
    >>> out = protect(t, Protection(("n", "events"), [Complement("n", ("events",))]))
    >>> out["suppression"].to_list()
    ['secondary', None]
    >>> out["n"].to_list()
    [None, 60]

    A margin whose total is known (published or implied): one small cell takes the smallest
    other cell of its group with it.

    >>> t = pl.DataFrame({"year": [2020, 2021, 2022], "n": [3, 40, 25]})
    >>> protect(t, Protection(("n",), [Margin()]))["suppression"].to_list()
    ['primary', None, 'secondary']
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    if rounding is not None and rounding < 1:
        raise ValueError(f"rounding must be a positive base (e.g. 5 or 10), got {rounding}")
    counts = list(protection.counts)
    if not counts:
        raise DisclosureError(f"table {name!r}: no count columns declared")
    _check_columns(table, protection, name)
    if protection.thin is not None:
        table = table.filter(
            pl.col(protection.thin).is_null()
            | pl.col(protection.thin).is_in(thin_grid(table, protection, threshold))
        )
    table = table.drop("suppressed", "suppression", strict=False)
    values: dict[str, list[int | None]] = {}
    for c in counts:
        s = table[c]
        if not s.dtype.is_numeric():
            raise DisclosureError(f"table {name!r}: count column {c!r} is {s.dtype}, not numeric")
        values[c] = [_as_count(v) for v in s.to_list()]
    sys = _system_of(table, protection, values, threshold)
    primary = {
        r for r in range(table.height) if any(_small(values[c][r], threshold) for c in counts)
    }
    ledger = _ACTIVE_LEDGER.get()
    linked = ledger.linked(table, protection, threshold) if ledger and protection.link else []
    if linked:
        sys = _with_linked(sys, table, protection, linked)
    hidden = _solve(sys, primary | sys.fixed_hidden, threshold, name)
    hidden = {r for r in hidden if r < table.height}
    if protection.reader_differences:
        declared: set[tuple[int, tuple[int, ...]]] = set()
        while found := _reader_differences(values, counts, hidden, threshold) - declared:
            declared |= found
            for a, sub in sorted(found):
                _compile_complement(sys, Complement(counts[a], tuple(counts[i] for i in sub)))
            hidden = _solve(sys, primary | sys.fixed_hidden | hidden, threshold, name)
            hidden = {r for r in hidden if r < table.height}
    if ledger is not None and protection.link:
        ledger.record(name, table, protection, hidden, threshold)
    return _apply(table, protection, counts, primary, hidden, rounding, threshold)


def _system_of(
    table: pl.DataFrame,
    protection: Protection,
    values: dict[str, list[int | None]],
    threshold: int = 5,
) -> _System:
    sys = _System(values, table.height, threshold)
    sys.totals = set(protection.totals)
    sys.published = {(c, r % table.height) for c, r in protection.published if table.height}
    _compile(sys, table, protection, list(protection.counts))
    return sys


# --------------------------------------------------------------------------------------------
# the report's ledger: tables that hold the same cells are protected together

_ACTIVE_LEDGER: ContextVar[Ledger | None] = ContextVar("paleval_ledger", default=None)


@dataclass
class _Entry:
    name: str
    table: pl.DataFrame
    protection: Protection
    hidden: set[int]
    threshold: int


class Ledger:
    """What one report has published so far, for tables that declare ``Protection.link``.

    A table protected while the ledger is active (``with ledger.active(): ...``) is checked
    against the tables recorded before it: those that hold the same cells (rows with the same
    ``link`` labels and the same counts, on at least one such row with a non-zero count, and
    no shared row whose counts differ) are *linked*. The union is then one system of
    equations: each table's own relations, and ``cell = cell`` for every shared cell. The
    earlier tables' suppression is fixed (they are printed already), so secondary suppression
    happens in the new table until no count under the threshold is recoverable from the union.
    Hiding all of the new table always works, so this never fails where the tables alone did
    not. Only unpublished values are kept in memory; nothing is written.

    Examples
    --------
    Table 1 by cause hides d (2) and, because the total 70 is printed, c (30) with it; Table 1
    by cancer would print c = 30, giving d = 70 - 30 - 38 = 2, so it must hide c (and nc):

    >>> decl = Protection(("n",), [Margin(("v",), over="g", total="all")], link=("v", "g"))
    >>> by_cause = pl.DataFrame({"v": ["x"] * 4, "g": ["c", "d", "e", "all"], "n": [30, 2, 38, 70]})
    >>> by_cancer = pl.DataFrame({"v": ["x"] * 3, "g": ["c", "nc", "all"], "n": [30, 40, 70]})
    >>> protect(by_cancer, decl)["suppression"].to_list()  # alone: nothing to hide
    [None, None, None]
    >>> ledger = Ledger()
    >>> with ledger.active():
    ...     first = protect(by_cause, decl)
    ...     second = protect(by_cancer, decl)
    >>> first["suppression"].to_list(), second["suppression"].to_list()
    (['secondary', 'primary', None, None], ['secondary', 'secondary', None])
    """

    def __init__(self) -> None:
        self.entries: list[_Entry] = []

    @contextmanager
    def active(self) -> Iterator[Ledger]:
        """Make this ledger the one :func:`protect` consults (within this context)."""
        token = _ACTIVE_LEDGER.set(self)
        try:
            yield self
        finally:
            _ACTIVE_LEDGER.reset(token)

    def record(
        self, name: str, table: pl.DataFrame, protection: Protection, hidden: set[int], t: int
    ) -> None:
        """Remember a protected table (unpublished values in memory only)."""
        self.entries.append(_Entry(name, table, protection, set(hidden), t))

    def hide_more(self, table: pl.DataFrame, rows: set[int]) -> None:
        """Record rows of an already recorded table that were suppressed after
        :func:`protect` (Table 1's group sizes): later tables treat them as hidden."""
        table = table.drop("suppressed", "suppression", strict=False)
        for e in reversed(self.entries):
            if e.table.equals(table):
                e.hidden |= set(rows)
                return

    def linked(self, table: pl.DataFrame, protection: Protection, threshold: int) -> list[_Entry]:
        """The recorded tables that hold cells of ``table`` (see the class docstring)."""
        return [
            e
            for e in self.entries
            if e.protection.link == protection.link
            and e.threshold == threshold
            and _shares_cells(table, e.table, protection.link, _common_counts(protection, e))
        ]


def active_ledger() -> Ledger | None:
    """The ledger :func:`protect` consults now (None outside ``Ledger.active()``).

    Examples
    --------
    >>> active_ledger() is None
    True
    >>> with Ledger().active() as led:
    ...     active_ledger() is led
    True
    """
    return _ACTIVE_LEDGER.get()


def _common_counts(protection: Protection, e: _Entry) -> list[str]:
    return [c for c in protection.counts if c in e.protection.counts]


def _shares_cells(a: pl.DataFrame, b: pl.DataFrame, on: Seq[str], counts: list[str]) -> bool:
    if not counts or any(c not in a.columns or c not in b.columns for c in on):
        return False
    left = a.select(*on, *counts).with_columns(pl.col(list(on)).cast(pl.String))
    right = b.select(*on, *counts).with_columns(pl.col(list(on)).cast(pl.String))
    both = left.join(right, on=list(on), how="inner", suffix="_b")
    if both.height == 0:
        return False
    same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}_b")) for c in counts])
    nonzero = pl.any_horizontal([pl.col(c).fill_null(0) > 0 for c in counts])
    return bool(both.select(same.all() & nonzero.any()).item())


def _with_linked(
    sys: _System, table: pl.DataFrame, protection: Protection, linked: list[_Entry]
) -> _System:
    """One system: this table (rows first), the linked tables after it (fixed), and an
    equation ``cell = cell`` for every cell two of them share. A cell of this table that a
    linked table printed is published here too (it is known; hiding it would only lose it)."""
    parts = [(table, protection, sys)]
    for e in linked:
        vals = {c: [_as_count(v) for v in e.table[c].to_list()] for c in e.protection.counts}
        parts.append(
            (e.table, e.protection, _system_of(e.table, e.protection, vals, sys.threshold))
        )
    n_rows = sum(t.height for t, _, _ in parts)
    merged = _System({}, n_rows)
    offsets = []
    off = 0
    for k, (tab, _, sub) in enumerate(parts):
        offsets.append(off)
        rename = {c: (c if not c.startswith("~") else f"{c}@{k}") for c in sub.values}
        for c, vals in sub.values.items():
            col = merged.values.setdefault(rename[c], [None] * n_rows)
            col[off : off + tab.height] = vals
        for total, ps in sub.equations:
            merged.equations.append(
                (
                    None if total is None else (rename[total[0]], total[1] + off),
                    [(rename[c], r + off) for c, r in ps],
                )
            )
        merged.totals |= sub.totals
        merged.published |= {(rename[c], r + off) for c, r in sub.published}
        off += tab.height
    for k, e in enumerate(linked, start=1):
        merged.fixed |= set(range(offsets[k], offsets[k] + e.table.height))
        merged.fixed_hidden |= {r + offsets[k] for r in e.hidden}
    _link_equations(merged, parts, offsets, protection.link)
    return merged


def _link_equations(
    sys: _System, parts: list[tuple[pl.DataFrame, Protection, _System]], offsets: list[int],
    on: Seq[str],
) -> None:  # fmt: skip
    keyed = [
        tab.select(pl.concat_str([pl.col(c).cast(pl.String) for c in on], separator="\x1f"))
        .to_series()
        .to_list()
        for tab, _, _ in parts
    ]
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            where = {key: r for r, key in enumerate(keyed[j])}
            counts = [c for c in parts[i][1].counts if c in parts[j][1].counts]
            for r, key in enumerate(keyed[i]):
                if key not in where:
                    continue
                a, b = r + offsets[i], where[key] + offsets[j]
                for c in counts:
                    sys.equation((c, a), [(c, b)])
                if i == 0 and b not in sys.fixed_hidden:
                    # printed already: known to every reader, and hiding it here hides nothing
                    sys.published |= {(c, a) for c in counts}


def thin_grid(table: pl.DataFrame, protection: Protection, threshold: int = 5) -> list:
    """The order values of ``protection.thin`` at which a curve table is published.

    Walking the order values upwards from the first, a value is kept when, in every group of
    the table's :class:`Steps`, no count or named :class:`Complement` (``~censored``) there is
    1 to ``threshold - 1`` and every step column differs from its value at each point kept
    before by 0 or at least ``threshold``. The first value and those in
    ``protection.thin_keep`` are kept (suppression then checks them like any row). Groups
    without a row at a value do not block it.

    Examples
    --------
    Cumulative events 0, 2, 6, 7, 12: day 30 (2 events) and day 90 (one more than day 60)
    are left out; 0, 6 and 12 are at least 5 apart.

    >>> t = pl.DataFrame({"time": [0, 30, 60, 90, 120], "n": [50] * 5,
    ...                   "events": [0, 2, 6, 7, 12]})
    >>> thin_grid(t, Protection(("n", "events"), [Steps("time", ("events",))], thin="time"))
    [0, 60, 120]
    """
    order = protection.thin
    if order is None:
        raise DisclosureError("thin_grid needs a Protection with thin= (the order column)")
    steps = [r for r in protection.relations if isinstance(r, Steps) and r.order == order]
    by = sorted({b for r in steps for b in r.by})
    virtual = {
        f"~{r.name}": pl.col(r.total) - pl.sum_horizontal([pl.col(p) for p in r.parts])
        for r in protection.relations
        if isinstance(r, Complement) and r.name
    }
    step_cols = list(dict.fromkeys(c for r in steps for c in r.columns))
    small_cols = [c for c in protection.counts if c not in protection.totals] + list(virtual)
    cols = list(dict.fromkeys(small_cols + step_cols))
    frame = (
        table.filter(pl.col(order).is_not_null())
        .with_columns(**virtual)
        .select(order, *by, *[pl.col(c).cast(pl.Float64) for c in cols])
    )
    values = sorted(frame[order].unique().to_list())
    if not values:
        return []
    groups = frame.select(by).unique(maintain_order=True) if by else pl.DataFrame({"_g": [0]})
    grid = pl.DataFrame({order: values}).join(groups, how="cross")
    if not by:
        frame = frame.with_columns(_g=pl.lit(0))
        by = ["_g"]
    full = grid.join(frame, on=[order, *by], how="left").sort(order, *by)
    x = full.select(cols).to_numpy().reshape(len(values), groups.height, len(cols))
    small_idx = [cols.index(c) for c in small_cols]
    step_idx = [cols.index(c) for c in step_cols]

    def small(a: np.ndarray) -> np.ndarray:
        a = np.abs(a)
        return (a >= 0.5) & (a < threshold - 0.5)

    forced = {float(v) for v in protection.thin_keep}
    kept = [0]
    for i in range(1, len(values)):
        if float(values[i]) in forced:
            kept.append(i)
            continue
        if small(x[i][:, small_idx]).any():
            continue
        diff = x[i][None, :, step_idx] - x[kept][:, :, step_idx]
        if small(diff).any():
            continue
        kept.append(i)
    return [values[i] for i in kept]


def _check_columns(table: pl.DataFrame, protection: Protection, name: str) -> None:
    need = set(protection.counts) | set(protection.keep)
    need |= {protection.thin} if protection.thin else set()
    for rel in protection.relations:
        if isinstance(rel, Margin):
            need |= set(rel.by) | set(rel.counts or ()) | ({rel.over} if rel.over else set())
        elif isinstance(rel, Complement):
            need |= {rel.total, *rel.parts}
        else:
            need |= {rel.order, *rel.by, *rel.removed}
            need |= {c for c in rel.columns if not c.startswith("~")}
    missing = sorted(need - set(table.columns))
    if missing:
        raise DisclosureError(
            f"table {name!r}: declared columns not in the table: {missing}; it has {table.columns}"
        )
    for rel in protection.relations:
        cols = (
            list(rel.counts or ())
            if isinstance(rel, Margin)
            else [rel.total, *rel.parts]
            if isinstance(rel, Complement)
            else [*(c for c in rel.columns if not c.startswith("~")), *rel.removed]
        )
        bad = [c for c in cols if c not in protection.counts]
        if bad:
            raise DisclosureError(
                f"table {name!r}: relation {rel} uses {bad}, which are not declared counts"
            )


def _compile(sys: _System, table: pl.DataFrame, protection: Protection, counts: list[str]) -> None:
    for rel in protection.relations:
        if isinstance(rel, Margin):
            _compile_margin(sys, table, rel, counts)
        elif isinstance(rel, Complement):
            _compile_complement(sys, rel)
    for rel in protection.relations:
        if isinstance(rel, Steps):
            _compile_sequence(sys, table, rel)
    if protection.differences:
        _compile_differences(sys, counts)


def _reader_differences(
    values: dict[str, list[int | None]], counts: list[str], hidden: set[int], threshold: int
) -> set[tuple[int, tuple[int, ...]]]:
    """The subtractions an output checker would query in the published rows: every
    ``a - b (- c (- d))`` of the auditor's enumeration (``audit_rules.subtractions``) that
    is 0 or more in every published row (nested, as the auditor requires) and 1 to
    ``threshold - 1`` in one of them."""
    rows = [r for r in range(len(values[counts[0]])) if r not in hidden] if counts else []
    if len(counts) < 2 or not rows:
        return set()
    mat = np.array(
        [[np.nan if values[c][r] is None else float(values[c][r]) for r in rows] for c in counts]  # type: ignore[arg-type]
    )
    out = set()
    for a, sub in subtractions(counts):
        rem = mat[a] - mat[list(sub)].sum(axis=0)
        rem = rem[~np.isnan(rem)]
        if rem.size and rem.min() >= 0 and np.any((rem >= 1) & (rem <= threshold - 1)):
            out.add((a, sub))
    return out


def _apply(
    table: pl.DataFrame,
    protection: Protection,
    counts: list[str],
    primary: set[int],
    hidden: set[int],
    rounding: int | None,
    threshold: int,
) -> pl.DataFrame:
    mark = [
        "primary" if r in primary else "secondary" if r in hidden else None
        for r in range(table.height)
    ]
    sup = pl.Series("suppression", mark, dtype=pl.String)
    blank = [
        c
        for c, dt in table.schema.items()
        if (
            c in counts
            or (dt.is_numeric() and c not in protection.keep and not _is_key(c, protection))
        )
    ]
    hide = pl.col("suppression").is_not_null()
    extremes = [c for c in table.columns if c in protection.extremes or _is_extreme(c)]
    out = table.with_columns(sup).with_columns(
        [
            pl.when(
                (pl.col(c).is_between(1, threshold - 1) & hide) if c in protection.totals else hide
            )
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in blank
            if c not in extremes
        ]
        + [pl.lit(None, table.schema[c]).alias(c) for c in extremes]
    )
    out = out.with_columns(_quantile_rule(table, protection, threshold))
    if rounding:
        out = out.with_columns(
            [
                ((pl.col(c) / rounding + 0.5).floor() * rounding).cast(table.schema[c]).alias(c)
                for c in counts
            ]
        )
    return out.with_columns(suppressed=pl.col("suppression").is_not_null()).select(
        [*table.columns, "suppressed", "suppression"]
    )


_QUANTILE_TOKENS = {
    "median": 0.5,
    "p50": 0.5,
    "q1": 0.25,
    "q3": 0.25,
    "p25": 0.25,
    "p75": 0.25,
    "iqr": 0.25,
    "p10": 0.1,
    "p90": 0.1,
}


def _quantile_rule(table: pl.DataFrame, protection: Protection, threshold: int) -> list[pl.Expr]:
    """Medians and percentiles (and their confidence limits) are order statistics: published
    only when at least ``threshold`` persons lie on each side, i.e. ``min(p, 1 - p) * n >=
    threshold`` (a median from at least ``2 * threshold`` persons, quartiles and the IQR from
    ``4 * threshold``). ``n`` is the count column of the statistic (``<prefix>interval_n``,
    ``<prefix>n``, else ``n``); without one the column is left to the row's suppression."""
    out = []
    for col, dt in table.schema.items():
        declared = {q.column for q in protection.quantiles}
        if not dt.is_numeric() or col in (*protection.counts, *protection.keep, *declared):
            continue
        toks = col.lower().split("_")
        hit = next((i for i, t in enumerate(toks) if t in _QUANTILE_TOKENS), None)
        if hit is None or _is_key(col, protection):
            continue
        p = _QUANTILE_TOKENS[toks[hit]]
        prefix = "_".join(col.split("_")[:hit])
        prefix = f"{prefix}_" if prefix else ""
        n = next(
            (
                c
                for c in (f"{prefix}interval_n", f"{prefix}n", "n")
                if c in protection.counts and c in table.columns
            ),
            None,
        )
        if n is None:
            continue
        need = math.ceil(threshold / p)
        out.append(
            pl.when(pl.col(n).fill_null(0) >= need).then(pl.col(col)).otherwise(None).alias(col)
        )
    return out + _declared_quantiles(table, protection, threshold)


def _declared_quantiles(
    table: pl.DataFrame, protection: Protection, threshold: int
) -> list[pl.Expr]:
    out = []
    for q in protection.quantiles:
        missing = [c for c in (q.column, q.n, *(q.where[:1] if q.where else ())) if c not in table]
        if missing:
            raise DisclosureError(f"Quantile declaration names column(s) {missing} not in table")
        need = math.ceil(threshold / min(q.p, 1 - q.p))
        applies = pl.col(q.where[0]) == q.where[1] if q.where else pl.lit(True)
        out.append(
            pl.when(applies & (pl.col(q.n).fill_null(0) < need))
            .then(None)
            .otherwise(pl.col(q.column))
            .alias(q.column)
        )
    return out


def _is_extreme(col: str) -> bool:
    lc = col.lower()
    return lc in {"min", "max", "minimum", "maximum"} or lc.endswith(
        ("_min", "_max", "_minimum", "_maximum")
    )


def _is_key(col: str, protection: Protection) -> bool:
    """Grouping columns of the declared relations are labels, never blanked."""
    for rel in protection.relations:
        if isinstance(rel, Margin) and (col in rel.by or col == rel.over):
            return True
        if isinstance(rel, Steps) and (col == rel.order or col in rel.by):
            return True
    return False


def suppress_rows(table: pl.DataFrame, protection: Protection, rows: pl.Series) -> pl.DataFrame:
    """Suppress further rows of a protected table (``rows``: a Boolean mask), e.g. the rows of
    a group whose size another table had to hide. Every count (published totals included) and
    dependent value of those rows is blanked and they are marked ``secondary`` unless already
    suppressed. Hiding more never reveals what was hidden, so protection is kept.

    Examples
    --------
    >>> t = protect(pl.DataFrame({"g": ["a", "b"], "n": [40, 50]}), Protection(("n",)))
    >>> suppress_rows(t, Protection(("n",)), pl.Series([False, True]))["suppression"].to_list()
    [None, 'secondary']
    """
    if "suppression" not in table.columns:
        raise DisclosureError("suppress_rows needs a table protected by protect()")
    mask = rows.fill_null(False)
    new = mask & table["suppression"].is_null()
    blank = [
        c
        for c, dt in table.schema.items()
        if c not in ("suppressed", "suppression")
        and (
            c in protection.counts
            or (dt.is_numeric() and c not in protection.keep and not _is_key(c, protection))
        )
    ]
    return table.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in blank]
        + [
            pl.when(new)
            .then(pl.lit("secondary"))
            .otherwise(pl.col("suppression"))
            .alias("suppression"),
            (pl.col("suppressed") | mask).alias("suppressed"),
        ]
    )
