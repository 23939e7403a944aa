"""Analysis 4, social inequality: palliative care by education, income, cohabitation, origin
and region.

:func:`social_inequality` takes the end-of-life cohort and returns an :class:`InequalityResult`
with, for each outcome (SPC admittance: any, hospice, hospital team/unit; late referral; home
death; GP home visits):

- ``proportions``: crude and directly age/sex-standardised proportions per factor level;
- ``ratios``: adjusted odds ratios (logistic) and prevalence ratios (modified Poisson) of each
  factor level against its reference level; by default the total effect of each factor (one
  model per factor, adjusted for age group, sex, year of death and, for cancer decedents,
  cancer site), mutual adjustment (a controlled direct effect) as an option; standard errors
  cluster-robust by general practice;
- ``indices``: slope and relative indices of inequality (SII, RII; ridit scores) for the
  ordered factors (education, income);
- ``joint``: the joint education x income gradient as in Adsersen et al. (J Palliat Med 2023):
  the OR of every education x income-quartile cell against the lowest-lowest cell.

Published reference (DOMAIN.md): cancer deaths 2010-12, academic vs lower secondary OR 1.69
(1.51-1.89) of SPC admittance; income Q4 vs Q1 OR 1.46 (1.37-1.56); hospice 1.67 vs hospital
team 1.23; most affluent academics vs least 1.96 (Adsersen et al., J Palliat Med 2023).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import polars as pl

from paleval.analyses._common import (
    as_frame,
    drop_separated,
    factor_levels,
    fit_or_note,
    level_label,
    ordered_levels,
    select_population,
    share_table,
    with_female,
)
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.codes.vocabulary import (
    MISSING_LEVELS,
    REFERENCE_AGE_GROUP_INEQUALITY,
    REFERENCE_LEVELS,
)
from paleval.plots import figure, fit_ticklabels, forest, label, points
from paleval.stats import (
    direct_standardise,
    logistic,
    modified_poisson,
    relative_index_of_inequality,
    slope_index_of_inequality,
)

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_OUTCOMES",
    "OUTCOME_DEFINITIONS",
    "InequalityResult",
    "social_inequality",
]

DEFAULT_OUTCOMES: tuple[str, ...] = (
    "spc_admitted", "spc_hospice", "spc_hospital", "late_referral", "home_death",
    "gp_home_visit",
)  # fmt: skip
"""Outcomes analysed by default (see :data:`OUTCOME_DEFINITIONS`)."""

DEFAULT_FACTORS: tuple[str, ...] = (
    "education", "income_quartile", "living_alone", "origin", "region",
)  # fmt: skip
"""Social factors analysed by default."""

ORDERED_FACTORS: tuple[str, ...] = ("education", "income_quartile", "income_quintile")
"""Factors with an order (low to high position) for which SII and RII are computed."""

DEFAULT_REFERENCE: dict[str, str] = {
    **{
        k: REFERENCE_LEVELS[k]
        for k in (
            "education", "income_quartile", "income_quintile", "living_alone", "immigrant",
            "origin",
        )
    },
    "age_group": REFERENCE_AGE_GROUP_INEQUALITY,
    "living_arrangement": REFERENCE_LEVELS["living_arrangement"],
}  # fmt: skip
"""Reference levels used unless ``reference`` says otherwise (otherwise: the first level)."""

DEFAULT_COVARIATES: tuple[str, ...] = ("age_group", "female", "death_year")
"""Confounders of every model by default; ``cancer_site`` is added for cancer decedents."""

ESTIMANDS: dict[str, str] = {
    "separate": (
        "total effect of each social factor: one model per factor, adjusted for the "
        "confounders {covs} only (not for the other social factors)"
    ),
    "mutual": (
        "controlled direct effect of each social factor: one model with all factors {facs} "
        "and the confounders {covs}, so each factor's ratio holds the other factors fixed "
        "(a mediator, e.g. income on the path from education, is adjusted away)"
    ),
}
"""What ``adjust`` estimates (named in the result's notes)."""

OUTCOME_DEFINITIONS: dict[str, str] = {
    "spc_admitted": "admitted to specialised palliative care (first contact on or before death)",
    "spc_hospice": "admitted to SPC with a hospice as the unit (vs. all others)",
    "spc_hospital": "admitted to SPC with a hospital palliative team/unit (vs. all others)",
    "late_referral": (
        "referred to SPC fewer than {days} days before death, among decedents referred on or "
        "before the day of death"
    ),
    "home_death": "died in own home, among decedents with a known place of death",
    "gp_home_visit": "at least one GP home visit in the last 90 days of life",
}
"""What each built-in outcome means; any other name is taken as a 0/1 or Boolean column."""


@dataclass(frozen=True)
class _Outcome:
    value: pl.Expr
    eligible: pl.Expr
    columns: tuple[str, ...]
    description: str


def _outcome(name: str, late_days: int) -> _Outcome:
    adm = pl.col("spc_admitted").fill_null(False)
    if name == "spc_admitted":
        return _Outcome(adm, pl.lit(True), ("spc_admitted",), OUTCOME_DEFINITIONS[name])
    if name in ("spc_hospice", "spc_hospital"):
        unit = name.removeprefix("spc_")
        return _Outcome(
            adm & (pl.col("spc_unit") == unit).fill_null(False),
            pl.lit(True),
            ("spc_admitted", "spc_unit"),
            OUTCOME_DEFINITIONS[name],
        )
    if name == "late_referral":
        days = pl.col("spc_referral_to_death_days")
        return _Outcome(
            days < late_days,
            pl.col("spc_referred").fill_null(False) & days.is_not_null() & (days >= 0),
            ("spc_referred", "spc_referral_to_death_days"),
            OUTCOME_DEFINITIONS[name].format(days=late_days),
        )
    if name == "home_death":
        return _Outcome(
            pl.col("home_death"),
            pl.col("home_death").is_not_null(),
            ("home_death",),
            OUTCOME_DEFINITIONS[name],
        )
    if name == "gp_home_visit":
        return _Outcome(
            pl.col("gp_home_visits_90d") > 0,
            pl.col("gp_home_visits_90d").is_not_null(),
            ("gp_home_visits_90d",),
            OUTCOME_DEFINITIONS[name],
        )
    return _Outcome(
        pl.col(name).cast(pl.Boolean),
        pl.col(name).is_not_null(),
        (name,),
        f"{name} (0/1 column of the cohort)",
    )


@dataclass(repr=False)
class InequalityResult(AnalysisResult):
    """Social inequality in palliative care (analysis 4).

    Tables
    ------
    ``proportions``
        ``outcome, factor, level, n, events, crude, crude_low, crude_high, estimate,
        conf_low, conf_high``: crude proportions (Wilson CI) and proportions directly
        standardised to the age x sex distribution of the analysed population (gamma CI,
        Fay & Feuer); ``estimate`` is null for a level that lacks an age x sex stratum.
    ``ratios``
        ``outcome, measure (OR/PR), adjustment, factor, level, reference, is_reference, n,
        events, estimate, conf_low, conf_high, log_estimate, std_error, p_value``: adjusted
        ratios of each level against the factor's reference level (reference rows carry
        ``estimate = 1`` and no CI).
    ``indices``
        ``outcome, factor, measure (SII/RII), estimate, conf_low, conf_high, std_error,
        p_value, n, events, order``: SII (absolute difference, top vs bottom of ``order``)
        and RII (prevalence ratio, top vs bottom), adjusted for the covariates.
    ``joint``
        ``outcome, <factor 1>, <factor 2>, is_reference, n, events, share, estimate,
        conf_low, conf_high, p_value``: OR of each cell vs the lowest-lowest cell.

    Figures: ``gradient`` (standardised and crude proportions by level of every factor),
    ``forest`` (adjusted ORs/PRs), ``joint`` (the education x income grid of ORs). Each
    draws the first outcome; :meth:`gradient_plot`, :meth:`forest_plot` and
    :meth:`joint_plot` take ``outcome=``.
    """

    figures: ClassVar[tuple[str, ...]] = ("gradient", "forest", "joint")

    # -- helpers -----------------------------------------------------------------------
    def _outcome_of(self, outcome: str | None, table: str) -> str:
        tab = self.tables[table]
        present = tab["outcome"].unique(maintain_order=True).to_list()
        if outcome is None:
            wanted = [o for o in self.params.get("outcomes", []) if o in present]
            if not (wanted or present):
                raise ValueError(f"table {table!r} is empty; nothing to draw")
            return (wanted or present)[0]
        if outcome not in present:
            raise ValueError(f"outcome {outcome!r} not in table {table!r}; choose from {present}")
        return outcome

    # -- figures -----------------------------------------------------------------------
    def gradient_plot(self, outcome: str | None = None, ax: Any = None, lang: str = "en") -> Any:
        """Standardised (and crude) proportions with CIs by level of each factor."""
        outcome = self._outcome_of(outcome, "proportions")
        tab = self.tables["proportions"].filter(pl.col("outcome") == outcome)
        factors = tab["factor"].unique(maintain_order=True).to_list()
        kinds = {
            "standardised": label("ineq_standardised", lang),
            "crude": label("ineq_crude", lang),
        }
        long = pl.concat(
            [
                tab.select(
                    "factor",
                    "level",
                    kind=pl.lit(kinds["standardised"]),
                    estimate="estimate",
                    conf_low="conf_low",
                    conf_high="conf_high",
                ),
                tab.select(
                    "factor",
                    "level",
                    kind=pl.lit(kinds["crude"]),
                    estimate="crude",
                    conf_low="crude_low",
                    conf_high="crude_high",
                ),
            ]
        ).with_columns(x=pl.col("factor") + "=" + pl.col("level"))
        # keep x positions in table order even where one kind is blank
        xs = tab.select(x=pl.col("factor") + "=" + pl.col("level"))["x"].to_list()
        shown = long.filter(pl.col("estimate").is_not_null())["x"].unique().to_list()
        xs = [x for x in xs if x in set(shown)]
        long = long.with_columns(_o=pl.col("x").replace_strict(xs, range(len(xs)), default=None))
        long = long.filter(pl.col("_o").is_not_null()).sort("_o", "kind", descending=[False, True])
        if ax is None:
            _, ax = figure(max(6.0, 0.55 * len(xs) + 2.0), 4.4)
        points(
            long,
            x="x",
            group="kind",
            ylabel=label("proportion", lang),
            title=f"{label(outcome, lang)}: {label('ineq_by_social_position', lang)}",
            lang=lang,
            ax=ax,
        )
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([level_label(*x.split("=", 1), lang) for x in xs])
        fit_ticklabels(ax)
        ax.get_legend().set_title(None)
        # factor blocks: separators and names along the top
        start = 0
        for f in factors:
            k = sum(1 for x in xs if x.split("=", 1)[0] == f)
            if k == 0:
                continue
            if start:
                ax.axvline(start - 0.5, color="#bbbbbb", linewidth=0.8)
            ax.text(
                start + (k - 1) / 2,
                1.0,
                label(f, lang),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
            )
            start += k
        # the title above the factor names (8 pt text at the top edge), never on them
        ax.set_title(ax.get_title(), pad=22)
        return ax

    def forest_plot(
        self,
        outcome: str | None = None,
        measure: str | None = None,
        ax: Any = None,
        lang: str = "en",
    ) -> Any:
        """Adjusted ORs and/or PRs with CIs per factor level (reference levels at 1)."""
        outcome = self._outcome_of(outcome, "ratios")
        tab = self.tables["ratios"].filter(pl.col("outcome") == outcome)
        if measure is not None:
            tab = tab.filter(pl.col("measure") == measure)
        names = {"OR": label("odds_ratio", lang), "PR": label("prevalence_ratio", lang)}
        rows = []
        for r in tab.iter_rows(named=True):
            ref = r["is_reference"]
            term = f"{label(r['factor'], lang)}: {level_label(r['factor'], r['level'], lang)}"
            rows.append(
                {
                    "term": term + (f" ({label('ineq_reference', lang)})" if ref else ""),
                    "model": names.get(r["measure"], r["measure"]),
                    "ratio": r["estimate"],
                    "ratio_low": r["estimate"] if ref else r["conf_low"],
                    "ratio_high": r["estimate"] if ref else r["conf_high"],
                }
            )
        plot_tab = pl.DataFrame(
            rows,
            schema={
                "term": pl.String,
                "model": pl.String,
                "ratio": pl.Float64,
                "ratio_low": pl.Float64,
                "ratio_high": pl.Float64,
            },
        )
        several = plot_tab["model"].n_unique() > 1
        return forest(
            plot_tab,
            group="model" if several else None,
            xlabel=label("ineq_ratio_ci", lang),
            title=f"{label(outcome, lang)}: {label('ineq_adjusted_ratios', lang)}",
            lang=lang,
            ax=ax,
        )

    def joint_plot(self, outcome: str | None = None, ax: Any = None, lang: str = "en") -> Any:
        """ORs of every cell of the joint gradient (x: second factor, colour: first)."""
        outcome = self._outcome_of(outcome, "joint")
        f1, f2 = self.params["joint"]
        tab = self.tables["joint"].filter(pl.col("outcome") == outcome)
        tab = tab.with_columns(
            x=pl.col(f2).map_elements(lambda v: level_label(f2, v, lang), return_dtype=pl.String),
            conf_low=pl.when(pl.col("is_reference"))
            .then(pl.col("estimate"))
            .otherwise(pl.col("conf_low")),
            conf_high=pl.when(pl.col("is_reference"))
            .then(pl.col("estimate"))
            .otherwise(pl.col("conf_high")),
        )
        ref1, ref2 = self.params["joint_reference"]
        ax = points(
            tab,
            x="x",
            group=f1,
            ylabel=label("odds_ratio", lang),
            percent=False,
            log=True,
            reference=1.0,
            title=f"{label(outcome, lang)}: {label(f1, lang)} x {label(f2, lang)}",
            lang=lang,
            ax=ax,
        )
        lo, hi = ax.get_ylim()
        ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16) if lo <= t <= hi]
        ax.set_yticks(ticks)
        ax.set_yticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel(
            f"{label(f2, lang)} ({label('ineq_reference', lang)}: "
            f"{label(ref1, lang)}, {level_label(f2, ref2, lang)})"
        )
        return ax

    def _plot_gradient(self, ax: Any = None, lang: str = "en") -> Any:
        return self.gradient_plot(ax=ax, lang=lang)

    def _plot_forest(self, ax: Any = None, lang: str = "en") -> Any:
        return self.forest_plot(ax=ax, lang=lang)

    def _plot_joint(self, ax: Any = None, lang: str = "en") -> Any:
        return self.joint_plot(ax=ax, lang=lang)


