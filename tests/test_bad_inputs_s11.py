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
from test_bad_inputs_values import BASE, LMDB

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


# --------------------------------------------------------------------------- cut files
def test_a_csv_cut_inside_its_last_field_is_a_finding_naming_the_line(tmp_path: Path) -> None:
    """``...,30,30`` cut to ``...,30,3``: as many fields as the header, so it was read as
    VOLUME 3 with no finding."""
    d = _extract(tmp_path)
    cut = LMDB.rstrip("\n")[:-1]
    assert cut.endswith(",30,3")  # VOLUME 30 read as 3
    (d / "lmdb" / "lmdb2019.csv").write_text(cut)
    assert _findings(d, ["lmdb"]) == {("last_line_unterminated", "lmdb", None): 1}
    assert _examples(d, ["lmdb"], "last_line_unterminated") == [
        "line 3 (the last) has no line end: cut inside its last field?"
    ]
    # the whole file, with its line end: no finding
    (d / "lmdb" / "lmdb2019.csv").write_text(LMDB)
    assert _findings(d, ["lmdb"]) == {}


def test_trailing_blanks_after_the_last_line_end_are_not_a_cut(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "lmdb" / "lmdb2019.csv").write_text(LMDB + "  ")
    assert ("last_line_unterminated", "lmdb", None) not in _findings(d, ["lmdb"])


@pytest.mark.parametrize("tail", ['0303703333,2019-06-01,"N02A', '0303703333,2019-06-01,"N02A\n'])
def test_a_csv_cut_inside_a_quoted_value_is_refused_naming_the_line(
    tail: str, tmp_path: Path
) -> None:
    """Was a polars error about the wrong thing (``could not parse "N02A as ...``)."""
    d = _extract(tmp_path)
    (d / "lmdb" / "lmdb2019.csv").write_text(LMDB + tail)
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache")
    (row,) = rep.findings.filter(pl.col("rule") == "file_unreadable").iter_rows(named=True)
    assert row["file"] == "lmdb2019.csv"
    assert "line 4 opens a quoted value that never closes" in row["examples"][0]
    with pytest.raises(RegisterLoadError, match=r"lmdb2019\.csv.*line 4 opens a quoted value"):
        scan_register(d, "lmdb", cache_dir=tmp_path / "cache")


def test_quoted_values_over_several_lines_and_doubled_quotes_are_not_unclosed(
    tmp_path: Path,
) -> None:
    d = _extract(tmp_path)
    text = (
        LMDB
        + '0303703333,2019-06-01,"N02A\nA05",1,1,20,10\n0404804444,2019-06-02,"C1""0AA01",1,1,20,10\n'
    )
    (d / "lmdb" / "lmdb2019.csv").write_text(text)
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache")
    assert "file_unreadable" not in rep.findings["rule"].to_list()


def test_a_parquet_file_cut_short_is_unreadable_naming_the_file(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "lmdb" / "lmdb2019.csv").unlink()
    p = d / "lmdb" / "lmdb2019.parquet"
    pl.DataFrame({"PNR": ["0101501111"] * 1000, "EKSD": [D(2019, 4, 1)] * 1000}).with_columns(
        ATC=pl.lit("N02AA05")
    ).write_parquet(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 40])
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache")
    (row,) = rep.findings.filter(pl.col("rule") == "file_unreadable").iter_rows(named=True)
    assert row["file"] == "lmdb2019.parquet" and "truncated" in row["examples"][0]


# --------------------------------------------------------------------------- day numbers
def _lmdb_days(d: Path, days: list[int]) -> None:
    (d / "lmdb" / "lmdb2019.csv").unlink(missing_ok=True)
    pl.DataFrame(
        {
            "PNR": ["0101501111", "0202602222"][: len(days)],
            "EKSD": days,
            "ATC": ["N02AA05"] * len(days),
        }
    ).write_parquet(d / "lmdb" / "lmdb2019.parquet")


SAS0, UNIX0 = D(1960, 1, 1), D(1970, 1, 1)


def test_unix_day_numbers_in_a_yearly_file_are_refused_naming_file_and_column(
    tmp_path: Path,
) -> None:
    """Dispensings of 1 April and 1 May 2019 as days since 1970: were read as SAS days,
    31 March and 30 April 2009 (3,653 days early), with no finding."""
    d = _extract(tmp_path)
    _lmdb_days(d, [(D(2019, 4, 1) - UNIX0).days, (D(2019, 5, 1) - UNIX0).days])
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache")
    (row,) = rep.findings.filter(pl.col("rule") == "file_unreadable").iter_rows(named=True)
    assert (row["file"], row["column"]) == ("lmdb2019.parquet", "EKSD")
    assert "(SAS) 0 of 2 dates fall in the file's year 2019" in row["examples"][0]
    assert "(Unix) 2 do" in row["examples"][0]
    with pytest.raises(RegisterLoadError, match=r"lmdb2019\.parquet, column 'EKSD': day numbers"):
        scan_register(d, "lmdb", cache_dir=tmp_path / "cache")


