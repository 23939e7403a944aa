"""Bad inputs still undetected after session 8 (issue 15, session 11): a register's files two
folder levels down in a misnamed folder, a CSV cut inside its last field, and Unix-epoch day
numbers read as SAS day numbers (ten years early).

Expected values come from the construction; each case failed on the code before this session
(the misnamed folder was ignored and the register "not delivered"; the cut last field was read
as a shorter value; Unix day numbers became dates 3,653 days early).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from _badinputs import write_files
from paleval.registers import (
    RegisterLoadError,
    register_delivered,
    register_inventory,
    scan_register,
    validate,
)
from test_bad_inputs_values import BASE

D = dt.date


def _extract(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    write_files(d, BASE)
    return d


def _findings(d: Path, keys: list[str]) -> dict[tuple[str, str, str | None], int]:
    rep = validate(d, keys, cache_dir=d.parent / "cache")
    out: dict[tuple[str, str, str | None], int] = {}
    for r in rep.findings.iter_rows(named=True):
        k = (r["rule"], r["register"], r["column"])
        out[k] = out.get(k, 0) + r["n"]
    return out


def _examples(d: Path, keys: list[str], rule: str) -> list[str]:
    rep = validate(d, keys, cache_dir=d.parent / "cache")
    return [e for es in rep.findings.filter(pl.col("rule") == rule)["examples"] for e in es]


# --------------------------------------------------------------------------- misnamed folder
def _diag(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {"PNR": ["0101501111"], "RECNUM": ["1"], "C_DIAG": ["DC349"], "C_DIAGTYPE": ["A"]}
    ).write_parquet(path)


def test_parts_two_levels_down_in_a_misnamed_folder_are_refused(tmp_path: Path) -> None:
    """``lpr_diag_typo/2019/part-0.parquet``: was ignored with its folder ("folder of no
    register") and ``lpr_diag`` reported only as missing."""
    d = _extract(tmp_path)
    _diag(d / "lpr_diag_typo" / "2019" / "part-0.parquet")
    _diag(d / "lpr_diag_typo" / "2020" / "part-0.snappy.parquet")
    (d / "lpr_diag_typo" / "2019" / "notes.txt.md").write_text("x")
    inv = register_inventory(d)
    rows = {r["path"]: (r["status"], r["register"]) for r in inv.iter_rows(named=True)}
    assert rows["lpr_diag_typo/2019/part-0.parquet"] == ("refused", "lpr_diag")
    assert rows["lpr_diag_typo/2020/part-0.snappy.parquet"] == ("refused", "lpr_diag")
    assert "lpr_diag_typo/2019/notes.txt.md" not in rows  # not data: not listed as refused
    assert _findings(d, ["lpr_diag"]) == {
        ("file_refused", "lpr_diag", None): 2,
        ("register_missing", "lpr_diag", None): 1,
    }
    msg = " ".join(_examples(d, ["lpr_diag"], "file_refused"))
    assert "lpr_diag_typo/" in msg and "rename the folder" in msg
    with pytest.raises(RegisterLoadError, match=r"lpr_diag_typo/2019/part-0\.parquet"):
        register_delivered(d, "lpr_diag")
    with pytest.raises(RegisterLoadError, match="refused"):
        scan_register(d, "lpr_diag")


def test_a_misnamed_folder_next_to_the_real_one_is_refused_too(tmp_path: Path) -> None:
    """The real ``lmdb/`` is read; ``lmdb_old/2018/lmdb2018.parquet`` is refused, not lost."""
    d = _extract(tmp_path)
    (d / "lmdb_old" / "2018").mkdir(parents=True)
    pl.DataFrame(
        {"PNR": ["0101501111"], "EKSD": [D(2018, 3, 1)], "ATC": ["N02AA05"]}
    ).write_parquet(d / "lmdb_old" / "2018" / "lmdb2018.parquet")
    f = _findings(d, ["lmdb"])
    assert f[("file_refused", "lmdb", None)] == 1
    assert ("register_missing", "lmdb", None) not in f


def test_a_misnamed_folder_without_data_stays_ignored(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    write_files(d, {"lmdb_notes/2019/readme.md": "x"})
    inv = register_inventory(d)
    assert inv.filter(pl.col("status") == "refused").height == 0
    assert _findings(d, ["lmdb"]) == {}
