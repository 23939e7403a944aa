"""Calibration table: does a synthetic data set reproduce the published Danish figures?

Targets (with their sources) are in ``paleval/synth/data/calibration_targets.csv``. Levels are
measured from the generated files (place of death from the cause-of-death register, the rest
from the per-person ground truth ``truth/persons.parquet``) and a level target is met when it is
within the stated tolerance or inside the 99 % Wilson interval of the achieved share (small
groups). Effect sizes are re-estimated with :mod:`paleval.stats` on the ground truth; one is met
when its 95 % CI overlaps the published CI (or, without a published CI, when the ratio is within
the stated tolerance on the log scale).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from paleval.codes import load_codes
from paleval.stats import logistic, modified_poisson, proportion_ci

__all__ = ["calibration_table", "load_targets"]


def load_targets() -> pl.DataFrame:
    """The calibration targets with their sources.

    Examples
    --------
    >>> t = load_targets()
    >>> t.filter(pl.col("target") == "place_home")["value"].item()
    0.28
    """
    path = resources.files("paleval.synth") / "data" / "calibration_targets.csv"
    with path.open("rb") as fh:
        return pl.read_csv(fh.read(), schema_overrides={"years": pl.String})


def _years(spec: str) -> tuple[int, int]:
    if "-" in spec:
        lo, hi = spec.split("-")
        return int(lo), int(hi)
    return int(spec), int(spec)


def _share(df: pl.DataFrame, expr: pl.Expr) -> tuple[float, int]:
    if df.height == 0:
        return float("nan"), 0
    return float(df.select(expr.cast(pl.Float64).mean()).item()), df.height


def _measure_levels(data: Path, persons: pl.DataFrame) -> dict[str, tuple[float, int]]:
    pod_codes = load_codes("place_of_death").select("C_PRAECIS_DODSSTED", "place")
    dar = (
        pl.scan_parquet(data / "dodsaasg" / "*.parquet")
        .select("PNR", "D_DODSDATO", "C_PRAECIS_DODSSTED")
        .join(pod_codes.lazy(), on="C_PRAECIS_DODSSTED", how="left")
        .with_columns(year=pl.col("D_DODSDATO").dt.year())
        .collect(engine="streaming")
    )
    adult = persons.filter(pl.col("adult_decedent")).with_columns(
        year=pl.col("death_date").dt.year(),
        cancer=pl.col("cause_group") == "cancer",
        need=~pl.col("cause_group").is_in(["cancer", "other"]),
    )
    out: dict[str, tuple[float, int]] = {}
    last = int(dar["year"].max())
    d_last = dar.filter(pl.col("year") == last)
    for place in ("home", "nursing_home", "hospital", "hospice"):
        out[f"place_{place}"] = _share(d_last, pl.col("place") == place)
    out["place_other"] = _share(d_last, pl.col("place").is_in(["other", "unknown"]))

    def sel(expr: pl.Expr, years: str) -> pl.DataFrame:
        lo, hi = _years(years)
        return adult.filter(expr & pl.col("year").is_between(lo, hi))

    ca, nc = pl.col("cancer"), pl.col("need")
    # The published non-cancer levels are without the planted intervention: with it (the
    # persons have ``intervention_adoption``), they are measured in the never-adopting
    # municipalities, whose SPC admittance the intervention leaves as calibrated.
    never = (
        pl.col("intervention_adoption").is_null()
        if "intervention_adoption" in persons.columns
        else pl.lit(True)
    )
    out["spc_cancer_2010_12"] = _share(sel(ca, "2010-2012"), pl.col("spc_admitted"))
    out["spc_cancer_2019"] = _share(sel(ca, "2019"), pl.col("spc_admitted"))
    out["spc_noncancer_2019"] = _share(sel(nc & never, "2019"), pl.col("spc_admitted"))
    out["spc_noncancer_2024"] = _share(sel(nc & never, str(last)), pl.col("spc_admitted"))
    for y in (2010, 2020):
        out[f"noncancer_share_spc_{y}"] = _share(
            sel(pl.col("spc_admitted") & never, str(y)), ~pl.col("cancer")
        )
    # DPD indicator 1: among referred patients who met the criteria
    ref = pl.col("spc_referred") & ~pl.col("spc_not_eligible")
    out["contact_given_referral_cancer"] = _share(
        sel(ca & ref, "2010-2024"), pl.col("spc_admitted")
    )
    out["contact_given_referral_noncancer"] = _share(
        sel(nc & ref, "2010-2024"), pl.col("spc_admitted")
    )
    wait = (pl.col("spc_contact_date") - pl.col("spc_referral_date")).dt.total_days() <= 10
    adm = pl.col("spc_admitted")
    out["wait_le10_cancer"] = _share(sel(ca & adm, "2019"), wait)
    out["wait_le10_noncancer"] = _share(sel(nc & adm, "2010-2024"), wait)
    e = sel(ca, "2010-2012")
    out["education_lower_secondary"] = _share(e, pl.col("education") == "lower_secondary")
    out["education_long_higher"] = _share(e, pl.col("education") == "long_higher")
    out["terminal_declaration"] = _share(
        sel(pl.lit(True), "2010-2015"), pl.col("terminal_declaration")
    )
    return out


def _measure_effects(persons: pl.DataFrame) -> dict[str, tuple[float, float, float, int]]:
    adult = persons.filter(pl.col("adult_decedent")).with_columns(
        year=pl.col("death_date").dt.year().cast(pl.String),
        income_quartile=pl.col("income_quartile").cast(pl.String),
        immigrant=(pl.col("origin") == 2).cast(pl.Int64),
        female=pl.col("female").cast(pl.Int64),
        living_alone=pl.col("living_alone").cast(pl.Int64),
        spc=pl.col("spc_admitted").cast(pl.Int64),
        home=(pl.col("place_of_death") == "home").cast(pl.Int64),
        cancer=(pl.col("cause_group") == "cancer").cast(pl.Int64),
        hv=pl.when(pl.col("gp_home_visits_90d") == 0)
        .then(pl.lit("0"))
        .when(pl.col("gp_home_visits_90d") <= 2)
        .then(pl.lit("1-2"))
        .otherwise(pl.lit("3+")),
        terminal=pl.col("terminal_declaration").cast(pl.Int64),
        year_num=pl.col("death_date").dt.year() - pl.col("death_date").dt.year().min(),
    )
    out: dict[str, tuple[float, float, float, int]] = {}
    ca = adult.filter(pl.col("cause_group") == "cancer")
    fit = logistic(
        ca,
        "spc",
        ["education", "income_quartile", "female"],
        ["age_group", "living_alone", "immigrant", "region", "cancer_site", "year"],
        reference={
            "education": "lower_secondary",
            "income_quartile": "1",
            "age_group": "80+",
            "region": "1084",
            "cancer_site": "lung",
        },
    )
    tab = fit.table
    for key, term in (
        ("or_spc_academic", "education[long_higher]"),
        ("or_spc_income_q4", "income_quartile[4]"),
        ("or_spc_female", "female"),
    ):
        row = tab.filter(pl.col("term") == term)
        out[key] = (
            row["ratio"].item(),
            row["ratio_low"].item(),
            row["ratio_high"].item(),
            fit.nobs,
        )
    fit2 = modified_poisson(
        adult,
        "home",
        ["hv"],
        ["terminal", "living_alone", "cancer", "spc_unit", "female", "age_group", "year_num"],
        reference={"hv": "0", "spc_unit": "none", "age_group": "70-79"},
    )
    row = fit2.table.filter(pl.col("term") == "hv[3+]")
    out["pr_home_hv"] = (
        row["ratio"].item(),
        row["ratio_low"].item(),
        row["ratio_high"].item(),
        fit2.nobs,
    )
    return out


def calibration_table(data: str | Path) -> pl.DataFrame:
    """Compare a synthetic data set with its calibration targets.

    Returns one row per target: ``target, measure, years, value`` (published), ``low, high``
    (published CI where known), ``achieved``, ``achieved_low, achieved_high`` (95 % CI of
    re-estimated effects), ``n``, ``tolerance``, ``ok`` and ``source``.

    Examples
    --------
    >>> import tempfile
    >>> from paleval.synth import SynthConfig, generate
    >>> d = tempfile.mkdtemp()
    >>> _ = generate(SynthConfig(n_persons=20000, seed=1), d, overwrite=True)
    >>> tab = calibration_table(d)
    >>> tab.columns[:4]
    ['target', 'measure', 'group', 'years']
    """
    data = Path(data)
    truth_file = data / "truth" / "persons.parquet"
    if not truth_file.is_file():
        raise FileNotFoundError(f"{truth_file} not found: is {data} written by 'paleval synth'?")
    persons = pl.read_parquet(truth_file)
    levels = _measure_levels(data, persons)
    effects = _measure_effects(persons)
    targets = load_targets()
    achieved, lo, hi, n, ok = [], [], [], [], []
    for row in targets.iter_rows(named=True):
        key = row["target"]
        if key in effects:
            est, el, eh, nn = effects[key]
            if row["low"] is not None:  # published CI: the intervals must overlap
                good = el <= row["high"] and eh >= row["low"]
            else:
                good = abs(np.log(est) - np.log(row["value"])) <= row["tolerance"]
        else:
            est, nn = levels[key]
            ci = proportion_ci(round(est * nn), nn, conf_level=0.99) if nn else None
            el = float(ci["conf_low"].item()) if ci is not None else float("nan")
            eh = float(ci["conf_high"].item()) if ci is not None else float("nan")
            # Met when within the stated tolerance, or when the target is consistent with the
            # achieved share given its sampling error (inside the 99 % Wilson interval).
            good = bool(abs(est - row["value"]) <= row["tolerance"] or el <= row["value"] <= eh)
        achieved.append(est)
        lo.append(el)
        hi.append(eh)
        n.append(nn)
        ok.append(bool(good))
    return targets.with_columns(
        achieved=pl.Series(achieved).round(4),
        achieved_low=pl.Series(lo).round(4),
        achieved_high=pl.Series(hi).round(4),
        n=pl.Series(n, dtype=pl.Int64),
        ok=pl.Series(ok),
    ).select(
        "target",
        "measure",
        "group",
        "years",
        "value",
        "low",
        "high",
        "achieved",
        "achieved_low",
        "achieved_high",
        "n",
        "tolerance",
        "ok",
        "source",
    )
