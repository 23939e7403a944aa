"""Disclosure control for everything that leaves a research server (no cell under 5 persons)."""

from paleval.disclosure.core import (
    DEFAULT_THRESHOLD,
    DisclosureFinding,
    check_output,
    count_columns,
    suppress,
)

__all__ = ["DEFAULT_THRESHOLD", "DisclosureFinding", "check_output", "count_columns", "suppress"]
