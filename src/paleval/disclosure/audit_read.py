"""Everything a report exports, read back as tables and free text for the auditor.

CSV, parquet, every sheet of every XLSX workbook, the tables and the text of HTML files, the
text of SVG figures (matplotlib writes its labels as ``<text>`` or, with glyph paths, as a
comment before each label) and the outputs of executed notebooks (``stream``, ``text/plain``,
``text/html``). Images (PNG) carry no readable text and are skipped; paleval writes an SVG
twin of every figure, which is read.

Internal to :mod:`paleval.disclosure.audit` (its public API: ``audit_report``, ``check_output``,
``scrub_notebook``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

import polars as pl

__all__ = ["Grid", "Text", "read_export"]

TABLE_SUFFIXES = {".csv", ".parquet", ".xlsx"}
TEXT_SUFFIXES = {".html", ".htm", ".svg", ".ipynb"}


@dataclass
class Grid:
    """A table as read from a file: header and rows of raw cells, and where it was found."""

    file: str
    where: str
    columns: list[str]
    rows: list[list[object]]
    truncated: bool = False
    """Rows or columns were left out (a notebook's table repr with "…"): only relations
    within a row are used."""

    def label(self) -> str:
        """``file`` or ``file [where]``."""
        return f"{self.file} [{self.where}]" if self.where else self.file


@dataclass
class Text:
    """A piece of free text from a file, with its location."""

    file: str
    where: str
    text: str


@dataclass
class Export:
    """What a report folder holds, as grids and texts, plus files that could not be read."""

    grids: list[Grid] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    files: int = 0


def _frame_grid(df: pl.DataFrame, file: str, where: str) -> Grid:
    return Grid(file, where, [str(c) for c in df.columns], [list(r) for r in df.rows()])


def _read_xlsx(path: Path, rel: str) -> list[Grid]:
    # every cell as text, as in CSV ("<5" beside numbers), parsed by the cell reader
    sheets = pl.read_excel(path, sheet_id=0, raise_if_empty=False, infer_schema_length=0)
    if isinstance(sheets, pl.DataFrame):
        sheets = {"Sheet1": sheets}
    return [_frame_grid(df, rel, f"sheet {name!r}") for name, df in sheets.items()]


# --- HTML --------------------------------------------------------------------------------------

_VOID = {"br", "img", "meta", "link", "input", "hr", "col", "area", "base", "source", "wbr"}
_SKIP_TAGS = {"script", "style", "head", "title"}
_SKIP_CLASS = re.compile(r"jp-InputArea|input_area|jp-InputPrompt|jp-OutputPrompt|highlight")


class _HTMLCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # True where the element is skipped
        self.tables: list[list[list[str]]] = []
        self.open_tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.text: list[str] = []

    @property
    def skipping(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag not in _VOID:
            self.stack.append(tag in _SKIP_TAGS or bool(_SKIP_CLASS.search(cls)))
        if self.skipping:
            return
        if tag == "table":
            self.open_tables.append([])
        elif tag == "tr" and self.open_tables:
            self.open_tables[-1].append([])
        elif tag in ("td", "th") and self.open_tables:
            self.cell = []
        elif tag in ("br", "p", "div", "li"):
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self.skipping:
            if tag in ("td", "th") and self.cell is not None and self.open_tables:
                if not self.open_tables[-1]:
                    self.open_tables[-1].append([])
                self.open_tables[-1][-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table" and self.open_tables:
                self.tables.append(self.open_tables.pop())
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif not self.open_tables:
            self.text.append(data)


def _html_grids_texts(html: str, file: str, where: str) -> tuple[list[Grid], list[Text]]:
    p = _HTMLCollector()
    p.feed(html)
    p.close()
    grids = []
    for k, rows in enumerate(p.tables, 1):
        rows = [r for r in rows if r]
        # polars' HTML repr has a second header row of dtypes; shape rows have one cell
        if len(rows) < 2:
            continue
        width = max(len(r) for r in rows)
        header = rows[0] + [f"column_{i}" for i in range(len(rows[0]), width)]
        body = [[_unrepr(c) for c in r] + [""] * (width - len(r)) for r in rows[1:]]
        cut = any(c in ("…", "...") for r in rows for c in r)
        body = [r for r in body if not all(c in ("", "---", "…", "...") for c in r)]
        body = [r for r in body if not _dtype_row(r)]
        grids.append(Grid(file, f"{where}table {k}".strip(), header, body, cut))
    text = "".join(p.text)
    texts = [Text(file, where.strip() or "text", text)] if text.strip() else []
    return grids, texts


def _unrepr(cell: str) -> str:
    """A cell of polars' HTML repr as written to CSV: ``"cancer"`` -> ``cancer``, ``null`` ->
    empty."""
    if cell == "null":
        return ""
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1]
    return cell


def _dtype_row(row: list[str]) -> bool:
    return all(
        re.fullmatch(r"(?:str|i\d+|u\d+|f\d+|bool|date|datetime.*|cat|null|)", c) for c in row
    )


# --- SVG ---------------------------------------------------------------------------------------

_SVG_SKIP = re.compile(r"^(?:xtick|ytick|legend)")


def svg_texts(path: Path | IO[bytes], rel: str) -> tuple[list[Text], list[Text]]:
    """(labels, axis/legend labels) of an SVG: ``<text>`` content and matplotlib's comments.

    >>> import io
    >>> svg = b'<svg><g id="xtick_1"><text>1</text></g><g id="t"><!-- n = 3 --></g></svg>'
    >>> labels, ticks = svg_texts(io.BytesIO(svg), "f.svg")
    >>> [(t.where, t.text) for t in labels], [t.text for t in ticks]
    ([('svg t', 'n = 3')], ['1'])
    """
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser=parser).getroot()
    labels: list[Text] = []
    ticks: list[Text] = []

    def walk(el: ET.Element, ctx: str, tick: bool) -> None:
        for child in el:
            if child.tag is ET.Comment:
                t = (child.text or "").strip()
                if t:
                    (ticks if tick else labels).append(Text(rel, f"svg {ctx}".strip(), t))
                continue
            gid = child.get("id") or ""
            tag = str(child.tag).rsplit("}", 1)[-1]
            if tag == "text":
                t = " ".join("".join(child.itertext()).split())
                if t:
                    (ticks if tick else labels).append(Text(rel, f"svg {gid or ctx}".strip(), t))
                continue
            walk(child, gid or ctx, tick or bool(_SVG_SKIP.match(gid)))

    walk(root, "", False)
    return labels, ticks


# --- notebooks ---------------------------------------------------------------------------------


def _join(v: object) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def notebook_outputs(nb: dict) -> list[tuple[int, int, dict]]:
    """(cell index, output index, output) for every output of every code cell."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        for j, o in enumerate(cell.get("outputs", []) or []):
            out.append((i, j, o))
    return out


def output_grids_texts(o: dict, file: str, where: str) -> tuple[list[Grid], list[Text]]:
    """Tables and texts of one notebook output (stream text, text/plain, text/html)."""
    grids: list[Grid] = []
    texts: list[Text] = []
    if o.get("output_type") == "stream":
        texts.append(
            Text(file, f"{where} stream {o.get('name', '')}".strip(), _join(o.get("text", "")))
        )
        return grids, texts
    if o.get("output_type") == "error":
        texts.append(Text(file, f"{where} error", "\n".join(o.get("traceback", []))))
        return grids, texts
    data = o.get("data", {}) or {}
    if "text/plain" in data:
        texts.append(Text(file, f"{where} text/plain", _join(data["text/plain"])))
    if "text/html" in data:
        g, t = _html_grids_texts(_join(data["text/html"]), file, f"{where} text/html ")
        grids += g
        texts += t
    return grids, texts


def _read_ipynb(path: Path, rel: str) -> tuple[list[Grid], list[Text]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    grids: list[Grid] = []
    texts: list[Text] = []
    for i, j, o in notebook_outputs(nb):
        g, t = output_grids_texts(o, rel, f"cell {i} output {j}")
        grids += g
        texts += t
    return grids, texts


def _read_one(path: Path, rel: str, exp: Export) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        exp.grids.append(_frame_grid(pl.read_csv(path, infer_schema_length=None), rel, ""))
    elif suffix == ".parquet":
        exp.grids.append(_frame_grid(pl.read_parquet(path), rel, ""))
    elif suffix == ".xlsx":
        exp.grids += _read_xlsx(path, rel)
    elif suffix in (".html", ".htm"):
        g, t = _html_grids_texts(path.read_text(encoding="utf-8", errors="replace"), rel, "")
        exp.grids += g
        exp.texts += t
    elif suffix == ".svg":
        labels, _ = svg_texts(path, rel)
        exp.texts += labels
    elif suffix == ".ipynb":
        g, t = _read_ipynb(path, rel)
        exp.grids += g
        exp.texts += t


def read_export(directory: Path) -> Export:
    """Read every table and text file under ``directory`` (recursively).

    A file that cannot be parsed is listed in ``unreadable`` with the reason (an auditor that
    cannot read a file cannot clear it); files of other types are listed in ``skipped``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("g,n\\na,3\\n")
    >>> _ = (d / "f.png").write_bytes(b"")
    >>> exp = read_export(d)
    >>> exp.grids[0].columns, exp.grids[0].rows, exp.skipped
    (['g', 'n'], [['a', 3]], ['f.png'])
    """
    exp = Export()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        suffix = path.suffix.lower()
        if suffix not in TABLE_SUFFIXES | TEXT_SUFFIXES:
            exp.skipped.append(rel)
            continue
        exp.files += 1
        if path.stat().st_size == 0:
            continue  # an empty file discloses nothing
        try:
            _read_one(path, rel, exp)
        except Exception as e:
            exp.unreadable.append((rel, f"{type(e).__name__}: {e}"))
    return exp
