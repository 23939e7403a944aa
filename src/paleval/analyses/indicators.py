"""DPD quality indicators (analysis 5) and waiting time from referral to first contact (1c).

The Danish Palliative Care Database (DPD) monitors specialised palliative care (SPC) with five
quality indicators (Groenvold et al., Clin Epidemiol 2016; Adsersen et al., Acta Oncol 2024):

1. referred (and eligible) patients who had contact with SPC (standard >= 80 %);
2. admitted patients whose first contact was at most 10 days after the referral was received
   (standard >= 90 %);
3. decedents who had contact with SPC: (A) died from cancer, (B) died from a non-cancer disease
   with potential palliative need;
4. admitted patients who completed the EORTC QLQ-C15-PAL at baseline;
5. admitted patients discussed at a multidisciplinary conference (MDC).

:func:`quality_indicators` computes them from the DPD referrals (``scan_register(dir, "dpd")``)
and, for 3A/3B and the diagnosis and region splits, the end-of-life cohort
(:func:`paleval.cohort.end_of_life_cohort`). DPD counts **patients**, not referral rows (a
patient can be referred several times: about 11,000 patients and 15,000 referrals a year,
RKKP's DPD page; a third of SPC patients have courses at two units, DPD annual report 2018),
and reports by the **year of death** (DPD 2018: "opgjort i forhold til antal døde patienter i
det enkelte år"). The default ``unit="patient"`` therefore reduces the referrals to one row
per patient (see ``_per_patient``: index referral = the first admitting course);
``unit="referral"`` keeps one row per referral (a unit-activity view, the analysis before
issue 13). Definitions, sources and what could not be verified: ``docs/methods.md``.
:func:`waiting_time` describes the waiting time
from referral to first contact (n, median, IQR, share within ``days``).

Standards of indicators 3A, 3B, 4 and 5 could not be verified from public sources and are left
empty (``standard`` null, ``met`` null); pass ``standards={"4": 0.7, ...}`` to set them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from paleval.analyses._common import as_frame
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.disclosure import DEFAULT_THRESHOLD, Complement, Margin, Protection
from paleval.plots import LABELS, figure, fit_ticklabels, label, points, trend
from paleval.plots import funnel as funnel_chart
from paleval.stats import funnel_flags, funnel_limits, proportion_ci

__all__ = [
    "GROUPINGS",
    "INDICATORS",
    "NEED_GROUPS",
    "REFERRAL_RULES",
    "UNITS",
    "QualityIndicatorResult",
    "WaitingTimeResult",
    "quality_indicators",
    "waiting_time",
]

NEED_GROUPS: tuple[str, ...] = (
    "heart", "respiratory", "dementia", "stroke", "liver", "renal", "neurodegenerative", "hiv",
)  # fmt: skip
"""Non-cancer cause groups with potential palliative need (Murtagh et al. 2014; Etkind et al.
2017): the denominator of indicator 3B and the ``"noncancer"`` diagnosis group."""

GROUPINGS: tuple[str, ...] = ("year", "region", "unit_type", "unit", "diagnosis")
"""The columns the indicators and waiting times can be split by."""

_SRC_ACTA = "Adsersen et al. Acta Oncol 2024;63:259-266"
_SRC_CLEP = "Groenvold et al. Clin Epidemiol 2016;8:637-643"
INDICATORS: pl.DataFrame = pl.DataFrame(
    [
        ("1", "Referred patients with SPC contact", "Henviste patienter med kontakt til SPI",
         "1 Contact", "1 Modtaget", "referred eligible patients", 0.80,
         f"{_SRC_CLEP}; DPD annual report 2019 (Ugeskr Laeger 2020): standard 80 %"),
        ("2", "First contact within {days} days of referral",
         "Første kontakt senest {days} dage efter henvisning",
         "2 ≤{days} days", "2 ≤{days} dage", "admitted patients with a first-contact date",
         0.90,
         f"{_SRC_ACTA}; DPD annual report 2021 (Dagens Medicin 2023): standard 90 %"),
        ("3A", "Cancer decedents with SPC contact", "Døde af kræft med kontakt til SPI",
         "3A Cancer deaths", "3A Kræftdødsfald", "adult cancer decedents", None,
         f"{_SRC_ACTA}; standard not verified"),
        ("3B", "Non-cancer decedents with SPC contact",
         "Døde af anden sygdom end kræft med kontakt til SPI",
         "3B Non-cancer deaths", "3B Andre dødsfald",
         "adult decedents in a non-cancer palliative-need group", None,
         f"{_SRC_ACTA}; standard not verified"),
        ("4", "EORTC QLQ-C15-PAL at baseline", "EORTC QLQ-C15-PAL udfyldt ved første kontakt",
         "4 EORTC", "4 EORTC", "admitted patients", None,
         f"{_SRC_ACTA}; standard not verified"),
        ("5", "Discussed at a multidisciplinary conference", "Drøftet på tværfaglig konference",
         "5 MDC", "5 MDK", "admitted patients", None, f"{_SRC_ACTA}; standard not verified"),
    ],
    schema={
        "indicator": pl.String,
        "label_en": pl.String,
        "label_da": pl.String,
        "short_en": pl.String,
        "short_da": pl.String,
        "population": pl.String,
        "standard": pl.Float64,
        "source": pl.String,
    },
    orient="row",
)  # fmt: skip
"""The DPD indicators: labels (English/Danish; ``{days}`` is the waiting-time limit), the
population (denominator), the standard (null where not verified) and the source."""

_DPD_REQUIRED = ("PNR", "ENHED_ID", "ENHED_TYPE", "HENV_DATO", "MODTAGET", "FOERSTE_KONTAKT_DATO")
_DECEDENT_REQUIRED = ("PNR", "death_date", "death_year", "cancer", "cause_group")
_NOT_ELIGIBLE = ("opfylder_ikke_kriterier",)
_PLOT_DIAGNOSES = ("cancer", "noncancer")
UNITS: tuple[str, ...] = ("patient", "referral")
"""Units of analysis: ``"patient"`` (DPD's, the default) or ``"referral"`` (one row each)."""
REFERRAL_RULES: tuple[str, ...] = ("first_admitted", "first_referral", "any")
"""Which of a patient's referrals count (``unit="patient"``); RKKP's rule is not verified
(``docs/methods.md``). ``"first_admitted"`` (default): the admitted course with the earliest
first contact is the index for indicators 2 and 4, indicator 1 counts admission at any unit
and 5 an MDC in any admitted course; ``"first_referral"``: the patient's earliest referral
alone, for every indicator; ``"any"``: an indicator is met when any admitted course meets it."""
_UNIT_WORD = {"patient": "patient(s)", "referral": "referral(s)"}


# -- preparation -------------------------------------------------------------------------------
@dataclass
class _Referrals:
    frame: pl.DataFrame
    notes: list[str]
    has_region: bool
    has_diagnosis: bool
    region_source: str | None


def _check_by(by: Sequence[str] | str, refs: _Referrals) -> list[str]:
    keys = [by] if isinstance(by, str) else list(dict.fromkeys(by))
    bad = [k for k in keys if k not in GROUPINGS]
    if bad:
        raise ValueError(f"by: unknown grouping(s) {bad}; choose from {list(GROUPINGS)}")
    if "region" in keys and not refs.has_region:
        raise ValueError(
            "by='region' needs a region: pass the decedent cohort (region of residence) or add "
            "a 'region' column to the DPD frame (e.g. the unit's region)"
        )
    if "diagnosis" in keys and not refs.has_diagnosis:
        raise ValueError("by='diagnosis' needs the decedent cohort (decedents=...)")
    return keys


def _prepare(
    dpd: Any,
    decedents: Any,
    *,
    years: Iterable[int] | None,
    noncancer_groups: Sequence[str],
    what: str,
    unit: str = "patient",
    ineligible: Sequence[str] = _NOT_ELIGIBLE,
    referral_rule: str = "first_admitted",
) -> _Referrals:
    """Clean DPD referrals: validation exclusions (counted), year, region, diagnosis, wait;
    with ``unit="patient"`` one row per patient (:func:`_per_patient`, ``referral_rule``)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if referral_rule not in REFERRAL_RULES:
        raise ValueError(f"referral_rule must be one of {REFERRAL_RULES}, got {referral_rule!r}")
    raw = as_frame(dpd)
    require_columns(raw, list(_DPD_REQUIRED), what)
    notes: list[str] = []
    n0 = raw.height
    df = raw.filter(pl.col("HENV_DATO").is_not_null() & pl.col("MODTAGET").is_not_null())
    if n0 - df.height:
        notes.append(
            f"{n0 - df.height} referral(s) without HENV_DATO or MODTAGET excluded (null_required)"
        )
    bad = df.filter(~pl.col("MODTAGET").is_in([0, 1])).height
    if bad:
        raise ValueError(f"MODTAGET: {bad} row(s) with a value other than 0/1")
    n1 = df.height
    df = df.filter(
        pl.col("FOERSTE_KONTAKT_DATO").is_null()
        | (pl.col("FOERSTE_KONTAKT_DATO") >= pl.col("HENV_DATO"))
    )
    if n1 - df.height:
        notes.append(
            f"{n1 - df.height} referral(s) with first contact before the referral excluded "
            "(dpd_contact_before_referral)"
        )
    df = df.with_columns(
        unit=pl.col("ENHED_ID").cast(pl.String),
        unit_type=pl.col("ENHED_TYPE").cast(pl.String),
        admitted=pl.col("MODTAGET") == 1,
    )
    has_region = "region" in df.columns
    region_source = "DPD column 'region'" if has_region else None
    has_diagnosis = False
    if decedents is not None:
        dec = as_frame(decedents)
        require_columns(dec, list(_DECEDENT_REQUIRED), what)
        cols = ["PNR", "death_date", "death_year", "cancer", "cause_group"]
        if not has_region and "region" in dec.columns:
            cols.append("region")
            has_region, region_source = True, "decedent cohort (region of residence)"
        n2 = df.height
        df = df.join(dec.select(cols), on="PNR", how="inner", maintain_order="left")
        if n2 - df.height:
            notes.append(
                f"{n2 - df.height} referral(s) of persons not in the decedent cohort (alive at "
                "the end of follow-up, or not adult) excluded: indicators follow decedents"
            )
        n3 = df.height
        df = df.filter(pl.col("HENV_DATO") <= pl.col("death_date"))
        if n3 - df.height:
            notes.append(
                f"{n3 - df.height} referral(s) dated after death excluded (event_after_death)"
            )
        n4 = df.height
        df = df.filter(
            pl.col("FOERSTE_KONTAKT_DATO").is_null()
            | (pl.col("FOERSTE_KONTAKT_DATO") <= pl.col("death_date"))
        )
        if n4 - df.height:
            notes.append(
                f"{n4 - df.height} referral(s) with first contact after death excluded "
                "(event_after_death)"
            )
        df = df.with_columns(
            year=pl.col("death_year").cast(pl.Int64),
            diagnosis=pl.when(pl.col("cancer"))
            .then(pl.lit("cancer"))
            .when(pl.col("cause_group").is_in(list(noncancer_groups)))
            .then(pl.lit("noncancer"))
            .otherwise(pl.lit("other")),
        )
        has_diagnosis = True
    else:
        df = df.with_columns(year=pl.col("HENV_DATO").dt.year().cast(pl.Int64))
    reason = (
        pl.col("IKKE_MODTAGET_AARSAG") if "IKKE_MODTAGET_AARSAG" in df.columns else pl.lit(None)
    )
    df = df.with_columns(
        eligible=pl.col("admitted") | reason.is_null() | ~reason.is_in(list(ineligible))
        if ineligible
        else pl.lit(True)
    )
    df = df.with_columns(
        wait_days=pl.when(pl.col("admitted"))
        .then((pl.col("FOERSTE_KONTAKT_DATO") - pl.col("HENV_DATO")).dt.total_days())
        .cast(pl.Int64)
    )
    if unit == "patient":
        df = _per_patient(df, notes, referral_rule)
    if years is not None:
        ys = sorted({int(y) for y in years})
        df = df.filter(pl.col("year").is_in(ys))
    no_date = df.filter(pl.col("admitted") & pl.col("wait_days").is_null()).height
    if no_date:
        notes.append(
            f"{no_date} admitted {_UNIT_WORD[unit]} without a first-contact date: kept for "
            "indicators 1, 4 and 5, excluded from the waiting time (indicator 2)"
        )
    odd = df.filter(~pl.col("admitted") & pl.col("FOERSTE_KONTAKT_DATO").is_not_null()).height
    if odd:
        notes.append(
            f"{odd} referral(s) with a first-contact date but MODTAGET 0 counted as not admitted"
        )
    return _Referrals(df, notes, has_region, has_diagnosis, region_source)


def _any_flag(col: str) -> pl.Expr:
    """1 if any admitted course has ``col`` 1, else 0 if any has 0, else null."""
    v = pl.col(col).filter(pl.col("admitted"))
    return (
        pl.when((v == 1).any())
        .then(pl.lit(1))
        .when((v == 0).any())
        .then(pl.lit(0))
        .otherwise(pl.lit(None))
        .alias(col)
    )


_RULE_NOTE = {
    "first_admitted": "index referral = the admitted referral with the earliest first contact "
    "(else the earliest eligible referral): its unit, dates and EORTC; indicator 1 counts "
    "admission at any unit, indicator 5 an MDC in any admitted course",
    "first_referral": "referral_rule='first_referral': the patient's earliest referral alone "
    "counts for every indicator (its eligibility, admission, wait, EORTC and MDC)",
    "any": "referral_rule='any': an indicator is met when any admitted course meets it "
    "(indicator 2: the shortest wait of the admitted courses); index referral for the unit "
    "splits = the admitted referral with the earliest first contact",
}


def _per_patient(df: pl.DataFrame, notes: list[str], rule: str = "first_admitted") -> pl.DataFrame:
    """One row per patient (DPD counts patients, not referrals).

    ``rule="first_admitted"`` (default): the patient's *index referral* is the admitted
    referral with the earliest first contact (the first SPC course: its unit, referral date,
    contact date, wait and EORTC baseline), or for a patient never admitted the earliest
    eligible referral (else the earliest referral); ties by referral date, then unit. Per
    patient: ``admitted`` = admitted at any unit, ``eligible`` = any eligible referral,
    ``MDK`` = discussed at an MDC in any admitted course (1 if any 1, else 0 if any 0, else
    null), ``n_referrals``. ``rule="first_referral"``: every column from the earliest referral
    (ties by unit). ``rule="any"``: as the default, and ``EORTC_UDFYLDT`` as ``MDK`` (any
    admitted course) and ``wait_days`` the shortest wait of the admitted courses. A sort and
    one group-by.
    """
    n_ref = df.height
    first_only = rule == "first_referral"
    if first_only:
        rank, contact_key = pl.lit(0), pl.lit(None, pl.Date)
    else:
        rank = pl.when(pl.col("admitted")).then(0).when(pl.col("eligible")).then(1).otherwise(2)
        contact_key = pl.when(pl.col("admitted")).then(pl.col("FOERSTE_KONTAKT_DATO"))
    keys = ["PNR", "_rank", "_contact", "HENV_DATO", "unit"]
    combined = [] if first_only else ["admitted", "eligible", "MDK"]
    if rule == "any":
        combined += ["EORTC_UDFYLDT", "wait_days"]
    agg: list[pl.Expr] = [
        pl.all().exclude("PNR", "_rank", "_contact", *combined).first(),
        pl.len().alias("n_referrals"),
    ]
    if not first_only:
        agg += [pl.col("admitted").any(), pl.col("eligible").any()]
        agg += [_any_flag(c) for c in ("MDK",) if c in df.columns]
    if rule == "any":
        agg += [_any_flag(c) for c in ("EORTC_UDFYLDT",) if c in df.columns]
        agg.append(pl.col("wait_days").filter(pl.col("admitted")).min().alias("wait_days"))
    out = (
        df.lazy()
        .with_columns(_rank=rank, _contact=contact_key)
        .sort(keys, nulls_last=True, maintain_order=True)
        .group_by("PNR", maintain_order=True)
        .agg(agg)
        .collect()
    )
    multi = out.filter(pl.col("n_referrals") > 1).height
    notes.append(
        f"per patient (DPD counts patients): {n_ref} referral(s) of {out.height} patient(s), "
        f"{multi} with two or more; {_RULE_NOTE[rule]} (RKKP's rule for several referrals "
        "not verified: docs/methods.md)"
    )
    return out


# -- computation -------------------------------------------------------------------------------
def _with_ci(tab: pl.DataFrame) -> pl.DataFrame:
    """Add n_not_met, estimate and Wilson CI to a table with numerator and denominator."""
    tab = tab.filter(pl.col("denominator") > 0)
    if tab.height == 0:
        return tab.with_columns(
            n_not_met=pl.lit(None, pl.Int64),
            estimate=pl.lit(None, pl.Float64),
            conf_low=pl.lit(None, pl.Float64),
            conf_high=pl.lit(None, pl.Float64),
        )
    ci = proportion_ci(tab["numerator"], tab["denominator"])
    return tab.with_columns(
        n_not_met=pl.col("denominator") - pl.col("numerator"),
        estimate=ci["estimate"],
        conf_low=ci["conf_low"],
        conf_high=ci["conf_high"],
    )


def _count(frame: pl.DataFrame, keys: list[str], numerator: pl.Expr) -> pl.DataFrame:
    if keys:
        out = frame.group_by(keys).agg(
            numerator=numerator.sum().cast(pl.Int64), denominator=pl.len().cast(pl.Int64)
        )
    else:
        out = frame.select(
            numerator=numerator.sum().cast(pl.Int64), denominator=pl.len().cast(pl.Int64)
        )
    return out


def _referral_indicators(
    refs: _Referrals,
    keys: list[str],
    *,
    days: int,
) -> list[tuple[str, pl.DataFrame]]:
    df = refs.frame
    out = []
    out.append(("1", _count(df.filter(pl.col("eligible")), keys, pl.col("admitted"))))
    dated = df.filter(pl.col("admitted") & pl.col("wait_days").is_not_null())
    out.append(("2", _count(dated, keys, pl.col("wait_days") <= days)))
    adm = df.filter(pl.col("admitted"))
    for ind, col in (("4", "EORTC_UDFYLDT"), ("5", "MDK")):
        if col in df.columns:
            out.append((ind, _count(adm, keys, pl.col(col).fill_null(0) == 1)))
    return out


def _population_indicators(
    dec: pl.DataFrame, keys: list[str], noncancer_groups: Sequence[str]
) -> list[tuple[str, pl.DataFrame]]:
    dkeys = [k for k in keys if k == "year" or (k == "region" and "region" in dec.columns)]
    fixed = [k for k in keys if k not in dkeys and k != "diagnosis"]
    out = []
    for ind, sel, diag in (
        ("3A", pl.col("cancer"), "cancer"),
        (
            "3B",
            ~pl.col("cancer") & pl.col("cause_group").is_in(list(noncancer_groups)),
            "noncancer",
        ),
    ):
        tab = _count(dec.filter(sel), dkeys, pl.col("spc_admitted").fill_null(False))
        extra = {k: pl.lit("all") for k in fixed}
        if "diagnosis" in keys:
            extra["diagnosis"] = pl.lit(diag)
        out.append((ind, tab.with_columns(**extra)))
    return out


def _definitions(days: int, standards: Mapping[str, float | None] | None) -> pl.DataFrame:
    defs = INDICATORS.with_columns(
        pl.col("label_en", "label_da", "short_en", "short_da").str.replace_all(
            "{days}", str(days), literal=True
        )
    )
    # the tables carry the English label; the one label registry gives its Danish form
    # (formatted tables, figures), with the waiting-time limit of this call
    for en, da in defs.select("label_en", "label_da").iter_rows():
        LABELS.setdefault(en, (en, da))
    std = dict(zip(defs["indicator"], defs["standard"], strict=True))
    if days != 10:
        std["2"] = None  # the standard is defined for 10 days
    for k, v in (standards or {}).items():
        if k not in std:
            raise ValueError(f"standards: unknown indicator {k!r}; choose from {list(std)}")
        std[k] = None if v is None else float(v)
    return defs.with_columns(
        standard=pl.Series([std[i] for i in defs["indicator"]], dtype=pl.Float64)
    )


def _assemble(parts: list[tuple[str, pl.DataFrame]], keys: list[str], defs: pl.DataFrame):
    frames = []
    for ind, tab in parts:
        tab = tab.with_columns(indicator=pl.lit(ind)).select(
            "indicator", *keys, "numerator", "denominator"
        )
        frames.append(
            tab.with_columns(pl.col(k).cast(pl.Int64 if k == "year" else pl.String) for k in keys)
        )
    tab = _with_ci(pl.concat(frames, how="vertical_relaxed"))
    order = {k: i for i, k in enumerate(defs["indicator"])}
    tab = (
        tab.join(defs.select("indicator", "label_en", "standard"), on="indicator", how="left")
        .rename({"label_en": "label"})
        .with_columns(
            met=pl.when(pl.col("standard").is_not_null()).then(
                pl.col("estimate") >= pl.col("standard")
            ),
            _o=pl.col("indicator").replace_strict(order, return_dtype=pl.Int64),
        )
        .sort(["_o", *keys], nulls_last=True)
        .drop("_o")
    )
    return tab.select(
        "indicator", "label", *keys, "numerator", "denominator", "n_not_met", "estimate",
        "conf_low", "conf_high", "standard", "met",
    )  # fmt: skip


def _qi_protection(margins: list[list[str]]) -> Protection:
    """An indicator table: numerators, denominators and the not-met counts add up over every
    declared grouping; denominator - numerator (= ``n_not_met``) is a count."""
    return Protection(
        ("numerator", "denominator", "n_not_met"),
        [*(Margin(tuple(m)) for m in margins), Complement("denominator", ("numerator",))],
        differences=False,
    )


def _waiting_protection(margins: list[list[str]]) -> Protection:
    """A waiting-time table: ``n - n_within`` (= ``n_later``) is a count; medians and
    quartiles are blanked with their row."""
    return Protection(
        ("n", "n_within", "n_later"),
        [*(Margin(tuple(m)) for m in margins), Complement("n", ("n_within",))],
        differences=False,
    )


def _margins(keys: list[str], lead: list[str]) -> list[list[str]]:
    out = [[*lead, *[k for k in keys if k != c]] for c in keys]
    out.append([*lead, *keys])  # keeps the grouping columns out of the blanked columns
    return [m for m in out if m]


def _funnel_table(parts: list[tuple[str, str, pl.DataFrame]]) -> pl.DataFrame:
    frames = []
    for ind, level, tab in parts:
        tab = tab.filter(pl.col("denominator") > 0).rename({level: "unit"})
        if tab.height == 0:
            continue
        tot_x, tot_n = int(tab["numerator"].sum()), int(tab["denominator"].sum())
        base = tab.select(
            indicator=pl.lit(ind),
            level=pl.lit(level),
            unit=pl.col("unit").cast(pl.String),
            numerator="numerator",
            denominator="denominator",
        ).sort("unit")
        if 0 < tot_x < tot_n:
            flagged = funnel_flags(base, events="numerator", n="denominator").drop("estimate")
            lim = [c for c in flagged.columns if c.startswith(("lower_", "upper_"))]
            flagged = flagged.with_columns(pl.col(lim).clip(0.0, 1.0))  # proportions' range
        else:  # no funnel around a target of 0 or 1
            flagged = base.with_columns(target=pl.lit(tot_x / tot_n))
        frames.append(flagged)
    if not frames:
        return pl.DataFrame(
            schema={"indicator": pl.String, "level": pl.String, "unit": pl.String,
                    "numerator": pl.Int64, "denominator": pl.Int64}
        )  # fmt: skip
    tab = _with_ci(pl.concat(frames, how="diagonal_relaxed"))
    front = ["indicator", "level", "unit", "numerator", "denominator", "n_not_met", "estimate",
             "conf_low", "conf_high", "target"]  # fmt: skip
    return tab.select(*front, *[c for c in tab.columns if c not in front])


# -- results -----------------------------------------------------------------------------------
def _pct_label(lang: str) -> str:
    return label("proportion", lang)


@dataclass(repr=False)
class QualityIndicatorResult(AnalysisResult):
    """The DPD quality indicators with Wilson CIs, standards, trends and funnel classification.

    Tables
    ------
    ``indicators`` (main): ``indicator, label, <by columns>, numerator, denominator,
    n_not_met, estimate, conf_low, conf_high, standard, met``. Group columns that do not apply
    to an indicator (unit and unit type for 3A/3B) hold ``"all"``.
    ``trend``: the same by year (and diagnosis group when the decedent cohort was given).
    ``funnel``: per indicator, per region and per unit (``level``), pooled over the analysed
    years: counts, ``estimate``, the funnel ``target`` (pooled proportion) and per control
    level ``lower_<L>, upper_<L>, flag_<L>`` (``L`` = ``95``, ``99_8``) from
    :func:`paleval.stats.funnel_flags`.
    Labels and standards of the indicators are in :data:`INDICATORS` (standards as used in
    ``params["standards"]``).

    Figures: ``trends`` (one panel per indicator, CI bands, standard line), ``funnel``
    (indicator 2 per unit by default; :meth:`plot_funnel` for others), ``overview`` (the latest
    year against the standards).
    """

    figures: ClassVar[tuple[str, ...]] = ("trends", "funnel", "overview")

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> QualityIndicatorResult:
        """As :meth:`AnalysisResult.disclosed`; ``met`` and flags are blanked with the counts."""
        out = super().disclosed(threshold, rounding=rounding)
        tables = {}
        for name, tab in out.tables.items():
            blank = [c for c in tab.columns if c == "met" or c.startswith("flag_")]
            if blank and "suppressed" in tab.columns:
                tab = tab.with_columns(
                    pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                    for c in blank
                )
            tables[name] = tab
        return dataclasses.replace(out, tables=tables)

    # -- helpers
    def _defs(self) -> pl.DataFrame:
        return _definitions(self.params.get("days", 10), self.params.get("standards"))

    def _text(self, indicator: str, lang: str, short: bool = False) -> str:
        col = ("short_" if short else "label_") + lang
        row = self._defs().filter(pl.col("indicator") == indicator)
        return row[col].item() if row.height else indicator

    def _standard(self, indicator: str) -> float | None:
        row = self._defs().filter(pl.col("indicator") == indicator)
        return row["standard"].item() if row.height else None

    def _trend_rows(self, indicator: str) -> pl.DataFrame:
        tab = self.tables["trend"].filter(pl.col("indicator") == indicator)
        if "diagnosis" in tab.columns:
            tab = tab.filter(pl.col("diagnosis").is_in(list(_PLOT_DIAGNOSES)))
        return tab

    # -- figures
    def plot_trend(self, indicator: str = "1", *, lang: str = "en", ax: Any = None) -> Any:
        """One indicator by year (lines per diagnosis group), CI band and standard line."""
        tab = self._trend_rows(indicator)
        if tab.height == 0:
            raise ValueError(
                f"indicator {indicator!r} not in the trend table; choose from "
                f"{self.tables['trend']['indicator'].unique(maintain_order=True).to_list()}"
            )
        group = "diagnosis" if "diagnosis" in tab.columns else None
        if group and tab["diagnosis"].n_unique() < 2:
            group = None
        ax = trend(
            tab,
            group=group,
            standard=self._standard(indicator),
            ylabel=_pct_label(lang),
            title=self._text(indicator, lang),
            lang=lang,
            ax=ax,
        )
        ax.set_ylim(bottom=0)
        return ax

    def _plot_trends(self, ax: Any = None, lang: str = "en") -> Any:
        inds = self.tables["trend"]["indicator"].unique(maintain_order=True).to_list()
        if ax is not None:  # one Axes given: the first indicator
            return self.plot_trend(inds[0], lang=lang, ax=ax)
        ncols = 3 if len(inds) > 4 else 2
        nrows = math.ceil(len(inds) / ncols)
        fig, axes = figure(4.4 * ncols, 3.4 * nrows, nrows=nrows, ncols=ncols)
        axes = np.atleast_1d(axes).ravel()
        for a, ind in zip(axes, inds, strict=False):
            self.plot_trend(ind, lang=lang, ax=a)
            a.title.set_fontsize(9)
        for a in axes[len(inds) :]:
            a.set_visible(False)
        fig.suptitle(
            "DPD quality indicators by year"
            if lang == "en"
            else "DPD's kvalitetsindikatorer efter år"
        )
        fig.tight_layout()
        return axes[0]

    def plot_funnel(
        self,
        indicator: str | None = None,
        *,
        level: str = "unit",
        lang: str = "en",
        ax: Any = None,
    ) -> Any:
        """Funnel plot of one indicator across units (``level="unit"``) or regions.

        Default indicator: 2 (waiting time) when present. Units outside the 99.8 % limits are
        labelled (they are the rows with ``flag_99_8`` other than ``"within"``).
        """
        fun = self.tables["funnel"]
        if fun.height == 0 or "target" not in fun.columns:
            raise ValueError("no funnel table (no units with a denominator)")
        avail = fun["indicator"].unique(maintain_order=True).to_list()
        indicator = indicator or ("2" if "2" in avail else avail[0])
        sub = fun.filter((pl.col("indicator") == indicator) & (pl.col("level") == level))
        if sub.height == 0:
            raise ValueError(
                f"no funnel rows for indicator {indicator!r} at level {level!r}; available: "
                f"{fun.select('indicator', 'level').unique(maintain_order=True).rows()}"
            )
        target = float(sub["target"].drop_nulls()[0])
        if not 0 < target < 1:
            raise ValueError(f"indicator {indicator!r}: target {target} leaves no funnel")
        shown = sub.filter(pl.col("estimate").is_not_null())
        dens = shown["denominator"] if shown.height else sub["denominator"].drop_nulls()
        nmin = max(1, int(0.5 * (dens.min() or 10)))
        nmax = max(int(dens.max() or 10), nmin + 10)
        grid = np.unique(
            np.concatenate(
                [np.round(np.geomspace(nmin, 1.1 * nmax, 300)), shown["denominator"].to_numpy()]
            ).astype(np.int64)
        )
        # a proportion's limits lie in [0, 1] (the interpolated exact limit can dip below 0)
        limits = funnel_limits(grid, target).with_columns(
            pl.col("lower_limit", "upper_limit").clip(0.0, 1.0)
        )
        what = label(level, lang) if level == "region" else ("Unit" if lang == "en" else "Enhed")
        ax = funnel_chart(
            shown,
            limits,
            unit="unit",
            n="denominator",
            estimate="estimate",
            target=target,
            xlabel=("Patients (n)" if lang == "en" else "Patienter (n)"),
            ylabel=_pct_label(lang),
            title=f"{self._text(indicator, lang)} — {what}",
            lang=lang,
            ax=ax,
        )
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, 0.0), min(top, 100.0))
        return ax

    def _plot_funnel(self, ax: Any = None, lang: str = "en") -> Any:
        return self.plot_funnel(lang=lang, ax=ax)

    def _plot_overview(self, ax: Any = None, lang: str = "en") -> Any:
        tr = self.tables["trend"].filter(pl.col("estimate").is_not_null())
        if "diagnosis" in tr.columns:
            tr = tr.filter(pl.col("diagnosis").is_in(list(_PLOT_DIAGNOSES)))
        if tr.height == 0:
            raise ValueError("nothing to draw: every indicator estimate is suppressed")
        latest = tr.group_by("indicator").agg(pl.col("year").max().alias("_last"))
        tab = tr.join(latest, on="indicator").filter(pl.col("year") == pl.col("_last"))
        order = self._defs()["indicator"].to_list()
        tab = tab.sort(pl.col("indicator").replace_strict({k: i for i, k in enumerate(order)}))
        group = "diagnosis" if "diagnosis" in tab.columns else None
        years = sorted(set(tab["year"].to_list()))
        span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
        ax = points(
            tab,
            x="indicator",
            group=group,
            ylabel=_pct_label(lang),
            title=(
                f"DPD quality indicators, {span}"
                if lang == "en"
                else f"DPD's kvalitetsindikatorer, {span}"
            ),
            lang=lang,
            ax=ax,
        )
        xs = tab["indicator"].unique(maintain_order=True).to_list()
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([self._text(i, lang, short=True) for i in xs])
        fit_ticklabels(ax)
        ax.set_xlabel("Indicator" if lang == "en" else "Indikator")
        first = True
        for i, ind in enumerate(xs):
            std = self._standard(ind)
            if std is None:
                continue
            ax.hlines(
                100 * std, i - 0.4, i + 0.4, colors="black", linestyles=":", linewidth=1.2,
                label=label("standard", lang) if first else None,
            )  # fmt: skip
            first = False
        ax.set_ylim(0, 100)
        ax.legend(title=label(group, lang) if group else None, fontsize=8)
        return ax


@dataclass(repr=False)
class WaitingTimeResult(AnalysisResult):
    """Waiting time from referral to first contact among admitted referrals.

    Tables
    ------
    ``waiting`` (main): ``<by columns>, n, median_days, q1_days, q3_days, n_within, n_later,
    estimate, conf_low, conf_high`` (``estimate`` = share with first contact within ``days``
    days, Wilson CI). ``trend``: the same by year (and the first non-year ``by`` column).

    Figures: ``shares`` (share within ``days`` by group, with the 90 % standard of DPD
    indicator 2 when ``days == 10``), ``trend`` (by year).
    """

    figures: ClassVar[tuple[str, ...]] = ("shares", "trend")

    def _ylabel(self, lang: str) -> str:
        d = self.params.get("days", 10)
        return f"Contact within {d} days" if lang == "en" else f"Kontakt inden for {d} dage"

    def _standard(self) -> float | None:
        return 0.90 if self.params.get("days") == 10 else None

    def _plot_shares(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["waiting"]
        by = [c for c in self.params["by"] if c in tab.columns]
        x = next((c for c in by if c != "year"), by[0])
        group = next((c for c in by if c != x), None)
        ax = points(
            tab,
            x=x,
            group=group,
            ylabel=self._ylabel(lang),
            reference=self._standard(),
            title=(
                "Waiting time from referral to first contact"
                if lang == "en"
                else "Ventetid fra henvisning til første kontakt"
            ),
            lang=lang,
            ax=ax,
        )
        ax.set_xlabel(label(x, lang))
        ax.set_ylim(0, 100)
        if self._standard() is not None:  # name the reference line in the legend
            ax.lines[-1].set_label(label("standard", lang))
            ax.legend(title=label(group, lang) if group else None, fontsize=8)
        return ax

    def _plot_trend(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["trend"]
        group = next((c for c in tab.columns if c in GROUPINGS and c != "year"), None)
        ax = trend(
            tab,
            group=group,
            standard=self._standard(),
            ylabel=self._ylabel(lang),
            title=(
                "Waiting time from referral to first contact, by year"
                if lang == "en"
                else "Ventetid fra henvisning til første kontakt, efter år"
            ),
            lang=lang,
            ax=ax,
        )
        ax.set_ylim(0, 100)
        return ax


# -- public functions --------------------------------------------------------------------------
def _completeness_notes(
    df: pl.DataFrame, unit: str, ineligible_reasons: Sequence[str]
) -> list[str]:
    """Notes on who leaves indicator 1's denominator and on missing indicator 4/5 columns."""
    notes = []
    if "IKKE_MODTAGET_AARSAG" in df.columns and ineligible_reasons:
        n_inel = df.filter(~pl.col("eligible")).height
        notes.append(
            f"indicator 1: {n_inel} {_UNIT_WORD[unit]} not admitted because not eligible "
            f"({', '.join(ineligible_reasons)}"
            + ("; every referral of the patient" if unit == "patient" else "")
            + ") left out of the denominator"
        )
    for ind, col in (("4", "EORTC_UDFYLDT"), ("5", "MDK")):
        if col not in df.columns:
            notes.append(f"indicator {ind} not computable: the DPD frame has no {col} column")
        else:
            miss = df.filter(pl.col("admitted") & pl.col(col).is_null()).height
            if miss:
                notes.append(
                    f"indicator {ind}: {miss} admitted {_UNIT_WORD[unit]} with {col} missing "
                    "counted as not fulfilled"
                )
    return notes


def _funnel_parts(
    refs: _Referrals, dec: pl.DataFrame | None, days: int, noncancer_groups: Sequence[str]
) -> list[tuple[str, str, pl.DataFrame]]:
    """Indicators by region and by unit (and 3A/3B by region of residence) for the funnel."""
    fparts: list[tuple[str, str, pl.DataFrame]] = []
    levels = (["region"] if refs.has_region else []) + ["unit"]
    for level in levels:
        for ind, tab in _referral_indicators(refs, [level], days=days):
            fparts.append((ind, level, tab))
    if dec is not None and "region" in dec.columns:
        for ind, tab in _population_indicators(dec, ["region"], noncancer_groups):
            fparts.append((ind, "region", tab))
    return fparts


def quality_indicators(
    dpd: pl.DataFrame | pl.LazyFrame | Any,
    decedents: pl.DataFrame | pl.LazyFrame | Any | None = None,
    *,
    by: Sequence[str] | str = ("year",),
    years: Iterable[int] | None = None,
    days: int = 10,
    ineligible_reasons: Sequence[str] = _NOT_ELIGIBLE,
    noncancer_groups: Sequence[str] = NEED_GROUPS,
    standards: Mapping[str, float | None] | None = None,
    unit: str = "patient",
    referral_rule: str = "first_admitted",
) -> QualityIndicatorResult:
    """The DPD quality indicators 1, 2, 3A, 3B, 4 and 5 with Wilson CIs and standards.

    Parameters
    ----------
    dpd
        DPD referrals as loaded by ``paleval.registers.scan_register(dir, "dpd")``: one row
        per referral with ``PNR, ENHED_ID, ENHED_TYPE, HENV_DATO, MODTAGET,
        FOERSTE_KONTAKT_DATO`` and, for indicators 4, 5 and the eligibility rule,
        ``EORTC_UDFYLDT, MDK, IKKE_MODTAGET_AARSAG``. An optional ``region`` column (e.g. the
        unit's region) is used for the region split.
    decedents
        The end-of-life cohort (:func:`paleval.cohort.end_of_life_cohort`; needs ``PNR,
        death_date, death_year, cancer, cause_group, spc_admitted`` and optionally ``region``).
        With it the indicators follow Adsersen et al. (2024): referrals of adult decedents,
        dated by the **year of death**, split by diagnosis group (``cancer``; ``noncancer`` =
        a non-cancer palliative-need group, ``noncancer_groups``; ``other``), and 3A/3B are
        computed. Without it indicators 1, 2, 4 and 5 cover every referral, dated by the year
        of referral, and 3A/3B are not computed.
    by
        Split by any of ``year, region, unit_type, unit, diagnosis``.
    years
        Keep these years (of death with ``decedents``, else of referral).
    days
        Waiting-time limit of indicator 2 (its 90 % standard applies to 10 days only).
    ineligible_reasons
        ``IKKE_MODTAGET_AARSAG`` values removed from the denominator of indicator 1 (DPD counts
        referred patients who met the criteria). ``()`` counts every referral.
    noncancer_groups
        ``cause_group`` values of the 3B denominator and of the ``noncancer`` group.
    standards
        Override or set standards, e.g. ``{"4": 0.7}`` (share; ``None`` removes one).
    unit
        ``"patient"`` (default; DPD's unit): one row per patient. Indicator 1: patients with
        at least one eligible referral, numerator admitted at any unit; 2: admitted patients,
        first contact at most ``days`` after the referral received by the unit that made it
        (the index referral); 4: EORTC at the first admission (baseline); 5: MDC in any
        admitted course; ``unit``/``unit_type``/``region`` splits and the funnel follow the
        index referral; without ``decedents`` the year is that of the index referral.
        ``"referral"``: every referral row counts (a unit-activity view).
    referral_rule
        Which of a patient's several referrals count with ``unit="patient"``
        (:data:`REFERRAL_RULES`; RKKP's rule is not verified, ``docs/methods.md``):
        ``"first_admitted"`` (default, as described under ``unit``); ``"first_referral"``:
        the patient's earliest referral alone decides every indicator (a patient first
        refused as not eligible is out of all of them); ``"any"``: indicators 2, 4 and 5 are
        met when any admitted course meets them (2: the shortest wait).

    Returns
    -------
    QualityIndicatorResult
        Tables ``indicators``, ``trend``, ``funnel``; figures ``trends``,
        ``funnel``, ``overview``. ``n`` is the number of patients (or referrals) analysed.
        Exclusions are counted in ``notes`` (validation rules ``null_required``,
        ``dpd_contact_before_referral``, ``event_after_death``).

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> dpd = pl.DataFrame({
    ...     "PNR": ["a", "b", "c", "d"], "ENHED_ID": ["u1", "u1", "u2", "u2"],
    ...     "ENHED_TYPE": ["hospice", "hospice", "palliativt_team", "palliativt_team"],
    ...     "HENV_DATO": [d(2019, 1, 1), d(2019, 2, 1), d(2019, 3, 1), d(2019, 4, 1)],
    ...     "MODTAGET": [1, 1, 1, 0],
    ...     "FOERSTE_KONTAKT_DATO": [d(2019, 1, 5), d(2019, 2, 20), d(2019, 3, 2), None],
    ...     "IKKE_MODTAGET_AARSAG": [None, None, None, "doed_foer_kontakt"],
    ...     "EORTC_UDFYLDT": [1, 0, 1, None], "MDK": [1, 1, 1, None]})
    >>> res = quality_indicators(dpd)
    >>> res.table.select("indicator", "numerator", "denominator", "met").rows()
    [('1', 3, 4, False), ('2', 2, 3, False), ('4', 2, 3, None), ('5', 3, 3, None)]

    Patient ``a`` goes on to a second unit: one patient still, unless ``unit="referral"``.

    >>> two = pl.concat([dpd, dpd.head(1).with_columns(
    ...     ENHED_ID=pl.lit("u2"), HENV_DATO=pl.lit(d(2019, 1, 20)),
    ...     FOERSTE_KONTAKT_DATO=pl.lit(d(2019, 2, 15)))])
    >>> [quality_indicators(two, unit=u).table["denominator"].to_list() for u in UNITS]
    [[4, 3, 3, 3], [5, 4, 4, 4]]

    Patient ``b`` (19 days at ``u1``) is also referred to ``u2`` and seen there after 3 days:
    indicator 2 by ``referral_rule``.

    >>> b2 = pl.concat([dpd, dpd[1].with_columns(ENHED_ID=pl.lit("u2"),
    ...     HENV_DATO=pl.lit(d(2019, 2, 5)), FOERSTE_KONTAKT_DATO=pl.lit(d(2019, 2, 8)))])
    >>> [quality_indicators(b2, referral_rule=r).table.filter(pl.col("indicator") == "2")
    ...  ["numerator"].item() for r in REFERRAL_RULES]
    [3, 2, 3]
    """
    what = "DPD quality indicators"
    if not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a non-negative integer, got {days!r}")
    decedents = None if decedents is None else as_frame(decedents)  # collected once
    refs = _prepare(
        dpd, decedents, years=years, noncancer_groups=noncancer_groups, what=what, unit=unit,
        ineligible=ineligible_reasons, referral_rule=referral_rule,
    )  # fmt: skip
    keys = _check_by(by, refs)
    defs = _definitions(days, standards)
    notes = list(refs.notes)
    df = refs.frame
    notes += _completeness_notes(df, unit, ineligible_reasons)
    dec = None
    if decedents is not None:
        dec = decedents
        require_columns(dec, ["spc_admitted"], what)
        dec = dec.with_columns(year=pl.col("death_year").cast(pl.Int64))
        if years is not None:
            dec = dec.filter(pl.col("year").is_in(sorted({int(y) for y in years})))
        if refs.region_source and refs.region_source.startswith("DPD"):
            notes.append("3A/3B by region use the region of residence (decedent cohort)")
    else:
        notes.append("indicators 3A and 3B not computed: they need the decedent cohort")
        notes.append(
            "referrals dated after death not checked (event_after_death): needs the decedents"
        )
    if refs.region_source:
        notes.append(f"region: {refs.region_source}")

    def compute(ks: list[str]) -> pl.DataFrame:
        parts = _referral_indicators(refs, ks, days=days)
        if dec is not None:
            parts += _population_indicators(dec, ks, noncancer_groups)
        return _assemble(parts, ks, defs)

    main = compute(keys)
    trend_keys = ["year", "diagnosis"] if refs.has_diagnosis else ["year"]
    trend_tab = compute(trend_keys)
    fun = _funnel_table(_funnel_parts(refs, dec, days, noncancer_groups))
    return QualityIndicatorResult(
        title="DPD quality indicators 1-5 (Adsersen et al. 2024)",
        tables={
            "indicators": main,
            "trend": trend_tab,
            "funnel": fun,
        },
        n=df.height,
        params={
            "by": tuple(keys),
            "years": None if years is None else tuple(sorted({int(y) for y in years})),
            "days": days,
            "ineligible_reasons": tuple(ineligible_reasons),
            "unit": unit,
            "referral_rule": referral_rule if unit == "patient" else None,
            "decedents": decedents is not None,
            "standards": dict(zip(defs["indicator"], defs["standard"], strict=True)),
        },
        notes=notes,
        protection={
            "indicators": _qi_protection(_margins(keys, ["indicator"])),
            "trend": _qi_protection(_margins(trend_keys, ["indicator"])),
            "funnel": _qi_protection([["indicator", "level"]]),
        },
    )


def waiting_time(
    dpd: pl.DataFrame | pl.LazyFrame | Any,
    *,
    decedents: pl.DataFrame | pl.LazyFrame | Any | None = None,
    by: Sequence[str] | str = ("unit_type",),
    days: int = 10,
    years: Iterable[int] | None = None,
    noncancer_groups: Sequence[str] = NEED_GROUPS,
    unit: str = "patient",
    referral_rule: str = "first_admitted",
) -> WaitingTimeResult:
    """Waiting time from referral to first contact among admitted referrals.

    The days from ``HENV_DATO`` (referral received) to ``FOERSTE_KONTAKT_DATO`` among
    referrals with ``MODTAGET`` 1: n, median, IQR (linear quantiles, as R type 7) and the share
    within ``days`` days with a Wilson CI (DPD indicator 2 when ``days == 10``). Preparation
    and exclusions are those of :func:`quality_indicators` (contact before referral excluded;
    with ``decedents``: referrals of decedents, dated by year of death, dates after death
    excluded), so the shares equal indicator 2 for the same grouping.

    Parameters
    ----------
    dpd
        DPD referrals (see :func:`quality_indicators`).
    decedents
        Optional end-of-life cohort: enables ``region`` (residence) and ``diagnosis``.
    by
        Split by any of ``year, region, unit_type, unit, diagnosis``.
    days
        The waiting-time limit.
    years
        Keep these years (of death with ``decedents``, else of referral).
    noncancer_groups
        ``cause_group`` values of the ``noncancer`` diagnosis group.
    unit
        ``"patient"`` (default): one waiting time per admitted patient, from the referral
        that led to the first SPC contact to that contact (as indicator 2); ``"referral"``:
        one per admitted referral.
    referral_rule
        As in :func:`quality_indicators` (``"first_referral"``: the earliest referral's wait
        when it was admitted; ``"any"``: the shortest wait of the admitted courses).

    Returns
    -------
    WaitingTimeResult
        Tables ``waiting`` and ``trend``; figures ``shares`` and ``trend``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date
    >>> dpd = pl.DataFrame({
    ...     "PNR": list("abcdef"), "ENHED_ID": ["u1"] * 6, "ENHED_TYPE": ["hospice"] * 6,
    ...     "HENV_DATO": [d(2019, 1, 1)] * 6, "MODTAGET": [1, 1, 1, 1, 1, 0],
    ...     "FOERSTE_KONTAKT_DATO": [d(2019, 1, k) for k in (2, 5, 11, 12, 30)] + [None]})
    >>> waiting_time(dpd).table.select("n", "median_days", "n_within").rows()
    [(5, 10.0, 3)]
    """
    what = "waiting time to SPC"
    if not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a non-negative integer, got {days!r}")
    decedents = None if decedents is None else as_frame(decedents)  # collected once
    refs = _prepare(
        dpd, decedents, years=years, noncancer_groups=noncancer_groups, what=what, unit=unit,
        referral_rule=referral_rule,
    )  # fmt: skip
    keys = _check_by(by, refs)
    adm = refs.frame.filter(pl.col("admitted") & pl.col("wait_days").is_not_null())

    def describe(ks: list[str]) -> pl.DataFrame:
        w = pl.col("wait_days")
        aggs = dict(
            n=pl.len().cast(pl.Int64),
            median_days=w.median(),
            q1_days=w.quantile(0.25, "linear"),
            q3_days=w.quantile(0.75, "linear"),
            n_within=(w <= days).sum().cast(pl.Int64),
        )
        tab = adm.group_by(ks).agg(**aggs).sort(ks) if ks else adm.select(**aggs)
        tab = tab.filter(pl.col("n") > 0)
        tab = tab.with_columns(pl.col(k).cast(pl.Int64 if k == "year" else pl.String)
                               for k in ks)  # fmt: skip
        if tab.height == 0:
            return tab.with_columns(
                n_later=pl.lit(None, pl.Int64), estimate=pl.lit(None, pl.Float64),
                conf_low=pl.lit(None, pl.Float64), conf_high=pl.lit(None, pl.Float64),
            )  # fmt: skip
        ci = proportion_ci(tab["n_within"], tab["n"])
        return tab.with_columns(
            n_later=pl.col("n") - pl.col("n_within"),
            estimate=ci["estimate"],
            conf_low=ci["conf_low"],
            conf_high=ci["conf_high"],
        )

    main = describe(keys)
    first = next((k for k in keys if k != "year"), None)
    trend_keys = ["year"] + ([first] if first else [])
    notes = list(refs.notes)
    if refs.region_source:
        notes.append(f"region: {refs.region_source}")
    return WaitingTimeResult(
        title=f"Waiting time from referral to first SPC contact (within {days} days)",
        tables={"waiting": main, "trend": describe(trend_keys)},
        n=adm.height,
        params={
            "by": tuple(keys),
            "days": days,
            "years": None if years is None else tuple(sorted({int(y) for y in years})),
            "decedents": decedents is not None,
            "unit": unit,
            "referral_rule": referral_rule if unit == "patient" else None,
        },
        notes=notes,
        protection={
            "waiting": _waiting_protection(_margins(keys, [])),
            "trend": _waiting_protection(_margins(trend_keys, [])),
        },
    )
