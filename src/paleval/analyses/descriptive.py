"""Table 1: characteristics of a cohort by group, in the style of tableone and gtsummary."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from paleval.analyses._common import as_frame, ordered_levels
from paleval.analyses._format import FormattedTable, fixed, format_count
from paleval.analyses.result import AnalysisResult, require_columns
from paleval.disclosure import (
    DEFAULT_THRESHOLD,
    Margin,
    Protection,
    Quantile,
    Steps,
    legend_rows,
    marker,
    protect,
)
from paleval.disclosure.model import active_ledger, suppress_rows
from paleval.plots import label

__all__ = [
    "DEFAULT_CHARACTERISTICS",
    "CharacteristicsResult",
    "FlowResult",
    "characteristics",
    "flow_result",
]

DEFAULT_CHARACTERISTICS: tuple[str, ...] = (
    "age", "age_group", "sex", "living_alone", "nursing_home_resident", "origin", "education",
    "income_quartile", "region", "charlson_group", "place_of_death", "spc_referred",
    "spc_admitted", "spc_unit", "gp_home_visit_category", "gp_ooh_30d", "terminal_declaration",
    "bed_days_30d",
)  # fmt: skip
"""Variables of the default Table 1 of the end-of-life cohort (those present are used)."""

TOTAL = "total"
MEDIAN = "median (IQR)"

TABLE1_PROTECTION = Protection(
    ("n", "n_group"),
    [
        Margin(("variable", "group"), counts=("n",)),
        Margin(("variable", "level"), counts=("n",), over="group", total=TOTAL),
    ],
    totals=("n_group",),
    quantiles=(
        Quantile("value", 0.5, where=("level", MEDIAN)),
        Quantile("value_low", 0.25, where=("level", MEDIAN)),
        Quantile("value_high", 0.25, where=("level", MEDIAN)),
    ),
    link=("variable", "level", "group"),
)
"""Table 1's declaration: the levels of a variable add up to the group size (published in the
header), the groups add up to the total column, and ``n_group - n`` is a count (persons of
the group not at this level; for a continuous variable, those with a missing value). On the
``"median (IQR)"`` rows ``value`` is a median (published from ``2 x threshold`` persons with a
value) and ``value_low``/``value_high`` the quartiles (from ``4 x threshold``). Cells are
identified across Table 1s of one report by variable, level and group (``link``): Table 1 by
cancer repeats the cancer and total columns of Table 1 by cause, so under the report's
ledger the later one is protected together with the earlier."""

FLOW_PROTECTION = Protection(
    ("n", "n_excluded"),
    [Steps("step", ("n",), removed=("n_excluded",))],
    keep=("step",),
    differences=False,
    published=(("n", -1),),
)
"""A flow's declaration: every two steps differ by a count of persons, and consecutive steps
by the published ``n_excluded`` of the later one; the final count is the cohort size, which
every other table of the report prints, so it is known whatever the flow hides."""


def _is_continuous(s: pl.Series) -> bool:
    return s.dtype.is_numeric() and s.dtype != pl.Boolean and s.n_unique() > 12


@dataclass(repr=False)
class CharacteristicsResult(AnalysisResult):
    """Characteristics by group (Table 1).

    ``tables["characteristics"]`` is long and tidy: ``variable, level, group, n`` (persons in
    the cell), ``n_group`` (persons in the group), ``share`` (n / n_group for categories), and
    for continuous variables ``level`` is ``"median (IQR)"`` or ``"mean (SD)"`` with
    ``value, value_low, value_high`` (``n`` the persons with a value). :meth:`formatted` gives
    the wide, printable table ("n (%)" per group).
    """

    figures: ClassVar[tuple[str, ...]] = ()

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> CharacteristicsResult:
        """As :meth:`AnalysisResult.disclosed`; the group sizes (the headers) are protected too:
        the groups add up to the total, so a group under the threshold takes the smallest other
        group with it (every cell of that group is then hidden, its header shows "[s]")."""
        res = super().disclosed(threshold, rounding=rounding)
        raw = self.tables["characteristics"]
        if TOTAL not in raw["group"].to_list():
            return res
        sizes = raw.group_by("group", maintain_order=True).agg(n=pl.col("n_group").first())
        prot = Protection(("n",), [Margin((), over="group", total=TOTAL)], differences=False)
        hidden = protect(sizes, prot, threshold=threshold).filter(pl.col("suppressed"))
        if hidden.height == 0:
            return res
        tab = res.tables["characteristics"]
        mask = tab["group"].is_in(hidden["group"].implode())
        ledger = active_ledger()
        if ledger is not None:  # a later linked table must not print these rows
            ledger.hide_more(raw, set(mask.arg_true().to_list()))
        decl = dataclasses.replace(TABLE1_PROTECTION, totals=())
        tables = {"characteristics": suppress_rows(tab, decl, mask)}
        return dataclasses.replace(res, tables=tables)

    def formatted(
        self, name: str | None = None, *, lang: str = "en", digits: int | None = None
    ) -> FormattedTable:
        """Wide printable table: one row per variable level, one column per group.

        Suppressed cells (disclosure control) show ``"<5"`` (a count under the threshold) or
        ``"[s]"`` (secondary suppression: the cell may be large), never a number; the
        ``footnotes`` explain the markers. Group sizes in the headers are published totals.
        A raw result is disclosed first. ``digits`` (default 1) are the decimals of shares
        and statistics; Danish (``lang="da"``) uses decimal commas.
        """
        if name is not None and name not in self.tables:
            raise ValueError(f"unknown table {name!r}; choose one of {list(self.tables)}")
        if self.disclosure_threshold is None:
            return self.disclosed().formatted(name, lang=lang, digits=digits)
        digits = 1 if digits is None else digits
        tab = self.table
        thr = self.disclosure_threshold or 5
        cat = (format_count(pl.col("n"), lang) + " (") + (
            fixed(100 * pl.col("share"), digits, lang) + "%)"
        )
        sec = pl.lit(marker("secondary", thr))
        median = pl.col("level") == MEDIAN
        iqr = (
            pl.lit(" (")
            + fixed(pl.col("value_low"), digits, lang)
            + "–"
            + fixed(pl.col("value_high"), digits, lang)
            + ")"
        )
        cont = fixed(pl.col("value"), digits, lang) + pl.when(median).then(
            pl.coalesce(iqr, pl.lit(" (") + sec + ")")
        ).otherwise(pl.lit(" (") + fixed(pl.col("value_high"), digits, lang) + ")")
        # a median or quartile hidden by the quantile rule (too few persons on a side)
        quantile_hidden = (
            median & (pl.col("n") > 0) & pl.col("value_low").is_null()
            if "suppressed" in tab.columns
            else pl.lit(False)
        )
        sup = pl.col("suppression") if "suppression" in tab.columns else pl.lit(None, pl.String)
        cell = (
            pl.when(pl.col("n").is_null() & (sup == "secondary"))
            .then(pl.lit(marker("secondary", thr)))
            .when(pl.col("n").is_null())
            .then(pl.lit(marker("primary", thr)))
            .when(quantile_hidden & pl.col("value").is_null())
            .then(sec)
            .when(pl.col("value").is_not_null())
            .then(cont)
            .otherwise(cat)
        )
        long = tab.with_columns(
            cell=cell,
            Variable=pl.col("variable").map_elements(
                lambda v: label(v, lang), return_dtype=pl.String
            ),
            Level=pl.col("level").map_elements(lambda v: label(v, lang), return_dtype=pl.String),
        )
        groups = tab["group"].unique(maintain_order=True).to_list()
        wide = long.pivot(on="group", index=["Variable", "Level"], values="cell")
        prim = (
            (pl.col("suppression") == "primary").all()
            if "suppression" in tab.columns
            else pl.lit(True)
        )
        heads = tab.group_by("group", maintain_order=True).agg(pl.col("n_group").max(), prim)
        names = {
            g: f"{label(g, lang)} (n={_head(n, p, thr, lang)})" for g, n, p in heads.iter_rows()
        }
        out = wide.select("Variable", "Level", *groups).rename(names)
        hidden_q = tab.select(quantile_hidden.any()).item()
        notes: list[str] = []
        if "suppressed" in tab.columns and (tab["suppressed"].any() or hidden_q):
            notes = legend_rows(lang, thr, self.disclosure_rounding, quantiles=hidden_q)
        elif self.disclosure_rounding:
            notes = legend_rows(lang, thr, self.disclosure_rounding)
        pct = "n (%)" if lang == "en" else "antal (%)"
        notes = [f"{pct}; {label('median_iqr', lang)}.", *notes]
        name = name or next(iter(self.tables))
        return FormattedTable(out, notes, title=self.title, name=name, lang=lang)

    def __repr__(self) -> str:
        with pl.Config(
            tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True, fmt_str_lengths=40
        ):
            return "\n".join([*self._header(), repr(self.formatted())])

    def _repr_html_(self) -> str:
        head = "<br>".join(html.escape(x) for x in self._header())
        return f"<p>{head}</p>" + self.formatted()._repr_html_()


def characteristics(
    cohort: pl.DataFrame | pl.LazyFrame | Any,
    *,
    by: str | None = "cause_group",
    variables: Sequence[str] | None = None,
    total: bool = True,
) -> CharacteristicsResult:
    """Table 1: the distribution of ``variables`` in each group of ``by`` (and in total).

    Categorical variables (strings, Booleans, integers with at most 12 values) give counts and
    shares per level, missing values as the level ``"missing"``; continuous ones the median
    (IQR) and mean (SD). With ``variables=None`` the :data:`DEFAULT_CHARACTERISTICS` present in
    the cohort are used. Levels of ordered factors (age group, education, income quartile)
    come in their natural order (``paleval.codes.vocabulary.LEVEL_ORDER``), others sorted;
    ``"missing"`` last. The notes state the age bands and, when the cohort has
    ``income_year``, the year the income was measured in relative to death.

    Examples
    --------
    >>> d = pl.DataFrame({"g": ["a", "a", "b", "b", "b"], "sex": ["1", "2", "2", "2", None],
    ...                   "age": [70.0, 80.0, 60.0, 65.0, 90.0]})
    >>> res = characteristics(d, by="g", variables=["sex"])
    >>> res.table.filter(pl.col("group") == "b").select("level", "n").rows()
    [('1', 0), ('2', 2), ('missing', 1)]
    """
    frame = as_frame(cohort)
    if variables is None:
        # a column the cohort has but never fills (nursing_home_resident without its
        # register) is not a characteristic
        variables = [
            v
            for v in DEFAULT_CHARACTERISTICS
            if v in frame.columns and frame[v].null_count() < frame.height
        ]
    variables = list(variables)
    require_columns(frame, [*variables, *([by] if by else [])], "characteristics (Table 1)")
    if by is None:
        frame = frame.with_columns(pl.lit(TOTAL).alias("_group"))
    else:
        frame = frame.with_columns(pl.col(by).cast(pl.String).fill_null("missing").alias("_group"))
        if total:
            frame = pl.concat([frame, frame.with_columns(pl.lit(TOTAL).alias("_group"))])
    sizes = frame.group_by("_group").agg(n_group=pl.len())
    notes = _definition_notes(frame, variables)
    parts = []
    for v in variables:
        s = frame[v]
        if _is_continuous(s):
            stats = frame.group_by("_group").agg(
                n=pl.col(v).count(),
                q1=pl.col(v).quantile(0.25, "linear"),
                med=pl.col(v).median(),
                q3=pl.col(v).quantile(0.75, "linear"),
                mean=pl.col(v).mean(),
                sd=pl.col(v).std(),
            )
            parts.append(
                pl.concat(
                    [
                        stats.select(
                            "_group",
                            "n",
                            level=pl.lit("median (IQR)"),
                            value="med",
                            value_low="q1",
                            value_high="q3",
                        ),
                        stats.select(
                            "_group",
                            "n",
                            level=pl.lit("mean (SD)"),
                            value="mean",
                            value_low=pl.lit(None, pl.Float64),
                            value_high="sd",
                        ),
                    ]
                ).with_columns(variable=pl.lit(v), share=pl.lit(None, pl.Float64))
            )
        else:
            counts = frame.group_by(
                "_group", pl.col(v).cast(pl.String).fill_null("missing").alias("level")
            ).agg(n=pl.len())
            # every level in every group (absent combinations are true zeros, shown as such)
            grid = sizes.select("_group").join(counts.select("level").unique(), how="cross")
            counts = (
                grid.join(counts, on=["_group", "level"], how="left")
                .with_columns(pl.col("n").fill_null(0))
                .join(sizes, on="_group")
                .with_columns(
                    share=pl.col("n") / pl.col("n_group"),
                    variable=pl.lit(v),
                    value=pl.lit(None, pl.Float64),
                    value_low=pl.lit(None, pl.Float64),
                    value_high=pl.lit(None, pl.Float64),
                )
                .drop("n_group")
            )
            parts.append(counts)
    cols = ["variable", "level", "_group", "n", "share", "value", "value_low", "value_high"]
    long = pl.concat([p.select(cols) for p in parts], how="vertical_relaxed")
    order = {v: i for i, v in enumerate(variables)}
    group_order = frame.select(pl.col("_group").unique().sort()).to_series().to_list()
    if TOTAL in group_order:
        group_order = [g for g in group_order if g != TOTAL] + [TOTAL]
    gpos = {g: i for i, g in enumerate(group_order)}
    long = (
        long.join(sizes, on="_group")
        .with_columns(
            _v=pl.col("variable").replace_strict(order, return_dtype=pl.Int64),
            _g=pl.col("_group").replace_strict(gpos, return_dtype=pl.Int64),
            _missing=pl.col("level") == "missing",
        )
        .join(_level_order(long), on=["variable", "level"], how="left")
        .sort("_v", "_missing", "_lo", "level", "_g")
        .select(
            "variable",
            "level",
            group="_group",
            n=pl.col("n").cast(pl.Int64),
            n_group=pl.col("n_group").cast(pl.Int64),
            share="share",
            value="value",
            value_low="value_low",
            value_high="value_high",
        )
    )
    n_total = frame.filter(pl.col("_group") != TOTAL).height if (by and total) else frame.height
    return CharacteristicsResult(
        title=f"Characteristics by {by}" if by else "Characteristics",
        tables={"characteristics": long},
        n=n_total,
        params={"by": by, "variables": variables},
        notes=notes,
        protection={"characteristics": TABLE1_PROTECTION},
    )


def _head(n: int | None, primary: bool, thr: int, lang: str = "en") -> str:
    if n is not None:
        return f"{n:,}".replace(",", "." if lang == "da" else ",")
    return marker("primary" if primary else "secondary", thr)


def _level_order(long: pl.DataFrame) -> pl.DataFrame:
    """Position of every level within its variable (known orders first, then sorted)."""
    rows = []
    for (v,), d in long.group_by("variable", maintain_order=True):
        for i, lv in enumerate(ordered_levels(v, d["level"].unique().to_list())):
            rows.append((v, lv, i))
    return pl.DataFrame(
        rows, schema={"variable": pl.String, "level": pl.String, "_lo": pl.Int64}, orient="row"
    )


def _definition_notes(frame: pl.DataFrame, variables: Sequence[str]) -> list[str]:
    notes = []
    if "age_group" in variables:
        levels = ordered_levels("age_group", frame["age_group"].drop_nulls().unique().to_list())
        notes.append(f"age_group: {', '.join(levels)} (age at death or at entry)")
    if "income_quartile" in variables and {"income_year", "death_year"} <= set(frame.columns):
        lags = (
            frame.select(lag=pl.col("death_year") - pl.col("income_year"))["lag"]
            .drop_nulls()
            .unique()
            .sort()
            .to_list()
        )
        if lags:
            notes.append(
                "income_quartile: equivalised disposable family income of the calendar year "
                f"{' / '.join(map(str, lags))} year(s) before the year of death, quartiles within "
                "the income year"
            )
    nh = frame.get_column("nursing_home_resident", default=None)
    if "living_alone" in variables and (nh is None or nh.null_count() == frame.height):
        notes.append(
            "living_alone: one-person family in BEF, which includes nursing-home residents"
        )
    return notes


@dataclass(repr=False)
class FlowResult(AnalysisResult):
    """A cohort's STROBE flow as a result: ``tables["flow"]`` (``step, label, n,
    n_excluded``) and the figure ``flow`` (the diagram).

    Disclosure control (:meth:`disclosed`) blanks an exclusion of 1 to ``threshold - 1``
    persons together with a neighbouring step's exclusion and the count between them, so the
    small number cannot be recovered by subtraction.
    """

    figures: ClassVar[tuple[str, ...]] = ("flow",)

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> FlowResult:
        """As :meth:`AnalysisResult.disclosed` over the flow's declaration (every two steps
        differ by a count; ``n[i] = n[i+1] + n_excluded[i+1]``), plus per-count markers
        ``suppression_n`` and ``suppression_n_excluded`` (``"primary"`` only for a count that
        is itself under the threshold), so the diagram never shows "<5" for a large step."""
        res = super().disclosed(threshold, rounding=rounding)
        raw = self.tables["flow"]
        pub = res.tables["flow"]

        def mark(c: str) -> pl.Expr:
            v = raw[c]
            return (
                pl.when(pl.col(c).is_null() & v.is_not_null())
                .then(
                    pl.when(v.is_between(1, threshold - 1))
                    .then(pl.lit("primary"))
                    .otherwise(pl.lit("secondary"))
                )
                .otherwise(pl.lit(None, pl.String))
                .alias(f"suppression_{c}")
            )

        tables = dict(res.tables)
        tables["flow"] = pub.with_columns(mark("n"), mark("n_excluded"))
        return dataclasses.replace(res, tables=tables)

    def _plot_flow(self, ax: Any = None, lang: str = "en") -> Any:
        from paleval.cohort.flow import Flow, FlowStep
        from paleval.plots import figure

        rows = list(self.table.iter_rows(named=True))
        thr = self.disclosure_threshold or DEFAULT_THRESHOLD

        def mk(r: dict[str, Any], c: str) -> str | None:
            kind = r.get(f"suppression_{c}") or (r.get("suppression") if r[c] is None else None)
            return None if r[c] is not None else marker(kind or "secondary", thr)

        steps = [
            FlowStep(
                r["label"],
                r["n"],
                r["n_excluded"] or 0 if i == 0 else r["n_excluded"],
                r["label"].removeprefix("Excluded: "),
                n_mark=mk(r, "n"),
                excluded_mark=None if i == 0 else mk(r, "n_excluded"),
            )
            for i, r in enumerate(rows)
        ]
        if ax is None:
            _, ax = figure(7.0, 1.3 * max(len(steps), 1))
        ax = Flow(steps=steps).plot(ax=ax)
        if any(r.get("suppressed") for r in rows):
            ax.text(
                0.0,
                ax.get_ylim()[0],
                "\n".join(legend_rows(lang, thr, self.disclosure_rounding)),
                ha="left",
                va="bottom",
                fontsize=7,
                wrap=True,
            )
        return ax


def flow_result(flow: Any, title: str = "Cohort flow") -> FlowResult:
    """Wrap a :class:`paleval.cohort.Flow` (or its table) as an exportable result.

    Examples
    --------
    >>> from paleval.cohort import Flow
    >>> f = Flow(); f.start("Deaths", 100); f.exclude("no cause of death", 97)
    >>> f.exclude("aged under 18", 90)
    >>> pub = flow_result(f).disclosed()
    >>> pub.table.select("n", "n_excluded", "suppression").rows()
    [(100, 0, None), (None, None, 'primary'), (None, None, 'secondary')]
    >>> pub.table["suppression_n"].to_list()
    [None, 'secondary', 'secondary']
    """
    tab = flow if isinstance(flow, pl.DataFrame) else flow.table
    tab = tab.select("step", "label", "n", n_excluded=pl.col("excluded"))
    return FlowResult(
        title,
        {"flow": tab},
        int(tab["n"][-1]),
        protection={"flow": FLOW_PROTECTION},
    )
