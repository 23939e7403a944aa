"""The analyses: one call on a cohort frame, returning a result object with tables and figures.

=================================  =================================================================
:func:`characteristics`            Table 1 by group (:class:`CharacteristicsResult`)
:func:`time_to_referral`           SPC referral/contact from diagnosis, death competing
:func:`referral_before_death`      referral and first contact before death; late referral
:func:`place_of_death_gp`          place of death relative to the GP's involvement
:func:`quality_indicators`         the DPD quality indicators 1-5 with standards and funnels
:func:`waiting_time`               waiting time from referral to first SPC contact
:func:`cancer_vs_noncancer`        non-cancer versus cancer by Murtagh/Etkind group
:func:`social_inequality`          inequality by education, income, cohabitation, origin, region
:func:`care_trajectories`          weekly care in the last year of life; aggressive end-of-life care
:func:`interrupted_time_series`    a share by month or quarter around an intervention (ITS)
:func:`difference_in_differences`  staggered adoption by regions or municipalities (DiD)
:func:`practice_variation`         between-practice variation: MOR, ICC, caterpillar, funnel
:func:`standardised_rates`         age-standardised rates per person-years (ESP2013), by group
=================================  =================================================================
"""

from paleval.analyses.cancer_noncancer import DiagnosisGroupResult, cancer_vs_noncancer
from paleval.analyses.descriptive import (
    CharacteristicsResult,
    FlowResult,
    characteristics,
    flow_result,
)
from paleval.analyses.evaluation import (
    DifferenceInDifferencesResult,
    InterruptedTimeSeriesResult,
    difference_in_differences,
    interrupted_time_series,
)
from paleval.analyses.indicators import (
    QualityIndicatorResult,
    WaitingTimeResult,
    quality_indicators,
    waiting_time,
)
from paleval.analyses.inequality import InequalityResult, social_inequality
from paleval.analyses.place_of_death import PlaceOfDeathResult, place_of_death_gp
from paleval.analyses.rates import StandardisedRatesResult, standardised_rates
from paleval.analyses.referral import (
    ReferralBeforeDeathResult,
    TimeToReferralResult,
    referral_before_death,
    time_to_referral,
)
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.analyses.trajectories import CareTrajectoriesResult, care_trajectories
from paleval.analyses.variation import PracticeVariationResult, practice_variation

__all__ = [
    "AnalysisResult",
    "CareTrajectoriesResult",
    "CharacteristicsResult",
    "DiagnosisGroupResult",
    "DifferenceInDifferencesResult",
    "FlowResult",
    "InequalityResult",
    "InterruptedTimeSeriesResult",
    "PlaceOfDeathResult",
    "PracticeVariationResult",
    "QualityIndicatorResult",
    "ReferralBeforeDeathResult",
    "StandardisedRatesResult",
    "TimeToReferralResult",
    "WaitingTimeResult",
    "cancer_vs_noncancer",
    "care_trajectories",
    "characteristics",
    "difference_in_differences",
    "flow_result",
    "interrupted_time_series",
    "place_of_death_gp",
    "practice_variation",
    "quality_indicators",
    "referral_before_death",
    "require_columns",
    "social_inequality",
    "standardised_rates",
    "time_to_referral",
    "waiting_time",
]
