"""`paleval validate DATA`: every finding of an extract up front, a summary and an exit code;
bad command lines are one line and exit code 2 (issue 15).

Expected findings are planted by hand (counts chosen here), not taken from the validator.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from paleval.cli import main
from paleval.cohort import END_OF_LIFE_REGISTERS
from paleval.registers import REGISTERS

REQUIRED = sorted({*END_OF_LIFE_REGISTERS, "car"})


def _validate(
    capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path, *extra: str
) -> tuple[int, dict, str]:
    out = tmp_path / "findings.json"
    code = main(["validate", str(data), "--json", str(out), *extra])
    text = capsys.readouterr().out
    return code, json.loads(out.read_text()), text


@pytest.fixture(scope="module")
def tiny_result(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str]:
    out = tmp_path_factory.mktemp("v") / "tiny.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["validate", str(tiny_dir), "--json", str(out)])
    return code, json.loads(out.read_text()), buf.getvalue()


def test_tiny_passes_and_every_delivered_register_is_checked(
    tiny_result: tuple[int, dict, str], tiny_dir: Path
) -> None:
    code, doc, text = tiny_result
    assert code == 0 and doc["ok"] and doc["exit_code"] == 0
    delivered = {p.name for p in tiny_dir.iterdir() if p.is_dir() and p.name in REGISTERS}
    assert set(doc["registers"]) == delivered
    assert set(doc["not_delivered"]) == set(REGISTERS) - delivered
    # the counts, the summary and the listed findings agree with each other
    findings = pl.DataFrame(doc["findings"])
    for sev in ("error", "exclude", "warn"):
        assert doc["counts"][sev] == findings.filter(pl.col("severity") == sev).height
    summary = pl.DataFrame(doc["summary"])
    assert summary["rows"].sum() == findings["n"].sum()
    assert summary["excluded"].sum() == findings.filter(pl.col("severity") == "exclude")["n"].sum()
    # every finding is listed in the text, then the summary table and the verdict
    assert text.count("\n  [") == findings.height
    assert "excluded" in text and text.rstrip().endswith("OK")


def test_strict_counts_warnings(
    tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, text = _validate(capsys, tiny_dir, tmp_path, "--strict")
    assert doc["counts"]["warn"] > 0 and doc["counts"]["error"] == 0
    assert code == 1 and doc["exit_code"] == 1 and not doc["ok"] and doc["strict"]
    assert "NOT OK (--strict" in text


def test_all_registers_are_reported_not_the_first_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "extract"
    (data / "dod").mkdir(parents=True)
    (data / "dod" / "dod.csv").write_text("PNR;DODDATO\n0101010000;2015-01-01\n0202020000;x\n")
    code, doc, text = _validate(capsys, data, tmp_path)
    assert code == 1 and doc["counts"]["error"] == len(REQUIRED)  # 1 date + the missing ones
    f = pl.DataFrame(doc["findings"])
    missing = sorted(f.filter(pl.col("rule") == "register_missing")["register"])
    assert missing == [k for k in REQUIRED if k != "dod"]
    bad = f.filter(pl.col("rule") == "unparseable_date")
    assert bad.select("register", "file", "column", "n").rows() == [
        ("dod", "dod.csv", "DODDATO", 1)
    ]
    assert bad["examples"].to_list() == [["row 2: 'x'"]]
    # optional registers that are absent are named, not errors
    assert set(doc["not_delivered"]) == set(REGISTERS) - set(REQUIRED)
    assert "not delivered (optional for the study)" in text
    assert text.rstrip().endswith("NOT OK")


def test_a_refused_file_in_an_optional_register_does_not_hide_the_others(
    tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A browser-style copy in LPR (a register the study reads when delivered) and a stray copy
    in SOR (one it never reads) are two error findings in one listing, with every other
    register's findings: the first refused file used to end the run with one line."""
    data = tmp_path / "extract"
    shutil.copytree(tiny_dir, data, ignore=shutil.ignore_patterns("truth*"))
    lpr = sorted((data / "lpr_diag").iterdir())[-1]
    shutil.copy(lpr, lpr.with_name(lpr.stem + " (1).parquet"))
    shutil.copy(data / "sor" / "sor.parquet", data / "sor" / "sor_old.parquet")
    code, doc, text = _validate(capsys, data, tmp_path)
    assert code == 1 and doc["counts"]["error"] == 2
    f = pl.DataFrame(doc["findings"]).filter(pl.col("rule") == "file_refused")
    assert sorted(f["register"]) == ["lpr_diag", "sor"]
    assert "lpr_diag" in doc["registers"] and "sor" in doc["registers"]
    assert {"lpr_diag", "sor"}.isdisjoint(doc["not_delivered"])
    # each named once by its path in the extract, not with the register folder doubled
    assert f"file_refused: lpr_diag/{lpr.stem} (1).parquet: n=1" in text
    assert "file_refused: sor/sor_old.parquet: n=1" in text
    # the other registers were still validated: tiny's own findings are all there too
    assert doc["counts"]["exclude"] > 0 and text.rstrip().endswith("NOT OK")


