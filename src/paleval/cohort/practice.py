"""Practice-level exposure: each general practice's home-visit propensity.

As in the Danish national cohort study of GP home visits and place of death (Palliative
Medicine 2018;32(2):376-383, doi:10.1177/0269216317727387): the propensity is the practice's
indirectly standardised (age, sex) rate of GP home visits among its listed patients aged 40 and
over (observed home visits divided by those expected from the rates of all practices
together), and practices are grouped in quartiles of it. paleval adds, as a referee would ask
(issue 13):

- **timing**: for a person who died in year ``T`` the propensity is measured in the
  ``lookback_years`` calendar years before ``T`` (default 3: ``T-3 .. T-1``), so nothing
  after death, and no calendar-year mismatch, enters the exposure
  (:func:`practice_propensity_before_death`);
- **denominators in person-time**: everybody listed with the practice and alive in BEF at the
  start of the year contributes the days they were listed, up to death, so decedents and
  their end-of-life visits count (the old year-end residents left them out);
- **empirical-Bayes shrinkage** of the O/E ratios with a gamma prior (Poisson-gamma model;
  Clayton & Kaldor, Biometrics 1987;43:671-681; moment estimator of Marshall, Appl Stat
  1991;40:283-294; or maximum likelihood of the negative-binomial marginal), so small practices
  are not put in the extreme quartiles by chance;
- **quartiles weighted by list size** (person-years): each quartile holds about a quarter of
  the listed population, not a quarter of the practices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy import optimize, special, stats

from paleval.codes import load_codes
from paleval.registers.normalise import honuge_to_week_start

__all__ = [
    "add_practice_propensity",
    "gamma_poisson_prior",
    "practice_home_visit_propensity",
    "practice_propensity_before_death",
    "weighted_quartiles",
]

DAYS_PER_YEAR = 365.25
SHRINKAGE = ("moments", "ml", "none")


# ---------------------------------------------------------------------------------------
# statistics (no register knowledge)
# ---------------------------------------------------------------------------------------
def gamma_poisson_prior(
    observed: np.ndarray, expected: np.ndarray, method: str = "moments"
) -> tuple[float, float]:
    """Gamma prior ``(shape a, rate b)`` of the relative rates ``theta_i`` in
    ``O_i ~ Poisson(theta_i E_i)``, ``theta_i ~ Gamma(a, b)``.

    ``"moments"``: Marshall's (1991) global moment estimator: prior mean
    ``m = sum O / sum E``, prior variance ``s2 = sum E_i (r_i - m)^2 / sum E_i - m / mean(E)``
    (``r_i = O_i/E_i``); ``a = m^2/s2``, ``b = m/s2``. ``"ml"``: maximum likelihood of the
    negative-binomial marginal of ``O_i``. When the between-practice variance is not
    positive the prior is a point mass at ``m`` (returned as ``a = b = inf``): every
    practice is shrunk to ``m``. The posterior of ``theta_i`` is ``Gamma(a + O_i, b + E_i)``.

    Examples
    --------
    >>> a, b = gamma_poisson_prior(np.array([10, 30, 20, 40]), np.array([20.0, 20, 20, 20]))
    >>> round(a / b, 6)  # the prior mean: sum O / sum E
    1.25
    """
    o = np.asarray(observed, float)
    e = np.asarray(expected, float)
    ok = e > 0
    o, e = o[ok], e[ok]
    if o.size == 0 or e.sum() <= 0:
        raise ValueError("the prior needs at least one group with expected > 0")
    m = o.sum() / e.sum()
    if method == "moments":
        r = o / e
        s2 = float(np.sum(e * (r - m) ** 2) / e.sum() - m / e.mean())
        if not (s2 > 0 and m > 0):
            return float("inf"), float("inf")
        return float(m * m / s2), float(m / s2)
    if method == "ml":
        if m <= 0:
            return float("inf"), float("inf")

        def nll(p: np.ndarray) -> float:
            a, b = np.exp(p)
            ll = (
                special.gammaln(a + o)
                - special.gammaln(a)
                - special.gammaln(o + 1)
                + a * np.log(b / (b + e))
                + o * np.log(e / (b + e))
            )
            return -float(ll.sum())

        a0, b0 = gamma_poisson_prior(o, e, "moments")
        start = np.log([a0, b0]) if np.isfinite(a0) else np.log([100.0, 100.0 / m])
        fit = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8})
        a, b = np.exp(fit.x)
        if a > 1e8:  # no between-group variance: the point-mass limit
            return float("inf"), float("inf")
        return float(a), float(b)
    raise ValueError(f"method must be 'moments' or 'ml', got {method!r}")


def weighted_quartiles(estimate: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Quartiles (1-4) of ``estimate`` such that each holds about a quarter of the total
    ``weight`` (e.g. list size): a group is placed by the midpoint of its cumulative weight
    share in the order of ``estimate``; ties share a quartile.

    Examples
    --------
    >>> weighted_quartiles(np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 1, 1, 1, 4]))
    array([1, 1, 2, 2, 4], dtype=int8)
    >>> weighted_quartiles(np.array([1.0, 2, 3, 4]), np.ones(4))
    array([1, 2, 3, 4], dtype=int8)
    """
    est = np.asarray(estimate, float)
    w = np.asarray(weight, float)
    if est.shape != w.shape or np.any(~np.isfinite(est)) or np.any(w < 0):
        raise ValueError("weighted_quartiles needs finite estimates and non-negative weights")
    if est.size == 0:
        return np.zeros(0, np.int8)
    values, inverse = np.unique(est, return_inverse=True)
    tie_w = np.bincount(inverse, weights=w, minlength=values.size)
    cum_end = np.cumsum(tie_w)
    total = cum_end[-1]
    if total <= 0:
        raise ValueError("weighted_quartiles needs a positive total weight")
    mid = cum_end - tie_w / 2
    q = np.minimum(np.floor(4 * mid / total).astype(np.int64) + 1, 4)
    return q[inverse].astype(np.int8)