# ---------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------


def _references(
    data: pl.DataFrame, cols: Sequence[str], given: Mapping[str, str]
) -> dict[str, str]:
    """Reference level of each String column: given, else the default if present, else the
    first level in display order."""
    out = {}
    for c in cols:
        if data.schema[c] != pl.String:
            continue
        present = data[c].unique().drop_nulls().to_list()
        if c in given:
            if given[c] not in present:
                raise ValueError(
                    f"reference level {given[c]!r} of {c!r} not found among the analysed "
                    f"persons (levels: {ordered_levels(c, present)})"
                )
            out[c] = given[c]
        elif DEFAULT_REFERENCE.get(c) in present:
            out[c] = DEFAULT_REFERENCE[c]
        elif present:
            out[c] = ordered_levels(c, present)[0]
    return out


def _proportions(
    frame: pl.DataFrame,
    outcome: str,
    factors: Sequence[str],
    strata: Sequence[str],
    conf_level: float,
    notes: list[str],
) -> pl.DataFrame:
    standard = frame.group_by(list(strata)).agg(population=pl.len())
    parts = []
    for f in factors:
        crude = share_table(frame, [f], pl.col("_event").cast(pl.Boolean), conf_level).rename(
            {"estimate": "crude", "conf_low": "crude_low", "conf_high": "crude_high", f: "level"}
        )
        counts = frame.group_by(f, *strata).agg(_x=pl.col("_event").sum(), _n=pl.len())
        n_strata = standard.height
        complete = counts.group_by(f).agg(k=pl.len()).filter(pl.col("k") == n_strata)[f]
        incomplete = sorted(set(crude["level"]) - set(complete))
        if incomplete:
            notes.append(
                f"{outcome}, {f}: no standardised proportion for level(s) {incomplete} "
                "(an age x sex stratum is empty)"
            )
        std = None
        if complete.len():
            std = direct_standardise(
                counts.filter(pl.col(f).is_in(complete.implode())),
                "_x",
                "_n",
                list(strata),
                standard,
                by=f,
                conf_level=conf_level,
            ).select(pl.col(f).alias("level"), "estimate", "conf_low", "conf_high")
        if std is None:
            std = pl.DataFrame(
                schema={
                    "level": pl.String,
                    "estimate": pl.Float64,
                    "conf_low": pl.Float64,
                    "conf_high": pl.Float64,
                }
            )
        tab = crude.join(std, on="level", how="left")
        order = ordered_levels(f, tab["level"].to_list())
        tab = tab.with_columns(
            _o=pl.col("level").replace_strict(order, range(len(order)), return_dtype=pl.Int64)
        ).sort("_o")
        parts.append(tab.drop("_o").with_columns(factor=pl.lit(f)))
    out = pl.concat(parts, how="vertical_relaxed")
    return out.select(
        outcome=pl.lit(outcome),
        factor="factor",
        level="level",
        n="n",
        events="events",
        crude="crude",
        crude_low="crude_low",
        crude_high="crude_high",
        estimate="estimate",
        conf_low="conf_low",
        conf_high="conf_high",
    )


