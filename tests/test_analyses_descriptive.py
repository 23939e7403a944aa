"""Table 1 (characteristics) and the exportable flow: counts, disclosure, figures, errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest

from paleval.analyses import characteristics, flow_result
from paleval.cohort import Flow


def test_table1_counts_add_up_to_the_groups(eol_tiny: pl.DataFrame) -> None:
    res = characteristics(eol_tiny, by="cause_group", variables=["sex", "education", "age"])
    tab = res.table
    sizes = eol_tiny.group_by("cause_group").len()
    for g, n in sizes.iter_rows():
        sex = tab.filter((pl.col("variable") == "sex") & (pl.col("group") == g))
        assert sex["n"].sum() == n and (sex["n_group"] == n).all()
    total = tab.filter((pl.col("variable") == "education") & (pl.col("group") == "total"))
    assert total["n"].sum() == eol_tiny.height == res.n
    med = tab.filter((pl.col("variable") == "age") & (pl.col("level") == "median (IQR)"))
    got = med.filter(pl.col("group") == "total")["value"].item()
    assert got == pytest.approx(eol_tiny["age"].median())


def test_table1_disclosure_and_formatted(eol_tiny: pl.DataFrame) -> None:
    pub = characteristics(eol_tiny, by="cause_group", variables=["origin"]).disclosed()
    n = pub.table["n"].drop_nulls()
    assert not ((n > 0) & (n < 5)).any()
    # a lone small cell in a column would be recoverable from the group total
    per_col = pub.table.group_by("group").agg(pl.col("suppressed").sum())
    assert not (per_col["suppressed"] == 1).any()
    # group sizes are published totals: never blanked by secondary suppression
    assert pub.table.filter(pl.col("suppression") == "secondary")["n_group"].null_count() == 0
    wide = pub.formatted(lang="da")
    assert wide.columns[:2] == ["Variable", "Level"]
    assert any(c.startswith("Kræft") for c in wide.columns)
    cells = wide.select(pl.exclude("Variable", "Level")).unpivot()["value"]
    marked = cells.is_in(["<5", "[s]"])
    assert marked.any() == pub.table["suppressed"].any()
    # "<5" only for primary cells, "[s]" for secondary ones
    assert (cells == "<5").sum() == (pub.table["suppression"] == "primary").sum()
    assert (cells == "[s]").sum() == (pub.table["suppression"] == "secondary").sum()


def test_table1_missing_column_is_a_clear_error(eol_tiny: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"\['nope'\] \(missing\)"):
        characteristics(eol_tiny, variables=["nope"])


def test_flow_disclosure_hides_small_exclusions_and_draws() -> None:
    f = Flow()
    f.start("Deaths", 1000)
    f.exclude("no cause of death", 997)
    f.exclude("not resident", 990)
    f.exclude("under 18", 980)
    pub = flow_result(f).disclosed()
    tab = pub.table
    assert tab["n_excluded"].to_list() == [0, None, None, 10]
    assert tab["n"][0] == 1000 and tab["n"][-1] == 980
    # no two published steps differ by 1-4 (the blanked exclusion of 3 is not recoverable)
    shown = tab["n"].drop_nulls().to_list()
    assert not any(0 < abs(a - b) < 5 for a in shown for b in shown)
    # the small exclusion is marked primary, the large hidden step secondary ("[s]", not "<5")
    assert tab["suppression_n_excluded"].to_list()[1] == "primary"
    assert tab["suppression_n"].to_list()[1] == "secondary"
    ax = pub.plot("flow")
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "n < 5" in texts and "n = [s]" in texts and "n = 980" in texts
    assert "n = 3" not in texts and "n = <5" not in texts


def test_table1_age_bands_in_order_with_definition_notes(eol_tiny: pl.DataFrame) -> None:
    res = characteristics(
        eol_tiny, by=None, variables=["age_group", "education", "income_quartile"]
    )
    tab = res.table
    ages = tab.filter(pl.col("variable") == "age_group")
    assert ages["level"].to_list() == ["18-49", "50-59", "60-69", "70-79", "80-89", "90+"]
    # counted from the ages themselves, not from the age_group column
    a = eol_tiny["age"]
    assert ages.filter(pl.col("level") == "80-89")["n"].item() == int(((a >= 80) & (a < 90)).sum())
    assert ages.filter(pl.col("level") == "90+")["n"].item() == int((a >= 90).sum())
    edu = tab.filter(pl.col("variable") == "education")["level"].to_list()
    assert edu.index("lower_secondary") < edu.index("long_higher") < edu.index("unknown")
    inc = tab.filter(pl.col("variable") == "income_quartile")["level"].to_list()
    assert inc == ["1", "2", "3", "4", "missing"]
    assert any("3 year(s) before the year of death" in x for x in res.notes)
    assert any(x.startswith("age_group: 18-49, 50-59") for x in res.notes)
