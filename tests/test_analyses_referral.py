"""Tests of analysis 1: time to SPC referral from diagnosis, and SPC timing before death.

Reference values come from the estimators in :mod:`paleval.stats` called directly (consistency)
and from the generator's per-person truth (``truth/persons.parquet``: ``spc_referral_date``,
``spc_contact_date``, ``death_date``), computed here independently of the cohort code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from paleval.analyses.referral import (
    ReferralBeforeDeathResult,
    TimeToReferralResult,
    referral_before_death,
    time_to_referral,
)
from paleval.disclosure import count_columns
from paleval.stats import (
    aalen_johansen,
    cause_specific_cox,
    fine_gray,
    gray_test,
    proportion_ci,
)

HORIZON = 730
FULL_FOLLOW_UP = dt.date(2024, 12, 31) - dt.timedelta(days=HORIZON)  # diagnosed by then


@pytest.fixture(scope="module")
def truth_persons(small_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(small_dir / "truth" / "persons.parquet").select(
        "PNR", "death_date", "spc_referral_date", "spc_contact_date", "spc_unit"
    )


@pytest.fixture(scope="module")
def cancer(incident_small: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return incident_small["cancer"]


@pytest.fixture(scope="module")
def by_education(cancer: pl.DataFrame) -> TimeToReferralResult:
    return time_to_referral(cancer, by="education", covariates=["sex"], horizon_days=HORIZON)


@pytest.fixture(scope="module")
def before_death(eol_small: pl.DataFrame) -> ReferralBeforeDeathResult:
    return referral_before_death(eol_small, by="cancer")


def _censored(frame: pl.DataFrame, horizon: int = HORIZON) -> pl.DataFrame:
    return frame.with_columns(
        event=pl.when(pl.col("time") > horizon).then(0).otherwise(pl.col("event")),
        time=pl.min_horizontal("time", pl.lit(horizon)),
    )


def _in_window(start: str, end: str, days: int) -> pl.Expr:
    gap = (pl.col(end) - pl.col(start)).dt.total_days()
    return (gap >= 0) & (gap <= days)


# ============================================================ (a) from diagnosis: numbers
def test_cif_table_equals_aalen_johansen(cancer, by_education):
    cif = by_education.tables["cif"]
    data = _censored(cancer)
    for g in ["lower_secondary", "long_higher", "unknown"]:
        sub = data.filter(pl.col("education") == g)
        rows = cif.filter(pl.col("group") == g).sort("time")
        aj = aalen_johansen(sub["time"], sub["event"], cause=1).at(rows["time"].to_numpy())
        np.testing.assert_allclose(rows["estimate"], aj["estimate"], rtol=1e-12)
        np.testing.assert_allclose(rows["conf_low"], aj["conf_low"], rtol=1e-12)
        np.testing.assert_allclose(rows["conf_high"], aj["conf_high"], rtol=1e-12)
        assert rows["n_risk"].to_list() == aj["n_risk"].to_list()
        # cumulative events of the cause and competing deaths by each grid time
        t = sub["time"].to_numpy()
        e = sub["event"].to_numpy()
        expect = [int(((t <= x) & (e == 1)).sum()) for x in rows["time"]]
        assert rows["events"].to_list() == expect
        expect2 = [int(((t <= x) & (e == 2)).sum()) for x in rows["time"]]
        assert rows["n_competing"].to_list() == expect2
        assert rows["n"].unique().to_list() == [sub.height]


def test_cif_is_a_coarse_grid_never_event_times(by_education):
    cif = by_education.tables["cif"]
    times = sorted(cif["time"].unique().to_list())
    assert len(times) <= HORIZON // 30 + 6
    assert {30.0, 90.0, 180.0, 365.0, 730.0} <= set(times)
    assert max(times) == HORIZON
    gaps = np.diff(times)
    assert gaps.min() >= 15  # grid points next to a requested time are dropped
    assert cif.height == len(times) * 5  # five education groups
    at = by_education.tables["at_times"]
    assert sorted(at["time"].unique().to_list()) == [30.0, 90.0, 180.0, 365.0, 730.0]


def test_referral_cif_at_horizon_matches_truth(incident_small, truth_persons):
    # persons diagnosed early enough to be followed the whole horizon: the truth share referred
    # (referral within the horizon, not after death) must lie in the CI of the CIF
    for name in ("cancer", "noncancer"):
        coh = incident_small[name].filter(pl.col("diagnosis_date") <= FULL_FOLLOW_UP)
        res = time_to_referral(coh, horizon_days=HORIZON, times=(HORIZON,))
        row = res.tables["at_times"].row(0, named=True)
        # the non-cancer cohort ends follow-up at a new cancer (censored): a referral after it
        # is the cancer's, not the non-cancer disease's
        new_cancer = pl.col("new_cancer_date") if "new_cancer_date" in coh.columns else pl.lit(None)
        truth = (
            coh.select("PNR", "diagnosis_date", new_cancer_date=new_cancer)
            .join(truth_persons, on="PNR", how="left")
            .select(
                (
                    _in_window("diagnosis_date", "spc_referral_date", HORIZON)
                    & (
                        pl.col("death_date").is_null()
                        | (pl.col("spc_referral_date") <= pl.col("death_date"))
                    )
                    & (
                        pl.col("new_cancer_date").is_null()
                        | (pl.col("spc_referral_date") < pl.col("new_cancer_date"))
                    )
                )
                .fill_null(False)
                .mean()
            )
            .item()
        )
        assert row["conf_low"] <= truth <= row["conf_high"], (name, row, truth)
        assert abs(row["estimate"] - truth) < 0.005
    # and cancer patients are referred far more often than non-cancer patients
    both = time_to_referral(incident_small, by="cohort", horizon_days=HORIZON)
    at = both.tables["at_times"].filter(pl.col("time") == HORIZON)
    est = dict(zip(at["group"], at["estimate"], strict=True))
    assert est["cancer"] > 10 * est["noncancer"]
    assert both.tables["gray_test"].filter(pl.col("cause") == 1)["p_value"].item() < 1e-10


def test_contact_outcome_from_dpd(small_dir, cancer, truth_persons):
    dpd = pl.scan_parquet(small_dir / "dpd" / "*.parquet")
    coh = cancer.filter(pl.col("diagnosis_date") <= FULL_FOLLOW_UP)
    res = time_to_referral(coh, outcome="contact", dpd=dpd, times=(HORIZON,))
    ref = time_to_referral(coh, times=(HORIZON,))
    row = res.tables["at_times"].row(0, named=True)
    assert row["estimate"] < ref.tables["at_times"]["estimate"].item()
    truth = (
        coh.select("PNR", "diagnosis_date")
        .join(truth_persons, on="PNR", how="left")
        .select(
            (
                _in_window("diagnosis_date", "spc_contact_date", HORIZON)
                & (
                    pl.col("death_date").is_null()
                    | (pl.col("spc_contact_date") <= pl.col("death_date"))
                )
            )
            .fill_null(False)
            .mean()
        )
        .item()
    )
    assert row["conf_low"] <= truth <= row["conf_high"], (row, truth)
    assert res.params["outcome"] == "contact"
    with pytest.raises(ValueError, match="needs the DPD frame"):
        time_to_referral(coh, outcome="contact")


def _entry_period(year: str = "diagnosis_year") -> pl.Expr:
    """The documented default bands, written out (not the code's arithmetic)."""
    y = pl.col(year)
    return (
        pl.when(y <= 2014).then(pl.lit("2010-2014"))
        .when(y <= 2019).then(pl.lit("2015-2019"))
        .when(y <= 2024).then(pl.lit("2020-2024"))
    )  # fmt: skip


def test_fine_gray_and_cause_specific_equal_direct_calls(cancer, by_education):
    data = _censored(cancer).with_columns(period=_entry_period())
    assert data["diagnosis_year"].min() >= 2010 and data["diagnosis_year"].max() <= 2024
    periods = sorted(data["period"].unique().to_list())
    assert len(periods) == 3
    levels = [
        "lower_secondary", "upper_secondary_vocational", "short_medium_higher", "long_higher",
        "unknown",
    ]  # fmt: skip
    design = data.select(
        pl.col("education").cast(pl.Enum(levels)),
        pl.col("sex").cast(pl.Enum(["female", "male"])),
        pl.col("period").cast(pl.Enum(periods)),
    )
    fg = fine_gray(data["time"], data["event"], design, cause=1, cengroup=data["period"])
    cs = cause_specific_cox(data["time"], data["event"], design, cause=1)
    # one pooled censoring distribution (the old analysis) gives other numbers
    pooled = fine_gray(data["time"], data["event"], design, cause=1)
    assert np.max(np.abs(pooled.std_errors / fg.std_errors - 1)) > 1e-6
    assert by_education.models["fine_gray"].n_cengroups == 3
    for name, direct in (("fine_gray", fg), ("cause_specific", cs)):
        tab = by_education.tables[name]
        assert tab["term"].to_list() == direct.terms
        np.testing.assert_allclose(tab["log_hr"], direct.params, rtol=1e-10)
        np.testing.assert_allclose(tab["std_error"], direct.std_errors, rtol=1e-10)
        np.testing.assert_allclose(tab["estimate"], direct.table["hazard_ratio"], rtol=1e-10)
        assert tab["n"].unique().to_list() == [data.height]
        assert tab["events"].unique().to_list() == [int((data["event"] == 1).sum())]
        long = tab.filter(pl.col("level") == "long_higher").row(0, named=True)
        assert long["reference"] == "lower_secondary"
        assert long["n_level"] == data.filter(pl.col("education") == "long_higher").height
        assert (
            long["n_events_level"]
            == data.filter((pl.col("education") == "long_higher") & (pl.col("event") == 1)).height
        )
    # the CIF within each entry period, censoring within the period
    cp = by_education.tables["cif_period"]
    assert cp["period"].unique(maintain_order=True).to_list() == periods
    for per in periods:
        sub = data.filter(pl.col("period") == per)
        aj = aalen_johansen(sub["time"], sub["event"], cause=1).at([float(HORIZON)])
        row = cp.filter((pl.col("period") == per) & (pl.col("time") == HORIZON)).row(0, named=True)
        assert row["estimate"] == pytest.approx(aj["estimate"][0], rel=1e-12)
        assert row["n"] == sub.height
        assert row["events"] == sub.filter(pl.col("event") == 1).height
    gt = gray_test(data["time"], data["event"], data["education"])
    np.testing.assert_allclose(
        by_education.tables["gray_test"]["statistic"], gt.table["statistic"], rtol=1e-12
    )


def test_period_grouping_and_missing_values(cancer):
    sub = cancer.head(3000).with_columns(
        income_quartile=pl.when(pl.col("PNR").str.ends_with("1"))
        .then(None)
        .otherwise(pl.col("income_quartile"))
    )
    n_missing = sub["income_quartile"].null_count()
    assert n_missing > 0
    res = time_to_referral(sub, by="period", covariates=["income_quartile"], horizon_days=365)
    assert res.n == sub.height - n_missing
    assert any(f"{n_missing:,} persons with missing income_quartile" in x for x in res.notes)
    assert set(res.tables["cif"]["group"].unique()) <= {"2010-2014", "2015-2019", "2020-2024"}
    assert res.tables["fine_gray"]["variable"].to_list()[-3:] == ["income_quartile"] * 3


def test_time_to_referral_bad_input(cancer):
    with pytest.raises(ValueError, match=r"\['nonexistent'\]"):
        time_to_referral(cancer, by="nonexistent")
    with pytest.raises(ValueError, match="times must lie"):
        time_to_referral(cancer, horizon_days=365, times=(30, 730))
    bad = cancer.head(50).with_columns(event=pl.lit(4, pl.Int8))
    with pytest.raises(ValueError, match="50 rows"):
        time_to_referral(bad)
    with pytest.raises(ValueError, match="outcome must be"):
        time_to_referral(cancer, outcome="admission")


def test_time_to_referral_tables_have_counts(by_education):
    for name, tab in by_education.tables.items():
        assert count_columns(tab.columns), name
    assert set(by_education.tables) == {"cif", "at_times", "cif_period", "gray_test",
                                        "fine_gray", "cause_specific"}  # fmt: skip
    plain = time_to_referral(pl.DataFrame({"time": [5, 50, 400], "event": [1, 2, 0]}), period=None)
    assert list(plain.tables) == ["cif", "at_times"]
    assert plain.tables["cif"]["group"].unique().to_list() == ["all"]


# ============================================================ (a) figures, disclosure, repr
@pytest.mark.parametrize("lang", ["en", "da"])
def test_cif_figure(by_education, lang):
    ax = by_education.plot("cif", lang=lang)
    assert len(ax.lines) == 5  # one step curve per education group
    assert len(ax.collections) == 5  # CI bands
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == ("Lower secondary" if lang == "en" else "Grundskole")
    assert ax.get_xlabel() == (
        "Months since diagnosis" if lang == "en" else "Måneder efter diagnose"
    )
    assert ("Cumulative incidence" if lang == "en" else "Kumuleret incidens") in ax.get_ylabel()
    assert ("competing" if lang == "en" else "konkurrerende") in ax.get_title()
    assert ax.get_xlim()[1] == pytest.approx(HORIZON / (365.25 / 12), rel=0.1)
    plt.close("all")


@pytest.mark.parametrize("lang", ["en", "da"])
def test_forest_figure(by_education, lang):
    ax = by_education.plot("forest", lang=lang)
    n_terms = by_education.tables["fine_gray"].height
    assert len(ax.containers) == 2  # Fine-Gray and cause-specific side by side
    assert all(len(c.lines[0].get_xdata()) == n_terms for c in ax.containers)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == n_terms
    assert ("Education: Long higher" if lang == "en" else "Uddannelse: Lang videregående") in ticks
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1] == ("Cause-specific Cox" if lang == "en" else "Årsagsspecifik Cox")
    assert ("Hazard ratio" if lang == "en" else "Hazardratio") in ax.get_xlabel()
    plt.close("all")
    empty = time_to_referral(pl.DataFrame({"time": [5, 50, 400], "event": [1, 2, 0]}), period=None)
    ax = empty.plot("forest")
    assert "No model" in ax.texts[0].get_text()
    plt.close("all")


