"""`paleval report`: run every notebook headless and assemble a self-contained report.

The run writes into a temporary folder beside the target and moves it into place only when
every notebook ran and the disclosure check passed, so a half-written report never looks
complete (a failed run is kept as ``<out>.failed`` for inspection). Output::

    out/
      index.html            links to everything below, with figure thumbnails
      manifest.json         versions, parameters, data fingerprint, checksums, timings
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["NotebookFailure", "ReportError", "find_notebooks", "run_report"]

_PACKAGES = (
    "paleval", "polars", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib", "pandas",
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
    secs = time.perf_counter() - t0
    if executed.exists():
        _strip_volatile(executed)
        _to_html(executed, tmp / "notebooks" / f"{nb_path.stem}.html")
    tail = "" if ok else "\n".join(lines[-15:])
    return _Run(nb_path.stem, round(secs, 1), ok, err, tail)


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


def _strip_volatile(path: Path) -> None:
    """Remove run times from an executed notebook so reruns differ only where results do."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
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


def run_report(
    out: str | Path = "reports/latest",
    *,
    data_dir: str | Path | None = None,
    preset: str = "small",
    start: str = "2010-01-01",
    end: str = "2024-12-31",
    lang: str = "en",
    threshold: int = 5,
    formats: Sequence[str] = ("png", "svg"),
    notebooks: Sequence[str] | None = None,
    notebook_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    jobs: int = 2,
    log: Callable[[str], None] = print,
) -> Path:
    """Run the report notebooks headless on a data folder and write the report to ``out``.

    Parameters
    ----------
    out
        The report folder (replaced only when the new report is complete).
    data_dir
        Register files (a real extract or synthetic data). Default: ``data_synthetic/<preset>``,
        generated (seed 1) when absent.
    preset
        Synthetic preset used when ``data_dir`` is not given (``tiny``, ``small``, ``national``).
    start, end, lang, threshold, formats
        Study period, figure language (``en``/``da``), disclosure threshold, figure formats;
        passed to every notebook's parameters cell.
    notebooks
        Names (stems such as ``"00_overview"``) to run; default all.
    notebook_dir
        Folder of the notebooks (default: those shipped with paleval).
    cache_dir
        Where the study frames are cached between notebooks (default ``<out>/../.paleval_cache``).
    jobs
        Notebooks run at the same time after the first (which builds the cached study data).

    Returns
    -------
    pathlib.Path
        The report folder.

    Examples
    --------
    >>> run_report("reports/tiny", preset="tiny")  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    out = Path(out).resolve()
    if data_dir is None:
        data_dir = Path("data_synthetic") / preset
        if not (Path(data_dir) / "manifest.json").is_file():
            from paleval.synth import SynthConfig, generate

            log(f"generating the synthetic '{preset}' data in {data_dir} (seed 1) ...")
            t0 = time.perf_counter()
            generate(SynthConfig.from_preset(preset, seed=1), data_dir)
            log(f"  done in {time.perf_counter() - t0:.1f} s")
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {str(data_dir)!r} does not exist")
    paths = find_notebooks(notebook_dir)
    if notebooks:
        wanted = set(notebooks)
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            raise ValueError(f"unknown notebooks {sorted(unknown)}; have {[p.stem for p in paths]}")
        paths = [p for p in paths if p.stem in wanted]
    cache = Path(cache_dir).resolve() if cache_dir else out.parent / ".paleval_cache"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "notebooks").mkdir(parents=True)

    from paleval.report.study import data_fingerprint

    params = {
        "data_dir": str(data_dir),
        "start": start,
        "end": end,
        "lang": lang,
        "threshold": int(threshold),
        "formats": list(formats),
        "output_dir": str(tmp),
        "cache_dir": str(cache),
    }
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    # the models are many small fits: one BLAS thread is much faster than several competing
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    runs: list[_Run] = []
    failures: list[NotebookFailure] = []

    # The first notebook builds the cached study data alone; the rest run `jobs` at a time.
    def record(run: _Run) -> None:
        runs.append(run)
        head = f"[{len(runs)}/{len(paths)}] {run.name}"
        if run.ok:
            log(f"{head}: ok in {run.seconds:.1f} s")
            return
        log(f"{head}: FAILED after {run.seconds:.1f} s: {run.error}")
        if run.log_tail:
            log("      kernel log (end):\n" + run.log_tail)
        executed = tmp / "notebooks" / f"{run.name}.ipynb"
        failures.append(NotebookFailure(run.name, run.error, executed))

    first, rest = paths[:1], paths[1:]
    for nb in first + (rest if jobs <= 1 else []):
        log(f"{nb.stem} ...")
        record(_run_one(nb, tmp, params))
    if jobs > 1 and rest:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        log(f"{', '.join(p.stem for p in rest)} ({jobs} at a time) ...")
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_run_one, nb, tmp, params) for nb in rest]
            for f in as_completed(futures):
                record(f.result())
    runs.sort(key=lambda r: r.name)
    failures.sort(key=lambda f: f.name)

    from paleval.disclosure import check_output

    findings = check_output(tmp, threshold=threshold)
    if failures or findings:
        failed = out.parent / f"{out.name}.failed"
        if failed.exists():
            shutil.rmtree(failed)
        tmp.rename(failed)
        msgs = [f"{f.name}: {f.error}" for f in failures]
        msgs += [f"disclosure: {f}" for f in findings[:10]]
        raise ReportError(
            f"the report is incomplete ({len(failures)} notebook(s) failed, "
            f"{len(findings)} disclosure finding(s)); partial output kept in {failed}:\n  "
            + "\n  ".join(msgs),
            failures,
        )

    files = sorted(
        p
        for sub in ("figures", "tables", "definitions")
        for p in (tmp / sub).rglob("*")
        if p.is_file()
    )
    manifest = {
        "paleval_report": 1,
        "versions": _versions(),
        "parameters": {**params, "output_dir": str(out), "notebooks": [p.stem for p in paths]},
        "data": {"dir": str(data_dir), "fingerprint": data_fingerprint(data_dir)},
        "checksums": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
        "timings": {
            "notebooks": {r.name: r.seconds for r in runs},
            "total_seconds": round(time.perf_counter() - t_start, 1),
        },
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (tmp / "index.html").write_text(_index(tmp, paths, manifest), encoding="utf-8")
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
    log(f"report written to {out} in {time.perf_counter() - t_start:.1f} s")
    return out


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
