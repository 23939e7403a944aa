"""Small helpers shared by the inequality and the cancer/non-cancer analyses (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from paleval.codes.vocabulary import BOOLEAN_LEVELS, LEVEL_ORDER, MISSING_LEVELS
from paleval.plots import label
from paleval.stats import ConvergenceError, NotEstimableError, proportion_ci

__all__: list[str] = []

# MISSING_LEVELS, LEVEL_ORDER and BOOLEAN_LEVELS are defined in paleval.codes.vocabulary
# (imported above for the helpers below and the analyses that use them).


def with_female(frame: pl.DataFrame) -> pl.DataFrame:
    """(Re)derive ``female`` from ``sex`` ("female" or "2") when ``sex`` is present.

    The cohort's own ``female`` flag is not trusted: it must agree with ``sex`` whatever code
    the sex column uses.

    Examples
    --------
    >>> with_female(pl.DataFrame({"sex": ["female", "male", "2"]}))["female"].to_list()
    [True, False, True]
    """
    if "sex" not in frame.columns:
        return frame
    return frame.with_columns(female=pl.col("sex").cast(pl.String).is_in(["female", "2"]))


def factor_levels(frame: pl.DataFrame, col: str) -> pl.Expr:
    """``col`` as a String factor: Booleans named by :data:`BOOLEAN_LEVELS` (else no/yes),
    numbers as text, nulls as ``"missing"``.

    Examples
    --------
    >>> d = pl.DataFrame({"living_alone": [True, False, None], "q": [1, None, 4]})
    >>> d.select(factor_levels(d, "living_alone"), factor_levels(d, "q")).rows()
    [('living_alone', '1'), ('cohabiting', 'missing'), ('missing', '4')]
    """
    dtype = frame.schema[col]
    if dtype == pl.Boolean:
        no, yes = BOOLEAN_LEVELS.get(col, ("no", "yes"))
        expr = pl.when(pl.col(col)).then(pl.lit(yes)).otherwise(pl.lit(no))
        expr = pl.when(pl.col(col).is_null()).then(pl.lit("missing")).otherwise(expr)
    else:
        expr = pl.col(col).cast(pl.String)
    return expr.fill_null("missing").alias(col)


def ordered_levels(factor: str, present: Sequence[str]) -> list[str]:
    """The levels in ``present`` in display order: known order, else sorted; missing last.

    Examples
    --------
    >>> ordered_levels("education", ["unknown", "long_higher", "lower_secondary"])
    ['lower_secondary', 'long_higher', 'unknown']
    """
    present = list(dict.fromkeys(present))
    known = LEVEL_ORDER.get(factor, [])
    head = [v for v in known if v in present]
    rest = sorted(v for v in present if v not in known and v not in MISSING_LEVELS)
    tail = sorted(v for v in present if v in MISSING_LEVELS and v not in known)
    return head + rest + tail


def level_label(factor: str, level: Any, lang: str = "en") -> str:
    """Display label of a factor level (income quantiles as ``Q1``...).

    Examples
    --------
    >>> level_label("income_quartile", "4"), level_label("education", "long_higher")
    ('Q4', 'Long higher')
    """
    if factor in ("income_quartile", "income_quintile") and str(level).isdigit():
        return f"Q{level}"
    return label(level, lang)


def select_population(
    frame: pl.DataFrame, population: str | pl.Expr, notes: list[str]
) -> tuple[pl.DataFrame, str]:
    """Filter to ``population`` ("all", "cancer", "noncancer" or a Boolean expression).

    Appends a counted note of the persons outside the population; returns the frame and a
    description.
    """
    if isinstance(population, pl.Expr):
        keep, what = population, "persons selected by the population expression"
    elif population == "all":
        return frame, "all adult decedents"
    elif population in ("cancer", "noncancer"):
        if "cancer" not in frame.columns:
            raise ValueError(f"population={population!r} needs the cohort column 'cancer'")
        keep = pl.col("cancer") if population == "cancer" else ~pl.col("cancer")
        what = "adult cancer decedents" if population == "cancer" else "adult non-cancer decedents"
    else:
        raise ValueError(
            f"population must be 'all', 'cancer', 'noncancer' or a polars expression, "
            f"got {population!r}"
        )
    out = frame.filter(keep.fill_null(False))
    notes.append(f"{frame.height - out.height:,} persons outside the population ({what}) left out")
    return out, what


def share_table(
    frame: pl.DataFrame, by: Sequence[str], value: pl.Expr, conf_level: float = 0.95
) -> pl.DataFrame:
    """Persons (``n``), ``events`` and their share with a Wilson CI per group of ``by``.

    ``value`` is a Boolean expression; rows where it is null are not counted.

    Examples
    --------
    >>> d = pl.DataFrame({"g": ["a", "a", "b"], "y": [True, False, None]})
    >>> share_table(d, ["g"], pl.col("y")).select("g", "n", "events").rows()
    [('a', 2, 1)]
    """
    counted = (
        frame.with_columns(_v=value)
        .filter(pl.col("_v").is_not_null())
        .group_by(list(by), maintain_order=True)
        .agg(n=pl.len().cast(pl.Int64), events=pl.col("_v").cast(pl.Int64).sum())
    )
    if counted.height == 0:
        return counted.with_columns(
            estimate=pl.lit(None, pl.Float64),
            conf_low=pl.lit(None, pl.Float64),
            conf_high=pl.lit(None, pl.Float64),
        )
    ci = proportion_ci(counted["events"], counted["n"], conf_level=conf_level)
    return counted.with_columns(
        estimate=ci["estimate"], conf_low=ci["conf_low"], conf_high=ci["conf_high"]
    )


def fit_or_note(fit: Any, notes: list[str], what: str) -> Any:
    """Run ``fit()``; a model the data do not identify becomes a note and ``None``.

    Caught by type: :class:`~paleval.stats.NotEstimableError` (empty level, no events,
    separation, singular design) is noted as "not estimable",
    :class:`~paleval.stats.ConvergenceError` as "did not converge"; any other error (a bad
    argument, a missing column) propagates.

    Examples
    --------
    >>> from paleval.stats import NotEstimableError
    >>> def no_events():
    ...     raise NotEstimableError("outcome has no events")
    >>> notes = []
    >>> fit_or_note(no_events, notes, "adjusted model") is None, notes
    (True, ['adjusted model: not estimable (outcome has no events)'])
    """
    try:
        return fit()
    except NotEstimableError as exc:
        notes.append(f"{what}: not estimable ({exc})")
    except ConvergenceError as exc:
        notes.append(f"{what}: model did not converge ({exc})")
    return None


def drop_separated(
    frame: pl.DataFrame,
    cols: Sequence[str],
    notes: list[str],
    what: str,
    outcome: str = "_event",
) -> pl.DataFrame:
    """Leave out persons in levels of categorical ``cols`` with no or only events (levels
    whose odds ratio is not finite: separation), repeated until none is left; noted."""
    cat = [c for c in cols if frame.schema[c] in (pl.String, pl.Boolean)]
    dropped: list[str] = []
    n0 = frame.height
    for _ in range(10):
        bad = []
        for c in cat:
            # sorted: group_by's order varies from run to run, and the note must not
            lv = frame.group_by(c).agg(e=pl.col(outcome).sum(), n=pl.len()).sort(c)
            lv = lv.filter((pl.col("e") == 0) | (pl.col("e") == pl.col("n")))
            if lv.height and lv.height < frame[c].n_unique():
                bad.append((c, lv[c].to_list()))
        if not bad:
            break
        for c, levels in bad:
            frame = frame.filter(~pl.col(c).is_in(levels))
            dropped += [f"{c}={v}" for v in levels]
    if dropped:
        notes.append(
            f"{what}: {n0 - frame.height:,} persons in level(s) with no or only events left out "
            f"(odds ratio not finite): {', '.join(dropped)}"
        )
    return frame


def as_frame(data: pl.DataFrame | pl.LazyFrame | Any) -> pl.DataFrame:
    """Accept a DataFrame, a LazyFrame or a paleval Cohort; collect with the streaming engine.

    Examples
    --------
    >>> as_frame(pl.LazyFrame({"a": [1, 2]})).height
    2
    """
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect(engine="streaming")
    frame = getattr(data, "frame", None)
    if isinstance(frame, pl.LazyFrame):
        return frame.collect(engine="streaming")
    raise TypeError(
        f"expected a polars DataFrame/LazyFrame or a paleval Cohort, got {type(data).__name__}"
    )
