"""Validation of register extracts: the tiny synthetic data and one-defect bad inputs."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from _badinputs import BEF, DOD, DPD, LPR, SSSY, write_files
from paleval.registers import REGISTERS
from paleval.registers.loading import RegisterLoadError, lpr_contacts, scan_register
from paleval.registers.validation import (
    RULES,
    RegisterValidationError,
    ValidationReport,
    rules_markdown,
    rules_table,
    validate,
)

# --------------------------------------------------------------------------- tiny data


@pytest.fixture(scope="session")
def tiny_report(tiny_dir: Path) -> ValidationReport:
    return validate(tiny_dir)


def test_tiny_validates_without_errors(tiny_report: ValidationReport) -> None:
    assert tiny_report.ok, repr(tiny_report)
    tiny_report.raise_if_errors()
    assert set(tiny_report.findings["severity"]) <= {"exclude", "warn"}


def test_tiny_findings_match_injected_defects(
    tiny_dir: Path, tiny_report: ValidationReport
) -> None:
    defects = json.loads((tiny_dir / "truth.json").read_text())["defects"]
    rep = tiny_report
    assert rep.n("event_after_death", "dpd") == defects["dpd_referral_after_death"]
    assert rep.n("diagnosis_not_normalised") == defects["diagnosis_code_lowercase"]
    assert rep.n("lpr_duplicate_contact", "lpr_adm") >= defects["lpr2_duplicate_admissions"]
    assert rep.n("lpr_duplicate_contact", "lpr_f_kontakter") >= defects["lpr3_duplicate_contacts"]
    # only planted defects are found: no other event after death, nothing before birth; GP
    # services paid in a week after death (the generator's payment lag of 1-8 weeks, counted by
    # the generator) are a payment lag, reported apart and kept
    lag = json.loads((tiny_dir / "truth.json").read_text())["realism"]["sssy_payment_lag"]
    paid_after = lag["sssy_rows_paid_in_a_week_after_death"]
    assert paid_after > 0
    assert rep.n("sssy_paid_after_death", "sssy") == paid_after
    assert rep.n("event_after_death") == defects["dpd_referral_after_death"]
    assert rep.n("event_before_birth") == 0
    assert rep.n("lpr3_refuted_diagnosis") > 0
    assert set(rep.findings["rule"]) <= {r.id for r in RULES}


def test_tiny_examples_hide_pnr_unless_debug(tiny_dir: Path, tmp_path: Path) -> None:
    # one DPD referral dated 10 days after a death, planted by hand in a copy of tiny
    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    dpd = pl.read_parquet(data / "dpd" / "dpd.parquet")
    dod = pl.read_parquet(next((data / "dod").glob("*.parquet")))
    dead = dod.filter(~pl.col("PNR").is_in(dpd["PNR"].implode())).row(0, named=True)
    late = dpd.head(1).with_columns(
        PNR=pl.lit(dead["PNR"]),
        HENV_DATO=pl.lit(dead["DODDATO"] + dt.timedelta(days=10)),
        FOERSTE_KONTAKT_DATO=pl.lit(None, dtype=dpd.schema["FOERSTE_KONTAKT_DATO"]),
    )
    base = validate(data, ["dpd"]).n("event_after_death")
    dpd = pl.concat([dpd, late])
    dpd.write_parquet(data / "dpd" / "dpd.parquet")
    tiny_dir = data
    rep = validate(tiny_dir, ["dpd", "dod", "bef"])
    ex = rep.findings.filter(pl.col("rule") == "event_after_death")["examples"][0].to_list()
    assert ex and all(re.fullmatch(r"row \d+", e) for e in ex)
    dbg = validate(tiny_dir, ["dpd", "dod", "bef"], debug=True)
    ex = dbg.findings.filter(pl.col("rule") == "event_after_death")["examples"][0].to_list()
    row = int(ex[0].split(":")[0].removeprefix("row "))
    assert dpd["PNR"][row - 1] in ex[0]
    # dod and bef outside ``keys`` are still used for the cross-register checks
    assert validate(tiny_dir, ["dpd"]).n("event_after_death") == base + 1


def test_missing_data_dir_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    rep = validate(tmp_path / "nowhere")
    assert rep.n("register_missing") == len(REGISTERS)
    assert not rep.ok


def test_rules_table_is_the_single_source() -> None:
    t = rules_table()
    assert t["id"].is_unique().all()
    assert set(t["severity"]) == {"error", "exclude", "null", "warn"}
    md = rules_markdown()
    assert all(f"`{r.id}`" in md for r in RULES)


# --------------------------------------------------------------------------- bad inputs
BASE = {
    "bef/bef201912.csv": BEF,
    "dod/dod.csv": DOD,
    "dpd/dpd.csv": DPD,
    "lpr_adm/lpr_adm2019.csv": LPR,
    "sssy/sssy2019.csv": SSSY,
}
KEYS = ["bef", "dod", "dpd", "lpr_adm", "sssy"]


def _edit(rel: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        text = p.read_text()
        assert old in text, (rel, old)
        p.write_text(text.replace(old, new, count))

    return f


def _append(rel: str, line: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        p.write_text(p.read_text() + line + "\n")

    return f


def _write_bytes(rel: str, data: bytes, remove: str | None = None) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        if remove:
            (d / remove).unlink()
        (d / rel).write_bytes(data)

    return f


def _parquet(rel: str, frame: pl.DataFrame, remove: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        (d / remove).unlink()
        frame.write_parquet(d / rel)

    return f


def _remove_dir(name: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        for p in (d / name).iterdir():
            p.unlink()
        (d / name).rmdir()

    return f


@dataclass
class Case:
    id: str
    mutate: Callable[[Path], None]
    findings: dict[tuple[str, str, str | None], int]  # (rule, register, column) -> n
    raises: tuple[str, list[str]] | None = None  # (register key, message parts)
    check: Callable[[Path], None] | None = None
    extra: list[Callable[[Path], None]] = field(default_factory=list)


def _loaded(key: str, col: str, expected: object, **kw: object) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        df = scan_register(d, key, **kw).collect()  # type: ignore[arg-type]
        assert df[col].to_list()[: len(expected)] == expected  # type: ignore[arg-type]
        assert df.columns[: len(REGISTERS[key].columns)] == REGISTERS[key].columns

    return f


def _lpr_action(d: Path) -> None:
    assert lpr_contacts(d).collect()["action_diagnosis"].to_list() == ["DC349", "DI219"]


def _declared_drops_extra(d: Path) -> None:
    assert scan_register(d, "dod").collect().columns == ["PNR", "DODDATO", "NOTE"]
    assert scan_register(d, "dod", columns="declared").collect().columns == ["PNR", "DODDATO"]


def _empty_load(d: Path) -> None:
    assert scan_register(d, "dod").collect().height == 0


def _latin1_load(d: Path) -> None:
    assert scan_register(d, "dod").collect()["BY"].to_list() == ["Ærø Søby Åbenrå"]


_BOM = b"\xef\xbb\xbf" + DOD.encode()
_LATIN = "PNR;DODDATO;BY\n0101501111;01-06-2020;Ærø Søby Åbenrå\n".encode("latin-1")
_DOD_FRAME = pl.DataFrame({"PNR": [101501111], "DODDATO": ["2020-06-01"]})
_BEF_NUMKOM = pl.read_csv(BEF.encode(), infer_schema=False).with_columns(
    pl.col("KOM").cast(pl.Int64)
)

CASES = [
    Case(
        "missing_folder",
        _remove_dir("dpd"),
        {("register_missing", "dpd", None): 1},
        raises=("dpd", ["no file named like dpd.parquet"]),
    ),
    Case(
        "missing_required_column",
        _edit("dod/dod.csv", "PNR,DODDATO\n0101501111,", "DODDATO\n"),
        {
            ("column_missing", "dod", "PNR"): 1,
            ("cross_check_skipped", "dpd", "HENV_DATO"): 1,
            ("cross_check_skipped", "lpr_adm", "D_INDDTO"): 1,
            ("cross_check_skipped", "sssy", "HONUGE"): 1,
        },
        raises=("dod", ["dod.csv", "'PNR'", "required column"]),
    ),
    Case(
        "misspelled_column",
        _edit("lpr_adm/lpr_adm2019.csv", "D_INDDTO", "D_INDTO"),
        {("column_missing", "lpr_adm", "D_INDDTO"): 1, ("column_extra", "lpr_adm", "D_INDTO"): 1},
        raises=("lpr_adm", ["lpr_adm2019.csv", "'D_INDDTO'"]),
    ),
    Case(
        "wrong_case_columns",
        _edit(
            "dpd/dpd.csv", "PNR,ENHED_ID,ENHED_TYPE,HENV_DATO", "pnr,enhed_id,Enhed_Type,henv_dato"
        ),
        {},
        check=_loaded("dpd", "HENV_DATO", [__import__("datetime").date(2020, 5, 1)]),
    ),
    Case(
        "unparseable_date",
        _edit("bef/bef201912.csv", "1960-02-02", "1960-13-45"),
        {("unparseable_date", "bef", "FOED_DAG"): 1, ("null_required", "bef", "FOED_DAG"): 0},
        raises=("bef:strict", ["bef201912.csv", "'FOED_DAG'", "1 value(s)", "row 2: '1960-13-45'"]),
    ),
    Case(
        "sas_style_dates",
        _edit("dod/dod.csv", "2020-06-01", "01JUN2020"),
        {},
        check=_loaded("dod", "DODDATO", [__import__("datetime").date(2020, 6, 1)]),
    ),
    Case(
        "sas_datetime_and_ddmmyyyy",
        _edit(
            "dpd/dpd.csv",
            "2020-05-01,own_doctor,1,2020-05-10",
            "01MAY2020:00:00:00,own_doctor,1,10-05-2020",
        ),
        {},
        check=_loaded("dpd", "FOERSTE_KONTAKT_DATO", [__import__("datetime").date(2020, 5, 10)]),
    ),
    Case(
        "department_leading_zero_lost",
        _edit("lpr_adm/lpr_adm2019.csv", "9101,011,01,2", "9101,11,01,2"),
        {("code_width", "lpr_adm", "C_AFD"): 1},
    ),
    Case(
        "kom_delivered_as_number",
        _parquet("bef/bef201912.parquet", _BEF_NUMKOM, remove="bef/bef201912.csv"),
        {("code_as_number", "bef", "KOM"): 3},
        check=_loaded("bef", "KOM", ["101", "751", "461"]),
    ),
    Case(
        "code_outside_list_nullable",
        _edit("bef/bef201912.csv", ",U,F2", ",X,F2"),
        {("code_outside_list", "bef", "CIVST"): 1},
    ),
    Case(
        "code_outside_list_required",
        _edit("bef/bef201912.csv", "0202602222,2,", "0202602222,3,"),
        {("code_outside_list_required", "bef", "KOEN"): 1},
    ),
    Case(
        "code_case_is_normalised",
        _edit("dpd/dpd.csv", ",hospice,", ",Hospice,"),
        {},
        check=_loaded("dpd", "ENHED_TYPE", ["hospice"]),
    ),
    Case(
        "duplicate_key_bef",
        _append("bef/bef201912.csv", "0303703333,1,1970-03-03,461,83,E,F3,9,1,2,5120,2019-12-31"),
        {("duplicate_key", "bef", "PNR"): 1},
    ),
    Case(
        "event_after_death",
        _append(
            "lpr_adm/lpr_adm2019.csv", "0101501111,R3,9101,011,01,2,2,2020-07-01,2020-07-01,0,DC349"
        ),
        {("event_after_death", "lpr_adm", "D_INDDTO"): 1},
    ),
    Case(
        "event_before_birth",
        lambda d: (  # born 1990, admitted 1985 (within LPR's range from 1977)
            _append(
                "bef/bef201912.csv", "0404904444,2,1990-04-04,101,84,U,F4,9,1,1,5100,2019-12-31"
            )(d),
            _append(
                "lpr_adm/lpr_adm2019.csv",
                "0404904444,R3,9101,011,01,2,2,1985-01-01,1985-01-01,0,DC349",
            )(d),
        ),
        {("event_before_birth", "lpr_adm", "D_INDDTO"): 1},
    ),
    Case(  # paid 17 weeks after the death on 2020-06-01: beyond any payment lag
        "sssy_week_after_death",
        _edit("sssy/sssy2019.csv", ",1905,", ",2040,"),
        {("event_after_death", "sssy", "HONUGE"): 1},
    ),
    Case(  # paid 4 weeks after death (week 2027 starts 2020-06-29): a payment lag, kept
        "sssy_paid_after_death",
        _edit("sssy/sssy2019.csv", ",1905,", ",2027,"),
        {("sssy_paid_after_death", "sssy", "HONUGE"): 1},
    ),
    Case(  # the last day of the payment lag: week 2031 starts 2020-07-27 = death + 8 weeks
        "sssy_paid_at_the_end_of_the_lag",
        _edit("sssy/sssy2019.csv", ",1905,", ",2031,"),
        {("sssy_paid_after_death", "sssy", "HONUGE"): 1},
    ),
    Case(  # a day later is not a lag: week 2032 starts 2020-08-03
        "sssy_paid_after_the_lag",
        _edit("sssy/sssy2019.csv", ",1905,", ",2032,"),
        {("event_after_death", "sssy", "HONUGE"): 1},
    ),
    Case(
        "dpd_contact_before_referral",
        _edit("dpd/dpd.csv", "2020-05-10", "2020-04-10"),
        {("dpd_contact_before_referral", "dpd", "FOERSTE_KONTAKT_DATO"): 1},
    ),
    Case(
        "latin1_with_danish_letters",
        _write_bytes("dod/dod.csv", _LATIN),
        {("column_extra", "dod", "BY"): 1},
        check=_latin1_load,
    ),
    Case(
        "semicolon_csv",
        _edit("lpr_adm/lpr_adm2019.csv", ",", ";", count=-1),
        {},
        check=_loaded("lpr_adm", "C_AFD", ["011", "011"]),
    ),
    Case(
        "utf8_bom",
        _write_bytes("dod/dod.csv", _BOM),
        {},
        check=_loaded("dod", "PNR", ["0101501111"]),
    ),
    Case(
        "empty_file",
        _write_bytes("dod/dod.csv", b""),
        {
            ("file_unreadable", "dod", None): 1,
            ("cross_check_skipped", "dpd", "HENV_DATO"): 1,
            ("cross_check_skipped", "lpr_adm", "D_INDDTO"): 1,
            ("cross_check_skipped", "sssy", "HONUGE"): 1,
        },
        raises=("dod", ["dod.csv", "empty (0 bytes)"]),
    ),
    Case(
        "header_only",
        _write_bytes("dod/dod.csv", b"PNR,DODDATO\n"),
        {("no_rows", "dod", None): 1},
        check=_empty_load,
    ),
    Case(
        "extra_column",
        _write_bytes("dod/dod.csv", b"PNR,DODDATO,NOTE\n0101501111,2020-06-01,x\n"),
        {("column_extra", "dod", "NOTE"): 1},
        check=_declared_drops_extra,
    ),
    Case(
        "missing_optional_column",
        _write_bytes(
            "sssy/sssy2019.csv", SSSY.replace(",BRUHON", "").replace(",145.0", "").encode()
        ),
        {("column_missing_optional", "sssy", "BRUHON"): 1},
        check=_loaded("sssy", "BRUHON", [None]),
    ),
    Case(
        "null_pnr",
        _append("dod/dod.csv", ",2020-01-01"),
        {("null_required", "dod", "PNR"): 1},
    ),
    Case(
        "numeric_pnr_column",
        _parquet("dod/dod.parquet", _DOD_FRAME, remove="dod/dod.csv"),
        {("code_as_number", "dod", "PNR"): 1},
        check=_loaded("dod", "PNR", ["0101501111"]),
    ),
    Case(
        "pnr_wrong_width",  # a lost leading zero: zero-padded like a numeric PNR (h15)
        _edit("dod/dod.csv", "0101501111", "101501111"),
        {("code_normalised", "dod", "PNR"): 1},
        check=_loaded("dod", "PNR", ["0101501111"]),
    ),
    Case(
        "pnr_eleven_characters",
        _edit("dod/dod.csv", "0101501111", "01015011112"),
        {("code_width", "dod", "PNR"): 1},
    ),
    Case(
        "negative_bed_days",
        _edit("lpr_adm/lpr_adm2019.csv", "2019-01-12,2,", "2019-01-12,-2,"),
        {("negative_value", "lpr_adm", "V_SENGDAGE"): 1},
    ),
    Case(
        "end_before_start",
        _edit("lpr_adm/lpr_adm2019.csv", "2019-01-12", "2019-01-02"),
        {("end_before_start", "lpr_adm", "D_UDDTO"): 1},
    ),
    Case(
        "honuge_malformed",
        _edit("sssy/sssy2019.csv", ",1905,", ",1953x,"),
        {("honuge_invalid", "sssy", "HONUGE"): 1},
    ),
    Case(
        "honuge_week_54",
        _edit("sssy/sssy2019.csv", ",1905,", ",1954,"),
        {("honuge_invalid", "sssy", "HONUGE"): 1},
    ),
    Case(
        "honuge_week_53_in_52_week_year",
        _edit("sssy/sssy2019.csv", ",1905,", ",1953,"),
        {("honuge_invalid", "sssy", "HONUGE"): 1},
    ),
    Case(
        "unparseable_integer",
        _edit("bef/bef201912.csv", "0202602222,2,", "0202602222,K,"),
        {("unparseable_value", "bef", "KOEN"): 1},
        raises=("bef:strict", ["'KOEN'", "1 value(s)", "Int64", "'K'"]),
    ),
    Case(
        "ragged_csv_line",
        _edit("sssy/sssy2019.csv", ",145.0", ",145.0,extra"),
        {("file_unreadable", "sssy", None): 1},
        raises=("sssy:strict", ["sssy2019.csv", "cannot read the csv file", "more fields"]),
    ),
    Case(
        "ragged_dod_skips_death_checks",
        _append("dod/dod.csv", "0202602222,2021-01-01,oops"),
        {
            ("file_unreadable", "dod", None): 1,
            ("cross_check_skipped", "dpd", "HENV_DATO"): 1,
            ("cross_check_skipped", "lpr_adm", "D_INDDTO"): 1,
            ("cross_check_skipped", "sssy", "HONUGE"): 1,
        },
        raises=("dod:strict", ["dod.csv", "cannot read the csv file"]),
    ),
    Case(
        "decimal_comma_float",
        _write_bytes(
            "sssy/sssy2019.csv", SSSY.replace(",", ";").replace("145.0", "145,5").encode()
        ),
        {},
        check=_loaded("sssy", "BRUHON", [145.5]),
    ),
    Case(
        "lowercase_diagnosis",
        _edit("lpr_adm/lpr_adm2019.csv", ",DC349", ",dc34.9"),
        {("diagnosis_not_normalised", "lpr_adm", "C_ADIAG"): 1},
        check=_lpr_action,
    ),
    Case(
        "ambiguous_columns",
        _write_bytes("dod/dod.csv", b"Pnr,pnr,DODDATO\n0101501111,0101501111,2020-06-01\n"),
        {
            ("column_ambiguous", "dod", "PNR"): 2,
            ("cross_check_skipped", "dpd", "HENV_DATO"): 1,
            ("cross_check_skipped", "lpr_adm", "D_INDDTO"): 1,
            ("cross_check_skipped", "sssy", "HONUGE"): 1,
        },
        raises=("dod", ["dod.csv", "'PNR'", "several columns"]),
    ),
    Case(
        "corrupt_parquet",
        _write_bytes("dod/dod.parquet", b"PAR1 this is not parquet", remove="dod/dod.csv"),
        {
            ("file_unreadable", "dod", None): 1,
            ("cross_check_skipped", "dpd", "HENV_DATO"): 1,
            ("cross_check_skipped", "lpr_adm", "D_INDDTO"): 1,
            ("cross_check_skipped", "sssy", "HONUGE"): 1,
        },
        raises=("dod", ["dod.parquet", "cannot read the parquet file"]),
    ),
    Case(
        "files_directly_in_data_dir",
        _write_bytes(
            "lpr_adm2020.csv",
            LPR.replace("2019-", "2020-")
            .replace("R1", "R9")
            .replace("R2", "R8")
            .replace("0101501111", "0202602222")
            .encode(),
        ),
        {},
        check=lambda d: assert_len(scan_register(d, "lpr_adm").collect(), 4),
    ),
]


def assert_len(df: pl.DataFrame, n: int) -> None:
    assert df.height == n


def _base(d: Path) -> Path:
    return write_files(d, BASE)


def test_base_set_is_clean(tmp_path: Path) -> None:
    rep = validate(_base(tmp_path), KEYS)
    assert rep.findings.height == 0, repr(rep)
    for key in KEYS:
        scan_register(tmp_path, key, strict=True).collect()


def test_enough_bad_input_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    d = _base(tmp_path / "data")
    case.mutate(d)
    rep = validate(d, KEYS, cache_dir=tmp_path / "cache")
    got = {
        (r["rule"], r["register"], r["column"]): r["n"] for r in rep.findings.iter_rows(named=True)
    }
    expected = {k: n for k, n in case.findings.items() if n > 0}
    assert got == expected, repr(rep)
    for rule, register, _column in expected:
        row = rep.findings.filter((pl.col("rule") == rule) & (pl.col("register") == register)).row(
            0, named=True
        )
        if row["file"] is not None and rule != "cross_check_skipped":
            assert row["file"].split(".")[0] in {Path(p).stem for p in BASE} | {
                f"{register}2019",
                "bef201912",
                "lpr_adm2019",
            }
    severities = set(rep.findings["severity"])
    assert rep.ok == ("error" not in severities)
    if case.raises is not None:
        key, parts = case.raises
        strict = key.endswith(":strict")
        key = key.removesuffix(":strict")
        with pytest.raises(RegisterLoadError) as exc:
            scan_register(d, key, strict=strict, cache_dir=tmp_path / "cache").collect()
        for part in parts:
            assert part in str(exc.value), (part, str(exc.value))
        assert not rep.ok
        with pytest.raises(RegisterValidationError) as verr:
            rep.raise_if_errors()
        assert "validation error(s)" in str(verr.value)
    if case.check is not None:
        case.check(d)


def test_report_repr_and_html(tmp_path: Path) -> None:
    d = _base(tmp_path)
    _edit("bef/bef201912.csv", "1960-02-02", "1960-13-45")(d)
    _edit("dpd/dpd.csv", "2020-05-10", "2020-04-10")(d)
    rep = validate(d, KEYS)
    text = repr(rep)
    assert "NOT OK" in text and "unparseable_date" in text and "bef201912.csv" in text
    assert text.index("[error]") < text.index("[exclude]")
    html = rep._repr_html_()
    assert html.startswith("<p><b>ValidationReport") and "<table>" in html
    assert "1960-13-45" in html
    with pytest.raises(RegisterValidationError, match=r"(?s)1 validation error.*FOED_DAG.*n=1"):
        rep.raise_if_errors()


def test_exclude_rules_drop_exactly_what_validation_counts(tmp_path: Path) -> None:
    d = tmp_path / "data"
    (d / "dpd").mkdir(parents=True)
    (d / "dpd" / "dpd.csv").write_text(
        "PNR;HENV_DATO;MODTAGET;FOERSTE_KONTAKT_DATO;ENHED_TYPE\n"
        "0101011000;2020-01-05;1;2020-01-09;hospice\n"
        "0101011001;2020-01-05;1;2020-01-01;hospice\n"  # contact before referral
        ";2020-01-05;0;;\n"  # PNR missing (required)
        "0101011002;2020-01-05;0;;\n"
    )
    from paleval.registers import scan_register, validate

    rep = validate(d, ["dpd"])
    assert rep.n("dpd_contact_before_referral") == 1 and rep.n("null_required") == 1
    raw = scan_register(d, "dpd").collect()
    kept = scan_register(d, "dpd", exclude=True).collect()
    assert raw.height == 4 and kept.height == 2
    assert kept["PNR"].to_list() == ["0101011000", "0101011002"]
