"""Analysis 2: place of death relative to the general practitioner's involvement.

Where do people die (own home, nursing home, hospital, hospice, elsewhere), and how does that
relate to what the GP did at the end of life: home visits in the last 90 days, any GP contact and
out-of-hours contact in the last 30 days, the terminal declaration, and the listed practice's
home-visit propensity? Published reference results (DOMAIN.md): GP home visits and home death,
prevalence ratio 4.3 (Neergaard et al., Br J Gen Pract 2009); a GP home visit in the last three
months, OR of hospital death 0.08 (Aabom et al., Br J Gen Pract 2005); highest vs lowest quartile
of practice home-visit propensity, OR 1.20 of dying out of hospital (Palliative Medicine 2018).

:func:`place_of_death_gp` gives, in one :class:`PlaceOfDeathResult`,

- ``distribution``: place of death by exposure level (and overall) with Wilson CIs;
- ``ratios``: crude and adjusted prevalence ratios (modified Poisson) and odds ratios (logistic)
  of home death and of dying out of hospital, cluster-robust by practice;
- ``multinomial``: relative risk ratios of each place against hospital (multinomial logit);
- ``standardised``: model-based standardised proportions of home death per exposure level
  (g-computation, :func:`paleval.stats.marginal_risks`).

Study definitions (issue 13; sources and options in ``docs/methods.md``):

- population: by default the *expected deaths*, decedents whose underlying cause is in a
  palliative-need group of Murtagh et al. (Palliat Med 2014) / Etkind et al. (BMC Med 2017)
  (``cause_group`` other than ``"other"``); ``population="all"`` keeps every decedent;
- exposures whose source does not cover a person's region and period (the coverage table,
  :func:`paleval.codes.coverage_table`; out-of-hours GP contact in the Capital Region from
  2014) are null: those person-windows are excluded from that exposure's analyses only, as a
  counted exclusion named in ``notes``;
- outcome ``usual_residence_death``: death at the usual place of residence (own home, or the
  nursing home for its residents);
- ``nursing_home_resident`` (when the cohort has it): a covariate, or
  ``community_dwelling=True`` to restrict to persons not living in a nursing home.

Lagged exposure windows (``offset_days``, "before the final admission") are built where the
windows are computed (:func:`paleval.cohort.add_gp_exposures`).

Decedents with an unknown place of death are excluded (and counted in ``notes``); with
``unknown_place="not_home"`` they stay in the home-death analyses as not dying at home, the
estimand "among all decedents" (a sensitivity analysis; in paleval's synthetic data unknown places
are recoded "other" places, so this reproduces the generator's planted model exactly).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import polars as pl

from paleval.analyses._common import as_frame
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.codes.vocabulary import PLACES_OF_DEATH, REFERENCE_LEVELS, UNKNOWN_PLACE, moved_aliases
from paleval.disclosure import Complement, Margin, Protection
from paleval.plots import fit_ticklabels, label, points, stacked_bars
from paleval.plots import forest as forest_chart
from paleval.stats import logistic, marginal_risks, modified_poisson, multinomial, proportion_ci
from paleval.stats.regression import ConvergenceError, RegressionResult

__all__ = [
    "BINARY_OUTCOMES",
    "DEFAULT_COVARIATES",
    "DEFAULT_EXPOSURES",
    "DEFAULT_REFERENCE",
    "PlaceOfDeathResult",
    "place_of_death_gp",
]

# The places of death (PLACES_OF_DEATH, in display order; UNKNOWN_PLACE is excluded from the
# analyses) and the reference levels are defined in paleval.codes.vocabulary.
_MOVED: dict[str, tuple[str, Any]] = {"PLACES": ("PLACES_OF_DEATH", PLACES_OF_DEATH)}

DEFAULT_EXPOSURES: tuple[str, ...] = (
    "gp_home_visit_category",
    "gp_contact_30d",
    "gp_ooh_30d",
    "terminal_declaration",
    "propensity_quartile",
)
"""GP involvement: home visits (0 / 1-2 / 3+, last 90 days), any GP contact and out-of-hours
contact (last 30 days), terminal declaration, practice home-visit propensity quartile (1-4)."""

DEFAULT_COVARIATES: tuple[str, ...] = (
    "age_group",
    "female",
    "cancer",
    "living_alone",
    "death_year",
)
"""Adjustment set of the adjusted models (``death_year`` enters linearly)."""

DEFAULT_REFERENCE: dict[str, str] = {
    k: REFERENCE_LEVELS[k]
    for k in (
        "gp_home_visit_category", "propensity_quartile", "age_group", "spc_unit", "education",
        "income_quartile", "cause_group",
    )
}  # fmt: skip
"""Reference levels used when the column is a categorical predictor and the level is present
(Boolean exposures: ``"no"``). Override or extend with ``reference=``."""

BINARY_OUTCOMES: dict[str, str] = {
    "home_death": "died in the own home",
    "out_of_hospital_death": "died anywhere but in hospital",
    "usual_residence_death": "died at the usual place of residence (own home; the nursing "
    "home for nursing-home residents)",
}
"""Binary outcomes derived from ``place_of_death`` (other outcomes are read from the cohort)."""

NURSING_HOME = "nursing_home_resident"
"""Cohort column (Boolean) of nursing-home residence at death, when the cohort has it."""
POPULATIONS: dict[str, str] = {
    "expected": "expected deaths: underlying cause of death in a palliative-need group "
    "(Murtagh et al. 2014; Etkind et al. 2017; code list diagnosis_groups)",
    "all": "all decedents in the cohort",
}
"""Study populations of :func:`place_of_death_gp`."""
_NO_NEED = "other"
_COVERAGE = "gp_coverage_gap"
_MAX_LEVELS = 20
_MEASURES: dict[str, str] = {"PR": "prevalence_ratio", "OR": "odds_ratio"}


# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------


# deprecated aliases of names that moved to paleval.codes.vocabulary (kept for one release)
__getattr__ = moved_aliases(__name__, _MOVED)


@dataclass(repr=False)
class PlaceOfDeathResult(AnalysisResult):
    """Place of death by the GP's involvement: distribution, ratios, multinomial, standardised.

    Tables (all tidy, with the counts behind every estimate; with ``by`` a leading column named
    after the stratifying variable):

    ``distribution``
        ``exposure, level, place, n`` (persons dying at ``place``), ``n_level`` (persons at the
        exposure level with a known place of death), ``share, conf_low, conf_high`` (Wilson).
        ``exposure == "all"`` holds the overall distribution.
    ``ratios``
        ``outcome, measure`` (``PR`` modified Poisson / ``OR`` logistic), ``model`` (``crude``:
        the exposure alone; ``adjusted``: with the covariates, and the other exposures when
        ``mutual``), ``exposure, level, reference, term, ratio, conf_low, conf_high, estimate``
        (log ratio), ``std_error, p_value, n, events`` (persons and events at the level),
        ``n_ref, n_events_ref`` (at the reference level), ``n_analysed``.
    ``multinomial``
        ``model, exposure, level, reference, place`` (compared with ``place_reference``),
        ``place_reference, term, ratio`` (relative risk ratio), ``conf_low, conf_high,
        estimate, std_error, p_value, n`` (persons at the level), ``events`` (of them dying at
        ``place``), ``n_at_reference_place`` (dying at the reference place), ``n_analysed``.
    ``standardised``
        ``outcome, exposure, level, contrast`` (``risk``, ``difference``, ``ratio`` vs the
        reference level), ``estimate, conf_low, conf_high, std_error, p_value, crude`` (observed
        proportion), ``n, n_events`` (observed at the level), ``n_standardised`` (persons whose
        covariate distribution is the standard).

    Figures: ``distribution`` (stacked bars of place of death per exposure level), ``forest``
    (adjusted PRs and ORs of the main outcome), ``standardised`` (standardised proportions
    with CIs per exposure level).
    """

    figures: ClassVar[tuple[str, ...]] = ("distribution", "forest", "standardised")

    # -- helpers for figures (only from self.tables) ------------------------------------
    def _by(self) -> str | None:
        return self.params.get("by")

    def _stratum(self, value: Any, lang: str) -> str:
        text = {"True": "yes", "False": "no", "true": "yes", "false": "no"}.get(str(value), value)
        return f"{label(self._by(), lang)}: {label(text, lang)}"

    def _row_label(self, exposure: str, level: str, lang: str) -> str:
        if exposure == "all":
            return label("pod_all_decedents", lang)
        return f"{label(exposure, lang)}: {label(level, lang)}"

    def _with_display(self, tab: pl.DataFrame, lang: str) -> pl.DataFrame:
        by = self._by()
        rows = [
            self._row_label(e, lv, lang)
            for e, lv in zip(tab["exposure"], tab["level"], strict=True)
        ]
        if by is not None:
            rows = [
                f"{self._stratum(s, lang)} · {r}"
                for s, r in zip(tab[by].cast(pl.String), rows, strict=True)
            ]
        return tab.with_columns(display=pl.Series(rows, dtype=pl.String))

    def _plot_distribution(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self._with_display(self.tables["distribution"], lang)
        places = [p for p in PLACES_OF_DEATH if p in set(tab["place"].to_list())]
        return stacked_bars(
            tab.select("display", "place", "share"),
            group="display",
            category="place",
            share="share",
            order=places,
            xlabel=label("percent", lang),
            title=label("pod_distribution_title", lang),
            lang=lang,
            ax=ax,
        )

    def _plot_forest(self, ax: Any = None, lang: str = "en") -> Any:
        outcome = self.params["outcome"]
        tab = self.tables["ratios"].filter(pl.col("outcome") == outcome)
        models = tab["model"].unique().to_list()
        model = "adjusted" if "adjusted" in models else "crude"
        tab = self._with_display(tab.filter(pl.col("model") == model), lang)
        groups = [label(_MEASURES[m], lang) for m in tab["measure"]]
        by = self._by()
        if by is not None:
            groups = [
                f"{self._stratum(s, lang)} · {g}"
                for s, g in zip(tab[by].cast(pl.String), groups, strict=True)
            ]
            terms = [
                self._row_label(e, lv, lang)
                for e, lv in zip(tab["exposure"], tab["level"], strict=True)
            ]
            tab = tab.with_columns(display=pl.Series(terms, dtype=pl.String))
        tab = tab.with_columns(group=pl.Series(groups, dtype=pl.String))
        ax = forest_chart(
            tab,
            term="display",
            estimate="ratio",
            low="conf_low",
            high="conf_high",
            group="group",
            xlabel=label("pod_ratio_ci", lang).format(c=100 * self.params.get("conf_level", 0.95)),
            title=f"{label(outcome, lang)} ({label(model, lang).lower()})",
            lang=lang,
            ax=ax,
        )
        return ax  # forest_chart's log ratio axis: readable ticks that never overlap

    def _plot_standardised(self, ax: Any = None, lang: str = "en") -> Any:
        outcome = self.params["outcome"]
        tab = self.tables["standardised"].filter(
            (pl.col("contrast") == "risk") & (pl.col("outcome") == outcome)
        )
        rows = [
            self._row_label(e, lv, lang)
            for e, lv in zip(tab["exposure"], tab["level"], strict=True)
        ]
        tab = tab.with_columns(display=pl.Series(rows, dtype=pl.String))
        by = self._by()
        if by is not None:
            tab = tab.with_columns(
                pl.Series(
                    "stratum",
                    [self._stratum(s, lang) for s in tab[by].cast(pl.String)],
                    dtype=pl.String,
                )
            )
        ax = points(
            tab,
            x="display",
            estimate="estimate",
            low="conf_low",
            high="conf_high",
            group=None if by is None else "stratum",
            ylabel=label("pod_standardised_proportion", lang),
            title=f"{label(outcome, lang)}, {label('pod_standardised', lang)}",
            lang=lang,
            ax=ax,
        )
        fit_ticklabels(ax)  # long labels: wrapped, turned only as far as needed
        return ax


# ---------------------------------------------------------------------------------------
# preparation
# ---------------------------------------------------------------------------------------


def _levels_of(s: pl.Series) -> list[str]:
    """Levels of a (string-coded) categorical series: Enum order, else natural sort."""
    present = s.drop_nulls().cast(pl.String).unique().to_list()
    if isinstance(s.dtype, pl.Enum):
        return [c for c in s.dtype.categories.to_list() if c in set(present)]
    return sorted(present)


def _code_exposure(frame: pl.DataFrame, col: str) -> tuple[pl.Expr, list[str]]:
    """An exposure as a String column (Boolean -> "no"/"yes", integer codes -> "1", ...)."""
    dt = frame.schema[col]
    if dt == pl.Boolean:
        present = set(frame[col].drop_nulls().to_list())
        expr = pl.when(pl.col(col)).then(pl.lit("yes")).when(~pl.col(col)).then(pl.lit("no"))
        return expr, [v for v, b in (("no", False), ("yes", True)) if b in present]
    if dt.is_float():
        raise ValueError(
            f"exposure {col!r} is continuous ({dt}); exposures must be categorical, Boolean or "
            "integer codes (categorise it first)"
        )
    if dt.is_integer():
        n_lv = frame[col].drop_nulls().n_unique()
        if n_lv > _MAX_LEVELS:
            raise ValueError(
                f"exposure {col!r} has {n_lv} distinct integer values; exposures are "
                f"categorical (at most {_MAX_LEVELS} levels): categorise it first"
            )
        levels = [str(v) for v in sorted(frame[col].drop_nulls().unique().to_list())]
        return pl.col(col).cast(pl.String), levels
    if isinstance(dt, pl.Enum):
        return pl.col(col), _levels_of(frame[col])
    if dt in (pl.String, pl.Categorical):
        return pl.col(col).cast(pl.String), _levels_of(frame[col])
    raise ValueError(f"exposure {col!r} has unsupported type {dt}")


def _outcome_expr(name: str, unknown_place: str, resident: bool = False) -> pl.Expr:
    place = pl.col("place_of_death")
    known = place != UNKNOWN_PLACE
    if name == "usual_residence_death":
        if resident:
            res = pl.col(NURSING_HOME)
            usual = (
                pl.when(res).then(place.is_in(["home", "nursing_home"])).otherwise(place == "home")
            )
        else:
            usual = place.is_in(["home", "nursing_home"])
        return pl.when(known).then(usual).alias(name)
    if name == "home_death":
        if unknown_place == "not_home":
            return (place == "home").alias(name)
        return pl.when(known).then(place == "home").alias(name)
    return pl.when(known).then(place != "hospital").alias(name)


def _known(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The rows where every column in ``columns`` is known (not null)."""
    if not columns:
        return frame
    return frame.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in columns]))


