"""DPD quality indicators and waiting time (paleval.analyses.indicators) on synthetic data."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import polars as pl
import pytest

from paleval.analyses.indicators import (
    INDICATORS,
    NEED_GROUPS,
    QualityIndicatorResult,
    WaitingTimeResult,
    quality_indicators,
    waiting_time,
)
from paleval.disclosure import count_columns
from paleval.registers import scan_register
from paleval.registers.model import REGION_SDS
from paleval.stats import funnel_flags, proportion_ci
from paleval.synth import config as C
from paleval.synth.calibration import load_targets

d = dt.date
REGION_CODE = {v: int(k) for k, v in REGION_SDS.items()}


@pytest.fixture(scope="module")
def dpd_small(small_dir) -> pl.DataFrame:
    return scan_register(small_dir, "dpd").collect()


@pytest.fixture(scope="module")
def persons(small_dir) -> pl.DataFrame:
    return pl.read_parquet(small_dir / "truth" / "persons.parquet").filter(pl.col("adult_decedent"))


@pytest.fixture(scope="module")
def qi(dpd_small, eol_small) -> QualityIndicatorResult:
    return quality_indicators(dpd_small, eol_small, by=("year", "diagnosis"))


@pytest.fixture(scope="module")
def wt(dpd_small, eol_small) -> WaitingTimeResult:
    return waiting_time(dpd_small, decedents=eol_small, by=("unit_type", "diagnosis"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _row(tab: pl.DataFrame, **where) -> dict:
    sub = tab.filter(pl.all_horizontal([pl.col(k) == v for k, v in where.items()]))
    assert sub.height == 1, (where, sub)
    return sub.row(0, named=True)


# -- truth: counts ---------------------------------------------------------------------------
def test_indicator_1_counts_equal_truth_counts(dpd_small, truth_small):
    """Every referral, no eligibility rule: indicator 1 is admitted / referred persons."""
    res = quality_indicators(dpd_small, by=(), ineligible_reasons=())
    counts = truth_small["counts"]
    one = _row(res.table, indicator="1")
    assert one["numerator"] == counts["spc_admitted_persons"]
    assert one["denominator"] == counts["spc_referred_persons"]
    for ind in ("2", "4", "5"):  # among the admitted (all have a contact date)
        assert _row(res.table, indicator=ind)["denominator"] == counts["spc_admitted_persons"]
    assert not {"3A", "3B"} & set(res.table["indicator"])
    assert any("3A and 3B not computed" in x for x in res.notes)


def test_indicator_3_equals_truth(dpd_small, eol_small, persons, truth_small):
    res = quality_indicators(dpd_small, eol_small, by=("year",))
    by_group = truth_small["counts"]["adult_decedents_by_cause_group"]
    cancer = persons.filter(pl.col("cause_group") == "cancer")
    need = persons.filter(pl.col("cause_group").is_in(list(NEED_GROUPS)))
    for ind, truth, n_total in (
        ("3A", cancer, by_group["cancer"]),
        ("3B", need, sum(by_group[g] for g in NEED_GROUPS)),
    ):
        tab = res.table.filter(pl.col("indicator") == ind).sort("year")
        assert tab["denominator"].sum() == n_total == truth.height
        expect = (
            truth.group_by(year=pl.col("death_date").dt.year().cast(pl.Int64))
            .agg(numerator=pl.col("spc_admitted").sum(), denominator=pl.len())
            .sort("year")
        )
        assert tab["year"].to_list() == expect["year"].to_list()
        assert tab["numerator"].to_list() == expect["numerator"].to_list()
        assert tab["denominator"].to_list() == expect["denominator"].to_list()


def test_decedent_referrals_match_truth(dpd_small, eol_small, persons, truth_small):
    """With decedents: numerators equal the truth; denominators lose only the planted
    referrals dated after death (validation rule event_after_death)."""
    res = quality_indicators(dpd_small, eol_small, by=("diagnosis",), ineligible_reasons=())
    diag = persons.with_columns(
        diagnosis=pl.when(pl.col("cause_group") == "cancer")
        .then(pl.lit("cancer"))
        .when(pl.col("cause_group").is_in(list(NEED_GROUPS)))
        .then(pl.lit("noncancer"))
        .otherwise(pl.lit("other"))
    )
    lost = 0
    for g in ("cancer", "noncancer", "other"):
        sub = diag.filter(pl.col("diagnosis") == g)
        one = _row(res.table, indicator="1", diagnosis=g)
        assert one["numerator"] == sub["spc_admitted"].sum()
        assert one["denominator"] <= sub["spc_referred"].sum()
        lost += sub["spc_referred"].sum() - one["denominator"]
    assert lost == truth_small["defects"]["dpd_referral_after_death"] > 0
    assert any(f"{lost} referral(s) dated after death" in x for x in res.notes)


# -- truth: calibrated levels and planted probabilities -----------------------------------------
def _meets(est: float, n: int, target: float, tol: float) -> bool:
    ci = proportion_ci(round(est * n), n, conf_level=0.99)
    return abs(est - target) <= tol or ci["conf_low"].item() <= target <= ci["conf_high"].item()


@pytest.mark.parametrize(
    ("target", "indicator", "diagnosis", "years"),
    [
        ("contact_given_referral_cancer", "1", "cancer", range(2010, 2025)),
        ("contact_given_referral_noncancer", "1", "noncancer", range(2010, 2025)),
        ("wait_le10_cancer", "2", "cancer", [2019]),
        ("wait_le10_noncancer", "2", "noncancer", range(2010, 2025)),
        ("spc_cancer_2019", "3A", "cancer", [2019]),
        ("spc_noncancer_2019", "3B", "noncancer", [2019]),
        ("spc_cancer_2010_12", "3A", "cancer", [2010, 2011, 2012]),
    ],
)
def test_levels_match_calibration_targets(
    dpd_small, eol_small, truth_small, target, indicator, diagnosis, years
):
    tgt = load_targets().filter(pl.col("target") == target).row(0, named=True)
    if target.startswith("spc_noncancer"):
        # the published non-cancer level is without the planted intervention: measured in the
        # municipalities that never adopt it (truth.json interventions)
        (iv,) = truth_small["interventions"].values()
        eol_small = eol_small.filter(pl.col("municipality").is_in(iv["never_adopting"]))
        dpd_small = dpd_small.filter(pl.col("PNR").is_in(eol_small["PNR"].implode()))
    # indicator 1 as the DPD defines it: among referred patients who met the criteria
    res = quality_indicators(dpd_small, eol_small, by=("diagnosis",), years=years)
    row = _row(res.table, indicator=indicator, diagnosis=diagnosis)
    assert _meets(row["estimate"], row["denominator"], tgt["value"], tgt["tolerance"]), (
        target,
        row,
    )


def test_eligibility_rule_shrinks_denominator(dpd_small):
    all_ref = _row(quality_indicators(dpd_small, by=(), ineligible_reasons=()).table, indicator="1")
    elig = quality_indicators(dpd_small, by=())
    one = _row(elig.table, indicator="1")
    # patients all of whose referrals were not admitted for not meeting the criteria
    n_inel = (
        dpd_small.group_by("PNR")
        .agg(
            (
                (pl.col("MODTAGET") == 0)
                & (pl.col("IKKE_MODTAGET_AARSAG") == "opfylder_ikke_kriterier")
            ).all()
        )
        .filter(pl.col("MODTAGET"))
        .height
    )
    assert n_inel > 0
    assert one["numerator"] == all_ref["numerator"]
    assert one["denominator"] == all_ref["denominator"] - n_inel
    assert any(f"{n_inel} patient(s) not admitted because not eligible" in x for x in elig.notes)


def test_planted_waiting_time_by_region(dpd_small, eol_small):
    """P(first contact within 10 days) is planted per region for cancer decedents."""
    res = waiting_time(dpd_small, decedents=eol_small, by=("region", "diagnosis"))
    cancer = res.table.filter(pl.col("diagnosis") == "cancer")
    assert cancer.height == 5
    for r in cancer.iter_rows(named=True):
        p = C.P_WAIT_LE10_REGION[REGION_CODE[r["region"]]]
        assert r["conf_low"] <= p <= r["conf_high"], (r["region"], p, r)
    # the planted regional ordering: Nordjylland fastest, Sjaelland/Hovedstaden slowest
    est = dict(zip(cancer["region"], cancer["estimate"], strict=True))
    assert est["Region Nordjylland"] > max(est["Region Hovedstaden"], est["Region Sjælland"])


def test_planted_eortc_and_mdc(dpd_small, eol_small):
    res = quality_indicators(dpd_small, eol_small, by=("diagnosis",))
    # 4: EORTC at the first admission (baseline): the planted probability per course
    row = _row(res.table, indicator="4", diagnosis="cancer")
    p = C.P_EORTC["cancer"]
    assert row["conf_low"] <= p <= row["conf_high"], ("4", row)
    # 5: discussed at an MDC in any admitted course. The generator draws the MDC per course
    # (probability p), so a patient with k recorded admitted courses has 1 - (1 - p)^k;
    # k from the raw DPD, for admitted cancer decedents
    p = C.P_MDC["cancer"]
    k = (
        dpd_small.filter((pl.col("MODTAGET") == 1) & pl.col("MDK").is_not_null())
        .group_by("PNR")
        .agg(k=pl.len())
        .join(eol_small.filter(pl.col("cancer")).select("PNR"), on="PNR")
    )
    assert (k["k"] > 1).sum() > 100  # multi-unit courses are there
    expected = (1 - (1 - p) ** k["k"].to_numpy()).mean()
    row = _row(res.table, indicator="5", diagnosis="cancer")
    assert row["conf_low"] <= expected <= row["conf_high"], ("5", expected, row)
    # counted per referral row, the multi-unit patients' extra courses would count again
    assert row["denominator"] < dpd_small.filter(pl.col("MODTAGET") == 1).height


def test_waiting_time_equals_indicator_2_and_raw_quantiles(dpd_small, eol_small, qi):
    res = waiting_time(dpd_small, decedents=eol_small, by=("year", "diagnosis"))
    two = qi.table.filter(pl.col("indicator") == "2").select(
        "year", "diagnosis", "numerator", "denominator"
    )
    j = res.table.join(two, on=["year", "diagnosis"], how="full", coalesce=True)
    assert j.height == two.height == res.table.height
    assert (j["n_within"] == j["numerator"]).all() and (j["n"] == j["denominator"]).all()
    # median / IQR recomputed from the raw DPD (no death restriction needed: no dates after
    # death among the admitted of the synthetic data), per patient: the admitted referral with
    # the earliest first contact (the first SPC course)
    raw = (
        dpd_small.filter(pl.col("MODTAGET") == 1)
        .join(eol_small.select("PNR", "death_year"), on="PNR")
        .sort("PNR", "FOERSTE_KONTAKT_DATO", "HENV_DATO", "ENHED_TYPE", "ENHED_ID")
        .group_by("PNR", maintain_order=True)
        .first()
        .with_columns(w=(pl.col("FOERSTE_KONTAKT_DATO") - pl.col("HENV_DATO")).dt.total_days())
    )
    assert raw.height < dpd_small.filter(pl.col("MODTAGET") == 1).height  # patients, not rows
    w = raw["w"].to_numpy()
    pooled = waiting_time(dpd_small, decedents=eol_small, by=()).table.row(0, named=True)
    import numpy as np

    assert pooled["n"] == len(w)
    assert pooled["median_days"] == np.median(w)
    assert pooled["q1_days"] == pytest.approx(np.quantile(w, 0.25))
    assert pooled["q3_days"] == pytest.approx(np.quantile(w, 0.75))
    assert pooled["n_within"] == int((w <= 10).sum())


# -- tables ------------------------------------------------------------------------------------
def test_tables_are_tidy_with_counts(qi, wt):
    for res in (qi, wt):
        for name, tab in res.tables.items():
            assert count_columns(tab.columns), name
            assert tab.height > 0, name
    tab = qi.table
    assert tab.columns[:4] == ["indicator", "label", "year", "diagnosis"]
    assert set(tab["indicator"]) == {"1", "2", "3A", "3B", "4", "5"}
    assert (
        tab.select(pl.col("indicator", "year", "diagnosis").null_count()).sum_horizontal()[0] == 0
    )
    assert (tab["estimate"] - tab["numerator"] / tab["denominator"]).abs().max() < 1e-12
    assert ((tab["conf_low"] <= tab["estimate"]) & (tab["estimate"] <= tab["conf_high"])).all()
    assert (tab["n_not_met"] == tab["denominator"] - tab["numerator"]).all()
    std = tab.filter(pl.col("standard").is_not_null())
    assert set(std["indicator"]) == {"1", "2"}
    assert (std["met"] == (std["estimate"] >= std["standard"])).all()
    assert (
        tab.filter(pl.col("standard").is_null())["met"].null_count()
        == tab.filter(pl.col("standard").is_null()).height
    )
    # 3A/3B carry their own diagnosis group
    assert set(tab.filter(pl.col("indicator") == "3A")["diagnosis"]) == {"cancer"}
    assert set(tab.filter(pl.col("indicator") == "3B")["diagnosis"]) == {"noncancer"}
    # waiting table
    w = wt.table
    assert w.columns[:3] == ["unit_type", "diagnosis", "n"]
    assert set(w["unit_type"]) == {"hospice", "palliativt_team", "palliativ_afdeling"}
    assert ((w["q1_days"] <= w["median_days"]) & (w["median_days"] <= w["q3_days"])).all()
    assert (w["n_later"] == w["n"] - w["n_within"]).all()
    assert wt.tables["trend"].columns[:2] == ["year", "unit_type"]


def test_groupings_region_unit_type_unit(dpd_small, eol_small):
    res = quality_indicators(dpd_small, eol_small, by=("region", "unit_type"))
    tab = res.table
    assert set(tab.filter(pl.col("indicator") == "1")["region"]) == set(REGION_CODE)
    # 3A/3B are population indicators: no unit type
    assert set(tab.filter(pl.col("indicator").is_in(["3A", "3B"]))["unit_type"]) == {"all"}
    by_unit = quality_indicators(dpd_small, by=("unit",))
    one = by_unit.table.filter(pl.col("indicator") == "1")
    assert one.height == dpd_small["ENHED_ID"].n_unique()
    assert (
        one["denominator"].sum()
        == _row(quality_indicators(dpd_small, by=()).table, indicator="1")["denominator"]
    )


def test_standards_days_and_overrides(dpd_small):
    res = quality_indicators(dpd_small, by=(), days=14, standards={"4": 0.7})
    two = _row(res.table, indicator="2")
    assert two["standard"] is None and two["met"] is None
    assert "14 days" in two["label"]
    four = _row(res.table, indicator="4")
    assert four["standard"] == 0.7 and four["met"] == (four["estimate"] >= 0.7)
    ten = _row(quality_indicators(dpd_small, by=()).table, indicator="2")
    assert two["numerator"] >= ten["numerator"]
    assert INDICATORS.filter(pl.col("indicator") == "1")["standard"].item() == 0.8
    with pytest.raises(ValueError, match="unknown indicator"):
        quality_indicators(dpd_small, standards={"9": 0.5})


# -- validation rules, exclusions and bad input ------------------------------------------------
def _toy() -> tuple[pl.DataFrame, pl.DataFrame]:
    # a: 2 days; b: contact before referral; c: no referral date; d: referred after death;
    # e: contact after death; f: admitted without a date; g: 19 days
    contact = [d(2020, 1, 3), d(2019, 12, 1), d(2020, 1, 3), None,
               d(2020, 3, 1), None, d(2020, 1, 20)]  # fmt: skip
    dpd = pl.DataFrame(
        {
            "PNR": ["a", "b", "c", "d", "e", "f", "g"],
            "ENHED_ID": ["u1"] * 7,
            "ENHED_TYPE": ["hospice"] * 7,
            "HENV_DATO": [d(2020, 1, 1)] * 2 + [None, d(2020, 3, 1)] + [d(2020, 1, 1)] * 3,
            "MODTAGET": [1, 1, 1, 0, 1, 1, 1],
            "FOERSTE_KONTAKT_DATO": contact,
            "IKKE_MODTAGET_AARSAG": [None, None, None, "doed_foer_kontakt", None, None, None],
            "EORTC_UDFYLDT": [1, 1, 1, None, 1, None, 0],
            "MDK": [1, 1, 1, None, 1, 1, 1],
        }
    )
    dec = pl.DataFrame(
        {
            "PNR": list("abcdefg"),
            "death_date": [d(2020, 2, 1)] * 3 + [d(2020, 2, 15)] + [d(2020, 2, 1)] * 3,
            "death_year": [2020] * 7,
            "cancer": [True] * 7,
            "cause_group": ["cancer"] * 7,
            "region": ["Region Hovedstaden"] * 7,
            "spc_admitted": [True, False, False, False, False, False, True],
        }
    )
    return dpd, dec


def test_exclusions_are_counted():
    dpd, dec = _toy()
    res = quality_indicators(dpd, by=())
    notes = " | ".join(res.notes)
    assert "1 referral(s) without HENV_DATO or MODTAGET excluded" in notes
    assert "1 referral(s) with first contact before the referral excluded" in notes
    assert "1 admitted patient(s) without a first-contact date" in notes
    assert "indicator 4: 1 admitted patient(s) with EORTC_UDFYLDT missing" in notes
    assert res.n == 5
    assert _row(res.table, indicator="1")["denominator"] == 5
    two = _row(res.table, indicator="2")  # a (2 d), e (60 d), g (19 d); f has no date
    assert (two["numerator"], two["denominator"]) == (1, 3)
    four = _row(res.table, indicator="4")  # f missing counts as not done; g 0
    assert (four["numerator"], four["denominator"]) == (2, 4)
    with_dec = quality_indicators(dpd, dec, by=())
    notes = " | ".join(with_dec.notes)
    assert "1 referral(s) dated after death excluded (event_after_death)" in notes  # d
    assert "1 referral(s) with first contact after death excluded" in notes  # e
    assert with_dec.n == 3
    three = _row(with_dec.table, indicator="3A")
    assert (three["numerator"], three["denominator"]) == (2, 7)
    wt = waiting_time(dpd, by=())
    assert wt.n == 3 and wt.table["median_days"].item() == 19.0


def test_bad_input():
    dpd, dec = _toy()
    with pytest.raises(ValueError, match=r"\['MODTAGET'\] \(missing\)"):
        quality_indicators(dpd.drop("MODTAGET"))
    with pytest.raises(ValueError, match="unknown grouping"):
        quality_indicators(dpd, by=("sex",))
    with pytest.raises(ValueError, match="needs a region"):
        quality_indicators(dpd, by=("region",))
    with pytest.raises(ValueError, match="needs the decedent cohort"):
        waiting_time(dpd, by=("diagnosis",))
    with pytest.raises(ValueError, match="MODTAGET: 1 row"):
        quality_indicators(dpd.head(1).with_columns(MODTAGET=pl.lit(2, pl.Int64)).vstack(dpd))
    with pytest.raises(ValueError, match=r"\['spc_admitted'\]"):
        quality_indicators(dpd, dec.drop("spc_admitted"))
    with pytest.raises(ValueError, match="days"):
        waiting_time(dpd, days=-1)
    # a region column in the DPD (e.g. the unit's region) is enough for by="region"
    res = quality_indicators(dpd.with_columns(region=pl.lit("Region Sjælland")), by=("region",))
    assert set(res.table["region"]) == {"Region Sjælland"}
    no_eortc = quality_indicators(dpd.drop("EORTC_UDFYLDT"), by=())
    assert "4" not in set(no_eortc.table["indicator"])
    assert any("indicator 4 not computable" in x for x in no_eortc.notes)


# -- funnel --------------------------------------------------------------------------------------
def test_funnel_flags_consistent(qi):
    fun = qi.tables["funnel"]
    assert set(fun["level"]) == {"region", "unit"}
    assert set(fun.filter(pl.col("level") == "unit")["indicator"]) == {"1", "2", "4", "5"}
    assert set(fun.filter(pl.col("level") == "region")["indicator"]) == {
        "1", "2", "3A", "3B", "4", "5"
    }  # fmt: skip
    for (ind, level), sub in fun.group_by(["indicator", "level"]):
        again = funnel_flags(sub.select("unit", "numerator", "denominator"),
                             events="numerator", n="denominator")  # fmt: skip
        for lab in ("95", "99_8"):
            assert sub[f"flag_{lab}"].to_list() == again[f"flag_{lab}"].to_list(), (ind, level)
        assert sub["target"][0] == pytest.approx(sub["numerator"].sum() / sub["denominator"].sum())
    # the planted regional waiting times put units outside the limits
    two = fun.filter((pl.col("indicator") == "2") & (pl.col("level") == "unit"))
    assert {"above", "below"} & set(two["flag_99_8"])  # which side depends on the seed's draws


@pytest.mark.parametrize("lang", ["en", "da"])
def test_funnel_figure_labels_the_flagged_units(qi, lang):
    ax = qi.plot("funnel", lang=lang)
    two = qi.tables["funnel"].filter((pl.col("indicator") == "2") & (pl.col("level") == "unit"))
    outside = set(two.filter(pl.col("flag_99_8") != "within")["unit"])
    assert {t.get_text() for t in ax.texts} == outside
    assert len(ax.collections[0].get_offsets()) == two.height
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == (["95% control limits", "99.8% control limits", "Target"] if lang == "en"
                      else ["95% kontrolgrænser", "99.8% kontrolgrænser", "Mål"])  # fmt: skip
    assert ax.get_xlabel() == ("Patients (n)" if lang == "en" else "Patienter (n)")
    assert ax.get_ylim()[0] >= 0
    ax3 = qi.plot_funnel("3A", level="region", lang=lang)
    assert len(ax3.collections[0].get_offsets()) == 5
    with pytest.raises(ValueError, match="no funnel rows"):
        qi.plot_funnel("3A", level="unit")


# -- figures -------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "da"])
def test_trends_figure(qi, lang):
    ax = qi.plot("trends", lang=lang)
    fig = ax.figure
    panels = [a for a in fig.axes if a.get_visible()]
    assert len(panels) == 6
    titles = [a.get_title() for a in panels]
    col = f"label_{lang}"
    assert titles == INDICATORS[col].str.replace("{days}", "10", literal=True).to_list()
    for a, ind in zip(panels, ["1", "2", "3A", "3B", "4", "5"], strict=True):
        assert a.get_xlabel() == ("Year" if lang == "en" else "År")
        labels = [t.get_text() for t in a.get_legend().get_texts()] if a.get_legend() else []
        has_std = ind in ("1", "2")
        assert (("Standard") in labels) == has_std
        diag = {"en": ("Cancer", "Non-cancer"), "da": ("Kræft", "Ikke-kræft")}[lang]
        if ind in ("1", "2", "4", "5"):
            assert set(diag) <= set(labels)
        # one line per diagnosis group (+ the standard line), one CI band each
        assert len(a.lines) == (1 if ind in ("3A", "3B") else 2) + has_std
        assert len(a.collections) == (1 if ind in ("3A", "3B") else 2)
    assert fig._suptitle.get_text().startswith("DPD")


@pytest.mark.parametrize("lang", ["en", "da"])
def test_overview_figure(qi, lang):
    ax = qi.plot("overview", lang=lang)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == INDICATORS[f"short_{lang}"].str.replace("{days}", "10", literal=True).to_list()
    assert "2024" in ax.get_title()
    # estimates: cancer for 1, 2, 3A, 4, 5 and non-cancer for 1, 2, 3B, 4, 5
    n_points = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert n_points == 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label_std(lang) in legend and len(legend) == 3
    assert ax.get_ylabel().endswith("(%)")


def label_std(lang: str) -> str:
    from paleval.plots import label

    return label("standard", lang)


@pytest.mark.parametrize("lang", ["en", "da"])
def test_waiting_figures(wt, lang):
    ax = wt.plot("shares", lang=lang)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        {"en": "Hospice", "da": "Hospice"}[lang],
        {"en": "Hospital palliative unit", "da": "Palliativ enhed/afdeling"}[lang],
        {"en": "Hospital palliative team", "da": "Palliativt team"}[lang],
    ]
    assert ax.get_xlabel() == {"en": "SPC unit type", "da": "SPI-enhedstype"}[lang]
    assert len(ax.containers) == 3  # cancer, non-cancer, other
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label_std(lang) in legend
    assert ("10 days" if lang == "en" else "10 dage") in ax.get_ylabel()
    ax2 = wt.plot("trend", lang=lang)
    assert len(ax2.collections) == 3  # a CI band per unit type
    assert ax2.get_legend().get_title().get_text() == label_unit_type(lang)


def label_unit_type(lang: str) -> str:
    from paleval.plots import label

    return label("unit_type", lang)


def test_trends_on_given_axes_and_single_indicator(qi):
    from paleval.plots import figure

    _, ax = figure()
    out = qi.plot("trends", ax=ax)
    assert out is ax and ax.get_title() == INDICATORS["label_en"][0]
    ax2 = qi.plot_trend("3B")
    assert "Non-cancer" in ax2.get_title()
    with pytest.raises(ValueError, match="not in the trend table"):
        qi.plot_trend("7")


# -- disclosure and repr -------------------------------------------------------------------------
def test_disclosed_blanks_small_cells(qi, wt):
    out = qi.disclosed()
    tab = out.table
    small = qi.table.filter(
        ((pl.col("numerator") > 0) & (pl.col("numerator") < 5))
        | ((pl.col("n_not_met") > 0) & (pl.col("n_not_met") < 5))
    )
    assert small.height > 0
    sup = tab.filter(pl.col("suppressed"))
    assert sup.height >= small.height
    assert (
        sup.select(pl.col("numerator", "estimate", "conf_low", "met").null_count()).row(0)
        == (sup.height,) * 4
    )
    assert sup["year"].null_count() == 0 and sup["diagnosis"].null_count() == 0
    kept = tab.filter(~pl.col("suppressed"))
    for c in ("numerator", "n_not_met", "denominator"):
        assert (kept[c].is_null() | (kept[c] == 0) | (kept[c] >= 5)).all()
    fun = out.tables["funnel"].filter(pl.col("suppressed"))
    assert fun["flag_99_8"].null_count() == fun.height
    # figures draw only the published numbers
    ax = out.plot("overview")
    assert sum(len(c.lines[0].get_xdata()) for c in ax.containers) <= 10
    out.plot("trends")
    wd = wt.disclosed()
    w_sup = wd.table.filter(pl.col("suppressed"))
    assert w_sup.height > 0 and w_sup["median_days"].null_count() == w_sup.height
    wd.plot("shares")


def test_repr(qi, wt):
    text = repr(qi)
    assert text.startswith("QualityIndicatorResult: DPD quality indicators")
    assert "[indicators]" in text and "[funnel]" in text and "note:" in text
    assert "figures: trends, funnel, overview" in text
    assert "<details>" in qi._repr_html_()
    assert repr(wt).startswith("WaitingTimeResult: Waiting time")
    assert "disclosure control applied" in repr(qi.disclosed())


# -- per patient: hand-built DPD with patients at two units ----------------------------------
# Expected numerators/denominators below are counted by hand from these rows (comments), not
# with the code under test. Rows are deliberately out of date order.
_NE = "opfylder_ikke_kriterier"
_MULTI = pl.DataFrame(
    [
        # P1 (cancer, died 2019): hospice course first listed, hospital team course first in time
        ("P1", "u2", "hospice", d(2019, 3, 1), 1, d(2019, 3, 25), None, 0, 1),
        ("P1", "u1", "palliativt_team", d(2019, 1, 10), 1, d(2019, 1, 15), None, 1, 0),
        # P2 (cancer, died 2020): an ineligible referral, then admitted after 21 days
        ("P2", "u2", "hospice", d(2019, 11, 1), 0, None, _NE, None, None),
        ("P2", "u1", "palliativt_team", d(2019, 12, 20), 1, d(2020, 1, 10), None, 0, None),
        # P3 (heart failure, died 2019): referred twice, never admitted
        ("P3", "u2", "hospice", d(2019, 8, 15), 0, None, "doed_foer_kontakt", None, None),
        ("P3", "u1", "palliativt_team", d(2019, 8, 1), 0, None, "oensker_ikke", None, None),
        # P4 (cancer, died 2019): two ineligible referrals only
        ("P4", "u1", "palliativt_team", d(2019, 2, 1), 0, None, _NE, None, None),
        ("P4", "u2", "hospice", d(2019, 3, 1), 0, None, _NE, None, None),
        # P5 (cancer, died 2019): ineligible at u1, admitted at u2 within 4 days
        ("P5", "u1", "palliativt_team", d(2019, 11, 1), 0, None, _NE, None, None),
        ("P5", "u2", "hospice", d(2019, 12, 1), 1, d(2019, 12, 5), None, 1, 1),
    ],
    schema={
        "PNR": pl.String, "ENHED_ID": pl.String, "ENHED_TYPE": pl.String,
        "HENV_DATO": pl.Date, "MODTAGET": pl.Int64, "FOERSTE_KONTAKT_DATO": pl.Date,
        "IKKE_MODTAGET_AARSAG": pl.String, "EORTC_UDFYLDT": pl.Int64, "MDK": pl.Int64,
    },
    orient="row",
)  # fmt: skip
_DECEDENTS = pl.DataFrame(
    {
        "PNR": ["P1", "P2", "P3", "P4", "P5", "P7", "P8"],
        "death_date": [d(2019, 6, 30), d(2020, 2, 1), d(2019, 9, 1), d(2019, 5, 1),
                       d(2019, 12, 31), d(2019, 4, 1), d(2019, 7, 1)],
        "cancer": [True, True, False, True, True, True, False],
        "cause_group": ["cancer", "cancer", "heart", "cancer", "cancer", "cancer", "heart"],
        "spc_admitted": [True, True, False, False, True, False, False],
        "region": ["Region Hovedstaden"] * 7,
    }
).with_columns(death_year=pl.col("death_date").dt.year())  # fmt: skip


def _counts(res: QualityIndicatorResult, **where) -> dict[str, tuple[int, int]]:
    tab = res.table.filter(pl.all_horizontal([pl.col(k) == v for k, v in where.items()]))
    return {r["indicator"]: (r["numerator"], r["denominator"]) for r in tab.iter_rows(named=True)}


def test_indicators_count_patients_not_referrals():
    res = quality_indicators(_MULTI, _DECEDENTS, by=("year",))
    # 2019 deaths: P1, P3, P4, P5 (P4 only ineligible referrals; P7, P8 never referred)
    # 1: eligible patients P1, P3, P5; admitted P1, P5
    # 2: admitted P1 (first contact 5 days after the u1 referral), P5 (4 days) -> 2/2
    # 4: EORTC at the first admission: P1 at u1 = 1, P5 = 1 -> 2/2
    # 5: MDC in any admitted course: P1 (at u2), P5 -> 2/2
    # 3A: cancer deaths P1, P4, P5, P7 with SPC P1, P5; 3B: P3, P8 none
    assert _counts(res, year=2019) == {
        "1": (2, 3), "2": (2, 2), "3A": (2, 4), "3B": (0, 2), "4": (2, 2), "5": (2, 2),
    }  # fmt: skip
    # 2020: P2 eligible (admitted at u1), 21 days, EORTC 0, MDK missing
    assert _counts(res, year=2020) == {
        "1": (1, 1), "2": (0, 1), "3A": (1, 1), "4": (0, 1), "5": (0, 1),
    }  # fmt: skip
    assert res.n == 5 and res.params["unit"] == "patient"
    assert any("10 referral(s) of 5 patient(s), 5 with two or more" in x for x in res.notes)


def test_indicators_per_referral_is_an_explicit_option():
    res = quality_indicators(_MULTI, _DECEDENTS, by=("year",), unit="referral")
    # 2019 rows: eligible P1 u1, P1 u2, P3 x2, P5 u2 -> 5, admitted 3
    # 2: P1 u1 5 days, P1 u2 24 days, P5 4 days -> 2/3; 4: 1, 0, 1 -> 2/3; 5: 0, 1, 1 -> 2/3
    assert _counts(res, year=2019) == {
        "1": (3, 5), "2": (2, 3), "3A": (2, 4), "3B": (0, 2), "4": (2, 3), "5": (2, 3),
    }  # fmt: skip
    assert res.n == 10
    patient = quality_indicators(_MULTI, _DECEDENTS, by=("year",))
    for ind in ("1", "2", "4", "5"):  # every referral-based indicator differs
        assert _counts(res, year=2019)[ind] != _counts(patient, year=2019)[ind]
    with pytest.raises(ValueError, match="unit must be one of"):
        quality_indicators(_MULTI, unit="unit")


def test_indicators_by_unit_follow_the_index_referral():
    res = quality_indicators(_MULTI, _DECEDENTS, by=("unit",), years=[2019])
    # index referral: P1 -> u1 (first contact), P3 -> u1 (earliest eligible), P5 -> u2
    assert _counts(res, unit="u1")["1"] == (1, 2)
    assert _counts(res, unit="u2")["1"] == (1, 1)
    # the unit funnel counts each patient once, at the index unit
    fun = res.tables["funnel"].filter((pl.col("indicator") == "1") & (pl.col("level") == "unit"))
    # (2019 deaths: P1 and P3 at u1, P5 at u2; per referral it would be 5 rows)
    assert fun.select("unit", "denominator").sort("unit").rows() == [("u1", 2), ("u2", 1)]


def test_index_referral_ties_and_year_without_decedents():
    two = pl.DataFrame(
        {
            "PNR": ["Q", "Q", "R", "R"],
            "ENHED_ID": ["b", "a", "x", "y"],
            "ENHED_TYPE": ["hospice", "palliativt_team", "hospice", "hospice"],
            # Q: same first-contact day at two units; the earlier referral (unit b) is index
            "HENV_DATO": [d(2018, 12, 1), d(2018, 12, 20), d(2018, 11, 1), d(2019, 1, 3)],
            "MODTAGET": [1, 1, 0, 1],
            "FOERSTE_KONTAKT_DATO": [d(2019, 1, 5), d(2019, 1, 5), None, d(2019, 1, 8)],
            "IKKE_MODTAGET_AARSAG": [None, None, "oensker_ikke", None],
            "EORTC_UDFYLDT": [0, 1, None, 1],
            "MDK": [0, 0, None, 1],
        }
    )
    res = quality_indicators(two, by=("year",))
    # Q: index b (referred 2018-12-01, 35 days, EORTC 0) -> year 2018
    # R: index y (admitted, referred 2019-01-03, 5 days, EORTC 1) -> year 2019
    assert _counts(res, year=2018) == {"1": (1, 1), "2": (0, 1), "4": (0, 1), "5": (0, 1)}
    assert _counts(res, year=2019) == {"1": (1, 1), "2": (1, 1), "4": (1, 1), "5": (1, 1)}
    # the same patients in another row order give the same result
    again = quality_indicators(two.reverse(), by=("year",))
    assert again.table.equals(res.table)


def test_waiting_time_per_patient():
    res = waiting_time(_MULTI, decedents=_DECEDENTS, by=("year",))
    # admitted patients: P1 5 days, P2 21, P5 4
    w19 = _row(res.table, year=2019)
    assert (w19["n"], w19["n_within"], w19["median_days"]) == (2, 2, 4.5)
    assert _row(res.table, year=2020)["n"] == 1
    per_ref = waiting_time(_MULTI, decedents=_DECEDENTS, by=("year",), unit="referral")
    r19 = _row(per_ref.table, year=2019)
    assert (r19["n"], r19["n_within"], r19["median_days"]) == (3, 2, 5.0)  # 4, 5, 24
