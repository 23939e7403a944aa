"""Disclosure control for everything that leaves a research server (no cell under 5 persons)."""

from paleval.disclosure.audit import AuditReport, audit_report, scrub_notebook
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
    Ledger,
    Margin,
    Protection,
    Quantile,
    Relation,
    Steps,
    active_ledger,
    protect,
    thin_grid,
)
from paleval.disclosure.text import LEGEND, legend_rows, marker, mask_note

__all__ = [
    "DEFAULT_THRESHOLD",
    "LEGEND",
    "AuditReport",
    "Complement",
    "DisclosureError",
    "DisclosureFinding",
    "Ledger",
    "Margin",
    "Protection",
    "Quantile",
    "Relation",
    "Steps",
    "active_ledger",
    "audit_report",
    "check_output",
    "count_columns",
    "legend_rows",
    "marker",
    "mask_note",
    "protect",
    "scrub_notebook",
    "suppress",
    "thin_grid",
]
