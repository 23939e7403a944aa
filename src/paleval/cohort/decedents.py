"""The decedent cohort: adults who died in a period, with their characteristics at death.

Input is a mapping from register key to a polars LazyFrame in the register model's schema
(as returned by the loaders); yearly registers carry an integer ``year`` column (the delivery
year, from the file name). The cohort never reads files and stays lazy: :class:`Cohort.frame` is
a query plan, collected with the streaming engine by whoever needs the rows; the flow counts are
one aggregate query over the same plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from paleval.codes import covered_from, load_codes
from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START
from paleval.cohort._common import (
    NURSING_HOME_REGISTER,
    as_date,
    require_registers,
    resident_or_unknown,
)
from paleval.cohort.expressions import age_group, icd10_clean, icd10_grouper, years_between
from paleval.cohort.flow import Flow
from paleval.registers.validation import death_rules

__all__ = [
    "INCOME_LAG_YEARS",
    "NURSING_HOME_REGISTER",
    "Cohort",
    "add_income",
    "add_nursing_home",
    "decedent_cohort",
]

ORIGIN = {1: "danish", 2: "immigrant", 3: "descendant"}

INCOME_LAG_YEARS = 3
"""Default of ``decedent_cohort(income_lag=...)``: income of the calendar year three years
before the year of death, which ends at least two full years before death (see
:func:`add_income` and ``docs/methods.md``)."""

"""Register key of nursing-home stays (SDS's Plejehjemsdata, see ``paleval.registers``):
optional in :func:`decedent_cohort`."""

INCOME_STATUS = ("known", "no_record", "invalid")
"""Values of ``income_status`` (:func:`add_income`)."""


@dataclass
class Cohort:
    """A study population as a lazy plan, with its inclusion/exclusion flow.

    Attributes
    ----------
    frame
        The cohort's rows as a :class:`polars.LazyFrame` (one row per person).
    steps
        ``(label, expression)`` pairs: the starting population is ``steps[0]``; each later
        expression is the condition a person must meet to stay.
    params
        The arguments the cohort was built with.
    """

    frame: pl.LazyFrame
    base: pl.LazyFrame
    steps: list[tuple[str, pl.Expr]]
    params: dict[str, Any] = field(default_factory=dict)
    _flow: Flow | None = None

    @property
    def flow(self) -> Flow:
        """STROBE flow (computed once, with one aggregate query)."""
        if self._flow is None:
            self._set_flow(self._flow_counts().collect(engine="streaming"))
        assert self._flow is not None
        return self._flow

    def _flow_counts(self) -> pl.LazyFrame:
        conds = [pl.len().alias("s0")]
        keep = pl.lit(True)
        for i, (_, cond) in enumerate(self.steps[1:], start=1):
            keep = keep & cond
            conds.append(keep.sum().alias(f"s{i}"))
        return self.base.select(conds)

    def _set_flow(self, counts: pl.DataFrame) -> None:
        row = counts.row(0)
        flow = Flow()
        flow.start(self.steps[0][0], row[0])
        for (label, _), n in zip(self.steps[1:], row[1:], strict=True):
            flow.exclude(label, n)
        self._flow = flow

    def collect(self, *, with_flow: bool = False) -> pl.DataFrame:
        """The cohort's rows, collected with the streaming engine.

        ``with_flow=True`` also computes the flow counts (:attr:`flow`), in the same run: the
        two queries share their scans, which is cheaper than asking for the flow afterwards
        (national decedent cohort: 2.5 s less) but holds both queries' state at once.
        """
        if not with_flow or self._flow is not None:
            return self.frame.collect(engine="streaming")
        rows, counts = pl.collect_all([self.frame, self._flow_counts()], engine="streaming")
        self._set_flow(counts)
        return rows

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"<Cohort {self.params.get('name', '')} ({p})>\n{self.flow!r}"


def decedent_cohort(
    registers: Mapping[str, pl.LazyFrame],
    *,
    start: str | dt.date = DEFAULT_START,
    end: str | dt.date = DEFAULT_END,
    min_age: int = 18,
    education_map: str = "education_hfaudd",
    income_lag: int = INCOME_LAG_YEARS,
    income_negative: str = "keep",
    nursing_home_days: int = 0,
) -> Cohort:
    """Adults who died between ``start`` and ``end``, with characteristics at death.

    Steps (the flow): deaths in the period (DOD) -> with a cause-of-death record (DODSAASG) ->
    resident in Denmark on 31 December before the year of death (BEF) -> a plausible death
    date (not before birth, not over 115 years of age: validation rules ``death_before_birth``
    and ``age_over_max``) -> aged ``min_age`` or more at death.

    Columns: ``PNR, death_date, death_year, birth_date, age, age_group, sex, region,
    municipality, living_alone, nursing_home_resident, civil_status, origin, underlying_cause,
    cause_group, cancer,
    cancer_site, place_of_death, place_coarse, education, income, income_year, income_status,
    income_quartile, income_quintile``.

    - cause group: the underlying cause (ICD-10) mapped to the Murtagh/Etkind groups (code
      list ``diagnosis_groups``); no group -> ``"other"``;
    - place of death: the detailed ``C_PRAECIS_DODSSTED`` through the code list
      ``place_of_death`` (its real code values are not public: map them there); where it is
      missing or not in the list, DAR's coarse ``C_DODSSTED`` through the code list
      ``place_of_death_coarse`` (verified codes: 0 hospital or hospice -> ``"hospital"``, 1 home
      address -> ``"nursing_home"`` for residents, else ``"home"``, 2/3 -> ``"other"``, -1
      found dead -> ``"unknown"``); neither -> ``"unknown"`` (``place_coarse`` keeps
      ``C_DODSSTED``);
    - nursing-home residence: with the nursing-home register (key ``"plh"``, optional), a
      stay that covers the date of death, or ends at most ``nursing_home_days`` days before it
      (:func:`add_nursing_home`); without the register ``nursing_home_resident`` is null
      (unknown) and ``params["nursing_home"]`` says so;
    - living alone: one person in the family (``ANTPERSF == 1``) in BEF before death and, when
      the nursing-home register is delivered, not a nursing-home resident (BEF has no
      nursing-home indicator and counts a resident as a one-person family); without the
      register ``living_alone`` includes nursing-home residents;
    - education: the last UDDA status up to the year of death, mapped to four levels by the
      code list ``education_map`` (HFAUDD -> level); ``"unknown"`` if absent;
    - income: equivalised disposable family income (FAIK ``FAMAEKVIVADISP_13``) of the
      calendar year ``income_lag`` years before the year of death (default 3: a year that ends
      at least two full years before death, before most final illnesses lower income), joined
      through the person's ``FAMILIE_ID`` in BEF of that year (:func:`add_income`); quartiles
      and quintiles within the income year among cohort members with a known income (missing
      -> null; ``income_status`` says why: ``no_record`` or ``invalid`` for NaN/infinite, and
      negative values with ``income_negative="null"``). ``income_lag=1`` gives the former
      definition (the year before death).

    Examples
    --------
    >>> import datetime as dt
    >>> regs = {
    ...     "dod": pl.LazyFrame({"PNR": ["a", "b"], "DODDATO": [dt.date(2015, 3, 1)] * 2}),
    ...     "dodsaasg": pl.LazyFrame({"PNR": ["a", "b"], "C_DODTILGRUNDL_ACME": ["C341", "I219"],
    ...                               "C_DODSSTED": ["1", "0"], "C_PRAECIS_DODSSTED": ["4", "1"]}),
    ...     "bef": pl.LazyFrame({"PNR": ["a", "b", "a"], "year": [2014, 2014, 2012],
    ...         "FOED_DAG": [dt.date(1940, 1, 1), dt.date(2000, 1, 1), dt.date(1940, 1, 1)],
    ...         "KOEN": [2, 1, 2], "KOM": ["101", "751", "101"], "REG": ["84", "82", "84"],
    ...         "CIVST": ["E", "U", "G"], "FAMILIE_ID": ["a", "b", "f"], "ANTPERSF": [1, 3, 2],
    ...         "IE_TYPE": [1, 1, 1]}),
    ...     "udda": pl.LazyFrame({"PNR": ["a"], "year": [2014], "HFAUDD": ["2759"]}),
    ...     "faik": pl.LazyFrame({"FAMILIE_ID": ["f", "a"], "year": [2012, 2014],
    ...                           "FAMAEKVIVADISP_13": [250000.0, 90000.0]}),
    ... }
    >>> c = decedent_cohort(regs)
    >>> c.flow.final
    1
    >>> c.collect().select("cause_group", "place_of_death", "education").row(0)
    ('cancer', 'home', 'long_higher')
    >>> c.collect().select("income_year", "income", "income_status").row(0)
    (2012, 250000.0, 'known')
    """
    require_registers(registers, ["dod", "dodsaasg", "bef", "udda", "faik"])
    start_d, end_d = as_date(start), as_date(end)
    if start_d > end_d:
        raise ValueError(f"start {start_d} is after end {end_d}")
    deaths = (
        registers["dod"]
        .select("PNR", death_date=pl.col("DODDATO"))
        .filter(pl.col("death_date").is_between(start_d, end_d))
        .unique("PNR", keep="first", maintain_order=True)
        .with_columns(death_year=pl.col("death_date").dt.year())
    )
    dar = (
        registers["dodsaasg"]
        .select(
            "PNR",
            underlying_cause=icd10_clean("C_DODTILGRUNDL_ACME", strip_d=True),
            place_coarse=pl.col("C_DODSSTED"),
            _pod=pl.col("C_PRAECIS_DODSSTED"),
            _has_dar=pl.lit(True),
        )
        .unique("PNR", keep="first")
    )
    # Keep only the BEF rows the cohort needs before the join: the semi-join builds its hash
    # table on the (small) deaths, so the national BEF (~90 million rows) is streamed through.
    needed = deaths.select("PNR", year=pl.col("death_year") - 1)
    bef = bef_status(
        registers["bef"].join(needed, on=["PNR", "year"], how="semi", build_side="force_right")
    )
    regions = regions_table()
    base = (
        deaths.join(dar, on="PNR", how="left")
        .with_columns(_bef_year=pl.col("death_year") - 1)
        .join(bef, on=["PNR", "_bef_year"], how="left")
        .with_columns(age=years_between("birth_date", "death_date"))
    )
    steps: list[tuple[str, pl.Expr]] = [
        (f"Deaths {start_d} to {end_d} (DOD)", pl.lit(True)),
        ("no cause-of-death record", pl.col("_has_dar").fill_null(False)),
        ("not resident the year before death", pl.col("birth_date").is_not_null()),
        (
            # rules death_before_birth / age_over_max of validate(): the death record is
            # excluded (a death before birth is never an age under min_age)
            "implausible death date (before birth, or over 115 years of age)",
            ~pl.any_horizontal(
                list(death_rules(pl.col("death_date"), pl.col("birth_date")).values())
            ),
        ),
        (f"aged under {min_age} at death", pl.col("age") >= min_age),
    ]
    keep = pl.all_horizontal([cond for _, cond in steps[1:]])
    cohort = base.filter(keep)
    cohort = icd10_grouper(cohort, "underlying_cause", "diagnosis_groups", "cause_group")
    cohort = icd10_grouper(cohort, "underlying_cause", "cancer_sites", "cancer_site", key="site")
    places = (
        load_codes("place_of_death")
        .select(_pod=pl.col("C_PRAECIS_DODSSTED"), place_of_death=pl.col("place"))
        .lazy()
    )
    cohort = (
        cohort.with_columns(
            cause_group=pl.col("cause_group").fill_null("other"),
            age_group=age_group("age"),
        )
        .with_columns(
            cancer=pl.col("cause_group") == "cancer",
            cancer_site=pl.when(pl.col("cause_group") == "cancer").then(pl.col("cancer_site")),
        )
        .join(places, on="_pod", how="left")
        .join(regions, on="region_code", how="left")
    )
    # The per-person additions (nursing home, education, income) are tables of the deaths in
    # the period (they depend on the person and the date of death only), joined to the
    # cohort side by side. Chained add_* calls would nest the cohort plan in each other
    # (each uses its input twice): the national plan read BEF five times, DOD eight times.
    if income_negative not in ("keep", "null"):
        raise ValueError(f"negative must be 'keep' or 'null', got {income_negative!r}")
    keys = deaths.select("PNR", "death_date", "death_year")
    if NURSING_HOME_REGISTER in registers:
        nh = _nursing_home_table(
            keys.select("PNR", "death_date"), registers[NURSING_HOME_REGISTER], nursing_home_days
        )
        cohort = cohort.join(nh, on=["PNR", "death_date"], how="left", maintain_order="left")
    edu = _education_table(keys.select("PNR", "death_year"), registers["udda"], education_map)
    inc = _income_table(
        keys.select("PNR", "death_year"),
        registers["faik"],
        "death_year",
        lag=income_lag,
        bef=registers["bef"],
        negative=income_negative,
    )
    cohort = (
        cohort.join(edu, on=["PNR", "death_year"], how="left", maintain_order="left")
        .with_columns(income_year=(pl.col("death_year") - income_lag).cast(pl.Int64))
        .join(inc, on=["PNR", "death_year"], how="left", maintain_order="left")
        .with_columns(education=pl.col("education").fill_null("unknown"))
    )
    cohort, nh_note = _nursing_home_step(cohort, registers, nursing_home_days)
    cohort = _with_income_groups(_coarse_place(cohort))
    columns = [
        "PNR", "death_date", "death_year", "birth_date", "age", "age_group", "sex", "region",
        "region_code", "municipality", "living_alone", "nursing_home_resident", "civil_status",
        "origin",
        "underlying_cause", "cause_group", "cancer", "cancer_site", "place_of_death",
        "place_coarse", "education", "income", "income_year", "income_status", "income_quartile",
        "income_quintile",
    ]  # fmt: skip
    frame = cohort.select(columns).sort("PNR")
    params = {
        "name": "decedents",
        "start": str(start_d),
        "end": str(end_d),
        "min_age": min_age,
        "income_lag": income_lag,
        "income_negative": income_negative,
        "nursing_home_days": nursing_home_days,
        "nursing_home": nh_note,
    }
    return Cohort(frame=frame, base=base, steps=steps, params=params)


def _coarse_place(cohort: pl.LazyFrame) -> pl.LazyFrame:
    """Fill ``place_of_death`` where the detailed place is missing or not in the code list
    ``place_of_death``: from DAR's coarse ``C_DODSSTED`` (code list ``place_of_death_coarse``)
    and ``nursing_home_resident`` (code 1, the home address, is the nursing home for a
    resident); no usable code -> ``"unknown"``."""
    coarse = (
        load_codes("place_of_death_coarse")
        .select(
            place_coarse=pl.col("C_DODSSTED"),
            _c_res="place_resident",
            _c_not="place_not_resident",
            _c_unk="place_residence_unknown",
        )
        .lazy()
    )
    res = pl.col("nursing_home_resident")
    from_coarse = pl.when(res).then("_c_res").when(res.not_()).then("_c_not").otherwise("_c_unk")
    return (
        cohort.with_columns(place_coarse=pl.col("place_coarse").cast(pl.String).str.strip_chars())
        .join(coarse, on="place_coarse", how="left")
        .with_columns(place_of_death=pl.coalesce("place_of_death", from_coarse, pl.lit("unknown")))
        .drop("_c_res", "_c_not", "_c_unk")
    )


def _nursing_home_step(
    cohort: pl.LazyFrame, registers: Mapping[str, pl.LazyFrame], days: int
) -> tuple[pl.LazyFrame, str]:
    """``nursing_home_resident`` (the residents joined from :func:`_nursing_home_table`, else
    False) and ``living_alone`` without residents, or null + a note."""
    if NURSING_HOME_REGISTER not in registers:
        note = (
            f"nursing-home register ({NURSING_HOME_REGISTER!r}) not delivered: "
            "nursing_home_resident is null (unknown) and living_alone (BEF's one-person family) "
            "includes nursing-home residents"
        )
        return cohort.with_columns(nursing_home_resident=pl.lit(None, pl.Boolean)), note
    cohort = cohort.with_columns(resident_or_unknown("death_date"))
    note = (
        f"nursing_home_resident: a stay in {NURSING_HOME_REGISTER!r} covering the date of death"
        + (f" or ending at most {days} days before it" if days else "")
        + "; living_alone excludes nursing-home residents; "
        + _before_coverage_note("death")
    )
    return cohort.with_columns(
        living_alone=pl.col("living_alone") & ~pl.col("nursing_home_resident")
    ), note


def add_nursing_home(
    cohort: pl.LazyFrame, stays: pl.LazyFrame, *, days: int = 0, anchor: str = "death_date"
) -> pl.LazyFrame:
    """Add ``nursing_home_resident``: whether a nursing-home stay covers the anchor date.

    A stay (``TILFLYT_DATO`` move-in, ``FRAFLYT_DATO`` move-out, missing while it goes on)
    counts when it began on or before the anchor and has no move-out date or a move-out date
    on or after ``anchor - days``. ``days=0``: living in a nursing home at death; a positive
    ``days`` also counts residents who moved out (e.g. to a hospice) shortly before. A stay
    whose move-out date is before its move-in date never counts. Persons without a stay get
    ``False`` where the register covers the anchor date, and null (unknown) before it begins
    (2011-01-01, :func:`paleval.codes.covered_from`).

    Examples
    --------
    >>> import datetime as dt
    >>> c = pl.LazyFrame({"PNR": ["a", "b", "c"], "death_date": [dt.date(2020, 5, 1)] * 3})
    >>> s = pl.LazyFrame({"PNR": ["a", "b"], "TILFLYT_DATO": [dt.date(2019, 1, 1)] * 2,
    ...                   "FRAFLYT_DATO": [None, dt.date(2020, 4, 20)]})
    >>> add_nursing_home(c, s).collect()["nursing_home_resident"].to_list()
    [True, False, False]
    >>> add_nursing_home(c, s, days=30).collect()["nursing_home_resident"].to_list()
    [True, True, False]
    """
    residents = _nursing_home_table(cohort.select("PNR", anchor), stays, days)
    return cohort.join(
        residents, on=["PNR", anchor], how="left", maintain_order="left"
    ).with_columns(resident_or_unknown(anchor))


def _before_coverage_note(what: str) -> str:
    first = covered_from(NURSING_HOME_REGISTER)
    if first is None:
        return ""
    return (
        f"unknown (null) for a {what} before {first.isoformat()}, when the register begins "
        "(paleval.codes.coverage_table); living_alone is then unknown for persons in a "
        "one-person family"
    )


def _nursing_home_table(keys: pl.LazyFrame, stays: pl.LazyFrame, days: int) -> pl.LazyFrame:
    """The ``(PNR, anchor)`` pairs of ``keys`` (its two columns) with a stay covering the
    anchor (:func:`add_nursing_home`), one row each, ``nursing_home_resident = True``."""
    pnr, anchor = keys.collect_schema().names()
    if days < 0:
        raise ValueError(f"days must be 0 or more (days before {anchor!r}), got {days}")
    start, stop = pl.col("TILFLYT_DATO"), pl.col("FRAFLYT_DATO")
    at = pl.col(anchor)
    covers = (
        (start <= at)
        & (stop.is_null() | (stop >= at - pl.duration(days=days)))
        & (stop.is_null() | (stop >= start))
    )
    return (
        stays.select("PNR", "TILFLYT_DATO", "FRAFLYT_DATO")
        .join(keys, on=pnr, how="inner", build_side="force_right")
        .filter(covers)
        .select(pnr, anchor)
        .unique()
        .with_columns(nursing_home_resident=pl.lit(True))
    )


def bef_status(bef: pl.LazyFrame) -> pl.LazyFrame:
    """Person characteristics from BEF, one row per person and delivery year (``_bef_year``).

    Examples
    --------
    >>> import datetime as dt
    >>> b = pl.LazyFrame({"PNR": ["a"], "year": [2014], "FOED_DAG": [dt.date(1940, 1, 1)],
    ...     "KOEN": [2], "KOM": ["101"], "REG": ["84"], "CIVST": ["E"], "FAMILIE_ID": ["a"],
    ...     "ANTPERSF": [1], "IE_TYPE": [2]})
    >>> bef_status(b).collect().select("sex", "living_alone", "origin").row(0)
    ('female', True, 'immigrant')
    """
    return bef.select(
        "PNR",
        _bef_year=pl.col("year"),
        birth_date=pl.col("FOED_DAG"),
        sex=pl.when(pl.col("KOEN").cast(pl.String) == "2")
        .then(pl.lit("female"))
        .otherwise(pl.lit("male")),
        region_code=pl.col("REG").cast(pl.String),
        municipality=pl.col("KOM"),
        civil_status=pl.col("CIVST"),
        living_alone=pl.col("ANTPERSF") == 1,
        origin=pl.col("IE_TYPE").replace_strict(ORIGIN, default="unknown", return_dtype=pl.String),
        _family=pl.col("FAMILIE_ID"),
    )


def regions_table() -> pl.LazyFrame:
    """BEF region code (81-85) -> Danish region name."""
    return (
        load_codes("regions").select(region_code=pl.col("REG"), region=pl.col("region_da")).lazy()
    )


def add_education(
    cohort: pl.LazyFrame, udda: pl.LazyFrame, mapping: str, year_col: str = "death_year"
) -> pl.LazyFrame:
    """Education level: the last UDDA status up to the year in ``year_col`` (HFAUDD mapped to
    four levels by the code list ``mapping``); ``"unknown"`` when absent.

    Examples
    --------
    >>> c = pl.LazyFrame({"PNR": ["a", "b"], "death_year": [2015, 2015]})
    >>> u = pl.LazyFrame({"PNR": ["a", "a"], "year": [2010, 2016], "HFAUDD": ["7223", "2759"]})
    >>> add_education(c, u, "education_hfaudd").collect()["education"].to_list()
    ['lower_secondary', 'unknown']
    """
    last = _education_table(cohort.select("PNR", year_col), udda, mapping)
    return cohort.join(last, on=["PNR", year_col], how="left", maintain_order="left").with_columns(
        education=pl.col("education").fill_null("unknown")
    )


def _education_table(keys: pl.LazyFrame, udda: pl.LazyFrame, mapping: str) -> pl.LazyFrame:
    """The ``(PNR, year)`` pairs of ``keys`` (``PNR`` and a year column) with a UDDA status up
    to that year: ``education`` of the last one (:func:`add_education`), one row each."""
    year_col = keys.collect_schema().names()[1]
    levels = load_codes(mapping).select("HFAUDD", education=pl.col("level")).lazy()
    return (
        udda.select("PNR", "year", "HFAUDD")
        .join(
            keys.select("PNR", _upto=pl.col(year_col)).unique(),
            on="PNR",
            how="inner",
            build_side="force_right",
        )
        .filter(pl.col("year") <= pl.col("_upto"))
        .group_by("PNR", "_upto")
        .agg(pl.col("HFAUDD").sort_by("year").last())
        .join(levels, on="HFAUDD", how="left")
        .select("PNR", pl.col("_upto").alias(year_col), "education")
    )


def add_income(
    cohort: pl.LazyFrame,
    faik: pl.LazyFrame,
    year_col: str = "death_year",
    *,
    lag: int = 1,
    bef: pl.LazyFrame | None = None,
    negative: str = "keep",
) -> pl.LazyFrame:
    """Equivalised disposable family income of the calendar year ``lag`` years before the
    anchor year in ``year_col``, with quartiles and quintiles within each income year.

    The family is the person's ``FAMILIE_ID`` in BEF of the income year; FAIK's
    ``FAMAEKVIVADISP_13`` of that family and year is the income. With ``bef=None`` the family
    is taken from the cohort's ``_family``/``_bef_year`` columns (BEF of the year before the
    anchor, as :func:`bef_status` gives them), which is only right for ``lag=1``; any other
    ``lag`` needs ``bef`` (the BEF register).

    ``lag=1`` (the default here, kept for the incident cohorts: the year before diagnosis) is
    affected by a final illness when the anchor is death; :func:`decedent_cohort` uses
    ``INCOME_LAG_YEARS`` = 3 instead.

    Values that cannot be an income never reach a quantile: NaN and infinite values become
    null with ``income_status = "invalid"``; negative values (possible for disposable income:
    losses of the self-employed, negative capital income) are kept with
    ``negative="keep"`` (default) or made null and ``"invalid"`` with ``negative="null"``.
    Persons without a family or FAIK row in the income year get ``"no_record"``. Quartiles and
    quintiles are ranks within the income year among persons with a known income (ties share
    the lower group); null otherwise.

    Added columns: ``income, income_year, income_status, income_quartile, income_quintile``.

    Examples
    --------
    >>> c = pl.LazyFrame({"_family": ["a", "b", "c", "d", "e"], "_bef_year": [2014] * 5,
    ...                   "death_year": [2015] * 5})
    >>> f = pl.LazyFrame({"FAMILIE_ID": ["a", "b", "c", "d", "e"], "year": [2014] * 5,
    ...                   "FAMAEKVIVADISP_13": [1.0, 2.0, 3.0, 4.0, float("nan")]})
    >>> out = add_income(c, f).collect()
    >>> out["income_quartile"].to_list(), out["income_status"].to_list()[-1]
    ([1, 2, 3, 4, None], 'invalid')
    """
    if negative not in ("keep", "null"):
        raise ValueError(f"negative must be 'keep' or 'null', got {negative!r}")
    # the income depends on the person and year (the family of the income year from BEF), or
    # without BEF on the cohort's family and year only
    on = ["PNR", year_col] if bef is not None else [year_col, "_family"]
    table = _income_table(cohort.select(on), faik, year_col, lag=lag, bef=bef, negative=negative)
    out = cohort.with_columns(income_year=(pl.col(year_col) - lag).cast(pl.Int64)).join(
        table, on=on, how="left", maintain_order="left"
    )
    return _with_income_groups(out)


def _income_table(
    keys: pl.LazyFrame,
    faik: pl.LazyFrame,
    year_col: str,
    *,
    lag: int,
    bef: pl.LazyFrame | None,
    negative: str,
) -> pl.LazyFrame:
    """``income`` and ``income_status`` (:func:`add_income`) of each distinct row of ``keys``
    (``PNR`` and ``year_col``, or with ``bef=None`` ``year_col`` and the family ``_family``)."""
    if lag < 0:
        raise ValueError(f"lag must be 0 or more years before {year_col!r}, got {lag}")
    on = keys.collect_schema().names()
    income_year = (pl.col(year_col) - lag).cast(pl.Int64)
    keys = keys.unique()
    if bef is None:
        if lag != 1:
            raise ValueError(
                f"add_income with lag={lag} needs bef= (the family of the income year); "
                "without it only lag=1 (the cohort's _family from BEF the year before) is known"
            )
        keys = keys.with_columns(_inc_family=pl.col("_family"), income_year=income_year)
    else:
        keys = keys.with_columns(income_year=income_year)
        fam = (
            bef.select("PNR", income_year=pl.col("year").cast(pl.Int64), _inc_family="FAMILIE_ID")
            .join(
                keys.select("PNR", "income_year"),
                on=["PNR", "income_year"],
                how="semi",
                build_side="force_right",
            )
            .unique(["PNR", "income_year"], keep="first")
        )
        keys = keys.join(fam, on=["PNR", "income_year"], how="left")
    raw = pl.col("_inc_raw")
    valid = raw.is_finite() & ((raw >= 0) if negative == "null" else pl.lit(True))
    inc = (
        faik.select(
            _inc_family=pl.col("FAMILIE_ID"),
            income_year=pl.col("year").cast(pl.Int64),
            _inc_raw=pl.col("FAMAEKVIVADISP_13").cast(pl.Float64),
        )
        # only the families and years the cohort needs (hash table on the small side)
        .join(
            keys.select("_inc_family", "income_year"),
            on=["_inc_family", "income_year"],
            how="semi",
            build_side="force_right",
        )
        .unique(["_inc_family", "income_year"], keep="first")
        .with_columns(_inc_row=pl.lit(True))
    )
    return keys.join(inc, on=["_inc_family", "income_year"], how="left").select(
        *on,
        income=pl.when(valid).then(raw),
        income_status=pl.when(pl.col("_inc_row").is_null())
        .then(pl.lit("no_record"))
        .when(valid)
        .then(pl.lit("known"))
        .otherwise(pl.lit("invalid")),
    )


def _with_income_groups(cohort: pl.LazyFrame) -> pl.LazyFrame:
    """``income_status`` of persons without a row in the income table (a null key) is
    ``"no_record"``; ``income_quartile`` and ``income_quintile`` within each income year
    among persons with a known income (ties share the lower group)."""
    rank = pl.col("income").rank("min").over("income_year")
    n = pl.col("income").count().over("income_year")
    return cohort.with_columns(
        income_status=pl.col("income_status").fill_null("no_record"),
        income_quartile=pl.when(pl.col("income").is_not_null()).then(
            ((rank - 1) * 4 // n + 1).cast(pl.Int8)
        ),
        income_quintile=pl.when(pl.col("income").is_not_null()).then(
            ((rank - 1) * 5 // n + 1).cast(pl.Int8)
        ),
    )