def _check_binary(frame: pl.DataFrame, col: str) -> pl.Expr:
    dt = frame.schema[col]
    if dt == pl.Boolean:
        return pl.col(col)
    if dt.is_numeric():
        bad = frame.filter(pl.col(col).is_not_null() & ~pl.col(col).is_in([0, 1])).height
        if bad:
            raise ValueError(f"outcome column {col!r}: {bad} row(s) are not 0/1 (or Boolean)")
        return pl.col(col) == 1
    raise ValueError(f"outcome column {col!r} must be Boolean or 0/1, got {dt}")


# ---------------------------------------------------------------------------------------
# model fitting helpers
# ---------------------------------------------------------------------------------------


def _fit(
    measure: str,
    data: pl.DataFrame,
    outcome: str,
    exposures: Sequence[str],
    covariates: Sequence[str],
    cluster: str | None,
    reference: Mapping[str, str],
    conf_level: float,
    context: str,
) -> RegressionResult:
    used = set(exposures) | set(covariates)
    ref = {k: v for k, v in reference.items() if k in used}
    try:
        if measure == "PR":
            return modified_poisson(
                data, outcome, exposures, covariates, cluster=cluster, reference=ref,
                conf_level=conf_level,
            )  # fmt: skip
        if measure == "OR":
            return logistic(
                data, outcome, exposures, covariates, cluster=cluster, reference=ref,
                robust=True, conf_level=conf_level,
            )  # fmt: skip
        return multinomial(
            data, outcome, exposures, covariates, outcome_reference=measure, cluster=cluster,
            reference=ref, robust=True, conf_level=conf_level,
        )  # fmt: skip
    except (ValueError, ConvergenceError) as exc:
        raise type(exc)(f"place_of_death_gp, {context}: {exc}") from exc


