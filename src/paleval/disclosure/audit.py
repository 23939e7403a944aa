"""The output checker's audit of a report folder: no count under the threshold recoverable.

:func:`audit_report` reads every exported file (CSV, parquet, every XLSX sheet, SVG text, HTML
tables and text, notebook outputs), decides which columns hold person counts from their names
and values, and then attacks the published numbers as an output checker would, trusting no
declaration of the exporter:

* small counts read directly, in any column and in formatted ``"n (x %)"`` cells;
* counts stated in free text ("4 persons ... excluded", ``n = 3``, ``"x % of N"``);
* shares, percentages and rates times a count of the same row (the denominator);
* complements within a row (``n - events``, ``n - at risk - events - competing``);
* differences of consecutive rows of a monotone count in a table ordered by step or time;
* suppressed cells bounded by linear programming over every relation the published numbers
  confirm: row sums and total columns, total rows, group totals, "(n=N)" headers (margins of
  two-way tables) and totals shared across tables; nested counts (``n - events``) and changes
  of monotone steps enter as derived non-negative counts and are attacked like cells, with
  integrality for the cells the aggregate programs leave (:mod:`paleval.disclosure.lp`).

A suppressed cell leaks when its feasibility interval (the smallest and largest value that
agree with everything published, found by two linear programs with non-negative cells, as in
GaussSuppression's ``ComputeIntervals``) pins its value or lies inside ``[1, threshold - 1]``.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from paleval.disclosure.audit_cells import text_counts
from paleval.disclosure.audit_read import (
    Export,
    Grid,
    Text,
    output_grids_texts,
    read_export,
    svg_texts,
)
from paleval.disclosure.audit_rules import (
    CellId,
    Hit,
    Relation,
    Table,
    build_table,
    complement_hits,
    cross_table_relations,
    group_total_relations,
    header_relations,
    nesting_relations,
    quantile_hits,
    row_sum_relations,
    sequential_hits,
    share_hits,
    small_cells,
    step_relations,
    total_row_relations,
)
from paleval.disclosure.lp import leaking_intervals

__all__ = [
    "AuditReport",
    "DisclosureFinding",
    "audit_grids",
    "audit_report",
    "check_output",
    "scrub_notebook",
]

DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class DisclosureFinding:
    """One count under the threshold that a reader of the exported files can recover.

    ``file`` is relative to the audited folder; ``column`` the column (or ``""`` for free
    text); ``rows`` the number of cells (1: findings are per cell); ``smallest`` the recovered
    count (the lower end when only bounded); ``kind`` the attack; ``location`` the sheet/row/
    SVG element/notebook output; ``how`` the arithmetic that recovers it.

    Examples
    --------
    >>> f = DisclosureFinding("t.csv", "n", 1, 3, "small count", "row 2 (b), column 'n'",
    ...                       "published as 3")
    >>> str(f)
    "t.csv: row 2 (b), column 'n': 3 (small count: published as 3)"
    """

    file: str
    column: str
    rows: int
    smallest: int
    kind: str = "small count"
    location: str = ""
    how: str = ""

    def __str__(self) -> str:
        where = self.location or f"column {self.column!r}"
        return f"{self.file}: {where}: {self.smallest} ({self.kind}: {self.how})"


@dataclass
class AuditReport:
    """The result of :func:`audit_report`: findings, what was read and what was not.

    ``ok`` is true when nothing is recoverable and every file could be read.
    """

    folder: str
    threshold: int
    findings: list[DisclosureFinding]
    files: int
    tables: int
    texts: int
    relations: int
    suppressed_cells: int
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No finding and no unreadable file."""
        return not self.findings and not self.unreadable

    def table(self) -> pl.DataFrame:
        """The findings as a table (file, kind, location, column, value, how)."""
        return pl.DataFrame(
            {
                "file": [f.file for f in self.findings],
                "kind": [f.kind for f in self.findings],
                "location": [f.location for f in self.findings],
                "column": [f.column for f in self.findings],
                "value": [f.smallest for f in self.findings],
                "how": [f.how for f in self.findings],
            },
            schema={
                "file": pl.String,
                "kind": pl.String,
                "location": pl.String,
                "column": pl.String,
                "value": pl.Int64,
                "how": pl.String,
            },
        )

    def __repr__(self) -> str:
        head = (
            f"AuditReport({self.folder!r}, threshold {self.threshold}: "
            f"{'OK' if self.ok else 'FAILED'}, {len(self.findings)} finding(s); "
            f"{self.files} files, {self.tables} tables, {self.texts} texts, "
            f"{self.relations} confirmed relations, {self.suppressed_cells} hidden count cells, "
            f"{self.seconds:.1f} s)"
        )
        lines = [head]
        lines += [f"  unreadable: {f}: {why}" for f, why in self.unreadable]
        by_kind: dict[str, int] = defaultdict(int)
        for f in self.findings:
            by_kind[f.kind] += 1
        lines += [f"  {k}: {n}" for k, n in sorted(by_kind.items())]
        lines += [f"  {f}" for f in self.findings[:20]]
        if len(self.findings) > 20:
            lines.append(f"  ... {len(self.findings) - 20} more (.table())")
        return "\n".join(lines)


