"""Writing results out of a notebook: disclosure control first, deterministic files always."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paleval.analyses._output import write_formatted, write_table
from paleval.analyses.result import AnalysisResult
from paleval.disclosure import DEFAULT_THRESHOLD, Ledger
from paleval.disclosure.text import legend_rows
from paleval.plots import save_figure

__all__ = ["export", "report_ledger", "write_definitions", "write_table"]

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


def write_definitions(result: AnalysisResult, path: str | Path) -> Path:
    """Write the analysis' title and the definitions and options it ran with (``params``) as
    JSON with sorted keys, so reruns give identical bytes. Values JSON cannot hold are written
    as text.

    Examples
    --------
    >>> import json, tempfile
    >>> import polars as pl
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
    Tables go out as CSV and XLSX, each with its publication form
    (:meth:`AnalysisResult.formatted`, in ``lang``): ``{name}_formatted`` for the main table,
    ``{name}_{table}_formatted`` for the others, footnotes under the table. Figures are
    drawn from the disclosed tables only. The study
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
    >>> import polars as pl
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
    for k, tname in enumerate(pub.tables):
        stem = f"{name}_formatted" if k == 0 else f"{name}_{tname}_formatted"
        write_formatted(pub.formatted(tname, lang=lang), out / "tables" / stem, xlsx=xlsx)
    for kind in pub.figures if figures is None else figures:
        ax = pub.plot(kind, lang=lang)
        fig: Any = ax.figure
        save_figure(fig, out / "figures" / f"{name}_{kind}", formats)
        plt.close(fig)
    return pub
