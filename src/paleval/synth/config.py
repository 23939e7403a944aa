"""Presets and the structural parameters of the synthetic population.

Every number that shapes the synthetic registers lives here, with the published figure it was
chosen to reproduce. Calibrated levels (intercepts) are solved at generation time so that the
achieved shares hit the targets in ``paleval/codes/data/calibration_targets.csv``; the effect sizes
below are the *planted truth* written to ``truth.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PRESETS", "REALISM_FEATURES", "Preset", "SynthConfig"]

REALISM_FEATURES = (
    "multi_unit_spc",
    "sssy_payment_lag",
    "migration",
    "households",
    "nursing_homes",
    "plh_coverage",
    "place_detail_missing",
)


@dataclass(frozen=True)
class Preset:
    """A named size of synthetic data set.

    Examples
    --------
    >>> PRESETS["tiny"].n_persons
    15000
    """

    name: str
    n_persons: int
    chunk_persons: int
    description: str


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 15_000, 15_000, "about 2,000 decedents; seconds; for unit tests"),
    "small": Preset("small", 150_000, 50_000, "about 20,000 decedents; default for the report"),
    "national": Preset(
        "national", 5_900_000, 100_000, "Danish volumes: 5.9 million residents, ~55,000 deaths/year"
    ),
}


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a synthetic data set (same config + seed -> same bytes).

    Examples
    --------
    >>> cfg = SynthConfig.from_preset("tiny", seed=1)
    >>> cfg.start_year, cfg.end_year
    (2010, 2024)
    """

    n_persons: int
    seed: int = 1
    start_year: int = 2010
    end_year: int = 2024
    chunk_persons: int = 250_000
    lpr3_start: str = "2019-02-01"
    messiness: bool = True
    preset: str = "custom"
    # Register realism (each on by default; ``messiness=False``, the CLI's ``--clean``, switches
    # every one off so the registers agree with paleval's conventions by construction).
    multi_unit_spc: bool = True
    sssy_payment_lag: bool = True
    migration: bool = True
    households: bool = True
    # Nursing-home residence written as a register of stays (``plh``), residents dying in the
    # nursing home, and residents not living alone (see ``NURSING_HOME`` below).
    nursing_homes: bool = True
    # The nursing-home register as delivered: no stays before it begins (2011, the coverage
    # table's ``plh`` rows), while the true residence still drives the place of death.
    plh_coverage: bool = True
    # The detailed place of death (C_PRAECIS_DODSSTED) missing for a share of deaths
    # (``PLACE_DETAIL_MISSING``), so the cohort falls back to the coarse C_DODSSTED.
    place_detail_missing: bool = True
    # Years of LPR history before the study period (look-back and washout windows). The real
    # LPR has somatic inpatients from 1977 and outpatient/emergency contacts from 1995; the
    # default 15 (LPR from 1995 for a 2010 start) covers the 10-year Charlson window and the
    # cancer-exclusion and washout look-backs (docs/methods.md, "LPR history (look-back)"); 5
    # (the default before session 8) is the option for a faster, smaller extract.
    lpr_lookback_years: int = 15
    # A planted intervention (``INTERVENTION`` below): staggered municipal adoption that adds
    # ``intervention_log_or`` to the log odds of SPC admittance of non-cancer decedents in a
    # palliative-need group who die in an adopting municipality on or after its adoption date.
    # Not a realism feature: ``messiness=False`` leaves it on; ``interventions=False`` (the
    # CLI's ``--no-interventions``) gives the registers without it, byte for byte.
    interventions: bool = True
    intervention_log_or: float = math.log(4.0)

    def realism(self, feature: str) -> bool:
        """Whether a realism feature is in effect: its own flag and ``messiness`` both on.

        Examples
        --------
        >>> SynthConfig(n_persons=2000).realism("multi_unit_spc")
        True
        >>> SynthConfig(n_persons=2000, messiness=False).realism("multi_unit_spc")
        False
        >>> SynthConfig(n_persons=2000, sssy_payment_lag=False).realism("sssy_payment_lag")
        False
        """
        if feature not in REALISM_FEATURES:
            raise ValueError(f"unknown realism feature {feature!r}; one of {REALISM_FEATURES}")
        return bool(self.messiness and getattr(self, feature))

    @classmethod
    def from_preset(cls, name: str, seed: int = 1, **overrides: object) -> SynthConfig:
        """Build a config from a preset name, with optional overrides (persons, years, ...)."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        p = PRESETS[name]
        kw: dict[str, object] = {
            "n_persons": p.n_persons,
            "chunk_persons": p.chunk_persons,
            "seed": seed,
            "preset": name,
        }
        kw.update({k: v for k, v in overrides.items() if v is not None})
        cfg = cls(**kw)  # type: ignore[arg-type]
        cfg.check()
        return cfg

    def check(self) -> None:
        """Raise ``ValueError`` for an impossible configuration."""
        if self.n_persons < 1000:
            raise ValueError(f"n_persons must be at least 1000, got {self.n_persons}")
        if not (2000 <= self.start_year <= self.end_year <= 2030):
            raise ValueError(
                f"study period must satisfy 2000 <= start <= end <= 2030, "
                f"got {self.start_year}-{self.end_year}"
            )
        if not 0 <= self.lpr_lookback_years <= 30:
            raise ValueError(
                f"lpr_lookback_years must be between 0 and 30, got {self.lpr_lookback_years}"
            )
        if not math.isfinite(self.intervention_log_or):
            raise ValueError(
                f"intervention_log_or must be a finite number, got {self.intervention_log_or}"
            )
        if self.chunk_persons < 1000:
            raise ValueError(f"chunk_persons must be at least 1000, got {self.chunk_persons}")

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))


L = math.log

# The planted intervention (simulate._spc, truth.json "interventions"): the municipalities of
# the code list ``municipalities`` sorted by code (KOM as a number) are dealt in turn to the
# adoption dates below (1st, 4th, 7th, ... -> the first date; 2nd, 5th, ... -> the second;
# 3rd, 6th, ... never adopt). From its adoption date an adopting municipality's non-cancer
# decedents in a palliative-need group (by date of death) have ``intervention_log_or`` added
# to the log odds of SPC admittance, after the calibration of the intercepts (which is
# therefore the counterfactual without the intervention). The effect size (OR 4 by default)
# is an assumption chosen to be recoverable on the ``small`` preset, not a published figure.
INTERVENTION = {
    "name": "municipal_noncancer_spc_programme",
    "adoption_dates": ("2016-01-01", "2019-01-01", None),
    "outcome": "spc_admitted",
    "population": "adult decedents in a non-cancer palliative-need group",
}

# Migration (paleval.synth.migration): probabilities over the study period per person of the
# closed cohort, times an age weight (young adults ``young_adult_factor``, children 0.5, 70+
# 0.2, normalised to mean 1). Danish scale for orientation: about 1 % of residents emigrate
# and 1-1.5 % immigrate each year (Statistics Denmark, VAN1AAR/VAN2AAR), most of them short
# stays of foreign citizens outside a closed cohort; these rates are synthetic.
MIGRATION = {
    "emigrate": 0.025,  # leave during the period and stay abroad (alive at the end)
    "emigrate_and_return": 0.012,  # leave and come back before the end (and before death)
    "immigrate_immigrant_origin": 0.15,  # IE_TYPE 2: first arrival during the period
    "immigrate_other": 0.005,  # others (e.g. Danes born abroad) arriving during the period
    "young_adult_factor": 3.0,  # age 18-44 at the start
}

# Households (simulate._households): adults who do not live alone at the start are paired
# into couples (same municipality, a man and a woman by age rank) with probability
# ``couple_share``; ``married_share`` of couples are married (CIVST G), the rest cohabit.
# Statistics Denmark's family statistics (FAM44N etc.) put about 60 % of adults in couples and
# about three quarters of couples married; the synthetic shares are chosen to be of that order.
HOUSEHOLDS = {"couple_share": 0.85, "married_share": 0.75}

# --- Population -----------------------------------------------------------------------------
# Age distribution on 1 January of the start year, 10-year bands (approximate Danish pyramid,
# Statistics Denmark table FOLK1A, 2010).
AGE_BANDS = [
    (0, 10, 0.120),
    (10, 20, 0.125),
    (20, 30, 0.115),
    (30, 40, 0.130),
    (40, 50, 0.148),
    (50, 60, 0.130),
    (60, 70, 0.122),
    (70, 80, 0.068),
    (80, 90, 0.034),
    (90, 100, 0.008),
]
# Regions (REG codes) and population shares (Statistics Denmark FOLK1A, 2010, rounded).
REGION_SHARES = {1084: 0.310, 1085: 0.147, 1083: 0.216, 1082: 0.226, 1081: 0.101}
# Origin (IE_TYPE): 1 Danish origin, 2 immigrant, 3 descendant (DST, 2010 approx.).
ORIGIN_SHARES = {1: 0.895, 2: 0.080, 3: 0.025}
# Education level by birth cohort: lower secondary, upper secondary/vocational,
# short/medium higher, long higher. Older cohorts chosen so that cancer decedents 2010-12 have
# ~45 % lower secondary and ~6 % long higher (Adsersen et al., J Palliat Med 2023).
EDUCATION_BY_COHORT = [  # (born before, shares)
    (1930, (0.56, 0.31, 0.09, 0.04)),
    (1945, (0.42, 0.39, 0.13, 0.06)),
    (1960, (0.28, 0.44, 0.19, 0.09)),
    (1975, (0.20, 0.43, 0.24, 0.13)),
    (2100, (0.22, 0.38, 0.25, 0.15)),
]
EDUCATION_LEVELS = (
    "lower_secondary",
    "upper_secondary_vocational",
    "short_medium_higher",
    "long_higher",
)

# Mortality: Gompertz hazard exp(a + b*age + male + sep); a solved so the first year's crude
# death rate is ~0.98 % (54,368 deaths in 2010 among 5.53 million; Statistics Denmark DOD).
GOMPERTZ_B = 0.092
MORTALITY_MALE_LOG_HR = 0.33
MORTALITY_SEP_LOG_HR = -0.12  # per SD of socio-economic position
CRUDE_DEATH_RATE = 0.0098

# Cause-of-death groups (Murtagh 2014 / Etkind 2017) with base shares at age 75 and age slopes
# (log-share per year of age); shares chosen to resemble Danish causes of death
# (Sundhedsdatastyrelsen, Dødsårsagsregisteret: cancer ~28 % of deaths).
CAUSE_GROUPS = (
    "cancer",
    "heart",
    "respiratory",
    "stroke",
    "renal",
    "liver",
    "dementia",
    "neurodegenerative",
    "hiv",
    "other",
)
CAUSE_BASE = (0.285, 0.115, 0.070, 0.060, 0.020, 0.020, 0.055, 0.020, 0.0005, 0.3545)
CAUSE_AGE_SLOPE = (-0.022, 0.020, 0.0, 0.010, 0.010, -0.060, 0.070, -0.020, -0.080, 0.0)
CAUSE_CODES = {  # ICD-10 3/4-character codes (no "D" prefix) and weights within the group
    "heart": {"I21": 0.2, "I25": 0.35, "I50": 0.25, "I48": 0.1, "I35": 0.1},
    "respiratory": {"J44": 0.85, "J43": 0.05, "J96": 0.05, "J47": 0.05},
    "stroke": {"I63": 0.4, "I61": 0.2, "I64": 0.3, "I69": 0.1},
    "renal": {"N18": 0.6, "N17": 0.3, "I12": 0.1},
    "liver": {"K70": 0.6, "K74": 0.3, "K72": 0.1},
    "dementia": {"F03": 0.5, "G30": 0.35, "F01": 0.1, "R54": 0.05},
    "neurodegenerative": {"G20": 0.5, "G122": 0.25, "G35": 0.15, "G231": 0.05, "G903": 0.05},
    "hiv": {"B20": 1.0},
    "other": {
        "J18": 0.18,
        "A41": 0.12,
        "W19": 0.1,
        "X59": 0.05,
        "E11": 0.1,
        "I71": 0.08,
        "K92": 0.07,
        "N39": 0.06,
        "R99": 0.08,
        "V89": 0.04,
        "X70": 0.04,
        "E86": 0.08,
    },
}
# Cancer sites among cancer deaths (NORDCAN-like Danish distribution, approximate)
# with median diagnosis-to-death time in years.
CANCER_SITES = {  # site: (share, median years diagnosis->death, main ICD-10 prefix)
    "lung": (0.23, 0.8, "C34"),
    "colorectal": (0.11, 2.0, "C18"),
    "pancreas": (0.08, 0.35, "C25"),
    "prostate": (0.07, 4.0, "C61"),
    "breast": (0.06, 4.5, "C50"),
    "haematological": (0.08, 2.5, "C92"),
    "upper_gi": (0.05, 0.7, "C16"),
    "sarcoma": (0.01, 1.5, "C49"),
    "brain": (0.03, 0.9, "C71"),
    "gynaecological": (0.05, 1.8, "C56"),
    "urinary": (0.05, 1.5, "C67"),
    "liver_biliary": (0.04, 0.5, "C22"),
    "head_neck": (0.03, 1.5, "C32"),
    "melanoma_skin": (0.02, 2.5, "C43"),
    "other": (0.09, 0.9, "C80"),
}
NONCANCER_DX_MEDIAN_YEARS = {
    "heart": 4.0,
    "respiratory": 5.0,
    "stroke": 1.0,
    "renal": 3.0,
    "liver": 2.0,
    "dementia": 4.0,
    "neurodegenerative": 5.0,
    "hiv": 8.0,
}

# --- Specialised palliative care (SPC) ----------------------------------------------------
# Admittance (first contact with SPC) among cancer decedents: logistic model. Level by year is
# calibrated to DPD (37 % in 2010-12, Adsersen et al. BMC Palliat Care 2017; 50 % in 2019,
# indicator 3A, Adsersen et al. Acta Oncol 2024).
SPC_CANCER_TARGET = {
    2010: 0.36,
    2011: 0.37,
    2012: 0.38,
    2013: 0.40,
    2014: 0.42,
    2015: 0.44,
    2016: 0.46,
    2017: 0.47,
    2018: 0.49,
    2019: 0.50,
    2020: 0.51,
    2021: 0.52,
    2022: 0.52,
    2023: 0.53,
    2024: 0.53,
}
# Non-cancer decedents in a palliative-need group (indicator 3B: 2 % in 2019; ~3 % in 2024,
# DPD annual report 2024).
SPC_NONCANCER_TARGET = {
    2010: 0.008,
    2011: 0.009,
    2012: 0.010,
    2013: 0.011,
    2014: 0.012,
    2015: 0.013,
    2016: 0.015,
    2017: 0.017,
    2018: 0.019,
    2019: 0.020,
    2020: 0.022,
    2021: 0.024,
    2022: 0.026,
    2023: 0.028,
    2024: 0.030,
}
SPC_OTHER_CAUSE_RATE = 0.002
# Conditional log odds ratios (planted truth), cancer decedents.
SPC_LOG_OR = {
    "education": {
        "lower_secondary": 0.0,
        "upper_secondary_vocational": L(1.20),
        "short_medium_higher": L(1.40),
        "long_higher": L(1.69),
    },
    "income_quartile": {1: 0.0, 2: L(1.15), 3: L(1.30), 4: L(1.46)},
    "female": L(1.23),
    "age_group": {"18-49": L(4.0), "50-59": L(2.8), "60-69": L(2.2), "70-79": L(1.6), "80+": 0.0},
    "living_alone": L(0.85),
    "immigrant": L(0.80),
    "region": {1084: 0.0, 1085: -0.15, 1083: 0.05, 1082: 0.10, 1081: 0.20},
    "site": {
        "lung": 0.0,
        "colorectal": 0.0,
        "pancreas": L(1.5),
        "prostate": -0.10,
        "breast": 0.0,
        "haematological": L(0.45),
        "upper_gi": L(1.3),
        "sarcoma": L(1.4),
        "brain": 0.10,
        "gynaecological": 0.10,
        "urinary": 0.0,
        "liver_biliary": 0.10,
        "head_neck": 0.0,
        "melanoma_skin": 0.0,
        "other": -0.10,
    },
}
SPC_NONCANCER_GROUP_LOG_OR = {
    "heart": 0.0,
    "respiratory": L(1.6),
    "stroke": L(0.5),
    "renal": L(1.3),
    "liver": L(1.2),
    "dementia": L(0.4),
    "neurodegenerative": L(4.0),
    "hiv": L(2.0),
}
# Among referred: share with first contact (DPD indicator 1, 2019: 81 % cancer, 73 % non-cancer).
P_CONTACT_GIVEN_REFERRED = {"cancer": 0.81, "noncancer": 0.73}
NO_CONTACT_REASONS = {"died": 0.55, "declined": 0.15, "not_eligible": 0.20, "other": 0.10}
# Hospice vs hospital team/unit among the admitted: logistic, base share ~40 %.
HOSPICE_BASE_SHARE = 0.32
HOSPICE_LOG_OR = {"long_higher": L(1.4), "income_q4": L(1.25)}
# Waiting time referral -> first contact within 10 days (DPD indicator 2: 73 % cancer,
# 68 % non-cancer in 2019; regions 62-89 % in 2021). Regional levels are synthetic.
P_WAIT_LE10_REGION = {1084: 0.66, 1085: 0.64, 1083: 0.78, 1082: 0.75, 1081: 0.86}
WAIT_NONCANCER_LOG_OR = L(0.78)
# Time from first contact to death (days): lognormal, median 23 days for hospice
# (DPD 2018) and 45 days for hospital teams/units.
CONTACT_TO_DEATH_MEDIAN = {"hospice": 23.0, "hospital": 45.0}
CONTACT_TO_DEATH_SIGMA = 1.1
P_EORTC = {"cancer": 0.73, "noncancer": 0.66}  # indicator 4
P_MDC = {"cancer": 0.73, "noncancer": 0.65}  # indicator 5
REFERRER_SHARES = {"hospital": 0.78, "gp": 0.16, "other": 0.06}
# Multi-unit SPC courses: "1/3 af patienterne har et forloeb paa to specialiserede enheder,
# typisk et hospice og et team" (DPD annual report 2018, summarised by the Danish hospice
# leaders' association, hospicelederforening.dk/synspunkter/arlige-dmcg-pal-rapport). Among
# admitted patients who live long enough after their first contact, a second referral to
# another unit is drawn so that this share of all admitted patients has two or more.
SPC_MULTI_UNIT_SHARE = 1 / 3
SPC_MULTI_UNIT_MIN_DAYS = 5  # first contact -> death (or end of data) needed for a second unit
SPC_SECOND_UNIT_CONTACT = 0.85  # second referrals followed by contact (the rest die first)
# Second unit after a hospital team/unit: hospice (typical) or a hospital unit/team.
SPC_SECOND_UNIT_HOSPICE_AFTER_HOSPITAL = 0.75

# --- The GP at the end of life -------------------------------------------------------------
# GP home visits in the last 90 days: Poisson with practice propensity (log-normal random
# effect, SD 0.45) and regional differences.
PRACTICE_PROPENSITY_SD = 0.45
PRACTICE_REGION_EFFECT = {1084: -0.25, 1085: 0.0, 1083: 0.05, 1082: 0.05, 1081: 0.20}
HV_LOG_RATE = {
    "base": -0.9,
    "cancer": 0.9,
    "spc": 0.25,
    "age80": 0.3,
    "living_alone": 0.1,
    "need_group": 0.35,
}
P_OOH_LAST30 = {"cancer": 0.38, "need": 0.25, "other": 0.15}
# Terminal declaration (drug reimbursement due to terminal illness): 27.9 % of decedents
# 2006-15 (Daugaard et al. J Epidemiol Community Health 2019;73:435).
P_TERMINAL = {"cancer": 0.70, "need": 0.20, "other": 0.06}
TERMINAL_HV_LOG_OR = 0.4  # per home-visit category step
# Place of death. Home death is drawn first for every decedent from a log-linear
# (prevalence-ratio) model, the planted truth; PR of home visits after Neergaard et al.
# Br J Gen Pract 2009 (PR 4.3, 1.2-14.9) but smaller. The rest go to hospice (hospice patients),
# nursing home (residents) or hospital / elsewhere.
HOME_LOG_PR = {
    "hv_1_2": L(1.6),
    "hv_3plus": L(2.5),
    "terminal": L(1.2),
    "living_alone": L(0.75),
    "cancer": L(1.25),
    "spc_hospital": L(1.15),
    "spc_hospice": L(0.3),
    "female": L(0.95),
    "age_group": {"18-49": L(1.1), "50-59": L(1.1), "60-69": L(1.05), "70-79": 0.0, "80+": L(0.9)},
    "year": 0.015,  # per calendar year since the start year
}
HOME_P_MAX = 0.95
# Place-of-death distribution in the last study year (2024: 28 % own home, 22 % nursing home,
# 35 % hospital, 4 % hospice, 11 % elsewhere; seed 004 citing Sundhedsdatastyrelsen).
PLACE_TARGET_LAST_YEAR = {
    "home": 0.28,
    "nursing_home": 0.22,
    "hospital": 0.35,
    "hospice": 0.04,
    "other": 0.11,
}
P_NURSING_HOME = {"dementia": 2.2, "age_slope": 0.08, "living_alone": 0.5}
# Where nursing-home residents die: "80 % af beboerne paa plejehjemmene doer paa plejehjemmet"
# and 16 % in hospital (REHPA, Doedssted og doedsaarsager i Danmark 2012-2020, Jarlbaek;
# rehpa.dk/nyheder/ny-viden-om-danskernes-doedssteder-og-doedsaarsager).
NH_DEATH_PLACE = {"nursing_home": 0.80, "hospital": 0.17, "other": 0.03}
# Nursing-home residence as a register (realism feature ``nursing_homes``): residents at death
# are drawn before the end-of-life processes from age at death, dementia and living alone
# (logistic, ``P_NURSING_HOME``), with the intercept solved so that residents are
# PLACE_TARGET_LAST_YEAR["nursing_home"] / NH_DEATH_PLACE["nursing_home"] (22 % / 80 % = 27.5 %)
# of the last year's decedents. Residents never die in their "own home"; the rest of the
# home-death model applies to community-dwelling decedents. Length of the stay before death:
# lognormal with this median (years) and SD of the log; a synthetic assumption of the order
# of Danish nursing-home stays (most residents die within a few years of moving in).
NURSING_HOME = {"stay_median_years": 1.6, "stay_sigma": 0.9, "min_age": 50}
# Detailed place of death missing (realism feature ``place_detail_missing``): a share of
# deaths has no C_PRAECIS_DODSSTED, while DAR's coarse C_DODSSTED is always written, so the
# cohort's fallback to the coarse code (hospice deaths then count as hospital deaths, the home
# address as the nursing home only for known residents) runs on generated data. 5 % is a
# synthetic assumption, not a published rate of missing detailed codes: docs/methods.md
# ("Place of death") cites a missing place for 20-25 % of deaths a year in 2007-12 and about
# 10 % in 2014 (registers-guide, from SDS; not re-verified in session 8, and it may concern the
# coarse code), so a real extract may miss more. Missingness is independent of the place.
PLACE_DETAIL_MISSING = 0.05
P_HOSPICE_DEATH_IF_HOSPICE = 0.85
# Places with several DAR codes (code list place_of_death, in its row order): deaths
# "elsewhere" at a known address (C_DODSSTED 2) or a place without an address (3); synthetic
# shares (no public figure splits them).
PLACE_CODE_WEIGHTS = {"other": [0.75, 0.25]}

# --- Health-care use (events) ----------------------------------------------------------------
LPR_LOOKBACK_YEARS = 15  # default of SynthConfig.lpr_lookback_years
# Yearly rates per person: a + b * max(age - 40, 0)
LPR_RATES = {"inpatient": (0.05, 0.005), "outpatient": (0.6, 0.02), "emergency": (0.10, 0.002)}
EOL_EXTRA_ADMISSIONS = {"cancer": 1.6, "need": 1.3, "other": 0.5}
GP_RATES = {  # yearly: a + b * age ; (service code, out-of-hours)
    "consultation": (1.6, 0.035),
    "e_consultation": (0.6, 0.01),
    "phone": (1.5, 0.03),
}
GP_HOME_VISIT_RATE = {"<70": 0.01, "70-79": 0.08, "80+": 0.30}
GP_OOH_RATE = {"consultation": 0.20, "phone": 0.25, "home_visit": (0.01, 0.10)}  # hv: <80, 80+
GP_FEES = {"0101": 145.0, "0105": 50.0, "0201": 30.0, "0411": 420.0, "0121": 600.0}
OOH_FEE_FACTOR = 1.6
# Payment lag in the health insurance register: SSSY dates a service by its week of payment
# (HONUGE), not the day it happened, and a service is paid in the week it is billed or later.
# DST's and SDS's documentation name the payment week but publish no lag distribution: these
# shares (weeks after the service week: 0, 1, 2, 3, 4, 5-8) are a synthetic assumption, with
# 30 % of services paid a week or more late. Services paid after the end of the delivery period
# are missing from the extract, as in a real one.
SSSY_PAYMENT_LAG_WEEKS = {
    0: 0.70,
    1: 0.20,
    2: 0.05,
    3: 0.025,
    4: 0.015,
    5: 0.004,
    6: 0.003,
    7: 0.002,
    8: 0.001,
}
# Non-melanoma skin cancer (C44, mostly basal cell carcinoma) in the cancer register: the
# commonest registered tumour in Denmark, left out of cancer incidence by NORDCAN and the
# Danish Cancer Registry (C00-C97 except C44); written so that a cohort that forgets the
# exclusion notices. Probability over the period for persons aged 50+ at the start: a
# synthetic figure of the order of NORDCAN's NMSC incidence (several per 1,000 a year at 60+).
NMSC = {"probability_50_plus": 0.06, "codes": ("C443", "C445", "C446", "C447", "C449")}
LMDB_RATES = {"<40": 0.8, "40-69": 3.0, "70+": 6.0}
BACKGROUND_ATC = {  # ATC: (weight, VNR, pack size, DDD per pack)
    "C10AA05": (0.14, "085412", 100, 100),
    "C09AA05": (0.10, "046023", 100, 100),
    "C07AB02": (0.08, "067831", 100, 100),
    "B01AC06": (0.10, "416701", 100, 100),
    "A02BC01": (0.09, "170472", 56, 56),
    "N06AB04": (0.06, "095316", 100, 100),
    "R03AC02": (0.05, "531210", 1, 40),
    "M01AE01": (0.07, "063416", 100, 50),
    "J01CE02": (0.10, "022364", 20, 7),
    "C03CA01": (0.06, "149096", 100, 100),
    "A10BA02": (0.08, "156547", 100, 67),
    "H03AA01": (0.07, "043935", 100, 100),
}
OPIOID_ATC = {
    "N02AA01": (0.25, "096206", 100, 50),
    "N02AA05": (0.35, "013318", 98, 49),
    "N02AB03": (0.15, "193409", 5, 15),
    "N02AX02": (0.25, "050862", 100, 33),
}
P_OPIOID_LAST90 = {"cancer": 0.78, "need": 0.35, "other": 0.12}
BACKGROUND_OPIOID_USERS = 0.04
COMMON_DIAGNOSES = (  # SKS action diagnoses for background hospital contacts
    "DI109",
    "DE119",
    "DM545",
    "DJ189",
    "DS720",
    "DR074",
    "DK590",
    "DN390",
    "DZ038",
    "DR109",
    "DJ441",
    "DI489",
    "DK801",
    "DM171",
    "DS525",
    "DH259",
    "DR060",
    "DZ099",
    "DL032",
    "DG473",
)
PALLIATIVE_ENCOUNTER = "DZ515"  # ICD-10 Z51.5 palliative care
# Messiness (on by default; each injected defect is counted in truth.json)
MESS = {
    "education_missing_immigrant": 0.30,
    "education_missing_born_before_1922": 0.15,
    "education_missing_other": 0.01,
    "income_missing": 0.01,
    "lpr2_duplicate": 0.005,
    "lpr3_duplicate": 0.002,
    "diagnosis_lowercase": 0.02,
    "dpd_referral_after_death": 0.003,
    "nursing_home_stay_left_open": 0.02,  # plh stays of residents who died, no move-out date
}
