"""Analysis 4, social inequality: planted truth, tables, figures, disclosure, repr."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import polars as pl
import pytest

from paleval.analyses.inequality import InequalityResult, social_inequality
from paleval.cohort import decedent_cohort
from paleval.registers import scan_registers

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# The planted model (paleval.synth.simulate._spc, truth["planted"]["spc_admittance_cancer"]):
# adult cancer decedents; education, income quartile, female, age group, living alone,
# immigrant, region, cancer site, death year (categorical). The cohort's region_code is BEF's
# REG ("84") for the DST region code 1084.
PLANTED = {
    "factors": ["education", "income_quartile", "living_alone", "immigrant", "region_code"],
    "covariates": ["female", "age_group", "death_year", "cancer_site"],
    "reference": {
        "education": "lower_secondary",
        "income_quartile": 1,
        "age_group": "80-89",
        "region_code": "84",
        "cancer_site": "lung",
    },
}


@pytest.fixture(scope="module")
def res(eol_small: pl.DataFrame) -> InequalityResult:
    return social_inequality(eol_small)


@pytest.fixture(scope="module")
def eol_small_lag1(eol_small: pl.DataFrame, small_dir) -> pl.DataFrame:
    """The cohort with the generator's planted income definition (the year before death)."""
    regs = scan_registers(small_dir, ["dod", "dodsaasg", "bef", "udda", "faik"])
    inc = decedent_cohort(regs, income_lag=1).collect().select("PNR", "income", "income_quartile")
    return eol_small.drop("income", "income_quartile").join(inc, on="PNR", how="left")


@pytest.fixture(scope="module")
def planted_fit(eol_small_lag1: pl.DataFrame) -> InequalityResult:
    return social_inequality(
        eol_small_lag1,
        mutual=True,  # the planted model is one conditional model of all factors
        cluster=None,  # and draws persons independently given them: model-based SEs are exact
        outcomes=["spc_admitted"],
        factors=PLANTED["factors"],
        covariates=PLANTED["covariates"],
        reference=PLANTED["reference"],
        population="cancer",
        measures=["OR"],
        joint=None,
    )


def _planted_terms(truth: dict) -> dict[str, float]:
    """Planted log ORs keyed by the model's term names."""
    lor = truth["planted"]["spc_admittance_cancer"]["log_odds_ratios"]
    out = {}
    for k, v in lor.items():
        if not isinstance(v, dict):
            name = {
                "living_alone": "living_alone[living_alone]",
                "immigrant": "immigrant[immigrant]",
            }
            out[name.get(k, k)] = v
            continue
        col = {"site": "cancer_site", "region": "region_code"}.get(k, k)
        ref = str(truth["planted"]["spc_admittance_cancer"]["reference"][k])
        for level, beta in v.items():
            if level == ref:
                assert beta == 0.0
                continue
            lev = level[2:] if k == "region" else level  # 1084 -> BEF REG "84"
            out[f"{col}[{lev}]"] = beta
    # the generator plants one 80+ band (its reference); the cohort splits it into 80-89
    # (the reference) and 90+, whose planted log OR against 80-89 is therefore 0
    assert lor["age_group"]["80+"] == 0.0
    out["age_group[90+]"] = 0.0
    return out


