"""`paleval report`: run every notebook headless and assemble a self-contained report.

Output safety: the run writes into a staging folder beside the target (same file system) and
publishes it only when every notebook ran and the disclosure audit passed. ``paleval report``
never deletes, renames or overwrites anything it did not create: the target must be absent,
an empty folder, or a report paleval wrote and marked as its own (``.paleval-report.json``,
listing every file it wrote, each with its size and SHA-256) that nobody has changed or added
to since. A non-empty folder without the marker, a file, or a symbolic link is refused. The
previous report stays intact until the new one is complete; a failed run leaves it untouched
(its partial output is kept as ``<out>.failed`` when that name is free or holds an earlier
failed run). Output::

    out/
      index.html            links to everything below, with figure thumbnails
      manifest.json         versions, parameters, data fingerprint, checksums, timings
      .paleval-report.json  the marker: report id and every file written
      figures/*.png|svg     every figure (disclosure-controlled)
      tables/*.csv|xlsx     every table (disclosure-controlled)
      definitions/*.json    the definitions and options of every exported analysis
      notebooks/*.html      the executed notebooks
      notebooks/*.ipynb
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from paleval._progress import PROGRESS_ENV, Steps, progress_enabled
from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START

__all__ = [
    "REPORT_MARKER",
    "NotebookFailure",
    "OutputFolderError",
    "ReportError",
    "find_notebooks",
    "run_report",
]

REPORT_MARKER = ".paleval-report.json"
"""The file that marks a folder as a report paleval wrote (report id, every file written)."""

_PACKAGES = (
    "paleval", "polars", "numpy", "scipy", "matplotlib", "pandas", "pyreadstat",
    "pyarrow", "papermill", "jupytext", "nbconvert", "xlsxwriter",
)  # fmt: skip


@dataclass
class NotebookFailure:
    """A notebook that failed: its name, the error's last line and the executed copy."""

    name: str
    error: str
    executed: Path | None = None


class ReportError(RuntimeError):
    """The report could not be completed (failed notebooks or a failed disclosure check)."""

    def __init__(self, message: str, failures: Sequence[NotebookFailure] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)


class OutputFolderError(Exception):
    """The report's target cannot be used, checked before any notebook runs: a non-empty folder
    paleval did not mark as its own, a file, a symbolic link, a folder holding the data or the
    cache, or a location that cannot be written. The message is one line.

    Examples
    --------
    >>> str(OutputFolderError("--out x: exists and is not a folder"))
    '--out x: exists and is not a folder'
    """


@dataclass
class _Run:
    name: str
    seconds: float
    ok: bool
    error: str = ""
    log_tail: str = ""


def _run_one(nb_path: Path, tmp: Path, params: dict[str, Any]) -> _Run:
    """Execute one notebook (in this process or a worker); the kernel's own stderr chatter
    goes to a temporary log whose end is shown only when the notebook fails."""
    import tempfile

    executed = tmp / "notebooks" / f"{nb_path.stem}.ipynb"
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as logf:
        saved = os.dup(2)
        os.dup2(logf.fileno(), 2)
        try:
            _execute(nb_path, executed, params, tmp)
            ok, err = True, ""
        except Exception as exc:  # papermill raises PapermillExecutionError with the cell
            ok, err = False, _last_error_line(exc)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        logf.seek(0)
        lines = [
            x
            for x in logf.read().decode("utf-8", "replace").splitlines()
            if "Kernel is running over TCP" not in x and "KeyboardInterrupt caught" not in x
        ]
    if executed.exists():
        _strip_volatile(executed, _path_names(params))
        try:
            _scrub(executed, int(params["threshold"]))
        except Exception as exc:  # an unscrubbed notebook is never rendered
            ok, err = False, f"disclosure scrub failed: {_last_error_line(exc)}"
        else:
            _to_html(executed, tmp / "notebooks" / f"{nb_path.stem}.html")
    secs = time.perf_counter() - t0
    tail = "" if ok else "\n".join(lines[-15:])
    return _Run(nb_path.stem, round(secs, 1), ok, err, tail)


def _scrub(executed: Path, threshold: int) -> None:
    """Scrub an executed notebook before its HTML is written
    (:func:`paleval.disclosure.scrub_notebook`: printed output and text outputs with a count
    under the threshold are dropped; figures and controlled tables kept)."""
    from paleval.disclosure import scrub_notebook

    scrub_notebook(executed, threshold)


