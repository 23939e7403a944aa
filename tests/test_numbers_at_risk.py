"""Numbers at risk under the cumulative-incidence curves, disclosure-controlled (issue 17).

The counts are computed by hand from a small survival data set (time in days, status 1 =
referral, 2 = death, 0 = censored); the table under the axes must show the published number
at risk at each reporting time and ``"[s]"`` where disclosure control hid it, including a
number of 5 or more that the neighbouring counts would reveal (which a rule on the number at
risk alone would print).
"""

from __future__ import annotations

import matplotlib
import polars as pl

from paleval.analyses import TimeToReferralResult
from paleval.analyses.referral import cif_protection

matplotlib.use("Agg")

PERSONS = {
    # two persons censored between day 30 and day 90: at day 90, n - n_risk - events -
    # n_competing = 2 censored, so a count at day 90 must go although n_risk is 58; eight
    # more censored by day 180, so days 30 and 180 may be printed
    "a": [(10, 1)] * 10
    + [(60, 1)] * 10
    + [(120, 1)] * 10
    + [(20, 2)] * 10
    + [(70, 2)] * 10
    + [(130, 2)] * 10
    + [(50, 0)] * 2
    + [(160, 0)] * 8
    + [(400, 0)] * 30,
    "b": [(10, 1)] * 10 + [(100, 1)] * 10 + [(40, 2)] * 10 + [(150, 2)] * 10 + [(400, 0)] * 20,
    "c": [(12, 1)] * 12 + [(95, 1)] * 10 + [(45, 2)] * 10 + [(170, 2)] * 10 + [(500, 0)] * 30,
}
# the same without the small censored step: nothing to hide, every number at risk printed
CLEAN = {
    **PERSONS,
    "a": [(10, 1)] * 10
    + [(60, 1)] * 10
    + [(120, 1)] * 10
    + [(20, 2)] * 10
    + [(70, 2)] * 10
    + [(130, 2)] * 10
    + [(50, 0)] * 10
    + [(160, 0)] * 8
    + [(400, 0)] * 22,
}
TIMES = [30, 90, 180]


def _table(persons: dict = PERSONS) -> pl.DataFrame:
    rows = []
    for g, people in persons.items():
        for t in [0, *TIMES]:
            rows.append(
                {
                    "group": g,
                    "time": float(t),
                    "n": len(people),
                    "n_risk": sum(1 for x, _ in people if x > t),
                    "events": sum(1 for x, s in people if x <= t and s == 1),
                    "n_competing": sum(1 for x, s in people if x <= t and s == 2),
                }
            )
    return pl.DataFrame(rows).with_columns(
        estimate=pl.col("events") / pl.col("n"),
        std_error=pl.lit(0.05),
        conf_low=pl.col("events") / pl.col("n") * 0.8,
        conf_high=pl.col("events") / pl.col("n") * 1.2,
    )


def _result(persons: dict = PERSONS) -> TimeToReferralResult:
    cif = _table(persons)
    return TimeToReferralResult(
        "referral",
        {"cif": cif, "at_times": cif.filter(pl.col("time").is_in([float(t) for t in TIMES]))},
        232,
        params={"times": TIMES, "outcome": "referral", "by": "group"},
        protection={"cif": cif_protection("group"), "at_times": cif_protection("group")},
    )


def test_hand_counts() -> None:
    t = _table().filter(pl.col("group") == "a")
    # by hand: 100 persons; by day 30, 10 referred and 10 dead; by day 90 also 10 + 10 and
    # 2 censored; by day 180 another 10 + 10 and 8 censored
    assert t["n_risk"].to_list() == [100, 80, 58, 30]
    assert (_table()["n"] - _table()["n_risk"] - _table()["events"] >= 0).all()


def _hand(persons: dict) -> dict[str, list[int]]:
    return {
        g: [len(p)] + [sum(1 for x, _ in p if x > t) for t in TIMES] for g, p in persons.items()
    }


def test_clean_numbers_at_risk_are_all_printed_as_counted_by_hand() -> None:
    times, rows = _result(CLEAN).numbers_at_risk()
    assert times == [0.0, 30.0, 90.0, 180.0]
    assert rows == [(g.upper(), [str(v) for v in vals]) for g, vals in _hand(CLEAN).items()]
    assert rows[0] == ("A", ["100", "80", "50", "22"])  # by hand, group a


def test_numbers_at_risk_published_or_marked() -> None:
    res = _result()
    times, rows = res.numbers_at_risk()
    assert times == [0.0, 30.0, 90.0, 180.0]
    hand = _hand(PERSONS)
    pub = res.disclosed().tables["at_times"]
    marked_large = 0
    for (name, cells), g in zip(rows, PERSONS, strict=True):
        assert name == g.upper()
        assert cells[0] == str(hand[g][0])  # time 0: the group size, a published total
        for k, t in enumerate(TIMES, start=1):
            row = pub.filter((pl.col("group") == g) & (pl.col("time") == t))
            shown = row["n_risk"][0]
            if shown is None:
                assert cells[k] == "[s]"
                marked_large += hand[g][k] >= 5
            else:
                assert cells[k] == str(hand[g][k]) == str(shown)
    # a number at risk of 5 or more that differencing would reveal is hidden too: day 90 of
    # group a (58 at risk, but 2 censored since day 30)
    assert rows[0][1][2] == "[s]" and hand["a"][2] == 58
    assert marked_large >= 1


def test_a_raw_result_is_disclosed_before_its_numbers_at_risk_are_drawn() -> None:
    res = _result()
    assert res.numbers_at_risk() == res.disclosed().numbers_at_risk()
    ax = res.plot("cif")
    texts = [t.get_text() for t in ax.texts]
    assert "Number at risk" in texts and "[s]" in texts
    _, rows = res.numbers_at_risk()
    for _, cells in rows:
        assert all(c in texts for c in cells)
    da = res.plot("cif", lang="da")
    assert "Antal i risiko" in [t.get_text() for t in da.texts]


def test_a_small_number_at_risk_is_never_printed() -> None:
    res = _result()
    _, rows = res.numbers_at_risk()
    for _, cells in rows:
        for c in cells:
            assert c == "[s]" or int(c) >= 5