# -- (1) planted truth and calibrated levels -------------------------------------------------
def test_planted_spc_admittance_log_odds_ratios(planted_fit, truth_small):
    """Every planted conditional log OR lies in the model's CI (exact planted specification).

    Education "unknown" (missing UDDA; the generator draws the SPC outcome from the true level)
    and missing income are left out as complete cases: their missingness depends on origin,
    birth cohort and chance only, so the conditional ORs stay unbiased.
    """
    model = planted_fit.models["spc_admitted|OR"]
    tab = model.table
    planted = _planted_terms(truth_small)
    assert len(planted) == 32
    # exactly the planted terms plus the death-year intercepts, nothing else
    extra = set(model.terms) - set(planted) - {"(Intercept)"}
    assert extra == {f"death_year[{y}]" for y in range(2011, 2025)}
    z99 = 2.5758
    misses95 = []
    for term, beta in planted.items():
        row = tab.filter(pl.col("term") == term)
        assert row.height == 1, term
        est, se = row["estimate"].item(), row["std_error"].item()
        lo, hi = row["conf_low"].item(), row["conf_high"].item()
        assert est - z99 * se <= beta <= est + z99 * se, (term, beta, est, se)
        if not lo <= beta <= hi:
            misses95.append(term)
    # 32 terms at 95 %: about 1.6 misses expected by chance
    assert len(misses95) <= 3, misses95
    # the headline social gradient: every education and income term in its 95 % CI
    sep = [t for t in planted if t.startswith(("education[", "income_quartile["))]
    assert not [t for t in sep if t in misses95]
    # and the test has power: a null effect of academic education is rejected
    row = tab.filter(pl.col("term") == "education[long_higher]")
    assert row["conf_low"].item() > 0.0
    assert row["conf_high"].item() - row["conf_low"].item() < 0.6


def test_planted_fit_is_reported_in_ratios(planted_fit, eol_small_lag1):
    rat = planted_fit.tables["ratios"]
    edu = rat.filter(pl.col("factor") == "education")
    assert edu["level"].to_list() == [
        "lower_secondary",
        "upper_secondary_vocational",
        "short_medium_higher",
        "long_higher",
    ]
    assert edu.filter("is_reference")["estimate"].to_list() == [1.0]
    model = planted_fit.models["spc_admitted|OR"]
    long = model.table.filter(pl.col("term") == "education[long_higher]")["ratio"].item()
    assert edu.filter(pl.col("level") == "long_higher")["estimate"].item() == pytest.approx(long)
    # complete cases: cancer decedents with known education and income, not living in a
    # nursing home (residents' living_alone is missing: not living alone at home)
    cancer = eol_small_lag1.filter("cancer")
    cc = cancer.filter(
        (pl.col("education") != "unknown")
        & pl.col("income_quartile").is_not_null()
        & ~pl.col("nursing_home_resident").fill_null(False)
        # and not a one-person family who died before the nursing-home register began (2011):
        # living alone at home or in a nursing home is then unknown
        & pl.col("living_alone").is_not_null()
    )
    assert model.n == cc.height
    assert int(edu["n"].sum()) == cc.height
    assert any("unknown level of education/income_quartile" in x for x in planted_fit.notes)


def test_calibrated_spc_levels(res, eol_small):
    """Crude SPC admittance of cancer decedents matches the cohort and the calibration."""
    prop = res.tables["proportions"].filter(
        (pl.col("outcome") == "spc_admitted") & (pl.col("factor") == "education")
    )
    cancer = eol_small.filter("cancer")
    assert int(prop["n"].sum()) == cancer.height
    assert int(prop["events"].sum()) == int(cancer["spc_admitted"].sum())
    share = prop["events"].sum() / prop["n"].sum()
    assert 0.35 < share < 0.55  # 37 % (2010-12) rising to 50 % (2019)
    edu = dict(zip(prop["level"], prop["estimate"], strict=True))
    assert edu["long_higher"] > edu["lower_secondary"]


# -- (2) tidy tables with counts -------------------------------------------------------------
def test_tables_have_counts_and_expected_columns(res):
    assert list(res.tables) == ["proportions", "ratios", "indices", "joint"]
    for name, tab in res.tables.items():
        assert {"n", "events"} <= set(tab.columns), name
        assert tab.height > 0, name
        assert tab["n"].dtype == pl.Int64
    prop = res.tables["proportions"]
    assert set(prop["outcome"]) == {
        "spc_admitted",
        "spc_hospice",
        "spc_hospital",
        "late_referral",
        "home_death",
        "gp_home_visit",
    }
    assert set(prop["factor"]) == {
        "education",
        "income_quartile",
        "living_alone",
        "origin",
        "region",
    }
    ok = prop.filter(pl.col("estimate").is_not_null())
    assert (ok["conf_low"] <= ok["estimate"]).all() and (ok["estimate"] <= ok["conf_high"]).all()
    assert np.allclose(prop["crude"], prop["events"] / prop["n"])


