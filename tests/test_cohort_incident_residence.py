"""Living alone, nursing-home residence and migration history in the incident cohorts.

The expected values are computed here from the raw parquet files of the ``tiny`` synthetic set
with plain polars (BEF, the nursing-home register ``plh``, DST's migration register ``vnds``),
not with the loaders or the cohort code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from paleval.cohort import incident_cancer_cohort
from paleval.registers import scan_registers

d = dt.date
KEYS = ["car", "bef", "dod", "dpd", "udda", "faik"]


def _raw(data_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / name / "*.parquet", include_file_paths="_file")


@pytest.fixture(scope="module")
def cancer_tiny(tiny_dir: Path) -> pl.DataFrame:
    """The incident cancer cohort of ``tiny`` with the nursing-home and migration registers."""
    regs = scan_registers(tiny_dir, [*KEYS, "plh", "vnds"])
    return incident_cancer_cohort(regs).collect()


def test_living_alone_leaves_out_nursing_home_residents(
    tiny_dir: Path, cancer_tiny: pl.DataFrame
) -> None:
    entry = cancer_tiny.select("PNR", "diagnosis_date")
    bef = _raw(tiny_dir, "bef").select(
        "PNR",
        "ANTPERSF",
        year=pl.col("_file").str.extract(r"bef(\d{4})12\.parquet$").cast(pl.Int32),
    )
    one_person = (
        entry.with_columns(year=(pl.col("diagnosis_date").dt.year() - 1).cast(pl.Int32))
        .join(bef, on=["PNR", "year"], how="left")
        .select("PNR", "diagnosis_date", one=pl.col("ANTPERSF") == 1)
    )
    stays = _raw(tiny_dir, "plh").join(entry, on="PNR")
    resident = (
        stays.filter(
            (pl.col("TILFLYT_DATO") <= pl.col("diagnosis_date"))
            & (
                pl.col("FRAFLYT_DATO").is_null()
                | (
                    (pl.col("FRAFLYT_DATO") >= pl.col("diagnosis_date"))
                    & (pl.col("FRAFLYT_DATO") >= pl.col("TILFLYT_DATO"))
                )
            )
        )["PNR"]
        .unique()
        .to_list()
    )
    # the register begins in 2011: before it, residence is unknown (null), not "no stay"
    observed = pl.col("diagnosis_date") >= pl.date(2011, 1, 1)
    expected = one_person.with_columns(
        resident=pl.when(observed).then(pl.col("PNR").is_in(resident)),
    ).with_columns(alone=pl.col("one") & ~pl.col("resident"))
    both = expected.join(cancer_tiny.select("PNR", "living_alone"), on="PNR", validate="1:1")
    assert both.height == cancer_tiny.height
    # the case the rule is about exists in the data: a one-person family in a nursing home
    assert both.filter(pl.col("one") & pl.col("resident")).height > 0
    assert both.filter(~observed & pl.col("one"))["living_alone"].null_count() > 0
    assert both["living_alone"].to_list() == both["alone"].to_list()
    got = expected.join(cancer_tiny, on="PNR")
    assert got["nursing_home_resident"].to_list() == got["resident"].to_list()


def test_without_the_nursing_home_register_residence_is_unknown(tiny_dir: Path) -> None:
    c = incident_cancer_cohort(scan_registers(tiny_dir, KEYS))
    rows = c.collect()
    assert rows["nursing_home_resident"].null_count() == rows.height
    assert "not delivered" in c.params["nursing_home"]


# ------------------------------------------------------------------ migration history
def _registers(moves: list[tuple[str, str, dt.date]]) -> dict[str, pl.LazyFrame]:
    pnrs = ["stay", "back_recent", "back_long_ago", "newcomer", "away"]
    years = list(range(2000, 2025))
    n = len(pnrs) * len(years)
    return {
        "bef": pl.LazyFrame(
            {
                "PNR": [p for p in pnrs for _ in years],
                "year": years * len(pnrs),
                "FOED_DAG": [d(1950, 1, 1)] * n,
                "KOEN": [1] * n,
                "KOM": ["101"] * n,
                "REG": ["84"] * n,
                "CIVST": ["G"] * n,
                "FAMILIE_ID": [p for p in pnrs for _ in years],
                "ANTPERSF": [2] * n,
                "IE_TYPE": [1] * n,
            }
        ),
        "car": pl.LazyFrame(
            {"PNR": pnrs, "D_DIAGNOSEDATO": [d(2016, 6, 1)] * 5, "C_ICD10": ["C509"] * 5}
        ),
        "dod": pl.LazyFrame(schema={"PNR": pl.String, "DODDATO": pl.Date}),
        "dpd": pl.LazyFrame(schema={"PNR": pl.String, "HENV_DATO": pl.Date}),
        "udda": pl.LazyFrame(schema={"PNR": pl.String, "year": pl.Int64, "HFAUDD": pl.String}),
        "vnds": pl.LazyFrame(
            {
                "PNR": [m[0] for m in moves],
                "INDUD_KODE": [m[1] for m in moves],
                "HAEND_DATO": [m[2] for m in moves],
            }
        ),
    }


MOVES = [
    ("back_recent", "U", d(2012, 3, 1)),
    ("back_recent", "I", d(2014, 9, 1)),  # returned 1.75 years before the diagnosis
    ("back_long_ago", "U", d(2003, 3, 1)),
    ("back_long_ago", "I", d(2005, 9, 1)),  # returned 10.75 years before
    ("newcomer", "I", d(2013, 6, 1)),  # first arrival 3 years before
    ("away", "U", d(2015, 1, 1)),  # abroad at diagnosis
    ("stay", "U", d(2018, 1, 1)),  # emigrates after entry ...
    ("stay", "I", d(2019, 1, 1)),  # ... and comes back: no re-entry
]


def test_returned_persons_enter_by_default_and_follow_up_never_resumes() -> None:
    c = incident_cancer_cohort(_registers(MOVES), end="2020-12-31")
    rows = c.collect().sort("PNR")
    assert rows["PNR"].to_list() == ["back_long_ago", "back_recent", "newcomer", "stay"]
    stay = rows.row(by_predicate=pl.col("PNR") == "stay", named=True)
    # censored at the emigration, the return in 2019 does not restart follow-up
    assert stay["censor_reason"] == "emigration"
    assert stay["exit_date"] == d(2018, 1, 1)
    assert stay["time"] == (d(2018, 1, 1) - d(2016, 6, 1)).days
    assert "no re-entry" in c.params["emigration"]
    assert c.params["residence_years"] is None


def test_residence_years_excludes_recent_arrivals_and_returns() -> None:
    c = incident_cancer_cohort(_registers(MOVES), end="2020-12-31", residence_years=5)
    assert c.collect().sort("PNR")["PNR"].to_list() == ["back_long_ago", "stay"]
    flow = c.flow.table
    step = flow.filter(pl.col("label").str.contains("returned from abroad less than 5 years"))
    assert step["excluded"].to_list() == [2]
    # a return exactly on the boundary (5 whole years before the diagnosis) is enough
    edge = [("back_recent", "U", d(2010, 1, 1)), ("back_recent", "I", d(2011, 6, 1))]
    c = incident_cancer_cohort(_registers(edge), residence_years=5)
    assert "back_recent" in c.collect()["PNR"].to_list()
    c = incident_cancer_cohort(_registers(edge), residence_years=6)
    assert "back_recent" not in c.collect()["PNR"].to_list()


def test_residence_years_needs_the_migration_register() -> None:
    regs = _registers(MOVES)
    del regs["vnds"]
    with pytest.raises(ValueError, match="needs the migration register 'vnds'"):
        incident_cancer_cohort(regs, residence_years=5)
    with pytest.raises(ValueError, match="residence_years must be None or an int"):
        incident_cancer_cohort(_registers(MOVES), residence_years=-1)
