"""Variation between practices: hand counts, the median odds ratio's formula, planted
variance components recovered (a simulated data set here, and the synthetic registers'
planted practice effect on GP home visits read from ``truth.json``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.analyses.variation import practice_variation
from paleval.disclosure import count_columns


def _simulated(sd: float = 0.6, groups: int = 80, size: int = 60, seed: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), rng.integers(size // 2, size * 2, groups))
    old = rng.random(g.size) < 0.5
    u = rng.normal(0, sd, groups)[g]
    y = rng.random(g.size) < 1 / (1 + np.exp(-(-0.8 + 0.5 * old + u)))
    return pl.DataFrame({"practice": g.astype(str), "old": old, "y": y})


def test_counts_mor_and_planted_sd() -> None:
    d = _simulated()
    res = practice_variation(d, "y", covariates=["old"], nagq=10)
    got = {r["group"]: (r["n"], r["events"]) for r in res.tables["practices"].iter_rows(named=True)}
    n, e = Counter(), Counter()
    for p, y in d.select("practice", "y").rows():
        n[p] += 1
        e[p] += int(y)
    assert got == {p: (n[p], e[p]) for p in n}
    v = {r["parameter"]: r for r in res.table.iter_rows(named=True)}
    sigma = v["sigma"]["estimate"]
    assert v["sigma"]["conf_low"] < 0.6 < v["sigma"]["conf_high"]
    # Merlo 2006: MOR = exp(sqrt(2 sigma^2) * Phi^-1(0.75)); ICC = sigma^2 / (sigma^2 + pi^2/3)
    assert v["median_odds_ratio"]["estimate"] == pytest.approx(
        np.exp(np.sqrt(2) * sigma * 0.6744897501960817), rel=1e-9
    )
    assert v["icc"]["estimate"] == pytest.approx(sigma**2 / (sigma**2 + np.pi**2 / 3), rel=1e-9)
    fixed = res.tables["fixed"].row(0, named=True)
    assert fixed["term"] == "old" and fixed["conf_low"] < np.exp(0.5) < fixed["conf_high"]


def test_planted_practice_effect_of_the_synthetic_registers(tmp_path: Path) -> None:
    """The generator plants a practice random intercept (SD on the log rate of GP home visits
    in the last 90 days); truth.json states it, the Poisson model must recover it."""
    from paleval.report import load_study
    from paleval.synth import SynthConfig, generate

    data = tmp_path / "tiny"
    generate(SynthConfig.from_preset("tiny", seed=17), data)
    truth = json.loads((data / "truth.json").read_text())["planted"]["gp_home_visits_rate"]
    sd = truth["practice_random_intercept_sd"]
    study = load_study(data, cache_dir=tmp_path / "cache")
    res = practice_variation(
        study.decedents,
        "gp_home_visits_90d",
        family="poisson",
        covariates=["age_group", "cancer", "living_alone", "spc_admitted", "region"],
    )
    row = res.table.filter(pl.col("parameter") == "sigma").row(0, named=True)
    assert row["conf_low"] < sd < row["conf_high"], (row, sd)
    assert res.figures == ("caterpillar",)


def test_disclosure_figures_and_bad_input() -> None:
    import matplotlib

    matplotlib.use("Agg")
    d = _simulated(groups=40, size=12)
    pub = practice_variation(d, "y", covariates=["old"]).disclosed()
    for name, tab in pub.tables.items():
        for col in count_columns(tab.columns):
            assert tab.filter(pl.col(col).is_between(1, 4)).height == 0, (name, col)
    assert pub.tables["practices"]["suppressed"].any()
    assert not pub.tables["practices"]["suppressed"].all()
    assert not [n for n in pub.notes if "withheld" in n], pub.notes
    for kind in pub.figures:
        assert pub.plot(kind, lang="da") is not None
    with pytest.raises(ValueError, match="lacks column"):
        practice_variation(d, "y", group="municipality")
    with pytest.raises(ValueError, match="family"):
        practice_variation(d, "y", covariates=[], family="gamma")
    few = practice_variation(d, "y", covariates=[], min_persons=15)
    assert any("fewer than 15 persons" in n for n in few.notes)