def test_standardised_proportion_by_hand(res, eol_small):
    """Direct standardisation to the cancer decedents' age x sex distribution."""
    d = eol_small.filter("cancer")
    std = d.group_by("age_group", "sex").agg(w=pl.len() / d.height)
    lev = d.filter(pl.col("education") == "long_higher")
    rates = lev.group_by("age_group", "sex").agg(r=pl.col("spc_admitted").mean())
    expected = std.join(rates, on=["age_group", "sex"]).select((pl.col("w") * pl.col("r")).sum())
    got = res.tables["proportions"].filter(
        (pl.col("outcome") == "spc_admitted") & (pl.col("level") == "long_higher")
    )["estimate"]
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_outcome_definitions(res, eol_small):
    prop = res.tables["proportions"].filter(pl.col("factor") == "living_alone")
    tot = prop.group_by("outcome").agg(pl.col("n").sum(), pl.col("events").sum())
    tot = {r["outcome"]: (r["n"], r["events"]) for r in tot.iter_rows(named=True)}
    c = eol_small.filter("cancer")
    assert tot["spc_hospice"][1] + tot["spc_hospital"][1] == tot["spc_admitted"][1]
    assert tot["spc_hospice"][1] == c.filter(pl.col("spc_unit") == "hospice").height
    ref = c.filter(pl.col("spc_referred") & (pl.col("spc_referral_to_death_days") >= 0))
    assert tot["late_referral"] == (
        ref.height,
        ref.filter(pl.col("spc_referral_to_death_days") < 30).height,
    )
    assert tot["home_death"] == (
        c.filter(pl.col("place_of_death") != "unknown").height,
        c.filter(pl.col("place_of_death") == "home").height,
    )
    assert tot["gp_home_visit"][1] == c.filter(pl.col("gp_home_visits_90d") > 0).height


def test_ratios_or_and_pr(res, eol_small):
    rat = res.tables["ratios"].filter(pl.col("outcome") == "spc_admitted")
    assert set(rat["measure"]) == {"OR", "PR"}
    refs = rat.filter("is_reference")
    assert (refs["estimate"] == 1.0).all() and refs["conf_low"].is_null().all()
    assert dict(zip(refs["factor"], refs["level"], strict=True)) == {
        "education": "lower_secondary",
        "income_quartile": "1",
        "living_alone": "cohabiting",
        "origin": "danish",
        "region": "Region Hovedstaden",
    }

    def get(measure: str, level: str) -> float:
        r = rat.filter((pl.col("measure") == measure) & (pl.col("level") == level))
        return r["estimate"].item()

    # a common outcome: the PR lies between 1 and the OR
    for lev in ("long_higher", "4"):
        assert 1.0 < get("PR", lev) < get("OR", lev)
    # the default: total effects, one model per factor, cluster-robust by practice
    assert "spc_admitted|PR|education" in res.models
    assert "spc_admitted|PR" not in res.models
    m = res.models["spc_admitted|PR|education"]
    assert m.vcov_type == "CL-HC0"
    cancer = eol_small.filter("cancer")
    analysed = cancer.filter(pl.col("education") != "unknown")
    n_cl = analysed["practice"].drop_nulls().n_unique() + analysed["practice"].null_count()
    assert m.n == analysed.height and m.n_clusters == n_cl


