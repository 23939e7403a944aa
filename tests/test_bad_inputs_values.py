"""Bad values in register extracts (issue 15, the validation side): implausible dates, invalid
numbers and unknown codes are counted findings, and the rows counted as excluded are exactly
the rows the loaders drop (one exclusion filter).

Every case starts from a small hand-written extract that validates without any finding, plants
one defect and asserts the finding (rule, register, file, column, count), that the counts add
up (rows read = rows kept + rows excluded per rule) and, where it matters, what a study frame
makes of the row. Expected values are written by hand, never computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _badinputs import BEF, DOD, DPD, LPR, SERVICE, SSSY, write_files
from paleval.codes import load_codes
from paleval.registers import scan_register, validate

D = dt.date
PLACE = load_codes("place_of_death")["C_PRAECIS_DODSSTED"][0]
HFAUDD = load_codes("education_hfaudd")["HFAUDD"][0]
UNKNOWN = "ZZ9"  # a code in no list (letters and digits in no code list's pattern)

DODSAASG = (
    "PNR,D_DODSDATO,C_DODTILGRUNDL_ACME,C_DOD_1A,C_DOD_1B,C_DOD_1C,C_DOD_21,C_DOD_22,"
    "C_DODSMAADE,C_DODSSTED,C_PRAECIS_DODSSTED\n"
    f"0101501111,2020-06-01,C349,C349,,,,,5,1,{PLACE}\n"
)
LMDB = (
    "PNR,EKSD,ATC,VNR,APK,PACKSIZE,VOLUME\n"
    "0101501111,2019-04-01,N02AA05,123456,1,20,10\n"
    "0202602222,2019-05-01,C10AA01,234567,2,30,30\n"
)
UDDA = f"PNR,HFAUDD,HF_VFRA\n0101501111,{HFAUDD},1970-06-30\n0202602222,{HFAUDD},1980-06-30\n"
FAIK = "FAMILIE_ID,FAMAEKVIVADISP_13\nF1,250000\nF2,180000\nF3,210000\n"
IND = "PNR,PERINDKIALT_13,DISPON_13\n0101501111,300000,200000\n0202602222,250000,-5000\n"
YDER = "YDERNR,REGIONSKODE,LISTESTOERRELSE\n123456,1084,1500\n"
CAR = "PNR,K_TUMORNR,D_DIAGNOSEDATO,C_ICD10,C_MORFO3\n0101501111,0001,2019-01-10,C349,81403\n"
BASE = {
    "bef/bef201912.csv": BEF,
    "dod/dod.csv": DOD,
    "dodsaasg/dodsaasg.csv": DODSAASG,
    "dpd/dpd.csv": DPD,
    "lpr_adm/lpr_adm2019.csv": LPR,
    "sssy/sssy2019.csv": SSSY,
    "lmdb/lmdb2019.csv": LMDB,
    "udda/udda2019.csv": UDDA,
    "faik/faik2019.csv": FAIK,
    "ind/ind2019.csv": IND,
    "yder/yder.csv": YDER,
    "car/t_tumor.csv": CAR,
}
KEYS = [p.split("/")[0] for p in BASE]
FILE = {p.split("/")[0]: p.split("/")[1] for p in BASE}
# per-row exclude rules: dropped by the loaders (exclusion_filter); the death rules are
# dropped by the decedent cohort, not by the loader of one register
ROW_RULES = {
    "null_required",
    "date_sentinel",
    "date_before_range",
    "date_after_extract_end",
    "end_before_start",
    "dpd_contact_before_referral",
    "honuge_invalid",
    "lpr3_refuted_diagnosis",
}
# per-value rules: the value is made null, the row kept (issue 15); the date rules null the
# value in the nullable date columns outside a register's key (by hand, from the model)
VALUE_RULES = {"negative_value", "number_not_finite"}
VALUE_DATES = {
    ("bef", "REFERENCETID"),
    ("lpr_adm", "D_UDDTO"),
    ("lpr_f_kontakter", "dato_slut"),
    ("dpd", "FOERSTE_KONTAKT_DATO"),
    ("udda", "HF_VFRA"),
}  # not tilknytning.DATO_TIL, plh.FRAFLYT_DATO: an empty end means "still current"


def _nulled(rule: str, key: str, col: str) -> bool:
    return rule in VALUE_RULES or (rule.startswith("date_") and (key, col) in VALUE_DATES)


def _base(d: Path) -> Path:
    return write_files(d, BASE)


def _append(key: str, *lines: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / key / FILE[key]
        p.write_text(p.read_text() + "".join(line + "\n" for line in lines))

    return f


def _edit(key: str, old: str, new: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / key / FILE[key]
        text = p.read_text()
        assert text.count(old) == 1, (key, old)
        p.write_text(text.replace(old, new))

    return f


def _both(*fs: Callable[[Path], None]) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        for g in fs:
            g(d)

    return f


def _faik_parquet(value: float) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        (d / "faik" / "faik2019.csv").unlink()
        pl.DataFrame(
            {"FAMILIE_ID": ["F1", "F2", "F3"], "FAMAEKVIVADISP_13": [250000.0, value, 1.0]}
        ).write_parquet(d / "faik" / "faik2019.parquet")

    return f


def _dpd_sas_days() -> Callable[[Path], None]:
    """DPD as a parquet file with dates as SAS day numbers; a second referral on day 0."""

    def f(d: Path) -> None:
        (d / "dpd" / "dpd.csv").unlink()
        base = pl.read_csv(DPD.encode(), infer_schema_length=0)
        day = (D(2020, 5, 1) - D(1960, 1, 1)).days
        two = pl.concat([base, base.with_columns(PNR=pl.lit("0303703333"))])
        two.with_columns(
            HENV_DATO=pl.Series([day, 0]),
            FOERSTE_KONTAKT_DATO=pl.Series([day + 9, None], dtype=pl.Int64),
        ).write_parquet(d / "dpd" / "dpd.parquet")

    return f


@dataclass
class Case:
    id: str
    mutate: Callable[[Path], None]
    # (rule, register, column) -> n; the file is the register's only file
    findings: dict[tuple[str, str, str], int]
    kept: dict[str, int] | None = None  # register -> rows the loader keeps (exclude=True)


LMDB_ROW = "0303703333,{},N02AA01,345678,1,10,10"
DPD_ROW = "0303703333,98102,hospice,{},own_doctor,0,,andet,0,0"
CASES = [
    # ---- sentinel dates (excluded)
    Case("dpd_referral_1900", _append("dpd", DPD_ROW.format("1900-01-01")),
         {("date_sentinel", "dpd", "HENV_DATO"): 1}, {"dpd": 1}),
    Case("dpd_referral_1899_12_31", _append("dpd", DPD_ROW.format("1899-12-31")),
         {("date_sentinel", "dpd", "HENV_DATO"): 1}, {"dpd": 1}),
    Case("dpd_referral_excel_day_0", _append("dpd", DPD_ROW.format("1899-12-30")),
         {("date_sentinel", "dpd", "HENV_DATO"): 1}, {"dpd": 1}),
    Case("dpd_referral_sas_day_0", _dpd_sas_days(),
         {("date_sentinel", "dpd", "HENV_DATO"): 1}, {"dpd": 1}),
    Case("dpd_contact_1900_not_also_contact_before_referral",
         _edit("dpd", "2020-05-10", "1900-01-01"),
         {("date_sentinel", "dpd", "FOERSTE_KONTAKT_DATO"): 1}, {"dpd": 1}),
    Case("lpr_discharge_9999_12_31", _edit("lpr_adm", "2019-01-12", "9999-12-31"),
         {("date_sentinel", "lpr_adm", "D_UDDTO"): 1}, {"lpr_adm": 2}),
    Case("lmdb_dispensing_2099", _append("lmdb", LMDB_ROW.format("2099-06-30")),
         {("date_sentinel", "lmdb", "EKSD"): 1}, {"lmdb": 2}),
    Case("lmdb_dispensing_1960_sas_zero", _append("lmdb", LMDB_ROW.format("1960-01-01")),
         {("date_sentinel", "lmdb", "EKSD"): 1}, {"lmdb": 2}),
    Case("birth_1960_01_01_is_a_real_day", _edit("bef", "1960-02-02", "1960-01-01"),
         {}, {"bef": 3}),
    Case("dod_1900_01_01", _edit("dod", "2020-06-01", "1900-01-01"),
         {("date_sentinel", "dod", "DODDATO"): 1}, {"dod": 0}),
    # ---- dates outside the plausible range (excluded)
    Case("birth_before_1890", _edit("bef", "1960-02-02", "1885-05-05"),
         {("date_before_range", "bef", "FOED_DAG"): 1}, {"bef": 2}),
    Case("lmdb_before_1994", _append("lmdb", LMDB_ROW.format("1993-12-31")),
         {("date_before_range", "lmdb", "EKSD"): 1}, {"lmdb": 2}),
    Case("lmdb_first_day_1994_kept", _append("lmdb", LMDB_ROW.format("1994-01-01")),
         {}, {"lmdb": 3}),
    Case("lpr_admission_before_1977", _edit("lpr_adm", "2019-03-01,2019-03-01", "1976-12-31,1977-01-02"),
         {("date_before_range", "lpr_adm", "D_INDDTO"): 1}, {"lpr_adm": 1}),
    Case("dpd_referral_2005", _append("dpd", DPD_ROW.format("2005-03-01")),
         {("date_before_range", "dpd", "HENV_DATO"): 1}, {"dpd": 1}),
    Case("death_after_extract_end", _edit("dod", "2020-06-01", "2031-01-01"),
         {("date_after_extract_end", "dod", "DODDATO"): 1}, {"dod": 0}),
    Case("birth_after_extract_end", _edit("bef", "1970-03-03", "2033-03-03"),
         {("date_after_extract_end", "bef", "FOED_DAG"): 1}, {"bef": 2}),
    Case("referral_after_extract_end_2021", _append("dpd", DPD_ROW.format("2021-02-01")),
         {("date_after_extract_end", "dpd", "HENV_DATO"): 1}),
    Case("education_valid_from_after_end_kept", _edit("udda", "1980-06-30", "2030-06-30"),
         {}, {"udda": 2}),
    # ---- deaths (excluded from the decedent cohort)
    Case("death_before_birth", _append("dod", "0303703333,1969-05-01"),
         {("death_before_birth", "dod", "DODDATO"): 1}, {"dod": 2}),
    Case("age_at_death_over_115", _both(_edit("bef", "1960-02-02", "1900-01-02"),
                                        _append("dod", "0202602222,2016-01-05")),
         {("age_over_max", "dod", "DODDATO"): 1}, {"dod": 2}),
    Case("age_at_death_115_kept", _both(_edit("bef", "1960-02-02", "1904-06-01"),
                                        _append("dod", "0202602222,2019-06-01")),
         {}, {"dod": 2}),
    # ---- numbers (the value made null, the row kept)
    Case("income_nan_text", _edit("faik", "F2,180000", "F2,NaN"),
         {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}, {"faik": 3}),
    Case("income_inf_text", _edit("faik", "F2,180000", "F2,inf"),
         {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}, {"faik": 3}),
    Case("income_minus_inf_text", _edit("faik", "F2,180000", "F2,-inf"),
         {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}, {"faik": 3}),
    Case("income_nan_parquet", _faik_parquet(float("nan")),
         {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}, {"faik": 3}),
    Case("income_inf_parquet", _faik_parquet(float("inf")),
         {("number_not_finite", "faik", "FAMAEKVIVADISP_13"): 1}, {"faik": 3}),
    Case("personal_income_nan", _edit("ind", "250000,-5000", "250000,NaN"),
         {("number_not_finite", "ind", "DISPON_13"): 1}, {"ind": 2}),
    Case("negative_disposable_income_kept", _edit("ind", "300000,200000", "300000,-1"),
         {}, {"ind": 2}),
    Case("packages_infinite", _edit("lmdb", "C10AA01,234567,2,", "C10AA01,234567,inf,"),
         {("number_not_finite", "lmdb", "APK"): 1}, {"lmdb": 2}),
    Case("package_size_negative", _edit("lmdb", "1,20,10", "1,-20,10"),
         {("negative_value", "lmdb", "PACKSIZE"): 1}, {"lmdb": 2}),
    Case("fee_nan", _edit("sssy", "145.0", "NaN"),
         {("number_not_finite", "sssy", "BRUHON"): 1}, {"sssy": 1}),
    Case("family_size_negative", _edit("bef", "F2,9,1,", "F2,9,-1,"),
         {("negative_value", "bef", "ANTPERSF"): 1}, {"bef": 3}),
    Case("bed_days_negative", _edit("lpr_adm", "2019-01-12,2,", "2019-01-12,-2,"),
         {("negative_value", "lpr_adm", "V_SENGDAGE"): 1}, {"lpr_adm": 2}),
    Case("list_size_negative", _edit("yder", ",1500", ",-1500"),
         {("negative_value", "yder", "LISTESTOERRELSE"): 1}, {"yder": 1}),
    # ---- codes (counted warnings; normalisation counted)
    Case("place_of_death_unknown", _edit("dodsaasg", f",1,{PLACE}", f",1,{UNKNOWN}"),
         {("code_not_in_list", "dodsaasg", "C_PRAECIS_DODSSTED"): 1}, {"dodsaasg": 1}),
    Case("education_unknown", _edit("udda", f"0202602222,{HFAUDD}", f"0202602222,{UNKNOWN}"),
         {("code_not_in_list", "udda", "HFAUDD"): 1}, {"udda": 2}),
    Case("municipality_unknown", _edit("bef", ",461,", ",999,"),
         {("code_not_in_list", "bef", "KOM"): 1}, {"bef": 3}),
    # gp_services lists the services paleval uses, not all of SSSY's (hundreds): another
    # service code is not a finding (on the national extract it would be 67 million warnings)
    Case("gp_service_not_used_by_paleval", _edit("sssy", f",{SERVICE},", ",809999,"),
         {}, {"sssy": 1}),
    Case("atc_lower_case", _edit("lmdb", "N02AA05", "n02aa05"),
         {("code_normalised", "lmdb", "ATC"): 1}, {"lmdb": 2}),
    Case("atc_not_atc", _edit("lmdb", "C10AA01", "C1-AA01"),
         {("code_shape", "lmdb", "ATC"): 1}, {"lmdb": 2}),
    Case("cause_of_death_with_sks_prefix", _edit("dodsaasg", "C349,C349", "DC349,C349"),
         {("code_normalised", "dodsaasg", "C_DODTILGRUNDL_ACME"): 1}, {"dodsaasg": 1}),
    Case("cause_of_death_chapter_d_is_icd10", _edit("dodsaasg", "C349,C349", "D509,C349"),
         {}, {"dodsaasg": 1}),
    Case("cause_of_death_not_icd10", _edit("dodsaasg", "C349,C349", "12345,C349"),
         {("code_shape", "dodsaasg", "C_DODTILGRUNDL_ACME"): 1}, {"dodsaasg": 1}),
    Case("lpr_diagnosis_not_icd10", _edit("lpr_adm", "DI219", "DXX"),
         {("code_shape", "lpr_adm", "C_ADIAG"): 1}, {"lpr_adm": 2}),
    Case("cancer_site_with_sks_prefix", _edit("car", "C349", "DC349"),
         {("code_normalised", "car", "C_ICD10"): 1}, {"car": 1}),
]  # fmt: skip


def test_base_is_clean(tmp_path: Path) -> None:
    rep = validate(_base(tmp_path), KEYS)
    assert rep.findings.height == 0, repr(rep)
    for key in KEYS:
        assert scan_register(tmp_path, key, strict=True).collect().height > 0


def test_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def _kept(d: Path, key: str) -> int:
    from paleval.registers.validation import exclusion_filter, extract_end_of

    lf = scan_register(d, key)
    keep = exclusion_filter(key, lf.collect_schema().names(), extract_end=extract_end_of(d))
    return lf.filter(keep).collect().height if keep is not None else lf.collect().height


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_value(case: Case, tmp_path: Path) -> None:
    d = _base(tmp_path / "data")
    case.mutate(d)
    rep = validate(d, KEYS)
    got = {
        (r["rule"], r["register"], r["column"]): r["n"] for r in rep.findings.iter_rows(named=True)
    }
    assert got == case.findings, repr(rep)
    for r in rep.findings.iter_rows(named=True):
        assert r["file"].split(".")[0] == FILE[r["register"]].split(".")[0], r
        assert r["examples"], r
    # the counts add up: rows read = rows kept + rows excluded per row rule
    for key in {k for _, k, _ in case.findings} | set(case.kept or {}):
        read = scan_register(d, key).collect().height
        excluded = sum(
            n
            for (rule, reg, col), n in case.findings.items()
            if reg == key and rule in ROW_RULES and not _nulled(rule, reg, col)
        )
        assert read == _kept(d, key) + excluded, (key, read, excluded)
        # a value counted as nulled is null in the loaded frame (one more null per value)
        raw = scan_register(d, key).collect()
        loaded = scan_register(d, key, exclude=True).collect()
        for (rule, reg, col), n in case.findings.items():
            if reg == key and _nulled(rule, reg, col):
                assert rep.findings.filter(pl.col("rule") == rule)["severity"].to_list() == ["null"]
                if loaded.height == raw.height:
                    assert loaded[col].null_count() == raw[col].null_count() + n, (rule, col)
        if case.kept is not None and key in case.kept:
            assert _kept(d, key) == case.kept[key]
            # the loader with exclude=True (extract end: today) drops the same rows here
            assert scan_register(d, key, exclude=True).collect().height == case.kept[key]


def test_extract_end_option_and_default(tmp_path: Path) -> None:
    from paleval.registers.validation import exclusion_filter, extract_end_of

    d = _base(tmp_path)
    _append("dpd", DPD_ROW.format("2020-08-01"))(d)
    # the yearly files are of 2019: the extract runs to the end of 2020
    assert extract_end_of(d) == D(2020, 12, 31)
    assert validate(d, KEYS).n("date_after_extract_end") == 0
    rep = validate(d, KEYS, extract_end="2020-06-30")
    assert rep.n("date_after_extract_end", "dpd", "HENV_DATO") == 1
    lf = scan_register(d, "dpd")
    kept = lf.filter(exclusion_filter("dpd", lf.collect_schema().names(), extract_end="2020-06-30"))
    assert kept.collect()["HENV_DATO"].to_list() == [D(2020, 5, 1)]


def test_stale_manifest_does_not_set_the_extract_end(tmp_path: Path) -> None:
    """The extract's end comes from the files; a manifest that disagrees is a finding."""
    from paleval.registers.validation import extract_end_of

    d = _base(tmp_path)
    # stale: the yearly files are of 2019; DPD and DOD hold a referral and a death of 2020
    (d / "manifest.json").write_text('{"config": {"end_year": 2019}}')
    assert extract_end_of(d) == D(2020, 12, 31)
    rep = validate(d, KEYS)
    # the old code took 2019-12-31 and excluded the 2020 referral, contact and death
    assert rep.n("date_after_extract_end") == 0
    assert rep.n("manifest_disagrees") == 1
    assert (
        "end_year 2019"
        in rep.findings.filter(pl.col("rule") == "manifest_disagrees")["examples"][0][0]
    )
    assert scan_register(d, "dod", exclude=True).collect().height == 1
    # a manifest claiming a later end does not hide a future date; DOD and DPD move the end by
    # at most one year past the yearly files (a death in 2022 is after the end, not the end)
    (d / "manifest.json").write_text('{"config": {"end_year": 2040}}')
    _append("dpd", DPD_ROW.format("2021-02-01"))(d)
    _append("dod", "0202602222,2022-01-05")(d)
    assert extract_end_of(d) == D(2020, 12, 31)
    rep = validate(d, KEYS)
    assert rep.n("date_after_extract_end", "dpd", "HENV_DATO") == 1
    assert rep.n("date_after_extract_end", "dod", "DODDATO") == 1
    assert rep.n("manifest_disagrees") == 1
    assert scan_register(d, "dod", exclude=True).collect()["DODDATO"].to_list() == [D(2020, 6, 1)]
    # a manifest that agrees with the files is no finding
    (d / "manifest.json").write_text('{"config": {"end_year": 2020}}')
    assert validate(d, ["dod"]).n("manifest_disagrees") == 0


