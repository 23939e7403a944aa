"""Loading register extracts: formats, casting, discovery and LPR harmonisation."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from polars.testing import assert_frame_equal

from _formats import write_as
from paleval.registers import REGISTERS
from paleval.registers.loading import (
    RegisterLoadError,
    deduplicate_contacts,
    find_register_files,
    flag_duplicate_contacts,
    lpr_contacts,
    lpr_diagnoses,
    scan_register,
    scan_registers,
)
from paleval.registers.normalise import (
    honuge_is_valid,
    honuge_to_week_end,
    honuge_to_week_start,
    normalise_icd10,
)

# (register, year or None): a fast subset of the tiny data written in every format
SUBSET = [("bef", 2019), ("dod", None), ("dpd", None), ("lpr_adm", 2015)]
FORMATS = ["parquet", "csv_utf8", "csv_latin1", "xpt"]
DANISH = "Ærøskøbing, Sønderå"


def _subset_frame(tiny_dir: Path, key: str, year: int | None) -> pl.DataFrame:
    reg = REGISTERS[key]
    df = pl.read_parquet(tiny_dir / key / reg.file_name(year))
    if key == "dpd":  # a text column with Danish letters, kept as an extra column
        df = df.with_columns(BY=pl.lit(DANISH))
    return df.head(2000)


@pytest.fixture(scope="session")
def formats_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The subset written as parquet, CSV UTF-8 (,), CSV latin-1 (;) and SAS transport."""
    root = tmp_path_factory.mktemp("formats")
    for key, year in SUBSET:
        df = _subset_frame(tiny_dir, key, year)
        stem = REGISTERS[key].file_name(year).removesuffix(".parquet")
        for fmt in FORMATS:
            folder = root / fmt / key
            folder.mkdir(parents=True, exist_ok=True)
            write_as(df, folder / stem, fmt)
    return root


@pytest.mark.parametrize("fmt", FORMATS[1:])
@pytest.mark.parametrize(("key", "year"), SUBSET)
def test_formats_load_identically(
    formats_dir: Path, tmp_path: Path, fmt: str, key: str, year: int | None
) -> None:
    years = None if year is None else [year]
    expected = scan_register(formats_dir / "parquet", key, years=years).collect()
    got = scan_register(formats_dir / fmt, key, years=years, cache_dir=tmp_path).collect()
    assert got.columns[: len(REGISTERS[key].columns)] == REGISTERS[key].columns
    assert_frame_equal(got, expected)


def test_parquet_subset_equals_source(formats_dir: Path, tiny_dir: Path) -> None:
    got = scan_register(formats_dir / "parquet", "bef", years=[2019]).collect()
    assert got["year"].unique().to_list() == [2019]  # the delivery year, from the file name
    assert_frame_equal(got.drop("year"), _subset_frame(tiny_dir, "bef", 2019))


def test_latin1_keeps_danish_letters(formats_dir: Path, tmp_path: Path) -> None:
    df = scan_register(formats_dir / "csv_latin1", "dpd", cache_dir=tmp_path).collect()
    assert df["BY"].unique().to_list() == [DANISH]
    assert df.columns[-1] == "BY"  # extra column kept at the end
    declared = scan_register(formats_dir / "csv_latin1", "dpd", columns="declared")
    assert declared.collect_schema().names() == REGISTERS["dpd"].columns


def test_sas_cache_is_reused(formats_dir: Path, tmp_path: Path) -> None:
    scan_register(formats_dir / "xpt", "dod", cache_dir=tmp_path).collect()
    parts = sorted(tmp_path.rglob("part-*.parquet"))
    assert parts and (parts[0].parent / "_COMPLETE").exists()
    mtime = parts[0].stat().st_mtime_ns
    scan_register(formats_dir / "xpt", "dod", cache_dir=tmp_path).collect()
    assert parts[0].stat().st_mtime_ns == mtime


