"""Registers: the declared register model, loading of extracts, and validation.

Data flows one way: files -> :func:`scan_register` (validated, typed LazyFrames in the declared
schema) -> cohorts. Loaders never do statistics.
"""

from paleval.registers.dictionary import data_dictionary
from paleval.registers.loading import (
    RegisterFile,
    RegisterLoadError,
    csv_encoding,
    deduplicate_contacts,
    expected_rows,
    find_register_files,
    flag_duplicate_contacts,
    integrity_exprs,
    lpr_contacts,
    lpr_diagnoses,
    register_delivered,
    register_inventory,
    scan_register,
    scan_registers,
    verify_file,
)
from paleval.registers.model import REGISTERS, register_keys
from paleval.registers.normalise import (
    honuge_is_valid,
    honuge_to_week_end,
    honuge_to_week_start,
    normalise_icd10,
    number_to_date,
    sas_format_kind,
    text_to_date,
)
from paleval.registers.schema import Register, Variable
from paleval.registers.validation import (
    RULES,
    RegisterValidationError,
    Rule,
    ValidationReport,
    date_rules,
    death_rules,
    exclusion_filter,
    extract_end_of,
    manifest_end,
    row_rules,
    rules_markdown,
    rules_table,
    validate,
)

__all__ = [
    "REGISTERS",
    "RULES",
    "Register",
    "RegisterFile",
    "RegisterLoadError",
    "RegisterValidationError",
    "Rule",
    "ValidationReport",
    "Variable",
    "csv_encoding",
    "data_dictionary",
    "date_rules",
    "death_rules",
    "deduplicate_contacts",
    "exclusion_filter",
    "expected_rows",
    "extract_end_of",
    "find_register_files",
    "flag_duplicate_contacts",
    "honuge_is_valid",
    "honuge_to_week_end",
    "honuge_to_week_start",
    "integrity_exprs",
    "lpr_contacts",
    "lpr_diagnoses",
    "manifest_end",
    "normalise_icd10",
    "number_to_date",
    "register_delivered",
    "register_inventory",
    "register_keys",
    "row_rules",
    "rules_markdown",
    "rules_table",
    "sas_format_kind",
    "scan_register",
    "scan_registers",
    "text_to_date",
    "validate",
    "verify_file",
]