def test_time_to_referral_disclosed(cancer):
    small = cancer.filter(pl.col("region") == cancer["region"][0]).head(400)
    res = time_to_referral(small, by="education", covariates=["sex"], horizon_days=365)
    raw = res.tables["cif"]
    assert raw.filter((pl.col("events") > 0) & (pl.col("events") < 5)).height > 0
    pub = res.disclosed()
    assert pub.disclosure_threshold == 5 and pub.models == {}
    for name, tab in pub.tables.items():
        for c in count_columns(tab.columns):
            assert tab.filter((pl.col(c) > 0) & (pl.col(c) < 5)).height == 0, (name, c)
    cif = pub.tables["cif"]
    assert cif["time"].null_count() == 0  # the grid itself is not secret
    # along each published curve the cumulative counts rise by 0 or at least 5
    for _, part in cif.filter(~pl.col("suppressed")).group_by("group"):
        for col in ("events", "n_competing"):
            rise = np.diff(np.r_[0, part.sort("time")[col].to_numpy()])
            assert np.all((rise == 0) | (rise >= 5)), (col, rise)
    # the CIF within entry period obeys the same rule between its published times
    for _, part in pub.tables["cif_period"].filter(~pl.col("suppressed")).group_by("period"):
        for col in ("events", "n_competing"):
            rise = np.diff(np.r_[0, part.sort("time")[col].to_numpy()])
            assert np.all((rise == 0) | (rise >= 5)), (col, rise)
    # at_times shows exactly the published cif rows at the requested times
    at = pub.tables["at_times"]
    back = cif.join(at.select("group", "time"), on=["group", "time"], how="semi")
    assert back["estimate"].to_list() == at["estimate"].to_list()
    # the disclosed figure draws only published points: suppressed ones are NaN (the curve
    # breaks there) and marked with an "x" on the axis
    ax = pub.plot("cif")
    curves_ = [line for line in ax.lines if line.get_marker() != "x"]
    drawn = sum(int(np.isfinite(np.asarray(ln.get_ydata(), dtype=float)).sum()) for ln in curves_)
    published = cif.filter(pl.col("estimate").is_not_null())
    assert drawn <= published.height + published["group"].n_unique()
    marks = sum(len(ln.get_xdata()) for ln in ax.lines if ln.get_marker() == "x")
    assert marks == cif.filter(pl.col("estimate").is_null()).height
    plt.close("all")