def _ratio_rows(
    res: Any,
    data: pl.DataFrame,
    outcome: str,
    measure: str,
    adjustment: str,
    factors: Sequence[str],
    refs: Mapping[str, str],
) -> pl.DataFrame:
    parts = []
    for f in factors:
        counts = data.group_by(f).agg(
            n=pl.len().cast(pl.Int64), events=pl.col("_event").cast(pl.Int64).sum()
        )
        order = ordered_levels(f, counts[f].to_list())
        terms = res.table.filter(pl.col("variable") == f).select(
            "level",
            estimate="ratio",
            conf_low="ratio_low",
            conf_high="ratio_high",
            log_estimate="estimate",
            std_error="std_error",
            p_value="p_value",
        )
        tab = (
            counts.rename({f: "level"})
            .join(terms, on="level", how="left")
            .with_columns(
                is_reference=pl.col("level") == refs[f],
                _o=pl.col("level").replace_strict(order, range(len(order)), return_dtype=pl.Int64),
            )
            .with_columns(
                estimate=pl.when(pl.col("is_reference"))
                .then(pl.lit(1.0))
                .otherwise(pl.col("estimate")),
                log_estimate=pl.when(pl.col("is_reference"))
                .then(pl.lit(0.0))
                .otherwise(pl.col("log_estimate")),
            )
            .sort("_o")
        )
        parts.append(
            tab.select(
                outcome=pl.lit(outcome),
                measure=pl.lit(measure),
                adjustment=pl.lit(adjustment),
                factor=pl.lit(f),
                level="level",
                reference=pl.lit(refs[f]),
                is_reference="is_reference",
                n="n",
                events="events",
                estimate="estimate",
                conf_low="conf_low",
                conf_high="conf_high",
                log_estimate="log_estimate",
                std_error="std_error",
                p_value="p_value",
            )
        )
    return pl.concat(parts, how="vertical_relaxed")


