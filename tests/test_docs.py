"""The documentation: the site builds offline and strictly, and the tutorial's code runs.

The tutorial's code blocks are executed in order, in one namespace, in an empty folder, as a
reader would paste them; a block that fails or an API that changed fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def test_site_builds_strict_and_offline(tmp_path: Path) -> None:
    """`mkdocs build --strict`: every page, every API page (docstrings parsed), no warning.
    The theme's CDN script is off, so the built site references no external script."""
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert run.returncode == 0, run.stderr[-4000:]
    api = (site / "api" / "stats" / "index.html").read_text(encoding="utf-8")
    assert "fine_gray" in api and "modified_poisson" in api  # docstrings were rendered
    for page in site.rglob("*.html"):
        scripts = re.findall(r'<script[^>]+src="(https?:[^"]+)"', page.read_text("utf-8"))
        assert not scripts, f"{page.relative_to(site)} loads {scripts}"


def test_every_api_page_names_a_public_package() -> None:
    """Each subpackage of paleval has an API page, and nav lists them all."""
    packages = sorted(
        p.name for p in (ROOT / "src" / "paleval").iterdir() if (p / "__init__.py").exists()
    )
    pages = sorted(p.stem for p in (ROOT / "docs" / "api").glob("*.md"))
    assert pages == packages
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for p in packages:
        assert f"api/{p}.md" in nav


@pytest.mark.slow
def test_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(ROOT / "docs" / "tutorial.md")
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "tutorial"}
    for i, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"tutorial block {i}", "exec"), namespace)
        except Exception as exc:  # name the block that failed
            raise AssertionError(f"tutorial block {i} failed: {exc!r}\n{code}") from exc
    # what the tutorial claims it shows
    assert namespace["report"].ok
    assert namespace["check_output"]("out") == []
    assert any(p.suffix == ".png" for p in namespace["paths"])