def test_sas7bdat_goes_through_the_sas_reader(
    formats_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyreadstat cannot write sas7bdat: serve a transport file under the sas7bdat name and
    # check the sas7bdat reader is the one called, chunk by chunk
    calls: list[str] = []

    def fake_read_sas7bdat(path: str, **kw: object) -> object:
        calls.append(path)
        return pyreadstat.read_xport(path, **kw)

    monkeypatch.setattr(pyreadstat, "read_sas7bdat", fake_read_sas7bdat)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "DOD.sas7bdat").write_bytes((formats_dir / "xpt/dod/dod.xpt").read_bytes())
    got = scan_register(tmp_path / "data", "dod", cache_dir=tmp_path / "cache").collect()
    assert calls and calls[0].endswith("DOD.sas7bdat")
    assert_frame_equal(got, scan_register(formats_dir / "parquet", "dod").collect())


def test_sas_without_pyreadstat_says_how_to_install(
    formats_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "pyreadstat":
            raise ImportError("No module named 'pyreadstat'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(RegisterLoadError, match=r"pip install pyreadstat") as exc:
        scan_register(formats_dir / "xpt", "dod", cache_dir=tmp_path / "new")
    assert exc.value.file == "dod.xpt"


def test_all_tiny_registers_load_in_declared_schema(tiny_dir: Path) -> None:
    truth = json.loads((tiny_dir / "truth.json").read_text())
    for key, reg in REGISTERS.items():
        lf = scan_register(tiny_dir, key)
        expected = dict(reg.polars_schema) | ({"year": pl.Int64} if reg.yearly else {})
        assert dict(lf.collect_schema()) == expected, key
        assert lf.select(pl.len()).collect().item() == truth["counts"]["rows"][key], key


def test_years_filter_and_discovery(tiny_dir: Path) -> None:
    files = find_register_files(tiny_dir, "bef", years=[2015, 2016])
    assert [f.year for f in files] == [2015, 2016]
    df = scan_register(tiny_dir, "bef", years=[2015, 2016]).collect()
    assert df["REFERENCETID"].dt.year().unique().sort().to_list() == [2015, 2016]
    with pytest.raises(RegisterLoadError, match=r"for years \[2031\]"):
        scan_register(tiny_dir, "bef", years=[2031])
    assert scan_register(tiny_dir, "dod", years=[2015]).collect().height > 0  # not yearly
    with pytest.raises(RegisterLoadError, match="unknown register"):
        scan_register(tiny_dir, "nope")


def test_scan_registers_dict(tiny_dir: Path) -> None:
    out = scan_registers(tiny_dir, ["dod", "dpd"])
    assert set(out) == {"dod", "dpd"}
    assert all(isinstance(v, pl.LazyFrame) for v in out.values())


def test_lowercase_ok_false_requires_exact_case(tmp_path: Path) -> None:
    (tmp_path / "dod.csv").write_text("pnr,DODDATO\n0101010000,2015-01-01\n")
    assert scan_register(tmp_path, "dod").collect().height == 1
    with pytest.raises(RegisterLoadError, match="column 'PNR'"):
        scan_register(tmp_path, "dod", lowercase_ok=False)


def test_lpr_contacts_harmonised(tiny_dir: Path) -> None:
    c = lpr_contacts(tiny_dir).collect()
    assert c.columns == [
        "PNR",
        "contact_id",
        "source",
        "start",
        "end",
        "inpatient",
        "acute",
        "department",
        "specialty_text",
        "action_diagnosis",
    ]
    adm = scan_register(tiny_dir, "lpr_adm").collect()
    kon = scan_register(tiny_dir, "lpr_f_kontakter").collect()
    lpr2 = c.filter(pl.col("source") == "LPR2")
    lpr3 = c.filter(pl.col("source") == "LPR3")
    assert lpr2.height == adm.height and lpr3.height == kon.height
    assert lpr2["inpatient"].sum() == (adm["C_PATTYPE"] == "0").sum()
    assert lpr3["inpatient"].sum() == (kon["dato_slut"] > kon["dato_start"]).sum()
    assert lpr3["acute"].sum() == (kon["prioritet"] == "ATA1").sum()
    assert lpr2["specialty_text"].null_count() == 0  # via sor
    assert c["action_diagnosis"].str.contains(r"^D[A-Z][0-9A-Z]*$").all()
    assert lpr2["start"].max() < lpr3["start"].min()  # LPR2 -> LPR3 break


def test_deduplicate_contacts_counts_planted_duplicates(tiny_dir: Path) -> None:
    truth = json.loads((tiny_dir / "truth.json").read_text())["defects"]
    c = lpr_contacts(tiny_dir)
    flagged = flag_duplicate_contacts(c).group_by("source").agg(pl.col("duplicate").sum())
    n = dict(flagged.collect().iter_rows())
    assert n["LPR2"] >= truth["lpr2_duplicate_admissions"]
    assert n["LPR3"] >= truth["lpr3_duplicate_contacts"]
    kept, excluded = deduplicate_contacts(c)
    assert excluded == n["LPR2"] + n["LPR3"]
    total = c.select(pl.len()).collect().item()
    assert kept.select(pl.len()).collect().item() == total - excluded


def test_lpr_diagnoses_excludes_refuted(tiny_dir: Path) -> None:
    d = lpr_diagnoses(tiny_dir).collect()
    dg = scan_register(tiny_dir, "lpr_f_diagnoser").collect()
    refuted = (dg["senere_afkraeftet"] == "Ja").sum()
    assert refuted > 0
    assert d.filter(pl.col("source") == "LPR3").height == dg.height - refuted
    diag2 = scan_register(tiny_dir, "lpr_diag").select(pl.len()).collect().item()
    assert d.filter(pl.col("source") == "LPR2").height == diag2
    assert d["diagnosis"].str.contains("[a-z]").sum() == 0
    assert set(d["diagnosis_type"].unique()) <= {"A", "B"}


def test_normalise_icd10_prefix_roundtrip() -> None:
    df = pl.DataFrame({"c": ["DC509", "c50.9", "D500", "dd500", " I 21 "]})
    out = df.select(
        icd=normalise_icd10("c", strip_d_prefix=True),
        sks=normalise_icd10(pl.col("c"), strip_d_prefix=False),
    )
    assert out["icd"].to_list() == ["C509", "C509", "D500", "D500", "I21"]
    assert out["sks"].to_list() == ["DC509", "DC509", "DD500", "DD500", "DI21"]


def test_honuge_week_bounds() -> None:
    df = pl.DataFrame({"w": ["2001", "2053", "2153", "0953", "9001", "1900", "19 1"]})
    out = df.select(s=honuge_to_week_start("w"), e=honuge_to_week_end("w"))
    assert out["s"].dt.weekday().drop_nulls().to_list() == [1, 1, 1, 1]
    assert out["e"].dt.weekday().drop_nulls().to_list() == [7, 7, 7, 7]
    assert out["s"].is_null().to_list() == [False, False, True, False, False, True, True]
    assert str(out["s"][0]) == "2019-12-30"  # ISO 2020 week 1 starts in 2019


def test_honuge_week_start_agrees_with_the_calendar() -> None:
    import datetime as dt

    def expected(text: str, pivot: int) -> dt.date | None:
        yy, ww = int(text[:2]), int(text[2:])
        year = 1900 + yy if yy >= pivot else 2000 + yy
        try:
            return dt.date.fromisocalendar(year, ww, 1)
        except ValueError:  # week 0, > 53, or 53 in a 52-week year
            return None

    every = [f"{i:04d}" for i in range(10_000)]
    for pivot in (90, 50):
        got = pl.DataFrame({"w": every}).select(honuge_to_week_start("w", century_pivot=pivot))
        assert got["w"].to_list() == [expected(t, pivot) for t in every]
    odd = pl.Series("w", [" 1901 ", "1901x", "19.1", "-101", "", None, "190"])
    got = odd.to_frame().select(honuge_to_week_start("w"))["w"].to_list()
    assert got == [dt.date(2018, 12, 31)] + [None] * 6
    # the validity test used by validation is exactly "the lookup gives a date"
    for pivot in (90, 50):
        for values in (pl.Series("w", every), odd):
            frame = values.to_frame().select(
                valid=honuge_is_valid("w", century_pivot=pivot),
                dated=honuge_to_week_start("w", century_pivot=pivot).is_not_null(),
                present=pl.col("w").is_not_null(),
            )
            assert frame["valid"].is_null().to_list() == (~frame["present"]).to_list()
            assert frame["valid"].fill_null(False).to_list() == frame["dated"].to_list()


def test_lpr_diagnoses_codes_reads_only_those_codes(tiny_dir: Path) -> None:
    every = lpr_diagnoses(tiny_dir).collect()
    codes = ["I50", "dj44", "G122", "D.C34"]  # any spelling, with or without the D
    picked = lpr_diagnoses(tiny_dir, codes=codes).collect()
    plain = every["diagnosis"].str.slice(1)
    want = every.filter(
        plain.str.slice(0, 3).is_in(["I50", "J44", "C34"]) | plain.str.starts_with("G122")
    )
    assert picked.height > 0
    key = ["source", "contact_id", "diagnosis", "diagnosis_type"]
    assert_frame_equal(picked.sort(key), want.sort(key))
    assert lpr_diagnoses(tiny_dir, codes=[]).collect().height == 0
    with pytest.raises(ValueError, match="empty ICD-10 prefix"):
        lpr_diagnoses(tiny_dir, codes=["I50", " "])


def test_clean_parquet_columns_pass_through_and_dirty_ones_are_cleaned(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "dod.parquet"
    clean = pl.DataFrame(
        {"PNR": ["0101010000", "0202020000"], "DODDATO": [dt.date(2020, 1, 1)] * 2}
    )
    clean.write_parquet(path)
    lf = scan_register(tmp_path, "dod").filter(pl.col("PNR") == "0202020000")
    # nothing to clean: the PNR filter is applied by the parquet reader itself
    scan = lf.explain().split("Parquet SCAN")[1]
    assert "SELECTION" in scan and "PNR" in scan
    assert lf.collect()["PNR"].to_list() == ["0202020000"]
    # the same file rewritten with padded and missing text (new size and modification time)
    pl.DataFrame(
        {"PNR": [" 0101010000", "0202020000 ", "."], "DODDATO": [dt.date(2020, 1, 1)] * 3}
    ).write_parquet(path)
    got = scan_register(tmp_path, "dod").collect()
    assert got["PNR"].to_list() == ["0101010000", "0202020000", None]
    assert (
        scan_register(tmp_path, "dod").filter(pl.col("PNR") == "0202020000").collect().height == 1
    )


def test_clean_column_memo_is_kept_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt
    import json

    from paleval.registers import _raw

    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    path = data / "dod.parquet"
    pnr = ["0101010000", "0202020000"]
    pl.DataFrame({"PNR": pnr, "DODDATO": [dt.date(2020, 1, 1)] * 2}).write_parquet(path)
    scan_register(data, "dod", cache_dir=cache)
    rows = json.loads((cache / "clean-columns.json").read_text())
    assert [r[4:] for r in rows] == [["PNR", "PNR", True]]
    assert rows[0][0] == str(path.resolve())
    # a new process (empty in-memory memo) takes the result from disk: no check query
    monkeypatch.setattr(_raw, "_CLEAN_MEMO", {})
    monkeypatch.setattr(_raw, "_MEMO_READ", set())
    monkeypatch.setattr(pl, "collect_all", None)  # would fail if a check ran
    lf = scan_register(data, "dod", cache_dir=cache).filter(pl.col("PNR") == pnr[1])
    assert "SELECTION" in lf.explain().split("Parquet SCAN")[1]
    monkeypatch.undo()
    # the file rewritten dirty: checked again, and the old entry replaced
    pl.DataFrame({"PNR": [" 0101010000", "."], "DODDATO": [None, None]}).write_parquet(path)
    assert scan_register(data, "dod", cache_dir=cache).collect()["PNR"].to_list() == [
        "0101010000",
        None,
    ]
    rows = json.loads((cache / "clean-columns.json").read_text())
    assert [r[4:] for r in rows] == [["PNR", "PNR", False]]
    # an unwritable cache location only loses the memo
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    got = scan_register(data, "dod", cache_dir=blocked / "sub").collect()
    assert got["PNR"].to_list() == ["0101010000", None]


SAS7BDAT = Path(__file__).parent / "data" / "sas7bdat"


@pytest.mark.parametrize(("key", "year"), [("dod", None), ("dpd", None), ("bef", 2019)])
def test_real_sas7bdat_files_load_like_their_csv(
    key: str, year: int | None, tmp_path: Path
) -> None:
    # sas/ holds sas7bdat files written by R haven (ReadStat) from csv/: write_sas7bdat.R
    years = None if year is None else [year]
    got = scan_register(SAS7BDAT / "sas", key, years=years, cache_dir=tmp_path).collect()
    expected = scan_register(SAS7BDAT / "csv", key, years=years).collect()
    assert got.height == 40
    assert_frame_equal(got, expected)
    if key == "dpd":  # Danish letters survive, missing text and numbers are null
        assert got["BY"].unique().to_list() == ["Ærøskøbing, Sønderå"]
        assert got["FOERSTE_KONTAKT_DATO"].null_count() > 0
        assert got["MDK"].null_count() > 0


def test_lpr_diagnoses_codes_bad_input(tiny_dir: Path) -> None:
    with pytest.raises(TypeError, match="list of ICD-10 prefixes"):
        lpr_diagnoses(tiny_dir, codes="I50")  # a string would be read letter by letter


def test_inventory_of_generated_data_reads_every_register_file(tiny_dir: Path) -> None:
    from paleval.registers import register_inventory

    inv = register_inventory(tiny_dir)
    assert inv.filter(pl.col("status") == "refused").height == 0
    read = inv.filter(pl.col("status") == "read")
    on_disk = [p for p in tiny_dir.glob("*/*.parquet") if p.parent.name in REGISTERS]
    assert read.height == len(on_disk)
    assert set(inv.filter(pl.col("status") == "ignored")["path"]) >= {"truth.json", "truth/"}


def test_refused_lpr_files_are_an_error_not_an_absent_register(tmp_path: Path) -> None:
    # a typo in the only LPR2 file must not make lpr_contacts read LPR3 alone
    (tmp_path / "lpr_adm2O15.csv").write_text(
        "PNR,RECNUM,C_SGH,C_AFD,C_PATTYPE,C_INDM,D_INDDTO,D_UDDTO,C_ADIAG\n"
        "0101010000,1,9101,011,0,1,2015-01-01,2015-01-03,DC349\n"
    )
    (tmp_path / "lpr_f_kontakter2020.csv").write_text(
        "PNR,DW_EK_KONTAKT,dato_start\n0101010000,K1,2020-03-01\n"
    )
    with pytest.raises(RegisterLoadError, match=r"lpr_adm2O15\.csv: name matches no file"):
        lpr_contacts(tmp_path)


def test_sas_date_format_kinds_are_disjoint_and_cover_extract_formats() -> None:
    from paleval.registers.normalise import (
        SAS_DATE_FORMATS,
        SAS_DATETIME_FORMATS,
        SAS_TIME_FORMATS,
        sas_format_kind,
    )

    assert not SAS_DATE_FORMATS & SAS_DATETIME_FORMATS
    assert not (SAS_DATE_FORMATS | SAS_DATETIME_FORMATS) & SAS_TIME_FORMATS
    dates = ["DATE9.", "DDMMYY10.", "YYMMDD10.", "IS8601DA.", "EURDFDD10.", "NLDATE20."]
    dates += ["WEEKDATE29.", "E8601DA.", "MMDDYY10.", "DDMMYYP10.", "MONYY7."]
    assert [sas_format_kind(f) for f in dates] == ["date"] * len(dates)
    datetimes = ["DTDATE9.", "DATETIME20.", "DATETIME22.3", "E8601DT19.", "DTMONYY7."]
    assert [sas_format_kind(f) for f in datetimes] == ["datetime"] * len(datetimes)
    assert [sas_format_kind(f) for f in ["TIME8.", "HHMM5.", "BEST12.", "$CHAR10.", ""]] == [
        "time",
        "time",
        None,
        None,
        None,
    ]
