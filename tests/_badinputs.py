"""Building defective register files by hand, for tests/test_bad_inputs_files.py.

Every helper writes a small file whose content the test knows exactly, so expected values are
computed from the construction and not from paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat

SAS_EPOCH = dt.date(1960, 1, 1)


def dod_frame(n: int, start: dt.date = dt.date(2015, 1, 1)) -> pl.DataFrame:
    """``n`` deaths, one a day from ``start``, PNRs ``0000000000`` ... (synthetic)."""
    return pl.DataFrame(
        {
            "PNR": [f"{i:010d}" for i in range(n)],
            "DODDATO": [start + dt.timedelta(days=i) for i in range(n)],
        }
    )


def lmdb_frame(n: int, offset: int = 0) -> pl.DataFrame:
    """``n`` prescriptions (PNR, EKSD, ATC) with PNRs from ``offset``."""
    return pl.DataFrame(
        {
            "PNR": [f"{i + offset:010d}" for i in range(n)],
            "EKSD": [dt.date(2019, 1, 1) + dt.timedelta(days=i % 365) for i in range(n)],
            "ATC": ["N02AA01"] * n,
        }
    )


def write_xport(
    path: Path,
    dates: list[dt.date],
    sas_format: str,
    *,
    datetime_values: bool = False,
    version: int = 5,
) -> None:
    """A ``dod`` transport file: PNR and DODDATO stored as SAS numbers (days since 1960, or
    seconds when ``datetime_values``) carrying ``sas_format``."""
    days = [float((d - SAS_EPOCH).days) for d in dates]
    values = [x * 86_400 + 3_600 * 7.5 for x in days] if datetime_values else days
    df = pd.DataFrame({"PNR": [f"{i:010d}" for i in range(len(dates))], "DODDATO": values})
    pyreadstat.write_xport(
        df,
        str(path),
        table_name="DOD",
        file_format_version=version,
        variable_format={"DODDATO": sas_format},
    )


def cut(path: Path, n_bytes: int, out: Path | None = None) -> Path:
    """A copy of ``path`` keeping only its first ``n_bytes`` bytes (``out`` or in place)."""
    data = path.read_bytes()[:n_bytes]
    target = out or path
    target.write_bytes(data)
    return target


def flip(path: Path, offset: int, new: bytes) -> None:
    """Overwrite ``len(new)`` bytes of ``path`` at ``offset`` (a damaged disk sector)."""
    data = bytearray(path.read_bytes())
    data[offset : offset + len(new)] = new
    path.write_bytes(bytes(data))
