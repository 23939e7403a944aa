"""The output checker's audit (`paleval check-output`): every exported form, every differencing
attack, a clean report, and false positives kept out.

Every expected value is worked out by hand in the comment beside the table that plants it; the
tables are written here, not by paleval's export.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from paleval.disclosure.audit import (
    AuditReport,
    DisclosureFinding,
    audit_report,
    check_output,
    scrub_notebook,
)
from paleval.disclosure.audit_cells import classify_column, parse_cell, text_counts


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def findings(folder: Path) -> list[DisclosureFinding]:
    return check_output(folder)


def only(folder: Path) -> DisclosureFinding:
    fs = findings(folder)
    assert len(fs) == 1, [str(f) for f in fs]
    return fs[0]


def notebook(outputs: list[dict]) -> dict:
    return {
        "cells": [
            {"cell_type": "code", "source": "x", "metadata": {}, "execution_count": 1,
             "outputs": outputs}
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip


# --- (1) a small cell planted in each exported form --------------------------------------------


def test_share_with_its_denominator_column(tmp_path: Path) -> None:
    # 0.05 of 60 persons = 3 (the numerator is not published)
    pl.DataFrame({"group": ["a", "b"], "n": [60, 80], "share": [0.05, 0.5]}).write_csv(
        tmp_path / "t.csv"
    )
    f = only(tmp_path)
    assert (f.file, f.kind, f.smallest, f.column) == ("t.csv", "share x denominator", 3, "share")
    assert f.location.startswith("row 1 (a)")
    assert "n 60" in f.how


def test_share_is_read_against_its_denominator_not_against_its_numerator(tmp_path: Path) -> None:
    # share = n / n_known. Row a: 0.142857 x n 7 = 1 is a coincidence, not a count (the
    # numerator 7 is published); the share is consistent only with n_known, and against it
    # leaves 7 and 13, both published. Row c hides n: share x n_known = 3 is recovered.
    pl.DataFrame(
        {
            "group": ["a", "b", "c"],
            "n": [7, 13, None],
            "n_known": [49, 49, 60],
            "share": [7 / 49, 13 / 49, 3 / 60],
        }
    ).write_csv(tmp_path / "t.csv")
    f = only(tmp_path)
    assert (f.kind, f.smallest) == ("share x denominator", 3)
    assert f.location.startswith("row 3 (c)") and "n_known 60" in f.how


def test_reference_group_counts_are_not_subtracted_from_the_compared_group(
    tmp_path: Path,
) -> None:
    # n, events: the exposed group; n_ref, n_events_ref: the reference group (other persons).
    # 201 - 33 - 166 = 2 counts nobody; n - events = 168 and n_ref - n_events_ref = 384 are
    # published complements of 5 or more.
    pl.DataFrame(
        {
            "level": ["1-2", "3+"],
            "n": [755, 201],
            "events": [170, 33],
            "n_ref": [550, 550],
            "n_events_ref": [166, 166],
        }
    ).write_csv(tmp_path / "t.csv")
    assert findings(tmp_path) == []
    # within one group the subtraction is still tried: 201 - 197 = 4
    pl.DataFrame({"level": ["3+"], "n": [201], "events": [197]}).write_csv(tmp_path / "t.csv")
    assert only(tmp_path).smallest == 4


def test_percentage_of_a_stated_total_in_text(tmp_path: Path) -> None:
    # 12.5 % of 24 = 3
    (tmp_path / "page.html").write_text(
        "<html><body><p>Hospice deaths were 12.5 % of 24 in the region.</p></body></html>"
    )
    f = only(tmp_path)
    assert (f.file, f.kind, f.smallest) == ("page.html", "free text", 3)
    assert "12.5 % of 24" in f.how


def test_rate_per_100_with_its_person_count(tmp_path: Path) -> None:
    # 2.0 per 100 of 150 persons = 3
    pl.DataFrame(
        {"region": ["N", "S"], "persons": [150, 300], "rate_per_100": [2.0, 10.0]}
    ).write_csv(tmp_path / "rates.csv")
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.column) == ("share x denominator", 3, "rate_per_100")
    assert "/ 100" in f.how


def test_n_percent_string_in_a_formatted_table(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "table1.csv",
        """
