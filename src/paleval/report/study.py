"""The study data every report notebook starts from, built once per data set and cached.

:func:`load_study` scans a folder of register files (parquet, CSV or SAS: whatever the loaders
find), validates them (every error listed, and a register file that gives no row refused by
name), builds the end-of-life cohort with all exposures and the incident cohorts, and caches the
collected frames as parquet keyed by a fingerprint of the register files read (path, size,
modification time, content hash) and the parameters. ``paleval report`` builds it once before
any notebook runs; the notebooks read the cache. On a research server the cache lives beside
the report's working files, never in the exported output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from paleval._progress import Steps
from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START

__all__ = [
    "StudyData",
    "StudyDataError",
    "data_fingerprint",
    "load_study",
    "register_file_entries",
    "study_registers",
]

_CACHE_VERSION = "7"  # 2: the LPR registers are validated too; 3: incident non-cancer
# cohort on markers of advanced disease, censoring at new cancer and emigration; 4: declared
# coverage gaps, practice propensity before death, income 3 years before death, age 80-89/90+;
# 5: keyed by the register files read (size, mtime, content hash), not manifest.json;
# 6: nursing-home residence unknown before the register begins, residence in the incident cohorts
# 7: care in the last year of life (care_use, care_unknown, Earle's counts in decedents)


_SAMPLE = 1 << 20  # bytes hashed at each end of a register file


def _file_digest(path: Path) -> str:
    """A cheap content hash of one file: SHA-256 of its first and last MiB (the whole file when
    smaller than 2 MiB); for parquet at least the whole footer (the file metadata: schema, row
    counts, column-chunk offsets and min/max statistics), so a rewritten data page that changes
    a chunk's size or statistics changes the digest."""
    h = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= 2 * _SAMPLE:
            h.update(f.read())
            return h.hexdigest()
        tail = _SAMPLE
        if path.suffix.lower() == ".parquet":
            f.seek(size - 8)
            trailer = f.read(8)
            if trailer[4:] == b"PAR1":
                tail = max(tail, min(size, int.from_bytes(trailer[:4], "little") + 8))
        f.seek(0)
        h.update(f.read(_SAMPLE))
        f.seek(size - tail)
        h.update(f.read(tail))
    return h.hexdigest()


def register_file_entries(
    data_dir: str | Path, keys: Iterable[str] | None = None
) -> list[tuple[str, ...]]:
    """What the study cache is keyed by: for every register ``keys`` (default: all in the
    register model), each file :func:`paleval.registers.find_register_files` returns, as
    ``(register, relative path, size, modification time in ns, content digest)``, or
    ``(register, "not delivered: <reason>")`` when it finds none.

    ``manifest.json`` and any other file the loaders do not read play no part.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "dod.csv").write_text("PNR;DODDATO\\n")
    >>> e = register_file_entries(d, ["dod", "bef"])
    >>> e[0][0], e[0][1].split(":")[0], e[1][:3]
    ('bef', 'not delivered', ('dod', 'dod.csv', '12'))
    """
    from paleval.registers import REGISTERS, RegisterLoadError, find_register_files

    data_dir = Path(data_dir)
    entries: list[tuple[str, ...]] = []
    for key in sorted(REGISTERS if keys is None else set(keys)):
        try:
            files = find_register_files(data_dir, key)
        except RegisterLoadError as exc:
            # the reason without the folder's own path (a moved extract keeps its cache)
            entries.append((key, f"not delivered: {exc}".replace(str(data_dir), "<data>")))
            continue
        for f in files:
            st = f.path.stat()
            rel = os.path.relpath(f.path, data_dir)
            entries.append((key, rel, str(st.st_size), str(st.st_mtime_ns), _file_digest(f.path)))
    return entries


def data_fingerprint(data_dir: str | Path, keys: Iterable[str] | None = None) -> str:
    """A SHA-256 fingerprint of the register files of a data folder: path, size, modification
    time (ns) and a cheap content hash (first and last MiB, the parquet footer) of every file
    the loaders read (:func:`register_file_entries`). Never taken from ``manifest.json``, which
    can be stale.

    Examples
    --------
    >>> import tempfile, os
    >>> d = Path(tempfile.mkdtemp()); f = d / "dod.csv"; _ = f.write_text("PNR;DODDATO\\n")
    >>> a = data_fingerprint(d)
    >>> _ = f.write_text("PNR;DODDATO\\n1;2\\n"); a == data_fingerprint(d)
    False
    >>> _ = (d / "manifest.json").write_text("{}"); len(data_fingerprint(d))
    64
    """
    h = hashlib.sha256()
    for entry in register_file_entries(data_dir, keys):
        h.update(("\0".join(entry) + "\n").encode())
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
    care_use
        Care week by week in the last year of life, per decedent (sparse:
        :func:`paleval.cohort.weekly_care_use`, every measure).
    care_unknown
        Decedents whose care measure is unknown (a declared coverage gap:
        :func:`paleval.cohort.care_use_unknown`).
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
    care_use: pl.DataFrame
    care_unknown: pl.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    _FRAMES = (
        "decedents",
        "incident_cancer",
        "incident_noncancer",
        "dpd",
        "flow",
        "validation",
        "care_use",
        "care_unknown",
    )

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

