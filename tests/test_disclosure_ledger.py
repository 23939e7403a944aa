"""The report-level ledger: tables of one report that repeat each other's cells are protected
together, so a count hidden in one cannot be recovered with a number printed in another.

The hand-built cohort (counts worked out by hand below) gives two Table 1s that are each safe
alone and leak together; the check is made by the independent adversary
(``tests/_attacker.py``) on the exported files, as an output checker would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from paleval.analyses import characteristics
from paleval.report import export

sys.path.insert(0, str(Path(__file__).parent))
import _attacker

# Charlson group by cause group (the counts of the tiny preset, seed 1, where the adversary
# first found this leak; here as a hand-written cohort):
#                    0     1-2    3+   | n_group
#   cancer           2      54   559   |   615
#   dementia         0      83   150   |   233
#   heart           12     207    78   |   297
#   liver            6      28    30   |    64
#   neuro            1      33     3   |    37
#   other           93     721    74   |   888
#   renal            0       1    49   |    50
#   respiratory      2     141     6   |   149
#   stroke           0      61    90   |   151
#   total          116    1329  1039   |  2484
# Table 1 by cause hides cancer/0 = 2 and, as its partner in the cancer column, cancer/1-2 =
# 54, but prints cancer/3+ = 559. Table 1 by cancer (cancer, non-cancer, total) protected
# alone hides cancer/0, 1-2, 3+ but prints non-cancer/1-2 = 1275 and total/1-2 = 1329:
# cancer/1-2 = 1329 - 1275 = 54, so cancer/0 = 615 - 559 - 54 = 2.
COUNTS = {
    "cancer": (2, 54, 559), "dementia": (0, 83, 150), "heart": (12, 207, 78),
    "liver": (6, 28, 30), "neuro": (1, 33, 3), "other": (93, 721, 74), "renal": (0, 1, 49),
    "respiratory": (2, 141, 6), "stroke": (0, 61, 90),
}  # fmt: skip
LEVELS = ("0", "1-2", "3+")


def cohort() -> pl.DataFrame:
    rows = [
        (g, lv)
        for g, ks in COUNTS.items()
        for lv, k in zip(LEVELS, ks, strict=True)
        for _ in range(k)
    ]
    # a second variable, sex, alternating f/m: every cell of it is large and printed, so the
    # adversary sees the table's sums hold (it uses no relation the numbers do not confirm)
    return pl.DataFrame(rows, schema=["cause", "charlson_group"], orient="row").with_columns(
        group=pl.when(pl.col("cause") == "cancer").then(pl.lit("cancer")).otherwise(pl.lit("non")),
        sex=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("f")).otherwise(pl.lit("m")),
    )


VARS = ["charlson_group", "sex"]


def export_both(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    d = cohort()
    a = export(characteristics(d, by="cause", variables=VARS), "t1", out, xlsx=False)
    b = export(characteristics(d, by="group", variables=VARS), "t1_cancer", out, xlsx=False)
    return a.table, b.table


def test_each_table_alone_is_safe_and_together_they_are_protected(tmp_path: Path) -> None:
    d = cohort()
    # alone (separate reports): each passes the adversary
    for i, by in enumerate(("cause", "group")):
        export(characteristics(d, by=by, variables=VARS), "t", tmp_path / f"alone{i}", xlsx=False)
        assert _attacker.attack(tmp_path / f"alone{i}").leaks == []
    # both in one report: the cancer column is repeated, and the ledger protects the union
    a, b = export_both(tmp_path / "both")
    leaks = _attacker.attack(tmp_path / "both").leaks
    assert leaks == [], "\n".join(map(str, leaks))
    # the first table is as it was alone (it is printed before the second is made)
    alone = pl.read_csv(tmp_path / "alone0" / "tables" / "t_characteristics.csv")
    assert a["n"].to_list() == alone["n"].to_list()
    # the second may not print both non-cancer/1-2 and total/1-2 (alone it did)
    pair = b.filter(pl.col("level") == "1-2", pl.col("group").is_in(["non", "total"]))
    assert pair["n"].null_count() >= 1
    # cells the first table printed are printed in the second too (no loss for nothing)
    shown_a = {(g, lv): n for g, lv, n in a.select("group", "level", "n").rows() if n is not None}
    for g, lv, n in b.select("group", "level", "n").rows():
        if (g, lv) in shown_a:
            assert n == shown_a[(g, lv)]


def test_without_the_ledger_the_adversary_recovers_the_small_count(tmp_path: Path) -> None:
    # the leak the ledger closes: the two tables protected separately, written to one folder
    d = cohort()
    export(characteristics(d, by="cause", variables=VARS), "t1", tmp_path / "a", xlsx=False)
    export(characteristics(d, by="group", variables=VARS), "t1_cancer", tmp_path / "b", xlsx=False)
    both = tmp_path / "both" / "tables"
    both.mkdir(parents=True)
    for p in [
        *(tmp_path / "a" / "tables").glob("*.csv"),
        *(tmp_path / "b" / "tables").glob("*.csv"),
    ]:
        (both / p.name).write_bytes(p.read_bytes())
    leaks = _attacker.attack(tmp_path / "both").leaks
    assert any(x.kind == "interval" and x.value == (2, 2) for x in leaks), leaks
    # and the pair it rests on is printed by the table protected alone
    alone = pl.read_csv(tmp_path / "b" / "tables" / "t1_cancer_characteristics.csv")
    pair = alone.filter(pl.col("level") == "1-2", pl.col("group").is_in(["non", "total"]))
    assert pair["n"].to_list() == [1275, 1329]


def test_groups_hidden_for_their_size_stay_hidden_for_later_tables() -> None:
    # group a has 3 persons, so its size is hidden, and with it the size of the smallest other
    # group (the sizes add up to the printed total): d, 62. protect() alone hides a's rows and
    # their partners but prints d/f = 50 and d/m = 12; the group-size step then hides d. The
    # ledger must record that, or a later table repeating group d would print it.
    from paleval.analyses.descriptive import TABLE1_PROTECTION
    from paleval.disclosure import Ledger, protect

    cells = {("a", "f"): 3, ("b", "f"): 30, ("b", "m"): 40, ("c", "f"): 20, ("c", "m"): 70,
             ("d", "f"): 50, ("d", "m"): 12}  # fmt: skip
    d = pl.DataFrame(
        [(g, s) for (g, s), k in cells.items() for _ in range(k)], schema=["g", "sex"], orient="row"
    )
    res = characteristics(d, by="g", variables=["sex"])
    alone = protect(res.tables["characteristics"], TABLE1_PROTECTION)
    assert alone.filter(pl.col("group") == "d")["suppressed"].to_list() == [False, False]
    ledger = Ledger()
    with ledger.active():
        pub = res.disclosed()
    assert pub.table.filter(pl.col("group") == "d")["suppressed"].to_list() == [True, True]
    entry = ledger.entries[-1]
    rows = entry.table.with_row_index("r").filter(pl.col("group") == "d")["r"].to_list()
    assert set(rows) <= entry.hidden
