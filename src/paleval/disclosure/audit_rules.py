"""The auditor's attacks: small counts read directly, and the linear relations it tries.

Relations are guessed from the numbers, never taken from a declaration, and a family of
relations is used only when the published numbers confirm it: at least one instance whose
numbers are all visible holds exactly, and no fully visible instance contradicts it. The
instances with hidden cells then become equality constraints of the linear program in
:mod:`paleval.disclosure.audit`. Internal to that module (its public API: ``audit_report``,
``check_output``, ``scrub_notebook``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paleval.disclosure.audit_cells import (
    Cell,
    classify_column,
    is_stat_row,
    name_tokens,
    numerator_range,
    parse_cell,
)
from paleval.disclosure.audit_read import Grid

__all__ = ["Hit", "Relation", "Table", "build_table", "quantile_hits"]

CellId = tuple[int, int, int | str]  # (table, row, column, or the name of a derived count)

_TOTAL = re.compile(r"^\s*(?:total|totalt|all|alle|overall|i alt|samlet|in total|sum)\b", re.I)
_HEADER_N = re.compile(r"\(\s*n\s*=\s*(\d{1,3}(?:[,.\u00a0 ]\d{3})+|\d+)\s*\)", re.I)
_ORDER = re.compile(r"^(?:step|trin|time|t|tid|days?|dage?|weeks?|uger?|months?|måned)$", re.I)
_PER = re.compile(r"per[_ ]?(1[, .]?000|100)\b", re.I)
_PCT_NAME = re.compile(r"pct|percent|procent|%", re.I)
_MAX_SUBSET = 3
_MARKER_COL = re.compile(r"^(?:suppress\w*|diskretion\w*|blænd\w*|skjult)$", re.I)


def _max_subset(ncols: int) -> int:
    """Subtrahends tried together: 3 in tables of up to 14 count columns, 2 up to 40, else 1
    (the number of subsets grows as ncols**k)."""
    return _MAX_SUBSET if ncols <= 14 else 2 if ncols <= 40 else 1


@dataclass
class Table:
    """A grid with parsed cells and column roles (count / share / other)."""

    index: int
    grid: Grid
    cells: list[list[Cell]]
    roles: list[str]
    keys: list[int]
    stat_rows: set[int] = field(default_factory=set)
    group_cache: dict = field(default_factory=dict, repr=False)

    def count_cols(self) -> list[int]:
        return [j for j, r in enumerate(self.roles) if r == "count"]

    def value(self, r: int, c: int) -> float | None:
        """The visible count in a count cell (None when hidden)."""
        cell = self.cells[r][c]
        return cell.value if cell.kind in ("num", "npct") else None

    def is_count_cell(self, r: int, c: int) -> bool:
        return (
            self.roles[c] == "count"
            and r not in self.stat_rows
            and self.cells[r][c].kind in ("num", "npct", "hidden")
        )

    def row_label(self, r: int) -> str:
        labs = [str(self.cells[r][k].text or self.grid.rows[r][k]) for k in self.keys[:3]]
        labs = [x for x in labs if x and x != "None"]
        return f" ({', '.join(labs)})" if labs else ""

    def loc(self, r: int, c: int | None = None) -> str:
        where = f"{self.grid.where}, " if self.grid.where else ""
        col = f", column {self.grid.columns[c]!r}" if c is not None else ""
        return f"{where}row {r + 1}{self.row_label(r)}{col}"


@dataclass
class Hit:
    """A recovered small count."""

    table: int
    column: str
    value: int
    kind: str
    location: str
    how: str
    row: int = -1


@dataclass
class Relation:
    """``sum(coef * cell) + const == 0`` over count cells, with a description."""

    terms: list[tuple[CellId, float]]
    const: float
    desc: str


def build_table(index: int, grid: Grid) -> Table:
    """Parse a grid's cells and decide each column's role.

    >>> t = build_table(0, Grid("t.csv", "", ["year", "place", "n"], [[2020, "home", 4]]))
    >>> t.roles, [t.grid.columns[k] for k in t.keys]
    (['other', 'other', 'count'], ['year', 'place'])
    """
    cells = [[parse_cell(v) for v in row] for row in grid.rows]
    ncol = len(grid.columns)
    keys = []
    roles = []
    text_cols = [
        j for j in range(ncol) if any(isinstance(row[j], str) for row in grid.rows if j < len(row))
    ]
    stat_rows = {
        i
        for i, row in enumerate(grid.rows)
        if is_stat_row([str(row[j]) for j in text_cols if isinstance(row[j], str)][:2])
    }
    for j in range(ncol):
        col_cells = [cells[i][j] for i in range(len(cells)) if i not in stat_rows]
        raw = [grid.rows[i][j] for i in range(len(cells))]
        roles.append(classify_column(grid.columns[j], col_cells, raw))
        # a marker column (suppressed, suppression) says how a row was printed, not which row
        # it is: as a key it would split a total's block into its printed and hidden rows
        if (
            roles[-1] == "other"
            and _is_key(raw, grid.columns[j])
            and not _MARKER_COL.match(grid.columns[j])
        ):
            keys.append(j)
    return Table(index, grid, cells, roles, keys, stat_rows)


_STAT_WORDS = frozenset(
    "median mean sd iqr q1 q3 p25 p75 min max percentile estimate ratio conf low high lower "
    "upper se std error z p value pvalue statistic weight expected share pct percent rate "
    "prop proportion df".split()
)


def _as_number(v: object) -> object:
    """A numeric string of an HTML table as the number it shows (``"0.0062"`` -> 0.0062)."""
    if isinstance(v, str):
        c = parse_cell(v)
        if c.kind == "num" and c.value is not None:
            return int(c.value) if c.value.is_integer() and "." not in v else c.value
    return v


def _is_key(raw: list[object], name: str) -> bool:
    """A grouping column: text, or integer values (``30`` or ``30.0``, as CSV and XLSX give the
    same column) whose name is not a statistic (an integer-valued median is not a key)."""
    vals = [_as_number(v) for v in raw if v is not None and v != ""]
    if not vals or any(isinstance(v, bool) for v in vals):
        return False
    if not all(isinstance(v, str | int) or (isinstance(v, float) and v.is_integer()) for v in vals):
        return False
    return any(isinstance(v, str) for v in vals) or not (set(name_tokens(name)) & _STAT_WORDS)


# --- direct reading -----------------------------------------------------------------------------


def small_cells(t: Table, threshold: int) -> Iterator[Hit]:
    """Visible counts 1 to threshold - 1."""
    for c in t.count_cols():
        for r in range(len(t.cells)):
            v = t.value(r, c) if t.is_count_cell(r, c) else None
            if v is not None and 1 <= v < threshold:
                kind = "small count" if t.cells[r][c].kind == "num" else "small count n (x %)"
                yield Hit(
                    t.index,
                    t.grid.columns[c],
                    int(v),
                    kind,
                    t.loc(r, c),
                    f"published as {t.grid.rows[r][c]!r}",
                )


# --- order statistics of small groups ---------------------------------------------------------

_QUANTILE_P = {
    "median": 0.5, "p50": 0.5, "q1": 0.25, "q3": 0.25, "p25": 0.25, "p75": 0.25, "iqr": 0.25,
    "p10": 0.1, "p90": 0.1, "kvartil": 0.25,
}  # fmt: skip
_RANGE = re.compile(r"\(\s*(-?[\d.,]+)\s*[–-]\s*(-?[\d.,]+)\s*\)")
_QUARTILE_LABEL = re.compile(r"iqr|quartile|kvartil|q1|q3", re.I)


def _need(p: float, threshold: int) -> int:
    """Persons needed for an order statistic: ``threshold`` on each side."""
    return math.ceil(threshold / min(p, 1 - p) - 1e-9)


def _stat_count(t: Table, r: int, prefix: list[str]) -> tuple[int, float] | None:
    """The count of persons behind a statistic of row ``r``: the column
    ``<prefix>_interval_n``, ``<prefix>_n``, else ``n``/``antal`` (visible only)."""
    names = [t.grid.columns[j].lower() for j in range(len(t.grid.columns))]
    for cand in ("_".join([*prefix, "interval", "n"]), "_".join([*prefix, "n"]), "n", "antal"):
        if cand in names:
            j = names.index(cand)
            v = t.cells[r][j].value if t.cells[r][j].kind == "num" else None
            return (j, v) if v is not None else None
    return None


def _labels(t: Table, r: int) -> str:
    return " ".join(str(v) for k in t.keys if isinstance(v := t.grid.rows[r][k], str) and v)


def quantile_hits(t: Table, threshold: int) -> Iterator[Hit]:
    """Medians, quartiles and percentiles published for too few persons: a median needs
    ``2 x threshold`` persons, a quartile ``4 x threshold`` (``threshold`` persons on each side
    of one person's value). Read in three forms: columns named like the statistic
    (``median``, ``q1``, ``referral_to_death_median``) against the statistic's count; long
    tables whose row label says median (``value`` the median, ``*_low``/``*_high`` its
    quartiles when the label says IQR); formatted cells ``"m (q1–q3)"`` under an ``(n=N)``
    header."""
    for j, name in enumerate(t.grid.columns):
        toks = name_tokens(name)
        hit = next((i for i, x in enumerate(toks) if x in _QUANTILE_P), None)
        if hit is not None and t.roles[j] != "count":
            yield from _named_quantile(t, j, toks, hit, threshold)
    yield from _long_quantiles(t, threshold)
    yield from _formatted_quantiles(t, threshold)


def _named_quantile(t: Table, j: int, toks: list[str], hit: int, thr: int) -> Iterator[Hit]:
    need = _need(_QUANTILE_P[toks[hit]], thr)
    for r in range(len(t.cells)):
        if t.cells[r][j].kind != "num":
            continue
        got = _stat_count(t, r, toks[:hit])
        if got is not None and got[1] < need:
            n_name = t.grid.columns[got[0]]
            yield Hit(
                t.index, t.grid.columns[j], int(got[1]), "quantile", t.loc(r, j),
                f"an order statistic of {n_name} = {got[1]:g} persons (needs {need})", r,
            )  # fmt: skip


def _long_quantiles(t: Table, threshold: int) -> Iterator[Hit]:
    for r in sorted(t.stat_rows):
        labels = _labels(t, r)
        if "median" not in labels.lower():
            continue
        got = _stat_count(t, r, [])
        if got is None:
            continue
        quart = bool(_QUARTILE_LABEL.search(labels))
        for j, name in enumerate(t.grid.columns):
            if j == got[0] or t.roles[j] == "count" or t.cells[r][j].kind != "num":
                continue
            toks = set(name_tokens(name))
            if not toks & {"value", "low", "high", "lower", "upper", "estimate"}:
                continue
            need = _need(
                0.25 if quart and toks & {"low", "high", "lower", "upper"} else 0.5, threshold
            )
            if got[1] < need:
                yield Hit(
                    t.index, name, int(got[1]), "quantile", t.loc(r, j),
                    f"{labels.strip()} from n = {got[1]:g} persons (needs {need})", r,
                )  # fmt: skip


def _formatted_quantiles(t: Table, threshold: int) -> Iterator[Hit]:
    for j, name in enumerate(t.grid.columns):
        m = _HEADER_N.search(name)
        if not m:
            continue
        n = int(re.sub(r"\D", "", m.group(1)))
        for r in sorted(t.stat_rows):
            labels = _labels(t, r)
            cell = str(t.grid.rows[r][j] or "")
            if "median" not in labels.lower() or not re.match(r"\s*-?\d", cell):
                continue
            quart = bool(_RANGE.search(cell)) and bool(_QUARTILE_LABEL.search(labels))
            need = _need(0.25 if quart else 0.5, threshold)
            if n < need:
                yield Hit(
                    t.index, name, n, "quantile", t.loc(r, j),
                    f"{cell!r} for a group of n = {n} (needs {need})", r,
                )  # fmt: skip


def _share_scale(name: str, values: list[float]) -> float:
    m = _PER.search(name)
    if m:
        return float(re.sub(r"\D", "", m.group(1)))
    if _PCT_NAME.search(name) or any(v > 1 for v in values):
        return 100.0
    return 1.0


def share_hits(t: Table, threshold: int) -> Iterator[Hit]:
    """A share (or percentage, or rate per 100/1000) times its denominator in the same row."""
    for s in (j for j, role in enumerate(t.roles) if role == "share"):
        vals = [c.value for row in t.cells if (c := row[s]).value is not None]
        scale = _share_scale(t.grid.columns[s], vals)
        dens = [d for d in _denominators(t, s) if _consistent(t, s, d, scale)]
        for r, row in enumerate(t.cells):
            cell = row[s]
            if cell.value is None or cell.kind not in ("num", "npct"):
                continue
            for d in dens:
                yield from _share_row(t, r, s, d, cell, scale, threshold)


_DEN_NAMES = re.compile(
    r"^(?:n|denominator|total|n_total|n_known|n_level|n_group|persons?|"
    r"patients?|population|antal|n_[a-z_]*(?:level|group|known|total))$",
    re.I,
)


def _denominators(t: Table, s: int) -> list[int]:
    """The count columns a share is read against: one named like the share (``home_death_share``
    with ``home_death_n``), else those named as denominators, else every count column."""
    counts = t.count_cols()
    stem = re.sub(
        r"(?:_?(?:share|pct|percent|procent|prop|proportion|andel|rate|estimate))$",
        "",
        t.grid.columns[s],
        flags=re.I,
    )
    if stem:
        named = [
            c
            for c in counts
            if t.grid.columns[c].lower()
            in (f"{stem}_n".lower(), f"n_{stem}".lower(), f"{stem}_count".lower())
        ]
        if named:
            return named
    dens = [c for c in counts if _DEN_NAMES.match(t.grid.columns[c])]
    return dens or counts


def _consistent(t: Table, s: int, d: int, scale: float) -> bool:
    """Whether column ``d`` can be the denominator of share column ``s``: in every row where
    both are published, the share times ``d`` leaves a whole number of persons. A count that
    is not the denominator (``n`` beside ``n_known`` in ``share = n / n_known``) fails in some
    row, and reading the share against it would "recover" numbers that mean nothing."""
    for r, row in enumerate(t.cells):
        cell = row[s]
        if cell.value is None or cell.kind not in ("num", "npct") or not t.is_count_cell(r, d):
            continue
        den = t.value(r, d)
        if den and numerator_range(cell.value / scale, (cell.pct_half or 0) / scale, den) is None:
            return False
    return True


def _share_row(
    t: Table, r: int, s: int, d: int, cell: Cell, scale: float, threshold: int
) -> Iterator[Hit]:
    den = t.value(r, d) if t.is_count_cell(r, d) else None
    if not den or cell.value is None:
        return
    rng = numerator_range(cell.value / scale, (cell.pct_half or 0) / scale, den)
    if rng is None or not (1 <= rng[0] and rng[1] < threshold):
        return
    visible = {t.value(r, c) for c in t.count_cols() if t.is_count_cell(r, c)}
    if rng[0] == rng[1] and rng[0] in visible:
        return  # the numerator is published in the row: read directly
    name = t.grid.columns[s]
    what = f"= {rng[0]}" if rng[0] == rng[1] else f"in [{rng[0]}, {rng[1]}]"
    yield Hit(
        t.index,
        name,
        rng[0],
        "share x denominator",
        t.loc(r, s),
        f"{name} {t.grid.rows[r][s]!r} x {t.grid.columns[d]} {int(den)}"
        f"{'' if scale == 1 else f' / {scale:g}'} {what}",
    )


def complement_hits(t: Table, threshold: int) -> Iterator[Hit]:
    """``a - b (- c (- d))`` within a row, for count columns nested in every visible row.

    Two columns whose sum is another published column (``numerator + n_not_met =
    denominator``) are parts of a whole, not nested, and are not subtracted from each other.
    One finding per row and recovered value (the shortest subtraction).
    """
    cols = t.count_cols()
    if len(cols) < 2:
        return
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    parts = _part_pairs(t, cols, rows)
    seen: set[tuple[int, int]] = set()
    for ia, isub in subtractions([t.grid.columns[c] for c in cols]):
        a, sub = cols[ia], tuple(cols[i] for i in isub)
        if any((a, b) in parts for b in sub):
            continue
        for h in _complement(t, rows, a, sub, threshold):
            key = (h.row, h.value)
            if key not in seen:
                seen.add(key)
                yield h


def subtractions(names: list[str]) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Every within-row subtraction ``a - b (- c (- d))`` of count columns the auditor tries,
    decided from the column names alone: ``(a, (b, ...))`` as positions in ``names``, shortest
    first. The auditor (:func:`complement_hits`) drops those the published numbers show are not
    nested (a negative remainder in a visible row, or two parts of one whole); the protection
    (:class:`paleval.disclosure.Protection` with ``reader_differences``) uses the same list, so
    suppression keeps every subtraction an output checker would try off ``1 .. threshold - 1``.

    In a curve table the persons at risk at t and the events up to t are disjoint parts of
    ``n`` (``n - n_risk - events`` is the number censored, tried as such), so events are never
    subtracted from ``n_risk``; the reference group's counts (``n_ref``) are never subtracted
    from the compared group's, nor the other way round (the difference counts nobody).

    >>> list(subtractions(["n", "n_risk", "events"]))
    [(0, (1,)), (0, (2,)), (1, (0,)), (0, (1, 2))]
    >>> list(subtractions(["n", "n_ref"]))
    []
    """
    cols = list(range(len(names)))
    if len(cols) < 2:
        return
    lower = [x.strip().lower() for x in names]
    refs = [bool(_REF_NAME.search(x)) for x in names]
    parted = [bool(_PART_NAME.search(x)) for x in names]
    risk = [bool(_AT_RISK.match(x.strip())) for x in names]
    at_risk = "n" in lower
    for k in range(1, _max_subset(len(cols)) + 1):
        for a in (c for c in cols if not parted[c]):
            for sub in itertools.combinations([c for c in cols if c != a], k):
                if at_risk and any((risk[a] and parted[b]) or (parted[a] and risk[b]) for b in sub):
                    continue  # at risk and events up to t are disjoint parts of n
                if len({refs[c] for c in (a, *sub)}) > 1:
                    continue  # the reference group's counts against the compared group's
                yield a, sub


_REF_NAME = re.compile(r"_ref$", re.I)
_AT_RISK = re.compile(r"^(?:n_)?(?:at_)?risk$|^n_at_risk$|^antal_i_risiko$", re.I)


def _mixes_groups(t: Table, cols: tuple[int, ...]) -> bool:
    """Counts of the reference group (``n_ref``, ``n_events_ref``: other persons than the
    row's compared group) are never subtracted from the compared group's counts, nor the
    other way round: the difference counts nobody."""
    refs = {bool(_REF_NAME.search(t.grid.columns[c])) for c in cols}
    return len(refs) > 1


_PART_NAME = re.compile(r"(?:^|_)(?:events?|competing|numerator|excluded|censored|deaths?)$", re.I)


def _part_pairs(t: Table, cols: list[int], rows: list[int]) -> set[tuple[int, int]]:
    """Pairs of columns that are parts of one whole: their sum is another column, both are
    groups of a breakdown headed "(n=N)", or all but one column sum to a column named total."""
    out = set()
    grouped = [c for c in cols if _HEADER_N.search(t.grid.columns[c])]
    out |= set(itertools.permutations(grouped, 2))
    for tot in (c for c in cols if _TOTAL.match(t.grid.columns[c])):
        rest = tuple(c for c in cols if c != tot)
        if _sum_holds(t, rows, tot, rest):
            out |= set(itertools.permutations(rest, 2))
    for a, b in itertools.permutations(cols, 2):
        for tot in (c for c in cols if c not in (a, b)):
            ok = [
                t.value(r, a) + t.value(r, b) == t.value(r, tot)  # type: ignore[operator]
                for r in rows
                if None not in (t.value(r, a), t.value(r, b), t.value(r, tot))
            ]
            if ok and all(ok) and any(t.value(r, tot) for r in rows):
                out.add((a, b))
                break
    return out


def _complement(
    t: Table, rows: list[int], a: int, sub: tuple[int, ...], threshold: int
) -> Iterator[Hit]:
    rems = []
    for r in rows:
        vals = [t.value(r, c) for c in (a, *sub)]
        if any(v is None for v in vals):
            continue
        rem = vals[0] - sum(vals[1:])  # type: ignore[operator]
        if rem < 0:
            return  # not nested: no complement
        rems.append((r, rem))
    names = [t.grid.columns[c] for c in (a, *sub)]
    for r, rem in rems:
        if 1 <= rem < threshold:
            yield Hit(
                t.index,
                names[0],
                int(rem),
                "complement",
                t.loc(r),
                f"{' - '.join(names)} in row {r + 1} = {int(rem)}",
                r,
            )


def _groups(t: Table, cols: list[int], rows: list[int]) -> dict[tuple, list[int]]:
    key = (tuple(cols), tuple(rows))
    if key not in t.group_cache:
        t.group_cache[key] = _group_rows(t, cols, rows)
    return t.group_cache[key]


def _group_rows(t: Table, cols: list[int], rows: list[int]) -> dict[tuple, list[int]]:
    out: dict[tuple, list[int]] = defaultdict(list)
    for r in rows:
        out[tuple(str(t.grid.rows[r][k]) for k in cols)].append(r)
    return out


def sequential_hits(t: Table, threshold: int) -> Iterator[Hit]:
    """Differences of consecutive visible values of a monotone count column in a table ordered
    by step or time (flow diagrams, numbers at risk, cumulative events)."""
    order = [j for j, name in enumerate(t.grid.columns) if _ORDER.match(name.strip())]
    if not order or t.grid.truncated:
        return
    o = order[0]
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    # group by the key columns whose values repeat (not by per-row labels)
    by = [k for k in t.keys if k != o and len({str(t.grid.rows[r][k]) for r in rows}) < len(rows)]
    for grp in _groups(t, by, rows).values():
        for c in t.count_cols():
            yield from _sequence(t, grp, c, threshold)


def _sequence(t: Table, grp: list[int], c: int, threshold: int) -> Iterator[Hit]:
    seq = [(r, t.value(r, c)) for r in grp if t.value(r, c) is not None]
    if len(seq) < 2:
        return
    diffs = [(r0, r1, v0 - v1) for (r0, v0), (r1, v1) in itertools.pairwise(seq)]  # type: ignore[operator]
    if not (all(d >= 0 for *_, d in diffs) or all(d <= 0 for *_, d in diffs)):
        return
    name = t.grid.columns[c]
    for r0, r1, d in diffs:
        if 1 <= abs(d) < threshold:
            yield Hit(
                t.index,
                name,
                int(abs(d)),
                "sequential difference",
                t.loc(r1, c),
                f"{name} in row {r0 + 1} - row {r1 + 1} = {int(abs(d))}",
            )


# --- relations for the linear program ------------------------------------------------------------


def _sum_rel(
    t: Table, parts: list[tuple[int, int]], total: tuple[int, int] | float, desc: str
) -> Relation:
    terms: list[tuple[CellId, float]] = [((t.index, r, c), 1.0) for r, c in parts]
    if isinstance(total, tuple):
        return Relation([*terms, ((t.index, *total), -1.0)], 0.0, desc)
    return Relation(terms, -float(total), desc)


def row_sum_relations(t: Table) -> Iterator[tuple[str, list[Relation]]]:
    """Column T = sum of 1-3 other count columns (or of all others when T is named total)."""
    cols = t.count_cols()
    if len(cols) < 2:
        return
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    for a in cols:
        others = [c for c in cols if c != a]
        kmax = _max_subset(len(cols))
        subsets = [s for k in range(1, kmax + 1) for s in itertools.combinations(others, k)]
        if _TOTAL.match(t.grid.columns[a]) and len(others) > _MAX_SUBSET:
            subsets.append(tuple(others))
        for sub in subsets:
            # a column named total over all the others is declared by the output itself: used
            # without a fully visible row (every row may hide a cell), dropped when contradicted
            named = (
                _TOTAL.match(t.grid.columns[a]) is not None
                and len(sub) == len(others)
                and all(r in ("count", "share") or k in t.keys for k, r in enumerate(t.roles))
            )
            if not _sum_holds(t, rows, a, sub, need_visible=not named):
                continue
            names = " + ".join(t.grid.columns[c] for c in sub)
            rels = [
                _sum_rel(
                    t, [(r, c) for c in sub], (r, a), f"row {r + 1}: {t.grid.columns[a]} = {names}"
                )
                for r in rows
            ]
            yield f"{t.index}:rowsum{'!' if named else ':'}{a}:{sub}", rels


def _sum_holds(
    t: Table, rows: list[int], a: int, sub: tuple[int, ...], need_visible: bool = True
) -> bool:
    """Column ``a`` equals the sum of ``sub`` in every fully visible row, and (unless
    ``need_visible`` is false) such a row with a non-zero total exists (a cheap pre-check of
    the family's confirmation)."""
    seen = False
    for r in rows:
        tot = t.value(r, a)
        parts = [t.value(r, c) for c in sub]
        if tot is None or None in parts:
            continue
        if abs(sum(parts) - tot) > 1e-9:  # type: ignore[arg-type]
            return False
        seen = seen or tot > 0
    return seen or not need_visible


def total_row_relations(t: Table) -> Iterator[tuple[str, list[Relation]]]:
    """A row labelled total/all (in one or more key columns) = the sum of its block."""
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    for r in rows:
        marked = [k for k in t.keys if _TOTAL.match(str(t.grid.rows[r][k]))]
        if not marked:
            continue
        same = [k for k in t.keys if k not in marked]
        block = [
            q
            for q in rows
            if q != r
            and all(t.grid.rows[q][k] == t.grid.rows[r][k] for k in same)
            and not any(_TOTAL.match(str(t.grid.rows[q][k])) for k in marked)
        ]
        splits = (
            [[block]]
            if len(marked) == 1
            else [list(_groups(t, [k], block).values()) for k in marked]
        )
        for si, parts in enumerate(splits):
            for c in t.count_cols():
                rels = [
                    _sum_rel(
                        t,
                        [(q, c) for q in part],
                        (r, c),
                        f"total row {r + 1} - rows {_span(part)} in column {t.grid.columns[c]!r}",
                    )
                    for part in parts
                    if part
                ]
                # one total-marked column: the label declares the block's total; with several
                # (exposure = all, level = all) which split is the breakdown must be confirmed
                sep = "!" if len(marked) == 1 else ":"
                yield f"{t.index}:totalrow{sep}{r}:{si}:{c}", rels


def _span(rows: list[int]) -> str:
    return ", ".join(str(r + 1) for r in rows[:6]) + (" ..." if len(rows) > 6 else "")


def group_total_relations(t: Table) -> Iterator[tuple[str, list[Relation]]]:
    """A count column constant within groups of key columns = the sum of another within them
    (``n_level`` = sum of ``n`` over places; ``n_group`` = sum of ``n`` over levels)."""
    cols = t.count_cols()
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    for k in (1, 2):
        for g in itertools.combinations(t.keys, k):
            groups = [grp for grp in _groups(t, list(g), rows).values() if len(grp) > 1]
            if not groups:
                continue
            for tot in cols:
                if not all(_constant(t, grp, tot) for grp in groups):
                    continue
                named = _TOTAL_COL.match(t.grid.columns[tot]) is not None
                for c in (c for c in cols if c != tot):
                    if named and _group_sum_exceeded(t, groups, tot, c):
                        continue  # not this grouping (Table 1's n_group by group alone)
                    if named or _group_sum_holds(t, groups, tot, c):
                        yield _group_family(t, g, groups, tot, c, named)


def _group_sum_exceeded(t: Table, groups: list[list[int]], tot: int, c: int) -> bool:
    """Some group's visible parts add up to more than its total: the grouping is wrong (the
    counts of every variable of a Table 1 group summed against the group's size)."""
    for grp in groups:
        total = t.value(_visible_row(t, grp, tot), tot)
        seen = sum(v for r in grp if (v := t.value(r, c)) is not None)
        if total is not None and seen > total + 1e-9:
            return True
    return False


def _group_sum_holds(t: Table, groups: list[list[int]], tot: int, c: int) -> bool:
    """Some fully visible group sums to its total (a cheap pre-check of the family)."""
    for grp in groups:
        vals = [t.value(r, c) for r in grp]
        total = t.value(_visible_row(t, grp, tot), tot)
        if total and None not in vals and abs(sum(vals) - total) < 1e-9:  # type: ignore[arg-type]
            return True
    return False


def _group_family(
    t: Table, g: tuple[int, ...], groups: list[list[int]], tot: int, c: int, named: bool
) -> tuple[str, list[Relation]]:
    rels = []
    for grp in groups:
        row = _visible_row(t, grp, tot)
        desc = f"{t.grid.columns[tot]} in row {row + 1} - {t.grid.columns[c]} in rows {_span(grp)}"
        rels.append(_sum_rel(t, [(q, c) for q in grp], (row, tot), desc))
    return f"{t.index}:group{'!' if named else ':'}{g}:{tot}:{c}", rels


_TOTAL_COL = re.compile(
    r"^(?:total|n_total|n_known|n_level|n_group|denominator|[a-z_]*_total|total_[a-z_]*)$", re.I
)


def _visible_row(t: Table, grp: list[int], c: int) -> int:
    return next((r for r in grp if t.value(r, c) is not None), grp[0])


def _constant(t: Table, grp: list[int], c: int) -> bool:
    vals = {t.value(r, c) for r in grp} - {None}
    return len(vals) <= 1


def header_relations(t: Table) -> Iterator[tuple[str, list[Relation]]]:
    """A column headed "... (n=N)": each block of two or more rows (by the first key column)
    sums to N. Each block is its own family: a block that is not a partition of the column
    (a variable shown by one level only, a category left out) is dropped alone when visible."""
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    blocks = list(_groups(t, t.keys[:1], rows).values()) if t.keys else [rows]
    for c in t.count_cols():
        m = _HEADER_N.search(t.grid.columns[c])
        if not m:
            continue
        n = float(re.sub(r"\D", "", m.group(1)))
        for i, b in enumerate(blk for blk in blocks if len(blk) > 1):
            desc = f"header {t.grid.columns[c]!r} n = {n:g} - rows {_span(b)}"
            yield f"{t.index}:header!{c}:{i}", [_sum_rel(t, [(q, c) for q in b], n, desc)]


def cross_table_relations(tables: list[Table]) -> Iterator[tuple[str, list[Relation]]]:
    """Totals shared across tables: the same count column, summed within the same values of
    the shared key columns, must be equal (indicators by year vs by region).

    Tables with the same key columns (a CSV and its XLSX twin, one analysis run on two
    populations) are not paired: they are not two breakdowns of one total.
    """
    by_name: dict[str, dict[frozenset[str], list[tuple[Table, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for t in tables:
        keyset = frozenset(t.grid.columns[k] for k in t.keys)
        for c in t.count_cols():
            by_name[t.grid.columns[c]][keyset].append((t, c))
    for name, buckets in by_name.items():
        for ka, kb in itertools.combinations(list(buckets), 2):
            if not ka & kb:
                continue  # nothing shared: a grand total only, too weak to pair on
            for (a, ca), (b, cb) in itertools.product(buckets[ka], buckets[kb]):
                yield from _cross_pair(a, ca, b, cb, name)
        for ka, members in buckets.items():
            if ka:
                for (a, ca), (b, cb) in itertools.combinations(members, 2):
                    yield from _same_cells(a, ca, b, cb, name)


def _same_cells(a: Table, ca: int, b: Table, cb: int, name: str) -> Iterator[tuple[str, list]]:
    """Two tables with the same breakdown that share some rows (Table 1 by cause and by
    cancer: the cancer and total columns): a cell of one is the cell with the same labels in
    the other. Used when the published numbers confirm it (some shared cell printed equal in
    both, none printed different): one analysis run on two populations is not paired."""
    if Path(a.grid.file).with_suffix("") == Path(b.grid.file).with_suffix(""):
        return  # a table and its twin in another format
    an = {a.grid.columns[k]: k for k in a.keys}
    keys = sorted(an)
    ga = _groups(a, [an[k] for k in keys], [r for r in range(len(a.cells)) if r not in a.stat_rows])
    bn = {b.grid.columns[k]: k for k in b.keys}
    gb = _groups(b, [bn[k] for k in keys], [r for r in range(len(b.cells)) if r not in b.stat_rows])
    common = [k for k in ga if k in gb and len(ga[k]) == 1 and len(gb[k]) == 1]
    if not common or len(common) == len(ga) == len(gb):
        return  # nothing shared, or the same table twice (a notebook's copy)
    rels = [
        Relation(
            [((a.index, ga[k][0], ca), 1.0), ((b.index, gb[k][0], cb), -1.0)],
            0.0,
            f"{name!r} ({', '.join(k)}) in {a.grid.label()} = in {b.grid.label()}",
        )
        for k in common
    ]
    yield f"same:{a.index}:{ca}:{b.index}:{cb}", rels


def _cross_pair(a: Table, ca: int, b: Table, cb: int, name: str) -> Iterator[tuple[str, list]]:
    if Path(a.grid.file).with_suffix("") == Path(b.grid.file).with_suffix(""):
        return  # a table and its twin in another format (t.csv, t.xlsx)
    an = {a.grid.columns[k]: k for k in a.keys}
    bn = {b.grid.columns[k]: k for k in b.keys}
    shared = sorted(set(an) & set(bn))
    if set(an) == set(bn):
        return  # the same breakdown: not two views of one total
    rows_a = [r for r in range(len(a.cells)) if r not in a.stat_rows]
    rows_b = [r for r in range(len(b.cells)) if r not in b.stat_rows]
    ga = _groups(a, [an[s] for s in shared], rows_a)
    gb = _groups(b, [bn[s] for s in shared], rows_b)
    rels = []
    for key in set(ga) & set(gb):
        terms = [((a.index, r, ca), 1.0) for r in ga[key]]
        terms += [((b.index, r, cb), -1.0) for r in gb[key]]
        label = ", ".join(key) or "all rows"
        rels.append(
            Relation(
                terms, 0.0, f"sum of {name!r} in {a.grid.label()} = in {b.grid.label()} ({label})"
            )
        )
    if not rels:
        return
    # the same groups on both sides (same indicators, same labels): the tables are two
    # breakdowns of one population even when no group is fully visible on both sides
    # (each table has a breakdown of its own: year on one side, region on the other)
    own = bool(set(an) - set(bn)) and bool(set(bn) - set(an))
    same_groups = own and bool(shared) and set(ga) == set(gb) and len(ga) > 1
    tag = "cross!" if same_groups else "cross:"
    yield f"{tag}{a.index}:{ca}:{b.index}:{cb}", rels


# --- inequalities: nested counts and monotone steps, as derived non-negative counts ------------


def nesting_relations(t: Table) -> Iterator[Relation]:
    """``a - b = r`` with a derived count ``r >= 0`` in every row where ``a`` or ``b`` is hidden,
    for nested column pairs: ``a`` is named as the persons of the row (``n``, ``n_known``,
    ``denominator``, ``referred``, ...), ``a >= b`` in every visible row (at least two, one
    strictly); not parts of one whole, not the reference group's counts against the compared
    group's, and ``a - b`` not itself a published column. ``r`` is the complement a reader bounds
    (n - events, referred - contacted), and it keeps ``b <= a`` in the linear program."""
    cols = t.count_cols()
    if len(cols) < 2 or len(cols) > 40:
        return
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    parts = _part_pairs(t, cols, rows)
    for a in (c for c in cols if _WHOLE_NAME.match(t.grid.columns[c].strip())):
        for b in (c for c in cols if c != a):
            if (a, b) in parts or _mixes_groups(t, (a, b)) or _remainder_published(t, rows, a, b):
                continue
            pairs = [(t.value(r, a), t.value(r, b)) for r in rows]
            seen = [(x, y) for x, y in pairs if x is not None and y is not None]
            if len(seen) < 2 or any(x < y for x, y in seen) or not any(x > y for x, y in seen):
                continue
            name = f"{t.grid.columns[a]} - {t.grid.columns[b]}"
            for r, (x, y) in zip(rows, pairs, strict=True):
                if x is None or y is None:
                    yield Relation(
                        [
                            ((t.index, r, a), 1.0),
                            ((t.index, r, b), -1.0),
                            ((t.index, r, name), -1.0),
                        ],
                        0.0,
                        f"row {r + 1}: {name} >= 0",
                    )


_WHOLE_NAME = re.compile(
    r"^(?:n|antal|number|persons|personer|patients|patienter|decedents|døde|n_known|n_total|"
    r"n_group|n_level|denominator|nævner|referred|henvist)$",
    re.I,
)
"""Names of counts that hold the persons of a row (the minuend of a nested complement)."""


def _remainder_published(t: Table, rows: list[int], a: int, b: int) -> bool:
    """``a - b`` is a published column (``total - y = x``): a cell, not a derived count."""
    if _TOTAL.match(t.grid.columns[a]):
        return True
    for c in t.count_cols():
        if c in (a, b):
            continue
        trip = [(t.value(r, a), t.value(r, b), t.value(r, c)) for r in rows]
        seen = [(x, y, z) for x, y, z in trip if None not in (x, y, z)]
        if seen and all(x == y + z for x, y, z in seen):  # type: ignore[operator]
            return True
    return False


def step_relations(t: Table) -> Iterator[Relation]:
    """In a table ordered by step or time, a count column monotone over its visible values
    (within groups of the repeating key columns, as :func:`sequential_hits`) changes by a
    derived count ``d >= 0`` between consecutive rows where one of the two is hidden: the
    persons excluded, at risk no more, or with the event in between."""
    order = [j for j, name in enumerate(t.grid.columns) if _ORDER.match(name.strip())]
    if not order or t.grid.truncated:
        return
    o = order[0]
    rows = [r for r in range(len(t.cells)) if r not in t.stat_rows]
    by = [k for k in t.keys if k != o and len({str(t.grid.rows[r][k]) for r in rows}) < len(rows)]
    for grp in _groups(t, by, rows).values():
        for c in t.count_cols():
            seq = [t.value(r, c) for r in grp]
            vis = [v for v in seq if v is not None]
            if len(vis) < 2 or len(vis) == len(seq):
                continue
            steps = [y - x for x, y in itertools.pairwise(vis)]
            up = all(d >= 0 for d in steps) and any(d > 0 for d in steps)
            down = all(d <= 0 for d in steps) and any(d < 0 for d in steps)
            if not (up or down):
                continue
            name = f"change of {t.grid.columns[c]}"
            sign = 1.0 if up else -1.0
            for r0, r1 in itertools.pairwise(grp):
                if t.value(r0, c) is not None and t.value(r1, c) is not None:
                    continue
                yield Relation(
                    [
                        ((t.index, r1, c), sign),
                        ((t.index, r0, c), -sign),
                        ((t.index, r1, name), -1.0),
                    ],
                    0.0,
                    f"{t.grid.columns[c]} in row {r1 + 1} vs row {r0 + 1}: monotone",
                )