def test_income_quartiles_never_hold_invalid_income(tmp_path: Path) -> None:
    """NaN and infinite incomes planted among eight families: counted, in no quartile."""
    from paleval.cohort.decedents import add_income

    d = tmp_path / "faik"
    d.mkdir()
    values = [1.0, 2.0, float("nan"), 3.0, float("inf"), 4.0, float("-inf"), 5.0]
    fams = [f"F{i}" for i in range(len(values))]
    pl.DataFrame({"FAMILIE_ID": fams, "FAMAEKVIVADISP_13": values}).write_parquet(
        d / "faik2019.parquet"
    )
    rep = validate(tmp_path, ["faik"])
    assert rep.n("number_not_finite", "faik", "FAMAEKVIVADISP_13") == 3
    faik = scan_register(tmp_path, "faik", exclude=True)
    cohort = pl.LazyFrame({"_family": fams, "_bef_year": [2019] * 8, "death_year": [2020] * 8})
    out = add_income(cohort, faik).collect()
    # five valid incomes 1..5: quartiles by hand (rank-1)*4//5+1 -> 1,1,2,3,4
    assert out["income_quartile"].to_list() == [1, 1, None, 2, None, 3, None, 4]
    assert out.filter(pl.col("income_quartile").is_null())["income"].null_count() == 3
    # the family's income row stays, its value null: "invalid", not "no_record"
    assert faik.collect().height == 8
    assert out["income_status"].to_list() == ["known", "known", "invalid"] + [
        "known",
        "invalid",
    ] * 2 + ["known"]


