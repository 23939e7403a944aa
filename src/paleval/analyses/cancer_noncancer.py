"""Analysis 3, non-cancer versus cancer: specialised palliative care, place of death, hospital
use and GP involvement by diagnosis group.

Diagnosis groups are the causes of death that indicate a potential palliative need (Murtagh et
al. 2014; Etkind et al. 2017): cancer, heart, respiratory, dementia, stroke, liver, renal,
neurodegenerative disease and HIV (the cohort's ``cause_group``); ``other`` is a cause without
such a need. *Non-cancer* means the non-cancer palliative-need groups (the denominator of the
DPD quality indicator 3B); ``other`` is shown separately.

Published reference (DOMAIN.md): DPD indicators 2019 (Adsersen et al., Acta Oncol 2024): 3A
cancer decedents with SPC contact 50 %; 3B non-cancer decedents 2 %; about 3 % of non-cancer
decedents received SPC in 2024 (DPD annual report). Referred patients with contact 81 % vs 73 %.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from paleval.analyses._common import (
    as_frame,
    drop_separated,
    fit_or_note,
    select_population,
    share_table,
    with_female,
)
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.codes.vocabulary import PLACES_OF_DEATH, UNKNOWN_PLACE, moved_aliases
from paleval.disclosure import Complement, Margin, Protection, count_columns
from paleval.plots import bars, figure, label, stacked_bars, trend
from paleval.stats import modified_poisson, proportion_ci

__all__ = ["DiagnosisGroupResult", "cancer_vs_noncancer"]

CANCER = "cancer"
NONCANCER = "noncancer"
OTHER = "other"

NEED_GROUPS: tuple[str, ...] = (
    "heart", "respiratory", "dementia", "stroke", "liver", "renal", "neurodegenerative", "hiv",
)  # fmt: skip
"""The non-cancer groups with potential palliative need, in display order."""

_PLACES: tuple[str, ...] = (*PLACES_OF_DEATH, UNKNOWN_PLACE)
"""Places of death in display order, the unknown place last."""
_MOVED: dict[str, tuple[str, Any]] = {
    "PLACES": ("PLACES_OF_DEATH (and UNKNOWN_PLACE)", _PLACES),
}

_REQUIRED = (
    "spc_referred", "spc_admitted", "spc_referral_to_death_days", "spc_contact_to_anchor_days",
    "spc_wait_days", "place_of_death", "bed_days_30d", "gp_home_visits_90d",
    "terminal_declaration",
)  # fmt: skip


# deprecated aliases of names that moved to paleval.codes.vocabulary (kept for one release)
__getattr__ = moved_aliases(__name__, _MOVED)


def _display_group(g: str, lang: str) -> str:
    return label("dg_other_causes", lang) if g == OTHER else label(g, lang)


@dataclass(repr=False)
class DiagnosisGroupResult(AnalysisResult):
    """Non-cancer versus cancer (analysis 3).

    Tables
    ------
    ``summary``
        One row per group (``cancer``, the aggregate ``noncancer`` with ``aggregate = true``,
        each non-cancer palliative-need group, ``other``); ``class`` is cancer / noncancer /
        other. Columns: ``n``; ``referred_n, referred_share, referred_low, referred_high``;
        ``contact_n, contact_share, contact_low, contact_high`` (SPC contact = admitted,
        Wilson CIs); ``contact_given_referral`` (DPD indicator 1); intervals in days with
        ``*_median, *_q1, *_q3`` and the persons behind them ``*_interval_n`` for
        ``referral_to_death`` (referred on or before death), ``contact_to_death`` and
        ``wait`` (referral to first contact); ``place_known_n``, ``home_death_n,
        home_death_share``, ``hospital_death_n, hospital_death_share`` (among known places);
        ``bed_days_mean, bed_days_median`` (hospital bed days in the last 30 days);
        ``gp_home_visit_n, gp_home_visit_share`` (any GP home visit in the last 90 days),
        ``terminal_declaration_n, terminal_declaration_share``.
    ``place_of_death``
        ``group, class, aggregate, place, n, n_known, share, conf_low, conf_high``: shares
        among persons with a known place (``unknown`` rows carry the count only).
    ``trends``
        ``outcome (spc_admitted / home_death), group, <period>, n, events, estimate,
        conf_low, conf_high`` per calendar period for cancer and non-cancer (and each group
        with ``trend_groups="each"``).
    ``adjusted``
        ``comparison, group, reference, model (crude / adjusted), measure (PR), n, events,
        estimate, conf_low, conf_high, p_value``: prevalence ratios of SPC contact against
        cancer from modified Poisson regression (robust SE), adjusted for age group, sex and
        period; ``comparison`` is ``noncancer`` (aggregate) or ``groups`` (each group).

    Figures: ``overview`` (referral and contact shares by group), ``trends`` (SPC contact by
    period, cancer vs non-cancer), ``place_of_death`` (stacked bars by group).
    """

    figures: ClassVar[tuple[str, ...]] = ("overview", "trends", "place_of_death")

    def _plot_overview(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["summary"]
        groups = tab["group"].to_list()
        names = {g: _display_group(g, lang) for g in groups}
        long = pl.concat(
            [
                tab.select(
                    x=pl.col("group").replace_strict(names),
                    measure=pl.lit(label(f"dg_{m}", lang)),
                    estimate=f"{m}_share",
                    conf_low=f"{m}_low",
                    conf_high=f"{m}_high",
                )
                for m in ("referred", "contact")
            ]
        )
        # the x order must not depend on which rows survived disclosure control
        order = [names[g] for g in groups]
        shown = set(long.filter(pl.col("estimate").is_not_null())["x"].to_list())
        order = [x for x in order if x in shown]
        long = long.filter(pl.col("x").is_in(order)).with_columns(
            _o=pl.col("x").replace_strict(order, range(len(order)))
        )
        long = long.sort("_o", maintain_order=True)
        if ax is None:
            _, ax = figure(max(6.0, 0.7 * len(order) + 2.0), 4.2)
        ax = bars(
            long,
            x="x",
            group="measure",
            ylabel=label("proportion", lang),
            title=label("dg_overview_title", lang),
            lang=lang,
            ax=ax,
        )
        if ax.get_legend() is not None:
            ax.get_legend().set_title(None)
        return ax

    def _plot_trends(self, ax: Any = None, lang: str = "en") -> Any:
        period = self.params["period_col"]
        tab = self.tables["trends"].filter(
            (pl.col("outcome") == "spc_admitted") & pl.col("group").is_in([CANCER, NONCANCER])
        )
        names = {g: label(g, lang) for g in (CANCER, NONCANCER)}
        tab = tab.with_columns(pl.col("group").replace_strict(names)).rename({"group": "dg_group"})
        return trend(
            tab,
            x=period,
            group="dg_group",
            ylabel=label("dg_contact", lang),
            title=label("dg_trends_title", lang),
            lang=lang,
            ax=ax,
        )

    def _plot_place_of_death(self, ax: Any = None, lang: str = "en") -> Any:
        tab = self.tables["place_of_death"].filter(pl.col("place") != UNKNOWN_PLACE)
        groups = tab["group"].unique(maintain_order=True).to_list()
        tab = tab.with_columns(
            pl.col("group").replace_strict({g: _display_group(g, lang) for g in groups})
        )
        order = [p for p in _PLACES if p in set(tab["place"].to_list())]
        return stacked_bars(
            tab,
            group="group",
            category="place",
            share="share",
            order=order,
            xlabel=label("dg_per_cent_of_deaths", lang),
            title=label("dg_place_title", lang),
            lang=lang,
            ax=ax,
        )


def _summary_row(frame: pl.DataFrame, conf_level: float) -> dict[str, Any]:
    """One summary row (a dict of columns) for the persons in ``frame``."""
    out: dict[str, Any] = {"n": frame.height}
    for name, expr in (
        ("referred", pl.col("spc_referred").fill_null(False)),
        ("contact", pl.col("spc_admitted").fill_null(False)),
    ):
        tab = share_table(frame.with_columns(_k=pl.lit(0)), ["_k"], expr, conf_level)
        out[f"{name}_n"] = int(tab["events"][0]) if tab.height else 0
        for col, src in (("share", "estimate"), ("low", "conf_low"), ("high", "conf_high")):
            out[f"{name}_{col}"] = tab[src][0] if tab.height else None
    out["contact_given_referral"] = (
        out["contact_n"] / out["referred_n"] if out["referred_n"] else None
    )
    intervals = {
        "referral_to_death": pl.col("spc_referral_to_death_days").filter(
            pl.col("spc_referred").fill_null(False) & (pl.col("spc_referral_to_death_days") >= 0)
        ),
        "contact_to_death": pl.col("spc_contact_to_anchor_days").filter(
            pl.col("spc_admitted").fill_null(False)
        ),
        "wait": pl.col("spc_wait_days").filter(pl.col("spc_admitted").fill_null(False)),
    }
    stats = frame.select(
        [
            e
            for k, v in intervals.items()
            for e in (
                v.drop_nulls().count().alias(f"{k}_interval_n"),
                v.median().cast(pl.Float64).alias(f"{k}_median"),
                v.quantile(0.25, "linear").alias(f"{k}_q1"),
                v.quantile(0.75, "linear").alias(f"{k}_q3"),
            )
        ]
    ).row(0, named=True)
    out.update(stats)
    known = frame.filter(pl.col("place_of_death") != UNKNOWN_PLACE)
    out["place_known_n"] = known.height
    for place in ("home", "hospital"):
        k = int((known["place_of_death"] == place).sum())
        out[f"{place}_death_n"] = k
        out[f"{place}_death_share"] = k / known.height if known.height else None
    out["bed_days_mean"] = frame["bed_days_30d"].cast(pl.Float64).mean()
    out["bed_days_median"] = frame["bed_days_30d"].cast(pl.Float64).median()
    for name, expr in (
        ("gp_home_visit", pl.col("gp_home_visits_90d") > 0),
        ("terminal_declaration", pl.col("terminal_declaration").fill_null(False)),
    ):
        k = int(frame.select(expr.fill_null(False).sum()).item())
        out[f"{name}_n"] = k
        out[f"{name}_share"] = k / frame.height if frame.height else None
    return out


def cancer_vs_noncancer(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    *,
    groups: str = "cause_group",
    period_col: str = "death_year",
    cancer_level: str = CANCER,
    other_level: str = OTHER,
    covariates: Sequence[str] = ("age_group", "sex"),
    trend_groups: str = "aggregate",
    population: str | pl.Expr = "all",
    conf_level: float = 0.95,
    adjust: Sequence[str] | None = None,
) -> DiagnosisGroupResult:
    """Specialised palliative care and end-of-life care of non-cancer vs cancer decedents.

    Parameters
    ----------
    cohort
        The end-of-life cohort (:func:`paleval.cohort.end_of_life_cohort`): one row per adult
        decedent with ``cause_group`` and the SPC, place-of-death, hospital and GP columns.
    groups
        Diagnosis group column (Murtagh/Etkind groups).
    period_col
        Calendar period column of the trends and the adjustment (integer, e.g. death year).
    cancer_level, other_level
        The cancer group and the group without palliative need; every other value of
        ``groups`` is a non-cancer palliative-need group and belongs to ``noncancer``.
    covariates
        Adjustment variables of the adjusted prevalence ratios besides the period (entered as
        categories; the argument name of the other analyses).
    trend_groups
        ``"aggregate"``: trends for cancer and non-cancer; ``"each"``: also for each group.
    population
        ``"all"`` (default) or a Boolean polars expression selecting the decedents.
    conf_level
        Confidence level.
    adjust
        Deprecated alias of ``covariates`` (one release).

    Returns
    -------
    DiagnosisGroupResult
        Tables ``summary``, ``place_of_death``, ``trends``, ``adjusted``; models in
        ``models`` (``"noncancer|crude"``, ``"noncancer|adjusted"``, ``"groups|crude"``,
        ``"groups|adjusted"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> m = 600
    >>> grp = rng.choice(["cancer", "heart", "dementia", "other"], m)
    >>> d = pl.DataFrame({
    ...     "cause_group": grp, "death_year": rng.choice([2019, 2020], m),
    ...     "age_group": rng.choice(["70-79", "80+"], m), "sex": rng.choice(["male", "female"], m),
    ...     "spc_referred": rng.random(m) < np.where(grp == "cancer", 0.6, 0.1)})
    >>> d = d.with_columns(
    ...     spc_admitted=pl.col("spc_referred") & (pl.Series(rng.random(m)) < 0.8),
    ...     spc_referral_to_death_days=pl.when("spc_referred").then(30),
    ...     spc_contact_to_anchor_days=pl.when("spc_referred").then(20),
    ...     spc_wait_days=pl.when("spc_referred").then(5),
    ...     place_of_death=pl.Series(rng.choice(["home", "hospital", "nursing_home"], m)),
    ...     bed_days_30d=pl.Series(rng.integers(0, 10, m)),
    ...     gp_home_visits_90d=pl.Series(rng.integers(0, 3, m)),
    ...     terminal_declaration=pl.Series(rng.random(m) < 0.3))
    >>> res = cancer_vs_noncancer(d)
    >>> res.table.select("group", "n").rows()
    [('cancer', 150), ('noncancer', 314), ('heart', 148), ('dementia', 166), ('other', 136)]
    """
    frame = with_female(as_frame(cohort))
    if trend_groups not in ("aggregate", "each"):
        raise ValueError(f"trend_groups must be 'aggregate' or 'each', got {trend_groups!r}")
    if adjust is not None:
        warnings.warn(
            "cancer_vs_noncancer(adjust=...) is deprecated; use covariates=...",
            DeprecationWarning,
            stacklevel=2,
        )
        covariates = adjust
    adjust = list(covariates)
    require_columns(
        frame,
        list(dict.fromkeys([groups, period_col, *_REQUIRED, *adjust])),
        "non-cancer versus cancer",
    )
    notes: list[str] = []
    if population != "all":
        frame, _ = select_population(frame, population, notes)
    n_null = frame.filter(pl.col(groups).is_null()).height
    if n_null:
        frame = frame.filter(pl.col(groups).is_not_null())
        notes.append(f"{n_null:,} persons without a diagnosis group ({groups}) left out")
    if frame.height == 0:
        raise ValueError("no persons to analyse")
    present = frame[groups].cast(pl.String).unique().to_list()
    if cancer_level not in present:
        raise ValueError(
            f"no {cancer_level!r} decedents in column {groups!r} (values: {sorted(present)})"
        )
    need = [g for g in NEED_GROUPS if g in present] + sorted(
        g for g in present if g not in (*NEED_GROUPS, cancer_level, other_level)
    )
    cls = (
        pl.when(pl.col("_group") == cancer_level)
        .then(pl.lit(CANCER))
        .when(pl.col("_group") == other_level)
        .then(pl.lit(OTHER))
        .otherwise(pl.lit(NONCANCER))
    )
    frame = frame.with_columns(_group=pl.col(groups).cast(pl.String)).with_columns(_class=cls)

    # summary: cancer, the non-cancer aggregate, each need group, other
    units: list[tuple[str, str, bool, pl.DataFrame]] = [
        (CANCER, CANCER, False, frame.filter(pl.col("_class") == CANCER))
    ]
    if need:
        units.append((NONCANCER, NONCANCER, True, frame.filter(pl.col("_class") == NONCANCER)))
        units += [(g, NONCANCER, False, frame.filter(pl.col("_group") == g)) for g in need]
    if other_level in present:
        units.append((OTHER, OTHER, False, frame.filter(pl.col("_class") == OTHER)))
    rows = [
        {"group": g, "class": c, "aggregate": a, **_summary_row(sub, conf_level)}
        for g, c, a, sub in units
    ]
    summary = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("^.*_n$|^n$").cast(pl.Int64), pl.col(pl.Float32).cast(pl.Float64)
    )
    n_unknown = frame.filter(pl.col("place_of_death") == UNKNOWN_PLACE).height
    if n_unknown:
        notes.append(
            f"{n_unknown:,} persons with unknown place of death left out of the place-of-death "
            "shares"
        )

    place_tab = _place_table(frame, units, conf_level)
    trends = _trends(frame, period_col, trend_groups, need, conf_level)
    models: dict[str, Any] = {}
    adjusted = _adjusted(
        frame, [*adjust, period_col], cancer_level, need, conf_level, notes, models
    )

    return DiagnosisGroupResult(
        title="Non-cancer versus cancer: specialised palliative care and end-of-life care",
        tables={
            "summary": summary,
            "place_of_death": place_tab,
            "trends": trends,
            "adjusted": adjusted,
        },
        n=frame.height,
        params={
            "groups": groups,
            "period_col": period_col,
            "cancer_level": cancer_level,
            "other_level": other_level,
            "adjust": adjust,
            "trend_groups": trend_groups,
        },
        models=models,
        notes=notes,
        margins={
            "trends": [["outcome", period_col]],
            "adjusted": [["comparison", "model"]],
        },
        protection={
            "summary": _summary_protection(summary),
            "place_of_death": Protection(
                ("n", "n_known"),
                [
                    Margin(("group",), counts=("n",)),
                    Margin(("class", "place"), counts=("n",), over="aggregate", total="true"),
                ],
                totals=("n_known",),
            ),
        },
    )


def _place_table(
    frame: pl.DataFrame, units: list[tuple[str, str, bool, pl.DataFrame]], conf_level: float
) -> pl.DataFrame:
    """Place of death by group (long): counts, and shares of the known places."""
    place_parts = []
    seen = frame["place_of_death"].unique().drop_nulls().to_list()
    places = [p for p in _PLACES if p in seen] + sorted(set(seen) - set(_PLACES))
    nulls = {
        "share": pl.lit(None, pl.Float64),
        "conf_low": pl.lit(None, pl.Float64),
        "conf_high": pl.lit(None, pl.Float64),
    }
    for g, c, a, sub in units:
        counts = sub.group_by(place=pl.col("place_of_death")).agg(n=pl.len().cast(pl.Int64))
        grid = pl.DataFrame({"place": places}).join(counts, on="place", how="left")
        grid = grid.with_columns(pl.col("n").fill_null(0))
        known = grid.filter(pl.col("place") != UNKNOWN_PLACE)
        n_known = int(known["n"].sum())
        if n_known:
            pc = proportion_ci(known["n"], n_known, conf_level=conf_level)
            known = known.with_columns(
                share=pc["estimate"], conf_low=pc["conf_low"], conf_high=pc["conf_high"]
            )
        else:
            known = known.with_columns(**nulls)
        unk = grid.filter(pl.col("place") == UNKNOWN_PLACE).with_columns(**nulls)
        place_parts.append(
            pl.concat([known, unk]).select(
                group=pl.lit(g),
                **{"class": pl.lit(c)},
                aggregate=pl.lit(a),
                place="place",
                n="n",
                n_known=pl.lit(n_known, pl.Int64),
                share="share",
                conf_low="conf_low",
                conf_high="conf_high",
            )
        )
    return pl.concat(place_parts)


def _trends(
    frame: pl.DataFrame, period_col: str, trend_groups: str, need: list[str], conf_level: float
) -> pl.DataFrame:
    """SPC admittance and home death by period: cancer vs the non-cancer aggregate, and each
    need group when ``trend_groups == "each"``."""
    tframe = frame.filter(pl.col(period_col).is_not_null())
    tsets = [("_class", [CANCER, NONCANCER])]
    if trend_groups == "each":
        tsets.append(("_group", need))
    outcomes = (
        ("spc_admitted", pl.col("spc_admitted").fill_null(False)),
        (
            "home_death",
            pl.when(pl.col("place_of_death") != UNKNOWN_PLACE).then(
                pl.col("place_of_death") == "home"
            ),
        ),
    )
    trend_parts = []
    for col, keep in tsets:
        sub = tframe.filter(pl.col(col).is_in(keep)).with_columns(group=pl.col(col))
        for outcome, expr in outcomes:
            t = share_table(sub.sort(period_col), ["group", period_col], expr, conf_level)
            trend_parts.append(t.with_columns(outcome=pl.lit(outcome)))
    return (
        pl.concat(trend_parts, how="vertical_relaxed")
        .unique(["outcome", "group", period_col], keep="first", maintain_order=True)
        .select("outcome", "group", period_col, "n", "events", "estimate", "conf_low", "conf_high")
        .sort("outcome", "group", period_col)
    )


_ADJUSTED_SCHEMA = {
    "comparison": pl.String,
    "group": pl.String,
    "reference": pl.String,
    "model": pl.String,
    "measure": pl.String,
    "n": pl.Int64,
    "events": pl.Int64,
    "estimate": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
    "p_value": pl.Float64,
}


def _adjusted(
    frame: pl.DataFrame,
    cov: list[str],
    cancer_level: str,
    need: list[str],
    conf_level: float,
    notes: list[str],
    models: dict[str, Any],
) -> pl.DataFrame:
    """Crude and adjusted prevalence ratios of SPC admittance against cancer: the non-cancer
    aggregate, and every group; fitted models go into ``models``."""
    mframe = frame.with_columns(
        [pl.col(c).cast(pl.String) for c in cov if frame.schema[c] != pl.Boolean]
    ).with_columns(_contact=pl.col("spc_admitted").fill_null(False).cast(pl.Int8))
    miss = pl.any_horizontal([pl.col(c).is_null() for c in cov])
    n_miss = mframe.filter(miss).height
    if n_miss:
        notes.append(f"{n_miss:,} persons with unknown {', '.join(cov)} left out of the models")
    mframe = mframe.filter(~miss)
    adj_parts = []
    for comparison, col, data in (
        ("noncancer", "_class", mframe.filter(pl.col("_class").is_in([CANCER, NONCANCER]))),
        ("groups", "_group", mframe),
    ):
        if data.filter(pl.col(col) != CANCER).height == 0:
            continue
        for model, covs in (("crude", []), ("adjusted", cov)):
            part = _prevalence_ratios(
                data, comparison, col, model, covs, cancer_level, conf_level, notes, models
            )
            if part is not None:
                adj_parts.append(part)
    order = [NONCANCER, *need, OTHER]
    adjusted = pl.concat(adj_parts) if adj_parts else pl.DataFrame(schema=_ADJUSTED_SCHEMA)
    return (
        adjusted.with_columns(
            _o=pl.col("group").replace_strict(order, range(len(order)), default=len(order))
        )
        .sort("comparison", "model", "_o", descending=[True, False, False])
        .drop("_o")
    )


def _prevalence_ratios(
    data: pl.DataFrame,
    comparison: str,
    col: str,
    model: str,
    covs: list[str],
    cancer_level: str,
    conf_level: float,
    notes: list[str],
    models: dict[str, Any],
) -> pl.DataFrame | None:
    """One modified Poisson model of SPC admittance on ``col`` against cancer, as rows."""
    d = drop_separated(
        data, [col, *covs], notes, f"{comparison}, {model} model", outcome="_contact"
    )
    ref = cancer_level if col == "_group" else CANCER
    if d.filter(pl.col(col) == ref).height == 0:
        return None
    res = fit_or_note(
        lambda: modified_poisson(
            d, "_contact", [col], covs, reference={col: ref}, conf_level=conf_level
        ),
        notes,
        f"{comparison}|{model}",
    )
    if res is None:
        return None
    res.outcome = "spc_admitted"
    models[f"{comparison}|{model}"] = res
    counts = d.group_by(col).agg(
        n=pl.len().cast(pl.Int64), events=pl.col("_contact").cast(pl.Int64).sum()
    )
    terms = res.table.filter(pl.col("variable") == col).select(
        group="level",
        estimate="ratio",
        conf_low="ratio_low",
        conf_high="ratio_high",
        p_value="p_value",
    )
    return terms.join(counts.rename({col: "group"}), on="group", how="left").select(
        comparison=pl.lit(comparison),
        group="group",
        reference=pl.lit(CANCER),
        model=pl.lit(model),
        measure=pl.lit("PR"),
        n="n",
        events="events",
        estimate="estimate",
        conf_low="conf_low",
        conf_high="conf_high",
        p_value="p_value",
    )


_SUMMARY_COMPLEMENTS = (
    ("n", "referred_n"),
    ("n", "contact_n"),
    ("referred_n", "contact_n"),
    ("referred_n", "referral_to_death_interval_n"),
    ("contact_n", "contact_to_death_interval_n"),
    ("contact_n", "wait_interval_n"),
    ("n", "place_known_n"),
    ("place_known_n", "home_death_n"),
    ("place_known_n", "hospital_death_n"),
    ("n", "gp_home_visit_n"),
    ("n", "terminal_declaration_n"),
)
"""Within a row of the summary, the persons of the group without each characteristic (and
the referred without contact, the known places other than home or hospital) are counts."""


def _summary_protection(summary: pl.DataFrame) -> Protection:
    counts = tuple(c for c in count_columns(summary.columns) if summary.schema[c].is_numeric())
    rels: list[Any] = [
        Complement(a, (b,)) for a, b in _SUMMARY_COMPLEMENTS if a in counts and b in counts
    ]
    if {"place_known_n", "home_death_n", "hospital_death_n"} <= set(counts):
        rels.append(Complement("place_known_n", ("home_death_n", "hospital_death_n")))
    rels.append(Margin(("class",), over="aggregate", total="true"))
    # The columns overlap (referred, hospital deaths, GP home visits), so n - referred -
    # hospital deaths - GP home visits counts nobody; an output checker still queries it when
    # it is small and positive: every subtraction the auditor tries is kept off 1-4.
    return Protection(counts, rels, differences=False, reader_differences=True)