# ---------------------------------------------------------------------------------------
# registers -> yearly strata
# ---------------------------------------------------------------------------------------
def _yearly_strata(
    registers: Mapping[str, pl.LazyFrame],
    years: Sequence[int],
    *,
    min_age: int,
    age_width: int,
) -> pl.DataFrame:
    """Home visits and person-years by practice x calendar year x sex x age band."""
    for key in ("bef", "tilknytning", "sssy", "dod"):
        if key not in registers:
            raise KeyError(f"the practice propensity needs the register {key!r}")
    years = sorted({int(y) for y in years})
    max_band = (100 - min_age) // age_width
    # at risk in year Y: in BEF at the end of Y-1 (alive and resident on 1 January of Y)
    persons = (
        registers["bef"]
        .filter(pl.col("year").is_in([y - 1 for y in years]))
        .select(
            "PNR",
            year=(pl.col("year") + 1).cast(pl.Int64),
            sex=pl.col("KOEN").cast(pl.String),
            age=(pl.col("year") + 1 - pl.col("FOED_DAG").dt.year()),
        )
        .filter(pl.col("age") >= min_age)
        .with_columns(
            age_band=pl.min_horizontal((pl.col("age") - min_age) // age_width, pl.lit(max_band))
        )
        .drop("age")
        .join(
            registers["dod"].group_by("PNR").agg(_death=pl.col("DODDATO").min()),
            on="PNR",
            how="left",
        )
    )
    jan1 = pl.date(pl.col("year"), 1, 1)
    next_jan1 = pl.date(pl.col("year") + 1, 1, 1)
    far = pl.lit(None, pl.Date)
    spells = (
        persons.join(
            registers["tilknytning"].select("PNR", "YDERNR", "DATO_FRA", "DATO_TIL"),
            on="PNR",
            build_side="force_right",  # the listings: smaller than the person-years
        )
        .with_columns(
            _start=pl.max_horizontal("DATO_FRA", jan1),
            # end (exclusive): end of listing, the day after death, or the next 1 January
            _stop=pl.min_horizontal(
                pl.coalesce("DATO_TIL", far), pl.col("_death") + pl.duration(days=1), next_jan1
            ),
        )
        .filter(pl.col("_stop") > pl.col("_start"))
        .select("PNR", "year", "sex", "age_band", "YDERNR", "_start", "_stop")
    )
    cats = load_codes("gp_services").filter(pl.col("category") == "home_visit")
    periods = load_codes("gp_time_codes").filter(pl.col("period") == "daytime")
    visits = (
        registers["sssy"]
        .filter(
            pl.col("SPECIALE").is_in(cats["SPECIALE"].implode())
            & pl.col("YDLTID").is_in(periods["YDLTID"].implode())
        )
        .with_columns(_date=honuge_to_week_start("HONUGE"))
        .with_columns(year=pl.col("_date").dt.year().cast(pl.Int64))
        .filter(pl.col("year").is_in(years))
        .group_by("PNR", "year", "_date")
        .agg(visits=pl.col("YDLANT").sum())
    )
    # visits counted for the practice the person was listed with in the week of payment
    events = (
        spells.join(visits, on=["PNR", "year"], build_side="force_right")
        .filter((pl.col("_date") >= pl.col("_start")) & (pl.col("_date") < pl.col("_stop")))
        .group_by("YDERNR", "year", "sex", "age_band")
        .agg(events=pl.col("visits").sum())
    )
    time = spells.group_by("YDERNR", "year", "sex", "age_band").agg(
        person_years=((pl.col("_stop") - pl.col("_start")).dt.total_days().sum() / DAYS_PER_YEAR)
    )
    t, ev = pl.collect_all([time, events], engine="streaming")
    keys = ["YDERNR", "year", "sex", "age_band"]
    return (
        t.join(ev, on=keys, how="left")
        .with_columns(pl.col("events").fill_null(0).cast(pl.Int64))
        .sort(keys)
    )


def _standardise_and_shrink(
    strata: pl.DataFrame, group: str, *, shrinkage: str, weights: str, conf_level: float
) -> pl.DataFrame:
    """O/E per (group, practice) against the rates of all practices of the group; EB
    shrinkage and weighted quartiles within each group."""
    ref = strata.group_by(group, "sex", "age_band").agg(
        _rate=pl.col("events").sum() / pl.col("person_years").sum()
    )
    per = (
        strata.join(ref, on=[group, "sex", "age_band"], how="left")
        .group_by(group, "YDERNR")
        .agg(
            observed=pl.col("events").sum(),
            person_years=pl.col("person_years").sum(),
            expected=(pl.col("person_years") * pl.col("_rate")).sum(),
        )
        .filter(pl.col("expected") > 0)
        .sort(group, "YDERNR")
    )
    alpha = 1 - conf_level
    parts = []
    for (_g,), d in per.group_by(group, maintain_order=True):
        o = d["observed"].to_numpy().astype(float)
        e = d["expected"].to_numpy()
        lo = np.where(o > 0, stats.gamma.ppf(alpha / 2, np.maximum(o, 1e-300)) / e, 0.0)
        hi = stats.gamma.ppf(1 - alpha / 2, o + 1) / e
        if shrinkage == "none":
            a = b = float("nan")
            post, plo, phi = o / e, lo, hi
        else:
            a, b = gamma_poisson_prior(o, e, shrinkage)
            if np.isinf(a):
                m = o.sum() / e.sum()
                post = plo = phi = np.full(o.size, m)
            else:
                post = (a + o) / (b + e)
                plo = stats.gamma.ppf(alpha / 2, a + o) / (b + e)
                phi = stats.gamma.ppf(1 - alpha / 2, a + o) / (b + e)
        wq = d["person_years"].to_numpy() if weights == "list_size" else np.ones(o.size)
        parts.append(
            d.with_columns(
                propensity_quartile=pl.Series(weighted_quartiles(post, wq)),
                estimate=pl.Series(o / e),
                conf_low=pl.Series(lo),
                conf_high=pl.Series(hi),
                eb_estimate=pl.Series(post),
                eb_low=pl.Series(plo),
                eb_high=pl.Series(phi),
                prior_shape=pl.lit(a, pl.Float64),
                prior_rate=pl.lit(b, pl.Float64),
            )
        )
    if not parts:
        raise ValueError("no practice with expected home visits > 0")
    out = pl.concat(parts)
    first = [c for c in out.columns if c != "propensity_quartile"]
    return out.select(*first, "propensity_quartile")


def _check(shrinkage: str, weights: str, lookback: int | None = None) -> None:
    if shrinkage not in SHRINKAGE:
        raise ValueError(f"shrinkage must be one of {SHRINKAGE}, got {shrinkage!r}")
    if weights not in ("list_size", "practices"):
        raise ValueError(f"weights must be 'list_size' or 'practices', got {weights!r}")
    if lookback is not None and lookback < 1:
        raise ValueError(f"lookback_years must be 1 or more, got {lookback}")


# ---------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------
def practice_home_visit_propensity(
    registers: Mapping[str, pl.LazyFrame],
    *,
    years: Sequence[int],
    min_age: int = 40,
    age_width: int = 10,
    shrinkage: str = "moments",
    weights: str = "list_size",
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """Indirectly standardised home-visit ratio of every practice over ``years`` (pooled),
    shrunk by empirical Bayes, with list-size-weighted quartiles.

    For a propensity measured before each person's death use
    :func:`practice_propensity_before_death`; this pooled version suits a fixed exposure
    period.

    Person-years: everybody aged ``min_age`` or more (age reached in the year) who is in BEF
    at the end of the year before (alive and resident on 1 January), for the days they were
    listed with the practice (``tilknytning``), up to and including the day of death (DOD).
    Home visits: daytime GP services of category ``home_visit`` (code list ``gp_services``),
    dated by the Monday of the payment week (``HONUGE``), counted for the practice the person
    was listed with on that day. Strata: sex and ``age_width``-year age bands (the last band
    open at 100). Expected = person-years x the stratum rates of all practices together.

    ``shrinkage``: ``"moments"`` (default), ``"ml"`` or ``"none"``
    (:func:`gamma_poisson_prior`); ``weights``: ``"list_size"`` (default: quartiles of
    person-years) or ``"practices"`` (a quarter of the practices each).

    Returns one row per practice: ``YDERNR, observed, person_years, expected, estimate``
    (raw O/E) with its exact Poisson CI ``conf_low, conf_high``, ``eb_estimate, eb_low,
    eb_high`` (posterior mean and interval), ``prior_shape, prior_rate`` and
    ``propensity_quartile`` (1 lowest, 4 highest, of ``eb_estimate``).

    Examples
    --------
    >>> import datetime as dt
    >>> regs = {
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b", "c", "d"], "year": [2014] * 4,
    ...         "FOED_DAG": [dt.date(1950, 1, 1)] * 4, "KOEN": [1, 2, 1, 2]}),
    ...     "tilknytning": pl.LazyFrame({"PNR": ["a", "b", "c", "d"],
    ...         "YDERNR": ["p1", "p1", "p2", "p2"], "DATO_FRA": [dt.date(2000, 1, 1)] * 4,
    ...         "DATO_TIL": [None] * 4}),
    ...     "sssy": pl.LazyFrame({"PNR": ["a", "c"], "HONUGE": ["1520", "1521"],
    ...         "SPECIALE": ["800411", "800411"], "YDLTID": ["1", "1"], "YDLANT": [4, 1]}),
    ...     "dod": pl.LazyFrame({"PNR": ["z"], "DODDATO": [dt.date(2015, 1, 1)]}),
    ... }
    >>> out = practice_home_visit_propensity(regs, years=[2015])
    >>> out.select("YDERNR", "observed", "expected").rows()
    [('p1', 4, 2.5), ('p2', 1, 2.5)]
    """
    _check(shrinkage, weights)
    years = list(years)
    strata = _yearly_strata(registers, years, min_age=min_age, age_width=age_width)
    if strata.height == 0:
        raise ValueError(f"no listed persons aged {min_age}+ in the years {years}")
    out = _standardise_and_shrink(
        strata.with_columns(_all=pl.lit(0)),
        "_all",
        shrinkage=shrinkage,
        weights=weights,
        conf_level=conf_level,
    )
    return out.drop("_all").sort("YDERNR")


def practice_propensity_before_death(
    registers: Mapping[str, pl.LazyFrame],
    *,
    death_years: Sequence[int],
    lookback_years: int = 3,
    min_age: int = 40,
    age_width: int = 10,
    shrinkage: str = "moments",
    weights: str = "list_size",
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """The home-visit propensity of every practice for persons who died in each of
    ``death_years``, measured in the ``lookback_years`` calendar years before the year of death.

    For death year ``T`` the window is ``T - lookback_years .. T - 1`` (whole calendar years,
    so nothing from the year of death or after it). Person-time, visits, strata, the
    standardisation, shrinkage and quartiles are those of
    :func:`practice_home_visit_propensity`, with the reference rates, the prior and the
    quartiles computed separately for each death year. A calendar year in which nobody in the
    whole population has a home visit is taken as not covered by the health insurance
    register and left out of the windows; a death year whose window has no covered year gets
    no rows (the exposure is unknown, not low), and ``window_years`` gives the number of
    covered years used.

    Returns ``death_year, YDERNR, window_years`` and the columns of
    :func:`practice_home_visit_propensity`.

    Examples
    --------
    >>> import datetime as dt
    >>> regs = {
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b"] * 2, "year": [2013, 2013, 2014, 2014],
    ...         "FOED_DAG": [dt.date(1950, 1, 1)] * 4, "KOEN": [1, 1, 1, 1]}),
    ...     "tilknytning": pl.LazyFrame({"PNR": ["a", "b"], "YDERNR": ["p1", "p2"],
    ...         "DATO_FRA": [dt.date(2000, 1, 1)] * 2, "DATO_TIL": [None] * 2}),
    ...     "sssy": pl.LazyFrame({"PNR": ["a", "b"], "HONUGE": ["1420", "1521"],
    ...         "SPECIALE": ["800411"] * 2, "YDLTID": ["1", "1"], "YDLANT": [2, 1]}),
    ...     "dod": pl.LazyFrame({"PNR": ["z"], "DODDATO": [dt.date(2015, 1, 1)]}),
    ... }
    >>> out = practice_propensity_before_death(regs, death_years=[2015, 2016], lookback_years=1,
    ...                                        shrinkage="none")
    >>> out.select("death_year", "YDERNR", "observed", "expected").rows()
    [(2015, 'p1', 2, 1.0), (2015, 'p2', 0, 1.0), (2016, 'p1', 0, 0.5), (2016, 'p2', 1, 0.5)]
    """
    _check(shrinkage, weights, lookback_years)
    targets = sorted({int(t) for t in death_years})
    if not targets:
        raise ValueError("give at least one death year")
    years = list(range(targets[0] - lookback_years, targets[-1]))
    strata = _yearly_strata(registers, years, min_age=min_age, age_width=age_width)
    covered = (
        strata.group_by("year").agg(pl.col("events").sum()).filter(pl.col("events") > 0)["year"]
    )
    pairs = pl.DataFrame(
        [(t, y) for t in targets for y in range(t - lookback_years, t)],
        schema={"death_year": pl.Int64, "year": pl.Int64},
        orient="row",
    ).filter(pl.col("year").is_in(covered.implode()))
    nyears = pairs.group_by("death_year").agg(window_years=pl.len().cast(pl.Int32))
    windowed = strata.join(pairs, on="year").drop("year")
    if windowed.height == 0:
        raise ValueError(
            f"no home visits or listed persons aged {min_age}+ in the {lookback_years} years "
            f"before any of the death years {targets}"
        )
    out = _standardise_and_shrink(
        windowed, "death_year", shrinkage=shrinkage, weights=weights, conf_level=conf_level
    )
    cols = [c for c in out.columns if c not in ("death_year", "YDERNR")]
    return (
        out.join(nyears, on="death_year", how="left")
        .select("death_year", "YDERNR", "window_years", *cols)
        .sort("death_year", "YDERNR")
    )


def add_practice_propensity(
    cohort: pl.LazyFrame,
    propensity: pl.DataFrame,
    *,
    practice_col: str = "practice",
    year_col: str = "death_year",
) -> pl.LazyFrame:
    """Join the propensity of each person's practice (at death) for their year of death:
    adds ``propensity_quartile`` and ``propensity_eb`` (the shrunk O/E), null when the
    practice or the year has no propensity.

    Examples
    --------
    >>> p = pl.DataFrame({"death_year": [2015, 2016], "YDERNR": ["p1", "p1"],
    ...                   "eb_estimate": [0.8, 1.3], "propensity_quartile": [1, 4]})
    >>> c = pl.LazyFrame({"practice": ["p1", "p1", "p9"], "death_year": [2015, 2016, 2015]})
    >>> add_practice_propensity(c, p).collect()["propensity_quartile"].to_list()
    [1, 4, None]
    """
    table = propensity.lazy().select(
        pl.col("YDERNR").alias(practice_col),
        pl.col("death_year").cast(pl.Int64).alias("_py"),
        propensity_quartile=pl.col("propensity_quartile").cast(pl.Int8),
        propensity_eb=pl.col("eb_estimate"),
    )
    return (
        cohort.with_columns(_py=pl.col(year_col).cast(pl.Int64))
        .join(table, on=[practice_col, "_py"], how="left", maintain_order="left")
        .drop("_py")
    )