# --- confirmed relations and the linear program ------------------------------------------------


def _status(rel: Relation, values: dict[CellId, float]) -> tuple[float, list[tuple[CellId, float]]]:
    known = rel.const
    unknown = []
    for cid, coef in rel.terms:
        v = values.get(cid)
        if v is None:
            unknown.append((cid, coef))
        else:
            known += coef * v
    return known, unknown


def _confirm(
    rels: list[Relation], values: dict[CellId, float], totals: bool, assumed: bool = False
) -> list[Relation]:
    """The instances with hidden cells of a family the visible numbers confirm, else [].

    ``assumed``: the family is used without a fully visible instance (tables with the same
    groups), but still rejected when a visible instance contradicts it.
    """
    equal = 1 if assumed else 0
    keep = []
    for rel in rels:
        known, unknown = _status(rel, values)
        if not unknown:
            if abs(known) < 1e-6 and any(values.get(c) for c, _ in rel.terms):
                equal += 1
            elif totals and known > 0:
                continue  # visible parts exceed the total: not an instance of this family
            elif abs(known) >= 1e-6:
                return []  # contradicted by published numbers
            continue
        if totals and known > 1e-6 and all(c < 0 for _, c in unknown):
            continue
        keep.append(rel)
    return keep if equal >= 1 else []


def _collect(tables: list[Table], values: dict[CellId, float]) -> list[Relation]:
    fams: list[tuple[str, list[Relation], bool]] = []
    whole = [t for t in tables if not t.grid.truncated]
    for t in tables:
        fams += [(k, r, False) for k, r in row_sum_relations(t)]
    for t in whole:
        fams += [(k, r, True) for k, r in total_row_relations(t)]
        fams += [(k, r, True) for k, r in group_total_relations(t)]
        fams += [(k, r, True) for k, r in header_relations(t)]
    fams += [(k, r, False) for k, r in cross_table_relations(whole)]
    out = []
    for key, rels, totals in fams:
        out += _confirm(rels, values, totals, assumed="!" in key)
    if out:
        # inequalities (derived non-negative counts) matter only beside equalities
        linked = {c[0] for rel in out for c, _ in rel.terms if c not in values}
        for t in whole:
            if t.index in linked:
                out += nesting_relations(t)
                out += step_relations(t)
    return out


def _components(rels: list[Relation], values: dict[CellId, float]) -> list[list[Relation]]:
    parent: dict[CellId, CellId] = {}

    def find(x: CellId) -> CellId:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rel in rels:
        hidden = [c for c, _ in rel.terms if c not in values]
        for c in hidden[1:]:
            parent[find(c)] = find(hidden[0])
    comps: dict[CellId, list[Relation]] = defaultdict(list)
    for rel in rels:
        hidden = [c for c, _ in rel.terms if c not in values]
        if hidden:
            comps[find(hidden[0])].append(rel)
    return list(comps.values())


def _system(
    rels: list[Relation], values: dict[CellId, float]
) -> tuple[dict[CellId, int], sparse.csr_array, np.ndarray]:
    vars_: dict[CellId, int] = {}
    ri, ci, co, rhs = [], [], [], []
    for i, rel in enumerate(rels):
        known, unknown = _status(rel, values)
        for cid, coef in unknown:
            ri.append(i)
            ci.append(vars_.setdefault(cid, len(vars_)))
            co.append(coef)
        rhs.append(-known)
    a = sparse.csr_array((co, (ri, ci)), shape=(len(rels), len(vars_)))
    return vars_, a, np.array(rhs)


