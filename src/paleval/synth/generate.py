"""Write a complete synthetic register extract: ``paleval synth``.

Stage A simulates every person (:mod:`paleval.synth.simulate`) and writes the person-level
registers; stage B generates the event registers chunk by chunk of persons and appends them, one
row group per chunk, to one parquet file per register and year, so memory stays bounded at
national scale. The same configuration and seed give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import paleval
from paleval._progress import Steps
from paleval.codes import covered_from, load_codes
from paleval.registers import REGISTERS, Register
from paleval.synth import config as C
from paleval.synth.config import SynthConfig
from paleval.synth.events import (
    EventContext,
    as_date,
    load_hfaudd,
    make_departments,
)
from paleval.synth.migration import NEVER, assign_migration, vnds_frame
from paleval.synth.simulate import (
    AGE_GROUPS,
    PLACES,
    Population,
    day_number,
    lookup,
    simulate_population,
    year_of,
)

__all__ = ["generate", "synthetic_pnr"]


def synthetic_pnr(birth_days: np.ndarray) -> np.ndarray:
    """Synthetic person numbers that can never be valid CPR numbers.

    The format is ``DDMMYYSSSS`` like a CPR number, but the month field is the birth month
    plus 20 (21-32), which no CPR number has; SSSS numbers persons born on the same day.

    Examples
    --------
    >>> import numpy as np
    >>> synthetic_pnr(np.array([0, 0, 365]))
    array(['0121700000', '0121700001', '0121710000'], dtype='<U10')
    >>> synthetic_pnr(np.array([0, -36524]))  # 1 January 1970 and 1870: same DDMMYY
    array(['0121700001', '0121700000'], dtype='<U10')
    """
    days = np.asarray(birth_days, dtype=np.int64)
    dt = days.astype("datetime64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    # SSSS numbers persons who share DDMMYY, so persons born on the same day 100 years apart
    # (same two-digit year) get different numbers, the elder first, as in the CPR.
    key = (y % 100) * 10_000 + m * 100 + d
    order = np.lexsort((days, key))
    sk = key[order]
    new = np.r_[True, sk[1:] != sk[:-1]]
    grp_start = np.maximum.accumulate(np.where(new, np.arange(len(sk)), 0))
    seq_sorted = np.arange(len(sk)) - grp_start
    seq = np.empty_like(seq_sorted)
    seq[order] = seq_sorted
    if len(seq) and seq.max() > 9999:
        raise ValueError("more than 10,000 synthetic persons share a birth date (DDMMYY)")
    parts = [
        np.char.zfill(x.astype(str), w) for x, w in ((d, 2), (m + 20, 2), (y % 100, 2), (seq, 4))
    ]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(out, p)
    return out


class _Sink:
    """One parquet writer per register file; chunks are appended as row groups."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.writers: dict[tuple[str, int | None], pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def _path(self, reg: Register, year: int | None) -> Path:
        folder = self.out / reg.key
        folder.mkdir(parents=True, exist_ok=True)
        return folder / reg.file_name(year)

    def write(self, key: str, df: pl.DataFrame, year: int | None = None) -> None:
        reg = REGISTERS[key]
        df = df.select([pl.col(v.name).cast(v.dtype) for v in reg.variables])
        # arrow's plain string type (polars' default export is string_view)
        table = df.to_arrow(compat_level=pl.CompatLevel.oldest())
        schema = _arrow_schema(reg)
        table = table.cast(schema)
        w = self.writers.get((key, year))
        if w is None:
            w = pq.ParquetWriter(self._path(reg, year), schema, compression="zstd")
            self.writers[(key, year)] = w
        if table.num_rows:
            w.write_table(table)
        self.rows[key] = self.rows.get(key, 0) + table.num_rows

    def write_by_year(self, key: str, df: pl.DataFrame, years: list[int]) -> None:
        """Write the rows of each year (column ``year``) to that year's file, in their order.

        Frames already ordered by year (the generator builds them so) are written as slices;
        others are first ordered by a stable sort on the year.
        """
        year = df["year"].to_numpy()
        if len(year) > 1 and bool((year[1:] < year[:-1]).any()):
            order = np.argsort(year, kind="stable")
            df, year = df[order], year[order]
        written = 0
        for y in years:
            lo, hi = np.searchsorted(year, [y, y + 1])
            self.write(key, df.slice(int(lo), int(hi - lo)), y)
            written += int(hi - lo)
        outside = df.height - written
        if outside:
            raise AssertionError(f"{key}: {outside} rows outside the delivery years")

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _arrow_schema(reg: Register) -> pa.Schema:
    conv = {
        pl.String: pa.string(),
        pl.Date: pa.date32(),
        pl.Int64: pa.int64(),
        pl.Float64: pa.float64(),
    }
    return pa.schema([pa.field(v.name, conv[v.dtype]) for v in reg.variables])


