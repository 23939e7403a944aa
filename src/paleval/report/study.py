"""The study data every report notebook starts from, built once per data set and cached.

:func:`load_study` scans a folder of register files (parquet, CSV or SAS: whatever the loaders
find), validates them, builds the end-of-life cohort with all exposures and the incident
cohorts, and caches the collected frames as parquet keyed by a fingerprint of the input files
and the parameters. The first notebook of a report pays for the build; the others read the
cache. On a research server the cache lives beside the report's working files, never in the
exported output.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["StudyData", "data_fingerprint", "load_study"]

_CACHE_VERSION = "4"  # 2: the LPR registers are validated too; 3: incident non-cancer
# cohort on markers of advanced disease, censoring at new cancer and emigration; 4: declared
# coverage gaps, practice propensity before death, income 3 years before death, age 80-89/90+


def data_fingerprint(data_dir: str | Path) -> str:
    """A SHA-256 fingerprint of a data folder: the synthetic ``manifest.json`` when present
    (it holds every file's SHA-256), otherwise the relative path, size and modification time of
    every file (fast on national extracts).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "dod2015.csv").write_text("PNR\\n")
    >>> len(data_fingerprint(d))
    64
    """
    data_dir = Path(data_dir)
    h = hashlib.sha256()
    manifest = data_dir / "manifest.json"
    if manifest.is_file():
        h.update(manifest.read_bytes())
        return h.hexdigest()
    for p in sorted(data_dir.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(data_dir).parts):
            st = p.stat()
            h.update(
                f"{p.relative_to(data_dir).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
    return h.hexdigest()


@dataclass
class StudyData:
    """Collected study frames for the report notebooks.

    Attributes
    ----------
    decedents
        The end-of-life cohort (:func:`paleval.cohort.end_of_life_cohort`), one row per adult
        decedent.
    incident_cancer, incident_noncancer
        Incident cohorts from diagnosis (:mod:`paleval.cohort.incident`).
    dpd
        The DPD referrals (referral level) as loaded.
    flow
        The decedent cohort's flow table (``step, label, n, excluded``).
    validation
        The validation findings table (rule, register, column, count, action).
    params
        Data folder, period, fingerprint and build time.
    """

    decedents: pl.DataFrame
    incident_cancer: pl.DataFrame
    incident_noncancer: pl.DataFrame
    dpd: pl.DataFrame
    flow: pl.DataFrame
    validation: pl.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    _FRAMES = ("decedents", "incident_cancer", "incident_noncancer", "dpd", "flow", "validation")

    def flow_object(self) -> Any:
        """The flow as a :class:`paleval.cohort.Flow` (for ``.plot()``)."""
        from paleval.cohort import Flow

        f = Flow()
        rows = self.flow.iter_rows(named=True)
        first = next(rows)
        f.start(first["label"], first["n"])
        for r in rows:
            f.exclude(r["label"].removeprefix("Excluded: "), r["n"])
        return f

    def __repr__(self) -> str:
        return (
            f"<StudyData {self.params.get('data_dir')} {self.params.get('start')}.."
            f"{self.params.get('end')}: {self.decedents.height:,} decedents, "
            f"{self.incident_cancer.height:,} incident cancer, "
            f"{self.incident_noncancer.height:,} incident non-cancer, "
            f"{self.dpd.height:,} DPD referrals>"
        )


LPR_REGISTERS = ("lpr_adm", "lpr_diag", "lpr_f_kontakter", "lpr_f_diagnoser", "sor")
"""The LPR registers a study reads through ``lpr_contacts`` and ``lpr_diagnoses`` (validated
when delivered)."""


def _build(
    data_dir: Path,
    start: str,
    end: str,
    eol_options: dict[str, Any],
    validation_cache: Path | None = None,
) -> StudyData:
    from paleval.cohort import (
        END_OF_LIFE_REGISTERS,
        charlson_codes,
        end_of_life_cohort,
        incident_cancer_cohort,
        incident_noncancer_cohort,
    )
    from paleval.cohort.incident import advanced_disease_codes
    from paleval.registers import (
        RegisterLoadError,
        find_register_files,
        lpr_contacts,
        lpr_diagnoses,
        scan_registers,
        validate,
    )

    def delivered(key: str) -> bool:
        try:
            find_register_files(data_dir, key)
        except RegisterLoadError:
            return False
        return True

    keys = sorted({*END_OF_LIFE_REGISTERS, "car"})
    # the incident cohorts censor at emigration when DST's migration register is delivered
    keys += [k for k in ("vnds",) if delivered(k)]
    # rows that the validation rules of severity "exclude" drop are dropped here, and counted
    # in the validation report (study.validation); that covers the LPR files the contacts and
    # diagnoses come from (LPR2, LPR3 or both may be delivered)
    regs = scan_registers(data_dir, keys, exclude=True)
    lpr = [k for k in LPR_REGISTERS if delivered(k)]
    # the validation depends on the files only: a second study of the same files (other
    # options) reuses the findings of the first, which passed (errors are never cached)
    if validation_cache is not None and validation_cache.is_file():
        findings = pl.read_parquet(validation_cache)
    else:
        report = validate(data_dir, keys + lpr)
        report.raise_if_errors()
        findings = report.findings.drop("examples")
        if validation_cache is not None:
            tmp = validation_cache.with_name(f".{validation_cache.name}-{os.getpid()}")
            findings.write_parquet(tmp)
            tmp.replace(validation_cache)
    # exact duplicate contacts (counted by validate) are dropped by add_hospital_use
    contacts = lpr_contacts(data_dir, exclude=True)
    # only the diagnoses each cohort can use are joined to their contacts
    diagnoses = lpr_diagnoses(data_dir, exclude=True, codes=charlson_codes())
    eol = end_of_life_cohort(regs, contacts, diagnoses, start=start, end=end, **eol_options)
    cancer = incident_cancer_cohort(regs, start=start, end=end)
    # markers of advanced disease, and the cancer codes for the exclusion and censoring; the
    # COPD marker needs the contact type (acute inpatient)
    noncancer = incident_noncancer_cohort(
        regs,
        lpr_diagnoses(data_dir, exclude=True, codes=advanced_disease_codes()),
        contacts=contacts,
        start=start,
        end=end,
    )
    return StudyData(
        decedents=eol.collect(),
        incident_cancer=cancer.collect(),
        incident_noncancer=noncancer.collect(),
        dpd=regs["dpd"].collect(engine="streaming"),
        flow=eol.flow.table,
        validation=findings,
    )


def load_study(
    data_dir: str | Path,
    *,
    start: str = "2010-01-01",
    end: str = "2024-12-31",
    cache_dir: str | Path | None = None,
    gp_offset_days: int = 0,
    gp_before_final_admission: bool = False,
) -> StudyData:
    """Build (or read from the cache) the study frames of a register data folder.

    Parameters
    ----------
    data_dir
        Folder of register files (synthetic or a real extract; parquet, CSV or SAS).
    start, end
        The study period (deaths and diagnoses).
    cache_dir
        Where to keep the collected frames (default: environment variable
        ``PALEVAL_CACHE_DIR``, else ``data_dir/.paleval_cache`` when writable, else no cache).
    gp_offset_days, gp_before_final_admission
        Lagged GP windows of the decedents' exposures (:func:`paleval.cohort.end_of_life_cohort`):
        the windows end ``gp_offset_days`` before death, or before the final hospital
        admission, against reverse causation (``docs/methods.md``). Each choice is its own
        cached study; the validation of the files is shared.

    Examples
    --------
    >>> study = load_study("data_synthetic/small")  # doctest: +SKIP
    >>> study.decedents.height  # doctest: +SKIP
    24197
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {str(data_dir)!r} does not exist")
    fp = data_fingerprint(data_dir)
    if isinstance(gp_offset_days, bool) or not isinstance(gp_offset_days, int):
        raise TypeError(f"gp_offset_days must be a whole number of days, got {gp_offset_days!r}")
    if gp_offset_days < 0:
        raise ValueError(f"gp_offset_days must be 0 or more, got {gp_offset_days}")
    eol_options = {
        "gp_offset_days": gp_offset_days,
        "gp_before_final_admission": bool(gp_before_final_admission),
    }
    opts = json.dumps(eol_options, sort_keys=True)
    key = hashlib.sha256(f"{_CACHE_VERSION}|{fp}|{start}|{end}|{opts}".encode()).hexdigest()[:16]
    cache = _cache_dir(data_dir, cache_dir)
    params = {
        "data_dir": str(data_dir),
        "start": start,
        "end": end,
        "fingerprint": fp,
        **eol_options,
    }
    if cache is not None:
        folder = cache / f"study-{key}"
        if (folder / "params.json").is_file():
            frames = {k: pl.read_parquet(folder / f"{k}.parquet") for k in StudyData._FRAMES}
            return StudyData(**frames, params=json.loads((folder / "params.json").read_text()))
    t0 = time.perf_counter()
    vkey = hashlib.sha256(f"{_CACHE_VERSION}|{fp}".encode()).hexdigest()[:16]
    vcache = cache / f"validation-{vkey}.parquet" if cache is not None else None
    study = _build(data_dir, start, end, eol_options, vcache)
    study.params = {**params, "build_seconds": round(time.perf_counter() - t0, 1)}
    if cache is not None:
        tmp = cache / f".study-{key}-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        for k in StudyData._FRAMES:
            getattr(study, k).write_parquet(tmp / f"{k}.parquet")
        (tmp / "params.json").write_text(json.dumps(study.params, indent=1))
        try:
            tmp.rename(cache / f"study-{key}")
        except OSError:  # another process cached it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return study


def _cache_dir(data_dir: Path, cache_dir: str | Path | None) -> Path | None:
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        return Path(cache_dir)
    env = os.environ.get("PALEVAL_CACHE_DIR")
    if env:
        Path(env).mkdir(parents=True, exist_ok=True)
        return Path(env)
    if os.access(data_dir, os.W_OK):
        return data_dir / ".paleval_cache"
    return None
