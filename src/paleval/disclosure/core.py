"""Statistical disclosure control for exported tables: no cell based on fewer than 5 persons.

Statistics Denmark's rule for results leaving a research server is that no table cell may be
based on fewer than 5 persons (1-4; zero is not a disclosure), directly or by combining
published numbers. :func:`suppress` applies primary suppression to every count below the
threshold and secondary suppression over the table's declared relations (margins,
complements, sequences; :mod:`paleval.disclosure.model`) until no suppressed count can be
recovered. Values that derive from a suppressed count (percentages, estimates, confidence
limits, medians) are blanked with it. :func:`check_output` (in :mod:`paleval.disclosure.audit`,
re-exported here) audits an output folder as an output checker would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from paleval.disclosure.audit import DisclosureFinding, check_output
from paleval.disclosure.model import Margin, Protection, Relation, protect

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
    relations: Sequence[Relation] = (),
    dependent: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: int | None = None,
    differences: bool = True,
) -> pl.DataFrame:
    """Suppress small counts, with secondary suppression, and mark what was suppressed.

    A thin front to :func:`paleval.disclosure.model.protect`: ``margins`` are groupings whose
    totals are published or implied (each becomes a :class:`~paleval.disclosure.model.Margin`
    with a known total), ``relations`` further declared relations.

    Parameters
    ----------
    table
        A tidy table, one row per cell.
    counts
        Count columns to protect (default: :func:`count_columns`). A row is suppressed when any
        of its counts is 1 to ``threshold - 1`` (primary), or when one of its counts is needed
        to protect such a count (secondary).
    margins
        Groupings whose totals are published or derivable, e.g. ``[["year"], ["region"]]`` for a
        region x year table with row and column totals.
    relations
        Margins, complements and sequences (see :mod:`paleval.disclosure.model`).
    dependent
        Columns blanked together with the counts (default: every numeric column that is not a
        grouping column, e.g. ``estimate``, ``conf_low``).
    threshold
        Smallest publishable count (default 5).
    rounding
        Round published counts to this base (5 or 10) after suppression.
    differences
        Treat the difference of every pair of counts in a row as a count (default on).

    Returns
    -------
    polars.DataFrame
        The table with suppressed values set to null, a Boolean column ``suppressed`` and a
        String column ``suppression`` (``"primary"``, ``"secondary"`` or null).

    Examples
    --------
    >>> t = pl.DataFrame({"region": ["A", "A", "B", "B"], "sex": ["f", "m", "f", "m"],
    ...                   "n": [3, 40, 25, 31], "share": [0.1, 0.5, 0.4, 0.6]})
    >>> out = suppress(t, ["n"], margins=[["region"]])
    >>> out["suppressed"].to_list()
    [True, True, False, False]
    >>> out["suppression"].to_list()
    ['primary', 'secondary', None, None]
    >>> out["n"].to_list()
    [None, None, 25, 31]
    """
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
    base = table.drop("suppressed", "suppression", strict=False)
    if dependent is None:
        keep = tuple(group_cols)
    else:
        keep = tuple(
            c
            for c, dt in base.schema.items()
            if dt.is_numeric() and c not in counts and c not in dependent
        )
    rels = [Margin(tuple(m)) for m in margins] + list(relations)
    return protect(
        base,
        Protection(tuple(counts), rels, keep=keep, differences=differences),
        threshold=threshold,
        rounding=rounding,
    )
