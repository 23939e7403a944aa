"""Person-level structural simulation (stage A of the generator).

One row per person, held as numpy arrays: demographics, socio-economic position, the listed GP
practice, death and its cause, disease trajectories, specialised palliative care (SPC) and the
GP's involvement at the end of life, and the place of death. Everything is vectorised; the
register files are written from these arrays in stage A (person-level registers) and chunk by
chunk in stage B (event registers), see :mod:`paleval.synth.generate`.

Time is measured in integer days since 1970-01-01 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit, logit
from scipy.stats import norm

from paleval.codes import load_codes
from paleval.codes.vocabulary import PLACES_OF_DEATH, UNKNOWN_PLACE
from paleval.synth import config as C
from paleval.synth.config import SynthConfig

__all__ = ["Population", "day_number", "intervention_units", "simulate_population"]

DAYS_PER_YEAR = 365.25
AGE_GROUPS = ("18-49", "50-59", "60-69", "70-79", "80+")
# the true place of death is drawn in the vocabulary the cohorts report (index = array code)
PLACES: tuple[str, ...] = (*PLACES_OF_DEATH, UNKNOWN_PLACE)
NEED_GROUPS = tuple(g for g in C.CAUSE_GROUPS if g not in ("cancer", "other"))


def day_number(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date.

    Examples
    --------
    >>> day_number("1970-01-02")
    1
    """
    return int(np.datetime64(iso, "D").astype(np.int64))


def lookup(mapping: dict[Any, Any], keys: np.ndarray, dtype: Any = None) -> np.ndarray:
    """Map every element of ``keys`` through ``mapping`` (vectorised: one dict look-up per
    distinct key, then a gather).

    Examples
    --------
    >>> lookup({1: 0.5, 2: 1.5}, np.array([2, 1, 2]))
    array([1.5, 0.5, 1.5])
    """
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.array([], dtype=dtype if dtype is not None else float)
    uniq, inv = np.unique(keys, return_inverse=True)
    vals = np.array([mapping[k] for k in uniq.tolist()], dtype=dtype)
    return vals[inv.reshape(keys.shape)]