# --------------------------------------------------------------------------- properties
_DATE_KIND = st.sampled_from(
    ["ok", "sentinel_1900", "sentinel_9999", "sentinel_2099", "sas_zero", "early", "late", "null"]
)
_DATES = {
    "ok": "2015-06-01",
    "sentinel_1900": "1900-01-01",
    "sentinel_9999": "9999-12-31",
    "sentinel_2099": "2099-01-15",
    "sas_zero": "1960-01-01",
    "early": "2003-02-03",  # before DPD's first plausible date (2009)
    "late": "2031-05-05",  # after the extract's end (and after today)
    "null": "",
}
_RULE_OF = {
    "sentinel_1900": "date_sentinel",
    "sentinel_9999": "date_sentinel",
    "sentinel_2099": "date_sentinel",
    "sas_zero": "date_sentinel",
    "early": "date_before_range",
    "late": "date_after_extract_end",
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(st.tuples(_DATE_KIND, _DATE_KIND, st.booleans()), min_size=1, max_size=12))
def test_dpd_counts_equal_drops(rows: list[tuple[str, str, bool]], tmp_path: Path) -> None:
    """Random DPD rows (referral date, contact date, contact before referral): the counts
    per rule are the rows the expected rules give (worked out here row by row), the loader
    keeps exactly the rows without a row rule, and an implausible contact date is null."""
    d = Path(tempfile.mkdtemp(dir=tmp_path))
    (d / "dpd").mkdir()
    lines = [DPD.splitlines()[0]]
    expected: dict[str, int] = {}
    keep = []
    nulled: set[str] = set()
    for i, (ref, contact, swap) in enumerate(rows):
        ref_s, con_s = _DATES[ref], _DATES[contact]
        if ref == contact == "ok" and swap:
            con_s = "2015-05-01"  # contact a month before the referral
        pnr = f"{i:010d}"
        lines.append(f"{pnr},98102,hospice,{ref_s},own_doctor,1,{con_s},,1,1")
        rules = set()
        if ref == "null":
            rules.add("null_required")
        for kind in (ref, contact):
            if kind in _RULE_OF:
                expected[_RULE_OF[kind]] = expected.get(_RULE_OF[kind], 0) + 1
        if ref in _RULE_OF:  # the referral is DPD's key: the row is dropped
            rules.add(_RULE_OF[ref])
        if contact in _RULE_OF:  # the first contact is one value: made null, row kept
            nulled.add(pnr)
        if ref == "null":
            expected["null_required"] = expected.get("null_required", 0) + 1
        if ref == contact == "ok" and swap:
            expected["dpd_contact_before_referral"] = (
                expected.get("dpd_contact_before_referral", 0) + 1
            )
            rules.add("dpd_contact_before_referral")
        if not rules:
            keep.append(pnr)
    (d / "dpd" / "dpd.csv").write_text("\n".join(lines) + "\n")
    rep = validate(d, ["dpd"], extract_end="2024-12-31")
    found = rep.findings.filter(pl.col("rule") != "cross_check_skipped")  # (no dod, no bef)
    got = {r: n for r, n in found.group_by("rule").agg(pl.col("n").sum()).iter_rows()}
    assert got == expected, repr(rep)
    loaded = scan_register(d, "dpd", exclude=True).collect()
    assert loaded["PNR"].to_list() == keep
    # rows read = rows excluded (each once) + rows kept
    counted = rep.files.select("rows", "excluded", "kept").row(0)
    assert counted == (len(rows), len(rows) - len(keep), len(keep))
    # a contact date counted as implausible is null in the kept row
    contact = dict(zip(loaded["PNR"], loaded["FOERSTE_KONTAKT_DATO"], strict=True))
    assert all(contact[p] is None for p in nulled & set(keep))
    shutil.rmtree(d)