def _exposure_rows(
    fit: RegressionResult,
    exposure: str,
    ref_level: str,
    sample: pl.DataFrame,
    event: pl.Expr | None,
) -> pl.DataFrame:
    """The rows of a fitted model's table that belong to ``exposure``, tidied."""
    tab = fit.table.filter(pl.col("variable") == exposure).with_columns(
        exposure=pl.lit(exposure),
        reference=pl.lit(ref_level),
    )
    at_ref = sample.filter(pl.col(exposure).cast(pl.String) == ref_level)
    extra: dict[str, Any] = {"n_ref": at_ref.height}
    if event is not None:
        extra["n_events_ref"] = int(at_ref.select(event.sum()).item())
    return tab.with_columns(
        *[pl.lit(v, dtype=pl.Int64).alias(k) for k, v in extra.items()],
        n_analysed=pl.lit(fit.nobs, dtype=pl.Int64),
        n=pl.col("n").round().cast(pl.Int64),
        events=pl.col("events").round().cast(pl.Int64),
    )


# ---------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------


def place_of_death_gp(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    *,
    exposures: Sequence[str] = DEFAULT_EXPOSURES,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    outcome: str = "home_death",
    outcomes: Sequence[str] = ("home_death", "out_of_hospital_death"),
    cluster: str | None = "practice",
    by: str | None = None,
    reference: Mapping[str, Any] | None = None,
    mutual: bool = False,
    unknown_place: Literal["exclude", "not_home"] = "exclude",
    place_reference: str = "hospital",
    standardise_with: Literal["logistic", "poisson"] = "logistic",
    conf_level: float = 0.95,
    population: Literal["expected", "all"] = "expected",
    community_dwelling: bool = False,
    coverage_strata: bool = False,
    region: str = "region_code",
) -> PlaceOfDeathResult:
    """Place of death relative to the GP's involvement at the end of life.

    Parameters
    ----------
    cohort
        End-of-life cohort (DataFrame, LazyFrame or Cohort; one row per decedent) with
        ``place_of_death`` (home, nursing_home, hospital, hospice, other, unknown), the
        exposures, the covariates and the cluster column, e.g.
        :func:`paleval.cohort.end_of_life_cohort`.
    exposures
        Exposure columns (categorical, Boolean or integer codes such as
        ``propensity_quartile``); each gets a distribution, crude and adjusted ratios, a
        multinomial model and standardised proportions. Boolean exposures are coded
        ``"no"``/``"yes"`` (reference ``"no"``), integer codes as strings.
    covariates
        Adjustment covariates of the adjusted models. Numeric columns enter linearly (e.g.
        ``death_year``: a linear calendar trend), Boolean as 0/1, categorical ones as dummies.
        A covariate constant in the analysis sample (or stratum) is dropped, with a note.
    outcome
        Main binary outcome (figures and ``standardised``); added to ``outcomes`` if missing.
    outcomes
        Binary outcomes of the ``ratios`` table: ``"home_death"`` and
        ``"out_of_hospital_death"`` are derived from ``place_of_death``; any other name is read
        from the cohort (Boolean or 0/1).
    cluster
        Cluster column for cluster-robust SEs (default ``"practice"``: persons listed with the
        same practice are correlated); ``None`` gives HC0 robust SEs.
    by
        Optional stratifying column (e.g. ``"cancer"``): every table is computed per stratum,
        with a leading column of that name.
    reference
        Reference levels, e.g. ``{"age_group": "80-89"}``; merged over :data:`DEFAULT_REFERENCE`.
    mutual
        ``False`` (default): each exposure has its own adjusted model (exposure + covariates).
        ``True``: one adjusted model with all exposures and covariates (mutual adjustment);
        ``multinomial`` and ``standardised`` use it as well.
    unknown_place
        ``"exclude"`` (default): decedents with an unknown place of death are left out of every
        analysis. ``"not_home"``: they stay in the home-death analyses (distribution and
        models) as not dying at home; ``out_of_hospital_death`` and the multinomial model still
        exclude them. Either way the number is in ``notes``.
    place_reference
        Reference place of the multinomial model (default ``"hospital"``).
    standardise_with
        Model behind the standardised proportions: ``"logistic"`` (default) or the
        ``"poisson"`` (modified Poisson) model.
    conf_level
        Confidence level.
    population
        ``"expected"`` (default): expected deaths, decedents whose underlying cause of death
        (``cause_group``) is in a Murtagh/Etkind palliative-need group; the others (sudden
        and unexpected deaths among them) are excluded and counted. ``"all"``: every decedent.
    community_dwelling
        ``True``: only persons not living in a nursing home (needs the Boolean cohort column
        ``nursing_home_resident``; residents and unknowns excluded, counted). The same column
        can be a covariate (``covariates=[..., "nursing_home_resident"]``).
    coverage_strata
        ``True``: also the table ``coverage``, the ``ratios`` re-estimated by coverage stratum
        (the view a referee asks for when a source does not cover every region and period):
        split ``"coverage"``: persons whose windows are ``covered`` by every source
        (``gp_coverage_gap`` null) and the ``uncovered`` (in a declared gap; their uncovered
        exposure is not estimable there); split ``"region"`` (sensitivity analysis): the
        regions without a declared gap (``regions_without_gap``: the Capital Region left out
        entirely, before and after 2014) and the rest (``regions_with_gap``: the regions with
        a declared ``unknown`` gap in :func:`paleval.codes.coverage_table`, and persons with
        an unknown region). Each split also repeats the main estimates (``stratum == "all"``).
        Needs the columns ``gp_coverage_gap`` (:func:`paleval.cohort.add_gp_exposures`) and
        ``region``.
    region
        BEF region code column (81-85) of ``coverage_strata`` (default ``"region_code"``, the
        decedent cohort's).

    Exposures that are null because their source does not cover the person's region and
    period (column ``gp_coverage_gap``, from :func:`paleval.cohort.add_gp_exposures`) leave
    those persons out of that exposure's analyses only (distribution, models, standardised
    proportions); ``notes`` count them and name the gap. Without ``mutual``, each exposure's
    models use the persons with that exposure known (and the covariates and cluster known).

    Returns
    -------
    PlaceOfDeathResult
        Tables ``distribution``, ``ratios``, ``multinomial``, ``standardised`` (and
        ``coverage`` with ``coverage_strata``: the ``ratios`` columns after ``split,
        stratum``); fitted models
        in ``models`` keyed ``"<outcome>/<PR|OR>/<crude|adjusted>[/<exposure>]"`` and
        ``"place_of_death/RRR/<model>[/<exposure>]"`` (prefixed ``"<by>=<value>/"`` with
        ``by``); exclusions counted in ``notes``.

    Raises
    ------
    ValueError
        Missing columns, an unknown place of death value, an exposure that is continuous or
        also a covariate, a bad outcome column or an inestimable model (naming the model).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> n = 600
    >>> hv = rng.choice(["0", "1-2", "3+"], n)
    >>> p_home = np.select([hv == "0", hv == "1-2"], [0.15, 0.3], 0.5)
    >>> home = rng.random(n) < p_home
    >>> place = np.where(home, "home", rng.choice(
    ...     ["hospital", "nursing_home", "hospice", "other"], n, p=[0.5, 0.3, 0.1, 0.1]))
    >>> cohort = pl.DataFrame({"place_of_death": place, "gp_home_visit_category": hv,
    ...                        "female": rng.random(n) < 0.5,
    ...                        "practice": rng.integers(0, 25, n).astype(str)})
    >>> res = place_of_death_gp(cohort, exposures=["gp_home_visit_category"],
    ...                         covariates=["female"], population="all")
    >>> list(res.tables)
    ['distribution', 'ratios', 'multinomial', 'standardised']
    >>> pr = res.tables["ratios"].filter(
    ...     (pl.col("outcome") == "home_death") & (pl.col("measure") == "PR")
    ...     & (pl.col("model") == "adjusted"))
    >>> pr.select("level", "n").rows()
    [('1-2', 198), ('3+', 211)]
    >>> bool((pr["ratio"] > 1).all())
    True
    """
    frame = as_frame(cohort)
    if coverage_strata:
        args = dict(
            exposures=exposures, covariates=covariates, outcome=outcome, outcomes=outcomes,
            cluster=cluster, by=by, reference=reference, mutual=mutual,
            unknown_place=unknown_place, place_reference=place_reference,
            standardise_with=standardise_with, conf_level=conf_level, population=population,
            community_dwelling=community_dwelling,
        )  # fmt: skip
        return _with_coverage_strata(frame, args, region)
    exposures = [exposures] if isinstance(exposures, str) else list(exposures)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    if outcome not in outcomes:
        outcomes = [outcome, *outcomes]
    _check_options(
        exposures, covariates, by, unknown_place, standardise_with, place_reference, population
    )
    _check_nursing_home(frame, exposures, covariates, outcomes, by, community_dwelling)
    if population == "expected" and "cause_group" not in frame.columns:
        raise ValueError(
            "population='expected' needs the cohort column 'cause_group' (the underlying "
            "cause's Murtagh/Etkind group, 'other' without palliative need; "
            "paleval.cohort.decedent_cohort adds it); pass population='all' for every decedent"
        )
    derived = [o for o in outcomes if o in BINARY_OUTCOMES]
    read = [o for o in outcomes if o not in BINARY_OUTCOMES]
    needed = ["place_of_death", *exposures, *covariates, *read]
    needed += [c for c in (cluster, by) if c is not None]
    require_columns(frame, list(dict.fromkeys(needed)), "place of death by GP involvement")
    for c in outcomes:
        if c in exposures or c in covariates:
            raise ValueError(f"{c!r} is an outcome and cannot be an exposure or covariate")

    notes: list[str] = []
    frame = _population(frame, population, community_dwelling, notes)
    work = _place_column(frame, unknown_place, notes)
    _coverage_notes(work, exposures, unknown_place, mutual, notes)
    if by is not None:
        n_by = int(work[by].is_null().sum())
        if n_by:
            notes.append(f"{n_by:,} persons with missing {by} excluded")
            work = work.filter(pl.col(by).is_not_null())
        if by in covariates:
            covariates = [c for c in covariates if c != by]
            notes.append(f"covariate {by!r} dropped (it is the stratifying variable)")
    work, levels = _coded_exposures(work, exposures)
    ref = _references(work, frame.schema, exposures, covariates, levels, reference)
    # missing for other reasons than a coverage gap (those are counted above)
    other = pl.col(_COVERAGE).is_null() if _COVERAGE in work.columns else pl.lit(True)
    for e in exposures:
        n_miss = work.filter(pl.col(e).is_null() & other).height
        if n_miss:
            notes.append(f"{e} missing for {n_miss:,} persons (left out where it is used)")
    work = _with_outcomes(work, derived, read, unknown_place, notes)
    work, shifted = _shifted_covariates(work, covariates)

    fits = _Fits(
        exposures=exposures,
        covariates=covariates,
        outcomes=outcomes,
        outcome=outcome,
        cluster=cluster,
        by=by,
        mutual=mutual,
        ref=ref,
        levels=levels,
        unknown_place=unknown_place,
        place_reference=place_reference,
        standardise_with=standardise_with,
        conf_level=conf_level,
        notes=notes,
    )
    strata: list[Any] = [None] if by is None else sorted(work[by].unique().to_list())
    for s in strata:
        fits.stratum(work if by is None else work.filter(pl.col(by) == s), s)
    if fits.n_dropped:
        notes.append(
            f"{fits.n_dropped:,} persons with a missing "
            f"{'exposure, ' if mutual else ''}covariate or "
            f"{'cluster ' if cluster else ''}value excluded from the models (complete cases)"
        )
    if cluster is not None:
        g = work[cluster].drop_nulls().n_unique()
        notes.append(f"cluster-robust standard errors by {cluster} ({g:,} clusters)")
    else:
        notes.append("robust (HC0) standard errors")

    lead = [] if by is None else [by]
    distribution = pl.concat(fits.dist_parts, how="vertical")
    ratios = _finish_ratios(fits.ratio_parts, lead)
    multi = _finish_multinomial(fits.multi_parts, lead)
    standardised = pl.concat(fits.std_parts, how="vertical") if fits.std_parts else _empty_std(lead)
    n_analysed = work.filter(
        pl.col("place_of_death") != UNKNOWN_PLACE
        if unknown_place == "exclude"
        else pl.lit(True)
    ).height  # fmt: skip
    params = {
        "exposures": list(exposures),
        "covariates": list(covariates),
        "outcome": outcome,
        "outcomes": list(outcomes),
        "cluster": cluster,
        "by": by,
        "mutual": mutual,
        "unknown_place": unknown_place,
        "reference": ref,
        "place_reference": place_reference,
        "standardise_with": standardise_with,
        "covariate_origin": shifted,
        "conf_level": conf_level,
        "population": population,
        "community_dwelling": community_dwelling,
        "coverage_strata": False,
    }
    margins = {
        "distribution": [[*lead, "exposure", "level"], [*lead, "exposure", "place"]],
        "ratios": [[*lead, "outcome", "measure", "model", "exposure"]],
        "multinomial": [[*lead, "model", "exposure", "place"]],
        "standardised": [[*lead, "outcome", "exposure", "contrast"]],
    }
    notes = list(dict.fromkeys(notes))
    return PlaceOfDeathResult(
        title="Place of death relative to the GP's involvement",
        tables={
            "distribution": distribution,
            "ratios": ratios,
            "multinomial": multi,
            "standardised": standardised,
        },
        n=n_analysed,
        params=params,
        models=fits.models,
        notes=notes,
        protection=_place_protection(margins),
    )


