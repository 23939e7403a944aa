"""Disclosure control for everything that leaves a research server (no cell under 5 persons)."""

from paleval.disclosure.core import (
    DEFAULT_THRESHOLD,
    DisclosureFinding,
    check_output,
    count_columns,
    suppress,
)
from paleval.disclosure.model import (
    Complement,
    DisclosureError,
    Margin,
    Protection,
    Relation,
    Sequence,
    protect,
)
from paleval.disclosure.text import LEGEND, marker, mask_note

__all__ = [
    "DEFAULT_THRESHOLD",
    "LEGEND",
    "Complement",
    "DisclosureError",
    "DisclosureFinding",
    "Margin",
    "Protection",
    "Relation",
    "Sequence",
    "check_output",
    "count_columns",
    "marker",
    "mask_note",
    "protect",
    "suppress",
]
