"""Which of a patient's several DPD referrals count (``referral_rule``, issue 13).

RKKP's rule could not be verified (``docs/methods.md``), so the three readings are options:
``first_admitted`` (default), ``first_referral`` and ``any``. Expected values are counted by
hand from the rows (comments) and, on random multi-unit courses, by a plain-Python count over
the raw referral rows that shares no code with ``paleval.analyses.indicators``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from paleval.analyses.indicators import REFERRAL_RULES, quality_indicators, waiting_time

d = dt.date
_NE = "opfylder_ikke_kriterier"
_SCHEMA = {
    "PNR": pl.String, "ENHED_ID": pl.String, "ENHED_TYPE": pl.String, "HENV_DATO": pl.Date,
    "MODTAGET": pl.Int64, "FOERSTE_KONTAKT_DATO": pl.Date, "IKKE_MODTAGET_AARSAG": pl.String,
    "EORTC_UDFYLDT": pl.Int64, "MDK": pl.Int64,
}  # fmt: skip
# Four patients, all died in 2019; rows deliberately out of date order.
_ROWS = pl.DataFrame(
    [
        # A: team course first (19 days, no EORTC, no MDC), hospice course later (2 days, both)
        ("A", "u2", "hospice", d(2019, 2, 1), 1, d(2019, 2, 3), None, 1, 1),
        ("A", "u1", "palliativt_team", d(2019, 1, 1), 1, d(2019, 1, 20), None, 0, 0),
        # B: first referral declined by the patient (eligible), admitted elsewhere in 4 days
        ("B", "u1", "palliativt_team", d(2019, 3, 1), 0, None, "oensker_ikke", None, None),
        ("B", "u2", "hospice", d(2019, 4, 1), 1, d(2019, 4, 5), None, 1, 1),
        # C: first referral not eligible, admitted elsewhere after 20 days (EORTC, no MDC)
        ("C", "u2", "hospice", d(2019, 5, 10), 1, d(2019, 5, 30), None, 1, 0),
        ("C", "u1", "palliativt_team", d(2019, 5, 1), 0, None, _NE, None, None),
        # D: one referral, 2 days, EORTC and MDC (the same under every rule)
        ("D", "u1", "palliativt_team", d(2019, 6, 1), 1, d(2019, 6, 3), None, 1, 1),
    ],
    schema=_SCHEMA,
    orient="row",
)
_DEC = pl.DataFrame(
    {
        "PNR": ["A", "B", "C", "D"],
        "death_date": [d(2019, 9, 1)] * 4,
        "cancer": [True] * 4,
        "cause_group": ["cancer"] * 4,
        "spc_admitted": [True] * 4,
    }
).with_columns(death_year=pl.col("death_date").dt.year())

# indicator -> (numerator, denominator), counted by hand:
_EXPECTED = {
    # index = earliest first contact: A u1 (19 d, EORTC 0, MDC at u2), B u2, C u2, D
    "first_admitted": {"1": (4, 4), "2": (2, 4), "4": (3, 4), "5": (3, 4)},
    # earliest referral only: A u1 (admitted, 19 d, EORTC 0, MDC 0); B u1 eligible, not
    # admitted; C u1 not eligible (out of every indicator); D
    "first_referral": {"1": (2, 3), "2": (1, 2), "4": (1, 2), "5": (1, 2)},
    # any admitted course: A 2 d with EORTC and MDC; B 4 d; C 20 d, EORTC, no MDC; D
    "any": {"1": (4, 4), "2": (3, 4), "4": (4, 4), "5": (3, 4)},
}


def _counts(res) -> dict[str, tuple[int, int]]:
    return {
        r["indicator"]: (r["numerator"], r["denominator"])
        for r in res.table.iter_rows(named=True)
        if r["indicator"] in ("1", "2", "4", "5")
    }


@pytest.mark.parametrize("rule", REFERRAL_RULES)
def test_referral_rules_count_by_hand(rule):
    res = quality_indicators(_ROWS, _DEC, by=("year",), referral_rule=rule)
    assert _counts(res) == _EXPECTED[rule]
    assert res.params["referral_rule"] == rule
    assert res.n == 4  # patients, under every rule
    assert any("not verified" in n for n in res.notes)


def test_the_three_rules_differ_and_the_default_is_first_admitted():
    default = quality_indicators(_ROWS, _DEC, by=("year",))
    assert _counts(default) == _EXPECTED["first_admitted"]
    got = {r: _counts(quality_indicators(_ROWS, _DEC, referral_rule=r)) for r in REFERRAL_RULES}
    for ind in ("2", "4"):  # each rule gives its own value for indicators 2 and 4
        assert len({got[r][ind] for r in REFERRAL_RULES}) == 3
    # per referral every row counts: none of the patient rules is the row count
    rows = _counts(quality_indicators(_ROWS, _DEC, unit="referral"))
    assert rows["1"] == (5, 6) and all(rows != got[r] for r in REFERRAL_RULES)
    with pytest.raises(ValueError, match="referral_rule must be one of"):
        quality_indicators(_ROWS, referral_rule="last")


def test_unit_split_follows_the_rule():
    # first_referral attributes B to u1 (the earliest referral); first_admitted to u2
    first = quality_indicators(_ROWS, _DEC, by=("unit",), referral_rule="first_referral")
    adm = quality_indicators(_ROWS, _DEC, by=("unit",))

    def ind1(res, unit):
        row = res.table.filter((pl.col("indicator") == "1") & (pl.col("unit") == unit))
        return row.select("numerator", "denominator").row(0)

    # first_referral: u1 holds A (admitted), B (not), D (admitted); C is out
    assert ind1(first, "u1") == (2, 3)
    assert first.table.filter((pl.col("indicator") == "1") & (pl.col("unit") == "u2")).height == 0
    # first_admitted: u1 holds A, D; u2 holds B, C
    assert ind1(adm, "u1") == (2, 2) and ind1(adm, "u2") == (2, 2)


def test_waiting_time_follows_the_rule():
    w = {
        r: waiting_time(_ROWS, decedents=_DEC, by=("year",), referral_rule=r).table.row(
            0, named=True
        )
        for r in REFERRAL_RULES
    }
    # first_admitted: A 19, B 4, C 20, D 2 -> median 11.5, 2 within 10 days
    assert (w["first_admitted"]["n"], w["first_admitted"]["median_days"]) == (4, 11.5)
    # first_referral: A 19, D 2 (B and C were not admitted at their first referral)
    assert (w["first_referral"]["n"], w["first_referral"]["n_within"]) == (2, 1)
    # any: A 2, B 4, C 20, D 2 -> median 3
    assert (w["any"]["n"], w["any"]["n_within"], w["any"]["median_days"]) == (4, 3, 3.0)


# -- random multi-unit courses against a plain-Python count over the raw rows ------------------
def _random_dpd(seed: int, n_patients: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    reasons = [None, "oensker_ikke", "doed_foer_kontakt", _NE]
    for i in range(n_patients):
        k = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        for j in range(k):
            henv = d(2019, 1, 1) + dt.timedelta(days=int(rng.integers(0, 200)))
            admitted = int(rng.random() < 0.7)
            contact = henv + dt.timedelta(days=int(rng.integers(0, 25))) if admitted else None
            if admitted and rng.random() < 0.05:
                contact = None  # admitted without a contact date
            reason = None if admitted else reasons[int(rng.integers(1, 4))]
            eortc = int(rng.integers(0, 2)) if admitted and rng.random() < 0.9 else None
            mdk = int(rng.integers(0, 2)) if admitted and rng.random() < 0.9 else None
            rows.append((f"p{i}", f"u{j}{int(rng.integers(0, 3))}", "hospice", henv, admitted,
                         contact, reason, eortc, mdk))  # fmt: skip
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").sample(fraction=1.0, seed=seed,
                                                                   shuffle=True)  # fmt: skip


def _expected(raw: pl.DataFrame, rule: str, days: int = 10) -> dict[str, tuple[int, int]]:
    """Count the indicators per patient from the raw rows, in plain Python."""
    by_patient: dict[str, list[dict]] = {}
    for r in raw.iter_rows(named=True):
        by_patient.setdefault(r["PNR"], []).append(r)
    num = dict.fromkeys(("1", "2", "4", "5"), 0)
    den = dict.fromkeys(("1", "2", "4", "5"), 0)

    def eligible(r):
        return r["MODTAGET"] == 1 or r["IKKE_MODTAGET_AARSAG"] != _NE

    def wait(r):
        return (r["FOERSTE_KONTAKT_DATO"] - r["HENV_DATO"]).days

    for refs in by_patient.values():
        adm = [r for r in refs if r["MODTAGET"] == 1]
        if rule == "first_referral":
            first = min(refs, key=lambda r: (r["HENV_DATO"], r["ENHED_ID"]))
            if not eligible(first):
                continue
            den["1"] += 1
            if first["MODTAGET"] != 1:
                continue
            num["1"] += 1
            if first["FOERSTE_KONTAKT_DATO"] is not None:
                den["2"] += 1
                num["2"] += wait(first) <= days
            for ind, col in (("4", "EORTC_UDFYLDT"), ("5", "MDK")):
                den[ind] += 1
                num[ind] += first[col] == 1
            continue
        if any(eligible(r) for r in refs):
            den["1"] += 1
            num["1"] += bool(adm)
        if not adm:
            continue
        dated = [r for r in adm if r["FOERSTE_KONTAKT_DATO"] is not None]
        for ind in ("4", "5"):
            den[ind] += 1
        num["5"] += any(r["MDK"] == 1 for r in adm)
        if rule == "any":
            num["4"] += any(r["EORTC_UDFYLDT"] == 1 for r in adm)
            if dated:
                den["2"] += 1
                num["2"] += min(wait(r) for r in dated) <= days
        else:  # first_admitted: earliest first contact, then referral date, then unit
            index = min(
                adm,
                key=lambda r: (
                    r["FOERSTE_KONTAKT_DATO"] or d(9999, 1, 1),
                    r["HENV_DATO"],
                    r["ENHED_ID"],
                ),
            )
            num["4"] += index["EORTC_UDFYLDT"] == 1
            if index["FOERSTE_KONTAKT_DATO"] is not None:
                den["2"] += 1
                num["2"] += wait(index) <= days
    return {k: (num[k], den[k]) for k in num}


@pytest.mark.parametrize("seed", [3, 41])
@pytest.mark.parametrize("rule", REFERRAL_RULES)
def test_random_courses_match_an_independent_count(seed, rule):
    raw = _random_dpd(seed)
    assert raw["PNR"].n_unique() < raw.height  # several referrals per patient
    res = quality_indicators(raw, referral_rule=rule, by=())
    assert _counts(res) == _expected(raw, rule)