def test_time_to_referral_repr(by_education):
    text = repr(by_education)
    assert text.startswith("TimeToReferralResult: Time from diagnosis to referral to SPC")
    assert "[cif]" in text and "[fine_gray]" in text and "figures: cif, forest" in text
    assert "<details>" in by_education._repr_html_()


# ============================================================ (b) from the end: numbers
def test_interval_medians_match_truth(eol_small, before_death, truth_persons):
    referred = eol_small.filter("spc_referred").select("PNR", "cancer")
    truth = referred.join(truth_persons, on="PNR", how="left").with_columns(
        ref=(pl.col("death_date") - pl.col("spc_referral_date")).dt.total_days(),
        con=(pl.col("death_date") - pl.col("spc_contact_date")).dt.total_days(),
    )
    admitted = eol_small.filter("spc_admitted").select("PNR")
    summary = before_death.tables["summary"]
    for interval, col, members in (
        ("referral_to_death", "ref", truth),
        ("contact_to_death", "con", truth.join(admitted, on="PNR", how="semi")),
    ):
        for group, sel in (
            ("all", pl.lit(True)),
            ("cancer", pl.col("cancer")),
            ("noncancer", ~pl.col("cancer")),
        ):
            vals = members.filter(sel)[col].drop_nulls().to_numpy()
            row = summary.filter((pl.col("interval") == interval) & (pl.col("group") == group)).row(
                0, named=True
            )
            assert row["n"] == vals.size, (interval, group)
            assert row["median"] == pytest.approx(np.median(vals)), (interval, group)
            q1, q3 = np.quantile(vals, [0.25, 0.75])
            assert (row["q1"], row["q3"]) == pytest.approx((q1, q3)), (interval, group)
            assert row["median_low"] <= row["median"] <= row["median_high"]
            late = float((vals < 7).mean())
            share = before_death.tables["shares"].filter(
                (pl.col("interval") == interval)
                & (pl.col("group") == group)
                & (pl.col("threshold") == 7)
            )
            assert share["conf_low"].item() <= late <= share["conf_high"].item()


