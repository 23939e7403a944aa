"""Shared fixtures: synthetic data sets generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from paleval.synth import SynthConfig, generate


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``tiny`` preset, seed 1, with messiness (the default)."""
    out = tmp_path_factory.mktemp("tiny") / "data"
    generate(SynthConfig.from_preset("tiny", seed=1), out)
    return out


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``small`` preset, seed 1 (about 40 s to generate)."""
    out = tmp_path_factory.mktemp("small") / "data"
    generate(SynthConfig.from_preset("small", seed=1), out)
    return out