Variable,Level,Cancer,Other
Sex,Female,3 (0.5%),120 (40.0%)
Sex,Male,600 (99.5%),180 (60.0%)
""",
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.column) == ("small count n (x %)", 3, "Cancer")
    assert f.location == "row 1 (Sex, Female), column 'Cancer'"


def test_danish_decimal_comma_n_percent_on_an_xlsx_sheet(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "tabel1.xlsx"))
    ws = wb.add_worksheet("Tabel 1")
    for r, row in enumerate(
        [["Variabel", "Niveau", "Kræft"], ["Køn", "Kvinde", "2 (0,3 %)"],
         ["Køn", "Mand", "1.151 (99,7 %)"]]
    ):  # fmt: skip
        ws.write_row(r, 0, row)
    wb.close()
    f = only(tmp_path)
    assert (f.file, f.smallest, f.column) == ("tabel1.xlsx", 2, "Kræft")
    assert f.location.startswith("sheet 'Tabel 1', row 1")


@pytest.mark.parametrize("name", ["excluded", "deaths", "patients", "antal_personer", "x1"])
def test_counts_under_any_column_name(tmp_path: Path, name: str) -> None:
    pl.DataFrame({"reason": ["moved", "died", "other"], name: [2, 40, 17]}).write_csv(
        tmp_path / "t.csv"
    )
    f = only(tmp_path)
    assert (f.column, f.smallest, f.kind) == (name, 2, "small count")
    assert f.location == f"row 1 (moved), column '{name}'"


def test_n_column_turned_to_text_by_a_marker(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "group,n\na,<5\nb,3\nc,40\n")
    assert pl.read_csv(tmp_path / "t.csv").schema["n"] == pl.String
    f = only(tmp_path)
    assert (f.smallest, f.location) == (3, "row 2 (b), column 'n'")


def test_small_count_on_the_second_xlsx_sheet(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "book.xlsx"))
    first = wb.add_worksheet("overview")
    first.write_row(0, 0, ["group", "n"])
    first.write_row(1, 0, ["a", 50])
    second = wb.add_worksheet("detail")
    second.write_row(0, 0, ["group", "n"])
    second.write_row(1, 0, ["b", 4])
    second.write_row(2, 0, ["c", 60])
    wb.close()
    f = only(tmp_path)
    assert (f.file, f.smallest) == ("book.xlsx", 4)
    assert f.location == "sheet 'detail', row 1 (b), column 'n'"


def test_parquet_counts(tmp_path: Path) -> None:
    pl.DataFrame({"g": ["a", "b"], "n_referred": [2, 30]}).write_parquet(tmp_path / "t.parquet")
    f = only(tmp_path)
    assert (f.file, f.column, f.smallest) == ("t.parquet", "n_referred", 2)


def test_svg_text_element_and_matplotlib_comment(tmp_path: Path) -> None:
    (tmp_path / "fig.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="xtick_1"><text>3</text></g>'
        '<g id="text_5"><!-- Excluded: n = 4 --><path d="M0 0"/></g>'
        "<text>Deaths 2010-2024 (n = 2,486)</text><text>n = 3</text></svg>"
    )
    fs = findings(tmp_path)
    assert sorted((f.smallest, f.location) for f in fs) == [(3, "svg"), (4, "svg text_5")]
    assert all(f.kind == "free text" and f.file == "fig.svg" for f in fs)


def test_html_table_cell(tmp_path: Path) -> None:
    (tmp_path / "r.html").write_text(
        "<html><head><style>td {color: red}</style></head><body><table>"
        "<tr><th>place</th><th>patients</th></tr><tr><td>home</td><td>120</td></tr>"
        "<tr><td>hospice</td><td>2</td></tr></table></body></html>"
    )
    f = only(tmp_path)
    assert (f.file, f.column, f.smallest) == ("r.html", "patients", 2)
    assert f.location == "table 1, row 2 (hospice), column 'patients'"


def test_ipynb_outputs_stream_plain_and_html(tmp_path: Path) -> None:
    nb = notebook(
        [
            {"output_type": "stream", "name": "stdout",
             "text": ["note: 4 persons with unknown place of death excluded\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": ["note: 1 referral(s) dated after death excluded"]}},
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": ["<table><tr><th>g</th><th>n</th></tr>"
                                    "<tr><td>a</td><td>3</td></tr></table>"]}},
        ]
    )  # fmt: skip
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    fs = findings(tmp_path)
    got = sorted((f.location, f.smallest) for f in fs)
    assert got == [
        ("cell 0 output 0 stream stdout", 4),
        ("cell 0 output 1 text/plain", 1),
        ("cell 0 output 2 text/html table 1, row 1 (a), column 'n'", 3),
    ]


def test_unreadable_file_fails_the_audit(tmp_path: Path) -> None:
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    rep = audit_report(tmp_path)
    assert not rep.ok and rep.unreadable and rep.unreadable[0][0] == "broken.xlsx"
    assert [f.kind for f in check_output(tmp_path)] == ["unreadable"]
    (tmp_path / "broken.xlsx").unlink()
    (tmp_path / "fig.svg").write_text("<svg><text>unclosed")
    (tmp_path / "nb.ipynb").write_text("{")
    (tmp_path / "empty.csv").write_text("")  # an empty file discloses nothing
    assert sorted(f for f, _ in audit_report(tmp_path).unreadable) == ["fig.svg", "nb.ipynb"]


# --- (2) differencing ------------------------------------------------------------------------


def test_cumulative_flow_steps(tmp_path: Path) -> None:
    # n_excluded blanked, but 100 - 97 = 3 persons left at step 2
    write_csv(
        tmp_path / "flow.csv",
        """
