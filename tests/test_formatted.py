"""Publication tables (`result.formatted`): numbers written as papers print them (issue 17).

Expected strings are written by hand from the numbers in the table (Python's own fixed-point
formatting, not paleval's), in English and Danish. Each rule has the test that fails on the
wrong definition: a share shown as a proportion, a Danish point, a p-value printed as 0.000,
a suppressed cell that shows its number.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from paleval.analyses import AnalysisResult, PlaceOfDeathResult, place_of_death_gp
from paleval.analyses._format import FormattedTable, format_table
from paleval.analyses._output import write_formatted

RATIOS = pl.DataFrame(
    {
        "outcome": ["home_death", "home_death", "home_death"],
        "measure": ["PR", "PR", "PR"],
        "term": ["gp_home_visit_category[1-2]", "gp_home_visit_category[3+]", "sex[male]"],
        "ratio": [1.6061, 2.5, 0.93],
        "conf_low": [1.5449, 2.01, 0.81],
        "conf_high": [1.6798, 3.1, 1.07],
        "estimate": [0.4738, 0.9163, -0.0726],  # log ratios: never printed next to the ratio
        "std_error": [0.02, 0.1, 0.07],
        "p_value": [1e-12, 0.04321, 0.3],
        "n": [1234, 640, 3],
        "events": [456, 300, 1],
    }
)


def _ratios() -> AnalysisResult:
    return AnalysisResult(
        "ratios", {"ratios": RATIOS}, 2000, margins={"ratios": []}, params={"adjust": ["sex"]}
    )


def _cell(ft: FormattedTable, col_prefix: str, row: int) -> str:
    col = next(c for c in ft.columns if c.startswith(col_prefix))
    return ft.table[col][row]


def test_model_row_by_hand_english_and_danish() -> None:
    en = _ratios().formatted()
    r, lo, hi = 1.6061, 1.5449, 1.6798
    assert _cell(en, "Ratio", 0) == f"{r:.2f} ({lo:.2f}–{hi:.2f})" == "1.61 (1.54–1.68)"
    assert _cell(en, "P-value", 0) == "<0.001"
    assert _cell(en, "P-value", 1) == "0.043"
    assert _cell(en, "n", 0) == "1,234"
    assert _cell(en, "Term", 0) == "GP home visits, last 90 days: 1-2"
    # the log ratio and its standard error are not publication columns
    assert not any("Estimate" in c or "error" in c.lower() for c in en.columns)
    da = _ratios().formatted(lang="da")
    assert _cell(da, "Ratio", 0) == "1,61 (1,54–1,68)"
    assert _cell(da, "P-værdi", 0) == "<0,001"
    assert _cell(da, "n", 0) == "1.234"  # counts keep their names (the auditor reads them)
    assert _cell(da, "Term", 0) == "Sygebesøg, sidste 90 dage: 1-2"
    assert "Justeret for: Køn." in da.footnotes and "Adjusted for: Sex." in en.footnotes


def test_digits_override() -> None:
    assert _cell(_ratios().formatted(digits=3), "Ratio", 0) == "1.606 (1.545–1.680)"


def test_suppressed_cell_never_leaks_into_the_formatted_table() -> None:
    # row 3 has n = 3 (and events 1): primary suppression; a raw result is disclosed first
    ft = _ratios().formatted()
    row = ft.table.row(2, named=True)
    values = [v for k, v in row.items() if k != "Term" and k != "Outcome" and k != "Measure"]
    assert set(values) <= {"<5", "[s]"}, row
    flat = " ".join(str(v) for v in ft.table.to_dicts()[2].values())
    assert "0.93" not in flat and "3" not in flat.replace("<5", "")
    assert any(x.startswith("<5:") for x in ft.footnotes)  # the marker's legend


def test_suppressed_cell_check_fails_on_raw_cells() -> None:
    # the wrong definition (formatting the raw table) shows the small count
    raw = format_table(RATIOS, counts=["n", "events"])
    assert raw.table.row(2)[-2] == "3"


def test_share_row_by_hand(eol_tiny: pl.DataFrame) -> None:
    pub = place_of_death_gp(eol_tiny, exposures=["gp_home_visit_category"]).disclosed()
    dist = pub.tables["distribution"].filter(~pl.col("suppressed"))
    row = dist.row(0, named=True)
    ft = pub.formatted("distribution")
    expected = f"{100 * row['n'] / row['n_level']:.1f} "
    expected += f"({100 * row['conf_low']:.1f}–{100 * row['conf_high']:.1f})"
    share_col = next(c for c in ft.columns if c.startswith("Share, %"))
    assert expected in ft.table[share_col].to_list()
    # shares are per cent, never proportions: every share cell is >= 1 unless truly tiny
    da = pub.formatted("distribution", lang="da")
    da_col = next(c for c in da.columns if c.startswith("Andel, %"))
    assert expected.replace(".", ",") in da[da_col].to_list()
    assert "Eget hjem" in da["Dødssted"].to_list()


def test_every_table_of_a_real_result_formats_in_both_languages(eol_tiny: pl.DataFrame) -> None:
    res = place_of_death_gp(eol_tiny, exposures=["gp_home_visit_category"])
    assert isinstance(res, PlaceOfDeathResult)
    pub = res.disclosed()
    for name in pub.tables:
        for lang in ("en", "da"):
            ft = pub.formatted(name, lang=lang)
            assert ft.table.height == pub.tables[name].height
            assert all(dt == pl.String for dt in ft.table.dtypes)
            text = " ".join(str(v) for v in ft.table.unpivot()["value"].drop_nulls())
            # fixed decimals (at most 3: p-values), no snake_case codes
            assert not re.search(r"\d[.,]\d{4,}", text), text
            assert not re.search(r"[a-z]_[a-z]", text), text
            if lang == "da":  # decimal comma: no "d.dd" decimal with a point
                assert not re.search(r"\d\.\d{1,2}(?!\d)", text), text


def test_unknown_table_and_language_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        _ratios().formatted("nope")
    with pytest.raises(ValueError, match="lang must be"):
        _ratios().formatted(lang="de")


def test_writer_footnotes_under_the_table_and_reproducible(tmp_path: Path) -> None:
    ft = _ratios().formatted()
    a = write_formatted(ft, tmp_path / "a" / "ratios_formatted")
    b = write_formatted(ft, tmp_path / "b" / "ratios_formatted")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    lines = a[0].read_text().splitlines()
    assert lines[0].startswith("Outcome,Measure,Term,Ratio (95% CI)")
    assert any(line.startswith("Adjusted for: Sex.") for line in lines[5:])
    import zipfile

    with zipfile.ZipFile(a[1]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert 'ySplit="1"' in sheet and 'state="frozen"' in sheet  # header row frozen
    assert "<b/>" in styles  # a bold font for the header
    assert "Ratio (95% CI)" in strings and all(
        x.replace("<", "&lt;") in strings for x in ft.footnotes
    )
    # the footnotes sit under the table, after one blank row
    assert f'<row r="{ft.table.height + 3}"' in sheet


def test_save_writes_the_formatted_tables(tmp_path: Path) -> None:
    paths = _ratios().save(tmp_path, stem="demo", formats=())
    names = sorted(p.name for p in paths)
    assert names == ["demo_ratios.csv", "demo_ratios_formatted.csv"]
    text = (tmp_path / "demo_ratios_formatted.csv").read_text()
    assert "1.61 (1.54–1.68)" in text and ",3," not in text


def test_plot_title_and_labels_override(eol_tiny: pl.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    pub = place_of_death_gp(eol_tiny, exposures=["gp_home_visit_category"]).disclosed()
    ax = pub.plot("distribution", title="My title", labels={"Home": "At home"})
    texts = [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []
    ticks = [t.get_text() for t in ax.get_yticklabels()] + [
        t.get_text() for t in ax.get_xticklabels()
    ]
    assert ax.get_title() == "My title"
    assert "At home" in texts + ticks and "Home" not in texts + ticks


def test_danish_figures_use_a_decimal_comma(eol_tiny: pl.DataFrame) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    pub = place_of_death_gp(eol_tiny, exposures=["gp_home_visit_category"]).disclosed()
    english_points = 0
    for kind in pub.figures:
        ax = pub.plot(kind, lang="da")
        ax.figure.canvas.draw()
        ticks = [
            t.get_text()
            for a in ax.figure.axes
            for t in [*a.get_xticklabels(), *a.get_yticklabels()]
        ]
        assert not any(re.search(r"\d\.\d", t) for t in ticks), (kind, ticks)
        en = pub.plot(kind, lang="en")
        en.figure.canvas.draw()
        english_points += sum(
            bool(re.search(r"\d\.\d", t.get_text()))
            for a in en.figure.axes
            for t in [*a.get_xticklabels(), *a.get_yticklabels()]
        )
        plt.close("all")
    assert english_points  # the same ticks in English have decimal points (the test can fail)


def test_a_diverged_fit_formats_instead_of_failing() -> None:
    """tiny seed 777: the ITS Poisson fit diverged (fitted shares of 1.65e20) and the report's
    06_evaluation failed inside ``fixed`` (an Int64 cast overflow). Written by hand."""
    t = pl.DataFrame({"period": [1, 2], "fitted": [1.6544e20, 0.25], "n": [40, 50]})
    en = format_table(t, counts=["n"]).table
    da = format_table(t, counts=["n"], lang="da").table
    assert en["Fitted"].to_list() == ["1.65e+20", "0.25"]
    assert da["Modelleret"].to_list() == ["1,65e+20", "0,25"]


def test_danish_label_values_from_raw_tables() -> None:
    """Label values of raw tables (a Table 1 variable, a funnel flag, a model parameter, an
    order of levels, a flow step, an indicator) are Danish in a Danish table, through the one
    label registry; expected words written by hand."""
    from paleval.analyses.indicators import _definitions

    _definitions(10, None)  # the indicators' labels, with their waiting-time limit
    t = pl.DataFrame(
        {
            "value": [
                "age",
                "above",
                "icc",
                "lower_secondary < long_higher",
                "Excluded: aged under 18 at death",
                "First contact within 10 days of referral",
                "Excluded: aged under 65 at death",
                "Deaths 2015-01-01 to 2019-12-31 (DOD)",
            ],
            "n": [10, 20, 30, 40, 50, 60, 70, 80],
        }
    )
    da = format_table(t, counts=["n"], lang="da").table["Value"].to_list()
    assert da == [
        "Alder",
        "Over",
        "ICC",
        "Grundskole < Lang videregående",
        "Ekskluderet: under 18 år ved død",
        "Første kontakt senest 10 dage efter henvisning",
        "Ekskluderet: under 65 år ved død",  # labels with a parameter (plots.PATTERN_LABELS)
        "Dødsfald 2015-01-01 til 2019-12-31 (DOD)",
    ]
    en = format_table(t, counts=["n"]).table["Value"].to_list()
    assert en[:3] == ["Age", "Above", "Icc"]  # English as before
