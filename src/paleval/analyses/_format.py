"""Publication tables from disclosed tables: fixed decimals, labels, markers, footnotes.

:func:`format_table` turns one disclosed tidy table into the table people paste into papers:
estimates with their confidence interval as ``"1.61 (1.54–1.68)"``, shares as per cent,
medians with their quartiles, p-values as ``"<0.001"``, counts with thousands separators, the
labels of variables and levels from the one label registry (:data:`paleval.plots.LABELS`), in
English or Danish (decimal comma, ``"."`` for thousands). Suppressed cells show their marker
(``"<5"`` or ``"[s]"``) and the footnotes explain them. Everything is built from the published
cells of the table handed in: nothing here reads raw counts.

The kind of a column is decided from its name (paleval's naming convention, the same one the
disclosure control relies on) with two per-table hints a result class may give: which
columns are shown as per cent, and which row column names the measure of each row
(``"measure"``/``"contrast"``: ``"risk"`` and ``"difference"`` rows are per cent, ratios are
not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from paleval.disclosure import count_columns
from paleval.disclosure.text import legend_rows, marker
from paleval.plots import label

__all__ = [
    "DIGITS",
    "FormattedTable",
    "fixed",
    "format_count",
    "format_p",
    "format_table",
    "term_label",
]

DIGITS: dict[str, int] = {"ratio": 2, "percent": 1, "number": 1, "p": 3}
"""Default decimals per column kind: estimates and ratios 2, per cent 1, other numbers 1,
p-values 3 (below 0.001 shown as ``"<0.001"``)."""

_DROP = {"suppressed", "suppression", "std_error", "log_estimate", "log_hr", "order"}
_SHARE_NAMES = {
    "share",
    "crude",
    "proportion",
    "cif",
    "share_within",
    "overall_share",
    "standard",
    "target",
}
_EVENT_NAMES = {"events", "numerator", "n_late", "n_within", "n_events"}
_NOT_SHARE_TABLE = {"ratio", "term", "is_reference", "parameter"}
_PERCENT_MEASURES = {"risk", "difference", "sii", "proportion", "share", "cif", "rd"}
_MEASURE_COLUMNS = ("measure", "contrast")
_TERM = re.compile(r"^(\w+)\[(.+)\]$")

_TEXT = {
    "en": {
        "ci": "95% CI",
        "iqr": "IQR",
        "range": "range",
        "note_ci": "CI: 95% confidence interval; IQR: interquartile range.",
        "note_pct": "Shares and cumulative incidences in per cent.",
        "note_model": "Model: {m}.",
        "note_adjust": "Adjusted for: {a}.",
        "note_title": "{t}.",
    },
    "da": {
        "ci": "95 % KI",
        "iqr": "IKI",
        "range": "interval",
        "note_ci": "KI: 95 % konfidensinterval; IKI: interkvartilinterval.",
        "note_pct": "Andele og kumulerede incidenser i procent.",
        "note_model": "Model: {m}.",
        "note_adjust": "Justeret for: {a}.",
        "note_title": "{t}.",
    },
}


def _check_lang(lang: str) -> None:
    if lang not in _TEXT:
        raise ValueError(f"lang must be 'en' or 'da', got {lang!r}")


@dataclass
class FormattedTable:
    """A publication table: :attr:`table` (all cells text) and its :attr:`footnotes`.

    Column access is passed to the table (``ft.columns``, ``ft["Estimate"]``,
    ``ft.filter(...)``); :meth:`to_frame` gives the table with the footnotes as rows under
    it, the form the writer exports.

    Examples
    --------
    >>> ft = FormattedTable(pl.DataFrame({"Group": ["A"], "n": ["12"]}), ["a note"])
    >>> ft.columns, ft.footnotes
    (['Group', 'n'], ['a note'])
    >>> ft.to_frame()["Group"].to_list()
    ['A', None, 'a note']
    """

    table: pl.DataFrame
    footnotes: list[str] = field(default_factory=list)
    title: str = ""
    name: str = ""
    lang: str = "en"

    def to_frame(self) -> pl.DataFrame:
        """The table, a blank row, then one row per footnote in the first column."""
        if not self.footnotes or not self.table.columns:
            return self.table
        first = self.table.columns[0]
        foot = pl.DataFrame({first: [None, *self.footnotes]}, schema={first: pl.String})
        return pl.concat([self.table, foot], how="diagonal")

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__") or item == "table":
            raise AttributeError(item)
        return getattr(self.table, item)

    def __getitem__(self, key: Any) -> Any:
        return self.table[key]

    def __repr__(self) -> str:
        with pl.Config(
            tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True, fmt_str_lengths=60
        ):
            body = str(self.table)
        lines = [self.title] if self.title else []
        return "\n".join([*lines, body, *self.footnotes])

    def _repr_html_(self) -> str:
        import html

        head = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        foot = "".join(f"<br><small>{html.escape(x)}</small>" for x in self.footnotes)
        return head + self.table._repr_html_() + foot


# -- cell formatting (vectorised) ------------------------------------------------------------
def _group_thousands(digits: pl.Expr, sep: str) -> pl.Expr:
    """Insert ``sep`` every three digits from the right of a string of digits."""
    return (
        digits.str.reverse()
        .str.replace_all(r"(\d{3})", "${1}" + sep.replace("$", "$$"))
        .str.strip_chars_end(sep)
        .str.reverse()
    )


def fixed(expr: pl.Expr, decimals: int, lang: str = "en", *, thousands: bool = False) -> pl.Expr:
    """A number as text with exactly ``decimals`` decimals (decimal comma in Danish).

    Examples
    --------
    >>> df = pl.DataFrame({"x": [1.6061, -0.04, 1234.5, None]})
    >>> df.select(x=fixed(pl.col("x"), 2))["x"].to_list()
    ['1.61', '-0.04', '1234.50', None]
    >>> df.select(x=fixed(pl.col("x"), 1, "da", thousands=True))["x"].to_list()
    ['1,6', '-0,0', '1.234,5', None]

    A number too large for fixed digits (a diverged model's fitted value) is written in
    scientific notation rather than failing:

    >>> pl.DataFrame({"x": [1.6544e20]}).select(x=fixed(pl.col("x"), 2, "da"))["x"].item()
    '1,65e+20'
    """
    _check_lang(lang)
    x = expr.cast(pl.Float64)
    big = x.abs() * 10**decimals >= _EXACT
    exp = pl.when(big).then(x.abs().log10().floor()).otherwise(0.0)
    mantissa = _plain(pl.when(big).then(x / 10**exp).otherwise(0.0), 2, lang, False)
    sci = mantissa + pl.lit("e+") + exp.cast(pl.Int64).cast(pl.String)
    plain = _plain(pl.when(big).then(0.0).otherwise(x), decimals, lang, thousands)
    return (
        pl.when(~x.is_finite()).then(pl.lit(None, pl.String)).when(big).then(sci).otherwise(plain)
    )


_EXACT = 2.0**53
"""Scaled values from here on are not exact integers in a float: written as 1.23e+20."""


def _plain(x: pl.Expr, decimals: int, lang: str, thousands: bool) -> pl.Expr:
    scale = 10**decimals
    scaled = (x.abs() * scale).round(0).cast(pl.Int64, strict=False)
    whole = (scaled // scale).cast(pl.String)
    if thousands:
        whole = _group_thousands(whole, "." if lang == "da" else ",")
    sign = pl.when(x < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    out = sign + whole
    if decimals > 0:
        frac = (scaled % scale).cast(pl.String).str.zfill(decimals)
        out = out + pl.lit("," if lang == "da" else ".") + frac
    return out


def format_count(expr: pl.Expr, lang: str = "en") -> pl.Expr:
    """A count as text with thousands separators (``"2,484"``; Danish ``"2.484"``).

    Examples
    --------
    >>> pl.DataFrame({"n": [2484, 7]}).select(n=format_count(pl.col("n"), "da"))["n"].to_list()
    ['2.484', '7']
    """
    return fixed(expr, 0, lang, thousands=True)


def format_p(expr: pl.Expr, lang: str = "en", digits: int = 3) -> pl.Expr:
    """A p-value as text: ``"<0.001"`` below 0.001, else ``digits`` decimals.

    Examples
    --------
    >>> pl.DataFrame({"p": [0.0, 0.0432, 0.5]}).select(p=format_p(pl.col("p")))["p"].to_list()
    ['<0.001', '0.043', '0.500']
    """
    floor = 10.0**-digits
    small = "<" + fixed(pl.lit(floor), digits, lang)
    return pl.when(expr < floor).then(small).otherwise(fixed(expr, digits, lang))


def term_label(value: Any, lang: str = "en") -> str:
    """Human label of a level or a model term (``"gp_ooh_30d[yes]"`` -> ``"Out-of-hours
    contact, last 30 days: Yes"``).

    Examples
    --------
    >>> term_label("gp_ooh_30d[yes]"), term_label("home", "da")
    ('Out-of-hours contact, last 30 days: Yes', 'Eget hjem')
    >>> term_label("lower_secondary < long_higher", "da")
    'Grundskole < Lang videregående'
    """
    if value is None:
        return ""
    if " < " in str(value):  # an order of levels (the inequality indices' ``order``)
        return " < ".join(term_label(v, lang) for v in str(value).split(" < "))
    m = _TERM.match(str(value))
    if m:
        return f"{label(m.group(1), lang)}: {label(m.group(2), lang)}"
    return label(value, lang)


def _labels(expr: pl.Expr, values: Iterable[Any], lang: str) -> pl.Expr:
    """Map the distinct values of a key column to their labels (one lookup per value)."""
    mapping = {v: term_label(v, lang) for v in values if v is not None}
    return expr.replace_strict(mapping, default=None, return_dtype=pl.String)


# -- the column plan -------------------------------------------------------------------------
@dataclass
class _Out:
    header: str
    expr: pl.Expr
    count: bool = False


def _pairs(cols: list[str], schema: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Base column -> (low, high, kind) for CIs (``ci``), IQRs (``iqr``) and ranges; the ends
    of a range whose base is a label (``bin`` = ``"0-6"``) are dropped (``drop``)."""
    out: dict[str, tuple[str, str, str]] = {}
    have = set(cols)
    for c in cols:
        if c.endswith("_low") and c[:-4] in have and not schema[c[:-4]].is_numeric():
            out["_drop_" + c[:-4]] = (c, c[:-4] + "_high", "drop")
    if {"conf_low", "conf_high"} <= have:
        ratio = "ratio" if "ratio_low" not in have else None
        base = next((b for b in (ratio, "estimate", "share") if b and b in have), None)
        if base:
            out[base] = ("conf_low", "conf_high", "ci")
    for c in cols:
        if c.endswith("_low") and c[:-4] + "_high" in have and c != "conf_low":
            if "_drop_" + c[:-4] in out:
                continue
            stem = c[:-4]
            base = next((b for b in (stem, f"{stem}_share") if b in have and b not in out), None)
            out[base or stem] = (c, f"{stem}_high", "ci" if base else "range")
    for med, q1, q3 in (("median", "q1", "q3"), ("median_days", "q1_days", "q3_days")):
        if {med, q1, q3} <= have:
            out.setdefault(med, (q1, q3, "iqr"))
    for c in cols:
        if c.endswith("_median") and {c[:-7] + "_q1", c[:-7] + "_q3"} <= have:
            out[c] = (c[:-7] + "_q1", c[:-7] + "_q3", "iqr")
    for c in cols:
        if c.startswith("lower_") and "upper_" + c[6:] in have:
            out["limits_" + c[6:]] = (c, "upper_" + c[6:], "range")
    return out


def _is_share_name(c: str) -> bool:
    return c in _SHARE_NAMES or c.endswith("_share") or c.startswith("share_")


def format_table(
    tab: pl.DataFrame,
    *,
    counts: Sequence[str] = (),
    percent: Sequence[str] = (),
    lang: str = "en",
    digits: int | None = None,
    threshold: int = 5,
    rounding: int | None = None,
    headers: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    title: str = "",
    name: str = "",
) -> FormattedTable:
    """The publication form of one disclosed tidy table.

    ``counts`` names the count columns (as declared to disclosure control; columns named by
    :func:`paleval.disclosure.count_columns` are counts too), ``percent`` the columns shown
    as per cent (besides ``share``-named ones).
    ``digits`` overrides the decimals of estimates and shares. A row with ``suppressed`` shows
    its marker (``suppression`` primary: ``"<5"``, secondary: ``"[s]"``; a per-column
    ``suppression_<col>`` wins) in every number cell it lost.

    Examples
    --------
    >>> t = pl.DataFrame({"group": ["home", "hospital"], "n": [1234, None],
    ...                   "estimate": [1.6061, None], "conf_low": [1.54, None],
    ...                   "conf_high": [1.68, None], "p_value": [0.0001, None],
    ...                   "suppressed": [False, True], "suppression": [None, "primary"]})
    >>> ft = format_table(t, counts=["n"])
    >>> ft.table.row(0)
    ('Home', '1,234', '1.61 (1.54–1.68)', '<0.001')
    >>> ft.table.row(1)
    ('Hospital', '<5', '<5', '<5')
    >>> ft.columns
    ['Group', 'n', 'Estimate (95% CI)', 'P-value']
    """
    _check_lang(lang)
    plan = _Plan(tab, counts, percent, lang, digits, threshold, dict(headers or {}))
    table = plan.build()
    footnotes = plan.footnotes(notes, rounding)
    return FormattedTable(table, footnotes, title=title, name=name, lang=lang)


class _Plan:
    """The columns of one publication table and how each cell is written."""

    def __init__(
        self,
        tab: pl.DataFrame,
        counts: Sequence[str],
        percent: Sequence[str],
        lang: str,
        digits: int | None,
        threshold: int,
        headers: dict[str, str],
    ) -> None:
        self.tab, self.lang, self.digits, self.threshold = tab, lang, digits, threshold
        self.headers, self.txt = headers, _TEXT[lang]
        cols = [
            c for c in tab.columns if c not in _DROP and not c.startswith(("suppression_", "log_"))
        ]
        self.counts = {
            c for c in [*counts, *count_columns(cols)] if c in cols and tab.schema[c].is_numeric()
        }
        self.pairs = _pairs(cols, tab.schema)
        self.paired = {x for lo, hi, _ in self.pairs.values() for x in (lo, hi)}
        # a range without a base column (bins, control limits) sits where its lower end was
        self.unbased = {lo: b for b, (lo, _, _) in self.pairs.items() if b not in tab.columns}
        if self.pairs.get("ratio", ("",))[0] == "conf_low" and "estimate" in cols:
            cols.remove("estimate")  # the log ratio next to the ratio
        self.cols = cols
        self.measure = next((m for m in _MEASURE_COLUMNS if m in cols), None)
        share_table = bool(set(cols) & _EVENT_NAMES) and not set(cols) & _NOT_SHARE_TABLE
        self.pct = {c for c in cols if _is_share_name(c)} | set(percent)
        if share_table and self.measure is None:
            self.pct.add("estimate")
        # float columns holding whole numbers only (times in days) print without decimals
        self.whole = {
            c
            for c in cols
            if tab.schema[c].is_float()
            and c not in self.pct
            and c != "estimate"
            and tab.select(((pl.col(c) - pl.col(c).round(0)).abs() < 1e-9).all()).item()
        }

    # cells ------------------------------------------------------------------------------
    def _kind(self, col: str) -> pl.Expr:
        tab = self.tab
        if f"suppression_{col}" in tab.columns:
            return pl.col(f"suppression_{col}")
        return pl.col("suppression") if "suppression" in tab.columns else pl.lit(None, pl.String)

    def lost(self, col: str, cell: pl.Expr) -> pl.Expr:
        """The cell; its marker when the row (or the column's cell) was suppressed."""
        tab = self.tab
        if f"suppression_{col}" in tab.columns:
            flag = pl.col(f"suppression_{col}").is_not_null()
        elif "suppressed" in tab.columns:
            flag = pl.col("suppressed").fill_null(False)
        else:
            return cell
        mark = (
            pl.when(self._kind(col) == "primary")
            .then(pl.lit(marker("primary", self.threshold)))
            .otherwise(pl.lit(marker("secondary", self.threshold)))
        )
        return pl.when(pl.col(col).is_null() & flag).then(mark).otherwise(cell)

    def number(self, col: str, base: str | None = None) -> pl.Expr:
        ref, lang, digits = base or col, self.lang, self.digits
        if "p_value" in (ref, col):
            return format_p(pl.col(col), lang, DIGITS["p"])
        d_pct = DIGITS["percent"] if digits is None else digits
        d_num = DIGITS["ratio"] if digits is None else digits
        if ref in ("median", "median_days") or ref.endswith(("_median", "_mean", "_days")):
            d_num = DIGITS["number"] if digits is None else digits
        if ref in self.pct:
            return fixed(100 * pl.col(col), d_pct, lang)
        if ref == "estimate" and self.measure is not None:
            row_pct = (
                pl.col(self.measure)
                .cast(pl.String)
                .str.to_lowercase()
                .is_in(sorted(_PERCENT_MEASURES))
            )
            return (
                pl.when(row_pct)
                .then(fixed(100 * pl.col(col), d_pct, lang))
                .otherwise(fixed(pl.col(col), d_num, lang))
            )
        if self.tab.schema[col].is_integer() or col in self.whole:
            return fixed(pl.col(col), 0, lang)
        return fixed(pl.col(col), d_num, lang)

    # columns ----------------------------------------------------------------------------
    def paired_column(self, c: str) -> _Out:
        lo, hi, pk = self.pairs[c]
        head, lang = self.headers.get(c), self.lang
        if c.startswith("limits_"):
            cell = self.number(lo, "estimate") + "–" + self.number(hi, "estimate")
            text = f"{label('control_limits', lang)} {c[7:].replace('_', '.')} %"
            return _Out(head or text[:1].upper() + text[1:], self.lost(lo, cell))
        if c not in self.tab.columns:  # a range without a base (bins)
            cell = self.number(lo, lo) + "–" + self.number(hi, hi)
            return _Out(head or label(c, lang), self.lost(lo, cell))
        inner = self.number(lo, c) + "–" + self.number(hi, c)
        cell = self.number(c) + " (" + inner + ")"
        both = pl.col(lo).is_not_null() & pl.col(hi).is_not_null()
        cell = pl.when(both).then(cell).otherwise(self.number(c))
        unit = ", %" if c in self.pct else ""
        extra = self.txt["ci"] if pk == "ci" else self.txt["iqr"] if pk == "iqr" else ""
        extra = extra or self.txt["range"]
        return _Out(head or f"{label(c, lang)}{unit} ({extra})", self.lost(c, cell))

    def column(self, c: str) -> _Out:
        dt, head, lang = self.tab.schema[c], self.headers.get(c), self.lang
        if c in self.counts:
            cell = format_count(pl.col(c), lang)
            return _Out(head or _count_header(c, lang), self.lost(c, cell), count=True)
        if dt == pl.Boolean:
            yes, no = label("yes", lang), label("no", lang)
            cell = pl.when(pl.col(c)).then(pl.lit(yes)).when(~pl.col(c)).then(pl.lit(no))
            return _Out(head or label(c, lang), cell)
        if dt.is_numeric():
            unit = ", %" if c in self.pct else ""
            return _Out(head or f"{label(c, lang)}{unit}", self.lost(c, self.number(c)))
        values = self.tab[c].cast(pl.String).unique().to_list()
        return _Out(head or label(c, lang), _labels(pl.col(c).cast(pl.String), values, lang))

    def build(self) -> pl.DataFrame:
        outs: list[_Out] = []
        done: set[str] = set()
        for col in self.cols:
            c = self.unbased.get(col, col)
            if c.startswith("_drop_"):
                continue
            if c in done or (c in self.paired and c not in self.pairs):
                continue
            done |= {c, *self.pairs.get(c, ("", ""))[:2]}
            outs.append(self.paired_column(c) if c in self.pairs else self.column(c))
        seen: dict[str, int] = {}
        exprs = []
        for o in outs:
            h = o.header
            if h in seen:  # two columns with the same label: keep both, numbered
                seen[h] += 1
                h = f"{h} ({seen[h]})"
            seen.setdefault(h, 1)
            exprs.append(o.expr.cast(pl.String).alias(h))
        return self.tab.select(exprs) if exprs else pl.DataFrame()

    def footnotes(self, notes: Sequence[str], rounding: int | None) -> list[str]:
        tab, out = self.tab, []
        if any(k in ("ci", "iqr") for b, (_, _, k) in self.pairs.items() if b in tab.columns):
            out.append(self.txt["note_ci"])
        if self.pct & set(self.cols) or self.measure is not None:
            out.append(self.txt["note_pct"])
        out.extend(notes)
        flags = [c for c in tab.columns if c.startswith("suppression_")]
        hidden = "suppressed" in tab.columns and bool(tab["suppressed"].fill_null(False).any())
        hidden = hidden or any(tab[c].is_not_null().any() for c in flags)
        if hidden or rounding:
            out.extend(legend_rows(self.lang, self.threshold, rounding))
        return out


def _count_header(col: str, lang: str) -> str:
    """Count columns keep their name (``n``, ``events``, ``n_ref``, ``n_events_ref``): the
    disclosure auditor (``paleval check-output``) reads the relations between counts (parts of
    a whole, reference-group counts, numbers at risk) from these names, in every language."""
    return col