step,label,n,n_excluded
1,All deaths,100,
2,Excluded: not resident,97,
3,Excluded: under 18,90,7
""",
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.column) == ("sequential difference", 3, "n")
    assert "row 1 - row 2 = 3" in f.how


def test_total_row_minus_visible_parts(tmp_path: Path) -> None:
    # hospice = 93 - 40 - 50 = 3
    write_csv(tmp_path / "places.csv", "place,n\nhome,40\nhospice,\nhospital,50\nTotal,93\n")
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.location) == ("differencing", 3, "row 2 (hospice), column 'n'")
    assert "total row 4" in f.how


def test_group_total_column_minus_visible_places(tmp_path: Path) -> None:
    # group g1: n_known 93 - 40 - 50 = 3 (the hidden row's n_known is blanked with it)
    write_csv(
        tmp_path / "dist.csv",
        """
group,place,n,n_known
g1,home,40,93
g1,hospice,,
g1,hospital,50,93
g2,home,30,70
g2,hospice,10,70
g2,hospital,30,70
""",
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.location) == (
        "differencing", 3, "row 2 (g1, hospice), column 'n'"
    )  # fmt: skip


def test_totals_shared_across_tables(tmp_path: Path) -> None:
    # indicator 1: by region 15 + 18 = 33, by year 10 + 20 visible: 2020 = 3
    # indicator 2 is fully visible in both (25 = 25) and confirms the shared total
    write_csv(
        tmp_path / "by_year.csv",
        """
indicator,year,numerator
1,2019,10
1,2020,
1,2021,20
2,2019,10
2,2020,15
""",
    )
    write_csv(
        tmp_path / "by_region.csv",
        """
indicator,region,numerator
1,North,15
1,South,18
2,North,12
2,South,13
""",
    )
    f = only(tmp_path)
    assert (f.file, f.kind, f.smallest) == ("by_year.csv", "differencing", 3)
    assert f.location == "row 2 (1, 2020), column 'numerator'"
    assert "by_region.csv" in f.how


def test_margins_of_a_two_way_table_pin_a_cell(tmp_path: Path) -> None:
    # hidden: a/x, a/y, b/x. Row b: 70 - 40 = 30 = b/x; column x: 33 - 30 = 3 = a/x.
    write_csv(
        tmp_path / "twoway.csv",
        """
group,x,y,Total
a,,,50
b,,40,70
Total,33,87,120
""",
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.location) == ("differencing", 3, "row 1 (a), column 'x'")


def test_n_headers_of_a_formatted_table_pin_a_cell(tmp_path: Path) -> None:
    # Cancer (n=50): 50 - 47 = 3 women; the one-level block "Referred" is no partition
    write_csv(
        tmp_path / "table1.csv",
        """
