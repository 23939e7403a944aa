# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluation: care in the last year of life, and variation between practices
#
# Health-care use week by week in the last year of life, the classic figure of end-of-life
# research: nights in hospital, acute admissions, emergency contacts, daytime and out-of-hours
# GP contacts, GP home visits and opioid prescriptions, by group. Then the indicators of
# aggressive care at the end of life of Earle et al. (J Clin Oncol 2003;21:1133-8) that the
# registers measure: more than one emergency contact or acute admission, or more than 14
# nights in hospital, in the last 30 days; death in hospital; no or late (under 3 days)
# specialised palliative care. Chemotherapy and intensive care need LPR procedure codes, which
# the study does not read. Out-of-hours GP use is unknown, not 0, in the Capital Region from
# 2014 (its 1813 service is not in the health insurance register). Definitions and sources:
# `docs/methods.md`.

# %% tags=["parameters"]
data_dir = "../data_synthetic/small"  # folder of register files (synthetic or a real extract)
start = "2010-01-01"  # study period: deaths from ...
end = "2024-12-31"  # ... to
lang = "en"  # figure language: "en" or "da"
output_dir = "../reports/interactive"  # where figures/ and tables/ are written
threshold = 5  # disclosure control: smallest publishable count
rounding = None  # or 5 / 10: published counts rounded to a multiple (after suppression)
formats = ["png", "svg"]  # figure file formats
cache_dir = None  # cache of the built study frames (None: beside the data)
# The intervention evaluated (ITS and DiD): adoption date (1 January) -> the adopting units.
# The defaults are the synthetic registers' planted design (municipalities in code order dealt
# to 2016, 2019 and never); for real data give the real units and dates, or {} to skip.
intervention_adoption = {
    "2016-01-01": ["101", "153", "159", "165", "173", "185", "201", "219", "240", "259", "269",
                   "316", "329", "340", "370", "400", "430", "461", "482", "530", "561", "575",
                   "615", "657", "671", "710", "740", "751", "766", "787", "813", "840", "851"],
    "2019-01-01": ["147", "155", "161", "167", "175", "187", "210", "223", "250", "260", "270",
                   "320", "330", "350", "376", "410", "440", "479", "492", "540", "563", "580",
                   "621", "661", "706", "727", "741", "756", "773", "791", "820", "846", "860"],
}  # fmt: skip
intervention_unit = "municipality"  # the decedents' column naming the adopting unit
intervention_outcome = "spc_admitted"  # a Boolean outcome of the decedents
# the cause groups evaluated (the non-cancer palliative-need groups)
intervention_groups = ["heart", "respiratory", "stroke", "renal", "liver", "dementia",
                       "neurodegenerative", "hiv"]  # fmt: skip
its_adoption = "2016-01-01"  # ITS: the units adopting on this date, around it
its_span = ["2010-01-01", "2018-12-31"]  # ITS series (whole quarters; before later adopters)

# %%
import matplotlib.pyplot as plt

from paleval.analyses import care_trajectories
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %% [markdown]
# ## Cancer and non-cancer decedents
# Mean use per person in each week before death (week 1: the 7 days ending on the death day),
# with 95 % confidence intervals; weeks with fewer than 5 persons using the service are
# suppressed (marked x, never bridged).

# %%
care = care_trajectories(study.decedents, study.care_use, unknown=study.care_unknown, by="cancer")
care_pub = export(care, "evaluation_care_cancer", output_dir, **options)
for kind in care_pub.figures:
    care_pub.plot(kind, lang=lang)
    plt.show()
care_pub

# %% [markdown]
# ## By region
# The same indicators by region of residence at death: regional variation in aggressive care.

# %%
by_region = care_trajectories(
    study.decedents, study.care_use, unknown=study.care_unknown, by="region"
)
region_pub = export(
    by_region, "evaluation_care_region", output_dir, figures=["indicators"], **options
)
region_pub.plot("indicators", lang=lang)
plt.show()
region_pub.tables["indicators"]


# %% [markdown]
# ## Interrupted time series
# The intervention of the parameter cell (synthetic data: a planted municipal programme that
# raises specialised palliative care for non-cancer patients; docs/methods.md, "Planted
# intervention"). The share of decedents in the evaluated cause groups admitted to specialised
# palliative care, by quarter of death, in the units adopting on `its_adoption`: a segmented
# Poisson regression (the persons as exposure) with a level and a slope change at adoption,
# one seasonal Fourier pair and Newey-West standard errors; the dashed line is the
# counterfactual without the intervention. Quarters with fewer than 5 admitted are suppressed
# (marked x, with the fitted lines there): on the `small` synthetic data that is most quarters
# before adoption, on national data few.

# %%
import datetime as dt

import polars as pl
from IPython.display import display

from paleval.analyses import difference_in_differences, interrupted_time_series