# --------------------------------------------------------------------------- tiny extract
def _rewrite(path: Path, fn: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
    df = fn(pl.read_parquet(path))
    df.write_parquet(path)


@pytest.fixture(scope="module")
def planted(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny extract with violations of every per-row exclude rule on dates and numbers,
    and of the death rules, planted at random (seeded) rows; what was planted, by rule."""
    from paleval.cohort import decedent_cohort
    from paleval.registers import scan_registers

    rng = np.random.default_rng(15)
    d = tmp_path_factory.mktemp("planted") / "data"
    shutil.copytree(tiny_dir, d)
    (d / "manifest.json").unlink(missing_ok=True)  # extract end from the files: 2024-12-31
    dpd = pl.read_parquet(d / "dpd" / "dpd.parquet")
    keys = ["bef", "dod", "dodsaasg", "udda", "faik"]
    adults = decedent_cohort(scan_registers(tiny_dir, keys)).collect()
    # unreferred adult decedents of 2016 or later with cancer, alive at the end of 2015
    persons = adults.filter(
        (pl.col("death_year") >= 2016)
        & pl.col("cancer")
        & ~pl.col("PNR").is_in(dpd["PNR"].implode())
    ).select("PNR", DODDATO=pl.col("death_date"))
    persons = persons[rng.choice(persons.height, size=14, replace=False).tolist()]
    # DPD: referrals before each person's death with implausible dates
    bad_dates = {
        "date_sentinel": [D(1900, 1, 1), D(1899, 12, 31), D(2099, 2, 2), D(1960, 1, 1)],
        "date_before_range": [D(2001, 1, 1), D(1950, 7, 7), D(1889, 1, 1), D(2008, 12, 31)],
        "date_after_extract_end": [D(2031, 1, 1), D(2040, 6, 6), D(2036, 12, 31), D(2033, 3, 3)],
    }
    rows, truth = [], {}
    for i, (rule, dates) in enumerate(bad_dates.items()):
        for j, day in enumerate(dates):
            pnr = persons["PNR"][i * 4 + j]
            rows.append({"PNR": pnr, "HENV_DATO": day, "MODTAGET": 1,
                         "FOERSTE_KONTAKT_DATO": None, "ENHED_TYPE": "hospice"})  # fmt: skip
            truth.setdefault(("dpd", rule), []).append(pnr)
    plant = pl.DataFrame(rows).with_columns(pl.col("MODTAGET").cast(dpd.schema["MODTAGET"]))
    plant = plant.with_columns(pl.col("FOERSTE_KONTAKT_DATO").cast(pl.Date))
    pl.concat([dpd, plant], how="diagonal_relaxed").select(dpd.columns).write_parquet(
        d / "dpd" / "dpd.parquet"
    )
    # FAIK 2015: NaN / inf incomes for the families of six decedents of 2018 (income year 2015)
    fam = pl.read_parquet(d / "bef" / "bef201512.parquet").select("PNR", "FAMILIE_ID")
    in_cohort = adults.filter(pl.col("death_year") == 2018).select("PNR")
    dec18 = in_cohort.join(fam, on="PNR")
    faik = pl.read_parquet(d / "faik" / "faik2015.parquet")
    dec18 = dec18.filter(pl.col("FAMILIE_ID").is_in(faik["FAMILIE_ID"].implode()))
    dec18 = dec18.unique("FAMILIE_ID", keep="first", maintain_order=True)
    fams = dec18["FAMILIE_ID"][rng.choice(dec18.height, size=6, replace=False).tolist()]
    bad = dict(zip(fams, [float("nan"), float("inf"), float("-inf")] * 2, strict=True))
    faik = faik.with_columns(
        FAMAEKVIVADISP_13=pl.when(pl.col("FAMILIE_ID").is_in(list(bad)))
        .then(pl.col("FAMILIE_ID").replace_strict(bad, default=None, return_dtype=pl.Float64))
        .otherwise(pl.col("FAMAEKVIVADISP_13"))
    )
    faik.write_parquet(d / "faik" / "faik2015.parquet")
    n_faik = faik.filter(pl.col("FAMILIE_ID").is_in(list(bad))).height
    truth[("faik", "number_not_finite")] = n_faik
    truth["faik_persons"] = dec18.filter(pl.col("FAMILIE_ID").is_in(list(bad)))["PNR"].to_list()
    # deaths: a birth after death (in every BEF file), and an age of 117
    before, old = persons["PNR"][12], persons["PNR"][13]
    death_of = dict(zip(persons["PNR"], persons["DODDATO"], strict=True))
    births = {
        before: death_of[before] + dt.timedelta(days=30),
        old: D(death_of[old].year - 117, 1, 2),
    }
    for p in sorted((d / "bef").glob("*.parquet")):
        _rewrite(p, lambda df: df.with_columns(
            FOED_DAG=pl.when(pl.col("PNR").is_in(list(births)))
            .then(pl.col("PNR").replace_strict(births, default=None, return_dtype=pl.Date))
            .otherwise(pl.col("FOED_DAG"))))  # fmt: skip
    truth[("dod", "death_before_birth")] = [before]
    truth[("dod", "age_over_max")] = [old]
    return {"dir": d, "truth": truth, "orig": tiny_dir}


def dod_unchanged(planted: dict) -> bool:
    """The planted extract's deaths are the original's (only births were changed)."""
    a = pl.read_parquet(planted["dir"] / "dod" / "dod.parquet")
    return a.equals(pl.read_parquet(planted["orig"] / "dod" / "dod.parquet"))


def test_planted_rows_are_counted_and_absent(planted: dict) -> None:
    from paleval.cohort import decedent_cohort, incident_cancer_cohort
    from paleval.cohort.exposures import add_spc
    from paleval.registers import scan_registers

    d, truth = planted["dir"], planted["truth"]
    rep = validate(d, ["dpd", "faik", "dod", "bef"])
    # (a) validation counts exactly the planted rows under each rule
    for rule in ("date_sentinel", "date_before_range", "date_after_extract_end"):
        assert rep.n(rule, "dpd", "HENV_DATO") == len(truth[("dpd", rule)]), rule
        assert rep.n(rule) == len(truth[("dpd", rule)]), repr(rep)
    assert rep.n("number_not_finite", "faik") == truth[("faik", "number_not_finite")]
    assert rep.n("number_not_finite") == truth[("faik", "number_not_finite")]
    assert dod_unchanged(planted)
    assert rep.n("death_before_birth", "dod") == 1
    assert rep.n("age_over_max", "dod") == 1
    # (b) none of the excluded rows in the loaded frames, no invalid income value ...
    keys = ["bef", "dod", "dodsaasg", "dpd", "udda", "faik", "car"]
    regs = scan_registers(d, keys, exclude=True)
    planted_dpd = [p for r, ps in truth.items() if r[0] == "dpd" for p in ps]
    assert regs["dpd"].filter(pl.col("PNR").is_in(planted_dpd)).collect().height == 0
    assert regs["faik"].filter(~pl.col("FAMAEKVIVADISP_13").is_finite()).collect().height == 0
    # ... nor in the decedent cohort's DPD columns, income quartiles or ages
    cohort = decedent_cohort(regs)
    rows = add_spc(cohort.frame, regs["dpd"]).collect()
    mine = rows.filter(pl.col("PNR").is_in(planted_dpd))
    assert mine.height > 0 and not mine["spc_referred"].any()
    inc = rows.filter(pl.col("PNR").is_in(truth["faik_persons"]))
    assert inc.height == len(truth["faik_persons"]) == 6
    assert inc["income_quartile"].null_count() == inc.height
    assert set(inc["income_status"]) == {"invalid"}  # (before: "no_record", the row gone)
    dead = [*truth[("dod", "death_before_birth")], *truth[("dod", "age_over_max")]]
    assert rows.filter(pl.col("PNR").is_in(dead)).height == 0
    # the flow: the two implausible deaths are their own step, not "aged under 18"
    orig = decedent_cohort(scan_registers(planted["orig"], keys, exclude=True)).flow.table
    flow = cohort.flow.table
    step = flow.filter(pl.col("label").str.contains("implausible death"))
    assert step["excluded"].to_list() == [2]
    under = pl.col("label").str.contains("aged under")
    assert flow.filter(under)["excluded"].item() == orig.filter(under)["excluded"].item()
    # the incident cancer cohort: a referral dated 1900 is not a referral before diagnosis
    inc_orig = incident_cancer_cohort(scan_registers(planted["orig"], keys, exclude=True))
    inc_new = incident_cancer_cohort(regs)
    others = ~pl.col("PNR").is_in(dead)  # (their births were changed)
    new_pnr = inc_new.collect().filter(others)["PNR"].to_list()
    assert new_pnr == inc_orig.collect().filter(others)["PNR"].to_list()
    assert set(planted_dpd) & set(new_pnr)  # planted persons are in it, not excluded


def test_parquet_counts_each_rule_of_a_column(tmp_path: Path) -> None:
    """Parquet files count the date (and code) rules of a column together first; the rules
    found are then counted one by one, a clean column not at all."""
    (tmp_path / "lmdb").mkdir()
    days = [D(2019, 1, 1), D(1900, 1, 1), D(2099, 9, 9), D(1980, 1, 1), D(2031, 1, 1), None]
    atc = ["N02AA01", "n02aa01", "N02 AA01", "X1", "N02AA01", "N02AA01"]
    pl.DataFrame({"PNR": [f"{i:010d}" for i in range(6)], "EKSD": days, "ATC": atc}).write_parquet(
        tmp_path / "lmdb" / "lmdb2019.parquet"
    )
    rep = validate(tmp_path, ["lmdb"], extract_end="2024-12-31")
    found = rep.findings.filter(pl.col("rule") != "cross_check_skipped")  # (no dod, no bef)
    got = {(r["rule"], r["column"]): r["n"] for r in found.iter_rows(named=True)}
    assert got == {
        ("null_required", "EKSD"): 1,
        ("date_sentinel", "EKSD"): 2,
        ("date_before_range", "EKSD"): 1,
        ("date_after_extract_end", "EKSD"): 1,
        ("code_normalised", "ATC"): 2,
        ("code_shape", "ATC"): 1,
        ("column_missing_optional", "VNR"): 1,
        ("column_missing_optional", "APK"): 1,
        ("column_missing_optional", "PACKSIZE"): 1,
        ("column_missing_optional", "VOLUME"): 1,
    }, repr(rep)
    kept = scan_register(tmp_path, "lmdb", exclude=True).collect()["PNR"].to_list()
    # only the first row has a plausible dispensing date (lower-case ATC codes are kept)
    assert kept == ["0000000000"]


# one bad row per exclude rule, by register: (rule, register, column, row with {pnr})
_PLANTS = [
    ("null_required", "lmdb", "EKSD", "{pnr},,N02AA01,111111,1,10,10"),
    ("negative_value", "lmdb", "PACKSIZE", "{pnr},2019-02-02,N02AA01,111111,1,-10,10"),
    ("negative_value", "lpr_adm", "V_SENGDAGE", "{pnr},X{pnr},9101,011,01,0,1,2019-02-02,,-1,DC349"),
    ("negative_value", "bef", "ANTPERSF", "{pnr},1,1950-01-01,101,84,G,F9,1,-2,1,5100,2019-12-31"),
    ("number_not_finite", "lmdb", "APK", "{pnr},2019-02-02,N02AA01,111111,NaN,10,10"),
    ("number_not_finite", "sssy", "BRUHON", f"{{pnr}},1905,123456,80,{SERVICE},1,1,inf"),
    ("number_not_finite", "ind", "DISPON_13", "{pnr},1000,-inf"),
    ("date_sentinel", "lmdb", "EKSD", "{pnr},1900-01-01,N02AA01,111111,1,10,10"),
    ("date_sentinel", "dpd", "HENV_DATO", "{pnr},98102,hospice,9999-12-31,own_doctor,0,,andet,0,0"),
    ("date_before_range", "lmdb", "EKSD", "{pnr},1990-01-01,N02AA01,111111,1,10,10"),
    ("date_before_range", "lpr_adm", "D_INDDTO", "{pnr},X{pnr},9101,011,01,0,1,1970-05-05,,1,DC349"),
    ("date_after_extract_end", "lmdb", "EKSD", "{pnr},2035-01-01,N02AA01,111111,1,10,10"),
    ("date_sentinel", "lpr_adm", "D_UDDTO", "{pnr},X{pnr},9101,011,01,0,1,2019-02-02,1900-01-01,1,DC349"),
    ("date_before_range", "dpd", "FOERSTE_KONTAKT_DATO",
     "{pnr},98102,hospice,2019-05-10,own_doctor,1,2003-05-01,,1,1"),
    ("end_before_start", "lpr_adm", "D_UDDTO",
     "{pnr},X{pnr},9101,011,01,0,1,2019-05-10,2019-05-01,1,DC349"),
    ("dpd_contact_before_referral", "dpd", "FOERSTE_KONTAKT_DATO",
     "{pnr},98102,hospice,2019-05-10,own_doctor,1,2019-05-01,,1,1"),
    ("honuge_invalid", "sssy", "HONUGE", f"{{pnr}},1954,123456,80,{SERVICE},1,1,100"),
    ("lpr3_refuted_diagnosis", "lpr_f_diagnoser", "senere_afkraeftet", "K{pnr},DC349,A,Ja"),
]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_exclude_rule_counted_and_dropped(seed: int, tmp_path: Path) -> None:
    """Seeded random plants of every per-row exclude rule and per-value null rule (1-4 rows
    each, random order among the good rows): validation counts exactly the planted rows under
    each rule; a row counted as excluded is in none of the frames the loaders return with
    exclude=True, and a value counted as nulled is null there (its row kept)."""
    rng = np.random.default_rng(seed)
    d = _base(tmp_path)
    (d / "lpr_f_diagnoser").mkdir()
    lpr3 = "DW_EK_KONTAKT,diagnosekode,diagnosetype,senere_afkraeftet\nK1,DC349,A,Nej\n"
    (d / "lpr_f_diagnoser" / "lpr_f_diagnoser2019.csv").write_text(lpr3)
    files = FILE | {"lpr_f_diagnoser": "lpr_f_diagnoser2019.csv"}
    expected: dict[tuple[str, str, str], int] = {}
    marks: dict[str, list[str]] = {}
    value_marks: dict[tuple[str, str], list[str]] = {}
    lines: dict[str, list[str]] = {}
    serial = 0
    for rule, key, col, row in _PLANTS:
        for _ in range(int(rng.integers(1, 5))):
            serial += 1
            pnr = f"99{serial:08d}"
            lines.setdefault(key, []).append(row.format(pnr=pnr))
            if _nulled(rule, key, col):
                value_marks.setdefault((key, col), []).append(pnr)
            else:
                marks.setdefault(key, []).append(pnr)
            expected[(rule, key, col)] = expected.get((rule, key, col), 0) + 1
    for key, new in lines.items():
        p = d / key / files[key]
        head, *body = p.read_text().splitlines()
        rows = body + new
        order = rng.permutation(len(rows))
        p.write_text("\n".join([head, *(rows[i] for i in order)]) + "\n")
    keys = [*KEYS, "lpr_f_diagnoser"]
    rep = validate(d, keys)
    found = rep.findings.filter(pl.col("severity").is_in(["exclude", "null"]))
    got = {(r["rule"], r["register"], r["column"]): r["n"] for r in found.iter_rows(named=True)}
    assert got == expected, repr(rep)
    for r in found.iter_rows(named=True):
        assert (r["severity"] == "null") == _nulled(r["rule"], r["register"], r["column"]), r
    for key, pnrs in marks.items():
        lf = scan_register(d, key, exclude=True)
        ident = "DW_EK_KONTAKT" if key == "lpr_f_diagnoser" else "PNR"
        loaded = lf.with_columns(pl.col(ident).str.strip_prefix("K")).collect()
        # a row counted as excluded is absent ...
        assert not set(loaded[ident]) & set(pnrs), key
        read = scan_register(d, key).collect().height
        nulled_rows = [p for (k, _), ps in value_marks.items() if k == key for p in ps]
        assert read == loaded.height + len(pnrs), key
        # ... and a value counted as nulled is null in its (kept) row
        for (k, col), ps in value_marks.items():
            if k == key:
                mine = loaded.filter(pl.col(ident).is_in(ps))
                assert mine.height == len(ps) and mine[col].null_count() == len(ps), (k, col)
        assert set(nulled_rows) <= set(loaded[ident]), key


def test_incident_cohort_ignores_a_death_before_birth() -> None:
    """A death record dated before birth (excluded by validation) does not make a cancer
    patient 'died before the diagnosis date', and is no competing event."""
    from paleval.cohort import incident_cancer_cohort

    regs = {
        "car": pl.LazyFrame({"PNR": ["a", "b"], "D_DIAGNOSEDATO": [D(2015, 1, 1)] * 2,
                             "C_ICD10": ["C341", "C509"]}),
        "bef": pl.LazyFrame({"PNR": ["a", "b"], "year": [2014, 2014],
            "FOED_DAG": [D(1950, 1, 1)] * 2, "KOEN": [1, 2], "KOM": ["101"] * 2,
            "REG": ["84"] * 2, "CIVST": ["G"] * 2, "FAMILIE_ID": ["a", "b"],
            "ANTPERSF": [2, 2], "IE_TYPE": [1, 1]}),
        "dod": pl.LazyFrame({"PNR": ["a", "b"], "DODDATO": [D(1949, 3, 1), D(2015, 6, 1)]}),
        "dpd": pl.LazyFrame({"PNR": ["x"], "HENV_DATO": [D(2015, 5, 1)]}),
        "udda": pl.LazyFrame({"PNR": ["a"], "year": [2014], "HFAUDD": [HFAUDD]}),
    }  # fmt: skip
    c = incident_cancer_cohort(regs, end="2015-12-31")
    rows = c.collect().select("PNR", "death_date", "event_label").rows()
    # a: no plausible death, followed to the end (censored); b: died 2015-06-01
    assert rows == [("a", None, "censored"), ("b", D(2015, 6, 1), "death")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="DdCcIiXx0123456789 .-", max_size=8), min_size=1, max_size=30))
def test_icd10_shape_is_the_shape_after_normalisation(codes: list[str]) -> None:
    """code_shape's one regular expression on the raw value agrees with the definition: the
    code normalised (upper case, no spaces/dots/dashes, SKS 'D' stripped) is a letter, two
    digits and optional subdivisions."""
    from paleval.registers import normalise_icd10
    from paleval.registers.validation import ICD10_SHAPE

    df = pl.DataFrame({"c": codes})
    norm = normalise_icd10("c", strip_d_prefix=True)
    out = df.select(
        fast=pl.col("c").str.contains(ICD10_SHAPE),
        ref=norm.str.contains(r"^[A-Z][0-9]{2}[0-9A-Z]*$"),
        empty=norm.is_null(),
    )
    checked = out.filter(~pl.col("empty"))
    assert checked["fast"].to_list() == checked["ref"].to_list()
