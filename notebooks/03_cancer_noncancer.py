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
# # Non-cancer versus cancer
#
# Decedents by the Murtagh/Etkind group of the underlying cause of death: SPC referral and
# contact, timing, waiting time, place of death, hospital days in the last 30 days and the GP's
# involvement; trends over calendar years; SPC contact of each non-cancer group relative to
# cancer, adjusted for age, sex and year.

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

from paleval.analyses import cancer_vs_noncancer
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %%
groups = cancer_vs_noncancer(study.decedents)
groups_pub = export(groups, "cancer_noncancer", output_dir, **options)
for kind in groups_pub.figures:
    groups_pub.plot(kind, lang=lang)
    plt.show()
groups_pub