OPTIONAL_REGISTERS = ("vnds", "plh", *LPR_REGISTERS)
"""Registers a study reads when they are delivered (emigration censoring; nursing-home
residence; LPR2, LPR3 or both)."""


class StudyDataError(Exception):
    """The data cannot give a study: a register file the study reads has no data rows, or
    validation excludes every row of it. ``problems`` lists one line per register file.

    Examples
    --------
    >>> print(StudyDataError(Path("x"), ["register 'dod', file dod.csv: no data rows"]))
    the study data in x cannot be used (1 problem):
      register 'dod', file dod.csv: no data rows
    """

    def __init__(self, data_dir: Path, problems: list[str]) -> None:
        self.data_dir = data_dir
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"the study data in {data_dir} cannot be used ({n} problem{'s' * (n != 1)}):\n  "
            + "\n  ".join(self.problems)
        )


def study_registers(data_dir: str | Path) -> list[str]:
    """The registers :func:`load_study` reads from ``data_dir``: those of the end-of-life cohort
    and the cancer register (required), then the optional ones delivered
    (:data:`OPTIONAL_REGISTERS`).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "vnds").mkdir()
    >>> _ = (d / "vnds" / "vnds.csv").write_text("PNR\\n")
    >>> keys = study_registers(d)
    >>> "dod" in keys, "vnds" in keys, "lpr_adm" in keys
    (True, True, False)
    """
    from paleval.cohort import END_OF_LIFE_REGISTERS
    from paleval.registers import RegisterLoadError, register_delivered

    def delivered(key: str) -> bool:
        # delivered = at least one file of the register, read or refused: a refused file is
        # then validation's error finding (listed with every other finding), never a silently
        # missing register, and never an exception that hides the other registers' findings
        try:
            return register_delivered(data_dir, key)
        except RegisterLoadError:
            return True

    keys = sorted({*END_OF_LIFE_REGISTERS, "car"})
    return keys + [k for k in OPTIONAL_REGISTERS if k not in keys and delivered(k)]


def _empty_files(data_dir: Path, keys: list[str], findings: pl.DataFrame) -> list[str]:
    """Register deliveries the study reads that give no row: a year (or a register delivered
    once) whose files have no data rows (validation's ``no_rows``), or whose every row the
    loaders' exclusion filter drops. A year delivered in parts is judged as a whole: an empty
    part beside parts with rows is normal (Spark writes empty ``part-*.parquet`` files) and was
    refused as "no data rows". Only deliveries with an ``exclude`` finding can lose all their
    rows, so only those are scanned (one row each)."""
    from paleval.registers import find_register_files, scan_register

    f = findings.filter(pl.col("register").is_in(keys))
    empty = set(f.filter(pl.col("rule") == "no_rows").select("register", "file").iter_rows())
    excl = f.filter(pl.col("severity") == "exclude")
    suspects = set(excl.select("register", "file").iter_rows())
    problems = []
    for key in keys:
        by_year: dict[int | None, list[Any]] = {}
        for rf in find_register_files(data_dir, key):
            by_year.setdefault(rf.year, []).append(rf)
        for year, files in by_year.items():
            names = [(key, rf.name) for rf in files]
            rels = [os.path.relpath(rf.path, data_dir) for rf in files]
            if all(n in empty for n in names):
                problems += [
                    f"register {key!r}, file {rel}: no data rows (header only)" for rel in rels
                ]
            elif any(n in suspects for n in names):
                years = None if year is None else [year]
                lf = scan_register(data_dir, key, years=years, exclude=True)
                if lf.head(1).collect().height == 0:
                    mine = excl.filter(
                        (pl.col("register") == key) & pl.col("file").is_in([n for _, n in names])
                    )
                    why = ", ".join(f"{r} n={n:,}" for r, n in mine.select("rule", "n").rows())
                    where = f"file {rels[0]}" if len(rels) == 1 else f"files {', '.join(rels)}"
                    problems.append(
                        f"register {key!r}, {where}: every row is excluded by validation ({why})"
                    )
    return problems


