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
# # Data overview: the study population
#
# Who is in the study: the decedent cohort's flow (STROBE), Table 1 of characteristics by
# diagnosis group, and the validation findings of the register files. Every table and figure
# written by this notebook passes disclosure control first (no cell under `threshold` persons).
#
# Run it interactively (change the parameters below) or headless with `paleval report`.

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
import polars as pl

from paleval.analyses.descriptive import characteristics, flow_result
from paleval.report import export, load_study

study = load_study(data_dir, start=start, end=end, cache_dir=cache_dir)
study

# %% [markdown]
# ## Cohort flow
# Deaths in the period, then the exclusions in order, each with its count.

# %%
flow = export(
    flow_result(study.flow), "overview_flow", output_dir,
    threshold=threshold, rounding=rounding, lang=lang, formats=formats,
)  # fmt: skip
flow.plot(lang=lang)
plt.show()
flow

# %% [markdown]
# ## Table 1: characteristics by diagnosis group
# Murtagh/Etkind diagnosis groups of the underlying cause of death; "other" has no diagnosis
# indicating palliative need.

# %%
table1 = export(
    characteristics(study.decedents, by="cause_group"), "overview_table1", output_dir,
    threshold=threshold, rounding=rounding, lang=lang, formats=formats,
)  # fmt: skip
table1

# %% [markdown]
# ## Table 1 by cancer vs non-cancer

# %%
by_cancer = study.decedents.with_columns(
    group=pl.when(pl.col("cancer")).then(pl.lit("cancer")).otherwise(pl.lit("noncancer"))
)
export(
    characteristics(by_cancer, by="group"), "overview_table1_cancer", output_dir,
    threshold=threshold, rounding=rounding, lang=lang, formats=formats,
)  # fmt: skip

# %% [markdown]
# ## Validation of the register files
# Findings of `paleval.registers.validate`: each rule is an error (stops the run), a counted
# exclusion, or a warning.

# %%
study.validation