_FITTERS = {"OR": logistic, "PR": modified_poisson}


def _living_arrangement(frame: pl.DataFrame, wanted: set[str], notes: list[str]) -> pl.DataFrame:
    """``living_alone`` null for nursing-home residents and ``living_arrangement`` when the
    cohort has ``nursing_home_resident``; otherwise a note that the two are mixed."""
    if not ({"living_alone", "living_arrangement"} & wanted):
        return frame
    nh = frame.get_column("nursing_home_resident", default=None)
    if nh is None or nh.null_count() == frame.height:  # no column, or no nursing-home register
        if "living_alone" in wanted:
            notes.append(
                "living_alone is BEF's one-person family (ANTPERSF = 1), which includes "
                "nursing-home residents: without a nursing-home indicator it mixes people living "
                "alone at home with care-home residents"
            )
        return frame
    res = pl.col("nursing_home_resident").fill_null(False)
    n_res = frame.filter(res & pl.col("living_alone").is_not_null()).height
    notes.append(
        f"living_alone: {n_res:,} nursing-home residents set to missing (not living alone at "
        "home); living_arrangement = cohabiting / living_alone / nursing_home"
    )
    return frame.with_columns(
        living_arrangement=pl.when(res)
        .then(pl.lit("nursing_home"))
        .when(pl.col("living_alone"))
        .then(pl.lit("living_alone"))
        .when(pl.col("living_alone").not_())
        .then(pl.lit("cohabiting")),
        living_alone=pl.when(~res).then(pl.col("living_alone")),
    )


def _clusters(
    frame: pl.DataFrame, cluster: str | None, notes: list[str]
) -> tuple[pl.DataFrame, str | None]:
    """The cluster column ``_cluster`` (persons without one are their own cluster)."""
    if cluster is None:
        notes.append("standard errors not clustered (cluster=None)")
        return frame, None
    if cluster not in frame.columns:
        notes.append(
            f"no {cluster!r} column: standard errors not clustered (HC0 for PR, model-based for OR)"
        )
        return frame, None
    n_none = frame[cluster].null_count()
    out = frame.with_row_index("_ri").with_columns(
        _cluster=pl.coalesce(
            pl.col(cluster).cast(pl.String), pl.lit("_own_") + pl.col("_ri").cast(pl.String)
        )
    )
    notes.append(
        f"cluster-robust standard errors by {cluster} ({out['_cluster'].n_unique():,} clusters"
        + (f"; {n_none:,} persons without a {cluster} are their own clusters)" if n_none else ")")
    )
    return out.drop("_ri"), "_cluster"


def _adjust_mode(mutual: bool, adjust: str | None) -> str:
    """The internal estimand name ("mutual"/"separate") from ``mutual`` or the deprecated
    ``adjust``."""
    if adjust is not None:
        warnings.warn(
            "social_inequality(adjust=...) is deprecated; use mutual=True or mutual=False "
            "(the argument name of place_of_death_gp)",
            DeprecationWarning,
            stacklevel=3,
        )
        if adjust not in ("mutual", "separate"):
            raise ValueError(f"adjust must be 'mutual' or 'separate', got {adjust!r}")
        return adjust
    if not isinstance(mutual, bool):
        raise TypeError(f"mutual must be True or False, got {mutual!r}")
    return "mutual" if mutual else "separate"