def _validated(
    data_dir: Path, keys: list[str], validation_cache: Path | None, progress: bool = False
) -> pl.DataFrame:
    """The validation findings of the study's registers; raises on an error finding or on a
    register file that gives no row. The findings depend on the files only, so a second study of
    the same files (other options) reuses those of the first, which passed (errors are never
    cached)."""
    from paleval.registers import validate

    if validation_cache is not None and validation_cache.is_file():
        return pl.read_parquet(validation_cache)
    report = validate(data_dir, keys, progress=progress)
    report.raise_if_errors()
    findings = report.findings.drop("examples")
    problems = _empty_files(data_dir, keys, findings)
    if problems:
        raise StudyDataError(data_dir, problems)
    if validation_cache is not None:
        tmp = validation_cache.with_name(f".{validation_cache.name}-{os.getpid()}")
        findings.write_parquet(tmp)
        tmp.replace(validation_cache)
    return findings


def _damaged_files(data_dir: Path) -> list[str]:
    """The study's register files that cannot be read in full, after the build failed with a
    bare polars error naming no file (:func:`paleval.registers.damaged_files`: a corrupt parquet
    page in a column whose footer statistics answered every query of validation)."""
    from paleval.registers import damaged_files

    return [
        f"{line} (found when the study read it in full; paleval validate --verify finds it too)"
        for line in damaged_files(data_dir, study_registers(data_dir))
    ]


