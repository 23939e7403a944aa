"""Event-level registers for one chunk of persons (stage B of the generator).

Each function takes the simulated :class:`~paleval.synth.simulate.Population`, the indices of the
persons in the chunk and a random generator, and returns polars DataFrames in the register
model's column names. Events are generated vectorised: counts per person are Poisson, event days
uniform in the person's window (``np.repeat`` over counts), never a Python loop over persons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paleval.codes import load_codes
from paleval.synth import config as C
from paleval.synth.migration import resident
from paleval.synth.simulate import (
    DAYS_PER_YEAR,
    PLACES,
    Population,
    couple_at,
    day_number,
    family_reference,
    in_nursing_home,
    lookup,
    year_of,
)

__all__ = ["Departments", "EventContext", "make_departments"]

SPECIALTY = {
    "medical": "intern medicin",
    "surgical": "kirurgi",
    "oncology": "klinisk onkologi",
    "emergency": "akutmedicin",
    "palliative": "palliativ medicin",
}
SPEC_CODE = {
    "medical": "01",
    "surgical": "02",
    "oncology": "03",
    "emergency": "04",
    "palliative": "05",
}
SERVICES = ("0101", "0105", "0201", "0411", "0121")
PLACE_HOSPITAL = PLACES.index("hospital")
CIVST_CODES = pl.Series(["U", "E", "F", "G"])  # BEF civil status; ``bef`` uses the index


def as_date(days: np.ndarray, nullable: bool = False) -> pl.Series:
    """Integer day numbers since 1970-01-01 as a polars Date series.

    With ``nullable=True`` the sentinel -1 means missing (for dates of events that may not
    happen: death, diagnosis, contact); otherwise negative numbers are dates before 1970.

    Examples
    --------
    >>> as_date(np.array([0, -1]), nullable=True).to_list()
    [datetime.date(1970, 1, 1), None]
    """
    days = np.asarray(days, dtype=np.int64)
    s = pl.Series(days.astype(np.int32), dtype=pl.Int32).cast(pl.Date)
    if nullable and (days == -1).any():
        return s.set(pl.Series(days == -1), None)
    return s


@dataclass
class Departments:
    """Synthetic hospital departments (one SOR unit each)."""

    sor: np.ndarray
    sgh: np.ndarray
    afd: np.ndarray
    region: np.ndarray
    kind: np.ndarray  # medical, surgical, oncology, emergency, palliative
    name: np.ndarray

    def by(self, region: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
        """A random department of ``kind`` in each given region (vectorised)."""
        out = np.zeros(len(region), np.int64)
        for reg in np.unique(region):
            cand = np.flatnonzero((self.region == reg) & (self.kind == kind))
            idx = np.flatnonzero(region == reg)
            out[idx] = cand[rng.integers(0, len(cand), len(idx))]
        return out

    @property
    def specialty(self) -> np.ndarray:
        """Main specialty as text (LPR3 ``hovedspeciale_ans``)."""
        return lookup(SPECIALTY, self.kind, dtype=object).astype(str)

    @property
    def spec_code(self) -> np.ndarray:
        """Synthetic LPR2 specialty code (``C_SPEC``)."""
        return lookup(SPEC_CODE, self.kind, dtype=object).astype(str)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "SORENHED": self.sor,
                "C_SGH": self.sgh,
                "C_AFD": self.afd,
                "NAVN": self.name,
                "REGIONSKODE": self.region.astype(str),
                "hovedspeciale": self.specialty,
                "C_SPEC": self.spec_code,
            }
        )


def make_departments() -> Departments:
    """The fixed synthetic hospital structure: 3-6 hospitals per region.

    Examples
    --------
    >>> d = make_departments()
    >>> int((d.kind == "palliative").sum()) >= 5
    True
    """
    n_hosp = {1081: 3, 1082: 5, 1083: 5, 1084: 6, 1085: 4}
    rows = []
    afd = {
        "medical": "011",
        "surgical": "021",
        "oncology": "031",
        "emergency": "041",
        "palliative": "051",
    }
    for reg, k in n_hosp.items():
        for h in range(1, k + 1):
            kinds = ["medical", "surgical", "emergency"]
            if h == 1:
                kinds += ["oncology", "palliative"]
            elif h == 2:
                kinds += ["palliative"]
            for kind in kinds:
                sgh = f"9{reg % 10}{h:02d}"
                sor = f"99{reg % 10}{h:02d}{list(afd).index(kind):02d}00000000"
                rows.append(
                    (sor, sgh, afd[kind], reg, kind, f"Synthetic hospital {sgh}, {kind} department")
                )
    cols = list(zip(*rows, strict=True))
    return Departments(*(np.array(c) for c in cols))


class EventContext:
    """Shared state for generating the event registers of all chunks."""

    def __init__(self, pop: Population, pnr: np.ndarray, departments: Departments) -> None:
        self.pop = pop
        self.cfg = pop.cfg
        self.pnr = pnr
        self.dep = departments
        self.start = day_number(f"{self.cfg.start_year}-01-01")
        self.end = day_number(f"{self.cfg.end_year}-12-31")
        self.lpr_start = day_number(f"{self.cfg.start_year - self.cfg.lpr_lookback_years}-01-01")
        self.lpr3_start = day_number(self.cfg.lpr3_start)
        self.practice_ids = pop.practices["id"].astype(str)
        self.pnr_s = pl.Series("PNR", pnr)
        self.hfaudd = pl.Series("HFAUDD", pop.arrays["hfaudd"].astype(str))
        # Diagnosis vocabulary: every SKS code the generator can write, as an index.
        a = pop.arrays
        cause = np.char.add("D", a["underlying_cause"].astype(str))
        car = np.char.add("D", a["car_code"].astype(str))
        vocab = np.unique(
            np.concatenate([np.array(C.COMMON_DIAGNOSES), [C.PALLIATIVE_ENCOUNTER], cause, car])
        )
        self.vocab = pl.Series("code", vocab)
        self.cause_ix = np.searchsorted(vocab, cause)
        self.car_ix = np.searchsorted(vocab, car)
        self.common_ix = np.searchsorted(vocab, np.array(C.COMMON_DIAGNOSES))
        self.palliative_ix = int(np.searchsorted(vocab, C.PALLIATIVE_ENCOUNTER))
        self.defects: dict[str, int] = {}
        self.notes: dict[str, int] = {}

    def count(self, key: str, n: int, defect: bool = True) -> None:
        target = self.defects if defect else self.notes
        target[key] = target.get(key, 0) + int(n)

    # ------------------------------------------------------------------ helpers
    def window(self, idx: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        """[first, last] day alive within [start, end] for persons ``idx``."""
        a = self.pop.arrays
        first = np.maximum(start, a["birth"][idx])
        last = np.where(a["died"][idx], a["death"][idx], self.end)
        return first, last

    @staticmethod
    def scatter(
        rng: np.random.Generator,
        idx: np.ndarray,
        rate: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson(rate * years) events per person, days uniform in [first, last]."""
        span = np.maximum(last - first + 1, 0)
        n = rng.poisson(np.maximum(rate, 0) * span / DAYS_PER_YEAR)
        who = np.repeat(idx, n)
        f = np.repeat(first, n)
        s = np.repeat(span, n)
        day = f + np.floor(rng.random(len(who)) * s).astype(np.int64)
        return who, day

    def age_at(self, who: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day - self.pop.arrays["birth"][who]) / DAYS_PER_YEAR

    def practice_on(self, who: np.ndarray, day: np.ndarray) -> np.ndarray:
        a = self.pop.arrays
        sw = (a["practice2_idx"][who] >= 0) & (day >= a["switch_day"][who])
        return np.where(sw, a["practice2_idx"][who], a["practice_idx"][who])

    def pnrs(self, idx: np.ndarray) -> pl.Series:
        """PNR strings of persons ``idx`` (a gather, no Python loop)."""
        return self.pnr_s.gather(np.asarray(idx, dtype=np.int64))

    def codes(self, ix: np.ndarray, rng: np.random.Generator, name: str) -> pl.Series:
        """SKS code strings for vocabulary indices, a few lower-cased when messy."""
        s = self.vocab.gather(np.asarray(ix, dtype=np.int64)).alias(name)
        if not self.cfg.messiness or len(s) == 0:
            return s
        low = rng.random(len(s)) < C.MESS["diagnosis_lowercase"]
        self.count("diagnosis_code_lowercase", int(low.sum()))
        return pl.select(
            pl.when(pl.Series(low)).then(s.str.to_lowercase()).otherwise(s).alias(name)
        ).to_series()

    # ------------------------------------------------------------------ population
    def bef(self, idx: np.ndarray, year: int) -> pl.DataFrame:
        a = self.pop.arrays
        dec31 = day_number(f"{year}-12-31")
        alive = self.residents(idx, dec31)
        age = (dec31 - a["birth"][alive]) / DAYS_PER_YEAR
        start_alone = a.get("living_alone_start", a["living_alone"])[alive]
        # households: a couple shares the reference partner's FAMILIE_ID; a survivor of a
        # two-person family lives alone from the year the partner died
        ref = family_reference(a, alive, year)
        coupled = couple_at(a, alive, year, together=False)
        widowed = (
            (a["widowed_day"][alive] >= 0) & (a["widowed_day"][alive] <= dec31)
            if "widowed_day" in a
            else np.zeros(len(alive), bool)
        )
        # a nursing-home resident is a one-person family; the partner left at home is a family
        # without them (BEF has no nursing-home indicator)
        inh = in_nursing_home(a, alive, dec31)
        partner = a["partner"][alive] if "partner" in a else np.full(len(alive), -1)
        apart = (partner >= 0) & in_nursing_home(a, np.maximum(partner, 0), dec31)
        size = np.where(
            widowed | apart, np.maximum(a["family_size"][alive] - 1, 1), a["family_size"][alive]
        )
        size = np.where(inh, 1, size)
        alone = start_alone | ((widowed | apart) & (size == 1)) | inh
        fem = a["female"][alive]
        h = (self.pnr_hash(alive) % 100) / 100.0
        # civil status as an index into CIVST_CODES (U unmarried, E widowed, F divorced, G married)
        u, e, f, g = range(len(CIVST_CODES))
        civst = np.where(
            alone,
            np.where(
                age < 35,
                u,
                np.where(h < np.where(fem & (age > 70), 0.65, 0.3), e, np.where(h < 0.7, f, u)),
            ),
            np.where(h < 0.75, g, u),
        )
        civst = np.where(age < 18, u, civst)
        if "married" in a:
            wed = a["married"][alive]
            civst = np.where(coupled, np.where(wed, g, u), civst)
            civst = np.where(widowed & wed, e, np.where(widowed, u, civst))
        married = civst == g
        ftype = np.where(
            alone, np.where(year >= 2015, 9, 5), np.where(married, np.where(year >= 2015, 7, 1), 3)
        )
        return pl.DataFrame(
            {
                "PNR": self.pnrs(alive),
                "KOEN": np.where(fem, 2, 1),
                "FOED_DAG": as_date(a["birth"][alive]),
                "KOM": pl.Series(a["kom"][alive]).cast(pl.String),
                "REG": pl.Series(a["region"][alive] - 1000).cast(pl.String),
                "CIVST": CIVST_CODES.gather(civst),
                "FAMILIE_ID": self.pnrs(ref).alias("FAMILIE_ID"),
                "FAMILIE_TYPE": ftype,
                "ANTPERSF": size,
                "IE_TYPE": a["origin"][alive],
                "OPR_LAND": a["country"][alive],
                "REFERENCETID": as_date(np.full(len(alive), dec31)),
            }
        )

    def residents(self, idx: np.ndarray, day: int) -> np.ndarray:
        """Persons ``idx`` alive, born and living in Denmark on ``day`` (year-end status)."""
        a = self.pop.arrays
        alive = (~a["died"][idx] | (a["death"][idx] > day)) & (a["birth"][idx] <= day)
        return idx[alive & resident(self.pop, idx, day)]

    def in_denmark(self, key: str, who: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Mask of events on days their person lives in Denmark; the others are counted."""
        keep = resident(self.pop, who, day)
        self.count(f"{key}_events_not_generated_while_abroad", int((~keep).sum()), defect=False)
        return keep

    def pnr_hash(self, idx: np.ndarray) -> np.ndarray:
        """A deterministic per-person pseudo-random integer (stable across years)."""
        x = (idx.astype(np.uint64) + np.uint64(self.cfg.seed)) * np.uint64(2654435761)
        return (x >> np.uint64(7)).astype(np.int64)

    def income(
        self, idx: np.ndarray, year: int, rng: np.random.Generator
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        a = self.pop.arrays
        dec31 = day_number(f"{year}-12-31")
        alive = self.residents(idx, dec31)
        if self.cfg.messiness:
            miss = rng.random(len(alive)) < C.MESS["income_missing"]
            self.count("income_person_years_missing", int(miss.sum()))
            alive = alive[~miss]
        col = year - (self.cfg.start_year - 1)
        eq = self.pop_income(alive, year, col)
        age = (dec31 - a["birth"][alive]) / DAYS_PER_YEAR
        personal = np.exp(
            a["log_personal"][alive]
            + 0.02 * (year - self.cfg.start_year)
            + self.pop.arrays["_income_noise"][alive, col]
        )
        personal = np.round(np.where(age < 16, personal * 0.05, personal), 0)
        ind = pl.DataFrame(
            {
                "PNR": self.pnrs(alive),
                "PERINDKIALT_13": personal,
                "DISPON_13": np.round(personal * 0.63, 0),
            }
        )
        # one FAIK row per family: written by its reference person (a couple's first-listed
        # partner, or the person living without a partner)
        head = family_reference(a, alive, year) == alive
        self.count("faik_persons_in_a_partner_s_family", int((~head).sum()), defect=False)
        faik = pl.DataFrame(
            {
                "FAMILIE_ID": self.pnrs(alive[head]).alias("FAMILIE_ID"),
                "FAMAEKVIVADISP_13": eq[head],
            }
        )
        return ind, faik

    def pop_income(self, idx: np.ndarray, year: int, col: int) -> np.ndarray:
        """Equivalised disposable family income: a couple's is its reference partner's."""
        a = self.pop.arrays
        idx = family_reference(a, idx, year)
        age = year - year_of(a["birth"][idx])
        log_inc = (
            a["log_income"][idx]
            + 0.02 * (year - self.cfg.start_year)
            - 0.15 * ((age > 67) & (a["age0"][idx] <= 67))
            + a["_income_noise"][idx, col]
        )
        return np.round(np.exp(log_inc), 0)

    def udda(self, idx: np.ndarray, year: int, missing: np.ndarray) -> pl.DataFrame:
        a = self.pop.arrays
        sep30 = day_number(f"{year}-09-30")
        alive = (
            (~a["died"][idx] | (a["death"][idx] > sep30))
            & ((sep30 - a["birth"][idx]) / DAYS_PER_YEAR >= 15)
            & resident(self.pop, idx, sep30)
        )
        keep = idx[alive & ~missing[idx]]
        return pl.DataFrame(
            {
                "PNR": self.pnrs(keep),
                "HFAUDD": self.hfaudd.gather(keep),
                "HF_VFRA": as_date(a["birth"][keep] + int(20 * DAYS_PER_YEAR)),
            }
        )

    # ------------------------------------------------------------------ GP services (SSSY)
    def sssy(self, idx: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
        a = self.pop.arrays
        first, last = self.window(idx, self.start)
        age_mid = self.age_at(idx, (first + last) // 2)
        whos, days, codes, ooh = [], [], [], []
        svc = {code: i for i, code in enumerate(SERVICES)}

        def add(who: np.ndarray, day: np.ndarray, code: str, is_ooh: bool) -> None:
            whos.append(who)
            days.append(day)
            codes.append(np.full(len(who), svc[code], np.int8))
            ooh.append(np.full(len(who), is_ooh))

        names = {"consultation": "0101", "e_consultation": "0105", "phone": "0201"}
        for name, (base, slope) in C.GP_RATES.items():
            w, d = self.scatter(rng, idx, base + slope * age_mid, first, last)
            add(w, d, names[name], False)
        hv_rate = np.where(
            age_mid >= 80,
            C.GP_HOME_VISIT_RATE["80+"],
            np.where(age_mid >= 70, C.GP_HOME_VISIT_RATE["70-79"], C.GP_HOME_VISIT_RATE["<70"]),
        )
        # Practice style: the listed practice's home-visit propensity scales home visits.
        hv_rate = hv_rate * np.exp(self.pop.practices["propensity"][a["practice_idx"][idx]])
        w, d = self.scatter(rng, idx, hv_rate, first, last)
        # The end-of-life process (simulate: gp_hv90, the planted exposure of home death) is
        # the source of every daytime home visit of an adult decedent in the last 90 days of
        # life (day of death and the 89 days before): it has its own base rate, so background
        # home visits are not drawn a second time inside that window. With the payment lag on
        # (realistic registers), background visits stay right up to the window and all other
        # background services (out-of-hours included) stay near death: week- and lag-based
        # windows see them. Clean registers (lag off) also keep the 6 days before the window
        # and the out-of-hours window clear, so a week-based window counts exactly.
        lag = self.cfg.realism("sssy_payment_lag")

        def clear(w: np.ndarray, d: np.ndarray, days: int, home_visit: bool) -> np.ndarray:
            if lag and not home_visit:
                return np.ones(len(w), bool)
            margin = 0 if lag else 7
            return ~(a["adult_decedent"][w] & (d > a["death"][w] - days - margin))

        keep = clear(w, d, 90, home_visit=True)
        add(w[keep], d[keep], "0411", False)
        w, d = self.scatter(rng, idx, np.where(age_mid >= 75, 0.25, 0.0), first, last)
        add(w, d, "0121", False)
        for name, code in (("consultation", "0101"), ("phone", "0201")):
            w, d = self.scatter(rng, idx, np.full(len(idx), C.GP_OOH_RATE[name]), first, last)
            keep = clear(w, d, 30, home_visit=False)
            add(w[keep], d[keep], code, True)
        lo, hi = C.GP_OOH_RATE["home_visit"]
        w, d = self.scatter(rng, idx, np.where(age_mid >= 80, hi, lo), first, last)
        keep = clear(w, d, 30, home_visit=False)
        add(w[keep], d[keep], "0411", True)
        # End of life: home visits in the last 90 days, out-of-hours contacts in the last 30.
        dec = idx[a["adult_decedent"][idx]]
        w = np.repeat(dec, a["gp_hv90"][dec])
        before = np.floor(90 * rng.random(len(w)) ** 1.8).astype(np.int64)
        add(w, a["death"][w] - before, "0411", False)
        ooh_dec = dec[a["gp_ooh30"][dec]]
        w = np.repeat(ooh_dec, 1 + rng.poisson(0.5, len(ooh_dec)))
        before = np.floor(30 * rng.random(len(w))).astype(np.int64)
        hv = rng.random(len(w)) < 0.6
        add(w[hv], a["death"][w[hv]] - before[hv], "0411", True)
        add(w[~hv], a["death"][w[~hv]] - before[~hv], "0201", True)
        # More daytime contact in the last 6 months for people dying of a chronic disease.
        chronic = dec[a["is_cancer"][dec] | a["is_need"][dec]]
        w = np.repeat(chronic, rng.poisson(3.0, len(chronic)))
        before = np.floor(180 * rng.random(len(w))).astype(np.int64)
        add(w, a["death"][w] - before, "0201", False)

        who = np.concatenate(whos)
        day = np.concatenate(days)
        code = np.concatenate(codes)
        is_ooh = np.concatenate(ooh)
        ok = day >= np.maximum(self.start, a["birth"][who])
        ok &= self.in_denmark("sssy", who, day)
        # Capital Region: out-of-hours has been hospital-based (1813) since 2014 -> not in SSSY.
        drop = ok & is_ooh & (day >= day_number("2014-01-01"))
        drop[drop] = a["region"][who[drop]] == 1084
        self.count("sssy_capital_region_ooh_not_in_register", int(drop.sum()), defect=False)
        ok &= ~drop
        who, day, code, is_ooh = who[ok], day[ok], code[ok], is_ooh[ok]
        self._service_truth(idx, who, day, code, is_ooh)
        prac = self.practice_on(who, day)
        lag_w = np.zeros(len(day), np.int64)
        if lag:
            # Payment week: the service week or later (own generator, so the clean registers
            # and every other register are drawn exactly as without the lag).
            r_lag = np.random.default_rng([self.cfg.seed, 10, int(idx[0])])
            weeks = np.array(list(C.SSSY_PAYMENT_LAG_WEEKS), np.int64)
            probs = np.array(list(C.SSSY_PAYMENT_LAG_WEEKS.values()))
            lag_w = weeks[np.searchsorted(np.cumsum(probs) / probs.sum(), r_lag.random(len(day)))]
        pay = day + 7 * lag_w
        # Payment weeks numbered from the week of the first day of the period (weeks start on
        # Monday; day 0 is a Thursday, so a week's Monday is ``day - (day + 3) % 7``), with
        # their ISO year (the year of their Thursday) and text YYWW (HONUGE).
        week0 = self.start - (self.start + 3) % 7
        n_week = (self.end - week0) // 7 + 80  # payment lags reach beyond the period
        mondays = week0 + 7 * np.arange(n_week)
        week_year = year_of(mondays + 3)
        jan1 = (week_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        week_no = (mondays + 3 - jan1) // 7 + 1
        honuge = np.char.add(
            np.char.zfill((week_year % 100).astype(str), 2), np.char.zfill(week_no.astype(str), 2)
        )
        week = (pay - week0) // 7
        # the payment week starts after the person's death
        paid_after_death = a["died"][who] & (mondays[week] > a["death"][who])
        iso_year = week_year[week]
        inside = (iso_year >= self.cfg.start_year) & (iso_year <= self.cfg.end_year)
        late = int((iso_year > self.cfg.end_year).sum())
        self.count("sssy_services_in_a_payment_week_after_the_delivery_period", late, False)
        self.count("sssy_services", int(inside.sum()), False)
        self.count("sssy_services_paid_a_week_or_more_late", int((lag_w[inside] > 0).sum()), False)
        self.count(
            "sssy_services_paid_in_a_week_after_death", int(paid_after_death[inside].sum()), False
        )
        who, week, code, is_ooh = who[inside], week[inside], code[inside], is_ooh[inside]
        prac = prac[inside]
        # One row per person, payment week, service, provider and time of day, in that order
        # within each ISO year (the file): the year and these fields packed into one integer
        # key, so one numpy sort groups and orders the rows.
        prov_ids, prov_rank = self._providers()
        region_ooh = prov_rank[len(self.pop.practices["id"]) + (a["region"][who] % 10) - 1]
        prank = np.where(is_ooh, region_ooh, prov_rank[prac])
        base, n_prov = int(idx.min()), len(prov_ids)
        n_person = int(idx.max()) - base + 1
        n_year = self.cfg.end_year - self.cfg.start_year + 1
        # bit fields, most significant first: year, person, week, service, provider, time of day
        widths = [max(int(x - 1).bit_length(), 1) for x in (n_person, n_week, len(SERVICES))]
        b_person, b_week, b_code = widths
        b_prov = max((n_prov - 1).bit_length(), 1)
        if (n_year - 1).bit_length() + b_person + b_week + b_code + b_prov + 1 > 62:
            raise ValueError(f"chunk of {n_person:,} persons too large for the SSSY row key")
        year_ix = week_year[week] - self.cfg.start_year
        key = (year_ix << b_person) | (who - base)
        key = (((key << b_week) | week) << b_code) | code
        key = (((key << b_prov) | prank) << 1) | is_ooh
        key, n_services = np.unique(key, return_counts=True)
        ooh_row = (key & 1).astype(bool)
        key >>= 1
        prov_row = key & ((1 << b_prov) - 1)
        key >>= b_prov
        code_row = key & ((1 << b_code) - 1)
        key >>= b_code
        week_row = key & ((1 << b_week) - 1)
        who_row = ((key >> b_week) & ((1 << b_person) - 1)) + base
        rows_after = a["died"][who_row] & (mondays[week_row] > a["death"][who_row])
        self.count("sssy_rows_paid_in_a_week_after_death", int(rows_after.sum()), False)
        fees = np.array([C.GP_FEES[c] for c in SERVICES])
        fee = fees[code_row] * np.where(ooh_row, C.OOH_FEE_FACTOR, 1.0)
        speciale = pl.Series([f"80{c}" for c in SERVICES])
        return pl.DataFrame(
            {
                "PNR": self.pnrs(who_row),
                "HONUGE": pl.Series(honuge).gather(week_row),
                "YDERNR": pl.Series(prov_ids.astype(str)).gather(prov_row),
                "SPEC2": pl.Series(["80"]).gather(np.zeros(len(key), np.int64)),
                "SPECIALE": speciale.gather(code_row),
                "YDLTID": pl.Series(["1", "2"]).gather(ooh_row.astype(np.int64)),
                "YDLANT": n_services,
                "BRUHON": np.round(n_services * fee, 2),
                "year": week_year[week_row],
            }
        )

    def _providers(self) -> tuple[np.ndarray, np.ndarray]:
        """SSSY provider numbers in ascending order, and the rank of each practice (by index)
        followed by the five regional out-of-hours services (region code % 10 = 1..5)."""
        practice = self.pop.practices["id"].astype(np.int64)
        ooh = 910000 + np.arange(1, 6)
        ids = np.concatenate([practice, ooh])
        uniq = np.unique(ids)
        return uniq, np.searchsorted(uniq, ids)

    def _service_truth(
        self,
        idx: np.ndarray,
        who: np.ndarray,
        day: np.ndarray,
        code: np.ndarray,
        is_ooh: np.ndarray,
    ) -> None:
        """Per-person truth on service dates: daytime GP home visits in the last 90 days of
        life (day of death and the 89 days before; background and end-of-life visits alike)."""
        a = self.pop.arrays
        if "gp_hv90_service" not in a:
            a["gp_hv90_service"] = np.zeros(self.pop.n, np.int64)
        hv = (code == SERVICES.index("0411")) & ~is_ooh & a["adult_decedent"][who]
        hv &= (day <= a["death"][who]) & (day >= a["death"][who] - 89)
        a["gp_hv90_service"][idx] = np.bincount(who[hv] - idx[0], minlength=len(idx))[idx - idx[0]]

    # ------------------------------------------------------------------ prescriptions (LMDB)
    def lmdb(self, idx: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
        a = self.pop.arrays
        first, last = self.window(idx, self.start)
        age_mid = self.age_at(idx, (first + last) // 2)
        rate = np.where(
            age_mid >= 70,
            C.LMDB_RATES["70+"],
            np.where(age_mid >= 40, C.LMDB_RATES["40-69"], C.LMDB_RATES["<40"]),
        )
        w1, d1 = self.scatter(rng, idx, rate, first, last)
        drugs = {**C.BACKGROUND_ATC, **C.OPIOID_ATC}
        atc_names = list(drugs)
        n_bg = len(C.BACKGROUND_ATC)
        bgw = np.array([C.BACKGROUND_ATC[k][0] for k in C.BACKGROUND_ATC])
        pick1 = rng.choice(n_bg, len(w1), p=bgw / bgw.sum())
        opw = np.array([C.OPIOID_ATC[k][0] for k in C.OPIOID_ATC])
        users = idx[(rng.random(len(idx)) < C.BACKGROUND_OPIOID_USERS) & (age_mid >= 18)]
        f2, l2 = self.window(users, self.start)
        w2, d2 = self.scatter(rng, users, np.full(len(users), 2.0), f2, l2)
        dec = idx[a["adult_decedent"][idx]]
        p = np.where(
            a["is_cancer"][dec],
            C.P_OPIOID_LAST90["cancer"],
            np.where(a["is_need"][dec], C.P_OPIOID_LAST90["need"], C.P_OPIOID_LAST90["other"]),
        )
        eol = dec[rng.random(len(dec)) < p]
        w3 = np.repeat(eol, 1 + rng.poisson(2.0, len(eol)))
        d3 = a["death"][w3] - np.floor(90 * rng.random(len(w3))).astype(np.int64)
        w_op = np.concatenate([w2, w3])
        d_op = np.concatenate([d2, d3])
        pick_op = n_bg + rng.choice(len(opw), len(w_op), p=opw / opw.sum())
        who = np.concatenate([w1, w_op])
        day = np.concatenate([d1, d_op])
        drug = np.concatenate([pick1, pick_op])
        ok = day >= np.maximum(self.start, a["birth"][who])
        ok &= self.in_denmark("lmdb", who, day)
        who, day, drug = who[ok], day[ok], drug[ok]
        # ordered by person, day and drug within each year (the file)
        year = year_of(day)
        # one packed key (year, person, day, drug) instead of a four-key lexsort; both stable
        base = int(idx.min()) if len(idx) else 0
        b_who = max(int(idx.max() - base).bit_length(), 1) if len(idx) else 1
        b_day = max(int(self.end - self.start).bit_length(), 1)
        b_drug = max((len(atc_names) - 1).bit_length(), 1)
        key = (year - self.cfg.start_year) << b_who | (who - base)
        key = ((key << b_day | (day - self.start)) << b_drug) | drug
        order = np.argsort(key, kind="stable")
        who, day, drug, year = who[order], day[order], drug[order], year[order]
        table = np.array([drugs[k][1:] for k in atc_names], dtype=object)
        return pl.DataFrame(
            {
                "PNR": self.pnrs(who),
                "EKSD": as_date(day),
                "ATC": pl.Series(atc_names).gather(drug),
                "VNR": pl.Series([str(t[0]) for t in table]).gather(drug),
                "APK": np.ones(len(who)),
                "PACKSIZE": np.array([t[1] for t in table], float)[drug],
                "VOLUME": np.array([t[2] for t in table], float)[drug],
                "year": year,
            }
        )

    # ------------------------------------------------------------------ hospital contacts
    def lpr(self, idx: np.ndarray, rng: np.random.Generator, chunk: int) -> dict[str, pl.DataFrame]:
        """Hospital contacts of the chunk, split into LPR2 (before LPR3 start) and LPR3."""
        a, dep = self.pop.arrays, self.dep
        first, last = self.window(idx, self.lpr_start)
        # Non-hospital deaths: background stays end before the day of death.
        last_bg = np.where(a["died"][idx], a["death"][idx] - 1, last)
        age_mid = np.maximum(self.age_at(idx, (first + last) // 2) - 40, 0)
        parts: list[tuple[np.ndarray, ...]] = []

        def part(
            who: np.ndarray,
            start: np.ndarray,
            los: np.ndarray,
            kind: int | np.ndarray,
            acute: bool | np.ndarray,
            dept: np.ndarray,
            code: np.ndarray,
        ) -> None:
            n = len(who)
            parts.append(
                (
                    who,
                    start.astype(np.int64),
                    np.asarray(los, np.int64),
                    np.broadcast_to(np.asarray(kind, np.int64), (n,)),
                    np.broadcast_to(np.asarray(acute, bool), (n,)),
                    dept,
                    np.asarray(code, np.int64),
                )
            )

        def common(n: int) -> np.ndarray:
            return self.common_ix[rng.integers(0, len(self.common_ix), n)]

        for kind_name, kind, dkind, p_acute in (
            ("inpatient", 0, "medical", 0.6),
            ("outpatient", 2, "surgical", 0.1),
            ("emergency", 3, "emergency", 1.0),
        ):
            base, slope = C.LPR_RATES[kind_name]
            w, d = self.scatter(rng, idx, base + slope * age_mid, first, last_bg)
            los = rng.geometric(0.25, len(w)) if kind == 0 else np.zeros(len(w), np.int64)
            part(
                w,
                d,
                los,
                kind,
                rng.random(len(w)) < p_acute,
                dep.by(a["region"][w], dkind, rng),
                common(len(w)),
            )
        # Cancer: diagnosis contact and oncology follow-up in the first two years.
        ca = idx[a["cancer_dx"][idx] >= 0]
        cdx = a["cancer_dx"][ca]
        part(
            ca,
            cdx,
            rng.geometric(0.2, len(ca)),
            0,
            False,
            dep.by(a["region"][ca], "surgical", rng),
            self.car_ix[ca],
        )
        stop = np.minimum(cdx + 730, np.where(a["died"][ca], a["death"][ca] - 1, self.end))
        w, d = self.scatter(rng, ca, np.full(len(ca), 6.0), cdx + 1, stop)
        part(
            w,
            d,
            np.zeros(len(w)),
            2,
            False,
            dep.by(a["region"][w], "oncology", rng),
            self.car_ix[w],
        )
        # Non-cancer chronic disease: first diagnosis (inpatient) and follow-up.
        nc = idx[a["noncancer_dx"][idx] >= 0]
        ndx = a["noncancer_dx"][nc]
        part(
            nc,
            ndx,
            rng.geometric(0.2, len(nc)),
            0,
            True,
            dep.by(a["region"][nc], "medical", rng),
            self.cause_ix[nc],
        )
        w, d = self.scatter(rng, nc, np.full(len(nc), 2.0), ndx + 1, a["death"][nc] - 1)
        part(
            w,
            d,
            np.zeros(len(w)),
            2,
            False,
            dep.by(a["region"][w], "medical", rng),
            self.cause_ix[w],
        )
        # End-of-life admissions of adult decedents.
        dec = idx[a["adult_decedent"][idx]]
        mean = np.where(
            a["is_cancer"][dec],
            C.EOL_EXTRA_ADMISSIONS["cancer"],
            np.where(
                a["is_need"][dec], C.EOL_EXTRA_ADMISSIONS["need"], C.EOL_EXTRA_ADMISSIONS["other"]
            ),
        )
        w = np.repeat(dec, rng.poisson(mean))
        d = a["death"][w] - 1 - np.floor(rng.exponential(70.0, len(w))).astype(np.int64)
        los = np.maximum(np.minimum(rng.geometric(0.2, len(w)), a["death"][w] - 1 - d), 0)
        code = np.where(
            a["is_cancer"][w],
            self.car_ix[w],
            np.where(a["is_need"][w], self.cause_ix[w], common(len(w))),
        )
        part(w, d, los, 0, True, dep.by(a["region"][w], "medical", rng), code)
        # Hospital deaths: an inpatient stay ending on the day of death.
        hd = idx[a["died"][idx] & (a["place"][idx] == PLACE_HOSPITAL)]
        los = rng.geometric(1 / 6, len(hd))
        code = np.where(a["is_cancer"][hd], self.car_ix[hd], self.cause_ix[hd])
        part(hd, a["death"][hd] - los, los, 0, True, dep.by(a["region"][hd], "medical", rng), code)
        # Hospital-based SPC: contacts with the palliative team from first contact to death.
        spc = idx[a["spc_hospital"][idx] & (a["spc_contact"][idx] >= 0)]
        c0 = a["spc_contact"][spc]
        stop = np.where(a["died"][spc], a["death"][spc], self.end)
        w, d = self.scatter(rng, spc, np.full(len(spc), 40.0), c0 + 1, stop - 1)
        w = np.concatenate([spc, w])
        d = np.concatenate([c0, d])
        part(
            w,
            d,
            np.zeros(len(w)),
            2,
            False,
            self.spc_department(w),
            np.full(len(w), self.palliative_ix),
        )

        who, start, los, kind, acute, dept, code = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        ok = (start >= np.maximum(self.lpr_start, a["birth"][who])) & (start <= self.end)
        ok &= self.in_denmark("lpr", who, start)
        who, start, los, kind, acute, dept, code = (
            x[ok] for x in (who, start, los, kind, acute, dept, code)
        )
        end = start + los
        end = np.where(a["died"][who], np.minimum(end, a["death"][who]), np.minimum(end, self.end))
        # one packed key (person, start, end) instead of a three-key lexsort; both stable
        base = int(idx.min()) if len(idx) else 0
        b_day = max(int(self.end - self.lpr_start).bit_length(), 1)
        key = ((who - base) << b_day | (start - self.lpr_start)) << b_day | (end - self.lpr_start)
        order = np.argsort(key, kind="stable")
        rec = {
            "who": who[order],
            "start": start[order],
            "end": end[order],
            "kind": kind[order],
            "acute": acute[order],
            "dept": dept[order],
            "code": code[order],
        }
        n = len(who)
        nb = rng.poisson(0.5, n)
        b_of = np.repeat(np.arange(n), nb)  # secondary diagnoses: row they belong to
        b_code = common(len(b_of))
        is3 = rec["start"] >= self.lpr3_start
        out = {}
        out.update(self._lpr2(np.flatnonzero(~is3), rec, b_of, b_code, rng, chunk))
        out.update(self._lpr3(np.flatnonzero(is3), rec, b_of, b_code, rng, chunk))
        return out

    def spc_department(self, who: np.ndarray, other: bool = False) -> np.ndarray:
        """The palliative department each person is followed by (stable per person).

        ``other=True`` gives another palliative department of the same region (a second unit
        of a multi-unit course) where the region has more than one.
        """
        a, dep = self.pop.arrays, self.dep
        out = np.zeros(len(who), np.int64)
        for reg in np.unique(a["region"][who]):
            cand = np.flatnonzero((dep.region == reg) & (dep.kind == "palliative"))
            sel = np.flatnonzero(a["region"][who] == reg)
            out[sel] = cand[(self.pnr_hash(who[sel]) + int(other)) % len(cand)]
        return out

    def _rows_with_duplicates(
        self, rows: np.ndarray, rng: np.random.Generator, share: float, key: str
    ) -> np.ndarray:
        if not self.cfg.messiness or len(rows) == 0:
            return rows
        dup = rows[rng.random(len(rows)) < share]
        self.count(key, len(dup))
        return np.sort(np.concatenate([rows, dup]), kind="stable")

    def _diagnoses(
        self,
        rows: np.ndarray,
        rec: dict[str, np.ndarray],
        b_of: np.ndarray,
        b_code: np.ndarray,
        key: pl.Series,
        years: np.ndarray,
        rng: np.random.Generator,
        names: tuple[str, str, str],
    ) -> pl.DataFrame:
        """Diagnosis rows: the action diagnosis of every written record (duplicates included)
        and the secondary diagnoses, attached to the first copy of each record."""
        first_of = np.full(len(rec["who"]), -1, np.int64)
        first_of[rows[::-1]] = np.arange(len(rows))[::-1]
        sel = first_of[b_of] >= 0
        b_rows = first_of[b_of[sel]]
        key_col, code_col, type_col = names
        codes = np.concatenate([rec["code"][rows], b_code[sel]])
        kind = np.repeat(np.array([0, 1]), [len(rows), len(b_rows)])
        year = np.concatenate([years, years[b_rows]])
        df = pl.DataFrame(
            {
                key_col: pl.concat([key, key.gather(b_rows)]),
                code_col: self.codes(codes, rng, code_col),
                type_col: pl.Series(["A", "B"]).gather(kind),
                "year": year,
            }
        )
        # ordered by record (keys number the records in their order, at one width, so this is
        # their text order), action diagnosis first, ties as drawn
        record = np.concatenate([np.arange(len(rows)), b_rows])
        return df[np.argsort((record << 1) | kind, kind="stable")]

    def _keys(self, chunk: int, n: int, width: int) -> pl.Series:
        return pl.select(
            pl.format(
                "{}{}",
                pl.lit(f"{chunk + 1:03d}"),
                pl.int_range(0, n, dtype=pl.Int64).cast(pl.String).str.zfill(width),
            )
        ).to_series()

    def _lpr2(
        self,
        rows: np.ndarray,
        rec: dict[str, np.ndarray],
        b_of: np.ndarray,
        b_code: np.ndarray,
        rng: np.random.Generator,
        chunk: int,
    ) -> dict[str, pl.DataFrame]:
        dep = self.dep
        rows = self._rows_with_duplicates(
            rows, rng, C.MESS["lpr2_duplicate"], "lpr2_duplicate_admissions"
        )
        recnum = self._keys(chunk, len(rows), 9).alias("RECNUM")
        k = rec["kind"][rows]
        start, end, d = rec["start"][rows], rec["end"][rows], rec["dept"][rows]
        er_after = (k == 3) & (start >= day_number("2014-01-01"))
        years = year_of(start)
        adm = pl.DataFrame(
            {
                "PNR": self.pnrs(rec["who"][rows]),
                "RECNUM": recnum,
                "C_SGH": pl.Series(dep.sgh).gather(d),
                "C_AFD": pl.Series(dep.afd).gather(d),
                "C_SPEC": pl.Series(dep.spec_code).gather(d),
                "C_PATTYPE": pl.Series(np.where(er_after, 2, k)).cast(pl.String),
                "C_INDM": pl.Series(["2", "1"]).gather(
                    (rec["acute"][rows] | (k == 3)).view(np.int8)
                ),
                "D_INDDTO": as_date(start),
                "D_UDDTO": as_date(end),
                "V_SENGDAGE": np.where(k == 0, end - start, 0),
                "C_ADIAG": self.codes(rec["code"][rows], rng, "C_ADIAG"),
                "year": years,
            }
        )
        diag = self._diagnoses(
            rows, rec, b_of, b_code, recnum, years, rng, ("RECNUM", "C_DIAG", "C_DIAGTYPE")
        ).with_columns(C_TILDIAG=pl.lit(None, pl.String))
        return {"lpr_adm": adm, "lpr_diag": diag}

    def _lpr3(
        self,
        rows: np.ndarray,
        rec: dict[str, np.ndarray],
        b_of: np.ndarray,
        b_code: np.ndarray,
        rng: np.random.Generator,
        chunk: int,
    ) -> dict[str, pl.DataFrame]:
        dep = self.dep
        rows = self._rows_with_duplicates(
            rows, rng, C.MESS["lpr3_duplicate"], "lpr3_duplicate_contacts"
        )
        key = self._keys(chunk, len(rows), 10).alias("DW_EK_KONTAKT")
        who = rec["who"][rows]
        k = rec["kind"][rows]
        start, end, d = rec["start"][rows], rec["end"][rows], rec["dept"][rows]
        n = len(rows)
        hour_s = rng.integers(7, 22, n)
        hour_e = np.where(
            k == 0, rng.integers(8, 18, n), np.minimum(hour_s + rng.integers(1, 4, n), 23)
        )
        is_pal = dep.kind[d] == "palliative"
        ktype = np.where(is_pal & (rng.random(n) < 0.6), 1, np.where(rng.random(n) < 0.08, 2, 0))
        hours = pl.Series([f"{h:02d}:00:00" for h in range(24)])
        years = year_of(start)
        forloeb = pl.select(pl.format("F{}", pl.Series(who).cast(pl.String).str.zfill(10)))
        kontakter = pl.DataFrame(
            {
                "PNR": self.pnrs(who),
                "DW_EK_KONTAKT": key,
                "DW_EK_FORLOEB": forloeb.to_series(),
                "SORENHED_ANS": pl.Series(dep.sor).gather(d),
                "hovedspeciale_ans": pl.Series(dep.specialty).gather(d),
                "dato_start": as_date(start),
                "tidspunkt_start": hours.gather(hour_s),
                "dato_slut": as_date(end),
                "tidspunkt_slut": hours.gather(hour_e),
                "kontakttype": pl.Series(["ALCA00", "ALCA10", "ALCA20"]).gather(ktype),
                "prioritet": pl.Series(["ATA3", "ATA1"]).gather(
                    (rec["acute"][rows] | (k == 3)).view(np.int8)
                ),
                "aktionsdiagnose": self.codes(rec["code"][rows], rng, "aktionsdiagnose"),
                "year": years,
            }
        )
        diagnoser = self._diagnoses(
            rows,
            rec,
            b_of,
            b_code,
            key,
            years,
            rng,
            ("DW_EK_KONTAKT", "diagnosekode", "diagnosetype"),
        )
        diagnoser = diagnoser.with_columns(
            senere_afkraeftet=pl.Series(["Nej", "Ja"]).gather(
                (rng.random(diagnoser.height) < 0.01).view(np.int8)
            )
        )
        return {"lpr_f_kontakter": kontakter, "lpr_f_diagnoser": diagnoser}


def load_hfaudd() -> dict[str, list[str]]:
    """Synthetic HFAUDD codes by paleval education level."""
    t = load_codes("education_hfaudd")
    out: dict[str, list[str]] = {}
    for level, code in zip(t["level"], t["HFAUDD"], strict=True):
        out.setdefault(level, []).append(code)
    return out
