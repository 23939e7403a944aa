"""`paleval` arguments: defaults in --help, bad values refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from paleval.cli import build_parser, main


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()


def test_help_shows_the_defaults() -> None:
    text = " ".join(_help("report").split())
    for shown in ("(default: small)", "(default: 2010-01-01)", "(default: 2024-12-31)"):
        assert shown in text
    assert "(default: 5)" in text and "(default: png,svg)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--start", "2010-13-01"], "is not a date"),
        (["--end", "31-12-2024"], "is not a date"),
        (["--formats", "png,gif"], "figure formats are"),
        (["--formats", ""], "figure formats are"),
        (["--jobs", "0"], "must be 1 or more"),
        (["--threshold", "five"], "is not a whole number"),
        (["--start", "2020-01-01", "--end", "2019-12-31"], "is after --end"),
    ],
)
def test_bad_report_arguments_fail_at_once_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    data = tmp_path / "no-data-needed"
    try:
        code = main(["report", "--data", str(data), "--out", str(out), *argv])
    except SystemExit as exc:  # argparse's usage error
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not data.exists()