def generate(
    cfg: SynthConfig, out: str | Path, *, progress: bool | None = None, overwrite: bool = False
) -> dict[str, Any]:
    """Generate a synthetic register extract into ``out`` and return its truth dictionary.

    Parameters
    ----------
    cfg
        The configuration (size, seed, period, messiness).
    out
        Output directory: one folder per register, ``truth.json`` and ``manifest.json``.
    progress
        A progress bar on standard error (or a widget in Jupyter) over the steps: simulation,
        the person-level registers, each chunk of persons, the truth files. ``None``
        (default): on in a terminal or a notebook, off otherwise; the environment variable
        ``PALEVAL_PROGRESS=0``/``1`` decides instead when set.
    overwrite
        Kept for compatibility; it changes nothing. An earlier extract in ``out`` (its
        ``manifest.json`` and ``truth.json``) is always replaced, by deleting only the files
        its manifest lists. A folder holding any other file is refused, naming the files:
        ``generate`` never deletes or overwrites a file it did not write.

    Examples
    --------
    >>> import tempfile
    >>> from paleval.synth import SynthConfig, generate
    >>> d = tempfile.mkdtemp()
    >>> truth = generate(SynthConfig(n_persons=2000, seed=1), d, overwrite=True)
    >>> truth["counts"]["persons"]
    2000
    """
    cfg.check()
    out = Path(out)
    _clear_previous(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    with Steps("synth", progress=progress) as bar:
        return _generate(cfg, out, bar)


def _clear_previous(out: Path, overwrite: bool) -> None:
    """Delete the files of an earlier extract in ``out`` (those its ``manifest.json`` lists,
    the manifest and ``truth.json``) and the folders they leave empty; refuse, before deleting
    anything, a non-empty folder without an extract, a listed path outside ``out`` and any file
    the extract did not write (named in the message: the new extract's manifest would list a
    parquet file among them as its own, and a register folder would read it).
    ``overwrite`` is accepted for compatibility and changes nothing."""
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"output path {out} is a file, not a folder")
    if not any(out.iterdir()):
        return
    root = out.resolve()
    try:
        listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
        if not (out / "truth.json").is_file() or not isinstance(listed, dict):
            raise ValueError("no truth.json")
        ours = {(out / rel).resolve() for rel in listed} | {
            (out / "manifest.json").resolve(),
            (out / "truth.json").resolve(),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileExistsError(
            f"output directory {out} is not empty and holds no earlier synthetic extract "
            f"(manifest.json and truth.json): paleval never deletes files it did not write; "
            f"choose a new or empty folder ({exc})"
        ) from None
    outside = sorted(str(p) for p in ours if not p.is_relative_to(root))
    if outside:
        raise FileExistsError(f"{out / 'manifest.json'} lists files outside {out}: {outside[:3]}")
    others = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if not p.is_dir() and p.resolve() not in ours
    )
    if others:
        raise FileExistsError(
            f"output directory {out} holds {len(others)} file(s) that paleval synth did not "
            f"write, e.g. {others[:3]}: paleval never deletes files it did not write; move "
            "them, or choose a new or empty folder"
        )
    for p in ours:
        p.unlink(missing_ok=True)
    for d in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


