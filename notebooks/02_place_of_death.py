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
# # Place of death relative to the GP's involvement
#
# Exposures: GP home visits in the last 90 days (0 / 1-2 / 3+), any GP contact and
# out-of-hours contact in the last 30 days, the terminal declaration, and the practice's
# home-visit propensity (indirectly standardised, quartiles). Outcomes: dying at home and dying
# out of hospital. Adjusted prevalence ratios (modified Poisson) and odds ratios (logistic) with
# standard errors clustered by practice; a multinomial model of the place of death; model-based
# standardised proportions.

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

from paleval.analyses.place_of_death import place_of_death_gp
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %% [markdown]
# ## Expected deaths
# The default population: adults who died of a cause with potential palliative need (Murtagh et
# al. 2014; Etkind et al. 2017), as sudden deaths leave no time for the GP's involvement.
# Out-of-hours contact is unknown, not "no contact", in the Capital Region from 2014 (its
# out-of-hours service 1813 is not in the health insurance register): those decedents leave only
# that exposure's models, and the notes count them. Definitions: `docs/methods.md`.

# %%
pod = place_of_death_gp(study.decedents)
pod_pub = export(pod, "place_of_death_gp", output_dir, **options)
for kind in pod_pub.figures:
    pod_pub.plot(kind, lang=lang)
    plt.show()
pod_pub

# %% [markdown]
# ## Cancer decedents
# As in the national cohort study of practices' home-visit propensity (Palliative Medicine
# 2018), among people who died of cancer.

# %%
cancer = study.decedents.filter(study.decedents["cancer"])
pod_c = place_of_death_gp(cancer, covariates=[c for c in pod.params["covariates"] if c != "cancer"])
pod_c_pub = export(pod_c, "place_of_death_gp_cancer", output_dir, **options)
pod_c_pub.plot("forest", lang=lang)
plt.show()
pod_c_pub

# %% [markdown]
# ## Sensitivity: GP windows ending 14 days before death
# Home visits and out-of-hours contacts in the last days follow a plan to die at home as much
# as they cause it (reverse causation; Aabom et al. 2005, Neergaard et al. 2009). The same
# analysis with every GP window ending 14 days before death.

# %%
lagged = load_study(data_dir, start=start, end=end, cache_dir=cache_dir, gp_offset_days=14)
pod_lag = place_of_death_gp(lagged.decedents)
pod_lag_pub = export(pod_lag, "place_of_death_gp_lag14", output_dir, **options)
pod_lag_pub.plot("forest", lang=lang)
plt.show()
pod_lag_pub
