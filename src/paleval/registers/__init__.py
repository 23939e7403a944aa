"""Registers: the declared register model, loading of extracts, and validation.

Data flows one way: files -> :func:`scan_register` (validated, typed LazyFrames in the declared
schema) -> cohorts. Loaders never do statistics.
"""

from paleval.registers.dictionary import data_dictionary
from paleval.registers.loading import (
    RegisterFile,
    RegisterLoadError,
    deduplicate_contacts,
    find_register_files,
    flag_duplicate_contacts,
    lpr_contacts,
    lpr_diagnoses,
    scan_register,
    scan_registers,
)
from paleval.registers.model import REGISTERS, register_keys
from paleval.registers.normalise import (
    honuge_is_valid,
    honuge_to_week_end,
    honuge_to_week_start,
    normalise_icd10,
)
from paleval.registers.schema import Register, Variable
from paleval.registers.validation import (
    RULES,
    RegisterValidationError,
    Rule,
    ValidationReport,
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
    "data_dictionary",
    "deduplicate_contacts",
    "find_register_files",
    "flag_duplicate_contacts",
    "honuge_is_valid",
    "honuge_to_week_end",
    "honuge_to_week_start",
    "lpr_contacts",
    "lpr_diagnoses",
    "normalise_icd10",
    "register_keys",
    "rules_markdown",
    "rules_table",
    "scan_register",
    "scan_registers",
    "validate",
]
