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
# # The DPD quality indicators
#
# The national quality indicators of specialised palliative care (Danish Palliative Care
# Database, DPD) by year, region and unit type, with Wilson confidence intervals and their
# standards; funnel plots across regions and units; waiting time from referral to first
# contact. Counted per patient, as DPD reports them (about a third of SPC patients have
# courses at two units), by year of death; `unit="referral"` gives the per-referral view
# (definitions and sources: `docs/methods.md`).

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

from paleval.analyses.indicators import quality_indicators, waiting_time
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %% [markdown]
# ## Indicators by year

# %%
qi = quality_indicators(study.dpd, study.decedents, by=("year",))
qi_pub = export(qi, "indicators_by_year", output_dir, **options)
for kind in qi_pub.figures:
    qi_pub.plot(kind, lang=lang)
    plt.show()
qi_pub

# %% [markdown]
# ## Indicators by region

# %%
qi_region = quality_indicators(study.dpd, study.decedents, by=("region",))
export(qi_region, "indicators_by_region", output_dir, **options, figures=["overview"])

# %% [markdown]
# ## Waiting time from referral to first contact

# %%
wait = waiting_time(study.dpd, decedents=study.decedents, by=("unit_type",))
wait_pub = export(wait, "indicators_waiting_time", output_dir, **options)
for kind in wait_pub.figures:
    wait_pub.plot(kind, lang=lang)
    plt.show()
wait_pub