def test_default_is_the_total_effect_and_mutual_an_option(eol_small):
    kw = dict(outcomes=["home_death"], factors=["living_alone", "origin"], measures=["PR"],
              joint=None)  # fmt: skip
    r = social_inequality(eol_small, **kw)
    assert r.params["adjust"] == "separate" and r.params["estimand"] == "total effect"
    assert set(r.models) == {"home_death|PR|living_alone", "home_death|PR|origin"}
    assert set(r.tables["ratios"]["adjustment"]) == {"separate"}
    assert any("total effect of each social factor" in x for x in r.notes)
    # living alone lowers the chance of a home death (planted PR 0.75)
    la = r.tables["ratios"].filter(pl.col("level") == "living_alone")["estimate"].item()
    assert la < 1.0
    # the separate model of living_alone has no origin term (the old mutual default had one)
    assert not any(t.startswith("origin[") for t in r.models["home_death|PR|living_alone"].terms)
    mu = social_inequality(eol_small, mutual=True, **kw)
    assert set(mu.models) == {"home_death|PR"} and mu.params["estimand"] == (
        "controlled direct effect"
    )
    assert any("controlled direct effect" in x for x in mu.notes)
    assert any(t.startswith("origin[") for t in mu.models["home_death|PR"].terms)


def test_cancer_site_in_the_default_confounders(eol_small):
    r = social_inequality(eol_small, outcomes=["spc_admitted"], factors=["education"],
                          measures=["OR"], joint=None)  # fmt: skip
    m = r.models["spc_admitted|OR|education"]
    sites = eol_small.filter("cancer")["cancer_site"].drop_nulls().unique()
    site_terms = {t for t in m.terms if t.startswith("cancer_site[")}
    assert len(site_terms) >= min(3, sites.len() - 1)
    assert "cancer_site" in r.params["covariates"]
    # not for all decedents (no site for most), nor when the covariates are given
    a = social_inequality(eol_small, outcomes=["home_death"], factors=["education"],
                          population="all", measures=["OR"], joint=None)  # fmt: skip
    assert "cancer_site" not in a.params["covariates"]
    g = social_inequality(eol_small, outcomes=["spc_admitted"], factors=["education"],
                          covariates=["age_group"], measures=["OR"], joint=None)  # fmt: skip
    assert g.params["covariates"] == ["age_group"]


def test_cluster_option_changes_only_the_standard_errors(eol_small):
    kw = dict(outcomes=["spc_admitted"], factors=["education"], measures=["OR"], joint=None)
    a = social_inequality(eol_small, **kw).models["spc_admitted|OR|education"]
    b = social_inequality(eol_small, cluster=None, **kw).models["spc_admitted|OR|education"]
    assert b.vcov_type == "model" and a.vcov_type == "CL-HC0"
    assert np.allclose(a.table["estimate"], b.table["estimate"], rtol=1e-10)
    assert not np.allclose(a.table["std_error"], b.table["std_error"], rtol=1e-3)


def test_living_alone_and_nursing_home_residents():
    """Residents are not 'living alone' (BEF counts them as one-person families)."""
    rng = np.random.default_rng(5)
    m = 600
    la = rng.random(m) < 0.5
    nh = la & (rng.random(m) < 0.3)  # residents are one-person families in BEF
    d = pl.DataFrame({
        "living_alone": la, "nursing_home_resident": nh, "cancer": True,
        "age_group": rng.choice(["70-79", "80-89"], m), "sex": rng.choice(["male", "female"], m),
        "death_year": 2020, "home_death": rng.random(m) < np.where(nh, 0.05, 0.3),
    })  # fmt: skip
    r = social_inequality(d, outcomes=["home_death"], factors=["living_alone"],
                          covariates=["age_group"], measures=["PR"], joint=None)  # fmt: skip
    prop = r.tables["proportions"]
    n = dict(zip(prop["level"], prop["n"], strict=True))
    assert n == {"cohabiting": int((~la).sum()), "living_alone": int((la & ~nh).sum()),
                 "missing": int(nh.sum())}  # fmt: skip
    assert any(f"{int(nh.sum()):,} nursing-home residents set to missing" in x for x in r.notes)
    arr = social_inequality(d, outcomes=["home_death"], factors=["living_arrangement"],
                            covariates=["age_group"], measures=["PR"], joint=None)  # fmt: skip
    lv = arr.tables["proportions"]
    assert dict(zip(lv["level"], lv["n"], strict=True))["nursing_home"] == int(nh.sum())
    # without the indicator the mix is named in the notes
    r0 = social_inequality(d.drop("nursing_home_resident"), outcomes=["home_death"],
                           factors=["living_alone"], covariates=["age_group"], measures=["PR"],
                           joint=None)  # fmt: skip
    assert any("includes nursing-home residents" in x for x in r0.notes)


