"""Study populations built lazily from register LazyFrames, with STROBE flows."""

from paleval.cohort.comorbidity import add_charlson, charlson_codes
from paleval.cohort.decedents import (
    INCOME_LAG_YEARS,
    NURSING_HOME_REGISTER,
    Cohort,
    add_education,
    add_income,
    add_nursing_home,
    bef_status,
    decedent_cohort,
)
from paleval.cohort.exposures import (
    PAYMENT_GRACE_WEEKS,
    add_drug_use,
    add_final_admission,
    add_gp_exposures,
    add_hospital_use,
    add_spc,
    add_terminal_declaration,
    gp_service_windows,
)
from paleval.cohort.expressions import age_group, icd10_clean, icd10_grouper, years_between
from paleval.cohort.flow import Flow, FlowStep
from paleval.cohort.incident import (
    CENSOR_REASONS,
    EVENT_CODES,
    NEW_CANCER_EVENT,
    advanced_disease_codes,
    diagnosis_group_codes,
    incident_cancer_cohort,
    incident_noncancer_cohort,
)
from paleval.cohort.practice import (
    add_practice_propensity,
    practice_home_visit_propensity,
    practice_propensity_before_death,
)
from paleval.cohort.study import END_OF_LIFE_REGISTERS, end_of_life_cohort, practice_at
from paleval.cohort.trajectories import (
    CARE_MEASURES,
    add_aggressiveness,
    care_use_unknown,
    weekly_care_use,
)

__all__ = [
    "CARE_MEASURES",
    "CENSOR_REASONS",
    "END_OF_LIFE_REGISTERS",
    "EVENT_CODES",
    "INCOME_LAG_YEARS",
    "NEW_CANCER_EVENT",
    "NURSING_HOME_REGISTER",
    "PAYMENT_GRACE_WEEKS",
    "Cohort",
    "Flow",
    "FlowStep",
    "add_aggressiveness",
    "add_charlson",
    "add_drug_use",
    "add_education",
    "add_final_admission",
    "add_gp_exposures",
    "add_hospital_use",
    "add_income",
    "add_nursing_home",
    "add_practice_propensity",
    "add_spc",
    "add_terminal_declaration",
    "advanced_disease_codes",
    "age_group",
    "bef_status",
    "care_use_unknown",
    "charlson_codes",
    "decedent_cohort",
    "diagnosis_group_codes",
    "end_of_life_cohort",
    "gp_service_windows",
    "icd10_clean",
    "icd10_grouper",
    "incident_cancer_cohort",
    "incident_noncancer_cohort",
    "practice_at",
    "practice_home_visit_propensity",
    "practice_propensity_before_death",
    "weekly_care_use",
    "years_between",
]
