"""Practice-level exposure: each general practice's home-visit propensity.

As in the Danish national cohort study of GP home visits and place of death (Palliative
Medicine 2018): the propensity is the practice's indirectly standardised (age, sex) rate of GP
home visits among its listed patients aged 40 and over, i.e. observed home visits divided by
those expected from the rates of all practices together, and practices are grouped in quartiles
of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from paleval.codes import load_codes
from paleval.registers.normalise import honuge_to_week_start
from paleval.stats import indirect_standardise

__all__ = ["practice_home_visit_propensity"]


def practice_home_visit_propensity(
    registers: Mapping[str, pl.LazyFrame],
    *,
    years: Sequence[int],
    min_age: int = 40,
    age_width: int = 10,
) -> pl.DataFrame:
    """Indirectly standardised home-visit rate of every practice, with quartiles.

    Person-years: everybody aged ``min_age`` or more in BEF on 31 December of each year in
    ``years``, counted in the practice they are listed with on that day (``tilknytning``).
    Home visits: daytime GP services of category ``home_visit`` (code list ``gp_services``)
    paid in that year (ISO year of ``HONUGE``). Strata: sex and ``age_width``-year age bands
    (the last band open). The result has one row per practice: ``YDERNR, observed, n``
    (person-years), ``expected, estimate`` (observed/expected), CI, ``isr`` (the
    standardised rate per person-year) and ``propensity_quartile`` (1 lowest, 4 highest;
    quartiles of ``estimate`` across practices).

    Examples
    --------
    >>> import datetime as dt
    >>> regs = {
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b", "c", "d"], "year": [2015] * 4,
    ...         "FOED_DAG": [dt.date(1950, 1, 1)] * 4, "KOEN": [1, 2, 1, 2]}),
    ...     "tilknytning": pl.LazyFrame({"PNR": ["a", "b", "c", "d"],
    ...         "YDERNR": ["p1", "p1", "p2", "p2"], "DATO_FRA": [dt.date(2000, 1, 1)] * 4,
    ...         "DATO_TIL": [None] * 4}),
    ...     "sssy": pl.LazyFrame({"PNR": ["a", "c"], "HONUGE": ["1520", "1521"],
    ...         "SPECIALE": ["800411", "800411"], "YDLTID": ["1", "1"], "YDLANT": [4, 1]}),
    ... }
    >>> out = practice_home_visit_propensity(regs, years=[2015])
    >>> out.select("YDERNR", "observed", "expected").rows()
    [('p1', 4, 2.5), ('p2', 1, 2.5)]
    """
    for key in ("bef", "tilknytning", "sssy"):
        if key not in registers:
            raise KeyError(f"the practice propensity needs the register {key!r}")
    years = list(years)
    dec31 = pl.date(pl.col("year"), 12, 31)
    persons = (
        registers["bef"]
        .filter(pl.col("year").is_in(years))
        .select(
            "PNR",
            "year",
            sex=pl.col("KOEN").cast(pl.String),
            age=(pl.col("year") - pl.col("FOED_DAG").dt.year()),
        )
        .filter(pl.col("age") >= min_age)
        .with_columns(
            age_band=(pl.col("age") - min_age) // age_width,
        )
    )
    max_band = (100 - min_age) // age_width
    persons = persons.with_columns(age_band=pl.min_horizontal("age_band", pl.lit(max_band)))
    listed = (
        persons.join(
            registers["tilknytning"].select("PNR", "YDERNR", "DATO_FRA", "DATO_TIL"),
            on="PNR",
            build_side="force_right",  # the listings: smaller than the person-years
        )
        .filter(
            (pl.col("DATO_FRA") <= dec31)
            & (pl.col("DATO_TIL").is_null() | (pl.col("DATO_TIL") > dec31))
        )
        .select("PNR", "year", "sex", "age_band", "YDERNR")
    )
    cats = load_codes("gp_services").filter(pl.col("category") == "home_visit")
    periods = load_codes("gp_time_codes").filter(pl.col("period") == "daytime")
    visits = (
        registers["sssy"]
        .filter(
            pl.col("SPECIALE").is_in(cats["SPECIALE"].implode())
            & pl.col("YDLTID").is_in(periods["YDLTID"].implode())
        )
        .with_columns(year=honuge_to_week_start("HONUGE").dt.iso_year().cast(pl.Int64))
        .filter(pl.col("year").is_in(years))
        .group_by("PNR", "year")
        .agg(visits=pl.col("YDLANT").sum())
    )
    strata = (
        listed.join(visits, on=["PNR", "year"], how="left", build_side="force_right")
        .with_columns(pl.col("visits").fill_null(0))  # before the group-by: a plain sum
        .group_by("YDERNR", "sex", "age_band")
        .agg(events=pl.col("visits").sum(), n=pl.len())
        .collect(engine="streaming")
        .sort("YDERNR", "sex", "age_band")
    )
    if strata.height == 0:
        raise ValueError(f"no listed persons aged {min_age}+ in the years {years}")
    reference = strata.group_by("sex", "age_band").agg(pl.col("events").sum(), pl.col("n").sum())
    out = indirect_standardise(
        strata, "events", "n", ["sex", "age_band"], reference, by="YDERNR"
    ).sort("YDERNR")
    rank = pl.col("estimate").rank("min")
    return out.with_columns(propensity_quartile=((rank - 1) * 4 // pl.len() + 1).cast(pl.Int8))
