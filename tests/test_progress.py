"""Progress bars on long steps (issue 17): synthesis, validation, the study build and the CLI.

The switch: ``progress=True/False`` wins; ``None`` is ``PALEVAL_PROGRESS`` (``1``/``0``) when
set, else on for a terminal or a Jupyter kernel and off otherwise (pytest captures standard
error, so automatic means off here). Bars go to standard error only and change no result. The
report's notebooks are checked in ``tests/test_report.py``.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import types
from pathlib import Path

import pytest

from paleval._progress import PROGRESS_ENV, Steps, in_notebook, progress_enabled
from paleval.cli import build_parser, main
from paleval.registers import validate
from paleval.report.study import STUDY_STEPS, load_study
from paleval.synth import SynthConfig, generate

BAR = "%|"  # what every text bar line holds ("validation:  50%|█████     | 1/2 ...")


@pytest.fixture(autouse=True)
def _no_progress_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)


CFG = SynthConfig(n_persons=2000, seed=3)


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 synthetic persons (a few seconds), written without progress."""
    out = tmp_path_factory.mktemp("mini") / "data"
    generate(CFG, out, progress=False)
    return out


@pytest.fixture()
def dod_only(tmp_path: Path) -> Path:
    """A data folder with one small death register file (validation finds the rest missing)."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "dod.csv").write_text("PNR;DODDATO\n0101010000;2015-01-01\n")
    return d


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _kernel(monkeypatch: pytest.MonkeyPatch, config: dict[str, object]) -> None:
    """Pretend to run inside IPython with the given config (a Jupyter kernel has IPKernelApp)."""
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(config=config)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)


# ------------------------------------------------------------------ the switch
def test_the_argument_wins_then_the_variable_then_automatic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert progress_enabled() is False  # under pytest standard error is no terminal
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert progress_enabled() is True and progress_enabled(None) is True
    assert progress_enabled(False) is False
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert progress_enabled() is False and progress_enabled(True) is True
    for on, off in (("true", "false"), ("YES", "no"), (" on ", "off")):
        monkeypatch.setenv(PROGRESS_ENV, on)
        assert progress_enabled() is True
        monkeypatch.setenv(PROGRESS_ENV, off)
        assert progress_enabled() is False
    monkeypatch.setenv(PROGRESS_ENV, "")  # set but empty: automatic
    assert progress_enabled() is False


def test_automatic_is_on_on_a_terminal_and_the_variable_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress_enabled() is True
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert progress_enabled() is False
    monkeypatch.setattr(sys, "stderr", None)  # pythonw, a daemon: no stream at all
    monkeypatch.delenv(PROGRESS_ENV)
    assert progress_enabled() is False


def test_automatic_is_on_in_a_jupyter_kernel_but_not_in_a_terminal_ipython(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _kernel(monkeypatch, {"TerminalIPythonApp": {}})
    assert in_notebook() is False and progress_enabled() is False
    _kernel(monkeypatch, {"IPKernelApp": {}})
    assert in_notebook() is True and progress_enabled() is True
    # the kernels `paleval report` starts: the variable switches the bars off
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert progress_enabled() is False


def test_bad_values_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("yes", 1, 0):
        with pytest.raises(TypeError, match="progress must be True, False or None"):
            progress_enabled(bad)  # type: ignore[arg-type]
    monkeypatch.setenv(PROGRESS_ENV, "maybe")
    with pytest.raises(ValueError, match="PALEVAL_PROGRESS='maybe'"):
        progress_enabled()
    assert progress_enabled(False) is False  # an explicit choice needs no variable


# ------------------------------------------------------------------ the bar
def test_steps_write_their_names_to_stderr_and_nothing_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Steps("demo", 3, progress=True) as bar:
        bar.step("first step")
        bar.note("a detail")
        bar.step("second step")
        bar.advance("third, done elsewhere")
        bar.write(print, "a log line")
    out, err = capsys.readouterr()
    assert out == "a log line\n"
    for text in ("demo:", "first step", "a detail", "second step", "third, done elsewhere"):
        assert text in err
    assert "3/3" in err and "4/3" not in err  # close() counts the step under way once
    with Steps("demo", 3, progress=False) as bar:
        bar.step("first step")
        bar.write(print, "a log line")
    assert capsys.readouterr() == ("a log line\n", "")


def test_a_failed_step_is_not_counted_as_done(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), Steps("demo", 2, progress=True) as bar:
        bar.step("fine")
        bar.step("fails")
        raise RuntimeError("boom")
    err = capsys.readouterr().err
    assert "1/2" in err and "2/2" not in err


# ------------------------------------------------------------------ the long steps
def test_synthesis_shows_its_steps_and_writes_the_same_files(
    mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(CFG, tmp_path / "on", progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    for text in ("synth:", "simulating 2,000 persons", "person-level registers", "truth and"):
        assert text in err
    chunks = sorted(set(re.findall(r"chunk (\d+)/(\d+)", err)))
    n = int(chunks[0][1])
    assert chunks == [(str(i), str(n)) for i in range(1, n + 1)]
    assert f"{n + 3}/{n + 3}" in err
    generate(CFG, tmp_path / "auto", overwrite=True)  # automatic: off under pytest
    assert capsys.readouterr() == ("", "")
    # progress changes no written byte (the module's data were written with progress=False)
    files = sorted(p.relative_to(mini) for p in mini.rglob("*.parquet"))
    assert files
    for f in files:
        assert (tmp_path / "on" / f).read_bytes() == (mini / f).read_bytes(), f


def test_validation_shows_each_register_and_finds_the_same(
    mini: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ["dod", "bef", "dpd"]
    monkeypatch.setenv(PROGRESS_ENV, "1")
    shown = validate(mini, keys)
    out, err = capsys.readouterr()
    assert out == ""
    assert "validation:" in err and "cross-register checks" in err and "4/4" in err
    for key in keys:
        assert f", {key}]" in err  # the register step
    assert re.search(r"bef: bef\d+\.parquet", err)  # the file under way
    monkeypatch.delenv(PROGRESS_ENV)
    quiet = validate(mini, keys)
    assert capsys.readouterr() == ("", "")
    assert shown.findings.equals(quiet.findings)


def test_the_study_build_shows_every_step(
    mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    built = load_study(mini, cache_dir=cache, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "study:" in err and f"{len(STUDY_STEPS)}/{len(STUDY_STEPS)}" in err
    for step in STUDY_STEPS:
        assert step in err, step
    # validation's own bar, inside the study's, over the registers
    assert "validation:" in err and "cross-register checks" in err
    # the steps in their order (each name first appears after the one before)
    first = [err.index(step) for step in STUDY_STEPS]
    assert first == sorted(first)
    cached = load_study(mini, cache_dir=cache, progress=True)
    err = capsys.readouterr().err
    assert "reading the cached study" in err and "2/2" in err and "validation:" not in err
    assert load_study(mini, cache_dir=cache).decedents.equals(built.decedents)
    assert capsys.readouterr() == ("", "")  # automatic: off under pytest
    assert cached.decedents.equals(built.decedents)


def test_a_failed_study_build_shows_how_far_it_got(
    dod_only: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from paleval.registers import RegisterValidationError

    # a bad extract stops at validation: the bar shows how far the build got
    with pytest.raises(RegisterValidationError):
        load_study(dod_only, cache_dir=dod_only.parent / "cache", progress=True)
    err = capsys.readouterr().err
    assert "1/8" in err and ", validation]" in err and "end-of-life" not in err


# ------------------------------------------------------------------ the command line
def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return " ".join(sub.choices[command].format_help().split())


@pytest.mark.parametrize("command", ["synth", "validate", "report"])
def test_quiet_is_in_every_long_commands_help(command: str) -> None:
    text = _help(command)
    assert "--quiet no progress bars (default: shown on standard error when it is a terminal" in (
        text
    )
    assert "PALEVAL_PROGRESS" in text


def test_validate_shows_the_bar_on_stderr_and_quiet_switches_it_off(
    dod_only: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["validate", str(dod_only)]) == 1  # automatic: no terminal here
    out, err = capsys.readouterr()
    assert "ValidationReport" in out and BAR not in out + err
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert main(["validate", str(dod_only), "--json", "-"]) == 1
    out, err = capsys.readouterr()
    assert "validation:" in err and BAR not in out  # the JSON on stdout stays clean
    assert main(["validate", str(dod_only), "--quiet"]) == 1  # --quiet wins over the variable
    out, err = capsys.readouterr()
    assert BAR not in err and "ValidationReport" in out


@pytest.mark.parametrize("command", ["synth", "report", "validate"])
def test_a_bad_variable_is_refused_before_any_work(
    command: str,
    dod_only: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "verbose")
    out = tmp_path / "out"
    argv = {
        "synth": ["synth", "--preset", "tiny", "--out", str(out)],
        "report": ["report", "--data", str(dod_only), "--out", str(out)],
        "validate": ["validate", str(dod_only), "--json", str(out)],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"paleval {command}: error: environment variable PALEVAL_PROGRESS='verbose'" in err
    assert not out.exists()


def test_a_terminal_gets_the_bar_and_a_pipe_does_not(dod_only: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_ENV}
    cmd = [sys.executable, "-m", "paleval.cli", "validate", str(dod_only)]
    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=dod_only)
    assert "ValidationReport" in piped.stdout and BAR not in piped.stdout + piped.stderr
    master, slave = pty.openpty()
    # a terminal 120 columns wide (a new pseudo-terminal has none)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=dod_only)
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert run.returncode == 1
    assert "validation:" in terminal and "cross-register checks" in terminal
    assert BAR not in run.stdout.decode()
