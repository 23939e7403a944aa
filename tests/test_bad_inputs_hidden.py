"""Bad inputs that the earlier bad-input suites did not cover (issue 15, session h15).

Each case builds its damaged extract by hand from the small clean extract of
``test_bad_inputs_values`` (or a frame written here), runs ``validate`` and the loader, and
asserts the exact findings (rule, register, column, count; no other finding), what the loader
keeps and that the counts add up (rows in the file = rows kept + rows excluded). Expected values
come from the construction, never from paleval.

Cases marked ``# fix`` failed before this session (silent, wrong or a polars traceback); the
others guard behaviour that was already right.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _badinputs import rule_counts, write_files, write_xport
from paleval.registers import (
    RegisterLoadError,
    register_inventory,
    scan_register,
    validate,
)
from test_bad_inputs_values import BASE

D = dt.date
PNRS = ["0101501111", "0202602222"]


def _extract(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    write_files(d, BASE)
    return d


_findings = rule_counts


def _messages(d: Path, keys: list[str]) -> str:
    rep = validate(d, keys, cache_dir=d.parent / "cache")
    return " ".join(e for es in rep.findings["examples"] for e in es)


def _load(d: Path, key: str, **kw: object) -> pl.DataFrame:
    lf = scan_register(d, key, exclude=True, cache_dir=d.parent / "cache", **kw)  # type: ignore[arg-type]
    return lf.collect()


def _edit(d: Path, rel: str, old: bytes, new: bytes) -> None:
    p = d / rel
    data = p.read_bytes()
    assert data.count(old) == 1, (rel, old)
    p.write_bytes(data.replace(old, new))


def _dod_parquet(d: Path, table: pa.Table) -> None:
    (d / "dod" / "dod.csv").unlink()
    pq.write_table(table, d / "dod" / "dod.parquet")


# --------------------------------------------------------------------------- dates
def test_utc_instants_are_read_as_the_danish_calendar_day(tmp_path: Path) -> None:  # fix
    """A death at 00:30 Danish summer time stored as a UTC timestamp (22:30 the day before)
    died on 1 June, not 31 May; a naive timestamp keeps its written date."""
    d = _extract(tmp_path)
    utc = dt.datetime(2020, 5, 31, 22, 30, tzinfo=dt.UTC)
    _dod_parquet(
        d,
        pa.table(
            {
                "PNR": PNRS,
                "DODDATO": pa.array([utc, dt.datetime(2020, 7, 1, 23, 59, tzinfo=dt.UTC)],
                                    pa.timestamp("us", tz="UTC")),
            }
        ),
    )  # fmt: skip
    assert _findings(d, ["dod"]) == {}
    # 23:59 UTC on 1 July is 01:59 on 2 July in Copenhagen
    assert _load(d, "dod")["DODDATO"].to_list() == [D(2020, 6, 1), D(2020, 7, 2)]


def test_naive_and_millisecond_timestamps_keep_their_date(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    stamps = [dt.datetime(2020, 6, 1, 0, 30), dt.datetime(2020, 7, 1, 23, 59)]
    _dod_parquet(d, pa.table({"PNR": PNRS, "DODDATO": pa.array(stamps, pa.timestamp("ms"))}))
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod")["DODDATO"].to_list() == [D(2020, 6, 1), D(2020, 7, 1)]


def test_date64_column_is_read(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _dod_parquet(d, pa.table({"PNR": PNRS, "DODDATO": pa.array([D(2020, 6, 1)] * 2, pa.date64())}))
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod")["DODDATO"].to_list() == [D(2020, 6, 1)] * 2


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2020-05-31T22:30:00Z", D(2020, 6, 1)),  # fix: was 31 May
        ("2020-05-31 22:30:00+0000", D(2020, 6, 1)),  # fix: was 31 May
        ("2020-06-01T00:30:00+02:00", D(2020, 6, 1)),
        ("2020-12-31T23:30:00Z", D(2021, 1, 1)),  # fix: was 31 December
        ("2020-06-01T10:00:00", D(2020, 6, 1)),  # no zone: the date as written
    ],
)
def test_text_instants_with_an_offset(text: str, day: dt.date, tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"2020-06-01", text.encode())
    end = {"extract_end": D(2021, 12, 31)}
    assert _findings(d, ["dod"], **end) == {}
    assert _load(d, "dod", **end)["DODDATO"].to_list() == [day]


def test_categorical_text_columns_are_parsed_as_text(tmp_path: Path) -> None:  # fix
    """pandas ``category`` / dictionary-typed parquet columns: a date stored as categorical
    text was an unparseable_date error, and every row was lost to the loader."""
    d = _extract(tmp_path)
    _dod_parquet(
        d,
        pa.table(
            {
                "PNR": pa.array(PNRS).dictionary_encode(),
                "DODDATO": pa.array(["2020-06-01", "01JUL2020"]).dictionary_encode(),
            }
        ),
    )
    assert pl.read_parquet(d / "dod" / "dod.parquet").schema["DODDATO"] == pl.Categorical
    assert _findings(d, ["dod"]) == {}
    out = _load(d, "dod")
    assert out["PNR"].to_list() == PNRS
    assert out["DODDATO"].to_list() == [D(2020, 6, 1), D(2020, 7, 1)]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2020-13-01", "unparseable_date"),  # month 13
        ("29-02-2019", "unparseable_date"),  # not a leap year
        ("NULL", "unparseable_date"),  # a database's missing value written out
        ("01 JUN 2020", "unparseable_date"),
    ],
)
def test_impossible_or_foreign_dates_are_errors_with_their_row(
    text: str, rule: str, tmp_path: Path
) -> None:
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"2020-06-01", text.encode())
    rep = validate(d, ["dod"], cache_dir=tmp_path / "cache")
    assert {(r["rule"], r["column"], r["n"]) for r in rep.findings.iter_rows(named=True)} == {
        (rule, "DODDATO", 1)
    }
    assert rep.findings["examples"].to_list() == [[f"row 1: {text!r}"]]
    assert not rep.ok


@pytest.mark.parametrize("text", ["43983", "01.06.20", "200601"])
def test_serial_numbers_and_two_digit_years_in_text_are_refused(text: str, tmp_path: Path) -> None:
    """An Excel serial day (43983 = 2020-06-01 in Excel) or a two-digit year is never read as a
    year in the first century: the file is refused naming the column and the row."""
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"2020-06-01", text.encode())
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", "DODDATO"): 1}
    with pytest.raises(
        RegisterLoadError, match=rf"two-digit years in 1 of 1 rows.*row 1: '{text}'"
    ):
        _load(d, "dod")


def test_death_after_the_extract_end_is_counted_and_dropped(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(
        d,
        "dod/dod.csv",
        b"0101501111,2020-06-01\n",
        b"0101501111,2020-06-01\n0202602222,2020-07-01\n",
    )
    end = {"extract_end": D(2020, 6, 30)}
    assert _findings(d, ["dod"], **end) == {("date_after_extract_end", "dod", "DODDATO"): 1}
    out = _load(d, "dod", **end)
    assert out["PNR"].to_list() == ["0101501111"]  # 2 rows = 1 kept + 1 excluded


# --------------------------------------------------------------------------- CSV layout
def test_excel_separator_line_is_honoured(tmp_path: Path) -> None:  # fix
    """Excel writes ``sep=;`` as the first line of a CSV for other locales; it was read as the
    header (column_missing for every column)."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(b"sep=;\r\n" + p.read_bytes().replace(b",", b";").replace(b"\n", b"\r\n"))
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod").rows() == [("0101501111", D(2020, 6, 1))]


