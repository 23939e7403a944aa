"""The offline install recipe of `docs/offline_install.md`, run as written.

A wheelhouse is built with pip (on CI, from the package index or pip's cache: the "connected
machine"), then the source tree is installed into a new virtual environment with ``--no-index``
and no other package source (the "server"). The test fails if the recipe misses a runtime
dependency or the build backend, or if the installed command does not start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """The environment without pip settings that would add a package source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    run = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"{' '.join(args)}\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    return run.stdout


def test_source_tree_installs_from_a_wheelhouse_without_an_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    # the connected machine: the recipe's command (without the notebooks extra, to save time)
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(wheelhouse), str(ROOT), "hatchling"],
        dict(os.environ),
        tmp_path,
    )
    assert any(p.name.startswith("hatchling-") for p in wheelhouse.iterdir())
    # a copy of what the build reads, so the install cannot touch the checkout
    src = tmp_path / "paleval-src"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    shutil.copytree(ROOT / "notebooks", src / "notebooks", ignore=ignore)
    # the server: a new venv, no index, only the wheelhouse
    env = _clean_env()
    server = tmp_path / "server"
    venv.EnvBuilder(with_pip=True).create(server)
    python = str(server / "bin" / "python")
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            str(src),
        ],
        env,
        tmp_path,
    )
    assert "usage: paleval" in _run([str(server / "bin" / "paleval"), "--help"], env, tmp_path)
    packages = sorted(
        p.name for p in (ROOT / "src" / "paleval").iterdir() if (p / "__init__.py").exists()
    )
    code = "import importlib\n" + "".join(
        f"importlib.import_module('paleval.{p}')\n" for p in packages
    )
    _run([python, "-c", code], env, tmp_path)