# ------------------------------------------------------------------ the steps
def _check_options(
    exposures: list[str],
    covariates: list[str],
    by: str | None,
    unknown_place: str,
    standardise_with: str,
    place_reference: str,
    population: str,
) -> None:
    if not exposures:
        raise ValueError("place_of_death_gp needs at least one exposure")
    if unknown_place not in ("exclude", "not_home"):
        raise ValueError(f"unknown_place must be 'exclude' or 'not_home', got {unknown_place!r}")
    if standardise_with not in ("logistic", "poisson"):
        raise ValueError(
            f"standardise_with must be 'logistic' or 'poisson', got {standardise_with!r}"
        )
    both = sorted(set(exposures) & set(covariates))
    if both:
        raise ValueError(f"column(s) {both} given both as exposure and as covariate")
    for name, cols in (("exposures", exposures), ("covariates", covariates)):
        dups = sorted({c for c in cols if cols.count(c) > 1})
        if dups:
            raise ValueError(f"{name} {dups} given more than once")
    if by is not None and by in exposures:
        raise ValueError(f"by={by!r} is also an exposure")
    if place_reference not in PLACES_OF_DEATH:
        raise ValueError(
            f"place_reference must be one of {list(PLACES_OF_DEATH)}, got {place_reference!r}"
        )
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {list(POPULATIONS)}, got {population!r}")