def test_contact_to_death_by_unit_type_follows_planted_order(eol_small, truth_persons):
    # planted contact-to-death medians: hospice 23 days, hospital team/unit 45 days (lognormal,
    # truncated at the diagnosis date, so slightly shorter)
    res = referral_before_death(eol_small, by="spc_unit")
    s = res.tables["summary"].filter(pl.col("interval") == "contact_to_death")
    med = dict(zip(s["group"], s["median"], strict=True))
    assert set(med) == {"all", "hospital", "hospice"}  # never admitted: no contact interval
    assert 18 <= med["hospice"] <= 23 < 38 <= med["hospital"] <= 45
    truth = (
        eol_small.filter("spc_admitted")
        .select("PNR", "spc_unit")
        .join(truth_persons.select("PNR", "death_date", "spc_contact_date"), on="PNR")
        .group_by("spc_unit")
        .agg((pl.col("death_date") - pl.col("spc_contact_date")).dt.total_days().median())
    )
    for unit, m in truth.iter_rows():
        assert med[unit] == m


def test_shares_and_distribution_tables(eol_small, before_death):
    shares = before_death.tables["shares"]
    assert shares.height == 2 * 3 * 3  # intervals x (all, cancer, noncancer) x thresholds
    ci = proportion_ci(shares["n_late"], shares["n"])
    np.testing.assert_allclose(shares["conf_low"], ci["conf_low"])
    np.testing.assert_allclose(shares["conf_high"], ci["conf_high"])
    direct = eol_small.filter("spc_referred").select(
        (pl.col("spc_referral_to_death_days") < 30).sum()
    )
    row = shares.filter(
        (pl.col("interval") == "referral_to_death")
        & (pl.col("group") == "all")
        & (pl.col("threshold") == 30)
    )
    assert row["n_late"].item() == direct.item()
    dist = before_death.tables["distribution"]
    totals = dist.group_by("interval", "group").agg(pl.col("n").sum(), pl.col("n_group").first())
    assert (totals["n"] == totals["n_group"]).all()
    assert dist["bin"].unique(maintain_order=True).to_list() == [
        "0-6", "7-29", "30-89", "90-179", "180-364", "365+",
    ]  # fmt: skip
    # the late-referral counts are sums of whole bins (no extra information)
    for k, bins_below in ((7, 1), (30, 2), (90, 3)):
        cum = (
            dist.filter(pl.col("bin_low") < k)
            .group_by("interval", "group")
            .agg(pl.col("n").sum().alias("cum"), pl.len().alias("k"))
        )
        assert cum["k"].unique().to_list() == [bins_below]
        chk = shares.filter(pl.col("threshold") == k).join(cum, on=["interval", "group"])
        assert (chk["n_late"] == chk["cum"]).all()
    for name, tab in before_death.tables.items():
        assert count_columns(tab.columns), name