evaluated = study.decedents.filter(pl.col("cause_group").is_in(intervention_groups))
adoption = {unit: when for when, units in intervention_adoption.items() for unit in units}
its_units = intervention_adoption.get(its_adoption, [])
its_cohort = evaluated.filter(
    pl.col(intervention_unit).cast(pl.String).is_in(its_units)
    & pl.col("death_date").is_between(dt.date.fromisoformat(its_span[0]),
                                      dt.date.fromisoformat(its_span[1]))
)  # fmt: skip
quarters = its_cohort.select(pl.col("death_date").dt.truncate("1q").n_unique()).item()
span_quarters = 4 * (int(its_span[1][:4]) - int(its_span[0][:4]) + 1)
if its_units and quarters == span_quarters:
    its = interrupted_time_series(its_cohort, intervention_outcome, "death_date",
                                  {"adoption": its_adoption}, freq="quarter",
                                  start=its_span[0], end=its_span[1])  # fmt: skip
    its_pub = export(its, "evaluation_its", output_dir, **options)
    its_pub.plot("series", lang=lang)
    display(its_pub.tables["effects"])
else:  # no adopting units in these data, or quarters without decedents: nothing to fit
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0, 0.5, f"Interrupted time series skipped: no adopters on {its_adoption} "
            f"with decedents in every quarter of {its_span}", fontsize=9)  # fmt: skip
plt.show()

# %% [markdown]
# ## Difference-in-differences
# All adopting units against the never-adopting ones (staggered adoption): the share admitted
# per unit and calendar year of death, Callaway and Sant'Anna's group-time effects with
# standard errors clustered by unit, aggregated by years since adoption (event study: the
# years before adoption test parallel trends) and overall (differences of the share).

# %%
did_frame = evaluated.with_columns(pl.col(intervention_unit).cast(pl.String))
# units with decedents in every year (the yearly panel must be balanced; others are left out)
years = did_frame["death_date"].dt.year().n_unique()
balanced = set(
    did_frame.group_by(intervention_unit)
    .agg(pl.col("death_date").dt.year().n_unique().alias("years"))
    .filter(pl.col("years") == years)[intervention_unit]
    .to_list()
)
did_adoption = {u: when for u, when in adoption.items() if u in balanced}
if did_adoption and len(balanced - set(did_adoption)) >= 2:
    did_frame = did_frame.filter(pl.col(intervention_unit).is_in(list(balanced)))
    did = difference_in_differences(did_frame, intervention_outcome, intervention_unit,
                                    "death_date", did_adoption)  # fmt: skip
    did_pub = export(did, "evaluation_did", output_dir, **options)
    did_pub.plot("event_study", lang=lang)
    display(did_pub.tables["overall"])
else:
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0, 0.5, "Difference-in-differences skipped: too few adopting and never-adopting "
            "units with decedents in every year", fontsize=9)  # fmt: skip
plt.show()

# %% [markdown]
# ## Variation between general practices
# How much do practices differ in GP home visits to their dying patients, beyond their
# patients' age, cancer, living alone, specialised palliative care and region? A
# random-intercept Poisson model of the home visits in the last 90 days by practice gives the
# median rate ratio (two patients alike but for their practice: the median ratio of their
# expected visits) and each practice's shrunken rate ratio against the typical practice
# (caterpillar). For dying at home, a random-intercept logistic model gives the median odds
# ratio (Merlo 2006) and the funnel plot of the practices' crude shares.

# %%
from paleval.analyses import practice_variation

case_mix = ["age_group", "cancer", "living_alone", "spc_admitted", "region"]
visits = practice_variation(
    study.decedents, "gp_home_visits_90d", family="poisson", covariates=case_mix
)
visits_pub = export(visits, "evaluation_practice_home_visits", output_dir, **options)
visits_pub.plot("caterpillar", lang=lang)
plt.show()
visits_pub.tables["variation"]

# %%
home = practice_variation(
    study.decedents, "home_death", covariates=["age_group", "female", "cancer", "living_alone"]
)
home_pub = export(home, "evaluation_practice_home_death", output_dir, **options)
for kind in home_pub.figures:
    home_pub.plot(kind, lang=lang)
    plt.show()
home_pub.tables["variation"]


# %% [markdown]
# ## Age-standardised rates
# Specialised palliative care referral after a diagnosis, per 1,000 person-years, by region and
# calendar period: each person's follow-up from diagnosis (to referral, death, emigration or
# the end of follow-up) is split into age bands and periods, and the rates are standardised to
# the 2013 European Standard Population (0-64, 65-74, 75-84, 85+), with Fay-Feuer 95 %
# intervals. Regions then compare as if they had the same age structure. A region and period
# with fewer than 5 referrals in an age band is suppressed with its rate.

# %%
from paleval.analyses import standardised_rates

rate_periods = list(range(int(str(start)[:4]), int(str(end)[:4]) + 1, 5))
rates_cancer = standardised_rates(
    study.incident_cancer, event_value=1, by="region", periods=rate_periods
)
rates_cancer_pub = export(rates_cancer, "evaluation_rates_referral_cancer", output_dir, **options)
rates_cancer_pub.plot(lang=lang)
plt.show()
rates_cancer_pub.tables["rates"]

# %% [markdown]
# The same for the incident non-cancer cohort (heart failure, COPD, dementia, ...).

# %%
rates_noncancer = standardised_rates(
    study.incident_noncancer, event_value=1, by="region", periods=rate_periods
)
rates_noncancer_pub = export(
    rates_noncancer, "evaluation_rates_referral_noncancer", output_dir, **options
)
rates_noncancer_pub.plot(lang=lang)
plt.show()
rates_noncancer_pub.tables["rates"]