def test_sas_day_numbers_in_a_yearly_file_are_read(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _lmdb_days(d, [(D(2019, 4, 1) - SAS0).days, (D(2019, 5, 1) - SAS0).days])
    assert _findings(d, ["lmdb"]).keys() <= {
        ("column_missing_optional", "lmdb", c) for c in ("VNR", "APK", "PACKSIZE", "VOLUME")
    }
    got = scan_register(d, "lmdb", cache_dir=tmp_path / "cache").collect()["EKSD"].to_list()
    assert got == [D(2019, 4, 1), D(2019, 5, 1)]


def test_unix_day_numbers_before_the_register_began_are_refused(tmp_path: Path) -> None:
    """Deaths in 1975 and 1977 as days since 1970 read as SAS days fall in 1965 and 1967,
    before CPR's deaths begin (2 April 1968); read from 1970 none does."""
    d = _extract(tmp_path)
    (d / "dod" / "dod.csv").unlink()
    days = [(D(1975, 3, 1) - UNIX0).days, (D(1977, 6, 1) - UNIX0).days]
    pl.DataFrame({"PNR": ["0101501111", "0202602222"], "DODDATO": days}).write_parquet(
        d / "dod" / "dod.parquet"
    )
    rep = validate(d, ["dod"], cache_dir=tmp_path / "cache")
    (row,) = rep.findings.filter(pl.col("rule") == "file_unreadable").iter_rows(named=True)
    assert (row["file"], row["column"]) == ("dod.parquet", "DODDATO")
    assert "2 of 2 dates fall before the register began (1968-04-02)" in row["examples"][0]
    # the same deaths as SAS day numbers are read, dates exact
    pl.DataFrame(
        {
            "PNR": ["0101501111", "0202602222"],
            "DODDATO": [(D(1975, 3, 1) - SAS0).days, (D(1977, 6, 1) - SAS0).days],
        }
    ).write_parquet(d / "dod" / "dod.parquet")
    got = scan_register(d, "dod", cache_dir=tmp_path / "cache2").collect()["DODDATO"].to_list()
    assert got == [D(1975, 3, 1), D(1977, 6, 1)]


# --------------------------------------------------------------------------- PNR guard (speed)
@pytest.mark.parametrize(
    ("pnrs", "expected"),
    [
        (
            ["101501111", "010150-1111", " 0101501111", "0101501111", "01015011112", "ABC", None,
             "101501111 ", "AB12345678"],
            # by hand: normalised 101501111 and '101501111 ' (zero), 010150-1111 (dash)
            # (surrounding blanks are stripped without a finding); width 01015011112, ABC
            {"code_normalised": 3, "code_width": 2},
        ),
        # the only bad PNR is ten characters long (a guard on the length would miss it)
        (["0101501111", "101501111 ", "0202602222"], {"code_normalised": 1}),
        (["0101501111", "0202602222"], {}),
    ],
)  # fmt: skip
def test_pnr_rules_in_parquet_count_what_the_csv_pass_counts(
    pnrs: list[str | None], expected: dict[str, int], tmp_path: Path
) -> None:
    """Parquet counts code_width/code_normalised of PNR only where the raw PNR is not ten
    digits (a cheap guard first); the CSV pass evaluates every row. Both must agree."""
    got = {
        fmt: {k[0]: v for k, v in f.items() if k[0] in ("code_width", "code_normalised")}
        for fmt, f in _dod_findings_as_csv_and_parquet(pnrs, tmp_path).items()
    }
    assert got["parquet"] == got["csv"] == expected


@pytest.mark.parametrize(
    ("pnrs", "expected"),
    [
        # a lost zero: the same person as the first after the repair, a duplicate key
        (["0101501111", "101501111", "0202602222"], {"code_normalised": 1, "duplicate_key": 1}),
        # all ten digits (the key checks read the raw column): a plain duplicate
        (["0101501111", "0101501111", "0202602222"], {"duplicate_key": 1}),
        (["0101501111", None, "0202602222"], {"null_required": 1}),
    ],
)
def test_dod_keys_in_parquet_count_what_the_csv_pass_counts(
    pnrs: list[str | None], expected: dict[str, int], tmp_path: Path
) -> None:
    got = {
        fmt: {k[0]: v for k, v in f.items() if k[2] == "PNR"}
        for fmt, f in _dod_findings_as_csv_and_parquet(pnrs, tmp_path).items()
    }
    assert got["parquet"] == got["csv"] == expected


def _dod_findings_as_csv_and_parquet(pnrs: list[str | None], tmp_path: Path) -> dict[str, dict]:
    """Validation findings of one DOD file with these PNRs, written as CSV and as parquet."""
    frame = pl.DataFrame(
        {"PNR": pnrs, "DODDATO": [D(2019, 1, 1 + i) for i in range(len(pnrs))]},
        schema={"PNR": pl.String, "DODDATO": pl.Date},
    )
    out = {}
    for fmt in ("csv", "parquet"):
        d = _extract(tmp_path / fmt)
        (d / "dod" / "dod.csv").unlink()
        if fmt == "csv":
            frame.with_columns(pl.col("DODDATO").cast(pl.String)).write_csv(d / "dod" / "dod.csv")
        else:
            frame.write_parquet(d / "dod" / "dod.parquet")
        out[fmt] = _findings(d, ["dod"])
    return out
