"""`paleval report`: headless notebooks, atomic output, disclosure control, reproducibility."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from paleval.cli import main
from paleval.disclosure import check_output
from paleval.report import REPORT_MARKER, ReportError, data_fingerprint, find_notebooks, run_report

NOTEBOOKS = [p.stem for p in find_notebooks()]


@pytest.fixture(scope="module")
def tiny_report(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return run_report(root / "out", data_dir=tiny_dir, cache_dir=root / "cache", log=lambda m: None)


def test_every_notebook_is_a_paired_percent_file_without_outputs() -> None:
    for path in find_notebooks():
        text = path.read_text(encoding="utf-8")
        assert "format_name: percent" in text, path
        assert '# %% tags=["parameters"]' in text, f"{path.name} has no parameters cell"
        for name in ("data_dir", "start", "end", "lang", "output_dir", "threshold"):
            assert f"\n{name} = " in text, f"{path.name}: parameter {name} missing"
    assert not list(Path(find_notebooks()[0].parent).glob("*.ipynb")), "no .ipynb committed"


def test_report_layout_and_index(tiny_report: Path) -> None:
    files = {p.relative_to(tiny_report).as_posix() for p in tiny_report.rglob("*") if p.is_file()}
    assert {"index.html", "manifest.json"} <= files
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb}.html" in files and f"notebooks/{nb}.ipynb" in files
    index = (tiny_report / "index.html").read_text()
    for f in files:
        if f.startswith(("figures/", "tables/")) and f.endswith((".png", ".csv")):
            assert f'"{f}"' in index, f"{f} not linked from the index"
    assert any(f.startswith("figures/overview_flow") for f in files)
    assert any(f.startswith("tables/overview_table1") for f in files)
    # every exported analysis states its definitions and options, and the index lists them
    defs = [f for f in files if f.startswith("definitions/")]
    assert defs
    for f in defs:
        doc = json.loads((tiny_report / f).read_text())
        assert doc["title"] and isinstance(doc["params"], dict)
        assert f'"{f}"' in index, f"{f} not listed in the index"
    tables = {f.split("/")[1].rsplit("_", 1)[0] for f in files if f.startswith("tables/")}
    assert any(d.split("/")[1][: -len(".json")] in tables for d in defs)
    # no partial or temporary folders are left beside the report, which carries its marker
    assert [p.name for p in tiny_report.parent.iterdir() if p.name.startswith(".out")] == []
    assert (tiny_report / REPORT_MARKER).is_file()


def test_every_exported_analysis_has_its_formatted_tables(tiny_report: Path) -> None:
    tables = tiny_report / "tables"
    names = {p.stem.removesuffix("_formatted") for p in tables.glob("*_formatted.csv")}
    defs = [p.stem for p in (tiny_report / "definitions").glob("*.json")]
    assert defs and all(d in names for d in defs), sorted(set(defs) - names)
    for stem in names:
        assert (tables / f"{stem}_formatted.xlsx").is_file(), stem
        cells = pl.read_csv(tables / f"{stem}_formatted.csv", infer_schema=False)
        # fixed decimals: the 12-digit floats of the tidy tables never reach a formatted one
        for v in cells.unpivot()["value"].drop_nulls():
            assert not re.search(r"\d[.,]\d{4,}", v), (stem, v)
    ratios = (tables / "place_of_death_gp_ratios_formatted.csv").read_text(encoding="utf-8")
    assert re.search(r"\d\.\d\d \(\d\.\d\d–\d\.\d\d\)", ratios)
    assert "95% CI" in ratios.splitlines()[0]


def test_manifest(tiny_report: Path, tiny_dir: Path) -> None:
    m = json.loads((tiny_report / "manifest.json").read_text())
    assert m["versions"]["paleval"] and m["versions"]["polars"]
    assert m["parameters"]["threshold"] == 5 and m["parameters"]["notebooks"] == NOTEBOOKS
    # the fingerprint of the register files read, never of the (possibly stale) manifest.json
    assert m["data"]["fingerprint"] == data_fingerprint(tiny_dir)
    assert (
        m["data"]["fingerprint"]
        != __import__("hashlib").sha256((tiny_dir / "manifest.json").read_bytes()).hexdigest()
    )
    listed = set(m["checksums"])
    on_disk = {
        p.relative_to(tiny_report).as_posix()
        for sub in ("figures", "tables", "definitions")
        for p in (tiny_report / sub).rglob("*")
        if p.is_file()
    }
    assert listed == on_disk and listed
    assert set(m["timings"]["notebooks"]) == set(NOTEBOOKS)


def test_report_passes_the_disclosure_checker(tiny_report: Path) -> None:
    assert check_output(tiny_report) == []
    assert main(["check-output", str(tiny_report)]) == 0


def test_checker_fails_on_a_planted_small_cell(tiny_report: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_report, copy)
    tab = next((copy / "tables").glob("*.csv"))
    pl.DataFrame({"group": ["a", "b"], "n": [3, 50]}).write_csv(tab)
    findings = check_output(copy)
    assert findings and Path(findings[0].file).name == tab.name
    assert main(["check-output", str(copy)]) == 1


def test_two_runs_give_identical_checksums(
    tiny_report: Path, tiny_dir: Path, tmp_path: Path
) -> None:
    again = run_report(
        tmp_path / "again", data_dir=tiny_dir, cache_dir=tmp_path / "cache2", log=lambda m: None
    )
    a = json.loads((tiny_report / "manifest.json").read_text())["checksums"]
    b = json.loads((again / "manifest.json").read_text())["checksums"]
    assert a == b
    # the executed notebooks too, byte for byte, although the two runs used other folders for
    # the report, its staging copy and the cache (no path, cell id or run time recorded)
    for nb in NOTEBOOKS:
        for ext in ("ipynb", "html"):
            first = (tiny_report / "notebooks" / f"{nb}.{ext}").read_bytes()
            assert first == (again / "notebooks" / f"{nb}.{ext}").read_bytes(), f"{nb}.{ext}"


def test_progress_bars_stay_out_of_the_executed_notebooks(
    tiny_report: Path,
    tiny_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # progress on in this process (argument and variable): the study's bar and one bar over
    # the notebooks on stderr; the executed notebook is the fixture's byte for byte (a run
    # without progress) and holds no progress output (the kernels run with progress off, see
    # the next test; the disclosure scrub also drops every stream output)
    monkeypatch.setenv("PALEVAL_PROGRESS", "1")
    nb = NOTEBOOKS[0]
    again = run_report(
        tmp_path / "progress",
        data_dir=tiny_dir,
        cache_dir=tiny_report.parent / "cache",  # the fixture's study, read from its cache
        notebooks=[nb],
        jobs=1,
        log=lambda m: None,
        progress=True,
    )
    out, err = capsys.readouterr()
    assert out == ""
    assert "study:" in err and "reading the cached study" in err
    assert "report (en):" in err and f", {nb}]" in err and "1/1" in err
    executed = (again / "notebooks" / f"{nb}.ipynb").read_bytes()
    assert executed == (tiny_report / "notebooks" / f"{nb}.ipynb").read_bytes()
    for name in NOTEBOOKS:
        doc = json.loads((tiny_report / "notebooks" / f"{name}.ipynb").read_text())
        stderr = [
            "".join(o["text"])
            for c in doc["cells"]
            for o in c.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"
        ]
        assert not [t for t in stderr if "%|" in t or "study:" in t], f"{name}: a progress bar"


def test_the_report_kernels_run_with_progress_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a kernel is a notebook, where progress is on by default, and the parent may have
    # PALEVAL_PROGRESS=1: the kernels the report starts must still run without bars (before
    # the disclosure scrub, which would hide them in the published notebooks)
    from paleval.report.runner import _execute

    nb = tmp_path / "probe.py"
    nb.write_text(
        "# %%\n"
        "from paleval._progress import Steps, in_notebook, progress_enabled\n"
        "print(in_notebook(), progress_enabled())\n"
        "with Steps('probe', 1) as bar:\n"
        "    bar.step('a step')\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PALEVAL_PROGRESS", "1")
    executed = tmp_path / "probe.ipynb"
    _execute(nb, executed, {}, tmp_path)
    outputs = [o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])]
    texts = {o.get("name"): "".join(o.get("text", "")) for o in outputs}
    assert texts.get("stdout") == "True False\n"  # in a kernel, switched off
    assert "stderr" not in texts, texts["stderr"]
    assert os.environ["PALEVAL_PROGRESS"] == "1"  # this process's setting is restored


def test_executed_notebooks_keep_their_figures_and_no_paths(
    tiny_report: Path, tiny_dir: Path
) -> None:
    root = str(tiny_report.parent)
    for nb in NOTEBOOKS:
        doc = json.loads((tiny_report / "notebooks" / f"{nb}.ipynb").read_text())
        cells = doc["cells"]
        plots = [c for c in cells if c["cell_type"] == "code" and ".plot(" in "".join(c["source"])]
        shown = [
            c for c in plots if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
        ]
        # every cell that draws shows its figure (the kernel must not inherit the Agg backend)
        assert len(shown) == len(plots), f"{nb}: {len(plots) - len(shown)} plot cell(s) blank"
        assert [c["id"] for c in cells] == [f"cell-{i:03d}" for i in range(len(cells))]
        text = (tiny_report / "notebooks" / f"{nb}.ipynb").read_text()
        assert root not in text and str(tiny_dir) not in text, f"{nb} records a folder"
        assert 'data_dir = \\"<data>\\"' in text  # the injected parameters name no folder
    html_text = (tiny_report / "notebooks" / f"{NOTEBOOKS[1]}.html").read_text()
    assert "data:image/png;base64," in html_text


def test_a_failing_notebook_fails_the_run_and_leaves_no_report(
    tiny_dir: Path, tmp_path: Path
) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    src = find_notebooks()[0]
    shutil.copy(src, nbs / src.name)
    (nbs / "99_broken.py").write_text(
        src.read_text().split("# %%\n", 1)[0] + '# %%\nraise RuntimeError("planted failure")\n'
    )
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="99_broken: RuntimeError: planted failure") as err:
        run_report(
            out, data_dir=tiny_dir, notebook_dir=nbs, cache_dir=tmp_path / "c", log=lambda m: None
        )
    assert [f.name for f in err.value.failures] == ["99_broken"]
    assert not out.exists()
    assert (tmp_path / "out.failed" / "notebooks" / "99_broken.html").is_file()
    assert (tmp_path / "out.failed" / REPORT_MARKER).is_file()


def test_unknown_notebook_name_is_a_clear_error(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown notebooks"):
        run_report(tmp_path / "o", data_dir=tiny_dir, notebooks=["nope"], log=lambda m: None)


def _english_label_values(tables: Path) -> list[tuple[str, str, str]]:
    """Cells of the Danish formatted tables that are an English label (or the raw key) the
    label registry knows a different Danish word for: (file, cell, Danish label)."""
    from paleval.plots import LABELS

    english = {}
    for key, (en, da) in LABELS.items():
        if en != da:
            english.setdefault(en, da)
            english.setdefault(key, da)
    found = []
    for path in sorted(tables.glob("*_formatted.csv")):
        cells = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
        for cell in cells.unpivot()["value"].drop_nulls().unique().sort().to_list():
            if cell in english:
                found.append((path.name, cell, english[cell]))
    return found


def test_danish_report(tiny_dir: Path, tmp_path: Path) -> None:
    out = run_report(
        tmp_path / "da",
        data_dir=tiny_dir,
        lang="da",
        cache_dir=tmp_path / "c",
        log=lambda m: None,
    )
    # every analysis's Danish formatted table: no label value left in English when the
    # registry has a Danish word for it (group names, places, levels, categories)
    assert _english_label_values(out / "tables") == []
    table1 = pl.read_csv(out / "tables" / "overview_table1_formatted.csv")
    assert "Kræft" in " ".join(table1.columns)
    # Danish formatted tables: decimal comma, "." for thousands, Danish labels and footnotes
    ind = (out / "tables" / "indicators_by_year_formatted.csv").read_text(encoding="utf-8")
    assert re.search(r"\d,\d \(\d+,\d–\d+,\d\)", ind) and not re.search(r"\d\.\d\b", ind)
    assert "Andele og kumulerede incidenser i procent." in ind
    svg = (out / "figures" / "indicators_by_year_trends.svg").read_text()
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "da"
    assert svg.count("<path") > 10
