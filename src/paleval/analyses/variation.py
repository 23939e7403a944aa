"""Variation between general practices (or municipalities, hospitals) in a person-level outcome.

:func:`practice_variation` fits a random-intercept logistic model of the outcome with the
practice as the group (:func:`paleval.stats.mixed_logistic`, Laplace or adaptive quadrature,
as R ``lme4::glmer``), adjusted for the case mix, and reports the between-practice variation
as the median odds ratio (Merlo et al., J Epidemiol Community Health 2006;60:290-7) and the
latent-scale intraclass correlation, the practices' empirical-Bayes odds ratios with intervals
(a caterpillar plot: shrunken towards the typical practice, so small practices are not ranked
on noise), and a funnel plot of the crude shares with binomial control limits (Spiegelhalter,
Stat Med 2005;24:1185-202).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from paleval.analyses._common import as_frame
from paleval.analyses.result import AnalysisResult
from paleval.disclosure import Complement, Margin, Protection
from paleval.plots import PALETTE, figure, funnel, label, log_ratio_axis, style
from paleval.stats.funnel import funnel_limits
from paleval.stats.mixed import mixed_logistic, mixed_poisson

__all__ = ["PracticeRateVariationResult", "PracticeVariationResult", "practice_variation"]


class PracticeVariationResult(AnalysisResult):
    """Between-practice variation of an outcome.

    Tables
    ------
    ``variation`` (main): ``parameter`` (``median_odds_ratio``, ``icc``, ``sigma``),
    ``estimate, conf_low, conf_high, n, n_groups``. ``fixed``: the case-mix adjusted odds
    ratios (``term, estimate, conf_low, conf_high, n``). ``practices``: ``group, n, events,
    share, ratio, ratio_low, ratio_high`` (crude share; empirical-Bayes odds ratio against the
    typical practice, with its interval), sorted by the ratio.

    Figures: ``caterpillar`` (the practices' odds ratios with intervals, ranked), ``funnel``
    (crude shares against the number of persons, with 95 % and 99.8 % limits).
    """

    figures: ClassVar[tuple[str, ...]] = ("caterpillar", "funnel")

    def _plot_caterpillar(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["practices"].filter(pl.col("ratio").is_not_null()).sort("ratio")
        if ax is None:
            _fig, ax = figure(6.4, 4.0)
        with style():
            r = tab["ratio"].to_numpy()
            lo, hi = tab["ratio_low"].to_numpy(), tab["ratio_high"].to_numpy()
            x = np.arange(len(r))
            out = (lo > 1) | (hi < 1)
            for mask, colour in ((~out, "0.55"), (out, PALETTE[0])):
                ax.errorbar(x[mask], r[mask], yerr=[r[mask] - lo[mask], hi[mask] - r[mask]],
                            fmt="o", markersize=2, linewidth=0.6, color=colour)  # fmt: skip
            ax.axhline(1.0, color="black", linewidth=0.8)
            log_ratio_axis(ax, "y")
            ax.set_xticks([])
            ax.set_xlabel(label("practices_ranked", lang))
            ratio = "odds" if self.params["family"] == "binomial" else "rate"
            ax.set_ylabel(label(f"{ratio}_ratio_vs_typical", lang))
            ax.set_title(label(self.params["outcome"], lang))
        return ax

    def _plot_funnel(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["practices"].filter(pl.col("share").is_not_null())
        target = self.params["overall_share"]
        grid = np.unique(
            np.linspace(max(int(tab["n"].min() or 1), 1), int(tab["n"].max() or 2), 200).astype(int)
        )
        return funnel(
            tab.rename({"share": "estimate"}),
            funnel_limits(grid, target),
            unit="group",
            target=target,
            xlabel=label("persons_n", lang),
            ylabel=label(self.params["outcome"], lang),
            title=label(self.params["outcome"], lang),
            lang=lang,
            ax=ax,
        )


class PracticeRateVariationResult(PracticeVariationResult):
    """Between-practice variation of a count (``family="poisson"``): as
    :class:`PracticeVariationResult` with rate ratios and the median rate ratio; ``share`` is
    the mean count per person, and there is no funnel plot (its limits are for shares)."""

    figures: ClassVar[tuple[str, ...]] = ("caterpillar",)


def practice_variation(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    outcome: str,
    *,
    group: str = "practice",
    covariates: Sequence[str] = ("age_group", "female", "cancer"),
    family: Literal["binomial", "poisson"] = "binomial",
    nagq: int = 1,
    min_persons: int = 1,
    conf_level: float = 0.95,
) -> PracticeVariationResult:
    """Variation between practices in a 0/1 outcome, adjusted for case mix.

    Parameters
    ----------
    cohort
        One row per person (DataFrame, LazyFrame or Cohort).
    outcome
        Boolean or 0/1 column (e.g. ``"home_death"``, ``"spc_admitted"``), or a count with
        ``family="poisson"`` (e.g. ``"gp_home_visits_90d"``).
    group
        The grouping column (default ``"practice"``, the practice at death; also
        ``"municipality"``).
    covariates
        Case-mix adjustment (fixed effects).
    family
        ``"binomial"`` (random-intercept logistic: odds ratios, median odds ratio, ICC) or
        ``"poisson"`` (counts: rate ratios and the median rate ratio; no ICC).
    nagq
        Quadrature points (1: Laplace, as ``glmer``'s default; e.g. 10 for adaptive
        Gauss-Hermite quadrature).
    min_persons
        Practices with fewer persons are left out of the model (counted in a note).
    conf_level
        Confidence level.

    Returns
    -------
    PracticeVariationResult

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(60), 40)
    >>> u = rng.normal(0, 0.5, 60)[g]
    >>> c = pl.DataFrame({"practice": g, "age": rng.integers(60, 95, g.size),
    ...                   "home": rng.random(g.size) < 1 / (1 + np.exp(1 - u))})
    >>> res = practice_variation(c, "home", covariates=[])
    >>> mor = res.table.filter(pl.col("parameter") == "median_odds_ratio")
    >>> bool(mor["conf_low"][0] < np.exp(0.6745 * np.sqrt(2) * 0.5) < mor["conf_high"][0])
    True
    """
    frame = as_frame(cohort)
    covariates = list(covariates)
    missing = [c for c in (outcome, group, *covariates) if c not in frame.columns]
    if missing:
        raise ValueError(f"practice_variation: cohort lacks column(s) {missing}")
    notes: list[str] = []
    unknown = frame.filter(pl.col(outcome).is_null() | pl.col(group).is_null()).height
    if unknown:
        notes.append(f"{unknown:,} persons with a missing {outcome} or {group} left out")
    frame = frame.filter(pl.col(outcome).is_not_null() & pl.col(group).is_not_null())
    sizes = frame.group_by(group).len()
    small = sizes.filter(pl.col("len") < min_persons)
    if small.height:
        notes.append(
            f"{small.height:,} {group}s with fewer than {min_persons} persons "
            f"({int(small['len'].sum()):,} persons) left out"
        )
        frame = frame.join(small.select(group), on=group, how="anti")
    if family not in ("binomial", "poisson"):
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}")
    frame = frame.with_columns(pl.col(outcome).cast(pl.Int64))
    model = mixed_logistic if family == "binomial" else mixed_poisson
    fit = model(frame, outcome, covariates, group, nagq=nagq, conf_level=conf_level)
    n, n_groups = fit.n, fit.n_groups
    median = "median_odds_ratio" if family == "binomial" else "median_rate_ratio"
    names = {"median_ratio": median, "icc": "icc", "sigma": "sigma"}
    variation = (
        fit.variance.filter(pl.col("parameter").is_in(list(names)))
        .with_columns(pl.col("parameter").replace_strict(names))
        .select("parameter", "estimate", "conf_low", "conf_high")
        .with_columns(n=pl.lit(n, pl.Int64), n_groups=pl.lit(n_groups, pl.Int64))
    )
    fixed = fit.table.filter(pl.col("term") != "(Intercept)").select(
        "term",
        estimate="ratio",
        conf_low="ratio_low",
        conf_high="ratio_high",
        n=pl.lit(n, pl.Int64),
    )
    practices = (
        fit.groups.select(
            "group",
            pl.col("n", "events").round().cast(pl.Int64),
            "ratio",
            "ratio_low",
            "ratio_high",
        )
        .with_columns(share=pl.col("events") / pl.col("n"))
        .sort("ratio")
        .select("group", "n", "events", "share", "ratio", "ratio_low", "ratio_high")
    )
    notes.append(
        f"random-intercept {'logistic' if family == 'binomial' else 'Poisson'} model by "
        f"{group} ({n_groups:,} groups, "
        f"{'Laplace' if nagq == 1 else f'adaptive Gauss-Hermite, {nagq} points'}), adjusted "
        f"for {', '.join(covariates) or 'nothing'}; median "
        + ("odds ratio (Merlo 2006) and latent-scale ICC" if family == "binomial" else "rate ratio")
        + f"; the {group}s' ratios are empirical-Bayes (shrunken) estimates"
    )
    if fit.at_boundary:
        notes.append("no between-practice variation estimated (variance at zero)")
    overall = float(frame[outcome].mean())
    kind = PracticeVariationResult if family == "binomial" else PracticeRateVariationResult
    return kind(
        title=f"Variation between {group}s in {outcome}",
        tables={"variation": variation, "fixed": fixed, "practices": practices},
        n=n,
        params={
            "outcome": outcome,
            "group": group,
            "covariates": covariates,
            "family": family,
            "nagq": nagq,
            "min_persons": min_persons,
            "conf_level": conf_level,
            "overall_share": overall,
        },
        models={"mixed_logistic": fit},
        notes=notes,
        protection={
            "variation": Protection(("n", "n_groups"), [], differences=False),
            "fixed": Protection(("n",), []),
            # the practices' persons add up to the n of the variation table (published)
            "practices": Protection(
                ("n", "events"), [Complement("n", ("events",)), Margin((), counts=("n",))]
            ),
        },
    )
