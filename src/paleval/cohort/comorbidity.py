"""Charlson comorbidity index from hospital diagnoses (Danish ICD-10 adaptation).

Conditions and weights: code list ``charlson`` (Thygesen et al. BMC Med Res Methodol
2011;11:83). A condition counts when any action or secondary diagnosis of a hospital contact
starting in the look-back window before the anchor date (default 10 years, anchor day excluded)
matches one of its ICD-10 prefixes. Hierarchies (a person is counted once): diabetes with end
organ damage supersedes diabetes, moderate/severe liver disease supersedes mild, metastatic
solid tumour supersedes any tumour. Index groups: 0, 1-2, 3+ (``charlson_group``).
"""

from __future__ import annotations

import polars as pl

from paleval.codes import load_codes
from paleval.cohort.expressions import icd10_clean

__all__ = ["SUPERSEDES", "add_charlson", "charlson_codes"]

SUPERSEDES = {
    "diabetes_end_organ_damage": "diabetes",
    "moderate_severe_liver_disease": "mild_liver_disease",
    "metastatic_solid_tumour": "any_tumour",
}


def charlson_codes() -> list[str]:
    """The ICD-10 prefixes of the Charlson conditions, for
    ``lpr_diagnoses(..., codes=charlson_codes())``: the index is the same, and at national scale
    only the matching diagnoses are joined to their contacts.

    Examples
    --------
    >>> "I50" in charlson_codes()
    True
    """
    return load_codes("charlson")["icd10_prefix"].unique().sort().to_list()


def _conditions(diagnoses: pl.LazyFrame) -> pl.LazyFrame:
    """(PNR, condition, weight) for every diagnosis row that matches a Charlson prefix."""
    table = load_codes("charlson").select(
        "icd10_prefix", "condition", weight=pl.col("weight").cast(pl.Int64)
    )
    # One pass over the diagnoses: each code's 3- and 4-character prefixes, joined to the
    # table (a code shorter than 4 characters gives its 3-character prefix twice, which the
    # unique below removes).
    return (
        diagnoses.select(
            "PNR",
            _p=pl.concat_list(pl.col("_code").str.slice(0, 3), pl.col("_code").str.slice(0, 4)),
        )
        .explode("_p")
        .join(
            table.lazy(),
            left_on="_p",
            right_on="icd10_prefix",
            how="inner",
            build_side="force_right",
        )
        .select("PNR", "condition", "weight")
        .unique(["PNR", "condition"])
    )


def add_charlson(
    cohort: pl.LazyFrame,
    diagnoses: pl.LazyFrame,
    *,
    anchor: str = "death_date",
    lookback_years: int = 10,
) -> pl.LazyFrame:
    """Add ``charlson_index`` and ``charlson_group`` to a cohort.

    Parameters
    ----------
    cohort
        One row per person with ``PNR`` and the anchor date.
    diagnoses
        Hospital diagnoses with ``PNR``, ``start`` (contact start) and ``diagnosis`` (SKS
        code, with or without the D prefix), e.g. from
        :func:`paleval.registers.lpr_diagnoses` (with ``codes=charlson_codes()`` it reads only
        the diagnoses that can count).

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [dt.date(2020, 1, 1)] * 2})
    >>> d = pl.LazyFrame({"PNR": ["a", "a", "a"],
    ...     "start": [dt.date(2015, 1, 1), dt.date(2016, 1, 1), dt.date(2019, 1, 1)],
    ...     "diagnosis": ["DI500", "DC341", "DC787"]})
    >>> add_charlson(c, d).collect().select("PNR", "charlson_index", "charlson_group").rows()
    [('a', 7, '3+'), ('b', 0, '0')]
    """
    cohort = cohort.cache()  # used twice below: evaluate the input plan once
    window = (
        diagnoses.select("PNR", "start", "diagnosis")
        # hash table on the cohort; the diagnoses are streamed through it
        .join(
            cohort.select("PNR", pl.col(anchor).alias("_anchor")),
            on="PNR",
            how="inner",
            build_side="force_right",
        )
        .filter(
            (pl.col("start") < pl.col("_anchor"))
            & (pl.col("start") >= pl.col("_anchor").dt.offset_by(f"-{lookback_years}y"))
        )
        .select("PNR", _code=icd10_clean("diagnosis", strip_d=True))  # rows in the window only
    )
    found = _conditions(window)
    superseded = found.filter(pl.col("condition").is_in(list(SUPERSEDES))).select(
        "PNR", condition=pl.col("condition").replace_strict(SUPERSEDES)
    )
    score = (
        found.join(superseded, on=["PNR", "condition"], how="anti")
        .group_by("PNR")
        .agg(charlson_index=pl.col("weight").sum())
    )
    idx = pl.col("charlson_index")
    return (
        cohort.join(score, on="PNR", how="left", maintain_order="left", build_side="force_right")
        .with_columns(idx.fill_null(0))
        .with_columns(
            charlson_group=pl.when(idx == 0)
            .then(pl.lit("0"))
            .when(idx <= 2)
            .then(pl.lit("1-2"))
            .otherwise(pl.lit("3+"))
        )
    )