def test_referral_before_death_groupings_and_errors(eol_small):
    res = referral_before_death(eol_small, by="period", thresholds=(7,))
    groups = res.tables["summary"]["group"].unique(maintain_order=True).to_list()
    assert groups == ["all", "2010-2014", "2015-2019", "2020-2024"]
    res = referral_before_death(eol_small, by=None)
    assert res.tables["summary"]["group"].to_list() == ["all", "all"]
    with pytest.raises(ValueError, match="spc_referral_date"):
        referral_before_death(eol_small.drop("spc_referral_date"))
    with pytest.raises(ValueError, match="thresholds"):
        referral_before_death(eol_small, thresholds=(0, 7))


# ============================================================ (b) figures, disclosure, repr
@pytest.mark.parametrize("lang", ["en", "da"])
def test_shares_figures(before_death, lang):
    for kind, title in (
        ("shares", ("Referred to SPC", "Henvist til SPI")),
        ("shares_contact", ("First SPC contact", "Første kontakt")),
    ):
        ax = before_death.plot(kind, lang=lang)
        assert len(ax.containers) == 3  # one error-bar series per threshold
        assert all(len(c.lines[0].get_xdata()) == 3 for c in ax.containers)
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks == (
            ["All", "Cancer", "Non-cancer"] if lang == "en" else ["Alle", "Kræft", "Ikke-kræft"]
        )
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"< {k} {'days' if lang == 'en' else 'dage'}" for k in (7, 30, 90)]
        assert ax.get_legend().get_title().get_text() == (
            "Late referral" if lang == "en" else "Sen henvisning"
        )
        assert title[0 if lang == "en" else 1] in ax.get_title()
        assert ("Share" if lang == "en" else "Andel") in ax.get_ylabel()
        plt.close("all")


