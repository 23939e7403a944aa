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
# # Social inequality in palliative care at the end of life
#
# By education, income, cohabitation, origin and region: age- and sex-standardised
# proportions, adjusted odds and prevalence ratios of SPC admittance (any, hospice, hospital
# team/unit), late referral, home death and GP home visits; the slope and relative indices of
# inequality; and the joint education x income gradient (as Adsersen et al., J Palliat Med
# 2023). First among cancer decedents, then among all decedents. The ratios are total effects:
# each factor in its own model, adjusted for age group, sex, year of death (and cancer site
# among cancer decedents), not for the other social factors (`mutual=True` gives the
# controlled direct effects); standard errors are clustered by practice. Income is taken three
# years before death, before the final illness lowers it (`docs/methods.md`).

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

from paleval.analyses import social_inequality
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
options = dict(threshold=threshold, rounding=rounding, lang=lang, formats=formats)

# %% [markdown]
# ## Cancer decedents

# %%
ineq = social_inequality(study.decedents, population="cancer")
ineq_pub = export(ineq, "inequality_cancer", output_dir, **options)
for kind in ineq_pub.figures:
    ineq_pub.plot(kind, lang=lang)
    plt.show()
ineq_pub

# %% [markdown]
# ## All decedents: home death and GP home visits

# %%
ineq_all = social_inequality(
    study.decedents, population="all", outcomes=("home_death", "gp_home_visit"), joint=None
)
export(ineq_all, "inequality_all", output_dir, **options, figures=["gradient", "forest"])
