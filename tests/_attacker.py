"""An adversary for paleval reports, written without ``paleval.disclosure`` (test utility).

It reads only the exported files of a report folder, as an output checker or an intruder
would: every CSV table, every sheet of every XLSX workbook (parsed from the zip's XML, no
spreadsheet library), the text of the executed notebooks (``.ipynb`` outputs and ``.html``)
and the text of SVG figures. It trusts no marker of the exporter (``suppressed``,
``suppression``) and no declaration: relations between numbers are guessed from the numbers
and the column/label names, and used only when the published numbers confirm them.

Attacks (each gives :class:`Leak` records):

* ``direct``: a count column (named like a count of persons) shows 1 to ``t - 1``, plain or
  as ``"n (x %)"`` in a formatted table;
* ``text``: free text states a small count of persons ("4 persons ... excluded", ``n = 3``);
* ``share``: a share/estimate/percentage times its row's denominator pins a numerator of 1 to
  ``t - 1``;
* ``complement``: within a row, a named total minus a nested count (``n - events``,
  ``denominator - numerator``, ``n_level - n``, ``n_group - n``, ``n - n_within``) is 1 to
  ``t - 1``;
* ``step``: in a table ordered by time or step, a monotone count changes by 1 to ``t - 1``
  between two published rows of a group;
* ``quantile``: a median published for fewer than ``2 t`` persons, a quartile/IQR for fewer
  than ``4 t`` (one person's value at the edge of a small group);
* ``interval``: every hidden count in a confirmed linear relation (group sums equal to a
  published total, total rows, the same partition summed in two tables or two breakdowns of
  one table, nested complements as non-negative unknowns) gets its feasibility interval by
  integer programming (``scipy.optimize.milp``); a hidden count whose interval lies inside
  ``[1, t - 1]`` is recovered (pinned, or known to be a small non-zero count).
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

COUNT_NAMES = {
    "n", "events", "n_events", "numerator", "denominator", "n_not_met", "n_group", "n_level",
    "n_known", "n_risk", "n_competing", "n_excluded", "n_late", "n_within", "n_later",
    "referred_n", "contact_n", "place_known_n", "home_death_n", "hospital_death_n",
    "gp_home_visit_n", "terminal_declaration_n", "n_analysed", "n_ref", "n_events_ref",
    "n_at_reference_place", "n_standardised", "n_events_level", "interval_n",
}  # fmt: skip
"""Columns holding counts of persons (a name ending in ``_n`` or ``interval_n`` counts too)."""

TOTAL_NAMES = ("n", "n_group", "n_level", "n_known", "denominator", "place_known_n", "referred_n")
"""Counts that are the persons of a row: a nested count of the same row is a part of them."""

NESTED = {
    "n": ("events", "n_events", "n_late", "n_within", "n_later", "referred_n", "contact_n",
          "place_known_n", "gp_home_visit_n", "terminal_declaration_n"),
    "n_group": ("n",),
    "n_level": ("n",),
    "n_known": ("n",),
    "denominator": ("numerator", "n_not_met"),
    "referred_n": ("contact_n",),
    "place_known_n": ("home_death_n", "hospital_death_n"),
}  # fmt: skip
"""``total: parts`` read as nested in one row: ``total - part`` counts persons."""

TOTAL_WORDS = {"total", "all", "overall", "i alt", "alle", "samlet", "total (n)"}
MARKERS = {"", "<5", "[s]", "<10", "[skjult]", "-", "–", "..", "*", "s", "x", "n/a", "null"}
PERSON_WORDS = (
    r"persons?|patients?|people|decedents?|deaths?|referrals?(?:\(s\))?|referral\(s\)|"
    r"individuals?|cases?|personer|patienter|døde|henvisninger|dødsfald"
)
TEXT_PATTERNS = [
    re.compile(r"(?<![\d.,])(\d{1,3})\s+(?:[a-zA-Zæøå()-]+\s+){0,3}?(?:" + PERSON_WORDS + r")\b"),
    re.compile(r"\bn\s*=\s*(\d{1,3})(?![\d.,])"),
    re.compile(r"(?<![\d.,])(\d{1,3})\s*\(\s*\d+(?:[.,]\d+)?\s*%\s*\)"),
    re.compile(r"(?:excluded|udelukket|left out)\s*:?\s*(\d{1,3})(?![\d.,])"),
]
SHARE_NAMES = ("share", "estimate", "crude", "andel")
QUANTILE_WORDS = {"median": 2, "q1": 4, "q3": 4, "iqr": 4, "p25": 4, "p75": 4, "p10": 10, "p90": 10}


@dataclass
class Table:
    """One published table: header, string cells, where it came from."""

    name: str
    header: list[str]
    rows: list[list[str]]

    def col(self, c: str) -> int:
        return self.header.index(c)


@dataclass
class Leak:
    """A count of persons under the threshold recovered from published numbers."""

    kind: str
    where: str
    value: tuple[int, int]
    how: str

    def __str__(self) -> str:
        lo, hi = self.value
        v = str(lo) if lo == hi else f"in [{lo}, {hi}]"
        return f"{self.kind}: {self.where} = {v} ({self.how})"


@dataclass
class Report:
    """Everything the attacker read and every leak it found."""

    tables: list[Table] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    numbers: int = 0


# ------------------------------------------------------------------------------------- reading


def _read_csv(path: Path) -> Table:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return Table(path.name, rows[0], rows[1:]) if rows else Table(path.name, [], [])


def _xlsx_tables(path: Path) -> list[Table]:
    """Every sheet of a workbook, from the zip's XML (shared and inline strings, numbers)."""
    z = zipfile.ZipFile(path)
    names = z.namelist()
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        xml = z.read("xl/sharedStrings.xml").decode("utf-8")
        for si in re.findall(r"<si>(.*?)</si>", xml, re.S):
            shared.append(html_lib.unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", si, re.S))))
    out = []
    for sheet in sorted(n for n in names if re.match(r"xl/worksheets/sheet\d+\.xml", n)):
        xml = z.read(sheet).decode("utf-8")
        grid: dict[int, dict[int, str]] = defaultdict(dict)
        for ref, attrs, body in re.findall(
            r'<c r="([A-Z]+\d+)"([^>]*?)(?:/>|>(.*?)</c>)', xml, re.S
        ):
            letters, num = re.match(r"([A-Z]+)(\d+)", ref).groups()
            col = 0
            for ch in letters:
                col = col * 26 + ord(ch) - 64
            v = re.search(r"<v>(.*?)</v>", body or "", re.S)
            t = re.search(r'\bt="(\w+)"', attrs)
            if t and t.group(1) == "s" and v:
                val = shared[int(v.group(1))]
            elif t and t.group(1) == "inlineStr":
                val = html_lib.unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S)))
            else:
                val = html_lib.unescape(v.group(1)) if v else ""
            grid[int(num)][col] = val
        if not grid:
            continue
        width = max(max(r) for r in grid.values())
        rows = [[grid[r].get(c, "") for c in range(1, width + 1)] for r in sorted(grid)]
        out.append(Table(f"{path.name}[{sheet.rsplit('/', 1)[1]}]", rows[0], rows[1:]))
    return out