def completed_years(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Age in completed years on ``day`` (both in days since 1970), as a person counts it.

    Examples
    --------
    >>> completed_years(np.array([day_number("1950-06-01")]), np.array([day_number("2020-05-31")]))
    array([69])
    """
    b = np.asarray(birth).astype("datetime64[D]")
    d = np.asarray(day).astype("datetime64[D]")
    by, dy = b.astype("datetime64[Y]"), d.astype("datetime64[Y]")
    # Compare month/day via the date in the event year (handles leap years like polars).
    years = dy.astype(np.int64) - by.astype(np.int64)
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    dm = d.astype("datetime64[M]").astype(np.int64) % 12
    bd = (b - b.astype("datetime64[M]")).astype(np.int64)
    dd = (d - d.astype("datetime64[M]")).astype(np.int64)
    before = (dm < bm) | ((dm == bm) & (dd < bd))
    return years - before.astype(np.int64)


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers (vectorised)."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def year_end_before(days: np.ndarray) -> np.ndarray:
    """Day number of 31 December of the year before each day's year.

    Examples
    --------
    >>> int(year_end_before(np.array([day_number("2015-06-30")]))[0]) == day_number("2014-12-31")
    True
    """
    y = year_of(np.asarray(days, np.int64))
    jan1 = (y - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return jan1 - 1


def couple_at(
    a: dict[str, np.ndarray], idx: np.ndarray, year: np.ndarray | int, *, together: bool = True
) -> np.ndarray:
    """Whether persons ``idx`` live with their partner at the end of ``year`` (both alive and,
    with ``together``, neither in a nursing home; ``together=False``: still partners).

    Examples
    --------
    >>> a = {"partner": np.array([1, 0, -1]), "died": np.array([False, True, False]),
    ...      "death": np.array([-1, day_number("2015-03-01"), -1])}
    >>> couple_at(a, np.arange(3), 2014).tolist(), couple_at(a, np.arange(3), 2015).tolist()
    ([True, True, False], [False, False, False])
    """
    idx = np.asarray(idx, np.int64)
    if "partner" not in a:
        return np.zeros(len(idx), bool)
    p = a["partner"][idx]
    pp = np.maximum(p, 0)
    dec31 = (np.asarray(year, np.int64) - 1970 + 1).astype("datetime64[Y]").astype(
        "datetime64[D]"
    ).astype(np.int64) - 1
    both = (p >= 0) & (~a["died"][idx] | (a["death"][idx] > dec31))
    both = both & (~a["died"][pp] | (a["death"][pp] > dec31))
    if together:
        both = both & ~in_nursing_home(a, idx, dec31) & ~in_nursing_home(a, pp, dec31)
    return both


def in_nursing_home(a: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray | int) -> np.ndarray:
    """Whether persons ``idx`` live in a nursing home on ``day`` (moved in on or before it;
    residents stay until death).

    Examples
    --------
    >>> a = {"nh_movein": np.array([-1, day_number("2015-03-01")])}
    >>> in_nursing_home(a, np.arange(2), day_number("2015-12-31")).tolist()
    [False, True]
    """
    if "nh_movein" not in a:
        return np.zeros(len(np.asarray(idx)), bool)
    m = a["nh_movein"][np.asarray(idx, np.int64)]
    return (m >= 0) & (m <= day)


def family_reference(
    a: dict[str, np.ndarray], idx: np.ndarray, year: np.ndarray | int
) -> np.ndarray:
    """The person whose PNR is the ``FAMILIE_ID`` of persons ``idx`` at the end of ``year``:
    the first-listed partner while both partners live, else the person.

    Examples
    --------
    >>> a = {"partner": np.array([1, 0, -1]), "died": np.array([False, True, False]),
    ...      "death": np.array([-1, day_number("2015-03-01"), -1])}
    >>> family_reference(a, np.arange(3), 2014).tolist()
    [0, 0, 2]
    >>> family_reference(a, np.arange(3), 2015).tolist()
    [0, 1, 2]
    """
    idx = np.asarray(idx, np.int64)
    if "partner" not in a:
        return idx
    both = couple_at(a, idx, year)
    return np.where(both, np.minimum(idx, np.maximum(a["partner"][idx], 0)), idx)


def intervention_units() -> dict[int, str | None]:
    """Municipality code -> adoption date of the planted intervention (``None``: never).

    The municipalities of the code list sorted by code are dealt in turn to
    ``config.INTERVENTION["adoption_dates"]``.

    Examples
    --------
    >>> u = intervention_units()
    >>> u[101], u[147], u[151]
    ('2016-01-01', '2019-01-01', None)
    """
    codes = sorted(int(k) for k in load_codes("municipalities")["KOM"])
    dates = C.INTERVENTION["adoption_dates"]
    return {k: dates[i % len(dates)] for i, k in enumerate(codes)}


def _bisect(f: Any, lo: float, hi: float, target: float, iters: int = 60) -> float:
    """Solve the monotone increasing equation f(x) = target on [lo, hi]."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _choice(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    """Vectorised categorical draws; ``probs`` is (k,) or (n, k) with rows summing to 1."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        return rng.choice(len(probs), size=n, p=probs / probs.sum())
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(n)[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


@dataclass
class Population:
    """The simulated persons (arrays of equal length) plus the practice table and the truth."""

    cfg: SynthConfig
    n: int
    arrays: dict[str, np.ndarray]
    practices: dict[str, np.ndarray]
    listing: dict[str, np.ndarray]
    truth: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


def simulate_population(cfg: SynthConfig) -> Population:
    """Simulate every person of the synthetic population (stage A).

    Examples
    --------
    >>> from paleval.synth.config import SynthConfig
    >>> pop = simulate_population(SynthConfig(n_persons=2000, seed=3))
    >>> bool(pop["died"].any()), pop.n
    (True, 2000)
    """
    cfg.check()
    sim = _Simulation(cfg)
    return sim.run()


class _Simulation:
    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.n = cfg.n_persons
        self.start = day_number(f"{cfg.start_year}-01-01")
        self.end = day_number(f"{cfg.end_year}-12-31")
        self.a: dict[str, np.ndarray] = {}
        self.truth: dict[str, Any] = {"planted": {}, "calibrated": {}, "defects": {}}

    def rng(self, stage: int) -> np.random.Generator:
        return np.random.default_rng([self.cfg.seed, 1, stage])

    def run(self) -> Population:
        self._demographics()
        self._socioeconomic()
        self._practices()
        self._death()
        self._households()
        self._causes()
        self._cancer()
        self._nursing_home()
        self._income_quartiles()
        self._spc()
        self._gp_end_of_life()
        self._place_of_death()
        return Population(self.cfg, self.n, self.a, self.practices, self.listing, self.truth)

    # ------------------------------------------------------------------ demographics
    def _demographics(self) -> None:
        r, n, a = self.rng(1), self.n, self.a
        a["female"] = r.random(n) < 0.504
        lo = np.array([b[0] for b in C.AGE_BANDS], float)
        hi = np.array([b[1] for b in C.AGE_BANDS], float)
        band = _choice(r, n, np.array([b[2] for b in C.AGE_BANDS]))
        age0 = lo[band] + r.random(n) * (hi[band] - lo[band])
        a["birth"] = self.start - np.round(age0 * DAYS_PER_YEAR).astype(np.int64) - 1
        a["age0"] = (self.start - a["birth"]) / DAYS_PER_YEAR
        regions = np.array(list(C.REGION_SHARES))
        a["region"] = regions[_choice(r, n, np.array(list(C.REGION_SHARES.values())))]
        munis = load_codes("municipalities")
        kom = np.zeros(n, np.int64)
        big = {
            101: 8.0,
            751: 5.0,
            851: 3.0,
            461: 3.0,
            147: 1.5,
            563: 0.1,
            492: 0.1,
            825: 0.05,
            741: 0.05,
        }
        for reg in regions:
            codes = np.array(
                [int(k) for k in munis.filter(munis["REGIONSKODE"] == str(reg))["KOM"]]
            )
            w = np.array([big.get(int(k), 1.0) for k in codes])
            idx = np.flatnonzero(a["region"] == reg)
            kom[idx] = codes[_choice(r, len(idx), w)]
        a["kom"] = kom
        origins = np.array(list(C.ORIGIN_SHARES))
        origin = origins[_choice(r, n, np.array(list(C.ORIGIN_SHARES.values())))]
        origin[(origin == 3) & (a["age0"] >= 40)] = 2  # descendants are young
        a["origin"] = origin
        # Country of origin for immigrants and descendants (synthetic DST-style country codes).
        countries = np.array([5100, 5120, 5130, 5150, 5170, 5180, 5752, 5474, 5601, 5652])
        a["country"] = np.where(origin == 1, 5100, countries[r.integers(1, len(countries), n)])

    def _socioeconomic(self) -> None:
        r, n, a = self.rng(2), self.n, self.a
        z = r.standard_normal(n) - 0.3 * (a["origin"] == 2)
        a["sep"] = z
        birth_year = year_of(a["birth"])
        latent = 0.7 * z + np.sqrt(1 - 0.49) * r.standard_normal(n)
        edu = np.zeros(n, np.int64)
        prev = -np.inf
        for born_before, shares in C.EDUCATION_BY_COHORT:
            sel = (birth_year < born_before) & (birth_year >= prev)
            cuts = norm.ppf(np.cumsum(shares)[:-1])
            edu[sel] = np.searchsorted(cuts, latent[sel])
            prev = born_before
        a["education"] = edu
        age0 = a["age0"]
        p_alone = expit(-1.45 + 0.03 * (age0 - 50) + 0.6 * a["female"] * (age0 > 70) - 0.25 * z)
        a["living_alone"] = (r.random(n) < p_alone) & (age0 >= 18)
        a["family_size"] = np.where(
            a["living_alone"], 1, 2 + r.poisson(np.where(age0 < 55, 1.0, 0.05))
        )
        # Latent log equivalised disposable family income (DKK) in the start year.
        a["log_income"] = (
            12.35
            + 0.22 * z
            - 0.22 * (age0 > 67)
            - 0.12 * a["living_alone"]
            + 0.10 * r.standard_normal(n)
        )
        a["log_personal"] = a["log_income"] + 0.1 * r.standard_normal(n) - 0.1 * a["female"]

    # ------------------------------------------------------------------ practices
    def _practices(self) -> None:
        r, n, a = self.rng(3), self.n, self.a
        n_prac = max(30, round(n / 3470))
        regions = np.array(list(C.REGION_SHARES))
        shares = np.array(list(C.REGION_SHARES.values()))
        counts = np.maximum(4, np.round(shares * n_prac).astype(int))
        prac_region = np.repeat(regions, counts)
        m = len(prac_region)
        ids = np.sort(r.choice(np.arange(100_000, 900_000), size=m, replace=False))
        size_w = r.lognormal(0.0, 0.4, m)
        reg_eff = lookup(C.PRACTICE_REGION_EFFECT, prac_region)
        u = reg_eff + C.PRACTICE_PROPENSITY_SD * r.standard_normal(m)
        self.practices = {"id": ids, "region": prac_region, "propensity": u}
        # Each person is listed in a practice in the region of residence; 6 % switch once.
        prac = np.zeros(n, np.int64)
        prac2 = np.full(n, -1, np.int64)
        for reg in regions:
            cand = np.flatnonzero(prac_region == reg)
            idx = np.flatnonzero(a["region"] == reg)
            w = size_w[cand]
            prac[idx] = cand[_choice(r, len(idx), w)]
            switch = r.random(len(idx)) < 0.06
            prac2[idx[switch]] = cand[_choice(r, int(switch.sum()), w)]
        same = prac2 == prac
        prac2[same] = -1
        switch_day = self.start + r.integers(30, self.end - self.start - 30, n)
        a["practice_idx"] = prac
        a["practice2_idx"] = prac2
        a["switch_day"] = np.where(prac2 >= 0, switch_day, -1)
        self.listing = {}

    # ------------------------------------------------------------------ death
    def _death(self) -> None:
        r, n, a = self.rng(4), self.n, self.a
        b = C.GOMPERTZ_B
        lin = C.MORTALITY_MALE_LOG_HR * (~a["female"]) + C.MORTALITY_SEP_LOG_HR * a["sep"]
        age0 = a["age0"]

        def first_year_rate(alpha: float) -> float:
            h0 = np.exp(alpha + b * age0 + lin)
            cum = h0 * (np.exp(b) - 1) / b
            return float(np.mean(1 - np.exp(-cum)))

        alpha = _bisect(first_year_rate, -20.0, 0.0, C.CRUDE_DEATH_RATE)
        e = r.exponential(1.0, n)
        age_death = np.log(np.exp(b * age0) + b * e / np.exp(alpha + lin)) / b
        death = a["birth"] + np.floor(age_death * DAYS_PER_YEAR).astype(np.int64)
        death = np.maximum(death, self.start)
        a["died"] = death <= self.end
        a["death"] = np.where(a["died"], death, -1)
        a["age_death"] = np.where(a["died"], (death - a["birth"]) / DAYS_PER_YEAR, np.nan)
        # Age groups and adulthood use completed years, as a cohort built from dates does.
        a["age_years"] = np.where(a["died"], completed_years(a["birth"], death), -1)
        a["death_year"] = np.where(a["died"], year_of(np.maximum(death, 0)), -1)
        a["adult_decedent"] = a["died"] & (a["age_years"] >= 18)
        ag = np.digitize(a["age_years"], [50, 60, 70, 80])
        a["age_group"] = ag  # index into AGE_GROUPS (children fall in 0)
        self.truth["calibrated"]["gompertz_alpha"] = alpha
        # Practice at death (for end-of-life practice effects).
        switched = (a["practice2_idx"] >= 0) & (death >= a["switch_day"])
        a["practice_at_death"] = np.where(switched, a["practice2_idx"], a["practice_idx"])

    # ------------------------------------------------------------------ households
    def _households(self) -> None:
        """Couples sharing a family (``FAMILIE_ID``, income) and widowhood.

        Adults not living alone at the start are paired, a man and a woman of the same
        municipality by age rank, with probability ``HOUSEHOLDS["couple_share"]``; the couple
        shares a family (the reference partner is the one listed first) and its equivalised
        disposable income. When one partner dies the survivor forms a family of their own: a
        married survivor becomes a widow(er) (``CIVST`` E), a survivor of a two-person family
        lives alone from that year. ``living_alone`` becomes the status at the end of the year
        before death (end of the data for survivors), the status the planted models use and a
        cohort reads from BEF; ``living_alone_start`` keeps the status at the start.
        """
        a, n = self.a, self.n
        a["living_alone_start"] = a["living_alone"].copy()
        a["partner"] = np.full(n, -1, np.int64)
        a["widowed_day"] = np.full(n, -1, np.int64)
        a["married"] = np.zeros(n, bool)
        if not self.cfg.realism("households"):
            self.truth.setdefault("realism", {})["households"] = {"enabled": False, "couples": 0}
            return
        r = np.random.default_rng([self.cfg.seed, 1, 20])
        h = C.HOUSEHOLDS
        cand = (~a["living_alone"]) & (a["age0"] >= 18) & (r.random(n) < h["couple_share"])
        idx = np.flatnonzero(cand)
        male = ~a["female"][idx]
        # rank by age within municipality and sex; partners share (municipality, rank)
        order = np.lexsort((a["age0"][idx], male, a["kom"][idx]))
        si = idx[order]
        grp = a["kom"][si] * 2 + (~a["female"][si])
        new = np.r_[True, grp[1:] != grp[:-1]]
        start = np.maximum.accumulate(np.where(new, np.arange(len(si)), 0))
        rank = np.arange(len(si)) - start
        key = a["kom"][si] * 10_000_000 + rank
        men, women = si[~a["female"][si]], si[a["female"][si]]
        k_men, k_women = key[~a["female"][si]], key[a["female"][si]]
        _, im, iw = np.intersect1d(k_men, k_women, assume_unique=True, return_indices=True)
        m, w = men[im], women[iw]
        a["partner"][m] = w
        a["partner"][w] = m
        pair_married = r.random(len(m)) < h["married_share"]
        a["married"][m] = pair_married
        a["married"][w] = pair_married
        # one family: the same size and income base for both partners (the reference's)
        ref, other = np.minimum(m, w), np.maximum(m, w)
        a["family_size"][other] = a["family_size"][ref]
        mean_log = (a["log_income"][m] + a["log_income"][w]) / 2
        a["log_income"][m] = mean_log
        a["log_income"][w] = mean_log
        # widowhood: the partner's death (before one's own)
        p = a["partner"]
        has = p >= 0
        pd = np.where(has, a["death"][np.maximum(p, 0)], -1)
        pdied = has & a["died"][np.maximum(p, 0)]
        first = pdied & (~a["died"] | (pd < a["death"]))
        a["widowed_day"] = np.where(first, pd, -1)
        # living alone at the end of the year before death (or at the end of the data)
        ref_day = np.where(a["died"], year_end_before(np.maximum(a["death"], 0)), self.end)
        widowed_by = (a["widowed_day"] >= 0) & (a["widowed_day"] <= ref_day)
        a["living_alone"] = a["living_alone_start"] | (widowed_by & (a["family_size"] == 2))
        self.truth.setdefault("realism", {})["households"] = {
            "enabled": True,
            "couples": len(m),
            "married_couples": int(pair_married.sum()),
            "persons_in_couples": 2 * len(m),
            "widowed_persons": int(first.sum()),
            "widowed_persons_married": int((first & a["married"]).sum()),
            "survivors_living_alone_at_death_or_end": int(
                (widowed_by & (a["family_size"] == 2)).sum()
            ),
            "decedents_living_alone_by_widowhood": int(
                (a["died"] & widowed_by & (a["family_size"] == 2) & ~a["living_alone_start"]).sum()
            ),
            "rates": dict(h),
        }

    def _causes(self) -> None:
        r, a = self.rng(5), self.a
        d = np.flatnonzero(a["died"])
        age = a["age_death"][d]
        logits = np.log(np.array(C.CAUSE_BASE))[None, :] + np.outer(
            age - 75, np.array(C.CAUSE_AGE_SLOPE)
        )
        probs = np.exp(logits)
        group = np.full(self.n, -1, np.int64)
        group[d] = _choice(r, len(d), probs)
        a["cause_group"] = group
        gi = {g: i for i, g in enumerate(C.CAUSE_GROUPS)}
        # Cancer site among cancer deaths, respecting sex-specific sites.
        sites = list(C.CANCER_SITES)
        cd = np.flatnonzero(group == gi["cancer"])
        base = np.array([C.CANCER_SITES[s][0] for s in sites])
        fem = a["female"][cd]
        p = np.tile(base, (len(cd), 1))
        p[:, sites.index("prostate")] *= ~fem
        p[:, sites.index("gynaecological")] *= fem
        p[:, sites.index("breast")] *= np.where(fem, 1.0, 0.01)
        site = np.full(self.n, -1, np.int64)
        site[cd] = _choice(r, len(cd), p)
        a["cancer_site"] = site
        # Underlying cause code (ICD-10, no "D" prefix, 4 characters).
        code = np.full(self.n, "", dtype=object)
        digit = r.integers(0, 10, self.n).astype(str)
        site_prefix = np.array([C.CANCER_SITES[s][2] for s in sites], dtype=object)
        code[cd] = site_prefix[site[cd]] + digit[cd]
        for g, codes in C.CAUSE_CODES.items():
            idx = np.flatnonzero(group == gi[g])
            keys = np.array(list(codes), dtype=object)
            pick = keys[_choice(r, len(idx), np.array(list(codes.values())))]
            short = np.array([len(k) == 3 for k in pick], bool)
            pick = np.where(short, pick + digit[idx], pick)
            code[idx] = pick
        a["underlying_cause"] = code
        a["is_cancer"] = group == gi["cancer"]
        a["is_need"] = np.isin(group, [gi[g] for g in NEED_GROUPS])

    def _cancer(self) -> None:
        """Cancer diagnoses (decedents and survivors) and first non-cancer diagnoses."""
        r, a, n = self.rng(6), self.a, self.n
        sites = list(C.CANCER_SITES)
        med = np.array([C.CANCER_SITES[s][1] for s in sites]) * DAYS_PER_YEAR
        earliest = day_number("1995-01-01")
        dx = np.full(n, -1, np.int64)
        csite = a["cancer_site"].copy()
        cd = np.flatnonzero(a["is_cancer"])
        t = np.exp(np.log(med[csite[cd]]) + 1.0 * r.standard_normal(len(cd)))
        dx[cd] = np.maximum(
            a["death"][cd] - np.maximum(np.round(t), 1).astype(np.int64),
            np.maximum(earliest, a["birth"][cd] + 1),
        )
        # Incident cancers among survivors and among people dying of other causes.
        inc_w = np.array([C.CANCER_SITES[s][0] * C.CANCER_SITES[s][1] for s in sites])
        age_mid = a["age0"] + (self.cfg.end_year - self.cfg.start_year) / 2
        rate = np.clip(0.004 * np.exp(0.045 * (age_mid - 65)), 0, 0.05)
        years = self.cfg.end_year - self.cfg.start_year + 1
        survivor = ~a["died"] & (age_mid >= 25) & (r.random(n) < 1 - np.exp(-rate * years))
        other_dec = a["died"] & ~a["is_cancer"] & (a["age_death"] >= 50) & (r.random(n) < 0.08)
        idx = np.flatnonzero(survivor | other_dec)
        fem = a["female"][idx]
        p = np.tile(inc_w, (len(idx), 1))
        p[:, sites.index("prostate")] *= ~fem
        p[:, sites.index("gynaecological")] *= fem
        p[:, sites.index("breast")] *= np.where(fem, 1.0, 0.01)
        csite[idx] = _choice(r, len(idx), p)
        upper = np.where(a["died"][idx], a["death"][idx] - 30, self.end)
        lower = np.maximum(np.where(a["died"][idx], upper - 15 * 365, self.start), earliest)
        lower = np.minimum(lower, upper - 1)
        dx[idx] = lower + np.floor(r.random(len(idx)) * (upper - lower)).astype(np.int64)
        a["cancer_dx"] = dx
        a["cancer_site_any"] = csite
        # First hospital diagnosis of the non-cancer chronic disease (palliative need groups).
        ndx = np.full(n, -1, np.int64)
        need = np.flatnonzero(a["is_need"])
        gname = np.array(C.CAUSE_GROUPS, dtype=object)[a["cause_group"][need]]
        med_nc = lookup(C.NONCANCER_DX_MEDIAN_YEARS, gname) * DAYS_PER_YEAR
        t = np.exp(np.log(med_nc) + 1.0 * r.standard_normal(len(need)))
        sudden = (gname == "stroke") & (r.random(len(need)) < 0.4)
        t = np.where(sudden, 1 + r.integers(0, 10, len(need)), t)
        ndx[need] = np.maximum(
            a["death"][need] - np.round(t).astype(np.int64),
            np.maximum(earliest, a["birth"][need] + 1),
        )
        a["noncancer_dx"] = ndx

    # ------------------------------------------------------------------ income
    def _income_quartiles(self) -> None:
        """Yearly income noise and the income quartile the year before death."""
        r, a, n = self.rng(7), self.a, self.n
        y0 = self.cfg.start_year - 1
        years = np.arange(y0, self.cfg.end_year + 1)
        noise = (0.12 * r.standard_normal((n, len(years)))).astype(np.float32)
        self.income_noise = noise
        self.income_years = years
        a["_income_noise"] = noise  # kept for the IND writer (n x years)
        q = np.zeros(n, np.int64)
        ok = a["adult_decedent"]
        yb = a["death_year"] - 1
        col = np.clip(yb - y0, 0, len(years) - 1)
        val = self.equivalised_income(np.arange(n), yb, col)
        for y in np.unique(a["death_year"][ok]):
            sel = ok & (a["death_year"] == y)
            cuts = np.quantile(val[sel], [0.25, 0.5, 0.75])
            q[sel] = 1 + np.searchsorted(cuts, val[sel], side="right")
        a["income_quartile"] = q

    def equivalised_income(self, idx: np.ndarray, year: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Equivalised disposable family income (DKK) of persons ``idx`` in ``year``: a
        couple's is the reference partner's (one family, one income base)."""
        a = self.a
        idx = family_reference(a, idx, year)
        age = (year - year_of(a["birth"][idx])).astype(float)
        log_inc = (
            a["log_income"][idx]
            + 0.02 * (year - self.cfg.start_year)
            - 0.15 * ((age > 67) & (a["age0"][idx] <= 67))
            + self.income_noise[idx, col]
        )
        return np.round(np.exp(log_inc), 0)

    # ------------------------------------------------------------------ SPC
    def _spc_linear(self, idx: np.ndarray, cancer: bool) -> np.ndarray:
        a = self.a
        lor = C.SPC_LOG_OR
        lin = np.array([lor["education"][C.EDUCATION_LEVELS[e]] for e in range(4)])[
            a["education"][idx]
        ]
        lin = (
            lin
            + np.array([0.0, *[lor["income_quartile"][k] for k in (1, 2, 3, 4)]])[
                a["income_quartile"][idx]
            ]
        )
        lin = lin + lor["female"] * a["female"][idx]
        lin = lin + np.array([lor["age_group"][g] for g in AGE_GROUPS])[a["age_group"][idx]]
        lin = lin + lor["living_alone"] * a["living_alone"][idx]
        lin = lin + lor["immigrant"] * (a["origin"][idx] == 2)
        lin = lin + lookup(lor["region"], a["region"][idx])
        if cancer:
            sites = list(C.CANCER_SITES)
            lin = lin + np.array([lor["site"][s] for s in sites])[a["cancer_site"][idx]]
        else:
            gname = np.array(C.CAUSE_GROUPS, dtype=object)[a["cause_group"][idx]]
            lin = lin + lookup(C.SPC_NONCANCER_GROUP_LOG_OR, gname)
        return lin

    def _intervention(self) -> np.ndarray:
        """The planted intervention's added log odds of SPC admittance per person (0 for the
        untreated), the adoption day of each person's municipality (``intervention_adoption``,
        -1: never) and who is treated (``intervention_treated``); see ``config.INTERVENTION``."""
        a, n = self.a, self.n
        adoption = np.full(n, -1, np.int64)
        a["intervention_treated"] = np.zeros(n, bool)
        a["intervention_adoption"] = adoption
        if not self.cfg.interventions:
            return np.zeros(n)
        units = intervention_units()
        days = {k: (day_number(v) if v else -1) for k, v in units.items()}
        adoption = lookup(days, a["kom"], dtype=np.int64)
        treated = a["adult_decedent"] & a["is_need"] & (adoption >= 0) & (a["death"] >= adoption)
        a["intervention_adoption"] = adoption
        a["intervention_treated"] = treated
        return np.where(treated, self.cfg.intervention_log_or, 0.0)

    def _intervention_truth(self) -> None:
        a = self.a
        treated = a["intervention_treated"]
        diff = a["spc_p1"] - a["spc_p0"]
        adoption = a["intervention_adoption"]
        by_date: dict[str, Any] = {}
        for when in C.INTERVENTION["adoption_dates"]:
            if when is None:
                continue
            sel = treated & (adoption == day_number(when))
            by_date[when] = {
                "att": float(diff[sel].mean()) if sel.any() else None,
                "treated_persons": int(sel.sum()),
            }
        units = intervention_units()
        self.truth["interventions"] = {
            C.INTERVENTION["name"]: {
                "enabled": True,
                "unit": "municipality (BEF KOM at the end of the year before death)",
                "adoption": {str(k): v for k, v in units.items() if v is not None},
                "never_adopting": sorted(str(k) for k, v in units.items() if v is None),
                "outcome": C.INTERVENTION["outcome"],
                "population": C.INTERVENTION["population"],
                "treated": "in an adopting municipality and died on or after its adoption date",
                "log_odds_ratio": self.cfg.intervention_log_or,
                "estimand": (
                    "ATT: mean of spc_p1 - spc_p0 (truth/persons.parquet) among the treated "
                    "(intervention_treated), i.e. the mean added probability of SPC admittance"
                ),
                "att": float(diff[treated].mean()) if treated.any() else None,
                "treated_persons": int(treated.sum()),
                "att_by_adoption_date": by_date,
                "assumption": "the effect size is an assumption, not a published figure",
            }
        }

    def _spc(self) -> None:
        r, a, n = self.rng(8), self.a, self.n
        admitted = np.zeros(n, bool)
        intercepts: dict[str, dict[int, float]] = {"cancer": {}, "noncancer": {}}
        extra_lin = self._intervention()
        p0, p1 = np.full(n, np.nan), np.full(n, np.nan)
        for cls, mask, target in (
            ("cancer", a["adult_decedent"] & a["is_cancer"], C.SPC_CANCER_TARGET),
            ("noncancer", a["adult_decedent"] & a["is_need"], C.SPC_NONCANCER_TARGET),
        ):
            for y in self.cfg.years:
                idx = np.flatnonzero(mask & (a["death_year"] == y))
                if len(idx) == 0:
                    continue
                lin = self._spc_linear(idx, cls == "cancer")
                tgt = target.get(y, target[max(target)] if y > max(target) else target[min(target)])
                alpha = _bisect(lambda al, lin=lin: float(np.mean(expit(al + lin))), -15, 10, tgt)
                intercepts[cls][int(y)] = alpha
                # the intervention's log odds ratio is added after the calibration, and the
                # same uniform draw decides with and without it (p1 >= p0: admitted without
                # it -> admitted with it), so the registers without it are unchanged
                p0[idx] = expit(alpha + lin)
                p1[idx] = expit(alpha + lin + extra_lin[idx])
                admitted[idx] = r.random(len(idx)) < p1[idx]
        other = a["adult_decedent"] & ~a["is_cancer"] & ~a["is_need"]
        admitted |= other & (r.random(n) < C.SPC_OTHER_CAUSE_RATE)
        a["spc_admitted"] = admitted
        a["spc_p0"], a["spc_p1"] = p0, p1
        self.truth["calibrated"]["spc_intercept_by_death_year"] = intercepts
        if self.cfg.interventions:
            self._intervention_truth()
        # Unit type among the admitted.
        lin = (
            logit(C.HOSPICE_BASE_SHARE)
            + C.HOSPICE_LOG_OR["long_higher"] * (a["education"] == 3)
            + C.HOSPICE_LOG_OR["income_q4"] * (a["income_quartile"] == 4)
        )
        hospice = admitted & (r.random(n) < expit(lin))
        a["spc_hospice"] = hospice
        a["spc_hospital"] = admitted & ~hospice
        # Contact date, waiting time, referral date for the admitted.
        death = a["death"]
        med = np.where(
            hospice, C.CONTACT_TO_DEATH_MEDIAN["hospice"], C.CONTACT_TO_DEATH_MEDIAN["hospital"]
        )
        c2d = np.floor(np.exp(np.log(med) + C.CONTACT_TO_DEATH_SIGMA * r.standard_normal(n)))
        floor_day = np.maximum(
            self.start, np.where(a["is_cancer"], a["cancer_dx"], a["noncancer_dx"])
        )
        c2d = np.minimum(c2d.astype(np.int64), np.maximum(death - floor_day, 0))
        contact = np.where(admitted, death - c2d, -1)
        p_fast = lookup(C.P_WAIT_LE10_REGION, a["region"])
        p_fast = expit(logit(p_fast) + C.WAIT_NONCANCER_LOG_OR * ~a["is_cancer"])
        fast = r.random(n) < p_fast
        wait = np.where(
            fast, np.floor(11 * r.random(n) ** 1.6), 11 + np.floor(r.exponential(14.0, n))
        ).astype(np.int64)
        referral = np.where(admitted, contact - wait, -1)
        a["spc_contact"] = contact
        a["spc_referral"] = referral
        a["spc_wait_le10"] = admitted & (wait <= 10)
        # Referred but never admitted: drawn so that P(contact | referred and eligible) meets
        # DPD indicator 1, whose denominator leaves out referrals that did not meet the
        # criteria (Groenvold et al., Clin Epidemiol 2016): a share NO_CONTACT_REASONS
        # ["not_eligible"] of the non-admitted are ineligible, so draw 1/(1 - that) more.
        reason = np.full(n, -1, np.int64)
        referred = admitted.copy()
        eligible_share = 1.0 - C.NO_CONTACT_REASONS["not_eligible"]
        for cls, mask in (
            ("cancer", a["adult_decedent"] & a["is_cancer"]),
            ("noncancer", a["adult_decedent"] & a["is_need"]),
        ):
            p1 = C.P_CONTACT_GIVEN_REFERRED[cls]
            n_adm = int((mask & admitted).sum())
            pool = mask & ~admitted
            need = n_adm * (1 - p1) / p1 / eligible_share
            q = min(1.0, need / max(int(pool.sum()), 1))
            extra = pool & (r.random(n) < q)
            referred |= extra
            reason[extra] = _choice(
                r, int(extra.sum()), np.array(list(C.NO_CONTACT_REASONS.values()))
            )
        nc = referred & ~admitted
        died_first = nc & (reason == 0)
        rmed = np.where(died_first, 6.0, 40.0)
        r2d = np.floor(np.exp(np.log(rmed) + 0.9 * r.standard_normal(n))).astype(np.int64)
        r2d = np.minimum(r2d, np.maximum(death - self.start, 0))
        a["spc_referral"] = np.where(nc, death - r2d, a["spc_referral"])
        a["spc_referred"] = referred
        a["spc_no_contact_reason"] = reason
        # Living cancer patients referred while alive (censored in incident-cohort analyses).
        alive_ca = ~a["died"] & (a["cancer_dx"] >= 0) & (a["cancer_dx"] < self.end - 365)
        live_ref = alive_ca & (r.random(n) < 0.03)
        span = np.maximum(self.end - a["cancer_dx"] - 30, 1)
        ref_day = a["cancer_dx"] + np.floor(r.random(n) * span).astype(np.int64)
        live_contact = live_ref & (r.random(n) < 0.85)
        a["spc_referral"] = np.where(live_ref, ref_day, a["spc_referral"])
        a["spc_contact"] = np.where(
            live_contact, np.minimum(ref_day + wait, self.end), a["spc_contact"]
        )
        a["spc_referred"] |= live_ref
        a["spc_admitted"] |= live_contact
        a["spc_hospital"] |= live_contact & ~a["spc_hospice"]
        a["spc_no_contact_reason"] = np.where(
            live_ref & ~live_contact, 3, a["spc_no_contact_reason"]
        )
        referrer = _choice(r, n, np.array(list(C.REFERRER_SHARES.values())))
        a["spc_referrer"] = referrer
        cls_cancer = a["is_cancer"] | (a["cancer_dx"] >= 0)
        a["spc_eortc"] = a["spc_admitted"] & (
            r.random(n) < np.where(cls_cancer, C.P_EORTC["cancer"], C.P_EORTC["noncancer"])
        )
        a["spc_mdc"] = a["spc_admitted"] & (
            r.random(n) < np.where(cls_cancer, C.P_MDC["cancer"], C.P_MDC["noncancer"])
        )
        self.truth["planted"]["spc_admittance_cancer"] = {
            "estimand": (
                "conditional log odds ratios of SPC admittance (first contact, DPD) among adult "
                "cancer decedents, from a logistic regression with exactly these terms plus "
                "death year as categorical: education level, income quartile (equivalised "
                "disposable family income the year before death, quartiles among adult decedents "
                "of the same death year), female sex, age group at death, living alone, immigrant "
                "(IE_TYPE 2), region, cancer site"
            ),
            "model": "logistic",
            "log_odds_ratios": {
                k: ({str(kk): vv for kk, vv in v.items()} if isinstance(v, dict) else v)
                for k, v in C.SPC_LOG_OR.items()
            },
            "reference": {
                "education": "lower_secondary",
                "income_quartile": 1,
                "age_group": "80+",
                "region": 1084,
                "site": "lung",
            },
        }

    # ------------------------------------------------------------------ GP at end of life
    def _gp_end_of_life(self) -> None:
        r, a, n = self.rng(9), self.a, self.n
        u = self.practices["propensity"][a["practice_at_death"]]
        hv = C.HV_LOG_RATE
        lin = (
            hv["base"]
            + u
            + hv["cancer"] * a["is_cancer"]
            + hv["need_group"] * a["is_need"]
            + hv["spc"] * a["spc_admitted"]
            + hv["age80"] * (a["age_group"] == 4)
            + hv["living_alone"] * a["living_alone"]
        )
        count = np.where(a["adult_decedent"], r.poisson(np.exp(lin)), 0)
        a["gp_hv90"] = count
        a["gp_hv_cat"] = np.digitize(count, [1, 3])  # 0, 1-2, 3+
        cls = np.where(a["is_cancer"], 0, np.where(a["is_need"], 1, 2))
        p_ooh = np.array(
            [C.P_OOH_LAST30["cancer"], C.P_OOH_LAST30["need"], C.P_OOH_LAST30["other"]]
        )[cls]
        a["gp_ooh30"] = a["adult_decedent"] & (r.random(n) < p_ooh)
        p_term = np.array([C.P_TERMINAL["cancer"], C.P_TERMINAL["need"], C.P_TERMINAL["other"]])
        lt = logit(p_term[cls]) + C.TERMINAL_HV_LOG_OR * (a["gp_hv_cat"] - 1)
        term = a["adult_decedent"] & (r.random(n) < expit(lt))
        a["terminal"] = term
        t2d = np.floor(np.exp(np.log(35.0) + 0.9 * r.standard_normal(n))).astype(np.int64)
        t2d = np.minimum(t2d, np.maximum(a["death"] - self.start, 0))
        a["terminal_day"] = np.where(term, a["death"] - t2d, -1)
        self.truth["planted"]["gp_home_visits_rate"] = {
            "estimand": "log rate ratios of GP home visits in the last 90 days (Poisson) among "
            "adult decedents, with a practice random intercept (SD on log scale) and region "
            "effects; 'base' is the log rate in the reference cell",
            "log_rate_ratios": dict(hv),
            "practice_random_intercept_sd": C.PRACTICE_PROPENSITY_SD,
            "region_effects": {str(k): v for k, v in C.PRACTICE_REGION_EFFECT.items()},
        }

    # ------------------------------------------------------------------ nursing homes
    def _nh_linear(self) -> np.ndarray:
        """Linear predictor of nursing-home residence at death (without the intercept)."""
        a = self.a
        age = np.nan_to_num(a["age_death"])
        dementia = a["cause_group"] == C.CAUSE_GROUPS.index("dementia")
        nh_lin = (
            C.P_NURSING_HOME["age_slope"] * (age - 85)
            + C.P_NURSING_HOME["dementia"] * dementia
            + C.P_NURSING_HOME["living_alone"] * a["living_alone"]
        )
        return np.where(age < C.NURSING_HOME["min_age"], -10.0, nh_lin)

    def _nursing_home(self) -> None:
        """Nursing-home residence at death, drawn before the end-of-life processes.

        Realism feature ``nursing_homes``: adult decedents live in a nursing home at death with
        a logistic probability in age, dementia and living alone, calibrated so that residents
        are 22 % / 80 % of the last year's decedents (``C.NURSING_HOME``); each stay starts a
        lognormal time before death. A resident is no longer "living alone": ``living_alone``
        (used by every planted model) becomes the status of community-dwelling persons, BEF's
        one-person family minus the residents, which is what a cohort with the register
        computes (``living_alone_bef`` keeps the BEF status). Feature off: nobody is a
        resident here and :meth:`_place_of_death` draws residence among non-home deaths only.
        """
        a, n = self.a, self.n
        a["living_alone_bef"] = a["living_alone"].copy()
        a["nh_resident"] = np.zeros(n, bool)
        a["nh_movein"] = np.full(n, -1, np.int64)
        if not self.cfg.realism("nursing_homes"):
            return
        r = np.random.default_rng([self.cfg.seed, 1, 21])
        nh_lin = self._nh_linear()
        sel_last = a["adult_decedent"] & (a["death_year"] == self.cfg.end_year)
        share = C.PLACE_TARGET_LAST_YEAR["nursing_home"] / C.NH_DEATH_PLACE["nursing_home"]
        nh_a = _bisect(
            lambda x: float(np.mean(expit(x + nh_lin[sel_last]))), -15, 10, min(share, 0.95)
        )
        res = a["adult_decedent"] & (r.random(n) < expit(nh_a + nh_lin))
        nh = C.NURSING_HOME
        stay = np.exp(
            np.log(nh["stay_median_years"] * DAYS_PER_YEAR)
            + nh["stay_sigma"] * r.standard_normal(n)
        )
        movein = a["death"] - np.maximum(np.floor(stay).astype(np.int64), 1)
        a["nh_resident"] = res
        a["nh_movein"] = np.where(res, movein, -1)
        # BEF: a resident is a one-person family from the year of moving in, and a partner
        # left at home lives alone from then (a two-person family), like a widow(er)
        ref_day = np.where(a["died"], year_end_before(np.maximum(a["death"], 0)), self.end)
        p = a["partner"] if "partner" in a else np.full(n, -1, np.int64)
        pp = np.maximum(p, 0)
        left = (p >= 0) & in_nursing_home(a, pp, ref_day) & (a["family_size"] == 2)
        a["living_alone_bef"] = a["living_alone"] | left | in_nursing_home(a, np.arange(n), ref_day)
        a["living_alone"] = a["living_alone_bef"] & ~res
        self.truth["calibrated"]["nursing_home_resident_intercept"] = nh_a
        self.truth.setdefault("realism", {})["nursing_homes"] = {
            "enabled": True,
            "residents_at_death": int(res.sum()),
            "resident_share_of_adult_decedents": float(
                res.sum() / max(a["adult_decedent"].sum(), 1)
            ),
            "resident_share_last_year_target": share,
            "residents_aged_80_plus": int((res & (a["age_years"] >= 80)).sum()),
            "residents_with_dementia_as_cause": int(
                (res & (a["cause_group"] == C.CAUSE_GROUPS.index("dementia"))).sum()
            ),
            "residents_one_person_family_in_bef_before_death": int(
                (res & a["living_alone_bef"]).sum()
            ),
            "partners_living_alone_after_a_move_in": int((left & ~res).sum()),
            "stay_median_years": nh["stay_median_years"],
            "stay_sigma": nh["stay_sigma"],
        }

    # ------------------------------------------------------------------ place of death
    def _place_of_death(self) -> None:
        """Place of death: home first (planted log-linear model), then the other places.

        With the ``nursing_homes`` feature, residents (drawn earlier) never die in their own
        home and the home-death model applies to community-dwelling decedents; without it,
        residence is drawn among the decedents who did not die at home or in a hospice.
        """
        r, a, n = self.rng(10), self.a, self.n
        dec = a["died"]
        last = self.cfg.end_year
        sel_last = dec & (a["death_year"] == last)
        pr = C.HOME_LOG_PR
        hvcat = a["gp_hv_cat"]
        lp = (
            pr["hv_1_2"] * (hvcat == 1)
            + pr["hv_3plus"] * (hvcat == 2)
            + pr["terminal"] * a["terminal"]
            + pr["living_alone"] * a["living_alone"]
            + pr["cancer"] * a["is_cancer"]
            + pr["spc_hospital"] * a["spc_hospital"]
            + pr["spc_hospice"] * a["spc_hospice"]
            + pr["female"] * a["female"]
            + np.array([pr["age_group"][g] for g in AGE_GROUPS])[a["age_group"]]
            + pr["year"] * np.where(dec, a["death_year"] - self.cfg.start_year, 0)
        )
        pre = self.cfg.realism("nursing_homes")
        community = ~a["nh_resident"] if pre else np.ones(n, bool)
        # Calibrate the reference-cell probability: 28 % home deaths in the last year
        # (2024: seed 004, Sundhedsdatastyrelsen).
        target = C.PLACE_TARGET_LAST_YEAR
        base = _bisect(
            lambda b: float(
                np.mean(community[sel_last] * np.minimum(b * np.exp(lp[sel_last]), C.HOME_P_MAX))
            ),
            1e-5,
            1.0,
            target["home"],
        )
        p_home = np.where(community, np.minimum(base * np.exp(lp), C.HOME_P_MAX), 0.0)
        clipped = dec & community & (base * np.exp(lp) > C.HOME_P_MAX)
        home = dec & (r.random(n) < p_home)
        # Among the rest: hospice for hospice patients, nursing home for residents.
        hospice_death = (
            dec & ~home & a["spc_hospice"] & (r.random(n) < C.P_HOSPICE_DEATH_IF_HOSPICE)
        )
        nh_lin = self._nh_linear()
        not_hosp = 1 - np.where(a["spc_hospice"], C.P_HOSPICE_DEATH_IF_HOSPICE, 0.0)
        u_nh = r.random(n)
        if pre:
            nh_a = self.truth["calibrated"]["nursing_home_resident_intercept"]
            nh = a["nh_resident"]
            nh_p = nh.astype(float)
        else:
            w = ((1 - p_home) * not_hosp)[sel_last]
            nh_a = _bisect(
                lambda x: (
                    float(np.mean(w * expit(x + nh_lin[sel_last])))
                    * C.NH_DEATH_PLACE["nursing_home"]
                ),
                -15,
                10,
                target["nursing_home"],
            )
            nh = dec & (u_nh < expit(nh_a + nh_lin))
            nh_p = expit(nh_a + nh_lin)
        a["nursing_home"] = nh
        a["hospice_death"] = hospice_death
        rest = dec & ~home & ~hospice_death
        # Hospital vs elsewhere among non-resident rest: calibrated to 35 % hospital deaths.
        p_nh_hosp = C.NH_DEATH_PLACE["hospital"]
        w2 = (1 - p_home) * not_hosp
        exp_hosp_nh = float(np.mean((w2 * nh_p * p_nh_hosp)[sel_last]))
        share_non_nh = float(np.mean((w2 * (1 - nh_p))[sel_last]))
        h = np.clip((target["hospital"] - exp_hosp_nh) / max(share_non_nh, 1e-9), 0.0, 1.0)
        place = np.full(n, -1, np.int64)
        P = {p: i for i, p in enumerate(PLACES)}
        nh_names = list(C.NH_DEATH_PLACE)
        nh_draw = np.array([P[x] for x in nh_names])[
            _choice(r, n, np.array(list(C.NH_DEATH_PLACE.values())))
        ]
        other_draw = np.where(r.random(n) < h, P["hospital"], P["other"])
        place[rest] = np.where(nh[rest], nh_draw[rest], other_draw[rest])
        place[home] = P["home"]
        place[hospice_death] = P["hospice"]
        unknown = (place == P["other"]) & (r.random(n) < 0.1)
        place[unknown] = P["unknown"]
        a["place"] = place
        self.truth["calibrated"]["home_death_reference_probability"] = base
        self.truth["calibrated"]["nursing_home_intercept"] = nh_a
        self.truth["calibrated"]["hospital_share_of_non_resident_rest"] = float(h)
        self.truth["defects"]["home_probability_clipped"] = int(clipped.sum())
        self.truth["planted"]["home_death"] = {
            "estimand": (
                "conditional log prevalence ratios of dying in the own home among "
                + (
                    "community-dwelling decedents (not living in a nursing home at death; "
                    "residents never die in their own home), "
                    if pre
                    else "all decedents, "
                )
                + "from a log-binomial / modified Poisson model with exactly these terms: GP "
                "home-visit category in the last 90 days (0 ref, 1-2, 3+), terminal declaration, "
                "living alone, cancer as the underlying cause, SPC admittance by unit type "
                "(none ref, hospital team/unit, hospice), female, age group at death (ref "
                "70-79), death year (linear, years since the start year)"
            ),
            "model": "log-linear (prevalence ratio)",
            "log_prevalence_ratios": {
                k: (dict(v) if isinstance(v, dict) else v) for k, v in pr.items()
            },
            "reference_probability": base,
            "probability_capped_at": C.HOME_P_MAX,
            "population": "community_dwelling" if pre else "all",
        }