def social_inequality(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    *,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    factors: Sequence[str] = DEFAULT_FACTORS,
    covariates: Sequence[str] | None = None,
    population: str | pl.Expr = "cancer",
    reference: Mapping[str, Any] | None = None,
    mutual: bool = False,
    cluster: str | None = "practice",
    measures: Sequence[str] = ("OR", "PR"),
    missing: str = "exclude",
    joint: tuple[str, str] | None = ("education", "income_quartile"),
    joint_outcomes: Sequence[str] | None = None,
    standardise_by: Sequence[str] = ("age_group", "sex"),
    continuous: Sequence[str] = ("age", "charlson_index"),
    late_referral_days: int = 30,
    conf_level: float = 0.95,
    adjust: str | None = None,
) -> InequalityResult:
    """Social inequality in SPC, late referral, home death and GP home visits (analysis 4).

    Parameters
    ----------
    cohort
        The end-of-life cohort (:func:`paleval.cohort.end_of_life_cohort`): DataFrame,
        LazyFrame or Cohort, one row per adult decedent.
    outcomes
        Built-in outcomes (:data:`OUTCOME_DEFINITIONS`): ``spc_admitted``, ``spc_hospice``,
        ``spc_hospital``, ``late_referral``, ``home_death``, ``gp_home_visit``; any other
        name is a 0/1 or Boolean cohort column (nulls not analysed).
    factors
        Social factors. ``living_alone`` is BEF's one-person family (``ANTPERSF == 1``),
        which also counts nursing-home residents; when the cohort has a Boolean
        ``nursing_home_resident`` column, residents get a null ``living_alone`` (level
        ``missing``: left out of the models, counted) and the factor ``living_arrangement``
        (cohabiting / living_alone / nursing_home) is available. Booleans become named levels
        (``living_alone``: cohabiting / living_alone), numbers become text levels (income
        quartile ``"1"``..``"4"``), nulls the level ``"missing"``. ``immigrant`` is derived
        from ``origin`` when absent (immigrant vs. Danish origin or descendant). ``region``
        is the region name, ``region_code`` BEF's REG code ("81".."85" = DST regions 1081-1085).
    covariates
        Adjustment variables (confounders) of the ratio models, the inequality indices and the
        joint gradient. Default (``None``): :data:`DEFAULT_COVARIATES` (age group, sex, year
        of death), plus ``cancer_site`` when the population is ``"cancer"`` (site drives SPC
        admittance: Adsersen et al., BMC Palliat Care 2017; an unmapped site is the level
        ``"unmapped"``, counted in the notes). Give a list to choose exactly. Strings and
        Booleans enter as they are, integer columns as categories (e.g. ``death_year``)
        unless named in ``continuous``; floats as linear terms. ``female`` is
        derived from ``sex``.
    population
        ``"cancer"`` (default, adult cancer decedents), ``"noncancer"``, ``"all"`` or a
        Boolean polars expression.
    reference
        Reference levels by column (factors and categorical covariates), e.g.
        ``{"age_group": "70-79", "region_code": "84"}``; defaults: lowest education, income
        Q1, cohabiting, Danish origin, age 80-89, otherwise the first level.
    mutual
        ``False`` (default): one model per factor with the confounders only, i.e. the total
        effect of each factor; ``True``: one model per outcome with all factors and the
        confounders, i.e. a controlled direct effect of each factor given the others
        (education's effect net of income, which it partly acts through). The notes name the
        estimand. (The same argument name as ``place_of_death_gp``'s.)
    cluster
        Column of cluster-robust standard errors of the ratio models, indices and joint
        gradient (default ``"practice"``: patients of one general practice share its
        practice style; sandwich ``CL-HC0`` with ``G/(G-1)``). Persons without a practice are
        their own clusters. ``None``, or a cohort without the column (noted), gives HC0 (PR)
        and model-based (OR) standard errors.
    measures
        ``"OR"`` (logistic regression) and/or ``"PR"`` (modified Poisson, HC0 robust SE).
    missing
        ``"exclude"`` (default): persons with an unknown/missing factor level or covariate
        are left out of models, indices and the joint gradient (complete cases; counted in
        ``notes``); ``"category"``: unknown factor levels stay in the models as levels.
        Proportions always show the unknown levels.
    joint
        Two factors for the joint gradient (``None``: no joint table); the reference cell is
        their reference levels.
    joint_outcomes
        Outcomes of the joint gradient (default: the first outcome).
    standardise_by
        Strata of the direct standardisation; the standard is the analysed population's
        distribution over them.
    continuous
        Integer covariates that enter as linear terms.
    late_referral_days
        Threshold of ``late_referral``.
    conf_level
        Confidence level of all intervals.
    adjust
        Deprecated (one release): ``"separate"`` is ``mutual=False``, ``"mutual"`` is
        ``mutual=True``.

    Returns
    -------
    InequalityResult
        Tables ``proportions``, ``ratios``, ``indices``, ``joint``; fitted models in
        ``models`` (``"outcome|measure"`` or ``"outcome|measure|factor"``, ``"joint|outcome"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> m = 400
    >>> edu = rng.choice(["lower_secondary", "long_higher"], m)
    >>> d = pl.DataFrame({
    ...     "education": edu, "income_quartile": rng.integers(1, 5, m),
    ...     "age_group": rng.choice(["60-69", "80+"], m), "sex": rng.choice(["male", "female"], m),
    ...     "death_year": rng.choice([2019, 2020], m), "cancer": True,
    ...     "spc_admitted": rng.random(m) < np.where(edu == "long_higher", 0.6, 0.4)})
    >>> res = social_inequality(d, outcomes=["spc_admitted"],
    ...                         factors=["education", "income_quartile"])
    >>> res.tables["ratios"].filter(pl.col("measure") == "OR").select("level", "n").rows()[:2]
    [('lower_secondary', 195), ('long_higher', 205)]
    >>> res.tables["joint"].height
    8
    """
    adjust = _adjust_mode(mutual, adjust)
    frame = with_female(as_frame(cohort))
    notes: list[str] = []
    default_covariates = covariates is None
    if covariates is None:
        covariates = _default_covariates(frame, population, notes)
    outcomes, factors, covariates, joint_pair, joint_outs = _check_options(
        outcomes, factors, covariates, adjust, missing, measures, joint, joint_outcomes
    )
    wanted = {*factors, *covariates, *joint_pair}
    frame = _derived_factors(frame, wanted, notes)
    defs = {o: _outcome(o, late_referral_days) for o in outcomes}
    needed = [
        *{c for d in defs.values() for c in d.columns},
        *factors,
        *covariates,
        *standardise_by,
        *joint_pair,
    ]
    require_columns(frame, list(dict.fromkeys(needed)), "social inequality")
    _check_outcome_columns(frame, defs)
    given = {str(k): str(v) for k, v in (reference or {}).items()}
    stray = sorted(set(given) - wanted)
    if stray:
        raise ValueError(f"reference given for {stray}, which are neither factors nor covariates")

    frame, pop_text = select_population(frame, population, notes)
    if frame.height == 0:
        raise ValueError("no persons in the population")
    frame = _unmapped_site(frame, covariates, notes)
    estimand = ESTIMANDS[adjust].format(
        covs=", ".join(covariates) or "nothing", facs=", ".join(factors)
    )
    notes.append(
        f"mutual={adjust == 'mutual'}: {estimand}"
        + ("; default confounders" if default_covariates else "")
    )
    frame, cl = _clusters(frame, cluster, notes)
    frame = _coded(frame, list(dict.fromkeys([*factors, *joint_pair])), covariates, continuous)
    fit = _Fit(
        factors=factors,
        covariates=covariates,
        measures=list(measures),
        adjust=adjust,
        missing=missing,
        cluster=cl,
        given=given,
        conf_level=conf_level,
        notes=notes,
    )

    props, ratios, indices, joint_tabs = [], [], [], []
    for o, d in defs.items():
        elig = frame.filter(d.eligible.fill_null(False)).with_columns(_event=d.value.cast(pl.Int8))
        if elig.height < frame.height:
            notes.append(f"{o}: {d.description}; {elig.height:,} of {frame.height:,} analysed")
        if elig.height == 0:
            notes.append(f"{o}: nobody eligible; outcome skipped")
            continue
        strata_ok = pl.all_horizontal([pl.col(s).is_not_null() for s in standardise_by])
        std_frame = elig.filter(strata_ok)
        if std_frame.height < elig.height:
            notes.append(
                f"{o}: {elig.height - std_frame.height:,} persons with unknown "
                f"{'/'.join(standardise_by)} left out of the proportions"
            )
        props.append(_proportions(std_frame, o, factors, standardise_by, conf_level, notes))
        ratios += fit.ratio_models(o, elig)
        indices += fit.indices(o, elig)
        if joint is not None and o in joint_outs:
            tab = fit.joint_gradient(o, elig, joint_pair)
            if tab is not None:
                joint_tabs.append(tab)

    tables = {
        "proportions": _concat(props, _PROP_SCHEMA),
        "ratios": _concat(ratios, _RATIO_SCHEMA),
        "indices": _concat(indices, _INDEX_SCHEMA),
        "joint": _concat(
            joint_tabs,
            {
                "outcome": pl.String,
                **{f: pl.String for f in (joint_pair or ["factor_1", "factor_2"])},
                **_JOINT_SCHEMA,
            },
        ),
    }
    j1, j2 = joint_pair or ["factor_1", "factor_2"]
    margins = {
        "proportions": [["outcome", "factor"]],
        "ratios": [["outcome", "measure", "adjustment", "factor"]],
        "indices": [],
        "joint": [["outcome", j1], ["outcome", j2]],
    }
    jref = None
    if joint_pair:
        jt = tables["joint"].filter(pl.col("is_reference"))
        jref = (
            [jt[j1][0], jt[j2][0]]
            if jt.height
            else [DEFAULT_REFERENCE.get(j1, ""), DEFAULT_REFERENCE.get(j2, "")]
        )
    return InequalityResult(
        title=f"Social inequality in palliative care: {pop_text}",
        tables=tables,
        n=frame.height,
        params={
            "outcomes": outcomes,
            "factors": factors,
            "covariates": covariates,
            "population": population if isinstance(population, str) else str(population),
            "adjust": adjust,
            "mutual": adjust == "mutual",
            "estimand": "total effect" if adjust == "separate" else "controlled direct effect",
            "cluster": cl if cl is None else cluster,
            "measures": list(measures),
            "missing": missing,
            "joint": joint_pair or None,
            "joint_reference": jref,
            "standardise_by": list(standardise_by),
            "late_referral_days": late_referral_days,
        },
        models=fit.models,
        notes=notes,
        margins=margins,
    )


