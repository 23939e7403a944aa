"""The result object every analysis returns.

An :class:`AnalysisResult` holds tidy tables (``estimate``, CI, ``n`` and the counts behind
them), the fitted models, notes on exclusions, and knows how to draw its figures
(:meth:`AnalysisResult.plot`), protect itself for export (:meth:`AnalysisResult.disclosed`)
and write its tables and figures (:meth:`AnalysisResult.save`). Analyses subclass it and add one
``_plot_<kind>(ax, lang)`` method per figure kind listed in ``figures``.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from paleval.disclosure import (
    DEFAULT_THRESHOLD,
    DisclosureError,
    Margin,
    Protection,
    count_columns,
    mask_note,
    protect,
)

if TYPE_CHECKING:
    from paleval.analyses._format import FormattedTable

__all__ = ["AnalysisResult", "require_columns"]


def require_columns(frame: pl.DataFrame, columns: list[str] | tuple[str, ...], what: str) -> None:
    """Raise a clear error naming the analysis and the columns a cohort frame lacks.

    Examples
    --------
    >>> require_columns(pl.DataFrame({"a": [1]}), ["a", "b"], "place of death")
    Traceback (most recent call last):
    ...
    ValueError: place of death needs the cohort columns ['b'] (missing); got ['a']. ...
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} needs the cohort columns {missing} (missing); got {sorted(frame.columns)}. "
            "Build the cohort with paleval.cohort.end_of_life_cohort (or add the exposures "
            "with paleval.cohort.add_*)."
        )


