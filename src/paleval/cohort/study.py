"""The end-of-life study cohort in one call: decedents with every exposure the analyses use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START
from paleval.cohort._common import as_date, require_registers
from paleval.cohort.comorbidity import add_charlson
from paleval.cohort.decedents import (
    INCOME_LAG_YEARS,
    Cohort,
    decedent_cohort,
)
from paleval.cohort.exposures import (
    add_drug_use,
    add_final_admission,
    add_gp_exposures,
    add_hospital_use,
    add_spc,
    add_terminal_declaration,
)
from paleval.cohort.practice import add_practice_propensity, practice_propensity_before_death

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
    start: str | dt.date = DEFAULT_START,
    end: str | dt.date = DEFAULT_END,
    min_age: int = 18,
    income_lag: int = INCOME_LAG_YEARS,
    gp_offset_days: int = 0,
    gp_before_final_admission: bool = False,
    practice_lookback_years: int = 3,
) -> Cohort:
    """Adult decedents (:func:`~paleval.cohort.decedent_cohort`) with every end-of-life exposure.

    Adds to the decedent cohort, all relative to the date of death:

    - GP involvement (:func:`~paleval.cohort.add_gp_exposures`): ``gp_home_visits_90d``,
      ``gp_home_visit_category`` (0 / 1-2 / 3+), ``gp_contacts_30d``, ``gp_ooh_contacts_30d``
      and the Booleans ``gp_contact_30d`` and ``gp_ooh_30d``. The out-of-hours columns are null
      (unknown, not 0) where the declared coverage table has a gap (the Capital Region from
      2014, whose out-of-hours service 1813 is not in the health insurance register); the gap is
      named in ``gp_coverage_gap``. The windows end at death, or ``gp_offset_days`` before it,
      or before the final hospital admission (``gp_before_final_admission``; adds
      ``final_admission_start``), as lagged windows against reverse causation;
    - ``terminal_declaration``, ``terminal_days_before``;
    - specialised palliative care (:func:`~paleval.cohort.add_spc`): ``spc_referred``,
      ``spc_admitted``, ``spc_unit``, dates, ``spc_wait_days``, ``spc_contact_to_anchor_days``
      and ``spc_referral_to_death_days``;
    - ``admissions_30d``, ``bed_days_30d`` from ``contacts`` (harmonised, de-duplicated LPR);
    - ``opioid_90d``; ``charlson_index`` and ``charlson_group`` when ``diagnoses`` is given;
    - ``practice`` (listed at death) and its home-visit ``propensity_quartile`` (1-4) and
      ``propensity_eb`` (:func:`~paleval.cohort.practice_propensity_before_death`: measured in
      the ``practice_lookback_years`` calendar years before each person's year of death,
      indirectly standardised, empirical-Bayes shrunk, quartiles weighted by list size);
    - income from ``income_lag`` years before death (default
      :data:`~paleval.cohort.INCOME_LAG_YEARS`, a year before the final illness);
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
    require_registers(registers, list(END_OF_LIFE_REGISTERS))
    start_d, end_d = as_date(start), as_date(end)
    base = decedent_cohort(
        registers, start=start_d, end=end_d, min_age=min_age, income_lag=income_lag
    )
    # The decedents (one row each) are collected once, and the big event registers are
    # restricted to them by a PNR filter that the loaders push into the scan, so only the
    # decedents' rows are parsed and joined (national scale: see benchmarks/RESULTS.md).
    decedents = base.collect(with_flow=True)  # the flow is this cohort's too
    persons = pl.col("PNR").is_in(decedents["PNR"].implode())
    lf = decedents.lazy()
    end_before = None
    if gp_before_final_admission:
        lf = add_final_admission(lf, contacts.filter(persons))
        end_before = "final_admission_start"
    lf = add_gp_exposures(
        lf, registers["sssy"].filter(persons), offset_days=gp_offset_days, end_before=end_before
    )
    lf = add_terminal_declaration(lf, registers["terminal"])
    lf = add_spc(lf, registers["dpd"])
    lf = add_hospital_use(lf, contacts.filter(persons))
    lf = add_drug_use(lf, registers["lmdb"].filter(persons))
    if diagnoses is not None:
        lf = add_charlson(lf, diagnoses.filter(persons))
    lf = practice_at(lf, registers["tilknytning"])
    prop = practice_propensity_before_death(
        registers,
        death_years=range(start_d.year, end_d.year + 1),
        lookback_years=practice_lookback_years,
    )
    lf = add_practice_propensity(lf, prop)
    known = pl.col("place_of_death") != "unknown"
    lf = lf.with_columns(
        gp_contact_30d=pl.col("gp_contacts_30d") > 0,
        gp_ooh_30d=pl.col("gp_ooh_contacts_30d") > 0,
        spc_referral_to_death_days=(
            pl.col("death_date") - pl.col("spc_referral_date")
        ).dt.total_days(),
        home_death=pl.when(known).then(pl.col("place_of_death") == "home"),
        out_of_hospital_death=pl.when(known).then(pl.col("place_of_death") != "hospital"),
        female=pl.col("sex") == "female",
    ).sort("PNR")
    params = {
        **base.params,
        "name": "end_of_life",
        "gp_offset_days": gp_offset_days,
        "gp_before_final_admission": gp_before_final_admission,
        "practice_lookback_years": practice_lookback_years,
    }
    return Cohort(frame=lf, base=base.base, steps=base.steps, params=params, _flow=base._flow)