def test_planted_findings_in_a_real_sized_extract(
    tiny_dir: Path,
    tiny_result: tuple[int, dict, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = Path(shutil.copytree(tiny_dir, tmp_path / "extract"))
    # 7 persons without sex in one BEF year (excluded rows) ...
    f = data / "bef" / "bef201512.parquet"
    bef = pl.read_parquet(f)
    bef.with_columns(
        pl.when(pl.int_range(pl.len()) < 7).then(None).otherwise(pl.col("KOEN")).alias("KOEN")
    ).write_parquet(f)
    # ... and one impossible death date in a CSV death register (an error)
    dod = pl.read_parquet(data / "dod" / "dod.parquet").with_columns(
        pl.col("DODDATO").cast(pl.String)
    )
    (data / "dod" / "dod.parquet").unlink()
    dod.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("2015-13-45"))
        .otherwise(pl.col("DODDATO"))
        .alias("DODDATO")
    ).write_csv(data / "dod" / "dod.csv", separator=";")
    code, doc, text = _validate(capsys, data, tmp_path)
    assert code == 1
    summary = pl.DataFrame(doc["summary"])
    rows = summary.select("register", "rule", "severity", "files", "rows", "excluded").rows()
    assert ("dod", "unparseable_date", "error", 1, 1, 0) in rows
    assert ("bef", "null_required", "exclude", 1, 7, 7) in rows
    assert "  [error] unparseable_date: dod/dod.csv column DODDATO: n=1: e.g. row 4:" in text
    # the rest of the extract is still checked: tiny's own findings are all there
    plain = pl.DataFrame(tiny_result[1]["summary"]).filter(pl.col("register") != "dod")
    for r in plain.filter(pl.col("register") != "bef").rows(named=True):
        assert (
            r["register"],
            r["rule"],
            r["severity"],
            r["files"],
            r["rows"],
            r["excluded"],
        ) in rows


def test_json_to_stdout_keeps_the_text_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "extract"
    data.mkdir()
    code = main(["validate", str(data), "--json", "-"])
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert code == 1 and doc["exit_code"] == 1
    assert sorted(set(pl.DataFrame(doc["findings"])["register"])) == REQUIRED
    assert "register_missing" in cap.err


# ------------------------------------------------------------------ bad usage: exit 2, one line
def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_missing_or_wrong_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "does not exist" in err
    (tmp_path / "file.csv").write_text("x")
    assert main(["validate", str(tmp_path / "file.csv")]) == 2
    _one_line(capsys.readouterr().err)
    assert main(["report", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "paleval report: error: data folder" in err
    assert not (tmp_path / "o").exists()


def test_json_naming_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path), "--json", str(tmp_path)]) == 2
    _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--preset", "huge"],
        ["report", "--jobs", "many"],
        ["validate"],
        ["no-such-command"],
        ["report", "--no-such-option"],
    ],
)
def test_parser_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert err.startswith("paleval") and "error:" in err