def test_indices(res):
    idx = res.tables["indices"]
    assert set(idx["factor"]) == {"education", "income_quartile"}
    spc = idx.filter(pl.col("outcome") == "spc_admitted")
    for f in ("education", "income_quartile"):
        sii = spc.filter((pl.col("factor") == f) & (pl.col("measure") == "SII"))
        rii = spc.filter((pl.col("factor") == f) & (pl.col("measure") == "RII"))
        assert sii["conf_low"].item() > 0 and rii["conf_low"].item() > 1
    assert spc.filter(pl.col("factor") == "education")["order"][0].startswith("lower_secondary <")


def test_joint_gradient(res, eol_small):
    j = res.tables["joint"]
    assert j.height == 16
    assert j.filter("is_reference").select("education", "income_quartile").row(0) == (
        "lower_secondary",
        "1",
    )
    top = j.filter((pl.col("education") == "long_higher") & (pl.col("income_quartile") == "4"))
    assert top["estimate"].item() > 1.5  # most affluent academics vs least (published 1.96)
    c = eol_small.filter(
        pl.col("cancer")
        & (pl.col("education") != "unknown")
        & pl.col("income_quartile").is_not_null()
    )
    assert int(j["n"].sum()) == c.height
    # the cell with no non-events (separation) keeps its counts but has no OR
    sep = j.filter((pl.col("n") == pl.col("events")) | (pl.col("events") == 0))
    assert sep["estimate"].is_null().all()
    assert any("joint gradient" in x for x in res.notes) == (sep.height > 0)


def test_bad_input(eol_small):
    with pytest.raises(ValueError, match=r"\['education'\]"):
        social_inequality(eol_small.drop("education"), outcomes=["spc_admitted"])
    with pytest.raises(ValueError, match="population"):
        social_inequality(eol_small, population="children")
    with pytest.raises(ValueError, match="both as factor and as covariate"):
        social_inequality(eol_small, factors=["education"], covariates=["education"])
    with pytest.raises(ValueError, match="reference level 'phd'"):
        social_inequality(
            eol_small, outcomes=["spc_admitted"], factors=["education"], joint=None,
            reference={"education": "phd"},
        )  # fmt: skip


# -- (3) figures -----------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "da"])
def test_gradient_figure(res, lang):
    ax = res.plot("gradient", lang=lang)
    prop = res.tables["proportions"].filter(pl.col("outcome") == "spc_admitted")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ticks) == prop.height  # every level (crude estimate always there)
    assert ("Long higher" if lang == "en" else "Lang videregående") in ticks
    assert "Q4" in ticks
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == (
        ["Crude", "Age/sex standardised"] if lang == "en" else ["Rå", "Alders-/kønsstandardiseret"]
    )
    assert len(ax.containers) == 2  # one error-bar series per kind
    assert ax.get_ylabel() == ("Proportion (%)" if lang == "en" else "Andel (%)")
    texts = {t.get_text() for t in ax.texts}
    assert ("Education" if lang == "en" else "Uddannelse") in texts
    plt.close(ax.figure)


@pytest.mark.parametrize("lang", ["en", "da"])
def test_forest_figure(res, lang):
    ax = res.plot("forest", lang=lang)
    rat = res.tables["ratios"].filter(
        (pl.col("outcome") == "spc_admitted") & (pl.col("measure") == "OR")
    )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == rat.height
    assert labels[0].startswith("Education: Lower secondary" if lang == "en" else "Uddannelse:")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == (
        ["Odds ratio", "Prevalence ratio"] if lang == "en" else ["Oddsratio", "Prævalensratio"]
    )
    assert len(ax.containers) == 2
    assert "95" in ax.get_xlabel()
    plt.close(ax.figure)