def _check_nursing_home(
    frame: pl.DataFrame,
    exposures: list[str],
    covariates: list[str],
    outcomes: list[str],
    by: str | None,
    community_dwelling: bool,
) -> None:
    """Nursing-home residence is asked for only where the cohort has it, and never as a
    covariate of home death (no resident dies in an own home)."""
    wants_nh = community_dwelling or NURSING_HOME in [*exposures, *covariates, by]
    if wants_nh and NURSING_HOME not in frame.columns:
        raise ValueError(
            f"nursing-home residence (community_dwelling=True, or {NURSING_HOME!r} as an "
            f"exposure, covariate or by) needs the Boolean cohort column {NURSING_HOME!r}, "
            "which this cohort does not have (nursing-home residence is not in BEF; the "
            "decedent cohort takes it from the nursing-home register 'plh' when delivered)"
        )
    if (
        "home_death" in outcomes
        and NURSING_HOME in [*exposures, *covariates]
        and not (community_dwelling)
    ):
        raise ValueError(
            f"{NURSING_HOME!r} cannot be an exposure or covariate of 'home_death': a "
            "nursing-home resident's home is the nursing home, so no resident dies in an own "
            "home and the model has no estimate (separation). Use community_dwelling=True "
            "(the residents left out, counted), the outcome 'usual_residence_death', or by="
            f"{NURSING_HOME!r}"
        )
    if NURSING_HOME in frame.columns and frame.schema[NURSING_HOME] != pl.Boolean:
        raise ValueError(
            f"cohort column {NURSING_HOME!r} must be Boolean (True: living in a nursing home), "
            f"got {frame.schema[NURSING_HOME]}"
        )


def _population(
    frame: pl.DataFrame, population: str, community_dwelling: bool, notes: list[str]
) -> pl.DataFrame:
    """Expected deaths (or all), and community-dwelling persons only when asked."""
    if population == "expected":
        need = frame["cause_group"].cast(pl.String)
        keep = need.is_not_null() & (need != _NO_NEED)
        notes.append(
            f"population: {POPULATIONS['expected']}; {int((~keep).sum()):,} decedents with "
            "another or unknown cause excluded (option population='all')"
        )
        frame = frame.filter(keep)
    else:
        notes.append(
            f"population: {POPULATIONS['all']} (population='all'; the default is the expected "
            "deaths)"
        )
    if community_dwelling:
        res = frame[NURSING_HOME]
        keep = res.is_not_null() & ~res.fill_null(True)
        notes.append(
            f"community-dwelling only: {int((~keep).sum()):,} nursing-home residents or "
            f"persons with unknown {NURSING_HOME} excluded"
        )
        frame = frame.filter(keep)
    return frame


def _place_column(frame: pl.DataFrame, unknown_place: str, notes: list[str]) -> pl.DataFrame:
    """``place_of_death`` checked against the places, null as ``unknown`` (counted)."""
    pod = frame["place_of_death"].cast(pl.String)
    valid = pl.Series([*PLACES_OF_DEATH, UNKNOWN_PLACE])
    bad_vals = pod.filter(pod.is_not_null() & ~pod.is_in(valid.implode()))
    if bad_vals.len():
        raise ValueError(
            f"place_of_death has {bad_vals.len()} value(s) outside "
            f"{[*PLACES_OF_DEATH, UNKNOWN_PLACE]}: "
            f"{sorted(bad_vals.unique().to_list())[:5]}"
        )
    work = frame.with_columns(place_of_death=pod.fill_null(UNKNOWN_PLACE))
    n_unknown = int((work["place_of_death"] == UNKNOWN_PLACE).sum())
    if unknown_place == "exclude":
        notes.append(f"{n_unknown:,} persons with unknown place of death excluded")
    else:
        notes.append(
            f"{n_unknown:,} persons with unknown place of death counted as not dying at home "
            "in the home-death analyses; excluded from the others"
        )
    return work


def _coverage_notes(
    work: pl.DataFrame, exposures: list[str], unknown_place: str, mutual: bool, notes: list[str]
) -> None:
    """Persons whose exposure is unknown because of a declared coverage gap, counted."""
    if _COVERAGE not in work.columns:
        return
    analysed = (
        work.filter(pl.col("place_of_death") != UNKNOWN_PLACE)
        if unknown_place == "exclude"
        else work
    )
    gap = pl.col(_COVERAGE).is_not_null()
    for e in exposures:
        n_gap = analysed.filter(gap & pl.col(e).is_null()).height
        if n_gap:
            names = sorted(analysed.filter(gap & pl.col(e).is_null())[_COVERAGE].unique())
            notes.append(
                f"{e}: {n_gap:,} persons whose exposure window falls wholly or partly in a "
                f"declared coverage gap ({'; '.join(names)}) excluded from the analyses of "
                f"{e} (unknown, not 0); "
                + (
                    "with mutual=True they leave every model (complete cases over all exposures)"
                    if mutual
                    else "kept for the other exposures"
                )
            )


def _coded_exposures(
    work: pl.DataFrame, exposures: list[str]
) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Exposures as String levels, and their levels."""
    levels: dict[str, list[str]] = {}
    exprs = []
    for e in exposures:
        expr, lv = _code_exposure(work, e)
        exprs.append(expr.alias(e))
        levels[e] = lv
    return work.with_columns(exprs), levels


def _references(
    work: pl.DataFrame,
    schema: pl.Schema,
    exposures: list[str],
    covariates: list[str],
    levels: dict[str, list[str]],
    reference: Mapping[str, Any] | None,
) -> dict[str, str]:
    """Reference levels: given, or "no" for Boolean exposures, or the domain default, or
    the first level."""
    given_refs = dict(reference or {})
    ref: dict[str, str] = {}
    for c in [*exposures, *covariates]:
        if c in given_refs:
            given = given_refs[c]
            if c in levels:
                ref[c] = ("yes" if given else "no") if isinstance(given, bool) else str(given)
            else:
                ref[c] = given
        elif c in levels:
            default = "no" if schema[c] == pl.Boolean else DEFAULT_REFERENCE.get(c)
            ref[c] = default if default in levels[c] else levels[c][0]
        elif c in DEFAULT_REFERENCE and not (
            work.schema[c].is_numeric() or work.schema[c] == pl.Boolean
        ):
            if DEFAULT_REFERENCE[c] in set(work[c].cast(pl.String).drop_nulls().to_list()):
                ref[c] = DEFAULT_REFERENCE[c]
    unknown_ref = sorted(set(given_refs) - set(exposures) - set(covariates))
    if unknown_ref:
        raise ValueError(f"reference given for {unknown_ref}, not among exposures or covariates")
    for e in exposures:
        if ref[e] not in levels[e]:
            raise ValueError(
                f"reference level {ref[e]!r} not found in exposure {e!r} (levels: {levels[e]})"
            )
    return ref


def _with_outcomes(
    work: pl.DataFrame, derived: list[str], read: list[str], unknown_place: str, notes: list[str]
) -> pl.DataFrame:
    """The derived binary outcomes, and the user's 0/1 outcome columns checked."""
    resident = NURSING_HOME in work.columns
    out_exprs = [_outcome_expr(o, unknown_place, resident) for o in derived]
    if "usual_residence_death" in derived:
        notes.append(
            "usual_residence_death: "
            + (
                f"own home, or the nursing home for residents ({NURSING_HOME})"
                if resident
                else "own home or nursing home (no nursing_home_resident column: a nursing "
                "home counts as the usual residence for everybody)"
            )
        )
    out_exprs += [_check_binary(work, o).alias(o) for o in read]
    return work.with_columns(out_exprs)