def _check_deaths_in_period(data_dir: Path, dod: pl.LazyFrame, start: str, end: str) -> None:
    """:class:`StudyDataError` when no death the loaders keep lies in the study period: the
    cohorts would be empty (an error deep in the cohort build or a notebook, such as "no home
    visits ... before any of the death years [2030]")."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    died = pl.col("DODDATO")
    row = dod.select(
        n=died.is_between(first, last).sum(), lo=died.min(), hi=died.max(), all=pl.len()
    ).collect()
    n, lo, hi, total = row.row(0)
    if n:
        return
    kept = f"the {total:,} deaths kept run from {lo} to {hi}" if total else "no death is kept"
    raise StudyDataError(
        data_dir,
        [
            f"register 'dod': no death in the study period {start} to {end} ({kept}): "
            "choose a study period the data cover (--start, --end)"
        ],
    )


def _build(
    data_dir: Path,
    start: str,
    end: str,
    eol_options: dict[str, Any],
    validation_cache: Path | None,
    bar: Steps,
) -> StudyData:
    from paleval.cohort import (
        charlson_codes,
        end_of_life_cohort,
        incident_cancer_cohort,
        incident_noncancer_cohort,
    )
    from paleval.cohort.incident import advanced_disease_codes
    from paleval.cohort.trajectories import add_aggressiveness, care_use_unknown, weekly_care_use
    from paleval.registers import lpr_contacts, lpr_diagnoses, scan_registers

    # the incident cohorts censor at emigration when DST's migration register (vnds) is
    # delivered; the LPR files the contacts and diagnoses come from may be LPR2, LPR3 or both
    keys = study_registers(data_dir)
    # every finding first (validation never raises on bad input), then the study
    bar.step("validation")
    findings = _validated(data_dir, keys, validation_cache, bar.enabled)
    # rows that the validation rules of severity "exclude" drop are dropped here, and counted
    # in the validation report (study.validation)
    regs = scan_registers(data_dir, [k for k in keys if k not in LPR_REGISTERS], exclude=True)
    _check_deaths_in_period(data_dir, regs["dod"], start, end)
    # exact duplicate contacts (counted by validate) are dropped by add_hospital_use
    contacts = lpr_contacts(data_dir, exclude=True)
    # only the diagnoses each cohort can use are joined to their contacts
    diagnoses = lpr_diagnoses(data_dir, exclude=True, codes=charlson_codes())
    eol = end_of_life_cohort(regs, contacts, diagnoses, start=start, end=end, **eol_options)
    # Earle's aggressiveness counts join the decedents; weekly care in the last year is its
    # own (sparse) frame
    bar.step("end-of-life cohort and exposures")
    decedents = add_aggressiveness(eol.collect(), contacts).collect()
    bar.step("incident cancer cohort")
    cancer = incident_cancer_cohort(regs, start=start, end=end).collect()
    # markers of advanced disease, and the cancer codes for the exclusion and censoring; the
    # COPD marker needs the contact type (acute inpatient)
    bar.step("incident non-cancer cohort")
    noncancer = incident_noncancer_cohort(
        regs,
        lpr_diagnoses(data_dir, exclude=True, codes=advanced_disease_codes()),
        contacts=contacts,
        start=start,
        end=end,
    ).collect()
    bar.step("DPD referrals")
    dpd = regs["dpd"].collect(engine="streaming")
    bar.step("care in the last year of life")
    persons = pl.col("PNR").is_in(decedents["PNR"].implode())
    care = weekly_care_use(
        decedents,
        contacts=contacts,
        sssy=regs["sssy"].filter(persons),
        lmdb=regs["lmdb"].filter(persons),
    )
    return StudyData(
        decedents=decedents,
        incident_cancer=cancer,
        incident_noncancer=noncancer,
        dpd=dpd,
        flow=eol.flow.table,
        validation=findings,
        care_use=care.collect(engine="streaming"),
        care_unknown=care_use_unknown(decedents).collect(),
    )


def load_study(
    data_dir: str | Path,
    *,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    cache_dir: str | Path | None = None,
    gp_offset_days: int = 0,
    gp_before_final_admission: bool = False,
    progress: bool | None = None,
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
    progress
        A progress bar over the build's steps (data fingerprint, validation with its own bar
        over the registers, each cohort and exposure step, the cache) on standard error, or a
        widget in Jupyter. ``None`` (default): on in a terminal or a notebook, off otherwise;
        the environment variable ``PALEVAL_PROGRESS=0``/``1`` decides instead when set.

    The cache is keyed by the register files the loaders read (path, size, modification time
    and a content hash of each: :func:`data_fingerprint`), the study options and the cache
    version, so changed, added or removed register files give a new build.

    Raises
    ------
    FileNotFoundError
        ``data_dir`` is not a folder.
    paleval.registers.RegisterValidationError
        The extract has ``error`` findings (all of them are listed; ``paleval validate``).
    StudyDataError
        A register file the study reads has no data rows, or validation excludes all of them,
        or no death the loaders keep lies in the study period (``start`` to ``end``).

    Examples
    --------
    >>> study = load_study("data_synthetic/small")  # doctest: +SKIP
    >>> study.decedents.height  # doctest: +SKIP
    24197
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {str(data_dir)!r} does not exist")
    if isinstance(gp_offset_days, bool) or not isinstance(gp_offset_days, int):
        raise TypeError(f"gp_offset_days must be a whole number of days, got {gp_offset_days!r}")
    if gp_offset_days < 0:
        raise ValueError(f"gp_offset_days must be 0 or more, got {gp_offset_days}")
    with Steps("study", len(STUDY_STEPS), progress=progress) as bar:
        return _load(
            data_dir, start, end, cache_dir, gp_offset_days, gp_before_final_admission, bar
        )


STUDY_STEPS = (
    "data fingerprint",
    "validation",
    "end-of-life cohort and exposures",
    "incident cancer cohort",
    "incident non-cancer cohort",
    "DPD referrals",
    "care in the last year of life",
    "writing the cache",
)
"""The steps of a study build, as :func:`load_study`'s progress bar names them (a cached study:
the fingerprint, then reading the cache)."""


def _load(
    data_dir: Path,
    start: str,
    end: str,
    cache_dir: str | Path | None,
    gp_offset_days: int,
    gp_before_final_admission: bool,
    bar: Steps,
) -> StudyData:
    bar.step("data fingerprint")
    fp = data_fingerprint(data_dir)
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
            bar.set_total(2)
            bar.step("reading the cached study")
            frames = {k: pl.read_parquet(folder / f"{k}.parquet") for k in StudyData._FRAMES}
            return StudyData(**frames, params=json.loads((folder / "params.json").read_text()))
    t0 = time.perf_counter()
    vkey = hashlib.sha256(f"{_CACHE_VERSION}|{fp}".encode()).hexdigest()[:16]
    vcache = cache / f"validation-{vkey}.parquet" if cache is not None else None
    try:
        study = _build(data_dir, start, end, eol_options, vcache, bar)
    except pl.exceptions.PolarsError:  # a file that fails only when read in full?
        damaged = _damaged_files(data_dir)
        if damaged:
            raise StudyDataError(data_dir, damaged) from None
        raise  # no damaged file: not the data's fault
    study.params = {**params, "build_seconds": round(time.perf_counter() - t0, 1)}
    if cache is None:
        bar.set_total(len(STUDY_STEPS) - 1)
        return study
    bar.step("writing the cache")
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
