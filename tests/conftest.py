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


def _place_from_raw_files(data_dir: Path) -> dict[str, str]:
    """Each death's place of death computed from the raw DAR and plh files and the two code
    list CSV files, in plain Python (independently of paleval.cohort): the detailed code
    (C_PRAECIS_DODSSTED) where it is in the list ``place_of_death``; otherwise the coarse
    C_DODSSTED (list ``place_of_death_coarse``), whose home address (code 1) is the nursing
    home for a resident at death (a plh stay covering the death date), the own home for a
    non-resident, and the own home when residence is unknown (deaths before the nursing-home
    register begins on 2011-01-01); no usable code -> "unknown"."""
    import csv
    import datetime as dt
    from collections import defaultdict
    from importlib import resources

    def rows(name: str) -> list[dict[str, str]]:
        text = (resources.files("paleval.codes") / "data" / f"{name}.csv").read_text("utf-8")
        return list(csv.DictReader(text.splitlines()))

    detailed = {r["C_PRAECIS_DODSSTED"]: r["place"] for r in rows("place_of_death")}
    coarse = {r["C_DODSSTED"]: r for r in rows("place_of_death_coarse")}
    death = dict(pl.read_parquet(data_dir / "dod" / "*.parquet").select("PNR", "DODDATO").rows())
    stays: dict[str, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    if (data_dir / "plh").exists():
        for pnr, start, stop in (
            pl.read_parquet(data_dir / "plh" / "*.parquet")
            .select("PNR", "TILFLYT_DATO", "FRAFLYT_DATO")
            .rows()
        ):
            stays[pnr].append((start, stop))
    dar = pl.read_parquet(data_dir / "dodsaasg" / "*.parquet")
    out: dict[str, str] = {}
    for pnr, det, code in dar.select("PNR", "C_PRAECIS_DODSSTED", "C_DODSSTED").rows():
        if det is not None and det in detailed:
            out[pnr] = detailed[det]
            continue
        row = coarse.get(code.strip()) if code is not None else None
        if row is None:
            out[pnr] = "unknown"
            continue
        d = death[pnr]
        if not (data_dir / "plh").exists() or d < dt.date(2011, 1, 1):
            out[pnr] = row["place_residence_unknown"]
        elif any(s <= d and (e is None or e >= d) for s, e in stays[pnr]):
            out[pnr] = row["place_resident"]
        else:
            out[pnr] = row["place_not_resident"]
    return out


@pytest.fixture(scope="session")
def place_from_raw_files():
    """The function ``data_dir -> {PNR: place of death}`` computed from the raw files through
    the documented fallback to the coarse code (see ``_place_from_raw_files``)."""
    return _place_from_raw_files