@pytest.mark.parametrize("lang", ["en", "da"])
def test_distribution_figures(before_death, lang):
    for kind in ("distribution", "distribution_contact"):
        ax = before_death.plot(kind, lang=lang)
        assert len(ax.patches) == 3 * 6  # groups x bins
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend[0] == ("0-6 days" if lang == "en" else "0-6 dage")
        assert legend[-1] == ("365+ days" if lang == "en" else "365+ dage")
        assert ax.get_xlabel() == ("Per cent" if lang == "en" else "Procent")
        assert ("Days from" if lang == "en" else "Dage fra") in ax.get_title()
        plt.close("all")


def test_referral_before_death_disclosed(eol_small):
    small = eol_small.filter(pl.col("spc_referred")).head(250)
    res = referral_before_death(small, by="cause_group")
    raw = res.tables["shares"]
    assert raw.filter((pl.col("n") > 0) & (pl.col("n") < 5)).height > 0
    pub = res.disclosed()
    for name, tab in pub.tables.items():
        for c in count_columns(tab.columns):
            assert tab.filter((pl.col(c) > 0) & (pl.col(c) < 5)).height == 0, (name, c)
        assert tab["suppressed"].any(), name
    shares = pub.tables["shares"]
    assert shares["threshold"].null_count() == 0
    for _, part in shares.filter(~pl.col("suppressed")).group_by("interval", "group"):
        rise = np.diff(np.r_[0, part.sort("threshold")["n_late"].to_numpy()])
        assert np.all((rise == 0) | (rise >= 5)), rise
    # figures of the disclosed result draw published numbers only
    ax = pub.plot("shares")
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert (
        drawn
        == shares.filter(
            (pl.col("interval") == "referral_to_death") & pl.col("estimate").is_not_null()
        ).height
    )
    plt.close("all")


def test_referral_before_death_repr(before_death):
    text = repr(before_death)
    assert text.startswith("ReferralBeforeDeathResult: Timing of referral")
    assert "[summary]" in text and "[shares]" in text and "[distribution]" in text
    assert f"n = {before_death.n:,}" in text


