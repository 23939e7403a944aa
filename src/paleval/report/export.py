"""Writing results out of a notebook: disclosure control first, deterministic files always."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from paleval.analyses.result import AnalysisResult
from paleval.disclosure import DEFAULT_THRESHOLD, Ledger
from paleval.disclosure.text import legend_rows
from paleval.plots import save_figure

__all__ = ["export", "report_ledger", "write_definitions", "write_table"]

_FIXED_TIME = dt.datetime(2000, 1, 1)

_LEDGERS: dict[str, Ledger] = {}


def report_ledger(output_dir: str | Path) -> Ledger:
    """The disclosure ledger of a report folder in this process: what :func:`export` has
    published there so far, for tables whose cells recur in other tables (Table 1 by cause
    and by cancer). See :class:`paleval.disclosure.Ledger`.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> report_ledger(d) is report_ledger(Path(d)), report_ledger(d).entries
    (True, [])
    """
    return _LEDGERS.setdefault(str(Path(output_dir).resolve()), Ledger())


def write_table(
    table: pl.DataFrame,
    path: str | Path,
    *,
    xlsx: bool = True,
    legend: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``table`` as CSV (and XLSX) with no timestamps, so reruns give identical bytes.

    Floating-point values are written with 12 significant digits. ``legend`` lines (the
    disclosure markers explained) go to a second XLSX sheet named ``legend``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> [p.name for p in write_table(pl.DataFrame({"n": [5]}), d / "t")]
    ['t.csv', 't.xlsx']
    """
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # 12 significant digits: the last bits of a float depend on the order in which parallel
    # aggregations summed, which would make reruns differ in noise only
    table = table.with_columns(
        [pl.col(c).round_sig_figs(12) for c, t in table.schema.items() if t.is_float()]
    )
    csv = path.with_suffix(".csv")
    table.write_csv(csv)
    out = [csv]
    if xlsx:
        target = path.with_suffix(".xlsx")
        wb = xlsxwriter.Workbook(str(target))
        wb.set_properties({"created": _FIXED_TIME})
        # list columns (rare) are written as text; NaN/inf (not numbers Excel knows) as blanks
        flat = table.with_columns(
            [pl.col(c).cast(pl.String) for c, t in table.schema.items() if t.is_nested()]
            + [
                pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c)
                for c, t in table.schema.items()
                if t.is_float()
            ]
        )
        flat.write_excel(wb, worksheet=path.name[:31], autofit=True)
        if legend:
            pl.DataFrame({"legend": list(legend)}).write_excel(wb, worksheet="legend", autofit=True)
        wb.close()
        out.append(target)
    return out


def write_definitions(result: AnalysisResult, path: str | Path) -> Path:
    """Write the analysis' title and the definitions and options it ran with (``params``) as
    JSON with sorted keys, so reruns give identical bytes. Values JSON cannot hold are written
    as text.

    Examples
    --------
    >>> import json, tempfile
    >>> from paleval.analyses import AnalysisResult
    >>> r = AnalysisResult("demo", {"main": pl.DataFrame({"n": [5]})}, 5, params={"offset": 14})
    >>> p = write_definitions(r, Path(tempfile.mkdtemp()) / "demo.json")
    >>> json.loads(p.read_text())["params"]
    {'offset': 14}
    """
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"title": result.title, "params": result.params}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
    return path


def export(
    result: AnalysisResult,
    name: str,
    output_dir: str | Path,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: int | None = None,
    lang: str = "en",
    formats: Sequence[str] = ("png", "svg"),
    xlsx: bool = True,
    figures: Sequence[str] | None = None,
) -> AnalysisResult:
    """Publish a result: disclosure control, then tables to ``output_dir/tables`` and figures to
    ``output_dir/figures``, named ``{name}_{table}`` and ``{name}_{figure}``.

    Returns the disclosed result (show that one in a notebook whose HTML leaves the server).
    Tables go out as CSV and XLSX; a result with a ``formatted()`` method (Table 1) also writes
    its printable wide table. Figures are drawn from the disclosed tables only. The study
    definitions and options the analysis ran with (its ``params``: no counts) are written to
    ``output_dir/definitions/{name}.json``, which the report's index lists.

    Disclosure control (:meth:`AnalysisResult.disclosed`): ``threshold`` (default 5) and
    ``rounding`` (``None``, 5 or 10), under the report's ledger (:func:`report_ledger`): a
    table declaring ``Protection.link`` is protected together with the tables already exported
    to ``output_dir`` that hold the same cells. Suppressed rows carry ``suppression`` =
    ``"primary"`` (a count under the threshold, shown "<5") or ``"secondary"`` (suppressed to
    protect one, shown "[s]"); every XLSX file has a ``legend`` sheet and
    ``output_dir/tables/LEGEND.txt`` explains the markers in the report's language.

    Examples
    --------
    >>> import tempfile
    >>> from paleval.analyses import AnalysisResult
    >>> r = AnalysisResult("demo", {"main": pl.DataFrame({"g": ["a", "b"], "n": [3, 40]})}, 43,
    ...                    margins={"main": []})
    >>> pub = export(r, "demo", tempfile.mkdtemp(), xlsx=False)
    >>> pub.table["n"].to_list()
    [None, 40]
    """
    import matplotlib.pyplot as plt

    out = Path(output_dir)
    # tables that repeat cells of tables exported before to this report are protected
    # together with them (report-level ledger)
    with report_ledger(out).active():
        pub = result.disclosed(threshold, rounding=rounding)
    legend = legend_rows(lang, threshold, rounding)
    write_definitions(result, out / "definitions" / f"{name}.json")
    for tname, tab in pub.tables.items():
        write_table(tab, out / "tables" / f"{name}_{tname}", xlsx=xlsx, legend=legend)
    (out / "tables" / "LEGEND.txt").write_text("\n".join(legend) + "\n", encoding="utf-8")
    formatted = getattr(pub, "formatted", None)
    if callable(formatted):
        write_table(
            formatted(lang=lang), out / "tables" / f"{name}_formatted", xlsx=xlsx, legend=legend
        )
    for kind in pub.figures if figures is None else figures:
        ax = pub.plot(kind, lang=lang)
        fig: Any = ax.figure
        save_figure(fig, out / "figures" / f"{name}_{kind}", formats)
        plt.close(fig)
    return pub
