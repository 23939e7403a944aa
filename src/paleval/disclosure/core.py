"""Statistical disclosure control for exported tables: no cell based on fewer than 5 persons.

Statistics Denmark's rule for results leaving a research server is that no table cell may be
based on fewer than 5 persons (1-4; zero is not a disclosure). :func:`suppress` applies primary
suppression to every count below the threshold and *secondary* suppression so that a suppressed
cell cannot be recovered by subtraction from a published margin: within every group of each
margin given in ``margins``, a single suppressed cell is accompanied by the smallest other cell.
Values that derive from a suppressed count (percentages, estimates, confidence limits) are
blanked with it. :func:`check_output` (in :mod:`paleval.disclosure.audit`, re-exported here) audits
an output folder as an output checker would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from paleval.disclosure.audit import DisclosureFinding, check_output

__all__ = [
    "DEFAULT_THRESHOLD",
    "DisclosureFinding",
    "check_output",
    "count_columns",
    "suppress",
]

DEFAULT_THRESHOLD = 5
"""Smallest publishable count (Statistics Denmark: no cell under 5 persons)."""

_COUNT_NAMES = {"n", "events", "count", "numerator", "denominator", "observed", "n_events"}


def count_columns(columns: Iterable[str]) -> list[str]:
    """The columns that hold person counts, by paleval's naming convention.

    A count column is named ``n``, ``events``, ``count``, ``numerator``, ``denominator``,
    ``observed``, or starts with ``n_`` or ends with ``_n`` or ``_count``. Every table paleval
    exports follows the convention, so the checker knows what to check.

    Examples
    --------
    >>> count_columns(["group", "n", "events", "estimate", "n_referred", "deaths_count"])
    ['n', 'events', 'n_referred', 'deaths_count']
    """
    out = []
    for c in columns:
        lc = c.lower()
        if lc in _COUNT_NAMES or lc.startswith("n_") or lc.endswith(("_n", "_count")):
            out.append(c)
    return out


def _small(col: str, threshold: int) -> pl.Expr:
    v = pl.col(col)
    return v.is_not_null() & (v > 0) & (v < threshold)


def suppress(
    table: pl.DataFrame,
    counts: Sequence[str] | None = None,
    *,
    margins: Sequence[Sequence[str]] = (),
    dependent: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pl.DataFrame:
    """Suppress small counts, with secondary suppression, and mark what was suppressed.

    Parameters
    ----------
    table
        A tidy table, one row per cell.
    counts
        Count columns to protect (default: :func:`count_columns`). A row is suppressed when any
        of its counts is 1 to ``threshold - 1``.
    margins
        Groupings whose totals are published or derivable, e.g. ``[["year"], ["region"]]`` for a
        region x year table with row and column totals. Within each group, a lone suppressed
        row takes the smallest other row with it, repeated until no group has exactly one.
        Without margins only primary suppression is applied.
    dependent
        Columns blanked together with the counts (default: every numeric column that is not a
        grouping column, e.g. ``estimate``, ``conf_low``).
    threshold
        Smallest publishable count (default 5).

    Returns
    -------
    polars.DataFrame
        The table with suppressed values set to null and a Boolean column ``suppressed``.

    Examples
    --------
    >>> t = pl.DataFrame({"region": ["A", "A", "B", "B"], "sex": ["f", "m", "f", "m"],
    ...                   "n": [3, 40, 25, 31], "share": [0.1, 0.5, 0.4, 0.6]})
    >>> out = suppress(t, ["n"], margins=[["region"]])
    >>> out["suppressed"].to_list()
    [True, True, False, False]
    >>> out["n"].to_list()
    [None, None, 25, 31]
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    counts = list(counts) if counts is not None else count_columns(table.columns)
    if not counts:
        raise ValueError(
            f"no count columns to protect among {table.columns}; name them (counts=[...])"
        )
    missing = [c for c in counts if c not in table.columns]
    group_cols = sorted({c for m in margins for c in m})
    missing += [c for c in group_cols if c not in table.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    if dependent is None:
        dependent = [
            c
            for c, dt in table.schema.items()
            if dt.is_numeric() and c not in counts and c not in group_cols
        ]
    work = table.with_row_index("_row").with_columns(
        _sup=pl.any_horizontal([_small(c, threshold) for c in counts]),
        _size=pl.min_horizontal([pl.col(c) for c in counts]),
    )
    for _ in range(100):
        changed = False
        for margin in margins:
            m = list(margin)
            stats = work.group_by(m).agg(
                n_sup=pl.col("_sup").sum(),
                n_rows=pl.len(),
            )
            lone = stats.filter((pl.col("n_sup") == 1) & (pl.col("n_rows") > 1)).select(m)
            if lone.height == 0:
                continue
            cand = (
                work.join(lone, on=m, how="semi")
                .filter(~pl.col("_sup"))
                .sort([*m, "_size", "_row"])
                .group_by(m, maintain_order=True)
                .first()
                .select("_row")
            )
            if cand.height:
                work = work.with_columns(
                    _sup=pl.col("_sup") | pl.col("_row").is_in(cand["_row"].implode())
                )
                changed = True
        if not changed:
            break
    blank = [*counts, *[c for c in dependent if c in table.columns]]
    return work.with_columns(
        [pl.when(pl.col("_sup")).then(None).otherwise(pl.col(c)).alias(c) for c in blank]
    ).select([*table.columns, pl.col("_sup").alias("suppressed")])
