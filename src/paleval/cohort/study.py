"""The end-of-life study cohort in one call: decedents with every exposure the analyses use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from paleval.cohort.comorbidity import add_charlson
from paleval.cohort.decedents import Cohort, _date, _require, decedent_cohort
from paleval.cohort.exposures import (
    add_drug_use,
    add_gp_exposures,
    add_hospital_use,
    add_spc,
    add_terminal_declaration,
)
from paleval.cohort.practice import practice_home_visit_propensity

__all__ = ["END_OF_LIFE_REGISTERS", "end_of_life_cohort", "practice_at"]

END_OF_LIFE_REGISTERS: tuple[str, ...] = (
    "dod", "dodsaasg", "bef", "udda", "faik", "sssy", "terminal", "dpd", "lmdb", "tilknytning",
)  # fmt: skip
"""The registers :func:`end_of_life_cohort` needs (besides the harmonised LPR contacts)."""


def practice_at(
    cohort: pl.LazyFrame, tilknytning: pl.LazyFrame, *, anchor: str = "death_date"
) -> pl.LazyFrame:
    """Add ``practice`` (``YDERNR``): the practice the person was listed with on the anchor day.

    A listing counts when ``DATO_FRA <= anchor`` and ``DATO_TIL`` is missing or on/after the
    anchor; with several, the latest start wins. Persons not listed get null.

    Examples
    --------
    >>> d = dt.date
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2020, 5, 1)] * 2})
    >>> t = pl.LazyFrame({"PNR": ["a", "a"], "YDERNR": ["p1", "p2"],
    ...     "DATO_FRA": [d(2000, 1, 1), d(2019, 1, 1)], "DATO_TIL": [d(2018, 12, 31), None]})
    >>> practice_at(c, t).collect()["practice"].to_list()
    ['p2', None]
    """
    cohort = cohort.cache()
    listed = (
        tilknytning.select("PNR", "YDERNR", "DATO_FRA", "DATO_TIL")
        .join(cohort.select("PNR", pl.col(anchor).alias("_anchor")), on="PNR")
        .filter(
            (pl.col("DATO_FRA") <= pl.col("_anchor"))
            & (pl.col("DATO_TIL").is_null() | (pl.col("DATO_TIL") >= pl.col("_anchor")))
        )
        .sort("PNR", "DATO_FRA", "YDERNR")
        .group_by("PNR")
        .agg(practice=pl.col("YDERNR").last())
    )
    return cohort.join(listed, on="PNR", how="left", maintain_order="left")


def end_of_life_cohort(
    registers: Mapping[str, pl.LazyFrame],
    contacts: pl.LazyFrame,
    diagnoses: pl.LazyFrame | None = None,
    *,
    start: str | dt.date = "2010-01-01",
    end: str | dt.date = "2024-12-31",
    min_age: int = 18,
    practice_years: Sequence[int] | None = None,
) -> Cohort:
    """Adult decedents (:func:`~paleval.cohort.decedent_cohort`) with every end-of-life exposure.

    Adds to the decedent cohort, all relative to the date of death:

    - GP involvement (:func:`~paleval.cohort.add_gp_exposures`): ``gp_home_visits_90d``,
      ``gp_home_visit_category`` (0 / 1-2 / 3+), ``gp_contacts_30d``, ``gp_ooh_contacts_30d``
      and the Booleans ``gp_contact_30d`` and ``gp_ooh_30d``;
    - ``terminal_declaration``, ``terminal_days_before``;
    - specialised palliative care (:func:`~paleval.cohort.add_spc`): ``spc_referred``,
      ``spc_admitted``, ``spc_unit``, dates, ``spc_wait_days``, ``spc_contact_to_anchor_days``
      and ``spc_referral_to_death_days``;
    - ``admissions_30d``, ``bed_days_30d`` from ``contacts`` (harmonised, de-duplicated LPR);
    - ``opioid_90d``; ``charlson_index`` and ``charlson_group`` when ``diagnoses`` is given;
    - ``practice`` (listed at death) and its home-visit ``propensity_quartile``
      (:func:`~paleval.cohort.practice_home_visit_propensity` over ``practice_years``, default
      the years of the period), 1-4;
    - outcome flags ``home_death``, ``out_of_hospital_death`` (known place of death only;
      null when unknown) and ``female``.

    The flow is the decedent cohort's. The decedents themselves (one row per person) and the
    practice propensity table (one row per practice) are computed now; the exposures stay lazy,
    with the event registers restricted to the decedents inside their scans.

    Examples
    --------
    >>> from paleval.synth import generate  # doctest: +SKIP
    >>> regs = scan_registers(d, END_OF_LIFE_REGISTERS)  # doctest: +SKIP
    >>> contacts, _ = deduplicate_contacts(lpr_contacts(d))  # doctest: +SKIP
    >>> cohort = end_of_life_cohort(regs, contacts, lpr_diagnoses(d))  # doctest: +SKIP
    """
    _require(registers, list(END_OF_LIFE_REGISTERS))
    start_d, end_d = _date(start), _date(end)
    base = decedent_cohort(registers, start=start_d, end=end_d, min_age=min_age)
    # The decedents (one row each) are collected once, and the big event registers are
    # restricted to them by a PNR filter that the loaders push into the scan, so only the
    # decedents' rows are parsed and joined (national scale: see benchmarks/RESULTS.md).
    decedents = base.collect(with_flow=True)  # the flow is this cohort's too
    persons = pl.col("PNR").is_in(decedents["PNR"].implode())
    lf = add_gp_exposures(decedents.lazy(), registers["sssy"].filter(persons))
    lf = add_terminal_declaration(lf, registers["terminal"])
    lf = add_spc(lf, registers["dpd"])
    lf = add_hospital_use(lf, contacts.filter(persons))
    lf = add_drug_use(lf, registers["lmdb"].filter(persons))
    if diagnoses is not None:
        lf = add_charlson(lf, diagnoses.filter(persons))
    lf = practice_at(lf, registers["tilknytning"])
    years = list(practice_years or range(start_d.year, end_d.year + 1))
    prop = practice_home_visit_propensity(registers, years=years).select(
        practice=pl.col("YDERNR"), propensity_quartile=pl.col("propensity_quartile")
    )
    known = pl.col("place_of_death") != "unknown"
    lf = (
        lf.join(prop.lazy(), on="practice", how="left", maintain_order="left")
        .with_columns(
            gp_contact_30d=pl.col("gp_contacts_30d") > 0,
            gp_ooh_30d=pl.col("gp_ooh_contacts_30d") > 0,
            spc_referral_to_death_days=(
                pl.col("death_date") - pl.col("spc_referral_date")
            ).dt.total_days(),
            home_death=pl.when(known).then(pl.col("place_of_death") == "home"),
            out_of_hospital_death=pl.when(known).then(pl.col("place_of_death") != "hospital"),
            female=pl.col("sex") == "female",
        )
        .sort("PNR")
    )
    params = {**base.params, "name": "end_of_life", "practice_years": [years[0], years[-1]]}
    return Cohort(frame=lf, base=base.base, steps=base.steps, params=params, _flow=base._flow)