# ------------------------------------------------------------------ the steps
def _default_covariates(
    frame: pl.DataFrame, population: str | pl.Expr, notes: list[str]
) -> list[str]:
    """Age group, sex and year of death, and cancer site for the cancer population."""
    covariates = list(DEFAULT_COVARIATES)
    if isinstance(population, str) and population == "cancer":
        if "cancer_site" in frame.columns:
            covariates.append("cancer_site")
        else:
            notes.append("the cohort has no cancer_site column: not adjusted for cancer site")
    return covariates


def _check_options(
    outcomes: Sequence[str],
    factors: Sequence[str],
    covariates: Sequence[str],
    adjust: str,
    missing: str,
    measures: Sequence[str],
    joint: tuple[str, str] | None,
    joint_outcomes: Sequence[str] | None,
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """The options checked: outcomes, factors, covariates, the joint pair and its outcomes."""
    outcomes, factors, covariates = list(outcomes), list(factors), list(covariates)
    if not outcomes or not factors:
        raise ValueError("give at least one outcome and one factor")
    if adjust not in ("mutual", "separate"):
        raise ValueError(f"adjust must be 'mutual' or 'separate', got {adjust!r}")
    if missing not in ("exclude", "category"):
        raise ValueError(f"missing must be 'exclude' or 'category', got {missing!r}")
    bad = [m for m in measures if m not in _FITTERS]
    if bad or not measures:
        raise ValueError(f"measures must be among {list(_FITTERS)}, got {list(measures)}")
    overlap = sorted(set(factors) & set(covariates))
    if overlap:
        raise ValueError(f"column(s) {overlap} given both as factor and as covariate")
    for name, seq in (("outcomes", outcomes), ("factors", factors), ("covariates", covariates)):
        dups = sorted({x for x in seq if seq.count(x) > 1})
        if dups:
            raise ValueError(f"{name} lists {dups} more than once")
    joint_pair = list(joint) if joint is not None else []
    if joint is not None and (len(joint_pair) != 2 or joint_pair[0] == joint_pair[1]):
        raise ValueError(f"joint must be two different factors, got {joint!r}")
    joint_outs = list(joint_outcomes) if joint_outcomes is not None else outcomes[:1]
    unknown_j = [o for o in joint_outs if o not in outcomes]
    if unknown_j:
        raise ValueError(f"joint_outcomes {unknown_j} are not among the outcomes {outcomes}")
    return outcomes, factors, covariates, joint_pair, joint_outs


def _derived_factors(frame: pl.DataFrame, wanted: set[str], notes: list[str]) -> pl.DataFrame:
    """Living arrangement (nursing-home residents) and ``immigrant`` from ``origin``."""
    frame = _living_arrangement(frame, wanted, notes)
    if "immigrant" in wanted and "immigrant" not in frame.columns:
        require_columns(frame, ["origin"], "social inequality (immigrant)")
        frame = frame.with_columns(
            immigrant=pl.when(pl.col("origin").is_not_null()).then(pl.col("origin") == "immigrant")
        )
    return frame


def _check_outcome_columns(frame: pl.DataFrame, defs: Mapping[str, _Outcome]) -> None:
    """A user's outcome column is Boolean or 0/1."""
    for o in defs:
        if o in OUTCOME_DEFINITIONS:
            continue
        dt = frame.schema[o]
        if not (dt == pl.Boolean or dt.is_integer()):
            raise ValueError(f"outcome column {o!r} must be Boolean or 0/1, got {dt}")
        nbad = frame.filter(~pl.col(o).cast(pl.Int64).is_in([0, 1])).height
        if nbad:
            raise ValueError(f"outcome column {o!r}: {nbad} row(s) are not 0 or 1")


def _unmapped_site(frame: pl.DataFrame, covariates: Sequence[str], notes: list[str]):
    """An unmapped cancer site is the level ``"unmapped"`` (counted), not a dropped person."""
    if "cancer_site" in covariates and frame.schema["cancer_site"] == pl.String:
        n_unmapped = frame["cancer_site"].null_count()
        if n_unmapped:
            frame = frame.with_columns(pl.col("cancer_site").fill_null("unmapped"))
            notes.append(
                f"cancer_site: {n_unmapped:,} persons without a mapped site kept as the level "
                "'unmapped'"
            )
    return frame


def _coded(
    frame: pl.DataFrame, factors: list[str], covariates: Sequence[str], continuous: Sequence[str]
) -> pl.DataFrame:
    """Factors as String levels; integer covariates as categories unless ``continuous``."""
    frame = frame.with_columns([factor_levels(frame, f) for f in factors])
    cov_exprs = []
    for c in covariates:
        dt = frame.schema[c]
        if dt.is_integer() and c not in continuous:
            cov_exprs.append(pl.col(c).cast(pl.String))
        elif not (dt in (pl.String, pl.Boolean) or dt.is_numeric()):
            cov_exprs.append(pl.col(c).cast(pl.String))
    return frame.with_columns(cov_exprs) if cov_exprs else frame


def _known(cols: Sequence[str]) -> pl.Expr:
    """No unknown or missing level in any of ``cols``."""
    return pl.all_horizontal(
        [~pl.col(f).is_in(list(MISSING_LEVELS)) for f in cols] or [pl.lit(True)]
    )


@dataclass
class _Fit:
    """The models of one call, fitted outcome by outcome: ratio models (crude, separate or
    mutual adjustment), inequality indices of the ordered factors, and the joint gradient.
    Fitted models are kept in ``models``; what could not be estimated is noted."""

    factors: list[str]
    covariates: list[str]
    measures: list[str]
    adjust: str
    missing: str
    cluster: str | None
    given: dict[str, str]
    conf_level: float
    notes: list[str]
    models: dict[str, Any] = field(default_factory=dict)

    @property
    def cov_known(self) -> pl.Expr:
        return pl.all_horizontal(
            [pl.col(c).is_not_null() for c in self.covariates] or [pl.lit(True)]
        )

    def ratio_models(self, o: str, elig: pl.DataFrame) -> list[pl.DataFrame]:
        """Complete cases: of all factors when mutual, of the factor when separate."""
        notes = self.notes
        model_frame = elig.filter(self.cov_known)
        if model_frame.height < elig.height:
            notes.append(
                f"{o}: {elig.height - model_frame.height:,} persons with an unknown covariate "
                "left out of the ratio models"
            )
        if not (model_frame.height and model_frame["_event"].n_unique() > 1):
            notes.append(f"{o}: outcome constant among the analysed persons; no ratio models")
            return []
        rows = []
        sets = [self.factors] if self.adjust == "mutual" else [[f] for f in self.factors]
        for fs in sets:
            mf = model_frame
            if self.missing == "exclude":
                mf = mf.filter(_known(fs))
                if mf.height < model_frame.height:
                    notes.append(
                        f"{o}: {model_frame.height - mf.height:,} persons with an unknown "
                        f"level of {'/'.join(fs)} left out of its ratio model(s)"
                    )
            if mf.height == 0 or mf["_event"].n_unique() < 2:
                notes.append(f"{o}, {'/'.join(fs)}: outcome constant; no ratio model")
                continue
            mf = drop_separated(mf, [*fs, *self.covariates], notes, f"{o}, ratio models")
            refs = _references(mf, [*fs, *self.covariates], self.given)
            for m in self.measures:
                key = f"{o}|{m}" + ("" if self.adjust == "mutual" else f"|{fs[0]}")
                res = fit_or_note(
                    partial(
                        _FITTERS[m],
                        mf,
                        "_event",
                        list(fs),
                        self.covariates,
                        cluster=self.cluster,
                        reference=refs,
                        conf_level=self.conf_level,
                    ),
                    notes,
                    key,
                )
                if res is None:
                    continue
                res.outcome = o
                self.models[key] = res
                rows.append(_ratio_rows(res, mf, o, m, self.adjust, fs, refs))
        return rows

    def indices(self, o: str, elig: pl.DataFrame) -> list[pl.DataFrame]:
        """Slope and relative index of inequality for the ordered factors."""
        rows = []
        for f in self.factors:
            if f not in ORDERED_FACTORS:
                continue
            fr = drop_separated(
                elig.filter(self.cov_known & _known([f])),
                self.covariates,
                self.notes,
                f"{o}, indices of {f}",
            )
            order = ordered_levels(f, fr[f].unique().to_list())
            if len(order) < 2 or fr["_event"].n_unique() < 2:
                continue
            for kind, fn in (
                ("SII", slope_index_of_inequality),
                ("RII", relative_index_of_inequality),
            ):
                row = fit_or_note(
                    partial(
                        fn,
                        fr,
                        f,
                        outcome="_event",
                        covariates=self.covariates,
                        order=order,
                        cluster=self.cluster,
                        conf_level=self.conf_level,
                    ),
                    self.notes,
                    f"{o}|{kind}|{f}",
                )
                if row is not None:
                    rows.append(_index_row(row, o, f, order))
        return rows

    def joint_gradient(
        self, o: str, elig: pl.DataFrame, joint_pair: list[str]
    ) -> pl.DataFrame | None:
        """Odds ratios of every cell of two factors against their reference cell."""
        f1, f2 = joint_pair
        jf = elig.filter(self.cov_known & _known(joint_pair)).with_columns(
            _cell=pl.col(f1) + "|" + pl.col(f2)
        )
        if jf.height == 0:
            return None
        cells = jf.group_by(f1, f2).agg(
            n=pl.len().cast(pl.Int64), events=pl.col("_event").cast(pl.Int64).sum()
        )
        jf = drop_separated(jf, ["_cell", *self.covariates], self.notes, f"{o}, joint gradient")
        refs = _references(jf, [f1, f2, *self.covariates], self.given)
        ref_cell = f"{refs[f1]}|{refs[f2]}"
        res = fit_or_note(
            partial(
                logistic,
                jf,
                "_event",
                ["_cell"],
                self.covariates,
                cluster=self.cluster,
                reference={
                    **{k: v for k, v in refs.items() if k in self.covariates},
                    "_cell": ref_cell,
                },
                conf_level=self.conf_level,
            ),
            self.notes,
            f"joint|{o}",
        )
        o1 = ordered_levels(f1, cells[f1].to_list())
        o2 = ordered_levels(f2, cells[f2].to_list())
        cells = cells.with_columns(
            _cell=pl.col(f1) + "|" + pl.col(f2),
            _o1=pl.col(f1).replace_strict(o1, range(len(o1)), return_dtype=pl.Int64),
            _o2=pl.col(f2).replace_strict(o2, range(len(o2)), return_dtype=pl.Int64),
        ).sort("_o1", "_o2")
        if res is not None:
            res.outcome = o
            self.models[f"joint|{o}"] = res
            terms = res.table.filter(pl.col("variable") == "_cell").select(
                _cell="level",
                estimate="ratio",
                conf_low="ratio_low",
                conf_high="ratio_high",
                p_value="p_value",
            )
        else:
            terms = pl.DataFrame(
                schema={
                    "_cell": pl.String,
                    "estimate": pl.Float64,
                    "conf_low": pl.Float64,
                    "conf_high": pl.Float64,
                    "p_value": pl.Float64,
                }
            )
        is_ref = pl.col("_cell") == ref_cell
        return cells.join(terms, on="_cell", how="left").select(
            outcome=pl.lit(o),
            **{f1: pl.col(f1), f2: pl.col(f2)},
            is_reference=is_ref,
            n="n",
            events="events",
            share=pl.col("events") / pl.col("n"),
            estimate=pl.when(is_ref)
            .then(pl.lit(1.0) if res is not None else None)
            .otherwise(pl.col("estimate")),
            conf_low="conf_low",
            conf_high="conf_high",
            p_value="p_value",
        )


def _index_row(row: pl.DataFrame, o: str, f: str, order: list[str]) -> pl.DataFrame:
    return row.select(
        outcome=pl.lit(o),
        factor=pl.lit(f),
        measure="measure",
        estimate="estimate",
        conf_low="conf_low",
        conf_high="conf_high",
        std_error="std_error",
        p_value="p_value",
        n=pl.col("n").round(0).cast(pl.Int64),
        events=pl.col("events").round(0).cast(pl.Int64),
        order=pl.lit(" < ".join(order)),
    )


_PROP_SCHEMA = {
    "outcome": pl.String,
    "factor": pl.String,
    "level": pl.String,
    "n": pl.Int64,
    "events": pl.Int64,
    "crude": pl.Float64,
    "crude_low": pl.Float64,
    "crude_high": pl.Float64,
    "estimate": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
}
_RATIO_SCHEMA = {
    "outcome": pl.String,
    "measure": pl.String,
    "adjustment": pl.String,
    "factor": pl.String,
    "level": pl.String,
    "reference": pl.String,
    "is_reference": pl.Boolean,
    "n": pl.Int64,
    "events": pl.Int64,
    "estimate": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
    "log_estimate": pl.Float64,
    "std_error": pl.Float64,
    "p_value": pl.Float64,
}
_INDEX_SCHEMA = {
    "outcome": pl.String,
    "factor": pl.String,
    "measure": pl.String,
    "estimate": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
    "std_error": pl.Float64,
    "p_value": pl.Float64,
    "n": pl.Int64,
    "events": pl.Int64,
    "order": pl.String,
}
_JOINT_SCHEMA = {
    "is_reference": pl.Boolean,
    "n": pl.Int64,
    "events": pl.Int64,
    "share": pl.Float64,
    "estimate": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
    "p_value": pl.Float64,
}


def _concat(parts: list[pl.DataFrame], schema: Mapping[str, Any]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=dict(schema))
    out = pl.concat(parts, how="vertical_relaxed")
    return out.select([pl.col(c).cast(t) for c, t in schema.items()])