@pytest.mark.parametrize("lang", ["en", "da"])
def test_joint_figure(res, lang):
    ax = res.plot("joint", lang=lang)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 4
    assert legend[-1] == ("Long higher" if lang == "en" else "Lang videregående")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Q1", "Q2", "Q3", "Q4"]
    assert ax.get_ylabel() == ("Odds ratio" if lang == "en" else "Oddsratio")
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert drawn == res.tables["joint"]["estimate"].is_not_null().sum()
    plt.close(ax.figure)


# -- (4) disclosure --------------------------------------------------------------------------
def test_disclosed_blanks_small_cells(res, eol_small):
    d = res.disclosed()
    for name, tab in d.tables.items():
        assert "suppressed" in tab.columns, name
        small = tab.filter((pl.col("n") > 0) & (pl.col("n") < 5))
        assert small.height == 0, name
        small_e = tab.filter((pl.col("events") > 0) & (pl.col("events") < 5))
        assert small_e.height == 0, name
    # keep 3 academics in the lowest income quartile (a joint cell of 1-4 persons)
    cell = (
        pl.col("cancer") & (pl.col("education") == "long_higher") & (pl.col("income_quartile") == 1)
    )
    drop = eol_small.filter(cell)["PNR"].sort()[3:]
    sub = eol_small.filter(~pl.col("PNR").is_in(drop.implode()))
    res = social_inequality(sub, outcomes=["spc_admitted"], measures=["OR"])
    d = res.disclosed()
    j = d.tables["joint"]
    raw = res.tables["joint"]
    tiny = raw.filter(pl.col("n") < 5)
    assert tiny.height >= 1  # academics in the lowest income quartile
    for e, q in tiny.select("education", "income_quartile").iter_rows():
        row = j.filter((pl.col("education") == e) & (pl.col("income_quartile") == q))
        assert (
            row["suppressed"].item() and row["n"].is_null().item() and row["share"].is_null().item()
        )
    # a disclosed figure draws only published numbers
    ax = d.plot("joint")
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert drawn == j["estimate"].is_not_null().sum()
    assert drawn < raw["estimate"].is_not_null().sum()
    plt.close(ax.figure)
    assert d.models == {}


# -- (5) repr --------------------------------------------------------------------------------
def test_repr(res):
    text = repr(res)
    assert text.startswith("InequalityResult: Social inequality")
    for name in ("[proportions]", "[ratios]", "[indices]", "[joint]", "figures: gradient"):
        assert name in text
    assert "<details>" in res._repr_html_()
    assert (
        math.isfinite(res.n)
        and res.n
        == res.tables["proportions"]
        .filter((pl.col("outcome") == "spc_admitted") & (pl.col("factor") == "region"))["n"]
        .sum()
    )


def test_mutual_is_the_argument_and_adjust_a_deprecated_alias(eol_small: pl.DataFrame) -> None:
    """One argument name across analyses (issue 16): ``mutual`` as in place_of_death_gp;
    ``adjust`` still works for one release, with a warning, and gives the same fit."""
    kw = dict(outcomes=["spc_admitted"], factors=["education"], measures=["OR"], joint=None)
    new = social_inequality(eol_small, mutual=True, **kw)
    with pytest.warns(DeprecationWarning, match="mutual=True"):
        old = social_inequality(eol_small, adjust="mutual", **kw)
    assert new.tables["ratios"].equals(old.tables["ratios"])
    assert new.params["mutual"] is True and new.params["adjust"] == "mutual"
    with pytest.raises(TypeError, match="mutual must be True or False"):
        social_inequality(eol_small, mutual="mutual", **kw)