def find_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The report's notebooks (jupytext percent ``.py`` files, run in name order).

    Looks in ``folder``, else the notebooks installed with paleval, else the ``notebooks/``
    folder of the source checkout.

    Examples
    --------
    >>> [p.stem for p in find_notebooks()][:1]
    ['00_overview']
    """
    candidates = []
    if folder is not None:
        candidates.append(Path(folder))
    here = Path(__file__).resolve()
    candidates += [here.parents[1] / "notebooks", here.parents[3] / "notebooks"]
    for c in candidates:
        files = sorted(p for p in c.glob("[0-9][0-9]_*.py")) if c.is_dir() else []
        if files:
            return files
    raise FileNotFoundError(f"no report notebooks (NN_name.py) in {[str(c) for c in candidates]}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def _execute(nb_path: Path, executed: Path, params: dict[str, Any], cwd: Path) -> None:
    import jupytext
    import papermill as pm

    nb = jupytext.read(nb_path)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    # The kernel inherits this process's environment: with a non-interactive backend (Agg, set
    # for this process) every plot() cell would show nothing, so the kernel gets the inline
    # backend and the executed notebooks keep their figures. Progress bars are off in the
    # kernel (a Jupyter kernel would show them): the executed notebooks hold no progress output.
    kernel_env = {"MPLBACKEND": _INLINE_BACKEND, PROGRESS_ENV: "0"}
    saved = {k: os.environ.get(k) for k in kernel_env}
    os.environ.update(kernel_env)
    try:
        pm.execute_notebook(
            nb,
            str(executed),
            parameters=params,
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

_PATH_PARAMETERS = {"output_dir": "<report>", "data_dir": "<data>", "cache_dir": "<cache>"}
"""Folders a notebook is given, and the names that replace them in the published notebooks
(the folders themselves are in ``manifest.json``)."""


def _path_names(params: dict[str, Any]) -> dict[str, str]:
    """Each folder parameter's absolute path and its spelling as given -> its placeholder,
    longest first (a path inside another is replaced before the outer one)."""
    pairs: dict[str, str] = {}
    for key, name in _PATH_PARAMETERS.items():
        value = params.get(key)
        if not value:
            continue
        for spelling in {str(value), str(Path(value).resolve())}:
            pairs[spelling] = name
    return dict(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def _replace_paths(text: str, names: dict[str, str]) -> str:
    for path, name in names.items():
        text = text.replace(path, name)
    return text


def _strip_volatile(path: Path, names: dict[str, str] | None = None) -> None:
    """Make an executed notebook reproducible: no run times (papermill's and the kernel's
    timing metadata), stable cell ids (``cell-000``, ... instead of random ones), and the
    report's, the data's and the cache's folders replaced by ``<report>``, ``<data>`` and
    ``<cache>`` in every cell's source and text output, so two runs of the same data give the
    same bytes wherever they are written."""
    import nbformat

    names = names or {}
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell["id"] = f"cell-{i:03d}"
        cell.source = _replace_paths(cell.source, names)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _replace_paths(out["text"], names)
            if out.get("output_type") == "error":
                out["traceback"] = [_replace_paths(t, names) for t in out.get("traceback", [])]
            for mime, value in out.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    out["data"][mime] = _replace_paths(value, names)
    nbformat.write(nb, path)


def _to_html(executed: Path, target: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def _last_error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    lines = [x for x in text if x.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line.strip()
    return lines[-1].strip() if lines else type(exc).__name__


# ------------------------------------------------------------------ output safety
def _inventory(folder: Path) -> dict[str, dict[str, Any]]:
    """Every entry under ``folder`` (links not followed) except the marker: relative path ->
    ``{"type": "dir"|"link"}`` or ``{"type": "file", "size": ..., "sha256": ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for root, dirs, files in os.walk(folder):
        r = Path(root)
        for name in dirs + files:
            p = r / name
            rel = p.relative_to(folder).as_posix()
            if rel == REPORT_MARKER:
                continue
            if p.is_symlink():
                out[rel] = {"type": "link"}
            elif p.is_dir():
                out[rel] = {"type": "dir"}
            else:
                out[rel] = {"type": "file", "size": p.stat().st_size, "sha256": _sha256(p)}
    return out


def _write_marker(folder: Path, report_id: str, status: str) -> None:
    """Mark ``folder`` as paleval's own: its id, status and every entry it holds (written last,
    so a folder with a marker is complete)."""
    doc = {
        "paleval_report": 1,
        "report_id": report_id,
        "status": status,
        "paleval": _versions().get("paleval", ""),
        "entries": _inventory(folder),
    }
    tmp = folder / f"{REPORT_MARKER}.tmp"
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(folder / REPORT_MARKER)


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((folder / REPORT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc.get("paleval_report") == 1
    if not (ok and isinstance(doc.get("entries"), dict)):
        return None
    # a marker may only list paths inside its own folder, as _inventory writes them: relative,
    # normalised, no "..", no backslash (a crafted or corrupt marker is not paleval's)
    for rel in doc["entries"]:
        parts = PurePosixPath(rel).parts if isinstance(rel, str) else ()
        if (
            not parts
            or PurePosixPath(rel).is_absolute()
            or "\\" in rel
            or ".." in parts
            or PurePosixPath(*parts).as_posix() != rel
        ):
            return None
    return doc


def _not_ours(folder: Path) -> list[str]:
    """Why ``folder`` may not be replaced (empty list: it may). Empty folders may; a folder may
    when it carries paleval's marker and holds exactly the entries the marker lists,
    unchanged."""
    if not any(folder.iterdir()):
        return []
    marker = _read_marker(folder)
    if marker is None:
        return [f"it is not empty and has no readable {REPORT_MARKER} (not a paleval report)"]
    listed, now = marker["entries"], _inventory(folder)
    added = sorted(set(now) - set(listed))
    changed = sorted(k for k in set(now) & set(listed) if now[k] != listed[k])
    why = []
    if added:
        why.append(f"{len(added)} entr(ies) paleval did not write: {', '.join(added[:5])}")
    if changed:
        why.append(f"{len(changed)} changed since paleval wrote them: {', '.join(changed[:5])}")
    return why


def _check_target(out: str | Path, protect: Sequence[Path]) -> Path:
    """The absolute target folder, or :class:`OutputFolderError` when it cannot be used."""
    raw = Path(out).expanduser().absolute()
    if raw.name in ("", ".", ".."):
        raw = raw.resolve()
    if raw.is_symlink():
        raise OutputFolderError(
            f"--out {raw} is a symbolic link (to {os.readlink(raw)}); give a real folder path"
        )
    target = raw.parent.resolve() / raw.name
    for p in protect:
        if target == p or target in p.parents:
            raise OutputFolderError(f"--out {target} would hold {p}; choose another folder")
    if not os.path.lexists(target):
        return target
    if not target.is_dir():
        raise OutputFolderError(
            f"--out {target} exists and is not a folder; paleval never replaces a file"
        )
    try:
        why = _not_ours(target)
    except OSError as exc:
        raise OutputFolderError(f"--out {target} cannot be read: {exc.strerror}") from None
    if why:
        raise OutputFolderError(
            f"--out {target}: {'; '.join(why)}; paleval replaces only a report it wrote: "
            "choose a new or empty folder, or move those files"
        )
    return target


def _make_staging(target: Path, report_id: str) -> tuple[Path, list[Path]]:
    """Create the staging folder beside ``target`` (and missing parent folders, returned so a
    failed run can remove them again); :class:`OutputFolderError` when that cannot be done."""
    missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    created: list[Path] = []
    staging = target.parent / f".{target.name}.paleval-staging-{report_id}"
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        staging.mkdir()
        (staging / "notebooks").mkdir()
        probe = staging / ".paleval-write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        where = exc.filename or target.parent
        raise OutputFolderError(
            f"--out {target}: cannot write in {where}: {exc.strerror or exc}"
        ) from None
    return staging, created


def _remove_empty(folders: Sequence[Path]) -> None:
    for d in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass


def _remove_own(folder: Path, entries: dict[str, dict[str, Any]]) -> list[str]:
    """Delete what the marker of ``folder`` lists (and the marker), nothing else; returns what
    could not be removed."""
    left = []
    present = _inventory(folder)  # only what is inside the folder now, links not followed
    for rel in sorted(entries, key=lambda k: k.count("/"), reverse=True):
        if rel not in present:
            continue
        p = folder / rel
        try:
            if entries[rel]["type"] == "dir":
                p.rmdir()
            else:
                p.unlink()
        except OSError:
            left.append(rel)
    for p in (folder / REPORT_MARKER, folder):
        try:
            p.unlink() if p.is_file() else p.rmdir()
        except OSError:
            left.append(str(p))
    return left


def _publish(staging: Path, target: Path, log: Callable[[str], None]) -> None:
    """Move the marked ``staging`` folder to ``target``. An existing target (empty, or a report
    paleval wrote, checked again now) stays intact until the new report is in place."""
    why = _not_ours(target) if target.is_dir() and not target.is_symlink() else []
    if os.path.lexists(target) and (why or not target.is_dir() or target.is_symlink()):
        reason = "; ".join(why) or "it is no longer a folder"
        raise OutputFolderError(f"--out {target} changed during the run: {reason}")
    if not os.path.lexists(target) or not any(target.iterdir()):
        os.replace(staging, target)  # an absent target or an empty folder: one rename
        return
    old_entries = _read_marker(target)["entries"]  # type: ignore[index]
    old = target.parent / f".{target.name}.paleval-old-{staging.name.rsplit('-', 1)[-1]}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    left = _remove_own(old, old_entries)
    if left:
        log(f"the previous report was replaced; {old} kept what paleval did not write: {left}")


def _keep_failed(staging: Path, target: Path, report_id: str) -> Path:
    """Keep the partial output of a failed run as ``<out>.failed`` (when that name is free or an
    earlier failed run of paleval's), else where it is; returns where."""
    failed = target.parent / f"{target.name}.failed"
    _write_marker(staging, report_id, "failed")
    try:
        _check_target(failed, ())
        _publish(staging, failed, lambda m: None)
    except (OutputFolderError, OSError):
        return staging
    return failed


# ------------------------------------------------------------------ the run
def _synthetic_data(preset: str, log: Callable[[str], None], progress: bool) -> Path:
    data_dir = Path("data_synthetic") / preset
    if not (data_dir / "manifest.json").is_file():
        from paleval.synth import SynthConfig, generate

        log(f"generating the synthetic '{preset}' data in {data_dir} (seed 1) ...")
        t0 = time.perf_counter()
        generate(SynthConfig.from_preset(preset, seed=1), data_dir, progress=progress)
        log(f"  done in {time.perf_counter() - t0:.1f} s")
    return data_dir


def _select(paths: list[Path], notebooks: Sequence[str] | None) -> list[Path]:
    if not notebooks:
        return paths
    wanted = set(notebooks)
    unknown = wanted - {p.stem for p in paths}
    if unknown:
        raise ValueError(f"unknown notebooks {sorted(unknown)}; have {[p.stem for p in paths]}")
    return [p for p in paths if p.stem in wanted]


def _run_notebooks(
    paths: Sequence[Path],
    staging: Path,
    params: dict[str, Any],
    jobs: int,
    log: Callable[[str], None],
    progress: bool = False,
) -> tuple[list[_Run], list[NotebookFailure]]:
    """Run the notebooks, ``jobs`` at a time (the study data are built and cached already),
    with one progress bar over them (papermill's own bars stay off)."""
    runs: list[_Run] = []
    failures: list[NotebookFailure] = []
    bar = Steps(f"report ({params['lang']})", len(paths), progress=progress, unit="notebook")

    def record(run: _Run) -> None:
        runs.append(run)
        head = f"[{len(runs)}/{len(paths)}] {run.name}"
        if run.ok:
            bar.write(log, f"{head}: ok in {run.seconds:.1f} s")
            return
        bar.write(log, f"{head}: FAILED after {run.seconds:.1f} s: {run.error}")
        if run.log_tail:
            bar.write(log, "      kernel log (end):\n" + run.log_tail)
        executed = staging / "notebooks" / f"{run.name}.ipynb"
        failures.append(NotebookFailure(run.name, run.error, executed))

    with bar:
        if jobs <= 1 or len(paths) <= 1:
            for nb in paths:
                bar.write(log, f"{nb.stem} ...")
                bar.step(nb.stem)
                record(_run_one(nb, staging, params))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            log(f"{', '.join(p.stem for p in paths)} ({jobs} at a time) ...")
            bar.note(f"{jobs} at a time")
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
                futures = [pool.submit(_run_one, nb, staging, params) for nb in paths]
                for f in as_completed(futures):
                    run = f.result()
                    record(run)
                    bar.advance(run.name)
    runs.sort(key=lambda r: r.name)
    failures.sort(key=lambda f: f.name)
    return runs, failures


def _preflight(
    data_dir: Path, params: dict[str, Any], log: Callable[[str], None], progress: bool
) -> str:
    """Validate the data and build the cached study frames in this process, before any
    notebook runs, so a bad extract fails in seconds with the validation's message
    (:class:`~paleval.registers.RegisterValidationError`,
    :class:`~paleval.report.study.StudyDataError`); returns the data fingerprint."""
    from paleval.report.study import data_fingerprint, load_study

    fingerprint = data_fingerprint(data_dir)
    t0 = time.perf_counter()
    log(f"checking and loading the study data in {data_dir} ...")
    load_study(
        data_dir,
        start=params["start"],
        end=params["end"],
        cache_dir=params["cache_dir"],
        progress=progress,
    )
    log(f"  done in {time.perf_counter() - t0:.1f} s")
    return fingerprint


def _audit(
    staging: Path, threshold: int, failures: list[NotebookFailure], changed: bool
) -> str | None:
    """The reasons not to publish (``None``: publish): failed notebooks, the disclosure audit's
    findings (:func:`paleval.disclosure.check_output`), data changed during the run."""
    from paleval.disclosure import audit_report

    audit = audit_report(staging, threshold=threshold)
    findings = audit.findings
    if not (failures or not audit.ok or changed):
        return None
    if findings:  # the whole list stays with the partial output (<out>.failed/audit.csv)
        audit.table().write_csv(staging / "audit.csv")
    msgs = [f"{f.name}: {f.error}" for f in failures]
    msgs += [f"disclosure: {file} cannot be read: {why}" for file, why in audit.unreadable]
    msgs += [f"disclosure: {f}" for f in findings[:20]]
    if len(findings) > 20:
        msgs.append(f"... and {len(findings) - 20} more disclosure finding(s) in audit.csv")
    if changed:
        msgs.append("the register files changed during the run (data fingerprint differs)")
    return (
        f"the report is incomplete ({len(failures)} notebook(s) failed, "
        f"{len(findings)} disclosure finding(s)"
        + (", data changed" if changed else "")
        + "):\n  "
        + "\n  ".join(msgs)
    )


def _finish(
    staging: Path,
    target: Path,
    paths: Sequence[Path],
    params: dict[str, Any],
    data: dict[str, str],
    runs: Sequence[_Run],
    t_start: float,
) -> None:
    """Write the manifest, the index and the marker into the staging folder."""
    files = sorted(
        p
        for sub in ("figures", "tables", "definitions")
        for p in (staging / sub).rglob("*")
        if p.is_file()
    )
    manifest = {
        "paleval_report": 1,
        "versions": _versions(),
        "parameters": {
            **params,
            "output_dir": str(target),
            "notebooks": [p.stem for p in paths],
        },
        "data": data,
        "checksums": {p.relative_to(staging).as_posix(): _sha256(p) for p in files},
        "timings": {
            "notebooks": {r.name: r.seconds for r in runs},
            "total_seconds": round(time.perf_counter() - t_start, 1),
        },
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (staging / "index.html").write_text(_index(staging, paths, manifest), encoding="utf-8")


def run_report(
    out: str | Path = "reports/latest",
    *,
    data_dir: str | Path | None = None,
    preset: str = "small",
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    lang: str = "en",
    threshold: int = 5,
    rounding: int | None = None,
    formats: Sequence[str] = ("png", "svg"),
    notebooks: Sequence[str] | None = None,
    notebook_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    jobs: int = 2,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
) -> Path:
    """Run the report notebooks headless on a data folder and write the report to ``out``.

    Before any notebook runs, the target is checked (:class:`OutputFolderError`: a non-empty
    folder paleval did not mark as its report, a file, a symbolic link, a folder holding the
    data or the cache, a place that cannot be written) and the study data are validated and
    built in this process (errors name the register and file). The notebooks then run into a
    staging folder beside ``out``; the report is published only when all of them ran and the
    disclosure audit found nothing, and a previous report is replaced only then.

    Parameters
    ----------
    out
        The report folder: absent, empty, or a report paleval wrote (replaced only when the new
        report is complete).
    data_dir
        Register files (a real extract or synthetic data). Default: ``data_synthetic/<preset>``,
        generated (seed 1) when absent.
    preset
        Synthetic preset used when ``data_dir`` is not given (``tiny``, ``small``, ``national``).
    start, end, lang, threshold, formats
        Study period, figure language (``en``/``da``), disclosure threshold, figure formats;
        passed to every notebook's parameters cell.
    rounding
        ``None`` (default), 5 or 10: published counts also rounded to that multiple (after
        suppression; every notebook's parameter ``rounding``).
    notebooks
        Names (stems such as ``"00_overview"``) to run; default all.
    notebook_dir
        Folder of the notebooks (default: those shipped with paleval).
    cache_dir
        Where the study frames are cached between notebooks (default ``<out>/../.paleval_cache``).
    jobs
        Notebooks run at the same time.
    log
        Where the run's lines go (default ``print``: standard output).
    progress
        Progress bars on standard error: the synthetic data (when generated), the study build
        (:func:`~paleval.report.study.load_study`) and one bar over the notebooks. ``None``
        (default): on in a terminal or a notebook, off otherwise; the environment variable
        ``PALEVAL_PROGRESS=0``/``1`` decides instead when set. The notebooks' kernels always
        run with progress off, so the executed notebooks hold no progress output.

    Returns
    -------
    pathlib.Path
        The report folder.

    Raises
    ------
    OutputFolderError
        ``out`` cannot be used (nothing was written).
    paleval.registers.RegisterValidationError, paleval.report.study.StudyDataError
        The data cannot give a study (no notebook ran; nothing was written).
    ReportError
        A notebook failed or the disclosure audit found small counts: nothing was published
        and a previous report is untouched; the partial output's folder is named.

    Examples
    --------
    >>> run_report("reports/tiny", preset="tiny")  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    if rounding not in (None, 5, 10):
        raise ValueError(f"rounding must be None, 5 or 10, got {rounding!r}")
    show = progress_enabled(progress)
    data_dir = _synthetic_data(preset, log, show) if data_dir is None else Path(data_dir)
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {str(data_dir)!r} does not exist")
    paths = _select(find_notebooks(notebook_dir), notebooks)
    raw = Path(out).expanduser().absolute()
    cache = Path(cache_dir).resolve() if cache_dir else raw.parent.resolve() / ".paleval_cache"
    target = _check_target(out, (data_dir, cache))
    report_id = uuid.uuid4().hex[:12]
    staging, created = _make_staging(target, report_id)
    new_cache = [] if cache.exists() else [cache]  # removed again if it stays empty
    params = {
        "data_dir": str(data_dir),
        "start": start,
        "end": end,
        "lang": lang,
        "threshold": int(threshold),
        "rounding": rounding,
        "formats": list(formats),
        "output_dir": str(staging),
        "cache_dir": str(cache),
    }
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    # the models are many small fits: one BLAS thread is much faster than several competing
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    kept: Path | None = None
    try:
        fingerprint = _preflight(data_dir, params, log, show)
        runs, failures = _run_notebooks(paths, staging, params, jobs, log, show)
        from paleval.report.study import data_fingerprint

        changed = data_fingerprint(data_dir) != fingerprint
        problem = _audit(staging, int(threshold), failures, changed)
        if problem is not None:
            kept = _keep_failed(staging, target, report_id)
            raise ReportError(
                problem.replace("):\n", f"); nothing published, partial output in {kept}:\n", 1),
                failures,
            )
        data = {"dir": str(data_dir), "fingerprint": fingerprint}
        _finish(staging, target, paths, params, data, runs, t_start)
        _write_marker(staging, report_id, "complete")
        try:
            _publish(staging, target, log)
        except OutputFolderError as exc:  # someone wrote into --out during the run
            kept = staging
            raise OutputFolderError(f"{exc}; the new report is kept in {staging}") from None
    except BaseException:
        if kept is None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(new_cache + created)
        raise
    log(f"report written to {target} in {time.perf_counter() - t_start:.1f} s")
    return target


def _title(nb_path: Path) -> str:
    for line in nb_path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return nb_path.stem


def _definitions_html(files: Sequence[Path]) -> str:
    """The definitions and options of each exported analysis (``definitions/*.json``), as a
    list; the definitions themselves are described in paleval's ``docs/methods.md``."""
    esc = html.escape
    items = []
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        opts = "; ".join(
            f"{k} = {json.dumps(v, sort_keys=True, default=str)}"
            for k, v in sorted(doc.get("params", {}).items())
            if v not in (None, [], {})
        )
        items.append(
            f'<li><a href="definitions/{esc(f.name)}">{esc(f.stem)}</a>: '
            f"{esc(doc.get('title', ''))}<br><small>{esc(opts)}</small></li>"
        )
    return (
        "<details><summary>Study definitions and options (described in paleval's "
        "docs/methods.md)</summary><ul>" + "".join(items) + "</ul></details>"
    )


def _index(root: Path, notebooks: Sequence[Path], manifest: dict[str, Any]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>paleval report</title>",
        "<style>body{font-family:DejaVu Sans,Arial,sans-serif;max-width:1100px;margin:2em auto;"
        "color:#222}h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;"
        "margin-top:2em}.figs{display:flex;flex-wrap:wrap;gap:12px}.fig{width:330px;"
        "border:1px solid #ddd;padding:6px;font-size:.8em}.fig img{width:100%}"
        "table{border-collapse:collapse;font-size:.85em}td,th{padding:2px 8px;"
        "border-bottom:1px solid #eee;text-align:left}</style></head><body>",
        "<h1>paleval report</h1>",
    ]
    p = manifest["parameters"]
    parts.append(
        "<table>"
        + "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>"
            for k, v in [
                ("data", manifest["data"]["dir"]),
                ("data fingerprint", manifest["data"]["fingerprint"][:16]),
                ("period", f"{p['start']} to {p['end']}"),
                ("disclosure threshold", p["threshold"]),
                ("rounding of counts", p.get("rounding") or "none"),
                ("language", p["lang"]),
                ("paleval", manifest["versions"]["paleval"]),
                ("total time (s)", manifest["timings"]["total_seconds"]),
            ]
        )
        + "</table>"
        + '<p><a href="manifest.json">manifest.json</a> (versions, parameters, checksums)</p>'
    )
    for nb in notebooks:
        stem = nb.stem
        prefix = stem.split("_", 1)[1] if "_" in stem else stem
        parts.append(f'<h2 id="{esc(stem)}">{esc(_title(nb))}</h2>')
        parts.append(
            f'<p>Notebook: <a href="notebooks/{esc(stem)}.html">{esc(stem)}.html</a> '
            f'(<a href="notebooks/{esc(stem)}.ipynb">ipynb</a>)</p>'
        )
        figs = sorted((root / "figures").glob(f"{prefix}*.png"))
        if figs:
            parts.append('<div class="figs">')
            for f in figs:
                others = [o for o in sorted(f.parent.glob(f"{f.stem}.*")) if o.suffix != ".png"]
                links = " ".join(
                    f'<a href="figures/{esc(o.name)}">{esc(o.suffix[1:])}</a>' for o in others
                )
                parts.append(
                    f'<div class="fig"><a href="figures/{esc(f.name)}">'
                    f'<img src="figures/{esc(f.name)}" alt="{esc(f.stem)}"></a>'
                    f"<br>{esc(f.stem)} {links}</div>"
                )
            parts.append("</div>")
        defs = sorted((root / "definitions").glob(f"{prefix}*.json"))
        if defs:
            parts.append(_definitions_html(defs))
        tabs = sorted((root / "tables").glob(f"{prefix}*.csv"))
        if tabs:
            parts.append("<p>Tables:</p><ul>")
            for t in tabs:
                x = t.with_suffix(".xlsx")
                xl = f' (<a href="tables/{esc(x.name)}">xlsx</a>)' if x.exists() else ""
                parts.append(f'<li><a href="tables/{esc(t.name)}">{esc(t.name)}</a>{xl}</li>')
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