Variable,Level,Cancer (n=50),Other (n=40)
Age,Mean (SD),70.1 (9.2),75.3 (8.1)
Sex,Female,<5,20 (50.0%)
Sex,Male,47 (94.0%),20 (50.0%)
Referred,True,30 (60.0%),10 (25.0%)
""",
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.location) == (
        "differencing", 3, "row 2 (Sex, Female), column 'Cancer (n=50)'"
    )  # fmt: skip
    assert "n = 50" in f.how


def test_margins_with_a_protected_rectangle_pass(tmp_path: Path) -> None:
    # four hidden cells in a rectangle: a/x can be anything from 0 to 33
    write_csv(
        tmp_path / "twoway.csv",
        """
group,x,y,z,Total
a,,,20,70
b,,,30,100
c,10,15,25,50
Total,43,102,75,220
""",
    )
    assert findings(tmp_path) == []


def test_complements_within_a_row(tmp_path: Path) -> None:
    # referred - contacted = 4 (group a); n - events = 46 and 30: not small
    pl.DataFrame({"group": ["a", "b"], "referred_n": [30, 50], "contact_n": [26, 20]}).write_csv(
        tmp_path / "t.csv"
    )
    f = only(tmp_path)
    assert (f.kind, f.smallest, f.how) == (
        "complement", 4, "referred_n - contact_n in row 1 = 4"
    )  # fmt: skip


def test_parts_of_a_whole_are_not_complements(tmp_path: Path) -> None:
    # numerator + n_not_met = denominator: numerator - n_not_met (here 2) is no count
    pl.DataFrame(
        {"indicator": ["1", "2"], "numerator": [12, 30], "denominator": [22, 50],
         "n_not_met": [10, 20]}
    ).write_csv(tmp_path / "t.csv")  # fmt: skip
    assert findings(tmp_path) == []


def test_survival_identity_gives_censored_persons(tmp_path: Path) -> None:
    # 100 - 85 at risk - 5 events - 7 competing = 3 censored by day 30
    pl.DataFrame(
        {"group": ["g", "g"], "time": [30.0, 90.0], "n": [100, 100], "n_risk": [85, 60],
         "events": [5, 20], "n_competing": [7, 10]}
    ).write_csv(tmp_path / "at_times.csv")  # fmt: skip
    fs = [f for f in findings(tmp_path) if f.kind == "complement"]
    assert [(f.smallest, f.how) for f in fs] == [
        (3, "n - n_risk - events - n_competing in row 1 = 3")
    ]


def test_events_are_not_subtracted_from_the_persons_still_at_risk(tmp_path: Path) -> None:
    """At 730 days 77 are at risk, 38 had the event and 35 the competing event by then (of
    156): 77 - 38 - 35 = 4 counts nobody (the events are not among those at risk), while
    156 - 77 - 38 - 35 = 6 are the censored. Found on tiny, seed 11, as a false finding that
    stopped the report."""
    pl.DataFrame(
        {"group": ["g", "g"], "time": [365.0, 730.0], "n": [156, 156], "n_risk": [None, 77],
         "events": [None, 38], "n_competing": [None, 35]}
    ).write_csv(tmp_path / "at_times.csv")  # fmt: skip
    assert [f for f in findings(tmp_path) if f.kind == "complement"] == []


# --- (3) a clean report passes; false positives ---------------------------------------------------


def test_clean_hand_built_report_passes(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    write_csv(tables / "flow.csv", "step,label,n\n1,All,2486\n2,Resident,2400\n3,Adults,2390\n")
    # two hidden places in one group: 17 persons between them, each 0 to 17
    write_csv(
        tables / "dist.csv",
        "group,place,n,n_known\ng1,home,40,100\ng1,hospice,,\ng1,other,,\ng1,hospital,43,100\n",
    )
    pl.DataFrame(
        {"group": ["a", "b"], "n": [615, 233], "share": [0.285, 0.4], "events": [175, 93]}
    ).write_csv(tables / "shares.csv")
    write_csv(
        tables / "table1.csv",
        "Variable,Level,Cancer (n=615),Total (n=848)\nAge,Mean (SD),72.7 (13.9),76.6 (13.9)\n"
        "Sex,Female,280 (45.5%),395 (46.6%)\nSex,Male,335 (54.5%),453 (53.4%)\n",
    )
    (tmp_path / "index.html").write_text(
        "<html><body><h1>Report 2010-2024</h1><p>n = 2,484 decedents; 45.3 % died at home."
        "</p></body></html>"
    )
    (tmp_path / "fig.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="xtick_1"><text>1</text></g>'
        '<g id="legend_1"><text>2</text></g><text>Income quartile</text></svg>'
    )
    (tmp_path / "fig.png").write_bytes(b"\x89PNG")
    rep = audit_report(tmp_path)
    assert rep.ok, rep
    assert rep.findings == [] and rep.files == 6 and "fig.png" in rep.skipped
    assert rep.table().height == 0 and "OK" in repr(rep)


def test_years_ages_codes_days_and_percentages_are_not_counts(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "year": [2019, 2020, 2021],
            "age": [3, 4, 2],
            "icd_code": ["01", "02", "03"],
            "days": [1, 2, 4],
            "income_quartile": [1, 2, 4],
            "median_days": [2.0, 3.0, 1.0],
            "pct": ["3.5 %", "4.0 %", "92.5 %"],
            "estimate": [1.35, 0.82, 2.1],  # ratios, not shares
            "n": [120, 130, 140],
        }
    ).write_csv(tmp_path / "t.csv")
    write_csv(tmp_path / "codes.csv", "region_code,kommune\n0081,0101\n0082,0147\n")
    assert findings(tmp_path) == []


def test_column_roles() -> None:
    cells = [parse_cell(v) for v in ["<5", "12", "40"]]
    assert classify_column("n", cells) == "count"
    assert classify_column("death_year", [parse_cell(v) for v in [2019, 2020]]) == "other"
    assert classify_column("Cancer (n=615)", [parse_cell("72.7 (13.9)"),
                                              parse_cell("3 (0.5%)"),
                                              parse_cell("40 (6.5%)")]) == "count"  # fmt: skip
    assert text_counts("aged 18-49, day 3, 2019-01-04") == []


def test_audit_report_api(tmp_path: Path) -> None:
    write_csv(tmp_path / "places.csv", "place,n\nhome,40\nhospice,2\n")
    rep = audit_report(tmp_path)
    assert isinstance(rep, AuditReport) and not rep.ok
    assert rep.table().columns == ["file", "kind", "location", "column", "value", "how"]
    assert rep.table()["value"].to_list() == [2]
    assert "FAILED" in repr(rep) and "places.csv" in repr(rep)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        audit_report(tmp_path / "nope")
    with pytest.raises(ValueError, match="threshold"):
        audit_report(tmp_path, threshold=0)


def test_threshold_option(tmp_path: Path) -> None:
    pl.DataFrame({"g": ["a", "b"], "n": [7, 30]}).write_csv(tmp_path / "t.csv")
    assert check_output(tmp_path) == []
    assert [f.smallest for f in check_output(tmp_path, threshold=10)] == [7]


# --- (4) notebooks: the scrub policy ----------------------------------------------------------


def test_scrub_notebook_policy(tmp_path: Path) -> None:
    png = "iVBORw0KGgo="
    nb = notebook(
        [
            {"output_type": "stream", "name": "stderr", "text": ["UserWarning: something\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": ["note: 3 persons excluded"],
                      "text/html": ["<p>note: 3 persons excluded</p>"]}},
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": ["<table><tr><th>g</th><th>n</th></tr>"
                                    "<tr><td>a</td><td>40</td></tr></table>"],
                      "text/plain": ["a table"]}},
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
            {"output_type": "error", "ename": "E", "evalue": "x", "traceback": ["n = 2"]},
        ]
    )  # fmt: skip
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    out = scrub_notebook(path)
    outs = out["cells"][0]["outputs"]
    assert [o["output_type"] for o in outs] == ["display_data", "display_data"]
    assert outs[1]["data"]["image/png"] == png
    assert out["metadata"]["paleval_scrub"]["removed_outputs"] == 3
    assert json.loads(path.read_text()) == out  # rewritten in place
    assert check_output(tmp_path) == []
    # a node is copied, not changed
    assert len(nb["cells"][0]["outputs"]) == 5


def test_scrub_drops_every_representation_of_a_failing_result() -> None:
    box = "┌─────┬─────┐\n│ g   ┆ n   │\n╞═════╪═════╡\n│ a   ┆ 3   │\n└─────┴─────┘"
    nb = notebook(
        [
            # the HTML table leaks 3: the plain-text twin (same object) goes with it
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": [box],
                      "text/html": ["<table><tr><th>g</th><th>n</th></tr>"
                                    "<tr><td>a</td><td>3</td></tr></table>"]}},
            # a box-drawn table without an HTML twin cannot be audited: dropped
            {"output_type": "execute_result", "execution_count": 2, "metadata": {},
             "data": {"text/plain": [box.replace(" 3 ", "40 ")]}},
            # widgets, JSON and markdown are not controlled outputs: dropped
            {"output_type": "display_data", "metadata": {},
             "data": {"application/json": {"n": 3}, "text/markdown": ["3 persons"]}},
        ]
    )  # fmt: skip
    out = scrub_notebook(nb)
    assert out["cells"][0]["outputs"] == []
    assert out["metadata"]["paleval_scrub"]["removed_outputs"] == 3


def test_truncated_notebook_table_is_not_summed(tmp_path: Path) -> None:
    # polars' HTML repr leaves rows out ("…"): 43 - 40 is not the hidden row
    (tmp_path / "r.html").write_text(
        "<table><tr><th>place</th><th>n</th></tr><tr><td>home</td><td>40</td></tr>"
        "<tr><td>…</td><td>…</td></tr><tr><td>hospice</td><td></td></tr>"
        "<tr><td>Total</td><td>43</td></tr></table>"
    )
    assert findings(tmp_path) == []
    (tmp_path / "r.html").write_text(
        (tmp_path / "r.html").read_text().replace("<tr><td>…</td><td>…</td></tr>", "")
    )
    assert [(f.kind, f.smallest) for f in findings(tmp_path)] == [("differencing", 3)]


# --- order statistics of small groups (medians from 2t, quartiles from 4t persons) ------------


def test_medians_and_quartiles_of_small_groups_in_every_form(tmp_path: Path) -> None:
    # named columns: a median of 8 persons (< 10), a q1 of 12 (< 20); a median of 12 and the
    # quartiles of 20 are fine; the interval's own count is used when there is one
    write_csv(
        tmp_path / "named.csv",
        """
