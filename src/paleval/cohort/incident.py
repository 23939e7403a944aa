"""Incident cohort from a cancer diagnosis, followed to SPC referral, death or end of follow-up.

For time-to-event analyses of referral to specialised palliative care (SPC) with death as the
competing event: ``time`` is days from diagnosis to the first event, ``event`` is 1 for an SPC
referral (DPD referral received), 2 for death without a prior referral, 0 for censoring at the
end of follow-up. Cumulative incidence of referral must be estimated with a competing-risks
estimator (:func:`paleval.stats.aalen_johansen`), not 1 - Kaplan-Meier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from paleval.cohort.decedents import (
    Cohort,
    _date,
    _require,
    add_education,
    add_income,
    bef_status,
    regions_table,
)
from paleval.cohort.expressions import age_group, icd10_clean, icd10_grouper, years_between

__all__ = [
    "EVENT_CODES",
    "diagnosis_group_codes",
    "incident_cancer_cohort",
    "incident_noncancer_cohort",
]

EVENT_CODES = {0: "censored", 1: "spc_referral", 2: "death"}


def incident_cancer_cohort(
    registers: Mapping[str, pl.LazyFrame],
    *,
    start: str | dt.date = "2010-01-01",
    end: str | dt.date = "2024-12-31",
    followup_end: str | dt.date | None = None,
    min_age: int = 18,
    education_map: str = "education_hfaudd",
) -> Cohort:
    """Adults with a first cancer diagnosis (cancer register) between ``start`` and ``end``.

    Steps (the flow): first cancer diagnosis per person in the period (CAR) -> resident on 31
    December before the year of diagnosis (BEF) -> aged ``min_age`` or more -> not dead or
    referred before the diagnosis date. Follow-up ends at ``followup_end`` (default ``end``).

    Columns: ``PNR, diagnosis_date, diagnosis_year, cancer_code, cancer_site, age, age_group,
    sex, region, region_code, living_alone, origin, education, income, income_quartile,
    income_quintile`` (income of the year before diagnosis, from FAIK when ``registers`` has
    ``"faik"``; quartiles within diagnosis year) and ``referral_date, death_date, exit_date,
    time, event, event_label``.

    The first diagnoses (one row per person) are computed when this is called; the rest stays
    lazy, with the person registers restricted to the cohort inside their scans.

    Examples
    --------
    >>> d = dt.date
    >>> regs = {
    ...     "car": pl.LazyFrame({"PNR": ["a", "b"], "D_DIAGNOSEDATO": [d(2015, 1, 1)] * 2,
    ...                          "C_ICD10": ["C341", "C509"]}),
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b"], "year": [2014, 2014],
    ...         "FOED_DAG": [d(1950, 1, 1)] * 2, "KOEN": [1, 2], "KOM": ["101"] * 2,
    ...         "REG": ["84"] * 2, "CIVST": ["G"] * 2, "FAMILIE_ID": ["a", "b"],
    ...         "ANTPERSF": [2, 2], "IE_TYPE": [1, 1]}),
    ...     "dod": pl.LazyFrame({"PNR": ["a"], "DODDATO": [d(2015, 6, 1)]}),
    ...     "dpd": pl.LazyFrame({"PNR": ["a"], "HENV_DATO": [d(2015, 5, 1)]}),
    ...     "udda": pl.LazyFrame({"PNR": ["a"], "year": [2014], "HFAUDD": ["3011"]}),
    ... }
    >>> c = incident_cancer_cohort(regs, end="2015-12-31")
    >>> c.collect().select("PNR", "time", "event_label").rows()
    [('a', 120, 'spc_referral'), ('b', 364, 'censored')]
    """
    _require(registers, ["car", "bef", "dod", "dpd", "udda"])
    start_d, end_d, fu_end = _period(start, end, followup_end)
    first = (
        registers["car"]
        .select(
            "PNR",
            diagnosis_date=pl.col("D_DIAGNOSEDATO"),
            cancer_code=icd10_clean("C_ICD10", strip_d=True),
        )
        .sort("PNR", "diagnosis_date", "cancer_code")
        .group_by("PNR")
        .first()
        .filter(pl.col("diagnosis_date").is_between(start_d, end_d))
        .with_columns(diagnosis_year=pl.col("diagnosis_date").dt.year())
    )
    first = icd10_grouper(first, "cancer_code", "cancer_sites", "cancer_site", key="site")
    frame, base, steps = _follow_up(
        first,
        registers,
        f"First cancer diagnosis {start_d} to {end_d} (cancer register)",
        fu_end=fu_end,
        min_age=min_age,
        education_map=education_map,
    )
    columns = [
        "PNR", "diagnosis_date", "diagnosis_year", "cancer_code", "cancer_site", *_COMMON,
    ]  # fmt: skip
    params = {
        "name": "incident cancer",
        "start": str(start_d),
        "end": str(end_d),
        "followup_end": str(fu_end),
        "min_age": min_age,
    }
    return Cohort(frame=frame.select(columns).sort("PNR"), base=base, steps=steps, params=params)


def _period(
    start: str | dt.date, end: str | dt.date, followup_end: str | dt.date | None
) -> tuple[dt.date, dt.date, dt.date]:
    """Entry period and end of follow-up (default: the end of entry), checked in order."""
    start_d, end_d = _date(start), _date(end)
    fu_end = _date(followup_end) if followup_end is not None else end_d
    if not start_d <= end_d <= fu_end:
        raise ValueError(f"need start <= end <= followup_end, got {start_d}, {end_d}, {fu_end}")
    return start_d, end_d, fu_end


_COMMON = [
    "age", "age_group", "sex", "region", "region_code", "living_alone", "origin", "education",
    "income", "income_quartile", "income_quintile", "referral_date", "death_date", "exit_date",
    "time", "event", "event_label",
]  # fmt: skip


def _follow_up(
    first: pl.LazyFrame,
    registers: Mapping[str, pl.LazyFrame],
    label: str,
    *,
    fu_end: dt.date,
    min_age: int,
    education_map: str,
) -> tuple[pl.LazyFrame, pl.LazyFrame, list[tuple[str, pl.Expr]]]:
    """Covariates at diagnosis, exclusions and follow-up to referral / death / end.

    The first diagnoses (one row per person) are collected here, once, and the person registers
    are restricted to those persons by a PNR filter that the loaders push into their scans, so
    at national scale only the cohort's rows are parsed and joined.
    """
    first_df = first.collect(engine="streaming")
    first = first_df.lazy()
    persons = pl.col("PNR").is_in(first_df["PNR"].implode())
    deaths = (
        registers["dod"].filter(persons).group_by("PNR").agg(death_date=pl.col("DODDATO").min())
    )
    referrals = registers["dpd"].filter(persons).select("PNR", "HENV_DATO")
    base = (
        first.with_columns(_bef_year=pl.col("diagnosis_year") - 1)
        .join(
            bef_status(
                registers["bef"]
                .filter(persons)
                .join(
                    first.select("PNR", year=pl.col("diagnosis_year") - 1),
                    on=["PNR", "year"],
                    how="semi",
                )
            ),
            on=["PNR", "_bef_year"],
            how="left",
        )
        .join(deaths, on="PNR", how="left")
        .with_columns(age=years_between("birth_date", "diagnosis_date"))
    )
    first_ref = (
        referrals.join(first.select("PNR", "diagnosis_date"), on="PNR")
        .group_by("PNR")
        .agg(
            referral_date=pl.col("HENV_DATO")
            .filter(pl.col("HENV_DATO") >= pl.col("diagnosis_date"))
            .min(),
            _ref_before=(pl.col("HENV_DATO") < pl.col("diagnosis_date")).any(),
        )
    )
    base = base.join(first_ref, on="PNR", how="left")
    steps: list[tuple[str, pl.Expr]] = [
        (label, pl.lit(True)),
        ("not resident the year before diagnosis", pl.col("birth_date").is_not_null()),
        (f"aged under {min_age} at diagnosis", pl.col("age") >= min_age),
        (
            "died or referred to SPC before the diagnosis date",
            (pl.col("death_date").is_null() | (pl.col("death_date") >= pl.col("diagnosis_date")))
            & ~pl.col("_ref_before").fill_null(False),
        ),
    ]
    keep = pl.all_horizontal([cond for _, cond in steps[1:]])
    cohort = base.filter(keep)
    # Events after the end of follow-up do not count.
    ref = pl.when(pl.col("referral_date") <= fu_end).then(pl.col("referral_date"))
    dth = pl.when(pl.col("death_date") <= fu_end).then(pl.col("death_date"))
    cohort = (
        cohort.with_columns(referral_date=ref, death_date=dth)
        .with_columns(
            exit_date=pl.min_horizontal("referral_date", "death_date", pl.lit(fu_end)),
            event=pl.when(
                pl.col("referral_date").is_not_null()
                & (
                    pl.col("death_date").is_null()
                    | (pl.col("referral_date") <= pl.col("death_date"))
                )
            )
            .then(1)
            .when(pl.col("death_date").is_not_null())
            .then(2)
            .otherwise(0)
            .cast(pl.Int8),
        )
        .with_columns(
            time=(pl.col("exit_date") - pl.col("diagnosis_date")).dt.total_days(),
            event_label=pl.col("event").replace_strict(EVENT_CODES, return_dtype=pl.String),
            age_group=age_group("age"),
        )
    )
    cohort = cohort.join(regions_table(), on="region_code", how="left")
    cohort = add_education(
        cohort, registers["udda"].filter(persons), education_map, year_col="diagnosis_year"
    )
    if "faik" in registers:
        cohort = add_income(cohort, registers["faik"], year_col="diagnosis_year")
    else:
        cohort = cohort.with_columns(
            income=pl.lit(None, pl.Float64),
            income_quartile=pl.lit(None, pl.Int8),
            income_quintile=pl.lit(None, pl.Int8),
        )
    return cohort, base, steps


def incident_noncancer_cohort(
    registers: Mapping[str, pl.LazyFrame],
    diagnoses: pl.LazyFrame,
    *,
    groups: list[str] | None = None,
    start: str | dt.date = "2010-01-01",
    end: str | dt.date = "2024-12-31",
    followup_end: str | dt.date | None = None,
    min_age: int = 18,
    education_map: str = "education_hfaudd",
) -> Cohort:
    """Adults with a first hospital diagnosis of a non-cancer palliative-need group.

    The diagnosis date is the start of the first LPR2/LPR3 contact (action or secondary
    diagnosis) with a code of the group (Murtagh/Etkind groups, code list ``diagnosis_groups``);
    ``groups`` limits the groups (default: all but cancer). A person enters once, at the first
    diagnosis of any of the groups, with that ``diagnosis_group``. Follow-up as in
    :func:`incident_cancer_cohort`.

    On national data, read only the groups' codes:
    ``lpr_diagnoses(d, codes=diagnosis_group_codes(groups))`` gives the same cohort without
    joining every hospital diagnosis to its contact.

    Examples
    --------
    >>> d = dt.date
    >>> regs = {
    ...     "bef": pl.LazyFrame({"PNR": ["a"], "year": [2014], "FOED_DAG": [d(1940, 1, 1)],
    ...         "KOEN": [1], "KOM": ["101"], "REG": ["84"], "CIVST": ["G"],
    ...         "FAMILIE_ID": ["a"], "ANTPERSF": [2], "IE_TYPE": [1]}),
    ...     "dod": pl.LazyFrame({"PNR": ["a"], "DODDATO": [d(2016, 1, 1)]}),
    ...     "dpd": pl.LazyFrame(schema={"PNR": pl.String, "HENV_DATO": pl.Date}),
    ...     "udda": pl.LazyFrame(schema={"PNR": pl.String, "year": pl.Int64,
    ...                                  "HFAUDD": pl.String}),
    ... }
    >>> dx = pl.LazyFrame({"PNR": ["a", "a"], "start": [d(2015, 3, 1), d(2015, 1, 1)],
    ...                    "diagnosis": ["DJ441", "DI500"]})
    >>> c = incident_noncancer_cohort(regs, dx, end="2016-12-31")
    >>> c.collect().select("diagnosis_group", "time", "event_label").row(0)
    ('heart', 365, 'death')
    """
    _require(registers, ["bef", "dod", "dpd", "udda"])
    start_d, end_d, fu_end = _period(start, end, followup_end)
    wanted = _wanted_groups(groups)
    coded = icd10_grouper(
        diagnoses.select(
            "PNR",
            diagnosis_date=pl.col("start"),
            diagnosis_code=icd10_clean("diagnosis", strip_d=True),
        ),
        "diagnosis_code",
        "diagnosis_groups",
        "diagnosis_group",
        maintain_order=False,
    )
    # The first diagnosis is the smallest (date, code): as one sortable text key, a streaming
    # min per person instead of sorting every diagnosis.
    first = (
        coded.filter(pl.col("diagnosis_group").is_in(wanted))
        # the key computed before the group-by: a plain min the streaming engine streams
        .select(
            "PNR",
            _key=pl.concat_str(
                pl.col("diagnosis_date").dt.strftime("%Y%m%d"), pl.col("diagnosis_code")
            ),
        )
        .group_by("PNR")
        .agg(pl.col("_key").min())
        .filter(pl.col("_key").is_not_null())
        .select(
            "PNR",
            diagnosis_date=pl.col("_key").str.slice(0, 8).str.to_date("%Y%m%d"),
            diagnosis_code=pl.col("_key").str.slice(8),
        )
        .filter(pl.col("diagnosis_date").is_between(start_d, end_d))
        .with_columns(diagnosis_year=pl.col("diagnosis_date").dt.year())
    )
    first = icd10_grouper(first, "diagnosis_code", "diagnosis_groups", "diagnosis_group")
    frame, base, steps = _follow_up(
        first,
        registers,
        f"First hospital diagnosis of {', '.join(wanted)} {start_d} to {end_d}",
        fu_end=fu_end,
        min_age=min_age,
        education_map=education_map,
    )
    columns = [
        "PNR",
        "diagnosis_date",
        "diagnosis_year",
        "diagnosis_code",
        "diagnosis_group",
        *_COMMON,
    ]
    params = {
        "name": "incident non-cancer",
        "start": str(start_d),
        "end": str(end_d),
        "followup_end": str(fu_end),
        "min_age": min_age,
        "groups": wanted,
    }
    return Cohort(frame=frame.select(columns).sort("PNR"), base=base, steps=steps, params=params)


def diagnosis_group_codes(groups: list[str] | None = None) -> list[str]:
    """The ICD-10 prefixes of the diagnosis groups ``groups`` (code list ``diagnosis_groups``;
    default: every group but cancer), for ``lpr_diagnoses(..., codes=...)``.

    A code whose 4-character prefix belongs to another group is still read; the grouping in
    :func:`incident_noncancer_cohort` then sorts it out, so the cohort is the same.

    Examples
    --------
    >>> "J44" in diagnosis_group_codes(["respiratory"])
    True
    >>> any(c.startswith("C") for c in diagnosis_group_codes())
    False
    """
    from paleval.codes import load_codes

    table = load_codes("diagnosis_groups").filter(pl.col("group").is_in(_wanted_groups(groups)))
    return table["icd10_prefix"].unique().sort().to_list()


def _wanted_groups(groups: list[str] | None) -> list[str]:
    """``groups`` checked against the code list, or every group but cancer."""
    known = _need_groups()
    if groups is None:
        return [g for g in known if g != "cancer"]
    unknown = sorted(set(groups) - set(known))
    if unknown or not groups:
        raise ValueError(f"unknown diagnosis group(s) {unknown or groups}; known: {known}")
    return list(groups)


def _need_groups() -> list[str]:
    from paleval.codes import load_codes

    return load_codes("diagnosis_groups")["group"].unique(maintain_order=True).to_list()
