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
# # Time to referral to specialised palliative care
#
# **From diagnosis**: the cumulative incidence of referral to SPC and of first SPC contact,
# with death as the competing event (Aalen-Johansen; not 1 - Kaplan-Meier), compared with
# Gray's test; Fine-Gray subdistribution and cause-specific hazard ratios.
# **From the end**: how long before death patients were referred and first seen by SPC, and
# the share referred late (under 7, 30 or 90 days before death).

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
import matplotlib.pyplot as plt

from paleval.analyses.referral import referral_before_death, time_to_referral
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
incident = {"cancer": study.incident_cancer, "noncancer": study.incident_noncancer}
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %% [markdown]
# ## Referral from diagnosis: cancer vs non-cancer
# Two years of follow-up from the first diagnosis; adjusted for age group, sex and education,
# and for the calendar period of diagnosis (2010-14, 2015-19, 2020-24), which is also the
# Fine-Gray model's censoring groups (referral practice and follow-up differ between periods);
# `cif_period` gives the cumulative incidence within each period. The non-cancer cohort enters
# on a marker of advanced disease (heart failure, acute COPD admission or respiratory failure,
# dementia, end-stage renal or liver disease, neurodegenerative disease, HIV), excludes anyone
# with cancer before entry, and ends follow-up at a new cancer; both cohorts are censored at
# emigration (definitions and sources: `docs/methods.md`).

# %%
ref = time_to_referral(
    incident, by="cohort", covariates=["age_group", "sex", "education"], horizon_days=730
)
ref_pub = export(ref, "referral_from_diagnosis", output_dir, **options)
ref_pub.plot("cif", lang=lang)
plt.show()
ref_pub

# %% [markdown]
# ## Referral from diagnosis by education (cancer)

# %%
by_edu = time_to_referral(
    study.incident_cancer, by="education", covariates=["age_group", "sex"], horizon_days=730
)
export(by_edu, "referral_by_education", output_dir, **options).plot("cif", lang=lang)
plt.show()

# %% [markdown]
# ## First SPC contact from diagnosis (cancer), by region
# The incident cohort carries referral; first contact comes from the DPD.

# %%
contact = time_to_referral(
    study.incident_cancer, by="region", outcome="contact", dpd=study.dpd, horizon_days=730
)
export(contact, "referral_contact_by_region", output_dir, **options).plot("cif", lang=lang)
plt.show()

# %% [markdown]
# ## Referral and first contact before death: late referral
# Among decedents who were referred, the days from referral (and from first contact) to death.

# %%
late = referral_before_death(study.decedents, by="cause_group")
late_pub = export(late, "referral_before_death", output_dir, **options)
late_pub.plot("shares", lang=lang)
plt.show()
late_pub
