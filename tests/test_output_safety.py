"""`paleval report` never deletes, renames or overwrites what it did not create (issue 15).

The report runs a one-cell notebook here (a kernel start, a few seconds) so that every case of
the target folder can be tried: absent, empty, a foreign folder, a file, a symbolic link, a
read-only place, paleval's own report (intact, added to, changed), inside the data folder, and
failures at every stage (a notebook, the disclosure audit, the final rename). Expected states
are snapshots of the bytes on disk taken before the run, not anything the runner reports.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

import paleval.disclosure
from paleval.cli import main
from paleval.report import (
    REPORT_MARKER,
    OutputFolderError,
    ReportError,
    data_fingerprint,
    run_report,
)
from paleval.report import runner as runner_module

HEADER = """# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # {title}

# %% tags=["parameters"]
data_dir = ""
start = "2010-01-01"
end = "2024-12-31"
lang = "en"
output_dir = "."
threshold = 5
formats = ["png"]
cache_dir = None

# %%
from pathlib import Path

tables = Path(output_dir) / "tables"
tables.mkdir(parents=True, exist_ok=True)
"""

GOOD = (
    HEADER
    + '(tables / "mini_counts.csv").write_text("group,n\\na,{a}\\nb,20\\n")\nprint("SECRET-17")\n'
)
BROKEN = HEADER + 'raise RuntimeError("planted failure")\n'


def _notebooks(folder: Path, **cells: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in cells.items():
        (folder / f"{name}.py").write_text(text.replace("{title}", name), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One study cache for the module: the data are checked and built once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def nbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _notebooks(tmp_path_factory.mktemp("nbs"), **{"00_mini": GOOD.replace("{a}", "10")})


def _run(out: Path, data: Path, cache: Path, nbs: Path, **kw: object) -> Path:
    return run_report(
        out, data_dir=data, notebook_dir=nbs, cache_dir=cache, jobs=1, log=lambda m: None, **kw
    )


def _snapshot(folder: Path) -> dict[str, bytes | str | None]:
    """Every entry under ``folder`` with its bytes (None for folders, the target for links),
    links not followed."""
    out: dict[str, bytes | str | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                out[rel] = "link to " + os.readlink(p)
            else:
                out[rel] = None if p.is_dir() else p.read_bytes()
    return out


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".paleval-" in p.name)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


# ------------------------------------------------------------------ paleval's own report
def test_a_new_report_is_marked_and_lists_every_file(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = _run(tmp_path / "a" / "b" / "out", tiny_dir, cache, nbs)
    marker = json.loads((out / REPORT_MARKER).read_text())
    assert marker["paleval_report"] == 1 and len(marker["report_id"]) == 12
    assert marker["status"] == "complete"
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.name != REPORT_MARKER}
    assert set(marker["entries"]) == on_disk
    table = out / "tables" / "mini_counts.csv"
    import hashlib

    assert marker["entries"]["tables/mini_counts.csv"] == {
        "type": "file",
        "size": table.stat().st_size,
        "sha256": hashlib.sha256(table.read_bytes()).hexdigest(),
    }
    assert table.read_text() == "group,n\na,10\nb,20\n"
    assert _leftovers(out.parent) == []


def test_own_report_is_replaced_and_nothing_else_is_touched(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = _run(tmp_path / "out", tiny_dir, cache, nbs)
    first_id = json.loads((out / REPORT_MARKER).read_text())["report_id"]
    neighbour = tmp_path / "notes.txt"
    neighbour.write_text("mine")
    other = _notebooks(tmp_path / "nbs2", **{"00_mini": GOOD.replace("{a}", "11")})
    again = _run(tmp_path / "out", tiny_dir, cache, other)
    assert again == out
    assert (out / "tables" / "mini_counts.csv").read_text() == "group,n\na,11\nb,20\n"
    assert json.loads((out / REPORT_MARKER).read_text())["report_id"] != first_id
    assert neighbour.read_text() == "mine"
    assert _leftovers(tmp_path) == []


def test_an_empty_folder_is_used(tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    out = _run(tmp_path / "out", tiny_dir, cache, nbs)
    assert (out / REPORT_MARKER).is_file() and (out / "index.html").is_file()


# ------------------------------------------------------------------ refused targets
def test_a_foreign_folder_is_refused_and_its_files_survive(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.docx").write_bytes(b"\x00years of work\xff")
    (out / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match="not empty and has no readable"):
        _run(out, tiny_dir, cache, nbs)
    code, err = _cli(
        capsys, "report", "--data", str(tiny_dir), "--out", str(out), "--cache-dir", str(cache)
    )
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err and str(out) in err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_legacy_report_without_marker_is_refused(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"paleval_report": 1}')
    with pytest.raises(OutputFolderError, match="not a paleval report"):
        _run(out, tiny_dir, cache, nbs)
    assert (out / "manifest.json").read_text() == '{"paleval_report": 1}'


def test_own_report_with_a_user_file_added_is_refused(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = _run(tmp_path / "out", tiny_dir, cache, nbs)
    (out / "tables" / "my_notes.txt").write_text("keep me")
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match=r"did not write: tables/my_notes\.txt"):
        _run(out, tiny_dir, cache, nbs)
    assert _snapshot(out) == before


def test_own_report_with_an_edited_file_is_refused(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = _run(tmp_path / "out", tiny_dir, cache, nbs)
    (out / "tables" / "mini_counts.csv").write_text("group,n\na,10\nb,21\n")  # same size
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match="changed since paleval wrote them"):
        _run(out, tiny_dir, cache, nbs)
    assert _snapshot(out) == before


def test_a_forged_or_broken_marker_is_not_trusted(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("x\n1\n")
    (out / REPORT_MARKER).write_text('{"paleval_report": 1, "entries": {}}')
    with pytest.raises(OutputFolderError, match=r"did not write: results\.csv"):
        _run(out, tiny_dir, cache, nbs)
    (out / REPORT_MARKER).write_text("{not json")
    with pytest.raises(OutputFolderError, match="no readable"):
        _run(out, tiny_dir, cache, nbs)
    assert (out / "results.csv").read_text() == "x\n1\n"


def test_an_existing_file_is_refused_and_kept(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.pdf"
    out.write_bytes(b"%PDF-1.4 mine")
    code, err = _cli(
        capsys, "report", "--data", str(tiny_dir), "--out", str(out), "--cache-dir", str(cache)
    )
    assert code == 2 and "is not a folder" in err and err.count("\n") == 1
    assert out.read_bytes() == b"%PDF-1.4 mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


@pytest.mark.parametrize("points_to", ["own_report", "empty_folder", "nothing"])
def test_a_symlink_as_out_is_refused(
    points_to: str, tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real"
    if points_to == "own_report":
        _run(target, tiny_dir, cache, nbs)
    elif points_to == "empty_folder":
        target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    before = _snapshot(tmp_path)
    with pytest.raises(OutputFolderError, match="is a symbolic link"):
        _run(link, tiny_dir, cache, nbs)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert _snapshot(tmp_path) == before


def test_a_symlinked_parent_is_followed(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    (tmp_path / "disk").mkdir()
    (tmp_path / "reports").symlink_to(tmp_path / "disk", target_is_directory=True)
    out = _run(tmp_path / "reports" / "latest", tiny_dir, cache, nbs)
    assert out == tmp_path / "disk" / "latest"
    assert (tmp_path / "disk" / "latest" / REPORT_MARKER).is_file()
    assert (tmp_path / "reports").is_symlink()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_parent_fails_cleanly(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path
) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputFolderError, match="cannot write in"):
            _run(ro / "out", tiny_dir, cache, nbs)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(stat.S_IRWXU)


def test_an_unwritable_location_fails_before_any_notebook_or_data_work(
    tiny_dir: Path,
    cache: Path,
    nbs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Simulated with a mkdir that fails with EACCES under ``ro`` (the tests may run as root,
    who writes anywhere); the data are not even loaded."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real_mkdir = os.mkdir

    def mkdir(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path).is_relative_to(ro):
            raise PermissionError(13, "Permission denied", str(path))
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data were loaded or a notebook ran")

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(runner_module, "_preflight", no_work)
    monkeypatch.setattr(runner_module, "_run_one", no_work)
    with pytest.raises(OutputFolderError, match="Permission denied"):
        _run(ro / "deep" / "out", tiny_dir, cache, nbs)
    code, err = _cli(
        capsys, "report", "--data", str(tiny_dir), "--out", str(ro / "x"), "--cache-dir", str(cache)
    )
    assert code == 2 and "Permission denied" in err and err.count("\n") == 1
    assert list(ro.iterdir()) == []


# ------------------------------------------------------------------ the data folder
@pytest.fixture()
def data_copy(tiny_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_dir, tmp_path / "extract", symlinks=True))


def test_out_inside_the_data_folder_leaves_the_data_alone(
    data_copy: Path, cache: Path, nbs: Path
) -> None:
    before_fp = data_fingerprint(data_copy)
    before = {k: v for k, v in _snapshot(data_copy).items()}
    out = _run(data_copy / "reports" / "r1", data_copy, cache, nbs)
    _run(data_copy / "reports" / "r1", data_copy, cache, nbs)  # replaced in place
    assert (out / REPORT_MARKER).is_file()
    after = _snapshot(data_copy)
    assert {k: v for k, v in after.items() if not k.startswith("reports")} == before
    assert data_fingerprint(data_copy) == before_fp


@pytest.mark.parametrize("where", ["data", "parent", "register"])
def test_out_may_not_be_or_hold_the_data_folder(
    where: str, data_copy: Path, cache: Path, nbs: Path
) -> None:
    out = {
        "data": data_copy,
        "parent": data_copy.parent,
        "register": data_copy / "dod",
    }[where]
    before = _snapshot(data_copy)
    with pytest.raises(OutputFolderError):
        _run(out, data_copy, cache, nbs)
    assert _snapshot(data_copy) == before


def test_out_may_not_hold_the_cache(tiny_dir: Path, nbs: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputFolderError, match="would hold"):
        _run(tmp_path / "out", tiny_dir, tmp_path / "out" / "cache", nbs)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ failures keep the old report
@pytest.fixture()
def previous(tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path) -> tuple[Path, dict]:
    out = _run(tmp_path / "out", tiny_dir, cache, nbs)
    return out, _snapshot(out)


def test_a_failing_notebook_leaves_the_previous_report_byte_identical(
    previous: tuple[Path, dict], tiny_dir: Path, cache: Path, tmp_path: Path
) -> None:
    out, before = previous
    bad = _notebooks(
        tmp_path / "bad", **{"00_mini": GOOD.replace("{a}", "12"), "01_broken": BROKEN}
    )
    with pytest.raises(ReportError, match="01_broken: RuntimeError: planted failure") as err:
        _run(out, tiny_dir, cache, bad)
    assert _snapshot(out) == before
    failed = tmp_path / "out.failed"
    assert str(failed) in str(err.value)
    assert (failed / "notebooks" / "01_broken.ipynb").is_file()
    assert json.loads((failed / REPORT_MARKER).read_text())["status"] == "failed"
    # a second failure replaces paleval's own failed folder
    with pytest.raises(ReportError):
        _run(out, tiny_dir, cache, bad)
    assert _snapshot(out) == before and _leftovers(tmp_path) == []


def test_a_foreign_failed_folder_is_not_replaced(
    tiny_dir: Path, cache: Path, tmp_path: Path
) -> None:
    failed = tmp_path / "out.failed"
    failed.mkdir()
    (failed / "mine.txt").write_text("mine")
    bad = _notebooks(tmp_path / "bad", **{"01_broken": BROKEN})
    with pytest.raises(ReportError, match=r"partial output in .*\.paleval-staging-"):
        _run(tmp_path / "out", tiny_dir, cache, bad)
    assert (failed / "mine.txt").read_text() == "mine" and len(list(failed.iterdir())) == 1
    assert not (tmp_path / "out").exists()


def test_the_disclosure_audit_blocks_publication(
    previous: tuple[Path, dict], tiny_dir: Path, cache: Path, tmp_path: Path
) -> None:
    out, before = previous
    small = _notebooks(tmp_path / "small", **{"00_mini": GOOD.replace("{a}", "3")})
    with pytest.raises(
        ReportError, match=r"disclosure: tables/mini_counts.csv: row 1 \(a\), column 'n': 3"
    ):
        _run(out, tiny_dir, cache, small)
    assert _snapshot(out) == before


def test_the_audit_hook_sees_the_staging_folder(
    previous: tuple[Path, dict],
    tiny_dir: Path,
    cache: Path,
    nbs: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever ``paleval.disclosure.audit_report`` finds stops publication."""
    from types import SimpleNamespace

    import polars as pl

    out, before = previous
    seen: list[Path] = []

    def auditor(folder: Path, threshold: int = 5) -> SimpleNamespace:
        seen.append(Path(folder))
        assert (Path(folder) / "tables" / "mini_counts.csv").is_file()
        finding = "tables/mini_counts.csv: planted finding"
        return SimpleNamespace(
            ok=False,
            findings=[finding],
            unreadable=[],
            table=lambda: pl.DataFrame({"finding": [finding]}),
        )

    monkeypatch.setattr(paleval.disclosure, "audit_report", auditor)
    # the command line, with the one-cell notebook instead of the shipped ones
    monkeypatch.setattr(
        runner_module, "find_notebooks", lambda folder=None: sorted(nbs.glob("*.py"))
    )
    code, err = _cli(
        capsys,
        "report",
        "--data",
        str(tiny_dir),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--jobs",
        "1",
    )
    assert code == 1 and "disclosure: tables/mini_counts.csv: planted finding" in err
    assert "Traceback" not in err
    assert seen and seen[0].name.startswith(".out.paleval-staging-")
    assert _snapshot(out) == before


