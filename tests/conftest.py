"""Shared fixtures: synthetic data sets generated once per test session."""

from __future__ import annotations

from pathlib import Path

import polars as pl
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


def _end_of_life(data_dir: Path) -> pl.DataFrame:
    from paleval.cohort import END_OF_LIFE_REGISTERS, end_of_life_cohort
    from paleval.registers import (
        deduplicate_contacts,
        lpr_contacts,
        lpr_diagnoses,
        scan_registers,
    )

    keys = [*END_OF_LIFE_REGISTERS, *(["plh"] if (data_dir / "plh").exists() else [])]
    regs = scan_registers(data_dir, keys)
    contacts, _ = deduplicate_contacts(lpr_contacts(data_dir))
    return end_of_life_cohort(regs, contacts, lpr_diagnoses(data_dir)).collect()


@pytest.fixture(scope="session")
def eol_tiny(tiny_dir: Path) -> pl.DataFrame:
    """The end-of-life cohort (all exposures) of the ``tiny`` data, collected."""
    return _end_of_life(tiny_dir)


@pytest.fixture(scope="session")
def eol_small(small_dir: Path) -> pl.DataFrame:
    """The end-of-life cohort (all exposures) of the ``small`` data, collected."""
    return _end_of_life(small_dir)


@pytest.fixture(scope="session")
def truth_small(small_dir: Path) -> dict:
    """The generator's ground truth (``truth.json``) of the ``small`` data."""
    import json

    return json.loads((small_dir / "truth.json").read_text())


@pytest.fixture(scope="session")
def incident_small(small_dir: Path) -> dict[str, pl.DataFrame]:
    """Incident cancer and non-cancer cohorts of the ``small`` data, collected (the non-cancer
    cohort on markers of advanced disease; emigration censored when the data have ``vnds``)."""
    from paleval.cohort import incident_cancer_cohort, incident_noncancer_cohort
    from paleval.registers import (
        RegisterLoadError,
        find_register_files,
        lpr_contacts,
        lpr_diagnoses,
        scan_registers,
    )

    keys = ["car", "bef", "dod", "dpd", "udda", "faik"]
    try:
        find_register_files(small_dir, "vnds")
        keys.append("vnds")
    except RegisterLoadError:
        pass
    regs = scan_registers(small_dir, keys)
    noncancer = incident_noncancer_cohort(
        regs, lpr_diagnoses(small_dir), contacts=lpr_contacts(small_dir)
    )
    return {"cancer": incident_cancer_cohort(regs).collect(), "noncancer": noncancer.collect()}
