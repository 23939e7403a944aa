"""Direct and indirect (age/sex) standardisation of proportions and rates.

References
----------
Fay MP, Feuer EJ (1997). Confidence intervals for directly standardized rates: a method
based on the gamma distribution. Statistics in Medicine 16:791-801.

Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol. II (indirect
standardisation, SMR/SIR with exact Poisson limits).

Eurostat (2013). Revision of the European Standard Population: report of Eurostat's task
force. Methodologies and Working papers, Luxembourg: Publications Office of the European
Union (the 2013 European Standard Population, :func:`european_standard_population`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from paleval.stats.lexis import age_band_labels

__all__ = ["direct_standardise", "european_standard_population", "indirect_standardise"]


def european_standard_population(bands: Sequence[float] | None = None) -> pl.DataFrame:
    """The 2013 European Standard Population (ESP2013), optionally in coarser age bands.

    ESP2013 (Eurostat, *Revision of the European Standard Population*, 2013) gives 100,000
    persons in the age groups 0, 1-4, 5-9, ..., 90-94, 95+; it is bundled as
    ``paleval/stats/data/esp2013.csv``.

    Parameters
    ----------
    bands
        Lower age limits of the bands wanted (as for :func:`paleval.stats.lexis_split`), each
        one of ESP2013's limits (0, 1, 5, 10, ..., 95). Ages below ``bands[0]`` are left out (the
        standard then covers the ages studied). ``None``: the 21 ESP2013 groups.

    Returns
    -------
    polars.DataFrame
        ``age_lower`` (float, the join key of :func:`paleval.stats.person_time_table`'s table),
        ``age_upper`` (``inf`` for the last band), ``age_band`` (label) and ``population``.

    Raises
    ------
    ValueError
        A band limit that is not an ESP2013 limit.

    Examples
    --------
    >>> european_standard_population()["population"].sum()
    100000
    >>> european_standard_population([65, 75, 85]).rows()
    [(65.0, 75.0, '65-74', 10500), (75.0, 85.0, '75-84', 6500), (85.0, inf, '85+', 2500)]
    """
    path = resources.files("paleval.stats") / "data" / "esp2013.csv"
    with resources.as_file(path) as f:
        esp = pl.read_csv(f, schema_overrides={"age_band": pl.String})
    esp = esp.with_columns(
        pl.col("age_lower").cast(pl.Float64),
        pl.col("age_upper").cast(pl.Float64).fill_null(math.inf),
    )
    if bands is None:
        return esp
    labels = age_band_labels(bands)
    b = [float(x) for x in bands]
    limits = set(esp["age_lower"].to_list())
    bad = [x for x in b if x not in limits]
    if bad:
        raise ValueError(
            f"bands {bad} are not ESP2013 age limits (0, 1, 5, 10, ..., 95); choose bands "
            "made of whole ESP2013 age groups"
        )
    k = pl.sum_horizontal([(pl.col("age_lower") >= x).cast(pl.Int32) for x in b])
    uppers = [*b[1:], math.inf]
    idx = list(range(1, len(b) + 1))
    return (
        esp.with_columns(k.alias("_k"))
        .filter(pl.col("_k") > 0)
        .group_by("_k")
        .agg(pl.col("population").sum())
        .sort("_k")
        .select(
            pl.col("_k").replace_strict(idx, b, return_dtype=pl.Float64).alias("age_lower"),
            pl.col("_k").replace_strict(idx, uppers, return_dtype=pl.Float64).alias("age_upper"),
            pl.col("_k").replace_strict(idx, labels[1:], return_dtype=pl.String).alias("age_band"),
            "population",
        )
    )


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def _require(frame: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {missing} not found")


def _check_counts(frame: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    """Counts must be present, finite and non-negative."""
    for c in cols:
        s = frame[c]
        if s.null_count():
            raise ValueError(f"{what}: column {c!r} has {s.null_count()} missing value(s)")
        if not s.dtype.is_numeric():
            raise ValueError(f"{what}: column {c!r} must be numeric, got {s.dtype}")
        v = s.cast(pl.Float64).to_numpy()
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            raise ValueError(
                f"{what}: column {c!r} has {int(bad.sum())} negative or non-finite value(s)"
            )


def _check_integer(frame: pl.DataFrame, col: str) -> None:
    """Event counts must be whole numbers (Poisson counts)."""
    v = frame[col].cast(pl.Float64).to_numpy()
    bad = v != np.round(v)
    if bad.any():
        raise ValueError(
            f"data: column {col!r} has {int(bad.sum())} non-integer value(s) (e.g. "
            f"{v[bad][:3].tolist()}); direct standardisation needs event counts (its variance and "
            "the Fay-Feuer gamma limits assume Poisson counts)"
        )


def _check_strata_nulls(frame: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    for c in cols:
        k = frame[c].null_count()
        if k:
            raise ValueError(f"{what}: column {c!r} has {k} missing value(s)")


def _check_strata_types(
    data: pl.DataFrame, other: pl.DataFrame, strata: Sequence[str], what: str
) -> None:
    for c in strata:
        if data.schema[c] != other.schema[c]:
            raise ValueError(
                f"stratum column {c!r} has type {data.schema[c]} in data but "
                f"{other.schema[c]} in {what}"
            )


def _z(conf_level: float) -> float:
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def direct_standardise(
    data: pl.DataFrame,
    events: str,
    n: str,
    strata: str | Sequence[str],
    standard: pl.DataFrame,
    weight: str = "population",
    by: str | Sequence[str] | None = None,
    method: Literal["gamma", "normal"] = "gamma",
    conf_level: float = 0.95,
    per: float = 1.0,
) -> pl.DataFrame:
    """Directly standardised proportions (rates) per group.

    The standardised estimate for a group is ``sum_s w_s x_s / n_s`` with standard
    weights ``w_s = W_s / sum(W)`` over strata ``s`` (e.g. age band x sex). Its
    variance is the Poisson-based ``v = sum_s w_s^2 x_s / n_s^2``, as in R
    ``epitools::ageadjust.direct``.

    With person-years as ``n`` these are directly standardised rates (Poisson counts over
    person-time, as ``ageadjust.direct`` with ``pop`` = person-years); ``per`` scales the
    crude rate, the estimate, its SE and CI (e.g. ``per=1000`` for rates per 1,000
    person-years). The standard may be :func:`european_standard_population`.

    Confidence interval:

    * ``method="gamma"`` (default) — Fay & Feuer (1997):
      lower = ``Gamma(shape = y^2/v, scale = v/y)`` quantile ``alpha/2``, upper =
      ``Gamma(shape = (y + w_M)^2/(v + w_M^2), scale = (v + w_M^2)/(y + w_M))``
      quantile ``1 - alpha/2`` with ``w_M = max_s w_s/n_s``; the lower limit is 0 when
      there are no events (where epitools returns NA). Otherwise identical to
      ``epitools::ageadjust.direct``.
    * ``method="normal"`` — ``y +/- z sqrt(v)`` (may extend below 0).

    Parameters
    ----------
    data
        Stratum counts: one or more rows per group x stratum with event and denominator
        columns (rows with the same group x stratum are summed).
    events, n
        Column names of the event counts and denominators in ``data``.
    strata
        Stratum column(s), present in both ``data`` and ``standard``.
    standard
        Standard population: one row per stratum with the ``weight`` column (counts or
        proportions; they are normalised to sum to 1).
    weight
        Weight column in ``standard``.
    by
        Group column(s) in ``data``; ``None`` for a single group.
    method
        ``"gamma"`` or ``"normal"``.
    conf_level
        Confidence level.
    per
        Multiplier of the rates (1 for proportions or rates per unit of ``n``; 1000 for rates
        per 1,000 person-years when ``n`` is in person-years).

    Returns
    -------
    polars.DataFrame
        One row per group: ``by...`` columns, ``events, n, n_strata, crude, estimate,
        std_error, conf_low, conf_high, method`` (rates per ``per``).

    Raises
    ------
    ValueError
        Missing columns or values, negative counts, non-integer events (the variance and the
        gamma limits assume Poisson counts), ``per`` not positive, duplicated strata in
        ``standard``,
        strata of ``data`` absent from ``standard``, or a group lacking (or with zero
        denominator in) a stratum that has positive standard weight.

    Examples
    --------
    >>> d = pl.DataFrame({"age": ["<70", "70+", "<70", "70+"], "region": ["N", "N", "S", "S"],
    ...                   "deaths_home": [10, 40, 5, 60], "n": [100, 200, 50, 400]})
    >>> std = pl.DataFrame({"age": ["<70", "70+"], "population": [600, 400]})
    >>> out = direct_standardise(d, "deaths_home", "n", "age", std, by="region")
    >>> out.select("region", "estimate").sort("region")
    shape: (2, 2)
    ┌────────┬──────────┐
    │ region ┆ estimate │
    │ ---    ┆ ---      │
    │ str    ┆ f64      │
    ╞════════╪══════════╡
    │ N      ┆ 0.14     │
    │ S      ┆ 0.12     │
    └────────┴──────────┘
    """
    strata_l = _as_list(strata)
    by_l = _as_list(by)
    if not strata_l:
        raise ValueError("at least one stratum column is required")
    _require(data, [events, n, *strata_l, *by_l], "data")
    _require(standard, [*strata_l, weight], "standard")
    _check_counts(data, [events, n], "data")
    _check_counts(standard, [weight], "standard")
    _check_strata_nulls(data, [*strata_l, *by_l], "data")
    _check_strata_nulls(standard, strata_l, "standard")
    if method not in ("gamma", "normal"):
        raise ValueError(f"method must be 'gamma' or 'normal', got {method!r}")
    _check_integer(data, events)
    if not (isinstance(per, int | float) and math.isfinite(per) and per > 0):
        raise ValueError(f"per must be a positive number, got {per!r}")
    dup = standard.select(strata_l).is_duplicated().sum()
    if dup:
        raise ValueError(f"standard: {dup} row(s) with duplicated strata")
    total_w = float(standard[weight].sum())
    if total_w <= 0:
        raise ValueError("standard: weights sum to zero")

    _check_strata_types(data, standard, strata_l, "standard")
    gcols = by_l if by_l else ["_group"]
    agg = (
        (data if by_l else data.with_columns(pl.lit(0).alias("_group")))
        .group_by([*gcols, *strata_l])
        .agg(
            pl.col(events).cast(pl.Float64).sum().alias("_x"),
            pl.col(n).cast(pl.Float64).sum().alias("_n"),
        )
    )
    std = standard.select(*strata_l, (pl.col(weight).cast(pl.Float64) / total_w).alias("_w"))
    unknown = agg.join(std, on=strata_l, how="anti")
    if unknown.height:
        raise ValueError(
            f"data: {unknown.height} group x stratum row(s) with strata not in standard"
        )
    # full grid of groups x strata with positive standard weight
    groups = agg.select(gcols).unique()
    grid = groups.join(std.filter(pl.col("_w") > 0), how="cross").join(
        agg, on=[*gcols, *strata_l], how="left"
    )
    bad = grid.filter(pl.col("_n").is_null() | (pl.col("_n") <= 0))
    if bad.height:
        raise ValueError(
            f"data: {bad.height} group x stratum combination(s) with positive standard weight "
            f"have no denominator ({n} missing or 0); the standardised rate is undefined"
        )
    out = (
        grid.group_by(gcols, maintain_order=True)
        .agg(
            pl.col("_x").sum().alias("events"),
            pl.col("_n").sum().alias("n"),
            pl.len().alias("n_strata"),
            (pl.col("_w") * pl.col("_x") / pl.col("_n")).sum().alias("estimate"),
            (pl.col("_w") ** 2 * pl.col("_x") / pl.col("_n") ** 2).sum().alias("_v"),
            (pl.col("_w") / pl.col("_n")).max().alias("_wm"),
        )
        .sort(gcols)
    )
    y = out["estimate"].to_numpy()
    v = out["_v"].to_numpy()
    wm = out["_wm"].to_numpy()
    alpha = 1.0 - conf_level
    z = _z(conf_level)
    if method == "gamma":
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(y > 0, stats.gamma.ppf(alpha / 2, a=y**2 / v, scale=v / y), 0.0)
        high = stats.gamma.ppf(
            1 - alpha / 2, a=(y + wm) ** 2 / (v + wm**2), scale=(v + wm**2) / (y + wm)
        )
    else:
        low = y - z * np.sqrt(v)
        high = y + z * np.sqrt(v)
    res = out.with_columns(
        (pl.col("events") / pl.col("n") * per).alias("crude"),
        pl.col("estimate") * per,
        pl.Series("std_error", np.sqrt(v) * per),
        pl.Series("conf_low", low * per),
        pl.Series("conf_high", high * per),
        pl.lit(method).alias("method"),
        pl.col("events").cast(pl.Int64),
        pl.col("n").cast(pl.Int64) if data[n].dtype.is_integer() else pl.col("n"),
    ).select(
        *by_l,
        "events",
        "n",
        "n_strata",
        "crude",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "method",
    )
    return res


def _poisson_test_p(x: int, m: float) -> float:
    """Two-sided exact Poisson p-value for ``H0: E[X] = m``, as R ``poisson.test``."""
    if m <= 0:
        return 1.0 if x == 0 else 0.0
    rel = 1 + 1e-7
    d = stats.poisson.pmf(x, m)
    if x == m:
        return 1.0
    if x < m:
        big = int(np.ceil(2 * m - x))
        while stats.poisson.pmf(big, m) > d:
            big *= 2
        i = np.arange(int(np.ceil(m)), big + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel))
        p = stats.poisson.cdf(x, m) + stats.poisson.sf(big - y, m)
    else:
        i = np.arange(0, int(np.floor(m)) + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel))
        p = stats.poisson.cdf(y - 1, m) + stats.poisson.sf(x - 1, m)
    return float(min(1.0, p))


def indirect_standardise(
    data: pl.DataFrame,
    events: str,
    n: str,
    strata: str | Sequence[str],
    reference: pl.DataFrame,
    by: str | Sequence[str] | None = None,
    reference_events: str | None = "events",
    reference_n: str | None = "n",
    reference_rate: str | None = None,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Indirect standardisation: observed/expected ratio (SMR/SIR-type) per group.

    Expected counts are ``E = sum_s n_s r_s`` with stratum-specific reference rates
    ``r_s``; the ratio is ``O/E`` with the exact Poisson interval of Garwood
    (``qgamma(alpha/2, O)/E``, ``qgamma(1 - alpha/2, O + 1)/E``) and the two-sided exact
    p-value of ``H0: ratio = 1``, both identical to R ``poisson.test(O, E)``.
    The indirectly standardised rate is ``ratio x crude reference rate`` (crude
    reference rate = ``sum(reference events)/sum(reference n)``), with the ratio's CI
    scaled likewise.

    Parameters
    ----------
    data
        Stratum counts of the study groups (rows with the same group x stratum are summed).
    events, n
        Event and denominator columns in ``data``.
    strata
        Stratum column(s), present in both ``data`` and ``reference``.
    reference
        Reference population, one row per stratum, with either ``reference_events`` and
        ``reference_n`` columns, or a ``reference_rate`` column (and optionally
        ``reference_n`` to define the crude reference rate).
    by
        Group column(s) in ``data``; ``None`` for a single group.
    reference_events, reference_n, reference_rate
        Column names in ``reference``. If ``reference_rate`` is given it is used as
        ``r_s``; otherwise ``r_s = events/n``.
    conf_level
        Confidence level.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``observed, n, expected, estimate`` (the ratio), ``std_error``
        (``sqrt(O)/E``), ``conf_low, conf_high, p_value, reference_crude`` and
        ``isr, isr_low, isr_high`` (null when the crude reference rate is unknown).

    Examples
    --------
    >>> ref = pl.DataFrame({"age": ["<70", "70+"], "events": [100, 300], "n": [1000, 1000]})
    >>> d = pl.DataFrame({"age": ["<70", "70+"], "events": [15, 30], "n": [100, 100]})
    >>> out = indirect_standardise(d, "events", "n", "age", ref)
    >>> out.select("observed", "expected", "estimate", "isr").row(0)
    (45, 40.0, 1.125, 0.225)
    """
    strata_l = _as_list(strata)
    by_l = _as_list(by)
    if not strata_l:
        raise ValueError("at least one stratum column is required")
    _require(data, [events, n, *strata_l, *by_l], "data")
    _check_counts(data, [events, n], "data")
    _check_strata_nulls(data, [*strata_l, *by_l], "data")
    if reference_rate is not None:
        rcols = [reference_rate] + ([reference_n] if reference_n else [])
        _require(reference, [*strata_l, reference_rate], "reference")
        rcols = [c for c in rcols if c in reference.columns]
        _check_counts(reference, rcols, "reference")
        ref = reference.select(*strata_l, pl.col(reference_rate).cast(pl.Float64).alias("_r"))
        if reference_n and reference_n in reference.columns:
            rn = reference[reference_n].cast(pl.Float64).to_numpy()
            rr = ref["_r"].to_numpy()
            crude_ref = float(np.sum(rr * rn) / np.sum(rn))
        else:
            crude_ref = None
    else:
        if reference_events is None or reference_n is None:
            raise ValueError("give reference_rate or both reference_events and reference_n")
        _require(reference, [*strata_l, reference_events, reference_n], "reference")
        _check_counts(reference, [reference_events, reference_n], "reference")
        zero = int((reference[reference_n] <= 0).sum())
        if zero:
            raise ValueError(f"reference: column {reference_n!r} has {zero} row(s) <= 0")
        ref = reference.select(
            *strata_l,
            (pl.col(reference_events).cast(pl.Float64) / pl.col(reference_n)).alias("_r"),
        )
        crude_ref = float(reference[reference_events].sum() / reference[reference_n].sum())
    _check_strata_nulls(reference, strata_l, "reference")
    dup = ref.select(strata_l).is_duplicated().sum()
    if dup:
        raise ValueError(f"reference: {dup} row(s) with duplicated strata")

    _check_strata_types(data, reference, strata_l, "reference")
    d = data if by_l else data.with_columns(pl.lit(0).alias("_group"))
    gcols = by_l if by_l else ["_group"]
    joined = d.join(ref, on=strata_l, how="left")
    unk = joined.filter(pl.col("_r").is_null() & (pl.col(n) > 0)).height
    if unk:
        raise ValueError(f"data: {unk} row(s) with strata not in reference")
    out = (
        joined.group_by(gcols, maintain_order=True)
        .agg(
            pl.col(events).sum().cast(pl.Int64).alias("observed"),
            pl.col(n).sum().alias("n"),
            (pl.col(n).cast(pl.Float64) * pl.col("_r").fill_null(0.0)).sum().alias("expected"),
        )
        .sort(gcols)
    )
    o = out["observed"].to_numpy().astype(float)
    e = out["expected"].to_numpy()
    alpha = 1.0 - conf_level
    _z(conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = o / e
        low = np.where(o > 0, stats.gamma.ppf(alpha / 2, np.maximum(o, 1e-300)), 0.0) / e
        high = stats.gamma.ppf(1 - alpha / 2, o + 1) / e
        se = np.sqrt(o) / e
    pval = np.array([_poisson_test_p(int(oi), float(ei)) for oi, ei in zip(o, e, strict=True)])
    cr = crude_ref if crude_ref is not None else None
    res = out.with_columns(
        pl.Series("estimate", ratio),
        pl.Series("std_error", se),
        pl.Series("conf_low", low),
        pl.Series("conf_high", high),
        pl.Series("p_value", pval),
        pl.lit(cr, dtype=pl.Float64).alias("reference_crude"),
    ).with_columns(
        (pl.col("estimate") * pl.col("reference_crude")).alias("isr"),
        (pl.col("conf_low") * pl.col("reference_crude")).alias("isr_low"),
        (pl.col("conf_high") * pl.col("reference_crude")).alias("isr_high"),
    )
    return res.select(
        *by_l,
        "observed",
        "n",
        "expected",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "p_value",
        "reference_crude",
        "isr",
        "isr_low",
        "isr_high",
    )