def test_each_notebook_is_scrubbed_before_its_html(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []

    def scrub(path: Path, threshold: int) -> None:
        calls.append((Path(path).name, threshold))
        Path(path).write_text(Path(path).read_text().replace("SECRET-17", "[scrubbed]"))

    monkeypatch.setattr(paleval.disclosure, "scrub_notebook", scrub, raising=False)
    out = _run(tmp_path / "out", tiny_dir, cache, nbs, threshold=7)
    assert calls == [("00_mini.ipynb", 7)]
    html = (out / "notebooks" / "00_mini.html").read_text()
    assert "[scrubbed]" in html and "SECRET-17" not in html


def test_a_failing_scrub_fails_the_notebook_and_renders_nothing(
    tiny_dir: Path, cache: Path, nbs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def scrub(path: Path, threshold: int) -> None:
        raise ValueError("cannot parse output")

    monkeypatch.setattr(paleval.disclosure, "scrub_notebook", scrub, raising=False)
    with pytest.raises(ReportError, match="00_mini: disclosure scrub failed"):
        _run(tmp_path / "out", tiny_dir, cache, nbs)
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "out.failed" / "notebooks").glob("*.html"))


def test_a_failed_final_rename_restores_the_previous_report(
    previous: tuple[Path, dict],
    tiny_dir: Path,
    cache: Path,
    nbs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, before = previous
    real_rename = os.rename

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".paleval-staging-" in Path(src).name:
            raise OSError(28, "No space left on device", str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="No space left"):
        _run(out, tiny_dir, cache, nbs)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_bad_extract_fails_before_any_notebook_and_writes_nothing(
    data_copy: Path,
    tmp_path: Path,
    nbs: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (data_copy / "dod" / "dod.parquet").unlink()
    (data_copy / "dod" / "dod.csv").write_text("PNR;DODDATO\n")

    def no_notebook(*args: object, **kwargs: object) -> None:
        raise AssertionError("a notebook ran")

    monkeypatch.setattr(runner_module, "_run_one", no_notebook)
    out = tmp_path / "reports" / "new" / "out"  # the default cache goes beside it
    code, err = _cli(capsys, "report", "--data", str(data_copy), "--out", str(out))
    assert code == 1
    assert "register 'dod', file dod/dod.csv: no data rows" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()  # the folders it made are gone again


def test_a_user_file_written_into_out_during_the_run_stops_the_replacement(
    previous: tuple[Path, dict],
    tiny_dir: Path,
    cache: Path,
    nbs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, _ = previous
    real = runner_module._run_notebooks

    def and_a_user_writes(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        (out / "written_meanwhile.txt").write_text("mine")
        return result

    monkeypatch.setattr(runner_module, "_run_notebooks", and_a_user_writes)
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match="changed during the run") as err:
        _run(out, tiny_dir, cache, nbs)
    assert _snapshot(out) == {**before, "written_meanwhile.txt": b"mine"}
    kept = Path(str(err.value).rsplit("the new report is kept in ", 1)[1])
    assert (kept / REPORT_MARKER).is_file() and (kept / "tables" / "mini_counts.csv").is_file()
