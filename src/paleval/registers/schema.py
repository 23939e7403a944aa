"""Declarative register model: one :class:`Register` per register, one :class:`Variable` per column.

The synthetic generator writes files in these schemas and the loaders validate real extracts
against them, so the two can never drift apart. :func:`paleval.registers.data_dictionary`
renders the same objects as the human-readable data dictionary in ``docs/registers.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

__all__ = ["Register", "Variable"]


@dataclass(frozen=True)
class Variable:
    """One column of a register.

    Parameters
    ----------
    name
        Column name exactly as delivered on the research server (case included).
    dtype
        The polars dtype the column has after loading.
    description
        What the variable means, in English.
    codes
        Allowed codes and their labels, or ``None`` when the values are free (dates, ids,
        amounts) or governed by an external classification named in ``classification``.
    classification
        Name of an external classification (ICD-10, SKS, ATC, HFAUDD, ...) the values follow.
    nullable
        Whether missing values are legitimate.

    Examples
    --------
    >>> import polars as pl
    >>> v = Variable("KOEN", pl.String, "Sex", codes={"1": "male", "2": "female"})
    >>> v.allows("2"), v.allows("3")
    (True, False)
    """

    name: str
    dtype: pl.DataType | type[pl.DataType]
    description: str
    codes: Mapping[str, str] | None = None
    classification: str | None = None
    nullable: bool = True

    def allows(self, value: object) -> bool:
        """Whether ``value`` is an allowed code (always ``True`` when no code list is set)."""
        if self.codes is None:
            return True
        return str(value) in self.codes


@dataclass(frozen=True)
class Register:
    """A register table as delivered: its files, its columns and its keys.

    Parameters
    ----------
    key
        Short name used in paleval (also the folder name in a data directory).
    title
        Human-readable name.
    source
        The register and the authority delivering it (DST, SDS, RKKP).
    file_stem
        File name stem; for yearly registers ``{year}`` is replaced by the year.
    yearly
        Whether the register is delivered as one file per year.
    variables
        The columns, in delivery order.
    primary_key
        Columns that must be unique together (empty when rows need not be unique).
    doc_url
        Where the variables are documented.
    notes
        Anything a user must know (coverage, known breaks, synthetic-only simplifications).

    Examples
    --------
    >>> from paleval.registers import REGISTERS
    >>> bef = REGISTERS["bef"]
    >>> bef.file_name(2015)
    'bef201512.parquet'
    >>> "PNR" in bef.columns
    True
    """

    key: str
    title: str
    source: str
    file_stem: str
    yearly: bool
    variables: tuple[Variable, ...]
    primary_key: tuple[str, ...] = ()
    doc_url: str = ""
    notes: str = ""
    period_years: tuple[int, int] | None = field(default=None)

    @property
    def columns(self) -> list[str]:
        """Column names in delivery order."""
        return [v.name for v in self.variables]

    @property
    def polars_schema(self) -> pl.Schema:
        """The schema as a :class:`polars.Schema` (name -> dtype)."""
        return pl.Schema({v.name: v.dtype for v in self.variables})

    def variable(self, name: str) -> Variable:
        """Look up a variable by name, with a clear error naming the register."""
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"register {self.key!r} has no variable {name!r}; it has {self.columns}")

    def file_name(self, year: int | None = None, suffix: str = "parquet") -> str:
        """File name of one delivery file (``year`` is required for yearly registers)."""
        if self.yearly:
            if year is None:
                raise ValueError(f"register {self.key!r} is yearly: give the year")
            return f"{self.file_stem.format(year=year)}.{suffix}"
        return f"{self.file_stem}.{suffix}"