group,n,median,q1,wait_interval_n,wait_median
a,8,70.0,,40,3.0
b,12,71.0,60.0,9,4.0
c,20,72.0,61.0,40,5.0
""",
    )
    # Table 1 long form: value = median, value_low/high = quartiles of the "median (IQR)" row
    write_csv(
        tmp_path / "long.csv",
        """
variable,level,group,n,value,value_low,value_high
age,median (IQR),a,12,74.0,69.0,80.75
age,mean (SD),a,12,74.1,,9.5
age,median (IQR),c,25,74.0,62.0,86.0
""",
    )
    # formatted Table 1: "median (q1–q3)" under "(n=15)"; "74.0 ([s])" under "(n=12)" is fine
    write_csv(
        tmp_path / "formatted.csv",
        """
Variable,Level,A (n=15),B (n=12),C (n=8)
Age,Median (IQR),50.0 (37.0–61.0),74.0 ([s]),[s]
""",
    )
    got = sorted(
        (Path(f.file).name, f.column, f.smallest)
        for f in findings(tmp_path)
        if f.kind == "quantile"
    )
    assert got == [
        ("formatted.csv", "A (n=15)", 15),
        ("long.csv", "value_high", 12),
        ("long.csv", "value_low", 12),
        ("named.csv", "median", 8),
        ("named.csv", "q1", 12),
        ("named.csv", "wait_median", 9),
    ]


# --- the same cells in two tables of one report ------------------------------------------------

_T1_GROUPS = {"cancer": 615, "dementia": 233, "heart": 297, "liver": 64, "neuro": 37,
              "other": 888, "renal": 50, "respiratory": 149, "stroke": 151}  # fmt: skip


def _sex_rows(groups: dict[str, tuple[int, int]]) -> str:
    # (f, m) per group: every cell large and printed (confirms the sums); total = the sum
    rows = []
    for i, lv in enumerate(("f", "m")):
        for g, fm in groups.items():
            rows.append(f"sex,{lv},{g},{fm[i]},{sum(fm)}")
        rows.append(f"sex,{lv},total,{sum(fm[i] for fm in groups.values())},2484")
    return "\n".join(rows)


# f = ceil(n / 2), m = floor(n / 2) in each cause group; non-cancer is their sum without cancer
_SEX = {g: (-(-n // 2), n // 2) for g, n in _T1_GROUPS.items()}
_SEX_CANCER = {
    "cancer": _SEX["cancer"],
    "non": tuple(sum(v[i] for g, v in _SEX.items() if g != "cancer") for i in (0, 1)),
}


def test_a_cell_repeated_in_a_second_table_of_the_same_breakdown(tmp_path: Path) -> None:
    # Table 1 by cause (each protected alone, as the report did before the ledger): cancer/0 = 2
    # hidden with cancer/1-2 = 54; cancer/3+ = 559 printed. Table 1 by cancer hides its cancer
    # column but prints non/1-2 = 1275 and total/1-2 = 1329: cancer/1-2 = 54 there, so in the
    # first table cancer/0 = 615 - 559 - 54 = 2.
    by_cause = """