def _generate(cfg: SynthConfig, out: Path, bar: Steps) -> dict[str, Any]:
    t0 = time.perf_counter()
    bar.step(f"simulating {cfg.n_persons:,} persons (seed {cfg.seed})")
    pop = simulate_population(cfg)
    _finalise_persons(pop)
    pop.truth.setdefault("realism", {})["migration"] = assign_migration(pop)
    pnr = synthetic_pnr(pop["birth"])
    departments = make_departments()
    ctx = EventContext(pop, pnr, departments)
    sink = _Sink(out)
    n_chunks = -(-pop.n // cfg.chunk_persons)
    bar.set_total(n_chunks + 3)  # simulation, person-level registers, chunks, truth files
    bar.step("person-level registers")
    _write_person_registers(pop, ctx, sink)
    years_bef = list(range(cfg.start_year - 1, cfg.end_year + 1))
    years = cfg.years
    years_lpr = list(range(cfg.start_year - cfg.lpr_lookback_years, cfg.end_year + 1))
    lpr3_year = int(year_of(np.array([day_number(cfg.lpr3_start)]))[0])
    years_lpr2 = [y for y in years_lpr if y <= lpr3_year]
    years_lpr3 = [y for y in years_lpr if y >= lpr3_year]
    for chunk in range(n_chunks):
        idx = np.arange(chunk * cfg.chunk_persons, min(pop.n, (chunk + 1) * cfg.chunk_persons))
        rng = np.random.default_rng([cfg.seed, 2, chunk])
        bar.step(f"chunk {chunk + 1}/{n_chunks}: persons {idx[0]:,}-{idx[-1]:,}")
        for y in years_bef:
            sink.write("bef", ctx.bef(idx, y), y)
            ind, faik = ctx.income(idx, y, rng)
            sink.write("ind", ind, y)
            sink.write("faik", faik, y)
            sink.write("udda", ctx.udda(idx, y, pop["edu_missing"]), y)
        sink.write_by_year("sssy", ctx.sssy(idx, rng), years)
        sink.write_by_year("lmdb", ctx.lmdb(idx, rng), years)
        lpr = ctx.lpr(idx, rng, chunk)
        sink.write_by_year("lpr_adm", lpr["lpr_adm"], years_lpr2)
        sink.write_by_year("lpr_diag", lpr["lpr_diag"], years_lpr2)
        sink.write_by_year("lpr_f_kontakter", lpr["lpr_f_kontakter"], years_lpr3)
        sink.write_by_year("lpr_f_diagnoser", lpr["lpr_f_diagnoser"], years_lpr3)
    sink.close()
    bar.step("truth and manifest")
    _write_truth_persons(pop, ctx, out / "truth" / "persons.parquet")
    truth = _truth(pop, ctx, sink, time.perf_counter() - t0)
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    (out / "manifest.json").write_text(json.dumps(_manifest(cfg, out), indent=2) + "\n")
    return truth


def _finalise_persons(pop: Population) -> None:
    """Derived per-person values used by several registers (codes, missing education)."""
    a, cfg = pop.arrays, pop.cfg
    r = np.random.default_rng([cfg.seed, 3])
    n = pop.n
    sites = list(C.CANCER_SITES)
    site_prefix = np.array([C.CANCER_SITES[s][2] for s in sites], dtype=object)
    digit = r.integers(0, 10, n).astype(str)
    car = np.full(n, "", dtype=object)
    has = a["cancer_dx"] >= 0
    car[has] = site_prefix[a["cancer_site_any"][has]] + digit[has]
    car[a["is_cancer"]] = a["underlying_cause"][a["is_cancer"]]
    a["car_code"] = car
    codes = load_hfaudd()
    levels = C.EDUCATION_LEVELS
    hfaudd = np.empty(n, dtype=object)
    for i, lev in enumerate(levels):
        sel = np.flatnonzero(a["education"] == i)
        options = np.array(codes[lev], dtype=object)
        hfaudd[sel] = options[r.integers(0, len(options), len(sel))]
    a["hfaudd"] = hfaudd
    miss = np.zeros(n, bool)
    if cfg.messiness:
        born = year_of(a["birth"])
        p = np.where(
            a["origin"] == 2,
            C.MESS["education_missing_immigrant"],
            np.where(
                born < 1922,
                C.MESS["education_missing_born_before_1922"],
                C.MESS["education_missing_other"],
            ),
        )
        miss = r.random(n) < p
    a["edu_missing"] = miss
    pop.truth["defects"]["education_missing_persons"] = int(miss.sum())


def _write_person_registers(pop: Population, ctx: EventContext, sink: _Sink) -> None:
    a, cfg = pop.arrays, pop.cfg
    r = np.random.default_rng([cfg.seed, 4])
    pnr = ctx.pnr
    d = np.flatnonzero(a["died"])
    sink.write("dod", pl.DataFrame({"PNR": pnr[d], "DODDATO": as_date(a["death"][d])}))
    # Cause of death register.
    contrib = np.array(["I10", "E119", "J189", "I480", "N179", "E86", "F03", "I500"], dtype=object)
    n = len(d)

    def maybe(p: float) -> list[str | None]:
        pick = contrib[r.integers(0, len(contrib), n)]
        return [x if u < p else None for x, u in zip(pick, r.random(n), strict=True)]

    place = a["place"][d]
    place_name = np.array(PLACES)[place]
    detailed, coarse = _place_codes(place_name, np.random.default_rng([cfg.seed, 4, 2]))
    detailed = _place_detail_missing(pop, d, detailed, np.random.default_rng([cfg.seed, 4, 4]))
    external = np.isin(a["underlying_cause"][d].astype("U1"), ["V", "W", "X", "Y"])
    sink.write(
        "dodsaasg",
        pl.DataFrame(
            {
                "PNR": pnr[d],
                "D_DODSDATO": as_date(a["death"][d]),
                "C_DODTILGRUNDL_ACME": a["underlying_cause"][d].astype(str),
                "C_DOD_1A": a["underlying_cause"][d].astype(str),
                "C_DOD_1B": maybe(0.4),
                "C_DOD_1C": maybe(0.1),
                "C_DOD_21": maybe(0.5),
                "C_DOD_22": maybe(0.2),
                "C_DODSMAADE": np.where(external, "0", "5"),
                "C_DODSSTED": coarse,
                "C_PRAECIS_DODSSTED": detailed,
            }
        ),
    )
    # DPD.
    ref = np.flatnonzero(a["spc_referred"])
    hospice = a["spc_hospice"][ref]
    team = r.random(len(ref)) < 0.7
    unit_type = np.where(
        hospice, "hospice", np.where(team, "palliativt_team", "palliativ_afdeling")
    )
    unit_id = np.where(
        hospice, _hospice_ids(a["region"][ref], ctx), ctx.dep.sor[ctx.spc_department(ref)]
    )
    referrer = np.array(["hospital_department", "own_doctor", "specialist_doctor"])[
        a["spc_referrer"][ref]
    ]
    adm = a["spc_admitted"][ref]
    reasons = np.array(["doed_foer_kontakt", "oensker_ikke", "opfylder_ikke_kriterier", "andet"])
    reason = np.where(adm, None, reasons[np.maximum(a["spc_no_contact_reason"][ref], 0)])
    henv = a["spc_referral"][ref].copy()
    n_after = 0
    if cfg.messiness:
        died_first = ~adm & (a["spc_no_contact_reason"][ref] == 0) & a["died"][ref]
        after = died_first & (r.random(len(ref)) < C.MESS["dpd_referral_after_death"] / 0.15)
        henv[after] = a["death"][ref][after] + 1 + r.integers(0, 14, int(after.sum()))
        n_after = int(after.sum())
    pop.truth["defects"]["dpd_referral_after_death"] = n_after
    dpd = pl.DataFrame(
        {
            "PNR": pnr[ref],
            "ENHED_ID": unit_id,
            "ENHED_TYPE": unit_type,
            "HENV_DATO": as_date(henv),
            "HENV_FRA": referrer,
            "MODTAGET": adm.astype(np.int64),
            "FOERSTE_KONTAKT_DATO": as_date(
                np.where(adm, a["spc_contact"][ref], -1), nullable=True
            ),
            "IKKE_MODTAGET_AARSAG": pl.Series(reason.tolist(), dtype=pl.String),
            "EORTC_UDFYLDT": pl.Series(np.where(adm, a["spc_eortc"][ref], 0).astype(np.int64)).set(
                pl.Series(~adm), None
            ),
            "MDK": pl.Series(np.where(adm, a["spc_mdc"][ref], 0).astype(np.int64)).set(
                pl.Series(~adm), None
            ),
        }
    )
    extra, n_rows = _further_spc_units(pop, ctx, ref, unit_type, unit_id)
    a["spc_n_referrals"] = np.zeros(pop.n, np.int64)
    a["spc_n_referrals"][ref] = n_rows
    sink.write("dpd", pl.concat([dpd, extra]).sort("HENV_DATO", "PNR", "ENHED_ID"))
    # Cancer register.
    ca = np.flatnonzero(a["cancer_dx"] >= 0)
    morph = np.array(["81403", "80703", "80003", "85003", "81443"])[r.integers(0, 5, len(ca))]
    car = pl.DataFrame(
        {
            "PNR": pnr[ca],
            "K_TUMORNR": np.full(len(ca), "0001"),
            "D_DIAGNOSEDATO": as_date(a["cancer_dx"][ca]),
            "C_ICD10": a["car_code"][ca].astype(str),
            "C_MORFO3": morph,
        }
    )
    nmsc = _skin_cancer_rows(pop, ctx, np.random.default_rng([cfg.seed, 4, 3]))
    sink.write("car", pl.concat([car, nmsc]).sort("D_DIAGNOSEDATO", "PNR", "K_TUMORNR"))
    # Terminal declarations (within the study period).
    t = np.flatnonzero(a["terminal"] & (a["terminal_day"] >= ctx.start))
    sink.write(
        "terminal",
        pl.DataFrame({"PNR": pnr[t], "BEVILLING_DATO": as_date(a["terminal_day"][t])}).sort(
            "BEVILLING_DATO", "PNR"
        ),
    )
    # Practices and listing.
    prac = pop.practices
    listed = np.bincount(a["practice_idx"], minlength=len(prac["id"]))
    sink.write(
        "yder",
        pl.DataFrame(
            {
                "YDERNR": prac["id"].astype(str),
                "REGIONSKODE": prac["region"].astype(str),
                "LISTESTOERRELSE": listed.astype(np.int64),
            }
        ),
    )
    first = np.maximum(a["birth"], ctx.start - 365)
    sw = a["practice2_idx"] >= 0
    end1 = np.where(sw, a["switch_day"], np.where(a["died"], a["death"] + 1, -1))
    end1 = np.where(sw & a["died"] & (a["death"] < a["switch_day"]), a["death"] + 1, end1)
    sw = sw & ~(a["died"] & (a["death"] < a["switch_day"]))
    s2 = np.flatnonzero(sw)
    lst = pl.concat(
        [
            pl.DataFrame(
                {
                    "PNR": pnr,
                    "YDERNR": ctx.practice_ids[a["practice_idx"]],
                    "DATO_FRA": as_date(first),
                    "DATO_TIL": as_date(end1, nullable=True),
                }
            ),
            pl.DataFrame(
                {
                    "PNR": pnr[s2],
                    "YDERNR": ctx.practice_ids[a["practice2_idx"][s2]],
                    "DATO_FRA": as_date(a["switch_day"][s2]),
                    "DATO_TIL": as_date(
                        np.where(a["died"][s2], a["death"][s2] + 1, -1), nullable=True
                    ),
                }
            ),
        ]
    ).sort("PNR", "DATO_FRA")
    sink.write("tilknytning", _listing_outside_spells(lst, pop, ctx))
    sink.write("sor", ctx.dep.frame())
    sink.write("vnds", vnds_frame(pop, ctx.pnr_s))
    if cfg.realism("nursing_homes"):
        sink.write("plh", _nursing_home_stays(pop, ctx, np.random.default_rng([cfg.seed, 4, 1])))


def _skin_cancer_rows(pop: Population, ctx: EventContext, r: np.random.Generator) -> pl.DataFrame:
    """Non-melanoma skin cancers (C44) in the cancer register: the commonest registered
    tumours, which NORDCAN and the Danish Cancer Registry leave out of cancer incidence
    (C00-C97 except C44). Persons aged 50+ at the start get one with probability
    ``NMSC["probability_50_plus"]`` on a day from the start of the LPR history to the end
    (alive and living in Denmark that day), numbered after any other tumour. Synthetic rates,
    off with ``messiness=False``."""
    a, cfg = pop.arrays, pop.cfg
    info = pop.truth.setdefault("realism", {}).setdefault("skin_cancer_c44", {})
    empty = pl.DataFrame(
        schema={"PNR": pl.String, "K_TUMORNR": pl.String, "D_DIAGNOSEDATO": pl.Date,
                "C_ICD10": pl.String, "C_MORFO3": pl.String}
    )  # fmt: skip
    info.update(enabled=cfg.messiness, rows=0)
    if not cfg.messiness:
        return empty
    first = day_number(f"{cfg.start_year - cfg.lpr_lookback_years}-01-01")
    who = np.flatnonzero((a["age0"] >= 50) & (r.random(pop.n) < C.NMSC["probability_50_plus"]))
    day = first + r.integers(0, ctx.end - first + 1, len(who))
    ok = (~a["died"][who] | (day < a["death"][who])) & ctx.in_denmark("car", who, day)
    who, day = who[ok], day[ok]
    info["rows"] = len(who)
    info["persons_with_another_cancer"] = int((a["cancer_dx"][who] >= 0).sum())
    info["probability_50_plus"] = C.NMSC["probability_50_plus"]
    codes = np.array(C.NMSC["codes"], dtype=object)
    return pl.DataFrame(
        {
            "PNR": ctx.pnr[who],
            "K_TUMORNR": np.where(a["cancer_dx"][who] >= 0, "0002", "0001"),
            "D_DIAGNOSEDATO": as_date(day),
            "C_ICD10": codes[r.integers(0, len(codes), len(who))].astype(str),
            "C_MORFO3": np.full(len(who), "80903"),  # basal cell carcinoma
        },
        schema=empty.schema,
    )


def _place_codes(place_name: np.ndarray, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """DAR's detailed (``C_PRAECIS_DODSSTED``, code list ``place_of_death``) and coarse
    (``C_DODSSTED``, the verified codes) place of death of each paleval place; a place with
    several codes (elsewhere: a known address or a place without an address) gets one of them
    with the weights ``PLACE_CODE_WEIGHTS``."""
    codes = load_codes("place_of_death")
    detailed = np.empty(len(place_name), dtype=object)
    coarse = np.empty(len(place_name), dtype=object)
    u = r.random(len(place_name))
    for place, rows in codes.group_by("place", maintain_order=True):
        sel = place_name == place[0]
        w = np.array(C.PLACE_CODE_WEIGHTS.get(str(place[0]), [1.0] * rows.height), float)
        pick = np.minimum(
            np.searchsorted(np.cumsum(w / w.sum()), u[sel], side="right"), rows.height - 1
        )
        detailed[sel] = rows["C_PRAECIS_DODSSTED"].to_numpy()[pick]
        coarse[sel] = rows["C_DODSSTED"].to_numpy()[pick]
    return detailed, coarse


def _place_detail_missing(
    pop: Population, d: np.ndarray, detailed: np.ndarray, r: np.random.Generator
) -> np.ndarray:
    """Blank the detailed place of death (``C_PRAECIS_DODSSTED``) of a share
    ``PLACE_DETAIL_MISSING`` of the deaths ``d`` (realism feature ``place_detail_missing``),
    independently of the place; counted in ``truth.json`` by true place."""
    a, cfg = pop.arrays, pop.cfg
    on = cfg.realism("place_detail_missing")
    miss = (r.random(len(d)) < C.PLACE_DETAIL_MISSING) if on else np.zeros(len(d), bool)
    a["place_detail_missing"] = np.zeros(pop.n, bool)
    a["place_detail_missing"][d] = miss
    names = np.array(PLACES)[a["place"][d]]
    pop.truth.setdefault("realism", {})["place_detail_missing"] = {
        "enabled": on,
        "share": C.PLACE_DETAIL_MISSING if on else 0.0,
        "deaths_without_detailed_place": int(miss.sum()),
        "by_true_place": {p: int((miss & (names == p)).sum()) for p in PLACES},
        "note": (
            "C_PRAECIS_DODSSTED null, C_DODSSTED written: the cohort takes the place from the "
            "coarse code (hospice -> hospital; home address -> nursing home for known residents, "
            "else home). The share is a synthetic assumption, not a published rate"
        ),
    }
    out = detailed.copy()
    out[miss] = None
    return out


def _nursing_home_stays(pop: Population, ctx: EventContext, r: np.random.Generator) -> pl.DataFrame:
    """The nursing-home register (``plh``): one stay per resident at death, from the move-in
    date to the date of death; with messiness a share of stays is left open (no move-out
    date) although the resident died, as in a register updated twice a year.

    With the realism feature ``plh_coverage`` the register begins where the coverage table
    says (``covered_from("plh")``, 2011-01-01): stays of residents who died before it are not
    written, and a stay that began before it is written from that day (the earlier move-in is
    not observed). The true residence (``truth/persons.parquet``) is unchanged and still
    drives the place of death, so truth and the register differ before 2011."""
    a, cfg = pop.arrays, pop.cfg
    res = np.flatnonzero(a["nh_resident"])
    movein = a["nh_movein"][res].copy()
    # one draw per resident at death (stays left open), whether or not the stay is written
    u = r.random(len(res))
    info = pop.truth.setdefault("realism", {}).setdefault("nursing_homes", {})
    info["residents_at_death_before_the_register"] = 0
    info["stays_begun_before_the_register_written_from_its_start"] = 0
    first = covered_from("plh") if cfg.realism("plh_coverage") else None
    info["register_from"] = None if first is None else str(first)
    if first is not None:
        begins = day_number(str(first))
        seen = a["death"][res] >= begins
        info["residents_at_death_before_the_register"] = int((~seen).sum())
        res, movein, u = res[seen], movein[seen], u[seen]
        info["stays_begun_before_the_register_written_from_its_start"] = int(
            (movein < begins).sum()
        )
        movein = np.maximum(movein, begins)
    out = a["death"][res].copy()
    n_open = 0
    if cfg.messiness:
        still_open = u < C.MESS["nursing_home_stay_left_open"]
        out[still_open] = -1
        n_open = int(still_open.sum())
    info["stays_written"] = len(res)
    info["stays_without_move_out_date"] = n_open
    info["stays_started_before_the_period"] = int(
        (movein < day_number(f"{cfg.start_year}-01-01")).sum()
    )
    return pl.DataFrame(
        {
            "PNR": ctx.pnr[res],
            "TILFLYT_DATO": as_date(movein),
            "FRAFLYT_DATO": as_date(out, nullable=True),
        }
    ).sort("PNR")


def _listing_outside_spells(lst: pl.DataFrame, pop: Population, ctx: EventContext) -> pl.DataFrame:
    """GP listing periods cut at each person's spell abroad: an emigrant is taken off the
    list when leaving, an immigrant listed from arrival, a returner listed again on return."""
    a = pop.arrays
    spells = np.flatnonzero(a["abroad_from"] < NEVER)
    if len(spells) == 0:
        return lst
    sp = pl.DataFrame(
        {"PNR": ctx.pnrs(spells), "af": a["abroad_from"][spells], "au": a["abroad_until"][spells]}
    )
    days = lst.with_columns(
        fra=pl.col("DATO_FRA").cast(pl.Int64), til=pl.col("DATO_TIL").cast(pl.Int64)
    ).join(sp, on="PNR", how="left")
    plain = days.filter(pl.col("af").is_null())
    moved = days.filter(pl.col("af").is_not_null())
    til = pl.col("til").fill_null(int(NEVER) + 1)
    before = moved.filter(pl.col("fra") < pl.col("af")).with_columns(
        til=pl.when(til > pl.col("af")).then(pl.col("af")).otherwise(pl.col("til"))
    )
    after = moved.filter(til > pl.col("au"), pl.col("au") < NEVER).with_columns(
        fra=pl.max_horizontal("fra", "au")
    )
    ctx.count("tilknytning_periods_cut_at_migration", moved.height, defect=False)
    out = pl.concat([plain, before, after]).with_columns(
        DATO_FRA=pl.col("fra").cast(pl.Int32).cast(pl.Date),
        DATO_TIL=pl.col("til").cast(pl.Int32).cast(pl.Date),
    )
    return out.select(lst.columns).sort("PNR", "DATO_FRA")


def _further_spc_units(
    pop: Population,
    ctx: EventContext,
    ref: np.ndarray,
    unit_type: np.ndarray,
    unit_id: np.ndarray,
) -> tuple[pl.DataFrame, np.ndarray]:
    """DPD rows for second SPC units of multi-unit courses, and referral rows per referred person.

    About a third of SPC patients have a course at two units, typically a hospice and a team
    (DPD annual report 2018). A second referral is drawn among admitted patients who live at
    least ``SPC_MULTI_UNIT_MIN_DAYS`` after their first contact, at a rate that gives the share
    ``SPC_MULTI_UNIT_SHARE`` of all admitted patients; it falls after the first contact, so the
    first referral, the first contact and its unit (the per-person truth) are unchanged. A
    hospital team/unit is followed by a hospice (or another hospital unit), a hospice by a
    hospital team. ``SPC_SECOND_UNIT_CONTACT`` of second referrals lead to contact; the rest
    die first (decedents) or have no contact by the end of the data ("andet").
    """
    a, cfg = pop.arrays, pop.cfg
    n_rows = np.ones(len(ref), np.int64)
    counts = {
        "enabled": cfg.realism("multi_unit_spc"),
        "source": "DPD annual report 2018: one third of patients at two specialised units",
    }
    empty = pl.DataFrame(schema=REGISTERS["dpd"].polars_schema)
    if not cfg.realism("multi_unit_spc"):
        counts.update(spc_patients_2plus_referrals=0, spc_patients_2plus_units=0, dpd_rows_added=0)
        pop.truth.setdefault("realism", {})["multi_unit_spc"] = counts
        return empty, n_rows
    r = np.random.default_rng([cfg.seed, 9])
    adm = a["spc_admitted"][ref]
    contact = a["spc_contact"][ref]
    died = a["died"][ref]
    last = np.where(died, a["death"][ref], ctx.end)
    room = last - contact
    eligible = adm & (room >= C.SPC_MULTI_UNIT_MIN_DAYS)
    p = min(1.0, C.SPC_MULTI_UNIT_SHARE * int(adm.sum()) / max(int(eligible.sum()), 1))
    u = r.random((len(ref), 6))
    k = np.flatnonzero(eligible & (u[:, 0] < p))
    who = ref[k]
    got = u[k, 1] < C.SPC_SECOND_UNIT_CONTACT
    henv = contact[k] + 1 + np.floor(u[k, 2] * (room[k] - 1) * 0.8).astype(np.int64)
    # Not contacted: the referral comes in the last days (died first) or, alive, late.
    henv = np.where(got, henv, np.maximum(contact[k] + 1, last[k] - np.floor(5 * u[k, 2])))
    henv = henv.astype(np.int64)
    wait = np.floor(8 * u[k, 3] ** 2).astype(np.int64)
    contact2 = np.where(got, np.minimum(henv + wait, last[k]), -1)
    first_hospice = unit_type[k] == "hospice"
    to_hospice = ~first_hospice & (u[k, 4] < C.SPC_SECOND_UNIT_HOSPICE_AFTER_HOSPITAL)
    other_hospital = np.where(
        unit_type[k] == "palliativt_team", "palliativ_afdeling", "palliativt_team"
    )
    type2 = np.where(
        first_hospice, "palliativt_team", np.where(to_hospice, "hospice", other_hospital)
    )
    dep_id = ctx.dep.sor[ctx.spc_department(who, other=True)]
    dep_id = np.where(first_hospice, ctx.dep.sor[ctx.spc_department(who)], dep_id)
    id2 = np.where(to_hospice, _hospice_ids(a["region"][who], ctx), dep_id)
    reason = np.where(got, None, np.where(died[k], "doed_foer_kontakt", "andet"))
    cancer = a["is_cancer"][who] | (a["cancer_dx"][who] >= 0)
    p_eortc = np.where(cancer, C.P_EORTC["cancer"], C.P_EORTC["noncancer"])
    p_mdc = np.where(cancer, C.P_MDC["cancer"], C.P_MDC["noncancer"])
    eortc = (r.random(len(k)) < p_eortc).astype(np.int64)
    mdc = (u[k, 5] < p_mdc).astype(np.int64)
    referrer = np.where(r.random(len(k)) < 0.7, "palliative_department", "hospital_department")
    extra = pl.DataFrame(
        {
            "PNR": ctx.pnrs(who),
            "ENHED_ID": id2,
            "ENHED_TYPE": type2,
            "HENV_DATO": as_date(henv),
            "HENV_FRA": referrer,
            "MODTAGET": got.astype(np.int64),
            "FOERSTE_KONTAKT_DATO": as_date(contact2, nullable=True),
            "IKKE_MODTAGET_AARSAG": pl.Series(reason.tolist(), dtype=pl.String),
            "EORTC_UDFYLDT": pl.Series(eortc).set(pl.Series(~got), None),
            "MDK": pl.Series(mdc).set(pl.Series(~got), None),
        }
    )
    n_rows[k] += 1
    distinct = id2 != unit_id[k]
    counts.update(
        spc_patients_2plus_referrals=len(k),
        spc_patients_2plus_units=int(distinct.sum()),
        spc_admitted_patients=int(adm.sum()),
        share_of_admitted_2plus_referrals=round(len(k) / max(int(adm.sum()), 1), 4),
        second_referral_probability_among_eligible=round(p, 4),
        second_referrals_with_contact=int(got.sum()),
        second_unit_hospice=int((type2 == "hospice").sum()),
        dpd_rows_added=len(k),
    )
    pop.truth.setdefault("realism", {})["multi_unit_spc"] = counts
    return extra, n_rows


def _write_truth_persons(pop: Population, ctx: EventContext, path: Path) -> None:
    """Per-person ground truth (latent and derived values), for tests and calibration.

    Not a register: real extracts have nothing like it. Dates use -1 -> null.
    """
    a = pop.arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    groups = np.array(C.CAUSE_GROUPS)
    sites = np.array(list(C.CANCER_SITES))
    unit = np.where(
        a["spc_hospice"] & a["spc_admitted"],
        "hospice",
        np.where(a["spc_admitted"], "hospital", "none"),
    )
    df = pl.DataFrame(
        {
            "PNR": ctx.pnr_s,
            "female": a["female"],
            "birth_date": as_date(a["birth"]),
            "region": a["region"].astype(str),
            "origin": a["origin"],
            "education": np.array(C.EDUCATION_LEVELS)[a["education"]],
            "education_missing": a["edu_missing"],
            # at the end of the year before death (end of the data for survivors), after any
            # widowhood; the planted models use this status
            "living_alone": a["living_alone"],
            "living_alone_start": a["living_alone_start"],
            "partner": _labels(ctx.pnr_s.to_numpy().astype(object), a["partner"]),
            "married": a["married"],
            "widowed_date": as_date(a["widowed_day"], nullable=True),
            "practice": pop.practices["id"][a["practice_at_death"]].astype(str),
            "practice_propensity": pop.practices["propensity"][a["practice_at_death"]],
            "died": a["died"],
            "death_date": as_date(a["death"], nullable=True),
            "age_death": a["age_death"],
            "age_years": a["age_years"],
            "adult_decedent": a["adult_decedent"],
            "age_group": np.array(AGE_GROUPS)[a["age_group"]],
            "cause_group": _labels(groups, a["cause_group"]),
            "cancer_site": _labels(sites, a["cancer_site"]),
            "cancer_dx_date": as_date(a["cancer_dx"], nullable=True),
            "noncancer_dx_date": as_date(a["noncancer_dx"], nullable=True),
            "income_quartile": a["income_quartile"],
            "spc_referred": a["spc_referred"],
            "spc_admitted": a["spc_admitted"],
            # referred but not admitted because the criteria were not met (DPD indicator 1
            # leaves these out of its denominator)
            "spc_not_eligible": a["spc_no_contact_reason"] == 2,
            "spc_unit": unit,
            "spc_referral_date": as_date(a["spc_referral"], nullable=True),
            "spc_contact_date": as_date(a["spc_contact"], nullable=True),
            # DPD referral rows (units) of the person's course: 2+ for multi-unit courses
            "spc_referrals": a["spc_n_referrals"],
            # planted exposure (end-of-life home visits; the home-death model uses this)
            "gp_home_visits_90d": a["gp_hv90"],
            # all daytime home-visit services on their true service dates in the last 90 days
            # (planted plus background visits; the register has payment weeks, lagged)
            "gp_home_visits_90d_service": a["gp_hv90_service"],
            "gp_ooh_30d": a["gp_ooh30"],
            "terminal_declaration": a["terminal"],
            # nursing-home residence: with the nursing_homes feature, living in a nursing home
            # at death (true; the register plh shows it only from its start in 2011 with the
            # plh_coverage feature); without it, the latent residence of non-home deaths
            "nursing_home": a["nursing_home"],
            "nursing_home_movein": as_date(a["nh_movein"], nullable=True),
            # BEF's one-person family the year before death (living_alone minus residents is
            # what the planted models use when the nursing_homes feature is on)
            "living_alone_bef": a["living_alone_bef"],
            "place_of_death": _labels(np.array(PLACES), a["place"]),
            # the detailed place (C_PRAECIS_DODSSTED) left out (feature place_detail_missing)
            "place_detail_missing": a["place_detail_missing"],
            # spell abroad [abroad_from, abroad_until): null from = arrived during the period
            # (immigrant), null until = still abroad at the end (emigrant)
            "migration": _labels(
                np.array(["emigrant", "returner", "immigrant"]),
                np.where(
                    a["abroad_from"] >= NEVER,
                    -1,
                    np.where(a["abroad_until"] >= NEVER, 0, np.where(a["abroad_from"] < 0, 2, 1)),
                ),
            ),
            "abroad_from": as_date(
                np.where(
                    (a["abroad_from"] < NEVER) & (a["abroad_from"] > -NEVER), a["abroad_from"], -1
                ),
                nullable=True,
            ),
            "abroad_until": as_date(
                np.where(a["abroad_until"] < NEVER, a["abroad_until"], -1), nullable=True
            ),
        }
    )
    if pop.cfg.interventions:
        # the planted intervention (truth.json "interventions"): SPC admittance probability
        # without (p0) and with (p1) it, for adult cancer and palliative-need decedents (null
        # otherwise; equal unless treated), the adoption date of the person's municipality
        # (null: never adopts) and whether the person is treated (adopting, died on or after)
        df = df.with_columns(
            spc_p0=pl.Series(a["spc_p0"]).fill_nan(None),
            spc_p1=pl.Series(a["spc_p1"]).fill_nan(None),
            intervention_adoption=as_date(a["intervention_adoption"], nullable=True),
            intervention_treated=pl.Series(a["intervention_treated"]),
        )
    df.write_parquet(path, compression="zstd")


def _labels(names: np.ndarray, index: np.ndarray) -> pl.Series:
    """Labels for an integer index array where -1 means missing."""
    s = pl.Series(names.astype(str)).gather(np.maximum(index, 0))
    return s.set(pl.Series(index < 0), None)


def _hospice_ids(region: np.ndarray, ctx: EventContext) -> np.ndarray:
    """Synthetic hospice identifiers: 2-4 hospices per region."""
    per = {1081: 2, 1082: 4, 1083: 4, 1084: 4, 1085: 3}
    h = ctx.pnr_hash(np.arange(len(region)))
    k = lookup(per, region, dtype=np.int64)
    return np.char.add(
        np.char.add("98", (region % 10).astype(str)),
        np.char.zfill((h % np.maximum(k, 1) + 1).astype(str), 2),
    )


def _truth(pop: Population, ctx: EventContext, sink: _Sink, seconds: float) -> dict[str, Any]:
    a, cfg = pop.arrays, pop.cfg
    dec = a["died"]
    adult = a["adult_decedent"]
    groups = np.array(C.CAUSE_GROUPS)
    truth: dict[str, Any] = {
        "generator": {"paleval_version": paleval.__version__, "config": asdict(cfg)},
        "counts": {
            "persons": int(pop.n),
            "decedents": int(dec.sum()),
            "adult_decedents": int(adult.sum()),
            "decedents_by_year": {str(y): int((a["death_year"] == y).sum()) for y in cfg.years},
            "adult_decedents_by_cause_group": {
                str(g): int((adult & (a["cause_group"] == i)).sum()) for i, g in enumerate(groups)
            },
            "place_of_death": {
                p: int((dec & (a["place"] == i)).sum()) for i, p in enumerate(PLACES)
            },
            "spc_referred_persons": int(a["spc_referred"].sum()),
            "spc_admitted_persons": int(a["spc_admitted"].sum()),
            "practices": len(pop.practices["id"]),
            "rows": dict(sorted(sink.rows.items())),
        },
        "realism": pop.truth.get("realism", {}),
        "planted": pop.truth["planted"],
        "interventions": pop.truth.get("interventions", {}),
        "calibrated": pop.truth["calibrated"],
        "defects": {**pop.truth["defects"], **ctx.defects},
        "structural_notes": {
            **ctx.notes,
            "sssy_week_not_day": "GP services carry the ISO payment week only (HONUGE)",
            "lpr3_start": cfg.lpr3_start,
        },
    }
    lag_keys = (
        "sssy_services_paid_a_week_or_more_late",
        "sssy_services_paid_in_a_week_after_death",
        "sssy_rows_paid_in_a_week_after_death",
        "sssy_services_in_a_payment_week_after_the_delivery_period",
    )
    truth["realism"]["sssy_payment_lag"] = {
        "enabled": cfg.realism("sssy_payment_lag"),
        "lag_weeks_probability": {str(k): v for k, v in C.SSSY_PAYMENT_LAG_WEEKS.items()}
        if cfg.realism("sssy_payment_lag")
        else {"0": 1.0},
        "background_visits_near_death_deleted": not cfg.realism("sssy_payment_lag"),
        **{k: int(ctx.notes.get(k, 0)) for k in lag_keys},
        "services_written": int(ctx.notes.get("sssy_services", 0)),
        "note": (
            "planted effects use true service dates (truth/persons.parquet: gp_home_visits_90d "
            "planted end-of-life visits, gp_home_visits_90d_service all daytime home visits)"
        ),
    }
    del seconds  # timings go to the benchmark, not into the (byte-identical) truth file
    if cfg.realism("nursing_homes"):
        truth["planted"]["nursing_home_residence"] = (
            "in the register plh (a stay covering the date of death); drawn before the "
            "end-of-life processes from age at death, dementia and living alone; residents never "
            "die in their own home (80 % in the nursing home, 17 % in hospital, 3 % elsewhere, "
            "REHPA 2012-2020) and are not 'living alone' in the planted models"
        )
        nh = truth["realism"]["nursing_homes"]
        truth["realism"]["plh_coverage"] = {
            "enabled": nh["register_from"] is not None,
            "register_from": nh["register_from"],
            "residents_at_death_before_the_register": nh["residents_at_death_before_the_register"],
            "stays_begun_before_the_register_written_from_its_start": nh[
                "stays_begun_before_the_register_written_from_its_start"
            ],
            "note": (
                "no plh stay before the register begins (coverage table); the true residence "
                "(truth/persons.parquet nursing_home) still drives the place of death, so a "
                "resident who died before it is a resident in truth and unknown in the cohort"
            ),
        }
    else:
        truth["planted"]["nursing_home_residence"] = (
            "unobserved in the registers; depends on age, dementia and living alone; affects "
            "only where non-home deaths happen"
        )
        truth["realism"]["nursing_homes"] = {"enabled": False, "residents_at_death": 0}
        truth["realism"]["plh_coverage"] = {"enabled": False, "register_from": None}
    return truth


def _manifest(cfg: SynthConfig, out: Path) -> dict[str, Any]:
    files = sorted(p for p in out.rglob("*.parquet"))
    return {
        "paleval_version": paleval.__version__,
        "config": asdict(cfg),
        "files": {
            str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        },
    }
