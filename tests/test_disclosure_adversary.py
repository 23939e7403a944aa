"""An independent adversary (``tests/_attacker.py``, which does not import
``paleval.disclosure``) against a whole ``tiny`` report, and against hand-built outputs with
one planted leak per class, so the adversary is known to find what it looks for.

Every planted value is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

sys.path.insert(0, str(Path(__file__).parent))
import _attacker


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def leaks(folder: Path) -> list[_attacker.Leak]:
    return _attacker.attack(folder).leaks


def kinds(folder: Path) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for leak in leaks(folder):
        out.setdefault(leak.kind, []).append(leak.value)
    return out


# --- the adversary finds each planted leak ----------------------------------------------------


def test_direct_counts_plain_and_formatted(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "group,deaths_n,share\nx,3,0.5\ny,40,0.5")  # deaths_n = 3
    write(tmp_path / "b.csv", 'Variable,Level,A\nAge,18-49,"4 (1.0%)"\nAge,50+,"396 (99.0%)"')
    assert kinds(tmp_path) == {"direct": [(3, 3), (4, 4)]}


def test_free_text_in_an_executed_notebook(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": "x",
                "metadata": {},
                "outputs": [
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "4 persons with unknown place of death excluded\n",
                    },
                    {"output_type": "execute_result", "data": {"text/plain": "n = 2"}},
                ],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    write(tmp_path / "nb.ipynb", json.dumps(nb))
    assert sorted(kinds(tmp_path)["text"]) == [(2, 2), (4, 4)]


def test_share_times_denominator(tmp_path: Path) -> None:
    # 0.05 x 60 = 3 (0.045..0.055 x 60 = 2.7..3.3: only 3); 0.285 x 615 is not small
    write(tmp_path / "a.csv", "place,n_group,share\nhome,60,0.05\nhospital,615,0.285")
    assert kinds(tmp_path) == {"share": [(3, 3)]}


def test_complements_in_a_row_and_censored_identity(tmp_path: Path) -> None:
    # n - events = 40 - 37 = 3; n - at risk - events - competing = 100 - 60 - 20 - 16 = 4
    write(tmp_path / "a.csv", "level,n,events\nx,40,37\ny,80,20")
    write(
        tmp_path / "cif.csv",
        "group,time,n,n_risk,events,n_competing\ng,30,100,60,20,16\ng,90,100,40,30,20",
    )
    assert sorted(kinds(tmp_path)["complement"]) == [(3, 3), (4, 4)]


def test_steps_of_a_cumulative_count(tmp_path: Path) -> None:
    # cumulative events 20 at day 30, 23 at day 90: 3 persons referred in between
    write(tmp_path / "cif.csv", "group,time,n,events\ng,30,100,20\ng,90,100,23\ng,180,100,40")
    assert kinds(tmp_path) == {"step": [(3, 3)]}


def test_medians_of_small_groups(tmp_path: Path) -> None:
    # a median of 8 persons (< 10) and quartiles of 12 (< 20)
    write(tmp_path / "s.csv", "group,n,median,q1\na,8,70.0,\nb,12,71.0,60.0\nc,40,72.0,61.0")
    write(
        tmp_path / "t1.csv",
        "variable,level,group,n,value,value_low,value_high\n"
        "age,median (IQR),a,12,74.0,69.0,80.75\nage,median (IQR),c,25,74.0,62.0,86.0",
    )
    got = kinds(tmp_path)["quantile"]
    # s.csv: median of a (8), q1 of b (12); t1.csv: the quartiles of a (12), twice
    assert sorted(got) == [(8, 8), (12, 12), (12, 12), (12, 12)]


def test_margins_pin_hidden_cells(tmp_path: Path) -> None:
    # Table 1 long form: levels add up to n_group; groups add up to the total column.
    # group a: 60 = 50 + x + y, total: 100 = 90 + (x + z)... with x hidden in a and the total
    # row visible: x = 3 from a's margin (60 - 50 - 7) -- y = 7 is published
    write(
        tmp_path / "t1.csv",
        "variable,level,group,n,n_group\n"
        "sex,f,a,50,60\nsex,m,a,,60\nsex,x,a,7,60\n"
        "sex,f,b,30,40\nsex,m,b,10,40\nsex,x,b,0,40\n"
        "sex,f,total,80,100\nsex,m,total,,100\nsex,x,total,7,100",
    )
    got = kinds(tmp_path)
    # the hidden m of a is 3; the hidden m of the total is 13 (not small)
    assert got == {"interval": [(3, 3)]}


def test_cross_table_differencing(tmp_path: Path) -> None:
    # the same indicator by year and by region: sums equal (confirmed by indicator B);
    # A's numerators by year 10 + 12 = 22, by region 19 + hidden -> 3
    write(
        tmp_path / "by_year.csv",
        "indicator,year,numerator,denominator\nA,2020,10,50\nA,2021,12,50\nB,2020,5,30\nB,2021,6,30",
    )
    write(
        tmp_path / "by_region.csv",
        "indicator,region,numerator,denominator\nA,north,19,60\nA,south,,40\n"
        "B,north,7,35\nB,south,4,25",
    )
    got = kinds(tmp_path)
    assert (3, 3) in got["interval"]
    assert got.get("direct") == [(4, 4)]  # B south's numerator 4 is read directly


def test_second_sheet_of_a_workbook(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(tmp_path / "t.xlsx")
    wb.add_worksheet("first").write_row(0, 0, ["group", "n"])
    ws = wb.add_worksheet("second")
    ws.write_row(0, 0, ["group", "n"])
    ws.write_row(1, 0, ["a", 2])
    wb.close()
    assert kinds(tmp_path) == {"direct": [(2, 2)]}


def test_a_clean_output_has_no_leak(tmp_path: Path) -> None:
    # hidden cells that can be 0 or reach 5: 60 = 50 + m + x with m, x hidden (m + x = 10)
    write(
        tmp_path / "t1.csv",
        "variable,level,group,n,n_group,share\n"
        "sex,f,a,50,60,0.833\nsex,m,a,,60,\nsex,x,a,,60,\n"
        "sex,f,b,30,40,0.75\nsex,m,b,10,40,0.25\nsex,x,b,0,40,0.0",
    )
    write(tmp_path / "cif.csv", "group,time,n,n_risk,events,n_competing\ng,30,100,60,20,10")
    assert leaks(tmp_path) == []


# --- the whole tiny report -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_report(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from paleval.report import run_report

    root = tmp_path_factory.mktemp("adversary")
    return run_report(root / "out", data_dir=tiny_dir, cache_dir=root / "cache", log=lambda m: None)


def test_the_tiny_report_leaks_no_count_under_five(tiny_report: Path) -> None:
    rep = _attacker.attack(tiny_report)
    # it read the report: tables from CSV, XLSX and notebooks, texts and many numbers
    names = [t.name for t in rep.tables]
    assert any(n.endswith(".csv") for n in names) and any(".xlsx[" in n for n in names)
    assert any(".ipynb" in n for n in names) and rep.numbers > 10_000
    assert rep.leaks == [], "\n".join(str(x) for x in rep.leaks[:30])


def test_the_adversary_finds_a_leak_planted_in_the_tiny_report(
    tiny_report: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_report, copy)
    flow = copy / "tables" / "overview_table1_characteristics.csv"
    t = pl.read_csv(flow)
    # publish a hidden cell of a group whose other levels are published: the margin gives it
    row = t.with_row_index().filter(pl.col("suppression") == "primary").row(0, named=True)
    t = t.with_columns(
        pl.when(pl.int_range(pl.len()) == row["index"]).then(3).otherwise(pl.col("n")).alias("n")
    )
    t.write_csv(flow)
    found = _attacker.attack(copy).leaks
    assert any(
        x.kind == "direct" and "overview_table1_characteristics.csv" in x.where for x in found
    )
