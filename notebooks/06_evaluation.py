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

# %%

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
