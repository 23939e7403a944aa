"""Building defective register files by hand, for the bad-input and validation tests.

Every helper writes a small file whose content the test knows exactly, so expected values are
computed from the construction and not from paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat

from paleval.codes import load_codes

SAS_EPOCH = dt.date(1960, 1, 1)

SERVICE = load_codes("gp_services")["SPECIALE"][0]
"""A GP service (SSSY ``SPECIALE``) in paleval's list."""

# A small extract that validates without any finding (hand-written: the tests plant one defect
# in it and know the expected counts). Shared by test_bad_inputs_values.py and
# test_registers_validation.py.
BEF = (
    "PNR,KOEN,FOED_DAG,KOM,REG,CIVST,FAMILIE_ID,FAMILIE_TYPE,ANTPERSF,IE_TYPE,OPR_LAND,"
    "REFERENCETID\n"
    "0101501111,1,1950-01-01,101,84,G,F1,1,2,1,5100,2019-12-31\n"
    "0202602222,2,1960-02-02,751,82,U,F2,9,1,1,5100,2019-12-31\n"
    "0303703333,1,1970-03-03,461,83,E,F3,9,1,2,5120,2019-12-31\n"
)
DOD = "PNR,DODDATO\n0101501111,2020-06-01\n"
DPD = (
    "PNR,ENHED_ID,ENHED_TYPE,HENV_DATO,HENV_FRA,MODTAGET,FOERSTE_KONTAKT_DATO,"
    "IKKE_MODTAGET_AARSAG,EORTC_UDFYLDT,MDK\n"
    "0101501111,98102,hospice,2020-05-01,own_doctor,1,2020-05-10,,1,1\n"
)
LPR = (
    "PNR,RECNUM,C_SGH,C_AFD,C_SPEC,C_PATTYPE,C_INDM,D_INDDTO,D_UDDTO,V_SENGDAGE,C_ADIAG\n"
    "0101501111,R1,9101,011,01,0,1,2019-01-10,2019-01-12,2,DC349\n"
    "0202602222,R2,9101,011,01,2,2,2019-03-01,2019-03-01,0,DI219\n"
)
SSSY = (
    "PNR,HONUGE,YDERNR,SPEC2,SPECIALE,YDLTID,YDLANT,BRUHON\n"
    f"0101501111,1905,123456,80,{SERVICE},1,1,145.0\n"
)


def write_files(d: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path relative to ``d`` -> text) under ``d``; returns ``d``."""
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


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


def rule_counts(d: Path, keys: list[str], **kw: object) -> dict[tuple[str, str, str | None], int]:
    """``validate(d, keys)`` (cache beside ``d``) as (rule, register, column) -> n, summed
    over files."""
    from paleval.registers import validate

    rep = validate(d, keys, cache_dir=d.parent / "cache", **kw)  # type: ignore[arg-type]
    out: dict[tuple[str, str, str | None], int] = {}
    for r in rep.findings.iter_rows(named=True):
        k = (r["rule"], r["register"], r["column"])
        out[k] = out.get(k, 0) + r["n"]
    return out
