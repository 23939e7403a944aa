"""Code lists as data: diagnosis groups, cancer sites, municipalities, service codes, ...

Every list is a CSV file in ``paleval/codes/data`` with a ``source`` column (or a source named in
``docs/registers.md``), loaded by :func:`load_codes`. Code never scatters literals such as
``"DC34"``; it asks this module.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

__all__ = ["available_code_lists", "load_codes"]


def available_code_lists() -> list[str]:
    """Names of the code lists shipped with paleval.

    Examples
    --------
    >>> "diagnosis_groups" in available_code_lists()
    True
    """
    folder = resources.files("paleval.codes") / "data"
    return sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))


@cache
def _read(name: str) -> pl.DataFrame:
    folder = resources.files("paleval.codes") / "data"
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise KeyError(f"no code list {name!r}; available: {available_code_lists()}")
    with path.open("rb") as fh:
        return pl.read_csv(fh.read(), infer_schema_length=0)


def load_codes(name: str) -> pl.DataFrame:
    """Load a code list as a polars DataFrame (all columns as strings).

    Parameters
    ----------
    name
        File stem in ``paleval/codes/data``, e.g. ``"diagnosis_groups"``.

    Examples
    --------
    >>> groups = load_codes("diagnosis_groups")
    >>> groups.filter(pl.col("icd10_prefix") == "J44")["group"].item()
    'respiratory'
    """
    return _read(name).clone()
