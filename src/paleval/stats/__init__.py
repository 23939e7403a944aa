"""Statistical estimators, validated against R; no knowledge of registers.

Everything here takes arrays or polars frames and returns tidy polars frames or result objects
with ``.table``; reference values from R (survival, cmprsk, sandwich, nnet, stats) are under
``tests/reference/``.
"""

from paleval.stats.competing import (
    AalenJohansenResult,
    FineGrayResult,
    GrayTestResult,
    aalen_johansen,
    cause_specific_cox,
    fine_gray,
    gray_test,
)
from paleval.stats.funnel import funnel_flags, funnel_limits
from paleval.stats.inequality import (
    concentration_index,
    relative_index_of_inequality,
    ridit_scores,
    slope_index_of_inequality,
)
from paleval.stats.proportions import proportion_ci, risk_difference, risk_ratio
from paleval.stats.regression import (
    ConvergenceError,
    RegressionResult,
    glm,
    log_binomial,
    logistic,
    marginal_risks,
    modified_poisson,
    multinomial,
)
from paleval.stats.standardise import direct_standardise, indirect_standardise
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
    "FineGrayResult",
    "GrayTestResult",
    "HazardRegressionResult",
    "KaplanMeierResult",
    "RegressionResult",
    "SurvivalCurveResult",
    "aalen_johansen",
    "cause_specific_cox",
    "concentration_index",
    "cox",
    "direct_standardise",
    "fine_gray",
    "funnel_flags",
    "funnel_limits",
    "glm",
    "gray_test",
    "indirect_standardise",
    "kaplan_meier",
    "log_binomial",
    "logistic",
    "marginal_risks",
    "modified_poisson",
    "multinomial",
    "proportion_ci",
    "relative_index_of_inequality",
    "ridit_scores",
    "risk_difference",
    "risk_ratio",
    "slope_index_of_inequality",
]