variable,level,group,n,n_group
charlson_group,0,cancer,,615
charlson_group,0,dementia,0,233
charlson_group,0,heart,12,297
charlson_group,0,liver,6,64
charlson_group,0,neuro,,37
charlson_group,0,other,93,888
charlson_group,0,renal,0,50
charlson_group,0,respiratory,,149
charlson_group,0,stroke,0,151
charlson_group,0,total,116,2484
charlson_group,1-2,cancer,,615
charlson_group,1-2,dementia,83,233
charlson_group,1-2,heart,207,297
charlson_group,1-2,liver,28,64
charlson_group,1-2,neuro,,37
charlson_group,1-2,other,721,888
charlson_group,1-2,renal,,50
charlson_group,1-2,respiratory,141,149
charlson_group,1-2,stroke,61,151
charlson_group,1-2,total,1329,2484
charlson_group,3+,cancer,559,615
charlson_group,3+,dementia,150,233
charlson_group,3+,heart,78,297
charlson_group,3+,liver,30,64
charlson_group,3+,neuro,,37
charlson_group,3+,other,74,888
charlson_group,3+,renal,,50
charlson_group,3+,respiratory,,149
charlson_group,3+,stroke,90,151
charlson_group,3+,total,1039,2484
"""
    by_cancer = """
variable,level,group,n,n_group
charlson_group,0,cancer,,615
charlson_group,0,non,,1869
charlson_group,0,total,,2484
charlson_group,1-2,cancer,,615
charlson_group,1-2,non,1275,1869
charlson_group,1-2,total,1329,2484
charlson_group,3+,cancer,,615
charlson_group,3+,non,,1869
charlson_group,3+,total,1039,2484
"""
    both = tmp_path / "both"
    write_csv(both / "t1.csv", by_cause.strip() + "\n" + _sex_rows(_SEX))
    write_csv(
        both / "t1_cancer.csv",
        by_cancer.strip() + "\n" + _sex_rows(_SEX_CANCER),
    )
    # each alone: nothing recoverable
    for name in ("t1.csv", "t1_cancer.csv"):
        alone = tmp_path / name.removesuffix(".csv")
        alone.mkdir()
        (alone / name).write_bytes((both / name).read_bytes())
        assert findings(alone) == [], name
    # together: cancer/0 = 2, in both tables
    got = {(Path(f.file).name, f.smallest) for f in findings(both) if "cancer" in f.location}
    assert ("t1.csv", 2) in got and ("t1_cancer.csv", 2) in got, got
