"""Registers: the declared register model, and (later) loading and validation of extracts."""

from paleval.registers.dictionary import data_dictionary
from paleval.registers.model import REGISTERS, register_keys
from paleval.registers.schema import Register, Variable

__all__ = ["REGISTERS", "Register", "Variable", "data_dictionary", "register_keys"]