def test_bom_semicolons_crlf_and_lower_case_header(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    text = p.read_bytes().replace(b",", b";").replace(b"PNR;DODDATO", b"pnr;doddato ")
    p.write_bytes(b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"))
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod").rows() == [("0101501111", D(2020, 6, 1))]


def test_a_quoted_newline_stays_inside_its_field(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "dpd/dpd.csv", b",hospice,", b',"hos\npice",')
    # one referral (not two broken rows): the unit type is an unknown code, counted
    assert _findings(d, ["dpd"]) == {("code_outside_list", "dpd", "ENHED_TYPE"): 1}
    assert _load(d, "dpd")["ENHED_TYPE"].to_list() == ["hos\npice"]


def test_a_ragged_line_is_an_error_naming_the_file(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"2020-06-01\n", b"2020-06-01\n0202602222,June 1, 2020\n")
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", None): 1}


@pytest.mark.parametrize(
    "header",
    [b"PNR,DODDATO,DODDATO", b"PNR,DODDATO,DODDATO ", b"PNR,PNR,DODDATO"],
    ids=["exact", "trailing_space", "pnr"],
)
def test_a_column_named_twice_is_refused(header: bytes, tmp_path: Path) -> None:  # fix
    """Two columns with one name: polars renamed the second ``DODDATO_duplicated_0`` and kept
    it as an extra column (a warning), the values of one of them silently unused; with a
    trailing space the scan failed with a polars SchemaError."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(header + b"\n0101501111,2020-06-01,2020-07-01\n")
    name = "PNR" if header.startswith(b"PNR,PNR") else "DODDATO"
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", name): 1}
    assert f"['{name}'] appear more than once" in _messages(d, ["dod"])
    with pytest.raises(RegisterLoadError, match=rf"dod\.csv, column '{name}'.*more than once"):
        _load(d, "dod")


def test_a_case_insensitive_twin_is_ambiguous_even_with_an_exact_match(
    tmp_path: Path,
) -> None:  # fix
    """``DODDATO`` and ``doddato``: the exactly spelled one was used and the other ignored
    without a finding."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(b"PNR,DODDATO,doddato\n0101501111,2020-06-01,2020-07-01\n")
    assert _findings(d, ["dod"]) == {("column_ambiguous", "dod", "DODDATO"): 2}
    with pytest.raises(RegisterLoadError, match="several columns match case-insensitively"):
        _load(d, "dod")


def test_an_unnamed_index_column_is_an_extra_column(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(b",PNR,DODDATO\n0,0101501111,2020-06-01\n")
    assert _findings(d, ["dod"]) == {("column_extra", "dod", ""): 1}
    assert _load(d, "dod", columns="declared").rows() == [("0101501111", D(2020, 6, 1))]


def test_blank_trailing_lines_are_missing_values_not_duplicate_keys(tmp_path: Path) -> None:  # fix
    """Rows of empty fields at the end of a CSV (Excel, a trailing ``,``): each is counted as
    null_required and excluded; they share no key, so they are not duplicate_key (an error
    that stopped the study)."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(p.read_bytes() + b",\n,\n,\n")
    got = _findings(d, ["dod"])
    assert got == {("null_required", "dod", "PNR"): 3, ("null_required", "dod", "DODDATO"): 3}
    assert _load(d, "dod").height == 1  # 4 rows read = 1 kept + 3 excluded


def test_two_missing_keys_and_a_real_duplicate(tmp_path: Path) -> None:  # fix
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(p.read_bytes() + b",2020-07-01\n,2020-08-01\n0101501111,2020-06-01\n")
    got = _findings(d, ["dod"])
    assert got == {("null_required", "dod", "PNR"): 2, ("duplicate_key", "dod", "PNR"): 1}


# --------------------------------------------------------------------------- numbers
def test_mixed_decimal_marks_are_an_error(tmp_path: Path) -> None:  # fix
    """In a file with decimal commas, ``180.000`` is 180,000 written with a thousands point;
    it was read as 180.0 without a finding."""
    d = _extract(tmp_path)
    p = d / "faik" / "faik2019.csv"
    text = p.read_bytes().replace(b",", b";")
    p.write_bytes(text.replace(b"F1;250000", b"F1;250000,5").replace(b"F2;180000", b"F2;180.000"))
    assert _findings(d, ["faik"]) == {("decimal_mark_mixed", "faik", "FAMAEKVIVADISP_13"): 2}
    assert "row 1: '250000,5'" in _messages(d, ["faik"])
    assert not validate(d, ["faik"], cache_dir=tmp_path / "cache").ok


def test_decimal_commas_alone_are_read(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    p = d / "faik" / "faik2019.csv"
    p.write_bytes(p.read_bytes().replace(b",", b";").replace(b"F2;180000", b"F2;180000,5"))
    assert _findings(d, ["faik"]) == {}
    assert _load(d, "faik")["FAMAEKVIVADISP_13"].to_list() == [250000.0, 180000.5, 210000.0]


@pytest.mark.parametrize("text", ["1e309", "Infinity", "NAN"])
def test_overflow_and_spelled_infinity_are_not_finite(text: str, tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "faik/faik2019.csv", b"F2,180000", b"F2," + text.encode())
    assert _findings(d, ["faik"]) == {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}
    assert _load(d, "faik")["FAMAEKVIVADISP_13"].to_list() == [250000.0, None, 210000.0]


def test_a_family_of_zero_persons_is_made_null(tmp_path: Path) -> None:  # fix
    """``ANTPERSF == 0`` made the person "not living alone" (the test is ``== 1``); a family
    counts the person, so 0 is impossible: counted, the value nulled, the row kept."""
    d = _extract(tmp_path)
    _edit(d, "bef/bef201912.csv", b"F2,9,1,", b"F2,9,0,")
    assert _findings(d, ["bef"]) == {("count_below_minimum", "bef", "ANTPERSF"): 1}
    assert _load(d, "bef")["ANTPERSF"].to_list() == [2, None, 1]


def test_negative_bed_days_in_parquet_are_made_null(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    df = pl.read_csv(d / "lpr_adm" / "lpr_adm2019.csv", infer_schema_length=0)
    (d / "lpr_adm" / "lpr_adm2019.csv").unlink()
    df.with_columns(V_SENGDAGE=pl.Series([-2, 0])).write_parquet(
        d / "lpr_adm" / "lpr_adm2019.parquet"
    )
    assert _findings(d, ["lpr_adm"]) == {("negative_value", "lpr_adm", "V_SENGDAGE"): 1}
    assert _load(d, "lpr_adm")["V_SENGDAGE"].to_list() == [None, 0]


def test_a_fraction_in_a_count_and_a_letter_for_sex_are_errors(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "bef/bef201912.csv", b"F2,9,1,", b"F2,9,2.5,")
    _edit(d, "bef/bef201912.csv", b"0303703333,1,", b"0303703333,M,")
    assert _findings(d, ["bef"]) == {
        ("unparseable_value", "bef", "KOEN"): 1,
        ("unparseable_value", "bef", "ANTPERSF"): 1,
    }


# --------------------------------------------------------------------------- identifiers
def test_pnr_stored_as_integers_is_zero_padded_and_counted(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    ints = pa.array([101501111, 202602222], pa.uint64())
    _dod_parquet(d, pa.table({"PNR": ints, "DODDATO": pa.array([D(2020, 6, 1)] * 2)}))
    assert _findings(d, ["dod"]) == {("code_as_number", "dod", "PNR"): 2}
    assert _load(d, "dod")["PNR"].to_list() == PNRS


@pytest.mark.parametrize("pnr", [b"101501111", b"010150-1111", b"010150 1111"])
def test_pnr_with_a_lost_zero_or_a_dash_is_normalised_and_counted(
    pnr: bytes, tmp_path: Path
) -> None:  # fix
    """A PNR that lost its leading zero in a spreadsheet (9 digits) or is written DDMMYY-SSSS
    was kept as it was (a code_width warning) and joined no other register: the person was
    silently missing from every cohort. Now zero-padded / without the dash, and counted."""
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"0101501111", pnr)
    assert _findings(d, ["dod"]) == {("code_normalised", "dod", "PNR"): 1}
    assert _load(d, "dod")["PNR"].to_list() == ["0101501111"]


def test_a_normalised_pnr_joins_the_other_registers(tmp_path: Path) -> None:  # fix
    """A death before birth written with a 9-digit PNR (0303703333 born 1970-03-03): found only
    when the death joins the person's birth in BEF."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(p.read_bytes() + b"303703333,1969-05-01\n")
    assert _findings(d, ["bef", "dod"]) == {
        ("code_normalised", "dod", "PNR"): 1,
        ("death_before_birth", "dod", "DODDATO"): 1,
    }


@pytest.mark.parametrize("pnr", [b"1.01502E+09", b"01015011112", b'"=""0101501111"""'])
def test_pnr_of_another_shape_is_counted_as_it_is(pnr: bytes, tmp_path: Path) -> None:
    d = _extract(tmp_path)
    _edit(d, "dod/dod.csv", b"0101501111", pnr)
    assert _findings(d, ["dod"]) == {("code_width", "dod", "PNR"): 1}


def test_all_null_columns_typed_null_in_parquet(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    df = pl.read_csv(d / "dpd" / "dpd.csv", infer_schema_length=0)
    (d / "dpd" / "dpd.csv").unlink()
    df.with_columns(
        FOERSTE_KONTAKT_DATO=pl.lit(None), IKKE_MODTAGET_AARSAG=pl.lit(None)
    ).write_parquet(d / "dpd" / "dpd.parquet")
    assert pl.read_parquet_schema(d / "dpd" / "dpd.parquet")["FOERSTE_KONTAKT_DATO"] == pl.Null
    assert _findings(d, ["dpd"]) == {}
    out = _load(d, "dpd")
    assert out["FOERSTE_KONTAKT_DATO"].to_list() == [None]
    assert out.schema["FOERSTE_KONTAKT_DATO"] == pl.Date
    # a required column of nulls: every row counted and dropped
    d2 = _extract(tmp_path / "b")
    _dod_parquet(d2, pa.table({"PNR": PNRS, "DODDATO": pa.nulls(2)}))
    assert _findings(d2, ["dod"]) == {("null_required", "dod", "DODDATO"): 2}
    assert _load(d2, "dod").height == 0


def test_a_nested_column_is_refused_not_a_traceback(tmp_path: Path) -> None:  # fix
    """A list of dates per row: validate raised a polars InvalidOperationError."""
    d = _extract(tmp_path)
    _dod_parquet(d, pa.table({"PNR": PNRS, "DODDATO": pa.array([[D(2020, 6, 1)], []])}))
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", "DODDATO"): 1}
    with pytest.raises(RegisterLoadError, match=r"column 'DODDATO': stored as List\(Date\)"):
        _load(d, "dod")


# --------------------------------------------------------------------------- files
def test_office_lock_and_system_files_are_ignored(tmp_path: Path) -> None:  # fix
    """``~$lmdb2019.xlsx`` (Excel's lock file while the workbook is open) was refused as a data
    file, stopping the study; it, ``Thumbs.db``, ``desktop.ini`` and ``.DS_Store`` are
    ignored with their reason."""
    d = _extract(tmp_path)
    for name in ("~$lmdb2019.xlsx", "Thumbs.db", "desktop.ini", ".DS_Store"):
        (d / "lmdb" / name).write_bytes(b"\x00junk")
    (d / "~$notes.docx").write_bytes(b"\x00")
    inv = register_inventory(d)
    status = dict(zip(inv["path"], inv["status"], strict=True))
    for name in ("lmdb/~$lmdb2019.xlsx", "lmdb/Thumbs.db", "lmdb/desktop.ini", "lmdb/.DS_Store"):
        assert status[name] == "ignored", name
    reason = inv.filter(pl.col("path") == "lmdb/~$lmdb2019.xlsx")["reason"].item()
    assert "Office lock file" in reason
    assert _findings(d, ["lmdb"]) == {}
    assert _load(d, "lmdb").height == 2


def test_a_real_file_starting_with_a_tilde_is_still_refused(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "lmdb" / "~lmdb2018.csv").write_bytes((d / "lmdb" / "lmdb2019.csv").read_bytes())
    assert _findings(d, ["lmdb"]) == {("file_refused", "lmdb", None): 1}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("lmdb2018.xlsx", "unsupported format .xlsx"),
        ("lmdb2018.parquet.bak", "unsupported format .parquet.bak"),
        ("lmdb2018 (1).csv", "name matches no file of register 'lmdb'"),
        ("lmdb_2018.csv", "name matches no file of register 'lmdb'"),
        ("oversigt.xlsx", "whose name matches no pattern"),
    ],
)
def test_files_no_pattern_reads_are_refused_with_a_reason(
    name: str, reason: str, tmp_path: Path
) -> None:
    d = _extract(tmp_path)
    (d / "lmdb" / name).write_bytes(b"PNR,EKSD\n")
    assert _findings(d, ["lmdb"]) == {("file_refused", "lmdb", None): 1}
    assert reason in _messages(d, ["lmdb"])
    with pytest.raises(RegisterLoadError, match="1 file"):
        _load(d, "lmdb")


def test_bef_without_the_month_is_refused(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "bef" / "bef201912.csv").rename(d / "bef" / "BEF_2019.csv")
    assert _findings(d, ["bef"]) == {
        ("file_refused", "bef", None): 1,
        ("register_missing", "bef", None): 1,  # no file of the register is read
    }
    assert "expected befYYYY12" in _messages(d, ["bef"])


def test_an_upper_case_suffix_is_read(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    df = pl.read_csv(d / "lmdb" / "lmdb2019.csv", infer_schema_length=0)
    (d / "lmdb" / "lmdb2019.csv").unlink()
    df.write_parquet(d / "lmdb" / "LMDB2019.PARQUET")
    assert _findings(d, ["lmdb"]) == {}
    assert _load(d, "lmdb")["year"].to_list() == [2019, 2019]


def test_one_year_as_parquet_and_as_csv_is_refused_both(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    pl.read_csv(d / "lmdb" / "lmdb2019.csv", infer_schema_length=0).write_parquet(
        d / "lmdb" / "lmdb2019.parquet"
    )
    assert _findings(d, ["lmdb"]) == {
        ("file_refused", "lmdb", None): 2,
        ("register_missing", "lmdb", None): 1,  # its only year is refused
    }
    assert "delivered more than once" in _messages(d, ["lmdb"])


def test_zero_byte_and_mislabelled_files_are_unreadable(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "lmdb" / "lmdb2018.csv").write_bytes(b"")
    (d / "lmdb" / "lmdb2017.parquet").write_bytes((d / "lmdb" / "lmdb2019.csv").read_bytes())
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache")
    got = {(r["file"], r["rule"]): r["examples"][0] for r in rep.findings.iter_rows(named=True)}
    assert got == {
        ("lmdb2018.csv", "file_unreadable"): "the file is empty (0 bytes)",
        (
            "lmdb2017.parquet",
            "file_unreadable",
        ): "cannot read the parquet file: not a parquet file (no PAR1 at its start)",
    }


def test_a_register_folder_under_another_name_is_refused_not_absent(tmp_path: Path) -> None:  # fix
    """``laegemidler/lmdb2019.csv``: the folder was ignored ("folder of no register") and the
    register taken as not delivered; for an optional register (the migration register in
    ``vandringer/``) the study then ran without it, emigrants never censored."""
    d = _extract(tmp_path)
    (d / "lmdb").rename(d / "laegemidler")
    assert _findings(d, ["lmdb"]) == {
        ("file_refused", "lmdb", None): 1,
        ("register_missing", "lmdb", None): 1,
    }
    inv = register_inventory(d)
    rows = {r["path"]: (r["status"], r["register"]) for r in inv.iter_rows(named=True)}
    assert rows["laegemidler/"] == ("ignored", None)
    assert rows["laegemidler/lmdb2019.csv"] == ("refused", "lmdb")
    assert "no register's folder: move it to lmdb/" in _messages(d, ["lmdb"])
    # an optional register: delivered (refused), never silently absent
    from paleval.registers import register_delivered
    from paleval.report.study import study_registers

    write_files(d, {"vandringer/vnds.csv": "PNR,INDUD_KODE,HAEND_DATO\n0101501111,U,2019-05-01\n"})
    with pytest.raises(RegisterLoadError, match=r"vandringer/vnds\.csv: a file of register 'vnds'"):
        register_delivered(d, "vnds")
    # the study reads it: validation's error finding, listed with every other finding
    assert "vnds" in study_registers(d)
    assert _findings(d, ["vnds"]) == {
        ("file_refused", "vnds", None): 1,
        ("register_missing", "vnds", None): 1,
    }


def test_other_folders_and_files_in_them_stay_ignored(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    write_files(d, {"notes/lmdb_readme.md": "x", "truth/persons.parquet": "x",
                    ".cache/lmdb2019.parquet": "x", "reports/r1/tables/counts.csv": "x",
                    "old/sub/lmdb2019.csv": "x"})  # fmt: skip
    inv = register_inventory(d)
    assert inv.filter(pl.col("status") == "refused").height == 0
    assert _findings(d, ["lmdb"]) == {}


# --------------------------------------------------------------------------- output safety
def test_a_marker_listing_paths_outside_the_report_deletes_nothing_there(tmp_path: Path) -> None:
    from paleval.report.runner import REPORT_MARKER, _check_target, _publish, _write_marker

    out, staging = tmp_path / "out", tmp_path / "staging"
    out.mkdir()
    staging.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    marker = {"paleval_report": 1, "entries": {"../victim.txt": {"type": "file"}}}
    (out / REPORT_MARKER).write_text(json.dumps(marker))
    (staging / "index.html").write_text("new report")
    _write_marker(staging, "abc", "complete")
    try:
        _publish(staging, _check_target(out, ()), lambda m: None)
    except Exception:  # refusing the forged marker is the right outcome
        pass
    assert victim.read_text() == "mine"
    assert os.path.exists(victim)


# --------------------------------------------------------------------------- SAS formats
SAS_DATES = [D(2015, 1, 31), D(1999, 12, 31), D(2020, 2, 29)]


@pytest.mark.parametrize("fmt", ["DATETIME20.", "DTDATE9."])
def test_a_datetime_format_on_day_numbers_is_refused(fmt: str, tmp_path: Path) -> None:  # fix
    """``format DODDATO datetime20.;`` on a date variable: the stored day numbers were read as
    seconds, every date 1960-01-01 (in BEF's birth dates, where 1960-01-01 is a real day,
    without any finding)."""
    write_xport(tmp_path / "dod.xpt", SAS_DATES, fmt)
    rep = validate(tmp_path, ["dod"], cache_dir=tmp_path / "cache")
    assert rep.findings.filter(pl.col("rule") == "file_unreadable")["column"].to_list() == [
        "DODDATO"
    ]
    with pytest.raises(RegisterLoadError, match=r"3 of 3 values are day numbers \(e\.g\. 20119"):
        scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()


@pytest.mark.parametrize(
    ("fmt", "is_datetime"),
    [("MINGUO10.", False), ("JULIAN7.", False), ("DDMMYYP10.", False), ("YYMMDDN8.", False),
     ("B8601DN8.", True), ("DATEAMPM22.", True), ("NLDATM20.", True), ("DATETIME19.2", True)],
)  # fmt: skip
def test_more_sas_date_formats_read_exactly(fmt: str, is_datetime: bool, tmp_path: Path) -> None:
    write_xport(tmp_path / "dod.xpt", SAS_DATES, fmt, datetime_values=is_datetime)
    got = scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()
    assert got["DODDATO"].to_list() == SAS_DATES


def test_one_datetime_early_on_1_january_1960_is_a_datetime(tmp_path: Path) -> None:
    """A real datetime within the first hours of 1960 among others is not mistaken for days."""
    import pandas as pd
    import pyreadstat

    secs = [5 * 3600.0] + [((d - D(1960, 1, 1)).days * 86_400.0) for d in SAS_DATES]
    df = pd.DataFrame({"PNR": [f"{i:010d}" for i in range(4)], "DODDATO": secs})
    pyreadstat.write_xport(
        df, str(tmp_path / "dod.xpt"), table_name="DOD", variable_format={"DODDATO": "DATETIME20."}
    )
    got = scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()
    assert got["DODDATO"].to_list() == [D(1960, 1, 1), *SAS_DATES]


# --------------------------------------------------------------------------- not CSV text
def _gzip(b: bytes) -> bytes:
    import gzip

    return gzip.compress(b)


def _parquet_bytes(b: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    pl.read_csv(b, infer_schema_length=0).write_parquet(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b.decode().encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (_gzip, "the file is a gzip-compressed file: unpack it"),
        (lambda b: b"PK\x03\x04" + b"\x00" * 40, "a ZIP archive or an Excel .xlsx workbook"),
        (_parquet_bytes, "the file is a parquet file: name it .parquet"),
        (lambda b: b.replace(b"2020-06-01", b"2020\x0006-01"), "NUL bytes (the first at byte 27)"),
    ],
    ids=["utf16_no_bom", "gzip", "xlsx", "parquet", "nul"],
)
def test_a_csv_that_is_not_text_is_refused_with_what_it_is(
    damage: object, message: str, tmp_path: Path
) -> None:  # fix
    """Before, these were read as text: a header of garbage (column_missing for every column,
    with the bytes in the message) or, for NUL bytes, an unparseable date."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(damage(p.read_bytes()))  # type: ignore[operator]
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", None): 1}
    assert message in _messages(d, ["dod"])
    with pytest.raises(RegisterLoadError, match=r"dod\.csv: "):
        _load(d, "dod")


def test_utf16_with_a_byte_order_mark_keeps_its_message(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(p.read_bytes().decode().encode("utf-16"))
    assert _messages(d, ["dod"]) == "the file is UTF-16: save it as UTF-8"


# --------------------------------------------------------------------------- short lines
LPR_ROW3 = b"0303703333,R3,9101,011,01,0,1,2019-04-10,2019-04-12"


@pytest.mark.parametrize(
    ("tail", "lines"),
    [
        (
            LPR_ROW3 + b"\n",
            "fewer fields than the header's 11 (lines 4)",
        ),  # no bed days, no diagnosis
        (LPR_ROW3[:-3], "fewer fields than the header's 11 (lines 4)"),  # file cut in a date
        (LPR_ROW3 + b",2,DC349,x\n", "more fields than the header's 11 (lines 4)"),
    ],
    ids=["short_line", "cut_in_a_field", "long_line"],
)
def test_a_line_with_another_number_of_fields_is_refused_with_its_line(
    tail: bytes, lines: str, tmp_path: Path
) -> None:  # fix (short lines)
    """A line with fewer fields than the header was read with its last values empty: the
    contact kept without bed days or diagnosis, no finding (the nullable columns hid it); a
    file cut in a date gave a misleading "two-digit years" message."""
    d = _extract(tmp_path)
    p = d / "lpr_adm" / "lpr_adm2019.csv"
    p.write_bytes(p.read_bytes() + tail)
    assert _findings(d, ["lpr_adm"]) == {("file_unreadable", "lpr_adm", None): 1}
    assert lines in _messages(d, ["lpr_adm"])
    with pytest.raises(
        RegisterLoadError, match=r"lpr_adm2019\.csv: cannot read the csv file: 1 line\(s\) have"
    ):
        _load(d, "lpr_adm")


def test_quoted_separators_empty_fields_and_blank_lines_are_not_short_lines(
    tmp_path: Path,
) -> None:
    d = _extract(tmp_path)
    p = d / "lpr_adm" / "lpr_adm2019.csv"
    row = b'0303703333,"R,3",9101,011,01,0,1,2019-04-10,,,\n\n'
    p.write_bytes(p.read_bytes() + row)
    # the quoted "R,3" is one field; the trailing empty fields are empty values; the blank
    # line is a row of missing values (null_required), not a short line
    assert _findings(d, ["lpr_adm"]) == {
        ("null_required", "lpr_adm", c): 1 for c in ("PNR", "RECNUM", "D_INDDTO")
    }
    assert _load(d, "lpr_adm")["RECNUM"].to_list() == ["R1", "R2", "R,3"]


# --------------------------------------------------------------------------- stale caches
def test_a_replaced_sas_file_with_the_same_size_and_time_is_read_again(
    tmp_path: Path,
) -> None:  # fix
    """The SAS file's converted copy was keyed by path, size and modification time: a corrected
    delivery copied over it with ``cp -p`` (same size, time restored) returned the old dates."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "dod.xpt"
    write_xport(path, SAS_DATES, "DATE9.")
    st = path.stat()
    cache = tmp_path / "cache"
    assert scan_register(data, "dod", cache_dir=cache).collect()["DODDATO"].to_list() == SAS_DATES
    fixed = [D(2016, 2, 1), D(2000, 1, 2), D(2021, 3, 1)]
    write_xport(path, fixed, "DATE9.")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert scan_register(data, "dod", cache_dir=cache).collect()["DODDATO"].to_list() == fixed


def test_a_replaced_latin1_csv_with_the_same_size_and_time_is_read_again(
    tmp_path: Path,
) -> None:  # fix
    data = tmp_path / "data"
    (data / "dod").mkdir(parents=True)
    path = data / "dod" / "dod.csv"
    path.write_bytes("PNR;DODDATO;BY\n0101501111;01JUN2020;Ærø\n".encode("latin-1"))
    st = path.stat()
    cache = tmp_path / "cache"
    assert scan_register(data, "dod", cache_dir=cache).collect()["BY"].to_list() == ["Ærø"]
    path.write_bytes("PNR;DODDATO;BY\n0101501111;02JUN2020;Æbø\n".encode("latin-1"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    got = scan_register(data, "dod", cache_dir=cache).collect()
    assert got.rows() == [("0101501111", D(2020, 6, 2), "Æbø")]


def test_two_unnamed_trailing_columns_are_extra_columns(tmp_path: Path) -> None:
    """A header ending in separators (``PNR,DODDATO,,``) has unnamed columns: extra columns,
    not a column named twice."""
    d = _extract(tmp_path)
    p = d / "dod" / "dod.csv"
    p.write_bytes(b"PNR,DODDATO,,\n0101501111,2020-06-01,,\n")
    got = _findings(d, ["dod"])
    assert set(got) == {("column_extra", "dod", ""), ("column_extra", "dod", "_duplicated_0")}
    assert _load(d, "dod", columns="declared").rows() == [("0101501111", D(2020, 6, 1))]
