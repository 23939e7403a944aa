"""The disclosure model: one hand-built table per leak class of issue 14, each attacked here
with the identity that leaked (applied to what is published), plus markers, rounding and the
rules for medians and extremes.

Each leak-class test failed on the code before the model (suppress/disclosed with the
lone-cell rule, zero partners and no complements), checked once with PYTHONPATH pointing at
the unmodified source.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest

from paleval.analyses import AnalysisResult, flow_result
from paleval.analyses.descriptive import CharacteristicsResult
from paleval.analyses.referral import BEFORE_DEATH_PROTECTION, cif_protection
from paleval.cohort import Flow
from paleval.disclosure import Complement, DisclosureError, Margin, Protection, Steps, protect
from paleval.disclosure.text import mask_note
from paleval.report import export

T = 5


def small(v: int | None) -> bool:
    return v is not None and 0 < v < T


# 1. cumulative counts -----------------------------------------------------------------------
def test_flow_steps_never_differ_by_a_small_count() -> None:
    # 100 -> 97 (3 excluded) -> 97 (0 excluded) -> 80: the old rule hid n_excluded of steps
    # 2 and 3 and n of step 2, and left 100 and 97 published: 100 - 97 = 3.
    f = Flow()
    f.start("Deaths", 100)
    f.exclude("no cause of death", 97)
    f.exclude("emigrated", 97)
    f.exclude("under 18", 80)
    tab = flow_result(f).disclosed().table
    n, ex = tab["n"].to_list(), tab["n_excluded"].to_list()
    # attack: any two published steps differ by the persons excluded between them
    for a, b in itertools.combinations([v for v in n if v is not None], 2):
        assert not small(abs(a - b)), (a, b)
    # attack: n[i] - n[i+1] = n_excluded[i+1]; with two of the three published, the third is
    # known, and a hidden small exclusion must not come out
    for i in range(len(n) - 1):
        if n[i] is not None and n[i + 1] is not None:
            assert not small(n[i] - n[i + 1])
        if n[i] is not None and ex[i + 1] is not None and n[i + 1] is None:
            assert not small(ex[i + 1])
    assert not any(small(v) for v in ex)


# 2. totals within a group -------------------------------------------------------------------
def test_group_total_minus_visible_places_is_not_small() -> None:
    # the old partner of the lone 3 was the smallest other cell, the 0: n_known - 40 - 20 = 3
    t = pl.DataFrame(
        {
            "group": ["a"] * 4 + ["b"] * 4,
            "place": ["home", "hospital", "hospice", "other"] * 2,
            "n": [40, 3, 0, 20, 30, 25, 10, 35],
            "n_known": [63] * 4 + [100] * 4,
        }
    )
    r = AnalysisResult("places", {"places": t}, 163, margins={"places": [["group"]]})
    pub = r.disclosed().table
    for (g,), part in pub.group_by("group"):
        known = part["n_known"].drop_nulls()
        total = (
            known[0] if known.len() else t.filter(pl.col("group") == g)["n_known"][0]
        )  # the total is published elsewhere (e.g. the flow): assume the attacker has it
        hidden_sum = total - part["n"].drop_nulls().sum()
        assert not small(hidden_sum), (g, hidden_sum)


# 3. totals across tables --------------------------------------------------------------------
def test_tables_sharing_a_grand_total_leave_no_small_difference() -> None:
    # by year (with an empty year) and by diagnosis: same patients, same grand total 71/93.
    by_year = pl.DataFrame(
        {
            "indicator": ["1"] * 4,
            "year": [2018, 2019, 2020, 2021],
            "numerator": [0, 40, 1, 30],
            "denominator": [0, 50, 2, 41],
        }
    )
    by_diag = pl.DataFrame(
        {
            "indicator": ["1"] * 2,
            "diagnosis": ["cancer", "noncancer"],
            "numerator": [60, 11],
            "denominator": [80, 13],
        }
    )
    res = AnalysisResult(
        "qi",
        {"year": by_year, "diag": by_diag},
        93,
        margins={"year": [["indicator"]], "diag": [["indicator"]]},
    ).disclosed()
    y, d = res.tables["year"], res.tables["diag"]
    for c in ("numerator", "denominator"):
        # attack: the grand total from the diagnosis table minus the published years
        if d[c].null_count() == 0:
            assert not small(d[c].sum() - y[c].drop_nulls().sum()), c
        if y[c].null_count() == 0:
            assert not small(y[c].sum() - d[c].drop_nulls().sum()), c
    # and within the year table: numerator and denominator of a hidden year are hidden
    assert y.filter(pl.col("year") == 2020)["denominator"].is_null().all()


# 4. Table 1 margins -------------------------------------------------------------------------
def _table1() -> CharacteristicsResult:
    rows = []
    cells = {"a": {"f": 3, "m": 50, "missing": 0}, "b": {"f": 40, "m": 30, "missing": 6}}
    for g, levels in cells.items():
        for lv, n in levels.items():
            rows.append(("sex", lv, g, n, sum(levels.values())))
    for lv in ("f", "m", "missing"):
        n = sum(cells[g][lv] for g in cells)
        rows.append(("sex", lv, "total", n, 129))
    tab = pl.DataFrame(
        rows, schema=["variable", "level", "group", "n", "n_group"], orient="row"
    ).with_columns(
        share=pl.col("n") / pl.col("n_group"),
        value=pl.lit(None, pl.Float64),
        value_low=pl.lit(None, pl.Float64),
        value_high=pl.lit(None, pl.Float64),
    )
    from paleval.analyses.descriptive import TABLE1_PROTECTION

    return CharacteristicsResult(
        "t1", {"characteristics": tab}, 129, protection={"characteristics": TABLE1_PROTECTION}
    )


def test_table1_row_and_column_totals_pin_no_suppressed_cell() -> None:
    pub = _table1().disclosed().table
    sizes = {"a": 53, "b": 76, "total": 129}  # published in the headers
    # attack by group: the group size minus its published levels
    for g, size in sizes.items():
        part = pub.filter(pl.col("group") == g)
        assert not small(size - part["n"].drop_nulls().sum()), g
    # attack by level: the total column minus the published groups (when the total is shown)
    for lv in ("f", "m", "missing"):
        part = pub.filter(pl.col("level") == lv)
        tot = part.filter(pl.col("group") == "total")["n"].item()
        if tot is not None:
            groups = part.filter(pl.col("group") != "total")["n"].drop_nulls().sum()
            assert not small(tot - groups), lv
    # the group sizes stay published: they are the headers, not secondary suppressions
    assert pub["n_group"].null_count() == 0


def test_table1_markers_tell_primary_from_secondary() -> None:
    res = _table1().disclosed()
    wide = res.formatted()
    cells = dict(
        zip(
            wide["Level"].to_list(),
            wide.select(pl.col("^A.*$|^a.*$")).to_series().to_list(),
            strict=False,
        )
    )
    assert cells["F"] == "<5"  # 3 persons
    secondary = res.table.filter(pl.col("suppression") == "secondary")
    assert secondary.height >= 1
    # a secondary cell shows [s], never "<5" (it may hold hundreds)
    flat = wide.select(pl.exclude("Variable", "Level")).unpivot()["value"].to_list()
    assert flat.count("[s]") == secondary.height
    assert flat.count("<5") == res.table.filter(pl.col("suppression") == "primary").height
    assert any("secondary" in x for x in wide.footnotes)  # the legend footnote
    da = res.formatted(lang="da")
    assert any("sekundær" in x for x in da.footnotes)


# 5. complements within a row ----------------------------------------------------------------
def test_complements_within_a_row_are_counts() -> None:
    t = pl.DataFrame(
        {
            "group": ["a", "b", "c"],
            "n_referred": [50, 80, 100],
            "n_contacted": [46, 60, 40],
            "n": [200, 120, 101],
            "events": [150, 60, 100],
        }
    )
    res = AnalysisResult("c", {"main": t}, 421, margins={"main": []}).disclosed()
    pub = res.table
    for row in pub.iter_rows(named=True):
        vals = {k: row[k] for k in ("n_referred", "n_contacted", "n", "events")}
        shown = [v for v in vals.values() if v is not None]
        for a, b in itertools.combinations(shown, 2):
            assert not small(abs(a - b)), (row["group"], a, b)  # referred - contacted, n - events
    assert pub["suppression"].to_list() == ["secondary", None, "secondary"]


def test_histogram_bins_are_not_recoverable_from_the_rest() -> None:
    t = pl.DataFrame(
        {
            "interval": ["referral_to_death"] * 8,
            "group": ["all"] * 4 + ["cancer"] * 4,
            "bin": ["0-6", "7-29", "30-89", "90+"] * 2,
            "bin_low": [0, 7, 30, 90] * 2,
            "bin_high": [6, 29, 89, None] * 2,
            "n": [40, 2, 0, 50, 38, 2, 0, 45],
            "n_group": [92] * 4 + [85] * 4,
            "share": [0.4, 0.02, 0.0, 0.5, 0.4, 0.02, 0.0, 0.5],
        }
    )
    pub = protect(t, BEFORE_DEATH_PROTECTION["distribution"])
    for (g,), part in pub.group_by("group"):
        size = t.filter(pl.col("group") == g)["n_group"][0]
        assert not small(size - part["n"].drop_nulls().sum()), g
    for _, part in pub.group_by("bin"):
        tot = part.filter(pl.col("group") == "all")["n"].item()
        if tot is not None:
            assert not small(tot - part.filter(pl.col("group") != "all")["n"].drop_nulls().sum())


def test_a_small_complement_of_large_counts_is_suppressed() -> None:
    # n = 100, events = 96: 4 persons without the event
    t = pl.DataFrame({"g": ["a", "b"], "n": [100, 60], "events": [96, 30]})
    out = protect(t, Protection(("n", "events"), [Complement("n", ("events",))]))
    assert out.filter(pl.col("g") == "a").select("n", "events").row(0) == (None, None)
    assert out["suppression"].to_list() == ["secondary", None]


# 6. survival tables -------------------------------------------------------------------------
def _cif() -> pl.DataFrame:
    # group a: 100 persons; censored by 30 days: 100 - 88 - 5 - 5 = 2
    return pl.DataFrame(
        {
            "group": ["a"] * 4 + ["b"] * 4,
            "time": [0.0, 30.0, 60.0, 90.0] * 2,
            "n": [100] * 4 + [200] * 4,
            "n_risk": [100, 88, 70, 50, 200, 180, 150, 120],
            "events": [0, 5, 15, 25, 0, 10, 25, 40],
            "n_competing": [0, 5, 10, 15, 0, 10, 20, 30],
            "estimate": [0.0, 0.05, 0.15, 0.25, 0.0, 0.05, 0.125, 0.2],
        }
    )


def test_survival_table_reveals_no_small_number_censored() -> None:
    raw = _cif()
    pub = protect(raw, cif_protection("group"))
    shown = pub.filter(pl.col("n_risk").is_not_null())
    # attack: n - at risk - events - competing = censored so far, at every published time
    cens = shown.select(
        "group", "time", c=pl.col("n") - pl.col("n_risk") - pl.col("events") - pl.col("n_competing")
    )
    assert not any(small(v) for v in cens["c"].to_list())
    # attack: between two published times of a group, each count changes by 0 or >= 5
    for (_,), part in shown.group_by("group"):
        for col in ("n_risk", "events", "n_competing"):
            for a, b in itertools.combinations(part[col].to_list(), 2):
                assert not small(abs(a - b)), col
        for a, b in itertools.combinations(
            cens.filter(pl.col("group") == part["group"][0])["c"].to_list(), 2
        ):
            assert not small(abs(a - b))
    # the estimates of a suppressed time point are blanked with it
    assert (
        pub.filter(pl.col("n_risk").is_null())["estimate"].null_count()
        == pub.filter(pl.col("n_risk").is_null()).height
    )


# 7. free text -------------------------------------------------------------------------------
def test_notes_of_a_disclosed_result_follow_the_count_rule() -> None:
    notes = [
        "4 persons with unknown place of death excluded",
        "1 referral(s) dated after death excluded",
        "12 persons with missing education excluded",
        "GP windows: 3 days before death; event 3 counted as competing",
        "outcome spc: 1,197 of 1,200 analysed",
    ]
    r = AnalysisResult(
        "n", {"main": pl.DataFrame({"n": [40]})}, 40, notes=notes, margins={"main": []}
    )
    got = r.disclosed().notes
    assert got[0] == "<5 persons with unknown place of death excluded"
    assert got[1] == "<5 referral(s) dated after death excluded"
    assert got[2] == notes[2]
    assert got[3] == notes[3]  # days and event codes are not counts of persons
    assert got[4] == "outcome spc: [s] of 1,200 analysed"  # 3 not analysed
    assert mask_note("2 personer udelukket") == "<5 personer udelukket"


# declarations, markers, rounding, statistics ------------------------------------------------
def test_a_table_without_a_declaration_is_refused() -> None:
    r = AnalysisResult("x", {"main": pl.DataFrame({"g": ["a"], "n": [40]})}, 40)
    with pytest.raises(DisclosureError, match=r"'main'.*no disclosure declaration"):
        r.disclosed()
    with pytest.raises(DisclosureError, match=r"not in the table: \['nope'\]"):
        protect(pl.DataFrame({"n": [1]}), Protection(("n",), [Margin(("nope",))]))


def test_export_writes_markers_and_a_legend(tmp_path: Path) -> None:
    t = pl.DataFrame({"year": [2020, 2021, 2022], "n": [3, 400, 250]})
    r = AnalysisResult("x", {"main": t}, 653, margins={"main": [[]]})
    pub = export(r, "demo", tmp_path, lang="da", formats=("png",))
    assert pub.table["suppression"].to_list() == ["primary", None, "secondary"]
    csv = pl.read_csv(tmp_path / "tables" / "demo_main.csv")
    assert csv["suppression"].to_list() == ["primary", None, "secondary"]
    assert csv["n"].to_list() == [None, 400, None]
    sheets = pl.read_excel(tmp_path / "tables" / "demo_main.xlsx", sheet_id=0)
    assert "legend" in sheets and "sekundær" in " ".join(sheets["legend"]["legend"].to_list())
    assert "[s]" in (tmp_path / "tables" / "LEGEND.txt").read_text()


def test_rounding_and_threshold_options() -> None:
    t = pl.DataFrame({"year": [2020, 2021, 2022, 2023], "n": [7, 402, 256, 0]})
    r = AnalysisResult("x", {"main": t}, 665, margins={"main": []})
    pub = r.disclosed(threshold=10, rounding=5).table
    assert pub["n"].to_list() == [None, 400, 255, 0]  # 7 < 10: primary; half up to 5s
    assert pub["suppression"].to_list()[0] == "primary"
    assert r.disclosed(threshold=5).table["n"].to_list() == [7, 402, 256, 0]
    with pytest.raises(ValueError, match="rounding"):
        r.disclosed(rounding=0)


def test_medians_only_from_groups_of_at_least_the_threshold_and_no_extremes() -> None:
    t = pl.DataFrame(
        {
            "group": ["a", "b"],
            "n": [4, 30],
            "median": [12.0, 30.0],
            "q1": [5.0, 10.0],
            "q3": [20.0, 50.0],
            "min": [1.0, 0.0],
            "max": [40.0, 300.0],
        }
    )
    out = protect(t, Protection(("n",), []))
    assert out["median"].to_list() == [None, 30.0]
    assert out["q1"].to_list() == [None, 10.0]
    # minima and maxima are single persons' values: never published
    assert out["min"].null_count() == 2 and out["max"].null_count() == 2


def test_unprotectable_table_is_withheld_with_a_note() -> None:
    # the known totals pin the 1 whatever is suppressed
    t = pl.DataFrame({"r": ["a", "a", "b", "b"], "c": ["x", "y", "x", "y"], "n": [0, 1, 0, 5]})
    with pytest.raises(DisclosureError, match="no published cell is left"):
        protect(t, Protection(("n",), [Margin(("r",)), Margin(("c",))]))
    r = AnalysisResult("w", {"main": t}, 6, margins={"main": [["r"], ["c"]]})
    pub = r.disclosed()
    assert pub.table["n"].null_count() == 4
    assert any("withheld" in x for x in pub.notes)


def test_steps_relation_checks_every_pair_not_only_neighbours() -> None:
    # cumulative events 10, 12 (hidden: rise of 2), 13: 13 - 10 = 3 over two steps
    t = pl.DataFrame({"time": [1, 2, 3, 4], "events": [10, 12, 13, 30]})
    out = protect(t, Protection(("events",), [Steps("time", ("events",))], keep=("time",)))
    shown = out["events"].drop_nulls().to_list()
    for a, b in itertools.combinations(shown, 2):
        assert not small(abs(a - b))


def test_figures_break_lines_at_suppressed_points_and_mark_them() -> None:
    import numpy as np

    from paleval.plots import curves, trend

    t = pl.DataFrame(
        {
            "group": ["a"] * 4,
            "time": [0.0, 1.0, 2.0, 3.0],
            "year": [2020, 2021, 2022, 2023],
            "estimate": [0.0, 0.1, None, 0.3],
            "conf_low": [0.0, 0.05, None, 0.2],
            "conf_high": [0.0, 0.15, None, 0.4],
        }
    )
    for ax in (curves(t), trend(t, group="group")):
        line = ax.lines[0]
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.isnan(y).sum() >= 1  # the line breaks: nothing drawn through the hidden point
        marks = [ln for ln in ax.lines if ln.get_marker() == "x"]
        assert len(marks) == 1 and len(marks[0].get_xdata()) == 1
        assert any("suppressed" in tx.get_text() for tx in ax.texts)


def test_flow_start_minus_the_cohort_size_printed_elsewhere_is_not_small() -> None:
    # Table 1 prints the cohort size (2,484) in its header; the flow's start is 2,486
    f = Flow()
    f.start("Deaths", 2486)
    f.exclude("no cause of death", 2486)
    f.exclude("not resident", 2486)
    f.exclude("under 18", 2484)
    tab = flow_result(f).disclosed().table
    for v in tab["n"].drop_nulls().to_list():
        assert not small(v - 2484)
    # the hidden large steps are marked secondary, the 2 excluded primary
    assert tab["suppression_n_excluded"].to_list()[-1] == "primary"
    assert set(tab["suppression_n"].drop_nulls().to_list()) == {"secondary"}


def test_linked_tables_bins_and_cumulative_shares_leave_no_bin_recoverable() -> None:
    # bins 0-6: 40, 7-29: 3, 30-89: 20, 90+: 30 (n = 93); shares at 7/30/90 days are
    # cumulative sums of the same bins: 43 - 40 = 3 across the two tables.
    from paleval.analyses.referral import ReferralBeforeDeathResult

    bins = [40, 3, 20, 30]
    dist = pl.DataFrame(
        {
            "interval": ["referral_to_death"] * 4,
            "group": ["all"] * 4,
            "bin": ["0-6", "7-29", "30-89", "90+"],
            "bin_low": [0, 7, 30, 90],
            "bin_high": [6, 29, 89, None],
            "n": bins,
            "n_group": [93] * 4,
            "share": [b / 93 for b in bins],
        }
    )
    late = [40, 43, 63]
    shares = pl.DataFrame(
        {
            "interval": ["referral_to_death"] * 3,
            "group": ["all"] * 3,
            "threshold": [7, 30, 90],
            "n": [93] * 3,
            "n_late": late,
            "estimate": [x / 93 for x in late],
        }
    )
    summary = pl.DataFrame(
        {"interval": ["referral_to_death"], "group": ["all"], "n": [93], "median": [20.0]}
    )
    res = ReferralBeforeDeathResult(
        "timing",
        {"summary": summary, "shares": shares, "distribution": dist},
        93,
        params={"thresholds": [7, 30, 90]},
        protection=BEFORE_DEATH_PROTECTION,
    ).disclosed()
    d, s = res.tables["distribution"], res.tables["shares"]
    assert "_below_7" not in d.columns
    known = {r["bin"]: r["n"] for r in d.iter_rows(named=True) if r["n"] is not None}
    cum = {r["threshold"]: r["n_late"] for r in s.iter_rows(named=True) if r["n_late"] is not None}
    # attack: a published cumulative share minus the published bins below it, and two
    # published shares minus each other, must not give a small count
    below = {7: ["0-6"], 30: ["0-6", "7-29"], 90: ["0-6", "7-29", "30-89"]}
    for t, v in cum.items():
        hidden = [b for b in below[t] if b not in known]
        if len(hidden) == 1:
            assert not small(v - sum(known[b] for b in below[t] if b in known)), t
    for a, b in itertools.combinations(cum.values(), 2):
        assert not small(abs(a - b))
    assert d.filter(pl.col("bin") == "7-29")["suppression"].item() == "primary"


def test_table1_group_sizes_in_the_headers_do_not_give_a_small_group_away() -> None:
    from paleval.analyses.descriptive import TABLE1_PROTECTION

    cells = {"a": {"f": 1, "m": 2}, "b": {"f": 25, "m": 25}, "c": {"f": 30, "m": 30}}
    rows = [("sex", lv, g, n, sum(v.values())) for g, v in cells.items() for lv, n in v.items()]
    rows += [("sex", lv, "total", sum(cells[g][lv] for g in cells), 113) for lv in ("f", "m")]
    tab = pl.DataFrame(
        rows, schema=["variable", "level", "group", "n", "n_group"], orient="row"
    ).with_columns(
        share=pl.col("n") / pl.col("n_group"),
        value=pl.lit(None, pl.Float64),
        value_low=pl.lit(None, pl.Float64),
        value_high=pl.lit(None, pl.Float64),
    )
    res = CharacteristicsResult(
        "t1", {"characteristics": tab}, 113, protection={"characteristics": TABLE1_PROTECTION}
    ).disclosed()
    heads = res.formatted().columns[2:]
    # attack: the total's size minus the sizes shown in the other headers
    shown = [
        int(h.split("n=")[1].rstrip(")").replace(",", ""))
        for h in heads
        if "[s]" not in h and "<5" not in h
    ]
    total = 113
    assert not small(total - (sum(shown) - total))
    assert heads[0] == "A (n=<5)" and heads[1] == "B (n=[s])"
