"""Bad input files (issue 15, the loading side): file discovery, encodings, dates, integrity.

Every test builds its defective file in ``tmp_path`` by hand (see ``_badinputs.py``), so the
expected rows, dates and line numbers come from the construction, and asserts either the
specific error (file, column, line or row numbers) or the counted result, with the counts
adding up. All but nine (of 62) failed before issue 15 (files skipped silently, dates shifted or
nulled, encodings guessed, truncated files read as shorter; checked with the code before the
change on ``PYTHONPATH``). The nine are regression guards for forms that were already right and
that the new date and SAS code must keep: the SAS formats DATE9., DDMMYY10., YYMMDD10.,
MMDDYY10., E8601DA., DATETIME20. and E8601DT19., SAS day numbers without a format, and a file
that is not parquet.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _badinputs import SAS_EPOCH, cut, dod_frame, flip, lmdb_frame, write_xport
from paleval.registers import loading as L
from paleval.registers.loading import RegisterLoadError, find_register_files, scan_register

SAS7BDAT = Path(__file__).parent / "data" / "sas7bdat" / "sas"


def _lmdb_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "lmdb"
    d.mkdir(parents=True)
    return d


def _refused(data: Path, key: str, match: str) -> RegisterLoadError:
    with pytest.raises(RegisterLoadError, match=match) as info:
        find_register_files(data, key)
    assert info.value.register == key
    return info.value


def _inventory_row(data: Path, path: str) -> dict:
    inv = L.register_inventory(data)
    rows = inv.filter(pl.col("path") == path).to_dicts()
    assert len(rows) == 1, inv
    return rows[0]


# --------------------------------------------------------------------------- discovery
def test_typo_in_year_is_refused_not_skipped(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    lmdb_frame(4).write_parquet(d / "lmdb2O19.parquet")  # letter O for zero
    err = _refused(tmp_path / "data", "lmdb", r"lmdb/lmdb2O19\.parquet: name matches no file")
    assert "expected lmdbYYYY" in err.message
    row = _inventory_row(tmp_path / "data", "lmdb/lmdb2O19.parquet")
    assert (row["register"], row["status"]) == ("lmdb", "refused")


def test_five_digit_year_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    lmdb_frame(3).write_parquet(d / "lmdb20190.parquet")
    _refused(tmp_path / "data", "lmdb", r"lmdb20190\.parquet: name matches no file")


def test_implausible_year_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    lmdb_frame(3).write_parquet(d / "lmdb2119.parquet")
    _refused(tmp_path / "data", "lmdb", r"lmdb2119\.parquet: implausible year 2119")


def test_numbered_parts_are_read_together(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2019_1.parquet")
    lmdb_frame(4, offset=3).write_parquet(d / "lmdb2019_2.parquet")
    lmdb_frame(5, offset=7).write_parquet(d / "lmdb2020.parquet")
    files = find_register_files(tmp_path / "data", "lmdb")
    assert [(f.name, f.year) for f in files] == [
        ("lmdb2019_1.parquet", 2019),
        ("lmdb2019_2.parquet", 2019),
        ("lmdb2020.parquet", 2020),
    ]
    got = scan_register(tmp_path / "data", "lmdb").collect()
    assert got.height == 3 + 4 + 5  # every row of every part
    assert got.group_by("year").len().sort("year").rows() == [(2019, 7), (2020, 5)]
    assert got["PNR"].n_unique() == 12


def test_a_lone_second_part_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2019_2.parquet")
    _refused(tmp_path / "data", "lmdb", r"year 2019: parts start at 2 \(missing \[1\]\)")


def test_gap_in_part_numbers_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    for i in (1, 2, 4):
        lmdb_frame(2).write_parquet(d / f"lmdb2019_{i}.parquet")
    err = _refused(tmp_path / "data", "lmdb", r"parts \[1, 2, 4\] have gaps \(missing \[3\]\)")
    assert err.message.startswith("3 file(s) refused")


def test_whole_file_and_part_of_the_same_year_are_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2019.parquet")
    lmdb_frame(3).write_parquet(d / "lmdb2019_2.parquet")
    _refused(tmp_path / "data", "lmdb", r"year 2019 delivered more than once")


def test_folder_of_parts_is_read(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path) / "lmdb2019"
    d.mkdir()
    lmdb_frame(3).write_parquet(d / "part-0.parquet")
    lmdb_frame(6, offset=3).write_parquet(d / "part-1.parquet")
    (d / "_SUCCESS").write_text("")
    files = find_register_files(tmp_path / "data", "lmdb")
    assert [f.name for f in files] == ["lmdb2019/part-0.parquet", "lmdb2019/part-1.parquet"]
    got = scan_register(tmp_path / "data", "lmdb").collect()
    assert got.height == 9 and set(got["year"]) == {2019}
    assert _inventory_row(tmp_path / "data", "lmdb/lmdb2019/_SUCCESS")["status"] == "ignored"


def test_folder_named_like_a_file_with_writer_part_names_is_read(tmp_path: Path) -> None:
    # Spark and similar writers: lmdb2019.parquet/ holding part-00000-<id>.snappy.parquet
    d = _lmdb_dir(tmp_path) / "lmdb2019.parquet"
    d.mkdir()
    lmdb_frame(2).write_parquet(d / "part-00000-1a2b.c000.snappy.parquet")
    lmdb_frame(3, offset=2).write_parquet(d / "part-00001-1a2b.c000.snappy.parquet")
    (d / "part-00002-1a2b.csv.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(RegisterLoadError, match=r"part-00002-1a2b\.csv\.gz: a compressed part"):
        find_register_files(tmp_path / "data", "lmdb")
    (d / "part-00002-1a2b.csv.gz").unlink()
    got = scan_register(tmp_path / "data", "lmdb").collect()
    assert got.height == 5 and set(got["year"]) == {2019}


def test_hive_year_folder_is_read(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path) / "year=2020"
    d.mkdir()
    lmdb_frame(4).write_parquet(d / "part-00000.parquet")
    got = scan_register(tmp_path / "data", "lmdb").collect()
    assert got.height == 4 and got["year"].to_list() == [2020] * 4


def test_unrecognised_folder_with_data_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    (d / "2019").mkdir()
    lmdb_frame(3).write_parquet(d / "2019" / "part-0.parquet")
    _refused(tmp_path / "data", "lmdb", r"lmdb/2019/: folder with 1 data file\(s\) not read")


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    os.symlink("lmdb2019.parquet", d / "lmdb2019.parquet")  # points at itself
    _refused(tmp_path / "data", "lmdb", r"lmdb2019\.parquet: symbolic link loop")


def test_broken_symlink_is_refused(tmp_path: Path) -> None:
    d = _lmdb_dir(tmp_path)
    lmdb_frame(3).write_parquet(d / "lmdb2018.parquet")
    os.symlink("/nonexistent/lmdb2019.parquet", d / "lmdb2019.parquet")
    _refused(tmp_path / "data", "lmdb", r"lmdb2019\.parquet: broken symbolic link")


def test_same_year_in_two_formats_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    dod_frame(3).write_parquet(d / "dod.parquet")
    dod_frame(5).write_csv(d / "dod.csv")  # a different delivery: which one is right?
    err = _refused(tmp_path / "data", "dod", r"delivered more than once")
    assert "dod/dod.csv" in err.message and "dod/dod.parquet" in err.message


def test_same_file_in_the_data_folder_and_the_register_folder_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    dod_frame(3).write_parquet(d / "dod.parquet")
    dod_frame(3).write_parquet(tmp_path / "data" / "DOD.parquet")  # an old copy at the top
    err = _refused(tmp_path / "data", "dod", r"delivered more than once")
    assert "DOD.parquet" in err.message and "dod/dod.parquet" in err.message


def test_unsupported_format_is_refused_with_the_reason(tmp_path: Path) -> None:
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    (d / "dod.xlsx").write_bytes(b"PK\x03\x04")
    _refused(tmp_path / "data", "dod", r"dod/dod\.xlsx: unsupported format \.xlsx")


def test_compressed_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    (d / "dod.csv.gz").write_bytes(b"\x1f\x8b")
    _refused(tmp_path / "data", "dod", r"dod/dod\.csv\.gz: a compressed file: unpack it")


def test_file_of_another_register_in_a_register_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data" / "bef").mkdir(parents=True)
    (tmp_path / "data" / "dod").mkdir()
    dod_frame(3).write_parquet(tmp_path / "data" / "dod" / "dod.parquet")
    dod_frame(4).write_parquet(tmp_path / "data" / "bef" / "dod.parquet")
    _refused(tmp_path / "data", "dod", r"bef/dod\.parquet: a file of register 'dod' inside")


def test_year_on_a_register_delivered_once_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    dod_frame(3).write_parquet(tmp_path / "data" / "dod2019.parquet")
    _refused(tmp_path / "data", "dod", r"dod2019\.parquet: name matches no file of register")


def test_unmatched_data_file_in_a_register_folder_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "data" / "dod"
    d.mkdir(parents=True)
    dod_frame(3).write_parquet(d / "dod.parquet")
    dod_frame(2).write_parquet(d / "deaths_extra.parquet")
    _refused(tmp_path / "data", "dod", r"dod/deaths_extra\.parquet: a data file in the folder")


def test_inventory_accounts_for_every_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    d = _lmdb_dir(tmp_path)
    lmdb_frame(2).write_parquet(d / "lmdb2018.parquet")
    lmdb_frame(2).write_parquet(d / "lmdb2019_1.parquet")
    lmdb_frame(2).write_parquet(d / "lmdb2019_2.parquet")
    lmdb_frame(2).write_parquet(d / "lmdb2O20.parquet")
    (d / "README.md").write_text("notes")
    (d / "lmdb2018.sas7bcat").write_bytes(b"")  # SAS value labels next to the data
    (d / "lmdb_notes.md").write_text("")
    (d / ".DS_Store").write_bytes(b"")
    (data / "manifest.json").write_text("{}")
    (data / "truth").mkdir()
    dod_frame(2).write_parquet(data / "dod.parquet")
    inv = L.register_inventory(data)
    walked = {p.relative_to(data).as_posix() for p in data.iterdir() if p.is_file()}
    walked |= {f"lmdb/{p.name}" for p in d.iterdir()} | {"truth/"}
    walked -= {"lmdb"}
    assert set(inv["path"]) == walked  # one row per file: nothing unaccounted for
    assert dict(inv.group_by("status").len().rows()) == {"read": 4, "refused": 1, "ignored": 6}
    assert inv.filter(pl.col("status") != "read")["reason"].null_count() == 0


# --------------------------------------------------------------------------- encodings
def _dpd_csv(lines: list[bytes]) -> bytes:
    return b"PNR;HENV_DATO;MODTAGET;HENV_FRA\n" + b"\n".join(lines) + b"\n"


def test_latin1_line_inside_utf8_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    rows = [f"{i:010d};2019-01-0{i + 1};1;Sønderå".encode() for i in range(4)]
    rows[2] = "0000000002;2019-01-03;1;Ærø".encode("latin-1")  # line 4 of the file
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    with pytest.raises(RegisterLoadError, match=r"dpd\.csv: mixed encodings: 1 line\(s\)") as e:
        scan_register(tmp_path, "dpd")
    assert "(lines 4)" in str(e.value)


def test_many_bad_lines_are_counted_and_the_first_five_named(tmp_path: Path) -> None:
    rows = [f"{i:010d};2019-01-01;1;Sønderå".encode() for i in range(20)]
    bad = [3, 5, 8, 9, 12, 15, 19]  # 0-based rows: file lines are +2
    for i in bad:
        rows[i] = f"{i:010d};2019-01-01;1;Ærø".encode("cp1252")
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    with pytest.raises(RegisterLoadError) as e:
        scan_register(tmp_path, "dpd")
    assert "7 line(s) are not UTF-8 (lines 5, 7, 10, 11, 14)" in str(e.value)


def test_cp1252_punctuation_is_detected_not_read_as_latin1(tmp_path: Path) -> None:
    text = "Hospice Sønderjylland – ‘Æblehaven’ €"  # en dash, quotes, euro: cp1252 only
    rows = [f"0000000001;2019-01-01;1;{text}".encode("cp1252")]
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    assert L.csv_encoding(tmp_path / "dpd.csv") == "cp1252"
    got = scan_register(tmp_path, "dpd", cache_dir=tmp_path / "cache").collect()
    assert got["HENV_FRA"].to_list() == [text]


def test_undefined_cp1252_bytes_are_an_error(tmp_path: Path) -> None:
    rows = [b"0000000001;2019-01-01;1;\x80 \x81"]  # 0x81 is undefined in cp1252
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    with pytest.raises(RegisterLoadError, match=r"neither UTF-8 nor cp1252 \(lines 2\)"):
        scan_register(tmp_path, "dpd")


def test_declared_utf8_with_latin1_bytes_is_an_error(tmp_path: Path) -> None:
    rows = ["0000000001;2019-01-01;1;Ærø".encode("latin-1")]
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    with pytest.raises(RegisterLoadError, match=r"declared encoding utf-8, but 1 line\(s\)"):
        scan_register(tmp_path, "dpd", encoding="utf-8")
    got = scan_register(tmp_path, "dpd", encoding="latin-1", cache_dir=tmp_path / "c").collect()
    assert got["HENV_FRA"].to_list() == ["Ærø"]


def test_utf8_bom_then_latin1_bytes_is_an_error(tmp_path: Path) -> None:
    rows = ["0000000001;2019-01-01;1;Ærø".encode("latin-1")]
    (tmp_path / "dpd.csv").write_bytes(b"\xef\xbb\xbf" + _dpd_csv(rows))
    with pytest.raises(RegisterLoadError, match=r"UTF-8 byte-order mark"):
        scan_register(tmp_path, "dpd")


def test_utf16_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    text = "PNR;DODDATO\n0000000001;2019-01-01\n"
    (tmp_path / "dod.csv").write_bytes(text.encode("utf-16"))
    with pytest.raises(RegisterLoadError, match=r"dod\.csv: the file is UTF-16"):
        scan_register(tmp_path, "dod")


def test_verify_file_of_a_latin1_csv_counts_its_rows(tmp_path: Path) -> None:
    rows = [f"{i:010d};2019-01-01;1;Ærø".encode("latin-1") for i in range(7)]
    (tmp_path / "dpd.csv").write_bytes(_dpd_csv(rows))
    f = L.RegisterFile("dpd", tmp_path / "dpd.csv", None, "csv")
    assert L.verify_file(f) == 7


def test_utf8_with_bom_keeps_its_letters_and_header(tmp_path: Path) -> None:
    rows = ["0000000001;2019-01-01;1;Ærø".encode()]
    (tmp_path / "dpd.csv").write_bytes(b"\xef\xbb\xbf" + _dpd_csv(rows))
    assert L.csv_encoding(tmp_path / "dpd.csv") == "utf-8-sig"
    got = scan_register(tmp_path, "dpd").collect()
    assert got["HENV_FRA"].to_list() == ["Ærø"] and got["PNR"].to_list() == ["0000000001"]


# --------------------------------------------------------------------------- SAS dates
DATES = [dt.date(2015, 1, 31), dt.date(1999, 12, 31), dt.date(2020, 2, 29)]


@pytest.mark.parametrize(
    ("fmt", "is_datetime"),
    [
        ("IS8601DA10.", False),
        ("EURDFDD10.", False),
        ("NLDATE20.", False),
        ("WEEKDATE29.", False),
        ("DTDATE9.", True),
        ("DATETIME20.", True),
        ("E8601DT19.", True),
    ],
)
def test_sas_date_formats_read_exactly(fmt: str, is_datetime: bool, tmp_path: Path) -> None:
    write_xport(tmp_path / "dod.xpt", DATES, fmt, datetime_values=is_datetime)
    got = scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()
    assert got["DODDATO"].to_list() == DATES  # not shifted, not null


@pytest.mark.parametrize("fmt", ["DATE9.", "DDMMYY10.", "YYMMDD10.", "MMDDYY10.", "E8601DA."])
def test_common_sas_date_formats_read_exactly(fmt: str, tmp_path: Path) -> None:
    write_xport(tmp_path / "dod.xpt", DATES, fmt)
    got = scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()
    assert got["DODDATO"].to_list() == DATES


def test_sas_time_format_in_a_date_column_is_not_a_date(tmp_path: Path) -> None:
    # TIME8. holds seconds since midnight: read as days it would be a date in the 1960s
    write_xport(tmp_path / "dod.xpt", [dt.date(1960, 1, 2)], "TIME8.")
    raw = L.scan_raw(L.RegisterFile("dod", tmp_path / "dod.xpt", None, "xpt"), tmp_path / "c")
    assert raw.collect_schema()["DODDATO"] == pl.Time
    bad = L.unparseable_counts(raw, L.RegisterFile("dod", tmp_path / "dod.xpt", None, "xpt"))
    assert bad["DODDATO"][0] == 1


# --------------------------------------------------------------------------- numeric dates
def test_yyyymmdd_integers_are_not_sas_day_numbers(tmp_path: Path) -> None:
    pl.DataFrame(
        {"PNR": ["0000000001", "0000000002"], "DODDATO": [20150131, 19991231]}
    ).write_parquet(tmp_path / "dod.parquet")
    got = scan_register(tmp_path, "dod").collect()
    assert got["DODDATO"].to_list() == [dt.date(2015, 1, 31), dt.date(1999, 12, 31)]


def test_yyyymmdd_numbers_in_a_sas_file_without_date_format(tmp_path: Path) -> None:
    import pandas as pd
    import pyreadstat

    df = pd.DataFrame({"PNR": ["0000000001", "0000000002"], "DODDATO": [20150131.0, 19991231.0]})
    pyreadstat.write_xport(df, str(tmp_path / "dod.xpt"), variable_format={"DODDATO": "BEST12."})
    got = scan_register(tmp_path, "dod", cache_dir=tmp_path / "cache").collect()
    assert got["DODDATO"].to_list() == [dt.date(2015, 1, 31), dt.date(1999, 12, 31)]


def test_sas_day_numbers_without_format_stay_day_numbers(tmp_path: Path) -> None:
    days = [(d - SAS_EPOCH).days for d in DATES]
    pl.DataFrame({"PNR": ["1", "2", "3"], "DODDATO": days}).write_parquet(tmp_path / "dod.parquet")
    assert scan_register(tmp_path, "dod").collect()["DODDATO"].to_list() == DATES


def test_column_mixing_day_numbers_and_yyyymmdd_is_refused(tmp_path: Path) -> None:
    pl.DataFrame({"PNR": ["1", "2", "3"], "DODDATO": [20089, 20150131, 20090]}).write_parquet(
        tmp_path / "dod.parquet"
    )
    with pytest.raises(RegisterLoadError, match=r"column 'DODDATO': numbers of two kinds") as e:
        scan_register(tmp_path, "dod")
    assert "2 SAS day numbers and 1 YYYYMMDD integers (e.g. 20150131)" in str(e.value)


# --------------------------------------------------------------------------- text dates
def test_ddmmyyyy_and_yyyymmdd_strings(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text(
        "PNR;DODDATO\n1;31012015\n2;20150131\n3;31-01-2015\n4;2015/01/31\n5;31MAJ2015\n"
    )
    got = scan_register(tmp_path, "dod").collect()["DODDATO"].to_list()
    assert got == [dt.date(2015, 1, 31)] * 4 + [dt.date(2015, 5, 31)]


def test_two_digit_years_are_refused_with_rows(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n1;2015-01-31\n2;31-01-11\n3;310111\n")
    with pytest.raises(RegisterLoadError, match=r"column 'DODDATO': two-digit years") as e:
        scan_register(tmp_path, "dod")
    msg = str(e.value)
    assert "in 2 of 3 rows" in msg and "row 2: '31-01-11'" in msg
    assert "two_digit_year_pivot" in msg


def test_two_digit_years_with_an_explicit_pivot(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n1;31-01-11\n2;310145\n3;01JAN29\n")
    got = scan_register(tmp_path, "dod", two_digit_year_pivot=30).collect()
    assert got["DODDATO"].to_list() == [
        dt.date(2011, 1, 31),
        dt.date(1945, 1, 31),
        dt.date(2029, 1, 1),
    ]


def test_two_digit_years_past_the_first_rows_are_refused_with_the_full_count(
    tmp_path: Path,
) -> None:
    # every row is checked, not the first 10,000 (before: the late ones became nulls)
    n_ok = 10_005
    lines = [f"{i};2015-01-01" for i in range(n_ok)] + ["x1;31-01-11", "x2;01JAN11"]
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n" + "\n".join(lines) + "\n")
    with pytest.raises(RegisterLoadError, match=r"column 'DODDATO': two-digit years") as e:
        scan_register(tmp_path, "dod")
    msg = str(e.value)
    assert f"in 2 of {n_ok + 2} rows" in msg
    assert f"row {n_ok + 1}: '31-01-11'; row {n_ok + 2}: '01JAN11'" in msg
    got = scan_register(tmp_path, "dod", two_digit_year_pivot=30).collect()
    assert got["DODDATO"].tail(2).to_list() == [dt.date(2011, 1, 31), dt.date(2011, 1, 1)]


def test_month_first_dates_past_the_first_rows_are_refused(tmp_path: Path) -> None:
    lines = [f"{i};01/02/2015" for i in range(12_000)] + ["y;02/28/2016"]
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n" + "\n".join(lines) + "\n")
    with pytest.raises(RegisterLoadError, match=r"month-first dates \(MM/DD/YYYY\)") as e:
        scan_register(tmp_path, "dod")
    assert "in 1 of 12001 rows (e.g. row 12001: '02/28/2016')" in str(e.value)


def test_month_first_dates_are_refused(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("PNR;DODDATO\n1;01/02/2015\n2;01/31/2015\n")
    with pytest.raises(RegisterLoadError, match=r"month-first dates \(MM/DD/YYYY\)") as e:
        scan_register(tmp_path, "dod")
    assert "row 2: '01/31/2015'" in str(e.value)


# --------------------------------------------------------------------------- integrity
def test_truncated_transport_file_v5_is_refused(tmp_path: Path) -> None:
    full = tmp_path / "full.xpt"
    write_xport(full, [dt.date(2015, 1, 1) + dt.timedelta(days=i) for i in range(500)], "DATE9.")
    size = full.stat().st_size
    (tmp_path / "data").mkdir()
    cut(full, size - 800, tmp_path / "data" / "dod.xpt")  # ten records short: mid-row
    with pytest.raises(RegisterLoadError, match=r"dod\.xpt: SAS file truncated: the last row"):
        scan_register(tmp_path / "data", "dod", cache_dir=tmp_path / "cache")


def test_truncated_transport_file_v8_is_refused_by_its_row_count(tmp_path: Path) -> None:
    full = tmp_path / "full.xpt"
    dates = [dt.date(2015, 1, 1) + dt.timedelta(days=i) for i in range(500)]
    write_xport(full, dates, "DATE9.", version=8)
    (tmp_path / "data").mkdir()
    cut(full, full.stat().st_size - 800, tmp_path / "data" / "dod.xpt")
    with pytest.raises(RegisterLoadError, match=r"header declares 500 rows, (\d+) were read") as e:
        scan_register(tmp_path / "data", "dod", cache_dir=tmp_path / "cache")
    read = int(re.search(r"(\d+) were read", str(e.value)).group(1))
    assert 0 < read < 500


def test_transport_file_cut_inside_a_record_is_refused(tmp_path: Path) -> None:
    full = tmp_path / "full.xpt"
    write_xport(full, DATES * 50, "DATE9.")
    (tmp_path / "data").mkdir()
    cut(full, full.stat().st_size - 813, tmp_path / "data" / "dod.xpt")
    with pytest.raises(RegisterLoadError, match=r"not a whole number of 80-byte records"):
        scan_register(tmp_path / "data", "dod", cache_dir=tmp_path / "cache")


def test_truncated_sas7bdat_is_refused_from_its_header(tmp_path: Path) -> None:
    src = SAS7BDAT / "DPD.sas7bdat"  # 5 pages of 4096 bytes by its header
    cut(src, 16_384, tmp_path / "dpd.sas7bdat")
    with pytest.raises(
        RegisterLoadError,
        match=r"dpd\.sas7bdat: truncated SAS file: the header declares 20480 bytes, "
        r"the file has 16384",
    ):
        scan_register(tmp_path, "dpd", cache_dir=tmp_path / "cache")


def _corrupt_dod(path: Path, n: int) -> None:
    """A dod parquet file whose DODDATO data page got four bytes damaged (no checksums,
    uncompressed: it still reads)."""
    dod_frame(n).write_parquet(path, compression="uncompressed", statistics=True)
    col = pq.read_metadata(path).row_group(0).column(1)
    flip(path, col.data_page_offset + col.total_compressed_size - 40, b"\xff\xff\x7f\x10")


def test_corrupt_parquet_page_is_detected_not_read_as_dates(tmp_path: Path) -> None:
    _corrupt_dod(tmp_path / "dod.parquet", 2000)
    lazy = scan_register(tmp_path, "dod").collect()  # the lazy scan reads what is there ...
    assert lazy.height == 2000
    f = L.RegisterFile("dod", tmp_path / "dod.parquet", None, "parquet")
    outside = lazy.select(L.integrity_exprs(f)["DODDATO"].sum()).item()
    assert outside == 1  # ... and the footer's statistics flag the damaged value
    with pytest.raises(RegisterLoadError, match=r"corrupt parquet file: values outside .* DODDATO"):
        scan_register(tmp_path, "dod", strict=True)


def test_parquet_page_checksum_mismatch_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "dod.parquet"
    table = dod_frame(500).to_arrow()
    pq.write_table(
        table, path, compression="none", write_page_checksum=True, write_statistics=False
    )
    col = pq.read_metadata(path).row_group(0).column(1)
    start = col.dictionary_page_offset or col.data_page_offset
    flip(path, start + col.total_compressed_size - 20, b"\x01\x02")  # in the last page
    f = L.RegisterFile("dod", path, None, "parquet")
    with pytest.raises(RegisterLoadError, match=r"dod\.parquet: corrupt parquet file: .*CRC"):
        L.verify_file(f)


def test_truncated_parquet_is_refused_as_truncated(tmp_path: Path) -> None:
    full = tmp_path / "full.parquet"
    dod_frame(100).write_parquet(full)
    cut(full, full.stat().st_size // 2, tmp_path / "dod.parquet")
    with pytest.raises(RegisterLoadError, match=r"dod\.parquet: .*not a readable parquet file"):
        scan_register(tmp_path, "dod")


def test_parquet_row_count_comes_from_its_footer(tmp_path: Path) -> None:
    t = pa.table({"PNR": ["1", "2", "3"], "DODDATO": [dt.date(2015, 1, 1)] * 3})
    pq.write_table(t, tmp_path / "dod.parquet", row_group_size=2)
    f = L.RegisterFile("dod", tmp_path / "dod.parquet", None, "parquet")
    assert L.expected_rows(f) == 3 == L.verify_file(f)


def test_sas_row_count_from_header_matches_rows_read(tmp_path: Path) -> None:
    write_xport(tmp_path / "dod.xpt", DATES * 7, "DATE9.", version=8)
    f = L.RegisterFile("dod", tmp_path / "dod.xpt", None, "xpt")
    assert L.expected_rows(f) == 21
    assert scan_register(tmp_path, "dod", cache_dir=tmp_path / "c").collect().height == 21


def test_messages_never_carry_a_polars_traceback(tmp_path: Path) -> None:
    (tmp_path / "dod.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(RegisterLoadError) as e:
        scan_register(tmp_path, "dod")
    assert "\n" not in str(e.value) and re.search(r"dod\.parquet", str(e.value))