def _bounds(
    rels: list[Relation], values: dict[CellId, float], threshold: int
) -> dict[CellId, tuple[int, int]] | None:
    """Hidden cells and derived counts of one component whose feasibility interval (integers,
    by :func:`paleval.disclosure.lp.leaking_intervals` with integrality) lies inside
    ``[1, threshold - 1]``; None when the guessed relations do not fit together."""
    vars_, a, b = _system(rels, values)
    out = leaking_intervals(a, b, list(range(len(vars_))), threshold, integer=True)
    if out is None:
        return None
    names = {j: cid for cid, j in vars_.items()}
    return {names[j]: iv for j, iv in out.items()}


def _short(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _lp_hits(
    tables: list[Table], rels: list[Relation], values: dict[CellId, float], threshold: int
) -> Iterator[Hit]:
    for comp in _components(rels, values):
        bounds = _bounds(comp, values, threshold)
        for cid, (lo_i, hi_i) in (bounds or {}).items():
            t = tables[cid[0]]
            own = sorted({_short(r.desc) for r in comp if any(c == cid for c, _ in r.terms)})
            rest = sorted({_short(r.desc) for r in comp} - set(own))
            descs = own + rest
            how = "; ".join(descs[:3]) + ("; ..." if len(descs) > 3 else "")
            what = f"= {lo_i}" if lo_i == hi_i else f"in [{lo_i}, {hi_i}]"
            if isinstance(cid[2], str):  # a derived count (n - events, a step's change)
                name = cid[2]
                where, cell = t.loc(cid[1]), "derived count"
            else:
                name = t.grid.columns[cid[2]]
                where, cell = t.loc(cid[1], cid[2]), "hidden cell"
            yield Hit(
                t.index,
                name,
                lo_i,
                "differencing",
                where if cell == "hidden cell" else f"{where}, {name}",
                f"{cell} {what} from: {how}",
            )


# --- free text -----------------------------------------------------------------------------------


_BOX = re.compile(r"[│┆┌┐└┘╞╡═─┬┴┼╪]")


def _text_lines(text: str) -> list[str]:
    """Lines of free text; lines of box-drawn tables (polars' text repr, whose wrapped and
    truncated cells cannot be read back; their HTML twin is read as a table) are left out."""
    return [line for line in text.splitlines() if line.strip() and not _BOX.search(line)]


def _text_findings(texts: Iterable[Text], threshold: int) -> Iterator[DisclosureFinding]:
    for t in texts:
        for line in _text_lines(t.text):
            for k, phrase in text_counts(line):
                if 1 <= k < threshold:
                    ctx = " ".join(line.split())
                    ctx = ctx if len(ctx) <= 120 else ctx[:117] + "..."
                    yield DisclosureFinding(
                        t.file, "", 1, k, "free text", t.where, f"{phrase!r} states {k}: {ctx!r}"
                    )


def _grid_text_findings(t: Table, threshold: int) -> Iterator[DisclosureFinding]:
    g = t.grid
    for name in g.columns:
        for k, phrase in text_counts(name):
            if 1 <= k < threshold:
                yield DisclosureFinding(
                    g.file,
                    name,
                    1,
                    k,
                    "free text",
                    f"{g.where + ', ' if g.where else ''}header {name!r}",
                    f"the header {phrase!r} states {k}",
                )
    for r, row in enumerate(t.cells):
        for j, cell in enumerate(row):
            if cell.kind != "text":
                continue
            for k, phrase in text_counts(cell.text):
                if 1 <= k < threshold:
                    yield DisclosureFinding(
                        g.file,
                        g.columns[j],
                        1,
                        k,
                        "free text",
                        t.loc(r, j),
                        f"the text {phrase!r} states {k}",
                    )


# --- the audit -----------------------------------------------------------------------------------


def _hit_finding(tables: list[Table], h: Hit) -> DisclosureFinding:
    return DisclosureFinding(
        tables[h.table].grid.file, h.column, 1, h.value, h.kind, h.location, h.how
    )


def audit_grids(
    grids: list[Grid], texts: list[Text], threshold: int = DEFAULT_THRESHOLD
) -> tuple[list[DisclosureFinding], int, int]:
    """Audit tables and texts already read: (findings, confirmed relations, hidden cells).

    Examples
    --------
    >>> g = Grid("t.csv", "", ["place", "n"], [["home", 40], ["hospice", None],
    ...                                        ["total", 43]])
    >>> findings, _, _ = audit_grids([g], [])
    >>> [(f.kind, f.smallest) for f in findings]
    [('differencing', 3)]
    """
    tables = [build_table(i, g) for i, g in enumerate(grids)]
    values: dict[CellId, float] = {}
    hidden = 0
    for t in tables:
        for c in t.count_cols():
            for r in range(len(t.cells)):
                if not t.is_count_cell(r, c):
                    continue
                v = t.value(r, c)
                if v is None:
                    hidden += 1
                else:
                    values[(t.index, r, c)] = v
    hits: list[Hit] = []
    for t in tables:
        for rule in (small_cells, share_hits, complement_hits, sequential_hits, quantile_hits):
            hits += rule(t, threshold)
    rels = _collect(tables, values)
    hits += _lp_hits(tables, rels, values, threshold)
    findings = [_hit_finding(tables, h) for h in hits]
    for t in tables:
        findings += _grid_text_findings(t, threshold)
    findings += _text_findings(texts, threshold)
    return _dedupe(findings), len(rels), hidden


def _dedupe(findings: list[DisclosureFinding]) -> list[DisclosureFinding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.file, f.location, f.kind, f.smallest, f.how)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def audit_report(folder: str | Path, threshold: int = DEFAULT_THRESHOLD) -> AuditReport:
    """Audit a report folder as an output checker would (see the module docstring).

    Parameters
    ----------
    folder
        A report or output folder; every file under it is read.
    threshold
        Smallest publishable count (Statistics Denmark: 5).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"step": [1, 2, 3], "n": [120, 117, 90]}).write_csv(d / "flow.csv")
    >>> rep = audit_report(d)
    >>> rep.ok, [str(f) for f in rep.findings]
    (False, ["flow.csv: row 2 (2), column 'n': 3 (sequential difference: n in row 1 - row 2 = 3)"])
    """
    t0 = time.perf_counter()
    directory = Path(folder)
    if not directory.is_dir():
        raise FileNotFoundError(f"output directory {directory} does not exist")
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    exp: Export = read_export(directory)
    findings, nrel, hidden = audit_grids(exp.grids, exp.texts, threshold)
    notes = []
    pngs = [s for s in exp.skipped if s.lower().endswith(".png")]
    lone = [p for p in pngs if not (directory / p).with_suffix(".svg").exists()]
    if lone:
        notes.append(f"{len(lone)} PNG figure(s) without an SVG twin not read: {lone[:5]}")
    return AuditReport(
        str(directory),
        threshold,
        findings,
        exp.files,
        len(exp.grids),
        len(exp.texts),
        nrel,
        hidden,
        exp.unreadable,
        exp.skipped,
        notes,
        time.perf_counter() - t0,
    )


def check_output(
    directory: str | Path, threshold: int = DEFAULT_THRESHOLD
) -> list[DisclosureFinding]:
    """Every count under the threshold recoverable from an output folder (:func:`audit_report`).

    A file that cannot be read is reported as a finding of kind ``unreadable``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"group": ["a", "b"], "n": [12, 3]}).write_csv(d / "t.csv")
    >>> [str(f) for f in check_output(d)]
    ["t.csv: row 2 (b), column 'n': 3 (small count: published as 3)"]
    """
    rep = audit_report(directory, threshold)
    bad = [DisclosureFinding(f, "", 0, 0, "unreadable", "", why) for f, why in rep.unreadable]
    return bad + rep.findings


# --- notebooks -----------------------------------------------------------------------------------

_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
SCRUB_POLICY = (
    "stream outputs (print, warnings, logging) and error tracebacks removed; text/plain and "
    "text/html representations kept only when the auditor finds no count under the threshold "
    "in them (tables and free text); images kept; an output left with nothing is removed"
)


def _bundle_ok(data: dict[str, Any], mime: str, threshold: int, where: str) -> bool:
    o = {"output_type": "display_data", "data": {mime: data[mime]}}
    grids, texts = output_grids_texts(o, "notebook", where)
    findings, _, _ = audit_grids(grids, texts, threshold)
    return not findings


def _texts_ok(data: dict[str, Any], threshold: int, where: str) -> bool:
    """The text representations of one result pass: the HTML (tables and text) and the plain
    text. Plain text with a box-drawn table passes only with an HTML twin that passed (the box
    cells are truncated and cannot be audited); the representations show one object, so one
    failing representation fails them all."""
    if "text/html" in data and not _bundle_ok(data, "text/html", threshold, where):
        return False
    if "text/plain" not in data:
        return True
    plain = data["text/plain"]
    plain = "".join(plain) if isinstance(plain, list) else str(plain)
    if _BOX.search(plain) and "text/html" not in data:
        return False
    return _bundle_ok(data, "text/plain", threshold, where)


def _scrub_output(o: dict[str, Any], threshold: int, where: str) -> dict[str, Any] | None:
    if o.get("output_type") in ("stream", "error"):
        return None
    data = o.get("data")
    if not isinstance(data, dict):
        return o
    texts_ok = _texts_ok(data, threshold, where)
    kept = {}
    for mime, v in data.items():
        if mime.startswith("text/") or mime.endswith(("json", "javascript")):
            if texts_ok and mime in ("text/plain", "text/html"):
                kept[mime] = v
        elif mime == "image/svg+xml":
            if _svg_ok(v, threshold):
                kept[mime] = v
        elif mime in _IMAGES:
            kept[mime] = v
    if not kept:
        return None
    if "text/plain" not in kept:
        kept["text/plain"] = "<figure>"
    return {**o, "data": kept}


def _svg_ok(v: Any, threshold: int) -> bool:
    text = "".join(v) if isinstance(v, list) else str(v)
    try:
        labels, _ = svg_texts(io.BytesIO(text.encode("utf-8")), "figure")
    except Exception:  # an SVG the auditor cannot read is not kept
        return False
    return not list(_text_findings(labels, threshold))


def scrub_notebook(
    nb: str | Path | dict[str, Any], threshold: int = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """Remove from an executed notebook every output that is not under disclosure control.

    Policy: ``stream`` outputs (prints, warnings, logging) and error tracebacks are removed;
    ``text/plain`` and ``text/html`` representations are kept only if the auditor finds no
    count under the threshold in them (directly, in free text or by differencing within the
    output's tables); images are kept (paleval draws them from disclosed tables); an output
    left empty is removed. The notebook's metadata records what was removed
    (``metadata["paleval_scrub"]``). A path is rewritten in place; a notebook node is copied.

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [
    ...     {"output_type": "stream", "name": "stdout", "text": "note: 4 persons excluded"},
    ...     {"output_type": "execute_result", "execution_count": 1, "metadata": {},
    ...      "data": {"text/plain": "n = 2,484 decedents"}}]}], "metadata": {}}
    >>> out = scrub_notebook(nb)
    >>> [o["output_type"] for o in out["cells"][0]["outputs"]]
    ['execute_result']
    >>> out["metadata"]["paleval_scrub"]["removed_outputs"]
    1
    """
    path = None if isinstance(nb, dict) else Path(nb)
    node = json.loads(path.read_text(encoding="utf-8")) if path else copy.deepcopy(nb)
    removed = 0
    kept = 0
    for i, cell in enumerate(node.get("cells", [])):
        if "outputs" not in cell:
            continue
        outs = []
        for j, o in enumerate(cell["outputs"]):
            new = _scrub_output(o, threshold, f"cell {i} output {j}")
            if new is None:
                removed += 1
            else:
                kept += 1
                outs.append(new)
        cell["outputs"] = outs
    node.setdefault("metadata", {})["paleval_scrub"] = {
        "threshold": threshold,
        "removed_outputs": removed,
        "kept_outputs": kept,
        "policy": SCRUB_POLICY,
    }
    if path:
        path.write_text(
            json.dumps(node, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return node
