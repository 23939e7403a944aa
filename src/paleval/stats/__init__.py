"""Statistical estimators, validated against R; no knowledge of registers.

Everything here takes arrays or polars frames and returns tidy polars frames or result objects
with ``.table``; reference values from R (survival, cmprsk, sandwich, nnet, stats, MASS,
geepack, nlme, lme4) are under ``tests/reference/``.
"""

from paleval.stats._errors import ConvergenceError, NotEstimableError, SeparationError
from paleval.stats.competing import (
    AalenJohansenResult,
    FineGrayResult,
    GrayTestResult,
    aalen_johansen,
    cause_specific_cox,
    fine_gray,
    gray_test,
)
from paleval.stats.count import NegativeBinomialResult, negative_binomial
from paleval.stats.did import DidResult, did_group_time
from paleval.stats.funnel import funnel_flags, funnel_limits
from paleval.stats.gee import GEEResult, gee
from paleval.stats.inequality import (
    concentration_index,
    relative_index_of_inequality,
    ridit_scores,
    slope_index_of_inequality,
)
from paleval.stats.its import SegmentedRegressionResult, newey_west, segmented_regression
from paleval.stats.lexis import age_band_labels, lexis_split, person_time_table
from paleval.stats.mixed import MixedResult, mixed_logistic, mixed_poisson
from paleval.stats.proportions import proportion_ci, risk_difference, risk_ratio
from paleval.stats.regression import (
    RegressionResult,
    glm,
    log_binomial,
    logistic,
    marginal_risks,
    modified_poisson,
    multinomial,
)
from paleval.stats.standardise import (
    direct_standardise,
    european_standard_population,
    indirect_standardise,
)
from paleval.stats.survival import (
    CoxResult,
    HazardRegressionResult,
    KaplanMeierResult,
    SurvivalCurveResult,
    cox,
    kaplan_meier,
)

__all__ = [
    "AalenJohansenResult",
    "ConvergenceError",
    "CoxResult",
    "DidResult",
    "FineGrayResult",
    "GEEResult",
    "GrayTestResult",
    "HazardRegressionResult",
    "KaplanMeierResult",
    "MixedResult",
    "NegativeBinomialResult",
    "NotEstimableError",
    "RegressionResult",
    "SegmentedRegressionResult",
    "SeparationError",
    "SurvivalCurveResult",
    "aalen_johansen",
    "age_band_labels",
    "cause_specific_cox",
    "concentration_index",
    "cox",
    "did_group_time",
    "direct_standardise",
    "european_standard_population",
    "fine_gray",
    "funnel_flags",
    "funnel_limits",
    "gee",
    "glm",
    "gray_test",
    "indirect_standardise",
    "kaplan_meier",
    "lexis_split",
    "log_binomial",
    "logistic",
    "marginal_risks",
    "mixed_logistic",
    "mixed_poisson",
    "modified_poisson",
    "multinomial",
    "negative_binomial",
    "newey_west",
    "person_time_table",
    "proportion_ci",
    "relative_index_of_inequality",
    "ridit_scores",
    "risk_difference",
    "risk_ratio",
    "segmented_regression",
    "slope_index_of_inequality",
]