@dataclass(repr=False)
class AnalysisResult:
    """Base class of analysis results: tidy tables, models, figures, disclosure, export.

    Attributes
    ----------
    title
        One-line description of the analysis.
    tables
        Named tidy tables; the first is the main one (:attr:`table`). Every table has count
        columns (``n``, ``events``, ``n_*``) so disclosure control knows what to protect.
    n
        Persons analysed.
    params
        The arguments the analysis ran with.
    models
        Fitted models (e.g. :class:`paleval.stats.RegressionResult`), by name.
    notes
        Exclusions and caveats, counted (e.g. ``"12 persons with unknown place of death
        excluded"``).
    margins
        Per table, the groupings whose totals can be derived (for secondary suppression); each
        becomes a :class:`paleval.disclosure.Margin` with a known total, and the difference of
        every two counts of a row is treated as a count.
    protection
        Per table, the full disclosure declaration (:class:`paleval.disclosure.Protection`:
        count columns, margins, complements, sequences); it replaces ``margins`` for that
        table. A table with count columns and neither declaration is refused by
        :meth:`disclosed`.
    disclosure_threshold
        ``None`` for raw results; the threshold once :meth:`disclosed` was applied.
    disclosure_rounding
        The rounding base applied by :meth:`disclosed` (``None``: counts not rounded).

    Examples
    --------
    >>> r = AnalysisResult("demo", {"main": pl.DataFrame({"g": ["a", "b"], "n": [3, 40]})}, 43,
    ...                    margins={"main": []})
    >>> r.table.height
    2
    >>> r.disclosed().table["n"].to_list()
    [None, 40]
    """

    title: str
    tables: dict[str, pl.DataFrame]
    n: int
    params: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    margins: dict[str, list[list[str]]] = field(default_factory=dict)
    disclosure_threshold: int | None = None
    protection: dict[str, Protection] = field(default_factory=dict)
    disclosure_rounding: int | None = None

    figures: ClassVar[tuple[str, ...]] = ()
    """The figure kinds :meth:`plot` can draw; the first is the default."""

    percent_columns: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Per table, columns :meth:`formatted` shows as per cent besides the ``share``-named ones
    (and ``estimate`` of tables of events, which is a proportion)."""

    @property
    def table(self) -> pl.DataFrame:
        """The main table (the first in :attr:`tables`)."""
        return next(iter(self.tables.values()))

    def plot(
        self,
        kind: str | None = None,
        *,
        lang: str = "en",
        ax: Any = None,
        title: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Any:
        """Draw one of the result's figures (``kind`` in :attr:`figures`; default the first).

        ``lang`` is ``"en"`` or ``"da"`` (Danish: decimal comma on every numeric axis).
        ``title`` replaces the figure's title; ``labels`` renames legend entries and tick
        labels (displayed text -> new text). Returns the matplotlib Axes.
        """
        if not self.figures:
            raise ValueError(f"{type(self).__name__} has no figures")
        kind = kind or self.figures[0]
        if kind not in self.figures:
            raise ValueError(f"unknown figure {kind!r}; choose one of {list(self.figures)}")
        out = getattr(self, f"_plot_{kind}")(ax=ax, lang=lang)
        if title is not None:
            out.set_title(title)
        if labels:
            _relabel(out, labels)
        if lang == "da":
            from paleval.plots import decimal_comma

            decimal_comma(out.figure)
        return out

    def formatted(
        self, name: str | None = None, *, lang: str = "en", digits: int | None = None
    ) -> FormattedTable:
        """The publication table of table ``name`` (default the main one), from the disclosed
        table only (a raw result is disclosed first, threshold 5).

        Estimates with their CI as ``"1.61 (1.54–1.68)"``, shares as per cent, fixed decimals
        per column kind (``digits`` overrides those of estimates and shares), p-values as
        ``"<0.001"``, labels of variables and levels in English or Danish (``lang="da"``:
        decimal comma, ``"."`` for thousands), suppressed cells as ``"<5"``/``"[s]"``, and
        :attr:`~paleval.analyses._format.FormattedTable.footnotes` on the model, adjustment
        and suppression.

        Examples
        --------
        >>> r = AnalysisResult("demo", {"main": pl.DataFrame({"g": ["a", "b", "c"],
        ...     "n": [3, 40, 1234], "share": [0.0125, 0.5, 0.25]})}, 1277, margins={"main": []})
        >>> r.formatted().table.rows()
        [('A', '<5', '<5'), ('B', '40', '50.0'), ('C', '1,234', '25.0')]
        >>> r.formatted(lang="da").table.row(2), r.formatted().columns
        (('C', '1.234', '25,0'), ['G', 'n', 'Share, %'])
        """
        from paleval.analyses._format import format_table

        if not self.tables:
            raise ValueError(f"{type(self).__name__} has no tables to format")
        res = self if self.disclosure_threshold is not None else self.disclosed()
        name = name or next(iter(res.tables))
        if name not in res.tables:
            raise ValueError(f"unknown table {name!r}; choose one of {list(res.tables)}")
        try:
            counts: tuple[str, ...] = tuple(res.declaration(name).counts)
        except DisclosureError:
            counts = ()
        return format_table(
            res.tables[name],
            counts=counts,
            percent=self.percent_columns.get(name, ()),
            lang=lang,
            digits=digits,
            threshold=res.disclosure_threshold or DEFAULT_THRESHOLD,
            rounding=res.disclosure_rounding,
            notes=res._footnotes(name, lang),
            title=res.title,
            name=name,
        )

    def _footnotes(self, name: str, lang: str) -> list[str]:
        """Model and adjustment footnotes from ``params`` and the table's ``model`` column.
        The result's free-text notes stay in :attr:`notes` (the notebook prints them): their
        numbers ("14 nights", "3 days before death") read as counts to an output checker."""
        from paleval.plots import label

        out: list[str] = []
        tab = self.tables[name]
        models = []
        for key in ("model", "measure"):
            if key in tab.columns:
                models += [
                    label(v, lang) for v in tab[key].drop_nulls().unique(maintain_order=True)
                ]
        for key in ("family", "estimand", "cluster"):
            if self.params.get(key):
                models.append(f"{label(key, lang).lower()} {label(self.params[key], lang)}")
        if models:
            out.append(f"Model: {', '.join(models)}.")
        adjust: list[str] = []
        for key in ("adjust", "covariates", "standardise_by"):
            val = self.params.get(key)
            if val:
                vals = [val] if isinstance(val, str) else list(val)
                adjust += [label(v, lang) for v in vals]
        if adjust:
            head = "Adjusted for" if lang == "en" else "Justeret for"
            out.append(f"{head}: {', '.join(dict.fromkeys(adjust))}.")
        return out

    def declaration(self, name: str) -> Protection:
        """The disclosure declaration of table ``name``: :attr:`protection`, else the
        :attr:`margins` with every count column named by :func:`paleval.disclosure.count_columns`.

        Raises :class:`paleval.disclosure.DisclosureError` for a table with count columns and
        no declaration: a new analysis gets protection by declaring, not by default.
        """
        tab = self.tables[name]
        if name in self.protection:
            return self.protection[name]
        counts = tuple(c for c in count_columns(tab.columns) if tab.schema[c].is_numeric())
        if not counts:
            raise DisclosureError(
                f"table {name!r} of {type(self).__name__} has no count columns; "
                "every exported table must carry the counts behind it"
            )
        if name not in self.margins:
            raise DisclosureError(
                f"table {name!r} of {type(self).__name__} has count columns {list(counts)} but no "
                "disclosure declaration; declare its relations in `protection` (or `margins`)"
            )
        keys = tuple(sorted({c for m in self.margins[name] for c in m}))
        return Protection(counts, [Margin(tuple(m)) for m in self.margins[name]], keep=keys)

    def disclosed(
        self, threshold: int = DEFAULT_THRESHOLD, *, rounding: int | None = None
    ) -> AnalysisResult:
        """A copy whose tables passed disclosure control (no count 1 to ``threshold - 1``,
        published or recoverable through the declared relations).

        Rows with a small count are blanked (with their estimates and CIs), with secondary
        suppression over the declarations (:meth:`declaration`); ``suppressed`` (Boolean) and
        ``suppression`` (``"primary"``/``"secondary"``) mark them. A table that cannot be
        protected by suppression is withheld (every row blanked) and a note says so. Notes go
        through :func:`paleval.disclosure.mask_note`. With ``rounding`` (5 or 10) published
        counts are rounded to that base. Figures drawn from the copy show only the published
        numbers. Models are dropped from the copy (their tables are what is published).
        """
        tables = {}
        notes = [mask_note(x, threshold) for x in self.notes]
        for name, tab in self.tables.items():
            decl = self.declaration(name)
            tab = tab.drop("suppressed", "suppression", strict=False)
            try:
                tables[name] = protect(tab, decl, threshold=threshold, rounding=rounding, name=name)
            except DisclosureError as exc:
                tables[name] = _withhold(tab, decl, threshold)
                notes.append(f"table {name} withheld by disclosure control ({exc})")
        return dataclasses.replace(
            self,
            tables=tables,
            models={},
            notes=notes,
            disclosure_threshold=threshold,
            disclosure_rounding=rounding,
        )

    def save(
        self,
        directory: str | Path,
        *,
        stem: str | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        rounding: int | None = None,
        formats: tuple[str, ...] = ("png", "svg"),
        lang: str = "en",
        xlsx: bool = False,
    ) -> list[Path]:
        """Write every table (CSV, optionally XLSX) and figure after disclosure control.

        Files are named ``{stem}_{table}.csv`` and ``{stem}_{figure}.{fmt}``; ``stem`` defaults
        to the class name in snake case. Each table's publication form (:meth:`formatted`, in
        ``lang``) goes to ``{stem}_{table}_formatted.csv`` (and ``.xlsx``), through the same
        writer as the report's. Returns the written paths.
        """
        import matplotlib.pyplot as plt

        from paleval.analyses._output import write_formatted, write_table
        from paleval.plots import save_figure

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or _snake(type(self).__name__)
        done = self.disclosure_threshold == threshold and self.disclosure_rounding == rounding
        res = self if done else self.disclosed(threshold, rounding=rounding)
        out: list[Path] = []
        for name, tab in res.tables.items():
            out.extend(write_table(tab, directory / f"{stem}_{name}", xlsx=xlsx))
            ft = res.formatted(name, lang=lang)
            out.extend(write_formatted(ft, directory / f"{stem}_{name}_formatted", xlsx=xlsx))
        for kind in res.figures:
            ax = res.plot(kind, lang=lang)
            fig = ax.figure
            out.extend(save_figure(fig, directory / f"{stem}_{kind}", formats))
            plt.close(fig)
        return out

    # -- display -----------------------------------------------------------------------
    def _header(self) -> list[str]:
        lines = [f"{type(self).__name__}: {self.title}", f"  n = {self.n:,}"]
        if self.params:
            lines.append("  " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        if self.disclosure_threshold is not None:
            lines.append(f"  disclosure control applied (threshold {self.disclosure_threshold})")
        lines.extend(f"  note: {x}" for x in self.notes)
        return lines

    def __repr__(self) -> str:
        lines = self._header()
        with pl.Config(
            tbl_rows=12,
            tbl_cols=10,
            tbl_hide_column_data_types=True,
            tbl_width_chars=120,
            float_precision=3,
        ):
            for name, tab in self.tables.items():
                lines.append(f"\n[{name}]  {tab.height} rows")
                lines.append(str(tab))
        if self.figures:
            lines.append(f"\nfigures: {', '.join(self.figures)} (.plot(kind))")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<br>".join(html.escape(x) for x in self._header())
        parts = [f"<p>{head}</p>"]
        for name, tab in self.tables.items():
            parts.append(f"<details><summary><b>{html.escape(name)}</b> ({tab.height} rows)")
            parts.append("</summary>" + tab.head(50)._repr_html_() + "</details>")
        if self.figures:
            parts.append(f"<p>figures: {html.escape(', '.join(self.figures))}</p>")
        return "".join(parts)


def _relabel(ax: Any, labels: dict[str, str]) -> None:
    """Rename legend entries and tick labels of ``ax`` by their displayed text."""
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            text.set_text(labels.get(text.get_text(), text.get_text()))
    for axis in (ax.xaxis, ax.yaxis):
        ticks = axis.get_ticklabels()
        if any(t.get_text() in labels for t in ticks):
            axis.set_ticks(axis.get_ticklocs())
            axis.set_ticklabels([labels.get(t.get_text(), t.get_text()) for t in ticks])


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out).removesuffix("_result")


def _withhold(tab: pl.DataFrame, decl: Protection, threshold: int) -> pl.DataFrame:
    """Every count and dependent value blanked; rows with a small count marked primary."""
    small = pl.any_horizontal([pl.col(c).is_between(1, threshold - 1) for c in decl.counts])
    blank = [
        c
        for c, dt in tab.schema.items()
        if c in decl.counts or (dt.is_numeric() and c not in decl.keep)
    ]
    return (
        tab.with_columns(
            suppression=pl.when(small).then(pl.lit("primary")).otherwise(pl.lit("secondary"))
        )
        .with_columns(
            [pl.lit(None, tab.schema[c]).alias(c) for c in blank],
            suppressed=pl.lit(True),
        )
        .select([*tab.columns, "suppressed", "suppression"])
    )
