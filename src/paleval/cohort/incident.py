"""Incident cohorts from a diagnosis, followed to SPC referral, death or end of follow-up.

For time-to-event analyses of referral to specialised palliative care (SPC) with death as the
competing event: ``time`` is days from diagnosis (cohort entry) to the first event, ``event`` is
1 for an SPC referral (DPD referral received), 2 for death without a prior referral, 0 for
censoring (``censor_reason``: end of follow-up, emigration, or, in the non-cancer cohort, a new
cancer). Cumulative incidence of referral must be estimated with a competing-risks estimator
(:func:`paleval.stats.aalen_johansen`), not 1 - Kaplan-Meier.

- :func:`incident_cancer_cohort`: first cancer in the cancer register.
- :func:`incident_noncancer_cohort`: first hospital marker of *advanced* non-cancer disease
  (code list ``advanced_disease``), with a washout, the exclusion of anyone with cancer before
  entry and follow-up ended by a new cancer (methods: ``docs/methods.md``).

Both censor at the first emigration after entry when the registers hold DST's migration
register ``vnds`` (``PNR, INDUD_KODE`` "I"/"U", ``HAEND_DATO``); without it, emigration is not
handled, and the cohort's ``params["emigration"]`` says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START
from paleval.cohort._common import as_date, require_registers
from paleval.cohort.decedents import (
    NURSING_HOME_REGISTER,
    Cohort,
    add_education,
    add_income,
    add_nursing_home,
    bef_status,
    regions_table,
)
from paleval.cohort.expressions import age_group, icd10_clean, icd10_grouper, years_between
from paleval.registers.validation import death_rules

__all__ = [
    "CENSOR_REASONS",
    "EVENT_CODES",
    "NEW_CANCER_EVENT",
    "advanced_disease_codes",
    "diagnosis_group_codes",
    "incident_cancer_cohort",
    "incident_noncancer_cohort",
]

EVENT_CODES = {0: "censored", 1: "spc_referral", 2: "death"}
NEW_CANCER_EVENT = 3
"""``event`` of a new cancer in the non-cancer cohort with ``new_cancer="compete"`` (label
``"new_cancer"``); with the default ``new_cancer="censor"`` it is censoring (event 0)."""
CENSOR_REASONS = ("new_cancer", "emigration", "end_of_followup")
"""Values of ``censor_reason`` (null unless ``event`` is 0); on a tie, the first listed wins."""

ACTION_DIAGNOSIS = "A"
"""LPR diagnosis type of the action (primary) diagnosis (LPR2 ``C_DIAGTYPE``, LPR3
``diagnosetype``); ``B`` is a secondary diagnosis."""
MIGRATION_CODES = {"I": "immigration", "U": "emigration"}
"""``vnds.INDUD_KODE`` (DST's migration register)."""


def incident_cancer_cohort(
    registers: Mapping[str, pl.LazyFrame],
    *,
    start: str | dt.date = DEFAULT_START,
    end: str | dt.date = DEFAULT_END,
    followup_end: str | dt.date | None = None,
    min_age: int = 18,
    education_map: str = "education_hfaudd",
    residence_years: int | None = None,
) -> Cohort:
    """Adults with a first cancer diagnosis (cancer register) between ``start`` and ``end``.

    Cancer is ICD-10 C00-C97 except C44 (non-melanoma skin cancer; code list
    ``cancer_exclusion``), as NORDCAN and the Danish Cancer Registry count incidence: a C44
    record (or an in-situ D code) neither enters the cohort nor makes a later first cancer
    prevalent.

    Steps (the flow): first cancer diagnosis per person in the period (CAR) -> resident on 31
    December before the year of diagnosis (BEF) -> aged ``min_age`` or more -> not dead or
    referred before the diagnosis date -> (with ``vnds``) living in Denmark at diagnosis (the
    last migration before it is not an emigration) -> (with ``residence_years``) no
    immigration or return from abroad in the ``residence_years`` years before the diagnosis
    date. Follow-up ends at the first emigration on or after the diagnosis date (``vnds``;
    censored) or at ``followup_end`` (default ``end``).

    Migration (``vnds``): follow-up is censored at the first emigration after entry and never
    resumes: a person who returns does not re-enter (one follow-up spell per person, as the
    competing-risks estimators need; Danish register cohorts are "censored only at emigration
    or death", Schmidt et al., Clin Epidemiol 2019;11:563-591). Before entry, a person living
    in Denmark at diagnosis enters whatever their migration history (default
    ``residence_years=None``); ``residence_years=N`` excludes persons who immigrated or came
    back from abroad less than ``N`` years before the diagnosis date, whose Danish register
    history (cancer, markers, washout) does not cover the look-back (as studies that require
    no prior migration do). It needs ``vnds``.

    Living alone: BEF's one-person family (``ANTPERSF == 1``) the year before diagnosis; with
    the nursing-home register (key ``"plh"``) ``nursing_home_resident`` is a stay covering the
    diagnosis date (:func:`~paleval.cohort.add_nursing_home`) and residents do not count as
    living alone, as in :func:`~paleval.cohort.decedent_cohort`; without it
    ``nursing_home_resident`` is null and ``params["nursing_home"]`` says so.

    Columns: ``PNR, diagnosis_date, diagnosis_year, cancer_code, cancer_site, age, age_group,
    sex, region, region_code, living_alone, nursing_home_resident, origin, education, income,
    income_quartile, income_quintile`` (income of the year before diagnosis, from FAIK when
    ``registers`` has ``"faik"``; quartiles within diagnosis year) and ``referral_date, death_date,
    emigration_date, censor_date, exit_date, time, event, event_label, censor_reason``
    (``censor_date``: the date follow-up would end without an event).

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
    ...     "udda": pl.LazyFrame({"PNR": ["a"], "year": [2014], "HFAUDD": ["1631"]}),
    ...     "vnds": pl.LazyFrame({"PNR": ["b"], "INDUD_KODE": ["U"],
    ...                           "HAEND_DATO": [d(2015, 3, 1)]}),
    ... }
    >>> c = incident_cancer_cohort(regs, end="2015-12-31")
    >>> c.collect().select("PNR", "time", "event_label", "censor_reason").rows()
    [('a', 120, 'spc_referral', None), ('b', 59, 'censored', 'emigration')]
    """
    require_registers(registers, ["car", "bef", "dod", "dpd", "udda"])
    start_d, end_d, fu_end = _period(start, end, followup_end)
    _check_residence(registers, residence_years)
    from paleval.codes import load_codes

    cancers = load_codes("cancer_exclusion")["icd10_prefix"].implode()
    first = (
        registers["car"]
        .select(
            "PNR",
            diagnosis_date=pl.col("D_DIAGNOSEDATO"),
            cancer_code=icd10_clean("C_ICD10", strip_d=True),
        )
        # cancer as NORDCAN and the Danish Cancer Registry count it: C00-C97 except C44
        # (non-melanoma skin cancer), so a skin cancer neither starts follow-up nor makes a
        # later first cancer look prevalent
        .filter(pl.col("cancer_code").str.slice(0, 3).is_in(cancers))
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
        residence_years=residence_years,
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
        "emigration": _emigration_note(registers),
        "residence_years": residence_years,
        "nursing_home": _nursing_home_note(registers),
    }
    return Cohort(frame=frame.select(columns).sort("PNR"), base=base, steps=steps, params=params)


def _period(
    start: str | dt.date, end: str | dt.date, followup_end: str | dt.date | None
) -> tuple[dt.date, dt.date, dt.date]:
    """Entry period and end of follow-up (default: the end of entry), checked in order."""
    start_d, end_d = as_date(start), as_date(end)
    fu_end = as_date(followup_end) if followup_end is not None else end_d
    if not start_d <= end_d <= fu_end:
        raise ValueError(f"need start <= end <= followup_end, got {start_d}, {end_d}, {fu_end}")
    return start_d, end_d, fu_end


def _emigration_note(registers: Mapping[str, pl.LazyFrame]) -> str:
    if "vnds" in registers:
        return (
            "censored at the first emigration on or after entry (vnds INDUD_KODE 'U'), with "
            "no re-entry on return; persons whose last migration before entry is an "
            "emigration are excluded"
        )
    return "not handled: no migration register (vnds); emigrants are followed as residents"


def _check_residence(registers: Mapping[str, pl.LazyFrame], years: int | None) -> None:
    if years is None:
        return
    if not isinstance(years, int) or isinstance(years, bool) or years < 0:
        raise ValueError(f"residence_years must be None or an int >= 0, got {years!r}")
    if "vnds" not in registers:
        raise ValueError(
            f"residence_years={years} needs the migration register 'vnds' (immigration and "
            f"return dates); got {sorted(registers)}"
        )


def _nursing_home_note(registers: Mapping[str, pl.LazyFrame]) -> str:
    if NURSING_HOME_REGISTER in registers:
        return (
            f"nursing_home_resident: a stay in {NURSING_HOME_REGISTER!r} covering the diagnosis "
            "date; living_alone excludes nursing-home residents; unknown (null) for a diagnosis "
            "before the register begins (paleval.codes.covered_from)"
        )
    return (
        f"nursing-home register ({NURSING_HOME_REGISTER!r}) not delivered: "
        "nursing_home_resident is null (unknown) and living_alone (BEF's one-person family) "
        "includes nursing-home residents"
    )


_COMMON = [
    "age", "age_group", "sex", "region", "region_code", "living_alone", "nursing_home_resident",
    "origin", "education",
    "income", "income_quartile", "income_quintile", "referral_date", "death_date",
    "emigration_date", "censor_date", "exit_date", "time", "event", "event_label",
    "censor_reason",
]  # fmt: skip


def _migrations(vnds: pl.LazyFrame, first: pl.LazyFrame, persons: pl.Expr) -> pl.LazyFrame:
    """Per cohort person: ``emigration_date`` (first emigration on or after the diagnosis date),
    ``_abroad`` (the last migration before the diagnosis date is an emigration) and
    ``_last_arrival`` (the last immigration, or return from abroad, before the diagnosis date).

    Rows of the cohort's persons with an ``INDUD_KODE`` other than I/U or no ``HAEND_DATO`` are
    an error (counted, with examples): a migration that cannot be placed cannot censor."""
    moves = vnds.filter(persons).select(
        "PNR",
        code=pl.col("INDUD_KODE").cast(pl.String).str.strip_chars().str.to_uppercase(),
        date=pl.col("HAEND_DATO"),
    )
    bad = moves.filter(
        ~pl.col("code").is_in(list(MIGRATION_CODES)) | pl.col("date").is_null()
    ).collect(engine="streaming")
    if bad.height:
        raise ValueError(
            f"vnds: {bad.height} rows of the cohort's persons have INDUD_KODE not in "
            f"{sorted(MIGRATION_CODES)} or no HAEND_DATO (columns INDUD_KODE, HAEND_DATO), "
            f"e.g. {bad.head(3).rows()}"
        )
    before = pl.col("date") < pl.col("diagnosis_date")
    return (
        moves.join(first.select("PNR", "diagnosis_date"), on="PNR")
        .group_by("PNR")
        .agg(
            emigration_date=pl.col("date").filter((pl.col("code") == "U") & ~before).min(),
            _abroad=pl.col("code").filter(before).sort_by(pl.col("date").filter(before)).last()
            == "U",
            _last_arrival=pl.col("date").filter((pl.col("code") == "I") & before).max(),
        )
    )


def _implausible_death() -> pl.Expr:
    """A death the validation rules ``death_before_birth`` / ``age_over_max`` exclude."""
    rules = death_rules(pl.col("death_date"), pl.col("birth_date"))
    return pl.any_horizontal(list(rules.values()))


def _follow_up(
    first: pl.LazyFrame,
    registers: Mapping[str, pl.LazyFrame],
    label: str,
    *,
    fu_end: dt.date,
    min_age: int,
    education_map: str,
    exclusions: Sequence[tuple[str, pl.Expr]] = (),
    new_cancer: str | None = None,
    residence_years: int | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame, list[tuple[str, pl.Expr]]]:
    """Covariates at diagnosis, exclusions and follow-up to referral / death / censoring.

    ``exclusions`` are flow steps on columns of ``first`` placed right after the starting
    population; ``new_cancer`` (``"censor"`` / ``"compete"``) uses ``first``'s
    ``new_cancer_date``; ``residence_years`` (needs ``vnds``) excludes persons who immigrated
    or returned from abroad within that many years before the diagnosis date. With the
    nursing-home register (``plh``) ``nursing_home_resident`` is a stay covering the diagnosis
    date and ``living_alone`` leaves residents out; without it, null and BEF's one-person
    family. The first diagnoses (one row per person) are collected here, once,
    and the person registers are restricted to those persons by a PNR filter that the
    loaders push into their scans, so at national scale only the cohort's rows are parsed.
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
        # a death before birth or over 115 years of age is excluded by validation (rules
        # death_before_birth, age_over_max): no death, not "died before the diagnosis date"
        .with_columns(death_date=pl.when(~_implausible_death()).then(pl.col("death_date")))
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
        *exclusions,
        ("not resident the year before diagnosis", pl.col("birth_date").is_not_null()),
        (f"aged under {min_age} at diagnosis", pl.col("age") >= min_age),
        (
            "died or referred to SPC before the diagnosis date",
            (pl.col("death_date").is_null() | (pl.col("death_date") >= pl.col("diagnosis_date")))
            & ~pl.col("_ref_before").fill_null(False),
        ),
    ]
    if "vnds" in registers:
        base = base.join(_migrations(registers["vnds"], first, persons), on="PNR", how="left")
        steps.append(
            (
                "emigrated before the diagnosis date (not living in Denmark)",
                ~pl.col("_abroad").fill_null(False),
            )
        )
        if residence_years is not None:
            since = pl.col("diagnosis_date").dt.offset_by(f"-{residence_years}y")
            steps.append(
                (
                    f"immigrated or returned from abroad less than {residence_years} years "
                    "before the diagnosis date (incomplete register history)",
                    (pl.col("_last_arrival") <= since).fill_null(True),
                )
            )
    else:
        base = base.with_columns(emigration_date=pl.lit(None, pl.Date))
    # The entrants joined to BEF, DOD, DPD and VNDS, collected once (one row per entrant):
    # the additions below (nursing home, education, income) each use their input twice, so a
    # lazy base was copied into itself at every step and the plan read BEF, DOD, DPD and VNDS
    # eight times each.
    base = base.collect(engine="streaming").lazy()
    keep = pl.all_horizontal([cond for _, cond in steps[1:]])
    cohort = base.filter(keep).with_columns(_end=pl.lit(fu_end))
    cohort = _outcome(cohort, new_cancer)
    cohort = cohort.join(regions_table(), on="region_code", how="left")
    if "faik" in registers:
        cohort = add_income(cohort, registers["faik"], year_col="diagnosis_year")
    else:
        cohort = cohort.with_columns(
            income=pl.lit(None, pl.Float64),
            income_quartile=pl.lit(None, pl.Int8),
            income_quintile=pl.lit(None, pl.Int8),
        )
    # Nursing home and education depend on the person and the diagnosis date only: tables of
    # the (in-memory) entrants joined side by side, so plh and UDDA are read once each.
    if NURSING_HOME_REGISTER in registers:
        stays = registers[NURSING_HOME_REGISTER].filter(persons)
        nh = add_nursing_home(first.select("PNR", "diagnosis_date"), stays, anchor="diagnosis_date")
        cohort = cohort.join(
            nh, on=["PNR", "diagnosis_date"], how="left", maintain_order="left"
        ).with_columns(living_alone=pl.col("living_alone") & ~pl.col("nursing_home_resident"))
    else:
        cohort = cohort.with_columns(nursing_home_resident=pl.lit(None, pl.Boolean))
    edu = add_education(
        first.select("PNR", "diagnosis_year"),
        registers["udda"].filter(persons),
        education_map,
        year_col="diagnosis_year",
    )
    cohort = cohort.join(edu, on=["PNR", "diagnosis_year"], how="left", maintain_order="left")
    return cohort, base, steps


def _outcome(cohort: pl.LazyFrame, new_cancer: str | None) -> pl.LazyFrame:
    """``censor_date, exit_date, event, event_label, censor_reason, time``.

    Follow-up would end (censored) at ``censor_date``, the earliest of the end of follow-up,
    the first emigration and (``new_cancer="censor"``) a new cancer. An SPC referral or a
    death on or before ``censor_date`` is an event (an event on the day of censoring counts),
    except that a referral on the day a new cancer is diagnosed is taken as the cancer's (the
    cancer wins; a death that day is a death). A referral on the day of death is a referral.
    With ``new_cancer="compete"`` a new cancer before referral and death is event 3.
    Referral and death dates outside follow-up are set to null.
    """
    ref, dth = pl.col("referral_date"), pl.col("death_date")
    censors = {"emigration": pl.col("emigration_date")}
    compete = None
    if new_cancer == "censor":
        censors = {"new_cancer": pl.col("new_cancer_date"), **censors}
    elif new_cancer == "compete":
        compete = pl.col("new_cancer_date")
    cens = pl.min_horizontal(pl.col("_end"), *censors.values())
    labels = dict(EVENT_CODES)
    # a referral counts before a new cancer only (strictly: the same day is the cancer's)
    ref_in = (ref <= cens) & (ref < pl.col("new_cancer_date")).fill_null(True)
    if new_cancer is None:
        ref_in = ref <= cens
    ref_ok = ref.is_not_null() & ref_in & (dth.is_null() | (ref <= dth))
    dth_ok = dth.is_not_null() & (dth <= cens)
    event = pl.when(ref_ok)
    event = event.then(1).when(
        dth_ok if compete is None else dth_ok & (compete.is_null() | (dth <= compete))
    )
    event = event.then(2)
    if compete is not None:
        labels[NEW_CANCER_EVENT] = "new_cancer"
        event = event.when(compete.is_not_null() & (compete <= cens)).then(NEW_CANCER_EVENT)
    event = event.otherwise(0).cast(pl.Int8)
    reason = pl.when(pl.col("event") != 0).then(pl.lit(None, pl.String))
    for name, col in censors.items():
        reason = reason.when(col == pl.col("censor_date")).then(pl.lit(name))
    reason = reason.otherwise(pl.lit("end_of_followup"))
    exit_date = (
        pl.when(pl.col("event") == 1)
        .then(ref)
        .when(pl.col("event") == 2)
        .then(dth)
        .when(pl.col("event") == NEW_CANCER_EVENT)
        .then(pl.col("new_cancer_date") if compete is not None else pl.lit(None, pl.Date))
        .otherwise(pl.col("censor_date"))
    )
    return (
        cohort.with_columns(censor_date=cens, event=event)
        .with_columns(
            exit_date=exit_date,
            censor_reason=reason,
            referral_date=pl.when(ref_in).then(ref),
            death_date=pl.when(dth <= pl.col("censor_date")).then(dth),
        )
        .with_columns(
            time=(pl.col("exit_date") - pl.col("diagnosis_date")).dt.total_days(),
            event_label=pl.col("event").replace_strict(labels, return_dtype=pl.String),
            age_group=age_group("age"),
        )
    )


def incident_noncancer_cohort(
    registers: Mapping[str, pl.LazyFrame],
    diagnoses: pl.LazyFrame,
    *,
    contacts: pl.LazyFrame | None = None,
    groups: list[str] | None = None,
    start: str | dt.date = DEFAULT_START,
    end: str | dt.date = DEFAULT_END,
    followup_end: str | dt.date | None = None,
    min_age: int = 18,
    education_map: str = "education_hfaudd",
    code_list: str = "advanced_disease",
    washout_years: int | None = None,
    cancer_lookback_years: int | None = None,
    diagnosis_types: Sequence[str] = ("A", "B"),
    new_cancer: str = "censor",
    residence_years: int | None = None,
) -> Cohort:
    """Adults with a first hospital marker of advanced non-cancer disease, free of cancer.

    Entry (``diagnosis_date``) is the start of the first LPR2/LPR3 contact in the period with
    a marker of advanced disease (code list ``code_list``, default ``advanced_disease``: heart
    failure, COPD as the action diagnosis of an acute inpatient admission or respiratory
    failure, dementia, end-stage renal and liver disease, neurodegenerative disease, HIV).
    ``groups`` limits the marker groups (default: all). A marker whose ``requires`` is
    ``acute_inpatient_action`` counts only as the action diagnosis (type ``A``) of an acute
    inpatient contact (``contacts``: :func:`paleval.registers.lpr_contacts`, needed then).
    Only diagnoses of the types ``diagnosis_types`` count (default action and secondary).

    Steps (the flow): persons with a marker in the period -> no marker in the washout window
    before ``start`` (``washout_years`` years; default ``None``: all available history) -> no
    cancer on or before entry (cancer register C_ICD10, or an LPR diagnosis, C00-C97 except
    C44; within ``cancer_lookback_years`` before entry, default ``None``: all history) -> the
    steps of :func:`incident_cancer_cohort` (resident, age, not dead or referred before
    entry, living in Denmark at entry when ``vnds`` is given, and ``residence_years``).
    Migration, ``residence_years``, ``nursing_home_resident`` and ``living_alone`` as in
    :func:`incident_cancer_cohort`.

    Follow-up ends at referral, death, ``followup_end``, the first emigration (``vnds``) or a
    new cancer (CAR or LPR, after the entry date): with ``new_cancer="censor"`` (default) it is
    censoring (``event`` 0, ``censor_reason`` ``"new_cancer"``); with ``"compete"`` it is a
    competing event (``event`` 3, :data:`NEW_CANCER_EVENT`).

    ``diagnoses`` must hold the cancer codes too: on national data read only what the cohort
    needs, ``lpr_diagnoses(d, codes=advanced_disease_codes(groups))``; the cohort is the same.

    Columns: ``PNR, diagnosis_date, diagnosis_year, diagnosis_code, diagnosis_group,
    new_cancer_date`` and the columns of :func:`incident_cancer_cohort` after
    ``cancer_site``.

    Examples
    --------
    >>> d = dt.date
    >>> regs = {
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b"], "year": [2014, 2014],
    ...         "FOED_DAG": [d(1940, 1, 1)] * 2, "KOEN": [1, 2], "KOM": ["101"] * 2,
    ...         "REG": ["84"] * 2, "CIVST": ["G"] * 2, "FAMILIE_ID": ["a", "b"],
    ...         "ANTPERSF": [2, 2], "IE_TYPE": [1, 1]}),
    ...     "dod": pl.LazyFrame({"PNR": ["a"], "DODDATO": [d(2016, 1, 1)]}),
    ...     "dpd": pl.LazyFrame(schema={"PNR": pl.String, "HENV_DATO": pl.Date}),
    ...     "udda": pl.LazyFrame(schema={"PNR": pl.String, "year": pl.Int64,
    ...                                  "HFAUDD": pl.String}),
    ...     "car": pl.LazyFrame({"PNR": ["b"], "D_DIAGNOSEDATO": [d(2014, 1, 1)],
    ...                          "C_ICD10": ["C509"]}),
    ... }
    >>> dx = pl.LazyFrame({"PNR": ["a", "a", "b"], "source": "LPR2",
    ...     "contact_id": ["1", "2", "3"], "start": [d(2015, 3, 1), d(2015, 1, 1), d(2015, 1, 1)],
    ...     "diagnosis": ["DI100", "DI500", "DI500"], "diagnosis_type": "A"})
    >>> c = incident_noncancer_cohort(regs, dx, end="2016-12-31", groups=["heart_failure"])
    >>> c.collect().select("PNR", "diagnosis_group", "time", "event_label").rows()
    [('a', 'heart_failure', 365, 'death')]
    >>> c.flow.table.filter(pl.col("excluded") > 0)["label"].to_list()
    ['Excluded: cancer (CAR or LPR, C00-C97 except C44) on or before entry (all history)']
    """
    require_registers(registers, ["bef", "dod", "dpd", "udda", "car"])
    start_d, end_d, fu_end = _period(start, end, followup_end)
    if new_cancer not in ("censor", "compete"):
        raise ValueError(f"new_cancer must be 'censor' or 'compete', got {new_cancer!r}")
    _check_residence(registers, residence_years)
    for name, n in (
        ("washout_years", washout_years),
        ("cancer_lookback_years", cancer_lookback_years),
    ):
        if n is not None and (not isinstance(n, int) or n < 0):
            raise ValueError(f"{name} must be None (all history) or an int >= 0, got {n!r}")
    if isinstance(diagnosis_types, str) or not diagnosis_types:
        raise ValueError(f"diagnosis_types must be a non-empty list, got {diagnosis_types!r}")
    types = list(diagnosis_types)
    table = _marker_table(code_list, groups)
    wanted = table["group"].unique(maintain_order=True).to_list()
    if (table["requires"] != "any").any() and contacts is None:
        need = table.filter(pl.col("requires") != "any")["icd10_prefix"].to_list()
        raise ValueError(
            f"the markers {need} count only on acute inpatient contacts: pass "
            "contacts=lpr_contacts(...) (or groups without them)"
        )
    markers = _markers(diagnoses, contacts, table, types)
    lo = None if washout_years is None else _years_before(start_d, washout_years)
    first = _first_markers(markers, start_d, end_d, lo)
    # the entries (one row per person), once; the cancer look-ups are restricted to them
    entries = first.collect(engine="streaming")
    cancers = _cancer_history(registers["car"], diagnoses, entries, types, cancer_lookback_years)
    first = (
        entries.lazy()
        .join(cancers, on="PNR", how="left")
        .with_columns(pl.col("_prior_cancer").fill_null(False))
    )
    washout = (
        "all available history" if washout_years is None else f"{washout_years} years, from {lo}"
    )
    lookback = "all history" if cancer_lookback_years is None else f"{cancer_lookback_years} years"
    exclusions = [
        (f"marker of advanced disease before {start_d} (washout: {washout})", ~pl.col("_prior")),
        (
            f"cancer (CAR or LPR, C00-C97 except C44) on or before entry ({lookback})",
            ~pl.col("_prior_cancer"),
        ),
    ]
    frame, base, steps = _follow_up(
        first,
        registers,
        f"First marker of advanced disease ({', '.join(wanted)}) {start_d} to {end_d} (LPR)",
        fu_end=fu_end,
        min_age=min_age,
        education_map=education_map,
        exclusions=exclusions,
        new_cancer=new_cancer,
        residence_years=residence_years,
    )
    columns = [
        "PNR",
        "diagnosis_date",
        "diagnosis_year",
        "diagnosis_code",
        "diagnosis_group",
        "new_cancer_date",
        *_COMMON,
    ]
    params = {
        "name": "incident non-cancer",
        "start": str(start_d),
        "end": str(end_d),
        "followup_end": str(fu_end),
        "min_age": min_age,
        "code_list": code_list,
        "groups": wanted,
        "diagnosis_types": types,
        "washout_years": washout_years,
        "cancer_lookback_years": cancer_lookback_years,
        "cancer_definition": "CAR C_ICD10 or LPR diagnosis (of diagnosis_types) C00-C97 "
        "except C44 (code list cancer_exclusion)",
        "new_cancer": new_cancer,
        "emigration": _emigration_note(registers),
        "residence_years": residence_years,
        "nursing_home": _nursing_home_note(registers),
    }
    return Cohort(frame=frame.select(columns).sort("PNR"), base=base, steps=steps, params=params)


def _years_before(day: dt.date, years: int) -> dt.date:
    """``day`` minus whole years (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _marker_table(code_list: str, groups: list[str] | None) -> pl.DataFrame:
    """The marker code list (``group, icd10_prefix, requires``) restricted to ``groups``.

    A list without ``requires`` (e.g. ``diagnosis_groups``) counts every code on any contact;
    its ``cancer`` group is never a marker."""
    from paleval.codes import load_codes

    table = load_codes(code_list)
    if "requires" not in table.columns:
        table = table.with_columns(requires=pl.lit("any"))
    table = table.filter(pl.col("group") != "cancer").select(
        "group", pl.col("icd10_prefix").str.to_uppercase(), "requires"
    )
    unknown_req = sorted(set(table["requires"]) - {"any", "acute_inpatient_action"})
    if unknown_req:
        raise ValueError(f"code list {code_list!r}: unknown requires {unknown_req}")
    known = table["group"].unique(maintain_order=True).to_list()
    if groups is not None:
        bad = sorted(set(groups) - set(known))
        if bad or not groups:
            raise ValueError(
                f"unknown marker group(s) {bad or groups} in {code_list!r}; known: {known}"
            )
        table = table.filter(pl.col("group").is_in(groups))
    lengths = set(table["icd10_prefix"].str.len_chars())
    if not lengths <= {3, 4}:
        raise ValueError(f"code list {code_list!r}: prefixes must have 3 or 4 characters")
    return table


def _markers(
    diagnoses: pl.LazyFrame,
    contacts: pl.LazyFrame | None,
    table: pl.DataFrame,
    types: list[str],
) -> pl.LazyFrame:
    """Qualifying marker diagnoses: ``PNR, diagnosis_date, diagnosis_code, diagnosis_group``.

    A 4-character prefix of the code list wins over a 3-character one."""
    dx = diagnoses.select(
        "PNR",
        "source",
        "contact_id",
        diagnosis_date=pl.col("start"),
        diagnosis_code=icd10_clean("diagnosis", strip_d=True),
        _type=pl.col("diagnosis_type"),
    ).filter(pl.col("_type").is_in(types))
    lut = table.rename({"group": "diagnosis_group"})
    four = lut.filter(pl.col("icd10_prefix").str.len_chars() == 4).lazy()
    three = lut.filter(pl.col("icd10_prefix").str.len_chars() == 3).lazy()
    dx = (
        dx.with_columns(
            _p4=pl.col("diagnosis_code").str.slice(0, 4),
            _p3=pl.col("diagnosis_code").str.slice(0, 3),
        )
        .join(
            four.rename({"icd10_prefix": "_p4", "diagnosis_group": "_g4", "requires": "_r4"}),
            on="_p4",
            how="left",
        )
        .join(
            three.rename({"icd10_prefix": "_p3", "diagnosis_group": "_g3", "requires": "_r3"}),
            on="_p3",
            how="left",
        )
        .with_columns(
            diagnosis_group=pl.coalesce("_g4", "_g3"),
            _requires=pl.when(pl.col("_g4").is_not_null())
            .then(pl.col("_r4"))
            .otherwise(pl.col("_r3")),
        )
        .filter(pl.col("diagnosis_group").is_not_null())
    )
    out = ["PNR", "diagnosis_date", "diagnosis_code", "diagnosis_group"]
    anywhere = dx.filter(pl.col("_requires") == "any").select(out)
    if contacts is None:
        return anywhere
    acute = (
        contacts.filter(pl.col("acute") & pl.col("inpatient"))
        .select("source", "contact_id")
        .join(
            dx.filter(
                (pl.col("_requires") == "acute_inpatient_action")
                & (pl.col("_type") == ACTION_DIAGNOSIS)
            ),
            on=["source", "contact_id"],
            how="inner",
        )
        .select(out)
    )
    return pl.concat([anywhere, acute], how="vertical")


def _first_markers(
    markers: pl.LazyFrame, start: dt.date, end: dt.date, lo: dt.date | None
) -> pl.LazyFrame:
    """One row per person with a marker in ``[start, end]``: the first (date, code, group),
    ``diagnosis_year`` and ``_prior`` (a marker in ``[lo, start)``; ``lo`` None: any before).

    The first marker is the smallest (date, code) text key: a streaming min per person
    instead of sorting every diagnosis."""
    date = pl.col("diagnosis_date")
    window = date <= end if lo is None else date.is_between(lo, end)
    key = pl.concat_str(
        date.dt.strftime("%Y%m%d"),
        pl.col("diagnosis_code"),
        pl.col("diagnosis_group"),
        separator="|",
    )
    return (
        markers.filter(window)
        .select("PNR", _key=pl.when(date >= start).then(key), _before=date < start)
        .group_by("PNR")
        .agg(pl.col("_key").min(), _prior=pl.col("_before").any())
        .filter(pl.col("_key").is_not_null())
        .select(
            "PNR",
            "_prior",
            _parts=pl.col("_key").str.split("|"),
        )
        .select(
            "PNR",
            "_prior",
            diagnosis_date=pl.col("_parts").list.get(0).str.to_date("%Y%m%d"),
            diagnosis_code=pl.col("_parts").list.get(1),
            diagnosis_group=pl.col("_parts").list.get(2),
        )
        .with_columns(diagnosis_year=pl.col("diagnosis_date").dt.year())
    )


def _cancer_history(
    car: pl.LazyFrame,
    diagnoses: pl.LazyFrame,
    entries: pl.DataFrame,
    types: list[str],
    lookback_years: int | None,
) -> pl.LazyFrame:
    """Per entrant: ``_prior_cancer`` (a cancer on or before entry, within the look-back) and
    ``new_cancer_date`` (the first cancer after the entry date), from CAR and LPR."""
    from paleval.codes import load_codes

    prefixes = load_codes("cancer_exclusion")["icd10_prefix"].implode()
    persons = pl.col("PNR").is_in(entries["PNR"].implode())
    is_cancer = pl.col("code").str.slice(0, 3).is_in(prefixes)
    from_car = car.filter(persons).select(
        "PNR", date=pl.col("D_DIAGNOSEDATO"), code=icd10_clean("C_ICD10", strip_d=True)
    )
    from_lpr = (
        diagnoses.filter(persons)
        .filter(pl.col("diagnosis_type").is_in(types))
        .select("PNR", date=pl.col("start"), code=icd10_clean("diagnosis", strip_d=True))
    )
    entry = pl.col("diagnosis_date")
    prior = pl.col("date") <= entry
    if lookback_years is not None:
        prior = prior & (pl.col("date") >= entry.dt.offset_by(f"-{lookback_years}y"))
    return (
        pl.concat([from_car, from_lpr], how="vertical")
        .filter(is_cancer & pl.col("date").is_not_null())
        .join(entries.lazy().select("PNR", "diagnosis_date"), on="PNR")
        .select(
            "PNR",
            _p=prior,
            _after=pl.when(pl.col("date") > entry).then(pl.col("date")),
        )
        .group_by("PNR")
        .agg(_prior_cancer=pl.col("_p").any(), new_cancer_date=pl.col("_after").min())
    )


def advanced_disease_codes(
    groups: list[str] | None = None, *, code_list: str = "advanced_disease"
) -> list[str]:
    """ICD-10 prefixes :func:`incident_noncancer_cohort` reads, for ``lpr_diagnoses(codes=...)``:
    the markers of ``groups`` (default all) and the cancer codes C00-C97 except C44 (exclusion
    of prior cancer and the new cancer that ends follow-up).

    Examples
    --------
    >>> codes = advanced_disease_codes(["heart_failure"])
    >>> "I50" in codes, "C34" in codes, "C44" in codes, "I10" in codes
    (True, True, False, False)
    """
    from paleval.codes import load_codes

    markers = _marker_table(code_list, groups)["icd10_prefix"].to_list()
    cancer = load_codes("cancer_exclusion")["icd10_prefix"].to_list()
    return sorted(set(markers) | set(cancer))


def diagnosis_group_codes(groups: list[str] | None = None) -> list[str]:
    """The ICD-10 prefixes of the Murtagh/Etkind diagnosis groups ``groups`` (code list
    ``diagnosis_groups``; default: every group but cancer), for ``lpr_diagnoses(codes=...)``.

    The non-cancer incident cohort reads :func:`advanced_disease_codes` instead.

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
