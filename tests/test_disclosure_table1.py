"""Table 1's "median (IQR)" under the quantile rule: a median only from ``2 x threshold``
persons with a value, quartiles only from ``4 x threshold`` (``threshold`` persons on each side
of the statistic), in the long table, the formatted table and its legend.

Expected medians and quartiles are computed here with numpy from the raw ages; the sizes that
decide publication (12, 8, 25 persons) are chosen by hand around 10 and 20.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from paleval.analyses import characteristics

AGES = {
    "a": [61.0, 64, 66, 70, 71, 73, 75, 78, 80, 83, 85, 90],  # 12: median yes, quartiles no
    "b": [55.0, 60, 62, 68, 72, 77, 81, 88],  # 8: neither
    "c": [float(x) for x in range(50, 100, 2)],  # 25: both
}


def cohort() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "g": [g for g, v in AGES.items() for _ in v],
            "age": [x for v in AGES.values() for x in v],
        }
    )


def median_rows(tab: pl.DataFrame) -> dict[str, tuple]:
    rows = tab.filter(pl.col("level") == "median (IQR)")
    return {
        g: (v, lo, hi)
        for g, v, lo, hi in rows.select("group", "value", "value_low", "value_high").rows()
    }


def test_table1_medians_and_quartiles_follow_the_quantile_rule() -> None:
    res = characteristics(cohort(), by="g", variables=["age"])
    raw = median_rows(res.table)
    # the undisclosed table has every statistic (numpy's linear quantiles, as polars')
    for g, v in AGES.items():
        assert raw[g] == (np.median(v), np.quantile(v, 0.25), np.quantile(v, 0.75))
    pub = median_rows(res.disclosed(threshold=5).table)
    assert pub["a"] == (np.median(AGES["a"]), None, None)  # 12 >= 10, 12 < 20
    assert pub["b"] == (None, None, None)  # 8 < 10
    assert pub["c"] == raw["c"]  # 25 >= 20
    assert pub["total"] == raw["total"]  # 45
    # the mean (SD) is not an order statistic: published for every group of >= 5 persons
    means = res.disclosed().table.filter(pl.col("level") == "mean (SD)")
    assert means["value"].null_count() == 0
    # another threshold moves the limits: 2 x 3 = 6 <= 8 for the median, 12 >= 12 for quartiles
    pub3 = median_rows(res.disclosed(threshold=3).table)
    assert pub3["b"][0] == np.median(AGES["b"]) and pub3["b"][1] is None
    assert pub3["a"] == raw["a"]


def test_formatted_table1_marks_hidden_medians_and_quartiles_and_explains_them() -> None:
    res = characteristics(cohort(), by="g", variables=["age"]).disclosed(threshold=5)
    fmt = res.formatted()
    row = fmt.filter(pl.col("Level") == "Median (IQR)").row(0, named=True)
    cols = {c.split(" (")[0]: c for c in fmt.columns}
    assert row[cols["A"]] == f"{np.median(AGES['a']):.1f} ([s])"
    assert row[cols["B"]] == "[s]"
    q1, q3 = np.quantile(AGES["c"], [0.25, 0.75])
    assert row[cols["C"]] == f"{np.median(AGES['c']):.1f} ({q1:.1f}–{q3:.1f})"
    notes = fmt.footnotes
    assert any("at least 10 persons" in x and "at least 20" in x for x in notes)
    da = res.formatted(lang="da").footnotes
    assert any("mindst 10 personer" in x for x in da)


def test_a_quantile_declaration_naming_a_missing_column_is_refused() -> None:
    import pytest

    from paleval.disclosure import DisclosureError, Protection, Quantile, protect

    t = pl.DataFrame({"g": ["a"], "n": [30], "value": [1.0]})
    with pytest.raises(DisclosureError, match="value_low"):
        protect(t, Protection(("n",), quantiles=(Quantile("value_low", 0.25),)))
    out = protect(t, Protection(("n",), quantiles=(Quantile("value", 0.5, n="n"),)), threshold=20)
    assert out["value"].to_list() == [None]  # 30 < 2 x 20
