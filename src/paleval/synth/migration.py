"""Migration: who lives abroad when, and the migration register (VNDS) as DST delivers it.

Each person has at most one spell abroad, ``[abroad_from, abroad_until)`` in day numbers:

- *emigrants* leave during the study period and do not return (persons alive at the end of the
  data: a death abroad is not in the Danish registers, so nobody who dies in the data emigrates
  for good);
- *returners* leave and come back before the end of the data (and before death);
- *immigrants* arrive during the study period (their spell abroad runs from ``-inf``); persons
  of immigrant origin (``IE_TYPE`` 2) who arrived before it get a historical immigration row.

While abroad a person is in no Danish register: no year-end status in BEF (and no income or
education rows for that year), no GP services, prescriptions or hospital contacts. Persons are
chosen only where their simulated disease course (cancer and chronic diagnoses, SPC referral,
terminal declaration, death) lies outside the spell, so the planted truth is untouched. Rates:
:data:`paleval.synth.config.MIGRATION`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from paleval.synth import config as C
from paleval.synth.simulate import DAYS_PER_YEAR, Population, day_number

__all__ = ["NEVER", "assign_migration", "resident", "vnds_frame"]

NEVER = np.int64(2**40)  # a day number beyond any data: "no spell" or "open-ended"


def assign_migration(pop: Population) -> dict[str, Any]:
    """Draw spells abroad into ``pop.arrays`` (``abroad_from``, ``abroad_until``) and return the
    counts for ``truth.json``.

    With migration switched off every person is resident throughout (both arrays ``NEVER``).

    Examples
    --------
    >>> from paleval.synth import SynthConfig
    >>> from paleval.synth.simulate import simulate_population
    >>> pop = simulate_population(SynthConfig(n_persons=2000, seed=1))
    >>> counts = assign_migration(pop)
    >>> counts["emigrants"] > 0 and counts["immigrants_in_period"] > 0
    True
    >>> bool((pop["abroad_from"] <= pop["abroad_until"]).all())
    True
    """
    a, cfg, n = pop.arrays, pop.cfg, pop.n
    a["abroad_from"] = np.full(n, NEVER, np.int64)
    a["abroad_until"] = np.full(n, NEVER, np.int64)
    a["historical_immigration"] = np.full(n, -1, np.int64)
    counts: dict[str, Any] = {"enabled": cfg.realism("migration")}
    if not cfg.realism("migration"):
        counts.update(emigrants=0, returners=0, immigrants_in_period=0, vnds_rows=0)
        return counts
    r = np.random.default_rng([cfg.seed, 11])
    start = day_number(f"{cfg.start_year}-01-01")
    end = day_number(f"{cfg.end_year}-12-31")
    m = C.MIGRATION
    adult_young = (a["age0"] >= 18) & (a["age0"] < 45)
    weight = np.where(adult_young, m["young_adult_factor"], 1.0)
    weight = np.where(a["age0"] < 18, 0.5, np.where(a["age0"] >= 70, 0.2, weight))
    weight = weight / weight.mean()
    # couples stay (both partners in Denmark throughout): the rates, per person of the whole
    # cohort, fall on the persons without a partner
    single = a["partner"] < 0 if "partner" in a else np.ones(n, bool)
    weight = weight / max(float(single.mean()), 1e-9)
    died = a["died"]
    death = np.where(died, a["death"], NEVER)
    # the dates of the simulated disease course: a spell abroad must avoid all of them
    course = [a["cancer_dx"], a["noncancer_dx"], a["spc_referral"], a["spc_contact"]]
    if "terminal_day" in a:
        course.append(np.where(a["terminal"], a["terminal_day"], -1))

    def clear_of(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        ok = np.ones(n, bool)
        for d in course:
            ok &= ~((d >= 0) & (d >= lo) & (d < hi))
        return ok

    u = r.random((n, 6))
    # Emigrants who stay abroad: alive at the end of the data.
    out = start + np.floor(u[:, 1] * (end - 30 - start)).astype(np.int64)
    emig = (~died) & single & (u[:, 0] < m["emigrate"] * weight) & (a["birth"] < out)
    # (never SPC patients: a later referral to a second unit could fall abroad)
    emig &= clear_of(out, np.full(n, NEVER)) & ~a["spc_referred"]
    # Returners: abroad for 1 month to 4 years, back before the end and before death.
    out_r = start + np.floor(u[:, 2] * (end - 400 - start)).astype(np.int64)
    back = out_r + 30 + np.floor(u[:, 3] * 4 * DAYS_PER_YEAR).astype(np.int64)
    ret = ~emig & single & (u[:, 0] >= 1 - m["emigrate_and_return"] * weight)
    # back at least a year before death, so the end-of-life care planted is all in Denmark
    ret &= (back < end) & (back < death - 365) & (a["birth"] < out_r)
    ret &= clear_of(out_r, back) & ~a["spc_referred"]
    # Immigrants arriving during the period: mostly of immigrant origin; at least two years
    # before death (a recent arrival dying at once is rare and would leave no BEF status).
    arrive = start + np.floor(u[:, 4] * (end - 30 - start)).astype(np.int64)
    p_imm = np.where(a["origin"] == 2, m["immigrate_immigrant_origin"], m["immigrate_other"])
    imm = ~emig & ~ret & single & (u[:, 5] < p_imm * weight) & (arrive < death - 2 * 365)
    imm &= clear_of(np.full(n, -NEVER), arrive) & (a["birth"] < arrive)
    a["abroad_from"] = np.where(emig, out, np.where(ret, out_r, np.where(imm, -NEVER, NEVER)))
    a["abroad_until"] = np.where(emig, NEVER, np.where(ret, back, np.where(imm, arrive, NEVER)))
    # Historical immigration of persons of immigrant origin resident at the start.
    hist = (a["origin"] == 2) & ~imm
    lo = np.maximum(a["birth"], day_number("1973-01-01"))
    when = lo + np.floor(r.random(n) * np.maximum(start - 1 - lo, 0)).astype(np.int64)
    a["historical_immigration"] = np.where(hist & (lo < start - 1), when, -1)
    counts.update(
        emigrants=int(emig.sum()),
        emigrants_with_cancer_before_emigration=int((emig & (a["cancer_dx"] >= 0)).sum()),
        returners=int(ret.sum()),
        returners_who_died_in_denmark=int((ret & died).sum()),
        immigrants_in_period=int(imm.sum()),
        immigrants_in_period_who_died=int((imm & died).sum()),
        historical_immigrations=int((a["historical_immigration"] >= 0).sum()),
        rates=dict(m),
        source=(
            "VNDS as listed by DST (variable list 'VNDS - Historiske vandringer'; "
            "steno-aarhus/registers-guide schema/registers/vnds.yaml)"
        ),
    )
    return counts


def resident(pop: Population, who: np.ndarray, day: np.ndarray | int) -> np.ndarray:
    """Whether persons ``who`` live in Denmark on ``day`` (outside their spell abroad).

    Examples
    --------
    >>> from paleval.synth import SynthConfig
    >>> from paleval.synth.simulate import simulate_population
    >>> pop = simulate_population(SynthConfig(n_persons=2000, seed=1))
    >>> _ = assign_migration(pop)
    >>> bool(resident(pop, np.arange(pop.n), 0).mean() > 0.9)
    True
    """
    a = pop.arrays
    if "abroad_from" not in a:  # migration never assigned: everybody resident
        return np.ones(len(who), bool)
    return ~((day >= a["abroad_from"][who]) & (day < a["abroad_until"][who]))


def vnds_frame(pop: Population, pnr: pl.Series) -> pl.DataFrame:
    """The migration register: one row per immigration (``I``) or emigration (``U``).

    Examples
    --------
    >>> from paleval.synth import SynthConfig
    >>> from paleval.synth.simulate import simulate_population
    >>> pop = simulate_population(SynthConfig(n_persons=2000, seed=1))
    >>> _ = assign_migration(pop)
    >>> df = vnds_frame(pop, pl.Series([f"p{i}" for i in range(pop.n)]))
    >>> sorted(df["INDUD_KODE"].unique())
    ['I', 'U']
    """
    a = pop.arrays
    af, au = a["abroad_from"], a["abroad_until"]
    parts = []
    for code, mask, day in (
        ("U", (af > -NEVER) & (af < NEVER), af),
        ("I", (au < NEVER), au),
        ("I", a["historical_immigration"] >= 0, a["historical_immigration"]),
    ):
        who = np.flatnonzero(mask)
        # country of origin for immigrants and descendants; a synthetic destination for others
        abroad = np.array([5120, 5130, 5150, 5170, 5180])[who % 5]
        land = np.where(a["origin"][who] == 1, abroad, a["country"][who])
        parts.append(
            pl.DataFrame(
                {
                    "PNR": pnr.gather(who),
                    "INDUD_KODE": pl.Series([code]).gather(np.zeros(len(who), np.int64)),
                    "HAEND_DATO": pl.Series(day[who].astype(np.int32)).cast(pl.Date),
                    "INDUD_LAND": land.astype(str),
                }
            )
        )
    return pl.concat(parts).sort("PNR", "HAEND_DATO", "INDUD_KODE")
