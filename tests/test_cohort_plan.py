"""The decedent cohort's plan reads each register a fixed number of times (issue 13: national
build time). Chained additions used to nest the cohort plan in each other, so the optimised
plan read BEF nine times and DOD sixteen times with the nursing-home register."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from paleval.cohort import decedent_cohort
from paleval.registers import scan_registers


def _scans(lf: pl.LazyFrame, folders: list[str]) -> Counter:
    """Parquet scans of each register folder per file in the optimised streaming plan."""
    plan = lf.explain(engine="streaming")
    files = re.findall(r"Parquet SCAN \[([^\]]*)\]", plan)
    out: Counter = Counter()
    for f in files:
        for folder in folders:
            if f"/{folder}/" in f:
                out[folder] += 1
    return out


@pytest.mark.parametrize("lag", [1, 3])
def test_each_register_is_read_a_fixed_number_of_times(tiny_dir: Path, lag: int) -> None:
    keys = ["dod", "dodsaasg", "bef", "udda", "faik", "plh"]
    regs = scan_registers(tiny_dir, keys)
    files = {k: len(list((tiny_dir / k).glob("*.parquet"))) for k in keys}
    scans = _scans(decedent_cohort(regs, income_lag=lag).frame, keys)
    per_file = {k: scans[k] / files[k] for k in keys}
    # BEF: the residents the year before death, and the family of the income year
    assert per_file["bef"] <= 2, per_file
    assert per_file["dodsaasg"] == 1, per_file
    assert per_file["udda"] == per_file["faik"] == per_file["plh"] == 1, per_file
    # DOD is small: the deaths, and the keys of the three per-person tables
    assert per_file["dod"] <= 5, per_file


def test_incident_cohorts_read_each_register_once(tiny_dir: Path) -> None:
    """The incident cohorts' entrants joined to BEF, DOD, DPD and VNDS are collected once when
    the cohort is built, and nursing home and education are tables of the entrants joined side
    by side: the frame's plan reads UDDA, FAIK and plh once per file and BEF, DOD, DPD and VNDS
    not at all. The chained additions copied the plan into itself (BEF, DOD, DPD and VNDS
    eight times, plh four times, UDDA twice)."""
    from paleval.cohort import incident_cancer_cohort, incident_noncancer_cohort
    from paleval.registers import lpr_contacts, lpr_diagnoses

    keys = ["car", "bef", "dod", "dpd", "udda", "faik", "plh", "vnds"]
    regs = scan_registers(tiny_dir, keys)
    files = {k: len(list((tiny_dir / k).glob("*.parquet"))) for k in keys}
    cohorts = {
        "cancer": incident_cancer_cohort(regs),
        "noncancer": incident_noncancer_cohort(
            regs, lpr_diagnoses(tiny_dir), contacts=lpr_contacts(tiny_dir)
        ),
    }
    for name, cohort in cohorts.items():
        scans = _scans(cohort.frame, keys)
        per_file = {k: scans[k] / files[k] for k in keys}
        assert per_file["udda"] == per_file["faik"] == per_file["plh"] == 1, (name, per_file)
        assert per_file["bef"] == per_file["dod"] == per_file["dpd"] == 0, (name, per_file)
        assert per_file["vnds"] == 0, (name, per_file)
