"""The analyses: one call on a cohort frame, returning a result object with tables and figures."""

from paleval.analyses.result import AnalysisResult, require_columns

__all__ = ["AnalysisResult", "require_columns"]