def test_levels_without_events_leave_the_models():
    rng = np.random.default_rng(3)
    n = 600
    group = np.repeat(["a", "b", "c"], n // 3)
    event = rng.integers(0, 3, n)
    event[group == "c"] = np.where(event[group == "c"] == 1, 2, event[group == "c"])
    df = pl.DataFrame({"time": rng.integers(1, 700, n), "event": event, "g": group})
    res = time_to_referral(df, by="g", horizon_days=730, period=None)
    assert res.tables["fine_gray"]["level"].to_list() == ["b"]
    assert res.models["fine_gray"].n == 400
    assert any("200 persons with g = c" in x for x in res.notes)
    assert res.tables["cif"]["group"].unique(maintain_order=True).to_list() == ["a", "b", "c"]


def test_period_none_is_the_pooled_analysis_and_period_needs_a_year(cancer):
    res = time_to_referral(cancer, by="education", horizon_days=HORIZON, period=None)
    assert "cif_period" not in res.tables
    assert res.models["fine_gray"].n_cengroups == 1
    assert "period" not in res.tables["fine_gray"]["variable"].to_list()
    with pytest.raises(ValueError, match="diagnosis_year"):
        time_to_referral(pl.DataFrame({"time": [5, 50, 400], "event": [1, 2, 0]}))
    with pytest.raises(ValueError, match="period must be"):
        time_to_referral(cancer, period=3)


def test_contact_outcome_censors_at_the_persons_censor_date():
    d = dt.date
    coh = pl.DataFrame({
        "PNR": ["a", "b", "c", "d"],
        "diagnosis_date": [d(2020, 1, 1)] * 4,
        "diagnosis_year": [2020] * 4,
        # b emigrates on 1 March 2020, before a contact (1 May) and death (1 June) abroad
        "death_date": [None, d(2020, 6, 1), d(2020, 3, 1), None],
        "exit_date": [d(2020, 2, 1), d(2020, 3, 1), d(2020, 3, 1), d(2024, 12, 31)],
        "censor_date": [d(2024, 12, 31), d(2020, 3, 1), d(2024, 12, 31), d(2024, 12, 31)],
        "time": [31, 60, 60, 1826], "event": [1, 0, 2, 0],
    })  # fmt: skip
    dpd = pl.DataFrame({
        "PNR": ["a", "b"], "FOERSTE_KONTAKT_DATO": [d(2020, 2, 10), d(2020, 5, 1)],
        "MODTAGET": [1, 1],
    })  # fmt: skip
    res = time_to_referral(coh, outcome="contact", dpd=dpd, horizon_days=3000, times=(365,))
    # expected by hand: a contact day 40; b censored day 60 (emigration); c death day 60;
    # d censored at the end of follow-up (day 1826)
    aj = aalen_johansen([40, 60, 60, 1826], [1, 0, 2, 0], cause=1).at([365.0])
    row = res.tables["at_times"].row(0, named=True)
    assert row["estimate"] == pytest.approx(aj["estimate"][0], rel=1e-12)
    assert row["events"] == 1 and row["n_competing"] == 1
    assert any("censor_date" in x for x in res.notes)


def test_event_3_competes():
    # a new cancer in the non-cancer cohort as a competing event (incident cohort option)
    rng = np.random.default_rng(11)
    n = 600
    df = pl.DataFrame(
        {
            "time": rng.integers(1, 700, n),
            "event": rng.choice([0, 1, 2, 3], n, p=[0.3, 0.3, 0.25, 0.15]),
            "g": rng.choice(["a", "b"], n),
        }
    )
    res = time_to_referral(df, by="g", horizon_days=730, times=(365,), period=None)
    for grp in ("a", "b"):
        sub = df.filter(pl.col("g") == grp)
        direct = aalen_johansen(sub["time"], sub["event"], cause=1).at([365.0])
        # event 3 read as censoring would give a higher CIF
        wrong = aalen_johansen(sub["time"], sub["event"].replace(3, 0), cause=1).at([365.0])
        row = _row_at(res.tables["at_times"], grp)
        assert row["estimate"] == pytest.approx(direct["estimate"][0], rel=1e-12)
        assert row["estimate"] < wrong["estimate"][0]
        assert (
            row["n_competing"]
            == sub.filter(pl.col("event").is_in([2, 3]) & (pl.col("time") <= 365)).height
        )
    fg = fine_gray(df["time"], df["event"], df.select(pl.col("g").cast(pl.Enum(["a", "b"]))))
    assert res.tables["fine_gray"]["log_hr"][0] == pytest.approx(fg.params[0], rel=1e-10)
    assert res.tables["gray_test"]["outcome"].to_list() == ["referral", "death", "other_competing"]
    assert any("event 3" in x for x in res.notes)


def _row_at(tab: pl.DataFrame, group: str) -> dict:
    sub = tab.filter(pl.col("group") == group)
    assert sub.height == 1
    return sub.row(0, named=True)
