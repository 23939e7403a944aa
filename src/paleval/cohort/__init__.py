"""Study populations built lazily from register LazyFrames, with STROBE flows."""

from paleval.cohort.decedents import Cohort, decedent_cohort
from paleval.cohort.expressions import age_group, icd10_clean, icd10_grouper, years_between
from paleval.cohort.flow import Flow, FlowStep

__all__ = [
    "Cohort",
    "Flow",
    "FlowStep",
    "age_group",
    "decedent_cohort",
    "icd10_clean",
    "icd10_grouper",
    "years_between",
]