def _strip_html(text: str) -> str:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r'<div class="[^"]*jp-InputArea[^"]*".*?</div>\s*</div>', " ", text, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


def _html_tables(name: str, text: str) -> list[Table]:
    out = []
    for i, tab in enumerate(re.findall(r"<table.*?</table>", text, re.S | re.I)):
        rows = []
        for tr in re.findall(r"<tr.*?</tr>", tab, re.S | re.I):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S | re.I)
            rows.append([html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
        rows = [r for r in rows if r]
        if len(rows) > 1:
            width = max(len(r) for r in rows)
            rows = [r + [""] * (width - len(r)) for r in rows]
            out.append(Table(f"{name}#table{i}", rows[0], rows[1:]))
    return out


def _notebook_outputs(path: Path) -> tuple[list[str], list[Table]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    texts, tables = [], []
    for ci, cell in enumerate(doc.get("cells", [])):
        for oi, out in enumerate(cell.get("outputs", [])):
            where = f"{path.name} cell {ci} output {oi}"
            parts = [out.get("text", "")] if out.get("output_type") == "stream" else []
            parts += out.get("traceback", [])
            data = out.get("data", {})
            parts.append(data.get("text/plain", ""))
            h = data.get("text/html", "")
            h = "".join(h) if isinstance(h, list) else h
            if h:
                tables += _html_tables(where, h)
                parts.append(_strip_html(h))
            for p in parts:
                p = "".join(p) if isinstance(p, list) else p
                # box-drawn polars tables are read from their HTML twin
                lines = [ln for ln in p.splitlines() if not re.search("[│┆╞═┌└]", ln)]
                texts.append(f"{where}: " + "\n".join(lines))
    return texts, tables


def read_report(folder: Path) -> Report:
    """Every table and every text a report folder publishes."""
    rep = Report()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        s = path.suffix.lower()
        if s == ".csv":
            rep.tables.append(_read_csv(path))
        elif s == ".xlsx":
            rep.tables += _xlsx_tables(path)
        elif s == ".ipynb":
            texts, tables = _notebook_outputs(path)
            rep.texts += [(path.name, t) for t in texts]
            rep.tables += tables
        elif s == ".html":
            text = path.read_text(encoding="utf-8")
            body = re.sub(r"<table.*?</table>", " ", text, flags=re.S | re.I)
            rep.texts.append((path.name, _strip_html(body)))
            rep.tables += _html_tables(path.name, text)
        elif s == ".svg":
            text = path.read_text(encoding="utf-8")
            bits = re.findall(r"<text[^>]*>(.*?)</text>", text, re.S)
            bits += re.findall(r"<!--(.*?)-->", text, re.S)
            rep.texts.append((path.name, " | ".join(html_lib.unescape(b) for b in bits)))
        elif s in (".txt", ".md"):
            rep.texts.append((path.name, path.read_text(encoding="utf-8")))
    return rep


# ------------------------------------------------------------------------------------- cells


def number(cell: str) -> float | None:
    """A published number, or None for a marker/empty/text."""
    c = cell.strip().replace("\u2212", "-")
    if c.lower() in MARKERS or c.lower() in ("true", "false"):
        return None
    m = re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", c)
    if m:
        return float(c.replace(",", ""))
    try:
        return float(c)
    except ValueError:
        return None


def n_pct(cell: str) -> int | None:
    """The count of an ``"n (x %)"`` cell (English or Danish formatting)."""
    m = re.fullmatch(r"\s*(\d{1,3}(?:[.,]\d{3})*|\d+)\s*\(\s*\d+(?:[.,]\d+)?\s*%\s*\)\s*", cell)
    return int(re.sub(r"[.,]", "", m.group(1))) if m else None


def is_count_col(name: str) -> bool:
    low = name.lower()
    return low in COUNT_NAMES or low.endswith(("_n", "interval_n")) or low.startswith("n_")


def _small(v: float | None, t: int) -> bool:
    return v is not None and float(v).is_integer() and 1 <= v <= t - 1


def _label(tab: Table, r: int) -> str:
    keys = [c for i, c in enumerate(tab.rows[r]) if number(c) is None and c and i < len(tab.header)]
    return f"{tab.name} row {r + 1} ({', '.join(keys[:4])})"


# ------------------------------------------------------------------------------------- attacks


def attack_direct(rep: Report, t: int) -> None:
    for tab in rep.tables:
        for j, name in enumerate(tab.header):
            for r, row in enumerate(tab.rows):
                if j >= len(row):
                    continue
                v = number(row[j]) if is_count_col(name) else n_pct(row[j])
                if _small(v, t):
                    rep.leaks.append(
                        Leak(
                            "direct", f"{_label(tab, r)} column {name!r}", (int(v), int(v)), "read"
                        )
                    )


def attack_text(rep: Report, t: int) -> None:
    for name, text in rep.texts:
        for pat in TEXT_PATTERNS:
            for m in pat.finditer(text):
                v = int(m.group(1))
                if 1 <= v <= t - 1:
                    ctx = text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
                    rep.leaks.append(Leak("text", name, (v, v), f"...{ctx}..."))
    for tab in rep.tables:
        for name in tab.header:
            m = re.search(r"\(n\s*=\s*(\d+)\)", name)
            if m and 1 <= int(m.group(1)) <= t - 1:
                rep.leaks.append(Leak("text", f"{tab.name} header", (int(m.group(1)),) * 2, name))


def attack_share(rep: Report, t: int) -> None:
    """share × denominator: the numerator's interval from the printed precision."""
    for tab in rep.tables:
        pairs = []
        for j, name in enumerate(tab.header):
            low = name.lower()
            if not any(low == s or low.endswith("_" + s) for s in SHARE_NAMES):
                continue
            prefix = low.rsplit("_", 1)[0] + "_" if "_" in low else ""
            dens = ["n_group", "n_level", "n_known", "denominator", "n"]
            if prefix:
                dens = [f"{prefix}n", "place_known_n" if "death" in prefix else "n"]
            den = next((d for d in dens if d in tab.header), None)
            if den:
                pairs.append((j, tab.col(den)))
        for j, d in pairs:
            for r, row in enumerate(tab.rows):
                s, n = number(row[j]), number(row[d])
                if s is None or n is None or not (0 <= s <= 1) or n <= 0:
                    continue
                dec = len(row[j].split(".")[1]) if "." in row[j] else 0
                half = 0.5 * 10.0**-dec
                lo, hi = math.ceil((s - half) * n - 1e-9), math.floor((s + half) * n + 1e-9)
                if 1 <= lo <= hi <= t - 1:
                    rep.leaks.append(
                        Leak(
                            "share",
                            f"{_label(tab, r)} column {tab.header[j]!r}",
                            (lo, hi),
                            f"{row[j]} x {tab.header[d]}={row[d]}",
                        )
                    )


def attack_complement(rep: Report, t: int) -> None:
    for tab in rep.tables:
        for total, parts in NESTED.items():
            if total not in tab.header:
                continue
            a = tab.col(total)
            for p in parts:
                if p not in tab.header:
                    continue
                b = tab.col(p)
                for r, row in enumerate(tab.rows):
                    x, y = number(row[a]), number(row[b])
                    if x is not None and y is not None and _small(x - y, t):
                        d = int(x - y)
                        rep.leaks.append(
                            Leak("complement", _label(tab, r), (d, d), f"{total} - {p} = {x - y:g}")
                        )
        if all(c in tab.header for c in ("n", "n_risk", "events", "n_competing")):
            for r, row in enumerate(tab.rows):
                v = [number(row[tab.col(c)]) for c in ("n", "n_risk", "events", "n_competing")]
                if None not in v and _small(v[0] - v[1] - v[2] - v[3], t):
                    d = int(v[0] - v[1] - v[2] - v[3])
                    rep.leaks.append(
                        Leak(
                            "complement", _label(tab, r), (d, d), "n - n_risk - events - competing"
                        )
                    )


TIME_COLS = ("time", "step", "threshold", "day", "days")


VALUE_WORDS = {
    "share", "estimate", "conf", "low", "high", "std", "error", "p", "value", "crude", "log",
    "ratio", "median", "q1", "q3", "mean", "statistic", "df", "target", "lower", "upper", "flag",
    "met", "standard", "suppressed", "suppression", "days", "contrast", "is", "iqr", "sd",
}  # fmt: skip


def _keys(tab: Table, skip: set[int]) -> list[int]:
    """Label columns: not counts, not statistics (by name)."""
    out = []
    for j, name in enumerate(tab.header):
        toks = set(re.split(r"[_ ]", name.lower()))
        if j in skip or is_count_col(name) or toks & VALUE_WORDS:
            continue
        out.append(j)
    return out


def attack_steps(rep: Report, t: int) -> None:
    for tab in rep.tables:
        tcol = next((tab.col(c) for c in tab.header if c.lower() in TIME_COLS), None)
        if tcol is None:
            continue
        keys = _keys(tab, {tcol})
        groups: dict[tuple, list[int]] = defaultdict(list)
        for r, row in enumerate(tab.rows):
            groups[tuple(row[k] for k in keys)].append(r)
        for j, name in enumerate(tab.header):
            if not is_count_col(name) or name in ("n", "n_group", "n_level"):
                continue
            for rows in groups.values():
                seq = [
                    (number(tab.rows[r][tcol]) or 0, number(tab.rows[r][j]), r)
                    for r in rows
                    if number(tab.rows[r][j]) is not None
                ]
                seq.sort()
                vals = [v for _, v, _ in seq]
                if len(vals) < 2 or not (vals == sorted(vals) or vals == sorted(vals)[::-1]):
                    continue
                for (t0, v0, _), (t1, v1, r1) in pairwise(seq):
                    if _small(abs(v1 - v0), t):
                        d = int(abs(v1 - v0))
                        rep.leaks.append(
                            Leak("step", f"{_label(tab, r1)} column {name!r}", (d, d),
                                 f"{v0:g} at {t0:g} vs {v1:g} at {t1:g}")
                        )  # fmt: skip


def attack_quantiles(rep: Report, t: int) -> None:
    """Order statistics of small groups; Table 1's long form (``level`` = "median (IQR)")."""
    for tab in rep.tables:
        ncol = tab.col("n") if "n" in tab.header else None
        for j, name in enumerate(tab.header):
            toks = name.lower().split("_")
            need = next((QUANTILE_WORDS[x] for x in toks if x in QUANTILE_WORDS), None)
            if need is None or ncol is None:
                continue
            hit = next(i for i, x in enumerate(toks) if x in QUANTILE_WORDS)
            own_n = "_".join([*toks[:hit], "interval", "n"])
            own = tab.col(own_n) if own_n in tab.header else ncol
            for r, row in enumerate(tab.rows):
                n, v = number(row[own]), number(row[j])
                if v is not None and n is not None and n < need * t:
                    rep.leaks.append(
                        Leak("quantile", f"{_label(tab, r)} column {name!r}", (int(n), int(n)),
                             f"{name} published for n = {n:g} < {need * t}")
                    )  # fmt: skip
        if {"level", "value", "value_low", "value_high", "n"} <= set(tab.header):
            for r, row in enumerate(tab.rows):
                if "median" not in row[tab.col("level")].lower():
                    continue
                n = number(row[tab.col("n")])
                for c, need in (("value", 2), ("value_low", 4), ("value_high", 4)):
                    v = number(row[tab.col(c)])
                    if v is not None and n is not None and n < need * t:
                        rep.leaks.append(
                            Leak("quantile", f"{_label(tab, r)} column {c!r}", (int(n), int(n)),
                                 f"median (IQR) {c} published for n = {n:g} < {need * t}")
                        )  # fmt: skip
        # formatted "median (q1–q3)" strings against the "(n=N)" header
        for j, name in enumerate(tab.header):
            m = re.search(r"\(n\s*=\s*([\d,.]+)\)", name)
            if not m:
                continue
            n = int(re.sub(r"[.,]", "", m.group(1)))
            for r, row in enumerate(tab.rows):
                lab = " ".join(row[:2]).lower()
                if "median" in lab and re.search(r"\d", row[j]):
                    q = re.search(r"\(([-\d.,]+)\s*[–-]\s*([-\d.,]+)\)", row[j])
                    if n < 2 * t or (q and n < 4 * t):
                        rep.leaks.append(
                            Leak("quantile", f"{_label(tab, r)} column {name!r}", (n, n),
                                 f"'{row[j]}' for a group of n = {n}")
                        )  # fmt: skip


# ------------------------------------------------------------------------ linear relations


@dataclass
class System:
    """Unknowns (hidden cells, derived counts) and equations ``sum(coef * x) = const``."""

    index: dict[tuple, int] = field(default_factory=dict)
    eqs: list[tuple[dict[int, float], float, str]] = field(default_factory=list)
    free: set[int] = field(default_factory=set)

    def var(self, key: tuple) -> int:
        return self.index.setdefault(key, len(self.index))

    def add(self, terms: list[tuple[tuple, str]], how: str) -> None:
        """``terms``: (cell key, cell text) with sign encoded in the key's first element."""
        coefs: dict[int, float] = defaultdict(float)
        const = 0.0
        for (sign, key), text in terms:
            v = number(text)
            if v is None:
                coefs[self.var(key)] += sign
            else:
                const -= sign * v
        coefs = {k: c for k, c in coefs.items() if c}
        if coefs:
            self.eqs.append((coefs, const, how))


def _blocks(tab: Table, keys: list[int], over: int) -> dict[tuple, list[int]]:
    out: dict[tuple, list[int]] = defaultdict(list)
    for r, row in enumerate(tab.rows):
        out[tuple(row[k] for k in keys if k != over)].append(r)
    return out


def _confirmed(instances: list[tuple[list[str], str]]) -> bool:
    """A relation family holds: some fully visible instance sums exactly, none contradicts;
    an instance whose visible parts exceed its total is not an instance (dropped)."""
    ok = False
    for parts, total in instances:
        vals = [number(p) for p in parts]
        tv = number(total)
        if tv is None or None in vals:
            continue
        if abs(sum(vals) - tv) > 1e-6:
            return False
        ok = True
    return ok


def relations_group_total(tab: Table, sys: System) -> None:
    """Count column ``c`` summed over one label column equals a total column constant in the
    block (``n`` over places = ``n_level``; over levels = ``n_group``)."""
    keys = _keys(tab, set())
    skip_rows = {
        r for r, row in enumerate(tab.rows)
        if any(w in " ".join(row).lower() for w in ("median", "mean", "(sd)"))
    }  # fmt: skip
    for total in ("n_group", "n_level", "n_known", "denominator"):
        if total not in tab.header:
            continue
        tj = tab.col(total)
        for c in tab.header:
            if not is_count_col(c) or c == total or c not in ("n", "numerator"):
                continue
            cj = tab.col(c)
            for over in keys:
                blocks = _blocks(tab, keys, over)
                inst = []
                for rows in blocks.values():
                    rows = [r for r in rows if r not in skip_rows]
                    tots = {tab.rows[r][tj] for r in rows if number(tab.rows[r][tj]) is not None}
                    if len(rows) < 2 or len(tots) != 1:
                        continue
                    inst.append((rows, [tab.rows[r][cj] for r in rows], tots.pop()))
                if not _confirmed([(p, tt) for _, p, tt in inst]):
                    continue
                for rows, parts, tt in inst:
                    vis = [number(p) for p in parts if number(p) is not None]
                    if sum(vis) > number(tt) + 1e-6:
                        continue
                    terms = [((1, (tab.name, r, c)), tab.rows[r][cj]) for r in rows]
                    terms.append(((-1, (tab.name, rows[0], total)), tt))
                    sys.add(terms, f"{tab.name}: sum of {c} over {tab.header[over]} = {total}")


def relations_total_row(tab: Table, sys: System) -> None:
    """A row labelled total/all in one label column is the sum of its block."""
    keys = _keys(tab, set())
    for over in keys:
        if not any(row[over].strip().lower() in TOTAL_WORDS for row in tab.rows):
            continue
        blocks = _blocks(tab, keys, over)
        for c in tab.header:
            if not is_count_col(c):
                continue
            cj = tab.col(c)
            inst = []
            for rows in blocks.values():
                tot = [r for r in rows if tab.rows[r][over].strip().lower() in TOTAL_WORDS]
                parts = [r for r in rows if r not in tot]
                if len(tot) == 1 and parts:
                    inst.append((tot[0], parts))
            if not _confirmed(
                [([tab.rows[p][cj] for p in ps], tab.rows[tr][cj]) for tr, ps in inst]
            ):
                continue
            for tr, ps in inst:
                terms = [((1, (tab.name, p, c)), tab.rows[p][cj]) for p in ps]
                terms.append(((-1, (tab.name, tr, c)), tab.rows[tr][cj]))
                sys.add(terms, f"{tab.name}: total row of {tab.header[over]}, {c}")


def relations_nested(tab: Table, sys: System) -> None:
    """``total - part = d >= 0`` for nested counts of a row with one of them hidden."""
    for total, parts in NESTED.items():
        if total not in tab.header:
            continue
        for p in parts:
            if p not in tab.header:
                continue
            a, b = tab.col(total), tab.col(p)
            for r, row in enumerate(tab.rows):
                if (number(row[a]) is None) == (number(row[b]) is None):
                    continue
                terms = [
                    ((1, (tab.name, r, total)), row[a]),
                    ((-1, (tab.name, r, p)), row[b]),
                    ((-1, (tab.name, r, f"~{total}-{p}")), ""),
                ]
                sys.add(terms, f"{tab.name} row {r + 1}: {total} - {p}")


def relations_partitions(rep: Report, sys: System) -> None:
    """The same population summed over different breakdowns in two tables (by year and by
    region; by group and by period at each time; by year and by year x diagnosis): within the
    values of the label columns the two tables share, the sums of a count column are equal.
    A pair of tables is used when some fully visible instance agrees (non-zero) and none
    disagrees."""
    csvs = [t for t in rep.tables if t.name.endswith(".csv")]
    for c in ("n", "numerator", "denominator", "n_not_met", "n_risk", "events", "n_competing"):
        have = [t for t in csvs if c in t.header]
        for i, ta in enumerate(have):
            for tb in have[i + 1 :]:
                _partition_pair(sys, ta, tb, c)


def _partition_pair(sys: System, ta: Table, tb: Table, c: str) -> None:
    ka = {ta.header[k] for k in _keys(ta, set())} - {"label"}
    kb = {tb.header[k] for k in _keys(tb, set())} - {"label"}
    shared = sorted(ka & kb)
    if not shared:
        return

    def sums(tab: Table) -> dict[tuple, list[int]]:
        out: dict[tuple, list[int]] = defaultdict(list)
        for r, row in enumerate(tab.rows):
            out[tuple(row[tab.col(k)] for k in shared)].append(r)
        return out

    sa, sb = sums(ta), sums(tb)
    common = [k for k in sa if k in sb]
    if ka == kb and len(common) < 2:
        return  # the same breakdown: identical cells are tied only where several rows match
    ok = False
    for k in common:
        va = [number(ta.rows[r][ta.col(c)]) for r in sa[k]]
        vb = [number(tb.rows[r][tb.col(c)]) for r in sb[k]]
        if None in va or None in vb:
            continue
        if abs(sum(va) - sum(vb)) > 1e-6:
            return
        ok = ok or sum(va) > 0
    if not ok:
        return
    for k in common:
        terms = [((1, (ta.name, r, c)), ta.rows[r][ta.col(c)]) for r in sa[k]]
        terms += [((-1, (tb.name, r, c)), tb.rows[r][tb.col(c)]) for r in sb[k]]
        sys.add(terms, f"{ta.name} vs {tb.name}: sum of {c} at {dict(zip(shared, k, strict=True))}")


def attack_intervals(rep: Report, t: int, time_limit: float = 60.0) -> None:
    sys = System()
    for tab in rep.tables:
        if not tab.name.endswith(".csv"):
            continue
        relations_group_total(tab, sys)
        relations_total_row(tab, sys)
        relations_nested(tab, sys)
    relations_partitions(rep, sys)
    if not sys.eqs:
        return
    n = len(sys.index)
    a = np.zeros((len(sys.eqs), n))
    b = np.zeros(len(sys.eqs))
    for i, (coefs, const, _) in enumerate(sys.eqs):
        for k, v in coefs.items():
            a[i, k] = v
        b[i] = const
    names = {v: k for k, v in sys.index.items()}
    # connected components of unknowns
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coefs, _, _ in sys.eqs:
        ks = list(coefs)
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    comps: dict[int, list[int]] = defaultdict(list)
    for k in range(n):
        comps[find(k)].append(k)
    for comp in comps.values():
        rows = [
            i for i, (coefs, _, _) in enumerate(sys.eqs) if find(next(iter(coefs))) == find(comp[0])
        ]
        _solve_component(rep, sys, a[np.ix_(rows, comp)], b[rows], comp, names, rows, t)


def _solve_component(
    rep: Report, sys: System, a: np.ndarray, b: np.ndarray, comp: list[int], names: dict,
    rows: list[int], t: int,
) -> None:  # fmt: skip
    m = len(comp)
    bounds = [(0, None)] * m
    for i in range(m):
        c = np.zeros(m)
        c[i] = 1
        lo = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if lo.status != 0:
            return  # infeasible: a guessed relation does not hold; drop the component
        hi = linprog(-c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        lo_v = lo.fun
        hi_v = -hi.fun if hi.status == 0 else math.inf
        if lo_v < 1e-9 and hi_v >= t:
            continue
        cons = LinearConstraint(a, b, b)
        integ = np.ones(m)
        ilo = milp(c, constraints=cons, integrality=integ, bounds=Bounds(0, np.inf))
        ihi = milp(-c, constraints=cons, integrality=integ, bounds=Bounds(0, np.inf))
        if ilo.status != 0:
            continue
        lo_i = round(ilo.fun)
        hi_i = round(-ihi.fun) if ihi.status == 0 else math.inf
        if 1 <= lo_i and hi_i <= t - 1:
            key = names[comp[i]]
            hows = [sys.eqs[r][2] for r in rows if a[rows.index(r), i]][:3]
            rep.leaks.append(
                Leak("interval", f"{key[0]} row {key[1] + 1} {key[2]!r}", (lo_i, int(hi_i)),
                     "; ".join(hows))
            )  # fmt: skip


def attack(folder: Path, threshold: int = 5) -> Report:
    """Read a report folder and run every attack; ``Report.leaks`` lists what was recovered."""
    rep = read_report(Path(folder))
    rep.numbers = sum(
        1 for tab in rep.tables for row in tab.rows for c in row if number(c) is not None
    )
    attack_direct(rep, threshold)
    attack_text(rep, threshold)
    attack_share(rep, threshold)
    attack_complement(rep, threshold)
    attack_steps(rep, threshold)
    attack_quantiles(rep, threshold)
    attack_intervals(rep, threshold)
    return rep


if __name__ == "__main__":
    import sys as _sys

    r = attack(Path(_sys.argv[1]), int(_sys.argv[2]) if len(_sys.argv) > 2 else 5)
    print(
        f"{len(r.tables)} tables, {len(r.texts)} texts, {r.numbers} numbers, {len(r.leaks)} leaks"
    )
    for leak in r.leaks:
        print(leak)
