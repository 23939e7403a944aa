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
from typing import Any, ClassVar

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

    @property
    def table(self) -> pl.DataFrame:
        """The main table (the first in :attr:`tables`)."""
        return next(iter(self.tables.values()))

    def plot(self, kind: str | None = None, *, lang: str = "en", ax: Any = None) -> Any:
        """Draw one of the result's figures (``kind`` in :attr:`figures`; default the first).

        ``lang`` is ``"en"`` or ``"da"``. Returns the matplotlib Axes.
        """
        if not self.figures:
            raise ValueError(f"{type(self).__name__} has no figures")
        kind = kind or self.figures[0]
        if kind not in self.figures:
            raise ValueError(f"unknown figure {kind!r}; choose one of {list(self.figures)}")
        return getattr(self, f"_plot_{kind}")(ax=ax, lang=lang)

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
        to the class name in snake case. Returns the written paths.
        """
        import matplotlib.pyplot as plt

        from paleval.plots import save_figure

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or _snake(type(self).__name__)
        done = self.disclosure_threshold == threshold and self.disclosure_rounding == rounding
        res = self if done else self.disclosed(threshold, rounding=rounding)
        out: list[Path] = []
        for name, tab in res.tables.items():
            path = directory / f"{stem}_{name}.csv"
            tab.write_csv(path)
            out.append(path)
            if xlsx:
                xpath = directory / f"{stem}_{name}.xlsx"
                tab.write_excel(xpath, worksheet=name[:31])
                out.append(xpath)
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
