"""The one writer of paleval's tables: tidy tables and publication tables, CSV and XLSX.

Both :meth:`paleval.analyses.AnalysisResult.save` and the report
(:func:`paleval.report.export`) write through here, so a table saved from a notebook and one
in the report are the same bytes. Files carry no timestamps (XLSX creation time is fixed), so
reruns give identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from paleval.analyses._format import FormattedTable

__all__ = ["write_formatted", "write_table"]

_FIXED_TIME = dt.datetime(2000, 1, 1)


def _workbook(target: Path) -> object:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(target))
    wb.set_properties({"created": _FIXED_TIME})
    return wb


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
        wb = _workbook(target)
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
        wb.close()  # type: ignore[attr-defined]
        out.append(target)
    return out


def write_formatted(table: FormattedTable, path: str | Path, *, xlsx: bool = True) -> list[Path]:
    """Write a publication table as CSV and XLSX: the footnotes under the table (after a
    blank row); in XLSX a bold header, the header row frozen, columns sized to their text.

    Examples
    --------
    >>> import tempfile
    >>> ft = FormattedTable(pl.DataFrame({"Group": ["A"], "n": ["12"]}), ["<5: fewer than 5"])
    >>> paths = write_formatted(ft, Path(tempfile.mkdtemp()) / "demo_formatted")
    >>> [p.name for p in paths], paths[0].read_text().splitlines()
    (['demo_formatted.csv', 'demo_formatted.xlsx'], ['Group,n', 'A,12', ',', '<5: fewer than 5,'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv = path.with_suffix(".csv")
    table.to_frame().write_csv(csv)
    out = [csv]
    if not xlsx:
        return out
    target = path.with_suffix(".xlsx")
    wb = _workbook(target)
    ws = wb.add_worksheet((table.name or path.name)[:31])  # type: ignore[attr-defined]
    bold = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})  # type: ignore[attr-defined]
    note = wb.add_format({"italic": True, "font_size": 9})  # type: ignore[attr-defined]
    tab = table.table
    for j, col in enumerate(tab.columns):
        ws.write_string(0, j, col, bold)
        values = tab[col].to_list()
        for i, v in enumerate(values, start=1):
            if v is not None:
                ws.write_string(i, j, str(v))
        width = max([len(col) * 0.6, *(len(str(v)) for v in values if v is not None), 6])
        ws.set_column(j, j, min(width + 2, 60))
    ws.freeze_panes(1, 0)
    for k, text in enumerate(table.footnotes):
        ws.write_string(tab.height + 2 + k, 0, text, note)
    wb.close()  # type: ignore[attr-defined]
    out.append(target)
    return out