def _shifted_covariates(
    work: pl.DataFrame, covariates: list[str]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Numeric covariates start at 0 (e.g. years since the first death year): the linear
    coefficients are unchanged and the intercept stays small (numerically stable fits)."""
    shifted = {}
    for c in covariates:
        dt = work.schema[c]
        if dt.is_numeric() and dt != pl.Boolean:
            low = work[c].min()
            if low is not None and low == low:  # not NaN
                shifted[c] = low
    if shifted:
        work = work.with_columns([(pl.col(c) - v).alias(c) for c, v in shifted.items()])
    return work, shifted


@dataclass
class _Fits:
    """The models of one call, stratum by stratum: binary outcomes (PR and OR, crude and
    adjusted), the multinomial place of death, and standardised proportions of the main
    outcome. Tables' parts, fitted models and dropped persons accumulate here."""

    exposures: list[str]
    covariates: list[str]
    outcomes: list[str]
    outcome: str
    cluster: str | None
    by: str | None
    mutual: bool
    ref: dict[str, str]
    levels: dict[str, list[str]]
    unknown_place: str
    place_reference: str
    standardise_with: str
    conf_level: float
    notes: list[str]
    models: dict[str, RegressionResult] = dataclasses.field(default_factory=dict)
    dist_parts: list[pl.DataFrame] = dataclasses.field(default_factory=list)
    ratio_parts: list[pl.DataFrame] = dataclasses.field(default_factory=list)
    multi_parts: list[pl.DataFrame] = dataclasses.field(default_factory=list)
    std_parts: list[pl.DataFrame] = dataclasses.field(default_factory=list)
    n_dropped: int = 0

    def _tag(self, df: pl.DataFrame, s: Any) -> pl.DataFrame:
        return df if self.by is None else df.select(pl.lit(str(s)).alias(self.by), pl.all())

    def _where(self, s: Any) -> str:
        return "" if self.by is None else f" ({self.by} = {s})"

    def stratum(self, sub: pl.DataFrame, s: Any) -> None:
        """Every table's part for one stratum (``s`` is None without ``by``)."""
        self.dist_parts.append(
            self._tag(
                _distribution(
                    sub, self.exposures, self.levels, self.unknown_place, self.conf_level
                ),
                s,
            )
        )
        base_cols = [*self.covariates, *([self.cluster] if self.cluster else [])]
        model_cols = [*self.exposures, *base_cols] if self.mutual else base_cols
        complete = _known(sub, model_cols)
        self.n_dropped += sub.height - complete.height
        covs, exps = self._usable(complete, s)
        if not exps:
            return
        prefix = "" if self.by is None else f"{self.by}={s}/"
        self._binary(complete, exps, covs, prefix, s)
        self._multinomial(complete, exps, covs, prefix, s)
        self._standardised(complete, exps, covs, prefix, s)

    def _usable(self, complete: pl.DataFrame, s: Any) -> tuple[list[str], list[str]]:
        """Covariates and exposures with more than one level in the analysis sample."""
        covs = []
        for c in self.covariates:
            if complete[c].n_unique() < 2:
                self.notes.append(
                    f"covariate {c!r} is constant in the analysis sample"
                    + self._where(s)
                    + " and was dropped from the models"
                )
            else:
                covs.append(c)
        exps = []
        for e in self.exposures:
            if complete[e].drop_nulls().n_unique() < 2:
                self.notes.append(
                    f"exposure {e!r} has a single level in the analysis sample"
                    + self._where(s)
                    + "; no models for it"
                )
            else:
                exps.append(e)
        return covs, exps

    def _binary(
        self, complete: pl.DataFrame, exps: list[str], covs: list[str], prefix: str, s: Any
    ) -> None:
        """PR and OR, crude and adjusted, for every binary outcome."""
        for o in self.outcomes:
            samp = complete.filter(pl.col(o).is_not_null())
            for measure in ("PR", "OR"):
                specs: list[tuple[str, list[str], list[str], str]] = [
                    ("crude", [e], [], f"/{e}") for e in exps
                ]
                if self.mutual:
                    specs.append(("adjusted", exps, covs, ""))
                elif covs:
                    specs.extend(("adjusted", [e], covs, f"/{e}") for e in exps)
                for model, ex, cv, suffix in specs:
                    key = f"{prefix}{o}/{measure}/{model}{suffix}"
                    esamp = _known(samp, ex)
                    fit = _fit(
                        measure, esamp, o, ex, cv, self.cluster, self.ref, self.conf_level, key
                    )
                    self.models[key] = fit
                    for e in ex:
                        rows = _exposure_rows(fit, e, self.ref[e], esamp, pl.col(o))
                        self.ratio_parts.append(
                            self._tag(rows.with_columns(
                                outcome=pl.lit(o), measure=pl.lit(measure), model=pl.lit(model)
                            ), s)
                        )  # fmt: skip

    def _multinomial(
        self, complete: pl.DataFrame, exps: list[str], covs: list[str], prefix: str, s: Any
    ) -> None:
        """Relative risk ratios of each place of death against ``place_reference``."""
        msamp = complete.filter(pl.col("place_of_death") != UNKNOWN_PLACE)
        places_here = set(msamp["place_of_death"].unique().to_list())
        if not (self.place_reference in places_here and len(places_here) >= 3):
            self.notes.append(
                "multinomial model skipped"
                + self._where(s)
                + f": needs {self.place_reference!r} and at least three places of death"
            )
            return
        mmodel = "adjusted" if (covs or self.mutual) else "crude"
        mspecs = [(exps, "")] if self.mutual else [([e], f"/{e}") for e in exps]
        for ex, suffix in mspecs:
            key = f"{prefix}place_of_death/RRR/{mmodel}{suffix}"
            msub, ex_ok, cv_ok, why = _estimable(
                _known(msamp, ex), ex, covs, self.ref, self._where(s)
            )
            self.notes.extend(why)
            if not ex_ok:
                continue
            fit = _fit(
                self.place_reference, msub, "place_of_death", ex_ok, cv_ok, self.cluster,
                self.ref, self.conf_level, key,
            )  # fmt: skip
            self.models[key] = fit
            for e in ex_ok:
                self.multi_parts.append(
                    self._tag(
                        _multinomial_rows(fit, e, self.ref[e], msub, self.place_reference, mmodel),
                        s,
                    )
                )

    def _standardised(
        self, complete: pl.DataFrame, exps: list[str], covs: list[str], prefix: str, s: Any
    ) -> None:
        """Standardised proportions of the main outcome (g-computation from its model)."""
        measure = "OR" if self.standardise_with == "logistic" else "PR"
        samp = complete.filter(pl.col(self.outcome).is_not_null())
        for e in exps:
            if self.mutual:
                key = f"{prefix}{self.outcome}/{measure}/adjusted"
            elif covs:
                key = f"{prefix}{self.outcome}/{measure}/adjusted/{e}"
            else:
                key = f"{prefix}{self.outcome}/{measure}/crude/{e}"
            fit = self.models[key]
            mr = marginal_risks(fit, e, reference=self.ref[e], conf_level=self.conf_level)
            self.std_parts.append(
                self._tag(_standardised_rows(mr, self.outcome, _known(samp, [e]), e), s)
            )


_STRATA = {
    "coverage": ("covered", "uncovered"),
    "region": ("regions_without_gap", "regions_with_gap"),
}
"""The splits of ``coverage_strata`` and their two strata (each split partitions the persons
of the main analysis; ``"all"`` repeats the main estimates)."""


def _with_coverage_strata(frame: pl.DataFrame, args: dict[str, Any], region: str):
    """:func:`place_of_death_gp` with the table ``coverage``: the ratios per coverage stratum
    and without the regions that have a declared gap (see ``coverage_strata``)."""
    from paleval.codes import coverage_table

    missing = [c for c in (_COVERAGE, region) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"coverage_strata=True needs the cohort column(s) {missing}: {_COVERAGE!r} from "
            "paleval.cohort.add_gp_exposures (applied with the person's region) and the BEF "
            f"region code {region!r} (the decedent cohort's 'region_code'; or pass region=)"
        )
    main = place_of_death_gp(frame, **args)
    gaps = coverage_table().filter((pl.col("register") == "sssy") & (pl.col("action") == "unknown"))
    gap_regions = sorted(set(gaps["REG"].drop_nulls().to_list()))
    gap_names = ", ".join(sorted(set(gaps["region"].drop_nulls().to_list()))) or "none"
    reg = pl.col(region).cast(pl.String)
    without = reg.is_not_null() & ~reg.is_in(gap_regions)
    conds = {
        "covered": pl.col(_COVERAGE).is_null(),
        "uncovered": pl.col(_COVERAGE).is_not_null(),
        "regions_without_gap": without,
        "regions_with_gap": ~without,
    }
    exposures = [args["exposures"]] if isinstance(args["exposures"], str) else args["exposures"]
    parts = [
        main.tables["ratios"].select(pl.lit(split).alias("split"), pl.lit("all").alias("stratum"),
                                     pl.all())
        for split in _STRATA
    ]  # fmt: skip
    counts, notes = {}, []
    for split, strata in _STRATA.items():
        for stratum in strata:
            sub = frame.filter(conds[stratum])
            counts[stratum] = sub.height
            exps = [e for e in exposures if sub[e].drop_nulls().n_unique() >= 2]
            gone = [e for e in exposures if e not in exps]
            if gone:
                notes.append(
                    f"coverage strata: {stratum}: {', '.join(gone)} unknown or constant, "
                    "not estimated"
                )
            if not exps:
                continue
            try:
                res = place_of_death_gp(sub, **{**args, "exposures": exps})
            except (ValueError, ConvergenceError) as err:
                notes.append(f"coverage strata: {stratum}: not estimable ({err})")
                continue
            parts.append(
                res.tables["ratios"].select(
                    pl.lit(split).alias("split"), pl.lit(stratum).alias("stratum"), pl.all()
                )
            )
    notes.insert(
        0,
        "coverage strata (coverage_strata=True, table 'coverage'): covered by every source "
        f"{counts['covered']:,} persons, in a declared gap {counts['uncovered']:,}; regions "
        f"without a declared gap {counts['regions_without_gap']:,}, regions with one "
        f"({gap_names}) or an unknown {region} {counts['regions_with_gap']:,} (counts before "
        "the population and place-of-death exclusions)",
    )
    by = args.get("by")
    lead = [] if by is None else [by]
    table = pl.concat(parts, how="vertical_relaxed")
    keys = ["split", *lead, "outcome", "measure", "model", "exposure"]
    protection = dict(main.protection)
    protection["coverage"] = Protection(
        ("n", "events", "n_ref", "n_events_ref", "n_analysed"),
        [
            Margin((*keys, "level"), counts=("n", "events"), over="stratum", total="all"),
            Margin((*keys, "stratum"), counts=("n",)),
            Complement("n", ("events",)),
            Complement("n_ref", ("n_events_ref",)),
        ],
        differences=False,
        totals=("n_ref", "n_events_ref", "n_analysed"),
    )
    return dataclasses.replace(
        main,
        tables={**main.tables, "coverage": table},
        params={**main.params, "coverage_strata": True, "region": region},
        notes=[*main.notes, *dict.fromkeys(notes)],
        protection=protection,
    )


def _place_protection(margins: Mapping[str, list[list[str]]]) -> dict[str, Protection]:
    """Declarations of the place-of-death tables: the margins above, the persons without the
    event in a level and in the reference level, and the published totals on every row."""

    def m(name: str) -> list[Margin]:
        return [Margin(tuple(x), counts=("n",)) for x in margins[name]]

    return {
        "distribution": Protection(("n", "n_level"), m("distribution"), totals=("n_level",)),
        "ratios": Protection(
            ("n", "events", "n_ref", "n_events_ref", "n_analysed"),
            [*m("ratios"), Complement("n", ("events",)), Complement("n_ref", ("n_events_ref",))],
            differences=False,
            totals=("n_ref", "n_events_ref", "n_analysed"),
        ),
        "multinomial": Protection(
            ("n", "events", "n_at_reference_place", "n_ref", "n_events_ref", "n_analysed"),
            [
                *m("multinomial"),
                Complement("n", ("events", "n_at_reference_place")),
                Complement("n_ref", ("n_events_ref",)),
            ],
            differences=False,
            totals=("n_ref", "n_analysed"),
        ),
        "standardised": Protection(
            ("n", "n_events", "n_standardised"),
            [*m("standardised"), Complement("n", ("n_events",))],
            differences=False,
            totals=("n_standardised",),
        ),
    }


# ---------------------------------------------------------------------------------------
# table builders
# ---------------------------------------------------------------------------------------


def _distribution(
    sub: pl.DataFrame,
    exposures: Sequence[str],
    levels: Mapping[str, list[str]],
    unknown_place: str,
    conf_level: float,
) -> pl.DataFrame:
    """Place of death (known places) by exposure level and overall, with Wilson CIs."""
    known = sub.filter(pl.col("place_of_death") != UNKNOWN_PLACE)
    parts = []
    groups: list[tuple[str, pl.DataFrame, list[str]]] = [
        ("all", known.with_columns(pl.lit("all").alias("_level")), ["all"])
    ]
    for e in exposures:
        groups.append(
            (e, known.filter(pl.col(e).is_not_null()).with_columns(_level=pl.col(e)), levels[e])
        )
    for exposure, df, lv in groups:
        counts = df.group_by("_level", "place_of_death").agg(n=pl.len())
        present = set(df["_level"].unique().to_list())
        grid = pl.DataFrame(
            {
                "level": [x for x in lv if x in present for _ in PLACES_OF_DEATH],
                "place": [p for x in lv if x in present for p in PLACES_OF_DEATH],
            },
            schema={"level": pl.String, "place": pl.String},
        )
        tab = (
            grid.join(
                counts.rename({"_level": "level", "place_of_death": "place"}),
                on=["level", "place"],
                how="left",
                maintain_order="left",
            )
            .with_columns(pl.col("n").fill_null(0).cast(pl.Int64))
            .with_columns(n_level=pl.col("n").sum().over("level"))
        )
        if unknown_place == "not_home":
            # unknown places are in the home-death denominators: report them as a row
            unk = (
                sub.filter(pl.col("place_of_death") == UNKNOWN_PLACE)
                .with_columns(_level=pl.lit("all") if exposure == "all" else pl.col(exposure))
                .filter(pl.col("_level").is_not_null())
                .group_by("_level")
                .agg(n=pl.len())
                .rename({"_level": "level"})
            )
            unk_rows = (
                tab.select("level")
                .unique(maintain_order=True)
                .join(unk, on="level", how="left", maintain_order="left")
                .with_columns(
                    place=pl.lit(UNKNOWN_PLACE), n=pl.col("n").fill_null(0).cast(pl.Int64)
                )
                .select("level", "place", "n")
            )
            tab = (
                pl.concat([tab.select("level", "place", "n"), unk_rows])
                .with_columns(n_level=pl.col("n").sum().over("level"))
                .sort(
                    pl.col("level").replace_strict(lv, list(range(len(lv))), default=len(lv)),
                    maintain_order=True,
                )
            )
        ci = proportion_ci(tab["n"], tab["n_level"], conf_level=conf_level)
        parts.append(
            tab.with_columns(
                exposure=pl.lit(exposure),
                share=ci["estimate"],
                conf_low=ci["conf_low"],
                conf_high=ci["conf_high"],
            ).select("exposure", "level", "place", "n", "n_level", "share", "conf_low", "conf_high")
        )
    return pl.concat(parts, how="vertical")


def _empty_cells(sample: pl.DataFrame, col: str) -> list[tuple[str, list[str], int]]:
    """Levels of a categorical/Boolean column at which some place of death never occurs."""
    dt = sample.schema[col]
    if dt.is_numeric() and dt != pl.Boolean:
        return []
    present = set(sample["place_of_death"].unique().to_list())
    # in the domain's order: unique() varies from run to run, and the notes name the places
    places = [p for p in (*PLACES_OF_DEATH, UNKNOWN_PLACE) if p in present] + sorted(
        present - {*PLACES_OF_DEATH, UNKNOWN_PLACE}
    )
    cells = sample.group_by(pl.col(col).cast(pl.String).alias("lv")).agg(
        [(pl.col("place_of_death") == p).sum().alias(p) for p in places]
    )
    out = []
    for row in cells.sort("lv").iter_rows(named=True):
        missing = [p for p in places if row[p] == 0]
        if missing:
            out.append((row["lv"], missing, sum(row[p] for p in places)))
    return out


def _estimable(
    sample: pl.DataFrame,
    exposures: Sequence[str],
    covariates: Sequence[str],
    ref: Mapping[str, str],
    where: str,
) -> tuple[pl.DataFrame, list[str], list[str], list[str]]:
    """Make a multinomial model of place of death estimable.

    A level of a predictor at which some place of death never occurs (nobody under 50 dies in
    a nursing home; only hospice patients die in a hospice) sends a coefficient to minus
    infinity. An exposure with such a level gets no multinomial model (its relative risk ratio
    against that place is not estimable); for a covariate the persons at a non-reference level
    are excluded, and a covariate whose reference level is affected is dropped. All counted in
    the notes.
    """
    notes: list[str] = []
    head = f"multinomial models{where}"
    covs = list(covariates)
    for _ in range(5):
        changed = False
        for c in list(covs):
            empty = _empty_cells(sample, c)
            if not empty:
                continue
            changed = True
            if any(lv == str(ref.get(c)) for lv, _, _ in empty) or len(empty) >= (
                sample[c].n_unique() - 1
            ):
                notes.append(
                    f"{head}: covariate {c!r} dropped (a place of death never occurs at its "
                    "reference level or at all but one level)"
                )
                covs.remove(c)
                continue
            for lv, missing, n_lv in empty:
                notes.append(
                    f"{head}: {n_lv:,} persons with {c} = {lv} excluded (no deaths in "
                    f"{', '.join(missing)} at that level: not estimable)"
                )
            bad = pl.Series([lv for lv, _, _ in empty]).implode()
            sample = sample.filter(~pl.col(c).cast(pl.String).is_in(bad))
        if not changed:
            break
    kept = []
    for e in exposures:
        empty = _empty_cells(sample, e)
        if empty:
            why = "; ".join(f"no deaths in {', '.join(m)} at {e} = {lv}" for lv, m, _ in empty)
            notes.append(f"{head}: no model for exposure {e!r} ({why}: not estimable)")
        else:
            kept.append(e)
    return sample, kept, covs, notes


def _multinomial_rows(
    fit: RegressionResult,
    exposure: str,
    ref_level: str,
    sample: pl.DataFrame,
    place_reference: str,
    model: str,
) -> pl.DataFrame:
    tab = fit.table.filter(pl.col("variable") == exposure).with_columns(
        exposure=pl.lit(exposure),
        reference=pl.lit(ref_level),
        place=pl.col("y_level"),
        place_reference=pl.lit(place_reference),
        model=pl.lit(model),
    )
    at_ref_place = (
        sample.filter(pl.col("place_of_death") == place_reference)
        .group_by(pl.col(exposure).cast(pl.String).alias("level"))
        .agg(n_at_reference_place=pl.len().cast(pl.Int64))
    )
    at_ref_level = (
        sample.filter(pl.col(exposure).cast(pl.String) == ref_level)
        .group_by(pl.col("place_of_death").alias("place"))
        .agg(n_events_ref=pl.len().cast(pl.Int64))
    )
    n_ref = sample.filter(pl.col(exposure).cast(pl.String) == ref_level).height
    return (
        tab.join(at_ref_place, on="level", how="left", maintain_order="left")
        .join(at_ref_level, on="place", how="left", maintain_order="left")
        .with_columns(
            pl.col("n_at_reference_place", "n_events_ref").fill_null(0),
            n_ref=pl.lit(n_ref, dtype=pl.Int64),
            n_analysed=pl.lit(fit.nobs, dtype=pl.Int64),
            n=pl.col("n").round().cast(pl.Int64),
            events=pl.col("events").round().cast(pl.Int64),
        )
    )


def _standardised_rows(
    mr: pl.DataFrame, outcome: str, sample: pl.DataFrame, exposure: str
) -> pl.DataFrame:
    obs = (
        sample.group_by(pl.col(exposure).cast(pl.String).alias("level"))
        .agg(crude=pl.col(outcome).cast(pl.Float64).mean())
    )  # fmt: skip
    return (
        mr.join(obs, on="level", how="left", maintain_order="left")
        .with_columns(
            outcome=pl.lit(outcome),
            crude=pl.when(pl.col("contrast") == "risk").then(pl.col("crude")),
            n=pl.col("n_level").round().cast(pl.Int64),
            n_events=pl.col("events_level").round().cast(pl.Int64),
            n_standardised=pl.col("n").round().cast(pl.Int64),
        )
        .select(
            "outcome", "exposure", "level", "contrast", "estimate", "conf_low", "conf_high",
            "std_error", "p_value", "crude", "n", "n_events", "n_standardised",
        )
    )  # fmt: skip


_RATIO_COLS = [
    "outcome", "measure", "model", "exposure", "level", "reference", "term", "ratio",
    "conf_low", "conf_high", "estimate", "std_error", "p_value", "n", "events", "n_ref",
    "n_events_ref", "n_analysed",
]  # fmt: skip
_MULTI_COLS = [
    "model", "exposure", "level", "reference", "place", "place_reference", "term", "ratio",
    "conf_low", "conf_high", "estimate", "std_error", "p_value", "n", "events",
    "n_at_reference_place", "n_ref", "n_events_ref", "n_analysed",
]  # fmt: skip


def _finish(parts: list[pl.DataFrame], lead: list[str], cols: list[str]) -> pl.DataFrame:
    """Stack the per-exposure model rows into one table with columns ``lead + cols`` (the
    first 7 text, the next 6 floats, the rest integer counts); CIs on the ratio scale."""
    if not parts:
        return pl.DataFrame(schema={c: pl.String for c in [*lead, *cols[:7]]}).with_columns(
            [pl.lit(None, dtype=pl.Float64).alias(c) for c in cols[7:13]]
            + [pl.lit(None, dtype=pl.Int64).alias(c) for c in cols[13:]]
        )
    tab = pl.concat(parts, how="diagonal_relaxed")
    tab = tab.drop("conf_low", "conf_high").rename(
        {"ratio_low": "conf_low", "ratio_high": "conf_high"}
    )
    return tab.select(*lead, *cols)


def _finish_ratios(parts: list[pl.DataFrame], lead: list[str]) -> pl.DataFrame:
    return _finish(parts, lead, _RATIO_COLS)


def _finish_multinomial(parts: list[pl.DataFrame], lead: list[str]) -> pl.DataFrame:
    return _finish(parts, lead, _MULTI_COLS)


def _empty_std(lead: list[str]) -> pl.DataFrame:
    cols = ["outcome", "exposure", "level", "contrast"]
    floats = ["estimate", "conf_low", "conf_high", "std_error", "p_value", "crude"]
    ints = ["n", "n_events", "n_standardised"]
    return pl.DataFrame(
        schema={
            **{c: pl.String for c in [*lead, *cols]},
            **{c: pl.Float64 for c in floats},
            **{c: pl.Int64 for c in ints},
        }
    )
