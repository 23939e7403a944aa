"""Writing a frame as a research server delivers it: CSV (UTF-8 or latin-1) or SAS transport."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyreadstat


def write_as(df: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write ``df`` to ``path`` (suffix replaced) as ``parquet``, ``csv_utf8``, ``csv_latin1``
    (semicolons, SAS-style dates such as 01JAN2015) or ``xpt`` (SAS transport)."""
    if fmt == "parquet":
        df.write_parquet(path.with_suffix(".parquet"))
    elif fmt == "csv_utf8":
        df.write_csv(path.with_suffix(".csv"))
    elif fmt == "csv_latin1":
        text = df.write_csv(separator=";", date_format="%d%b%Y")
        path.with_suffix(".csv").write_bytes(text.encode("latin-1"))
    elif fmt == "xpt":
        pdf = df.to_pandas()
        for c, dt in df.schema.items():
            if dt == pl.Date:
                pdf[c] = pdf[c].dt.date
        pyreadstat.write_xport(pdf, str(path.with_suffix(".xpt")), table_name="DATA")
    else:
        raise ValueError(f"unknown format {fmt!r}")
