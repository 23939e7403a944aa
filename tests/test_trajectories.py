"""Care in the last year of life: weekly use and Earle's indicators, checked independently.

Expected values are computed in plain Python from the raw rows (day by day, night by night,
``datetime.date.fromisocalendar`` for the SSSY payment weeks), never with the code under test.
Each test names the wrong definition it would catch.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.analyses.trajectories import care_trajectories
from paleval.cohort.trajectories import add_aggressiveness, care_use_unknown, weekly_care_use
from paleval.disclosure import count_columns

D = dt.date
CODES = Path(__file__).resolve().parents[1] / "src" / "paleval" / "codes" / "data"


def _contacts(rows: list[tuple]) -> pl.LazyFrame:
    cols = ["PNR", "start", "end", "inpatient", "acute", "department"]
    return pl.LazyFrame(rows, schema=cols, orient="row").with_columns(
        contact_id=pl.int_range(pl.len()).cast(pl.String),
        source=pl.lit("LPR3"),
        action_diagnosis=pl.lit("DI50"),
    )


def _week(death: dt.date, day: dt.date) -> int:
    return (death - day).days // 7 + 1


def _expected_lpr(cohort: dict[str, dt.date], rows: list[tuple], weeks: int = 52):
    """Nights, acute admissions and emergency contacts per (person, week), in plain Python."""
    out: dict[tuple[str, str, int], int] = defaultdict(int)
    seen = set()
    nights = defaultdict(set)
    for pnr, start, end, inpatient, acute, dept in rows:
        key = (pnr, start, end, dept)
        if pnr not in cohort or key in seen:  # exact duplicates count once
            continue
        seen.add(key)
        death = cohort[pnr]
        if inpatient:
            day = start
            while day < end and day < death:  # nights start .. end - 1, before the death day
                if 1 <= _week(death, day) <= weeks:
                    nights[pnr].add(day)
                day += dt.timedelta(days=1)
        if acute and start <= death and 1 <= _week(death, start) <= weeks:
            m = "acute_admissions" if inpatient else "emergency_contacts"
            out[(pnr, m, _week(death, start))] += 1
    for pnr, days in nights.items():
        for day in days:
            out[(pnr, "hospital_nights", _week(cohort[pnr], day))] += 1
    return dict(out)


def _as_dict(frame: pl.DataFrame) -> dict[tuple[str, str, int], int]:
    return {(p, m, w): c for p, m, w, c in frame.select("PNR", "measure", "week", "count").rows()}


ROWS = [
    # a: a stay across the 52-week boundary, a transfer (overlapping stays), a stay ending
    # after death, an exact duplicate, an emergency contact on the death day
    ("a", D(2020, 3, 1), D(2020, 3, 20), True, True, "x"),
    ("a", D(2020, 3, 1), D(2020, 3, 20), True, True, "x"),
    ("a", D(2020, 3, 18), D(2020, 3, 25), True, False, "y"),
    ("a", D(2021, 2, 20), D(2021, 3, 10), True, True, "x"),
    ("a", D(2021, 3, 2), D(2021, 3, 2), False, True, "z"),
    ("a", D(2021, 3, 3), D(2021, 3, 3), False, True, "z"),  # after death: not counted
    # b: a planned (non-acute) outpatient visit; acute admissions 363 days before death (the
    # first day of week 52) and 364 days before (week 53: not counted)
    ("b", D(2020, 6, 1), D(2020, 6, 1), False, False, "x"),
    ("b", D(2019, 6, 4), D(2019, 6, 6), True, True, "x"),
    ("b", D(2019, 6, 3), D(2019, 6, 4), True, True, "w"),
    ("c", D(2020, 1, 1), D(2020, 1, 9), True, True, "x"),  # not in the cohort
]
COHORT = {"a": D(2021, 3, 2), "b": D(2020, 6, 1)}


def test_lpr_measures_equal_a_night_by_night_count() -> None:
    """Fails on: nights counted per stay (transfers twice), nights on or after the death day,
    duplicates counted twice, contacts after death, an off-by-one week boundary."""
    cohort = pl.DataFrame({"PNR": list(COHORT), "death_date": list(COHORT.values())})
    got = _as_dict(weekly_care_use(cohort, contacts=_contacts(ROWS)).collect())
    expected = _expected_lpr(COHORT, ROWS)
    assert got == expected
    # the last 364 days start 2020-03-04: the first stay gives 03-04 .. 03-19 (16 nights), the
    # transfer only 03-20 .. 03-24 (5 new nights), the last stay 2021-02-20 .. 03-01 (10)
    assert sum(c for (p, m, _), c in got.items() if p == "a" and m == "hospital_nights") == 31
    # b's admission 363 days before death is in week 52, the one 364 days before is not
    assert got[("b", "acute_admissions", 52)] == 1
    assert got[("b", "hospital_nights", 52)] == 2


def test_aggressiveness_counts_the_last_days_only() -> None:
    """Fails on: a window of days + 1 days, admissions that started before the window counted,
    the death day left out."""
    cohort = pl.DataFrame({"PNR": list(COHORT), "death_date": list(COHORT.values())})
    out = add_aggressiveness(cohort, _contacts(ROWS), days=30).collect()
    a = out.row(0, named=True)
    # window 2021-02-01 .. 2021-03-02: the stay from 02-20 gives the nights 02-20 .. 03-01
    # (9 + 1), one acute admission starting inside, one emergency contact on the death day
    got = (a["acute_admissions_30d"], a["hospital_nights_30d"], a["emergency_contacts_30d"])
    assert got == (1, 10, 1)
    b = out.row(1, named=True)
    assert (b["acute_admissions_30d"], b["hospital_nights_30d"], b["emergency_contacts_30d"]) == (
        0,
        0,
        0,
    )


def _codes(name: str) -> list[dict[str, str]]:
    with open(CODES / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny synthetic extract, its decedents as built by the study, and the raw files."""
    from paleval.registers import scan_registers
    from paleval.report import load_study
    from paleval.synth import SynthConfig, generate

    data = tmp_path_factory.mktemp("trajectories") / "tiny"
    generate(SynthConfig.from_preset("tiny", seed=31), data)
    study = load_study(data, cache_dir=data.parent / "cache")
    regs = scan_registers(data, ["sssy", "lmdb"])
    return {"data": data, "study": study, "regs": regs}


def test_gp_and_opioid_measures_from_the_raw_files(tiny: dict) -> None:
    """SSSY and LMDB read straight from the parquet files, weeks from the ISO calendar.

    Fails on: services placed by the week's Monday instead of the earlier of its Sunday and the
    death day, out-of-hours services in the daytime measure, ``YDLANT`` ignored, preventive
    home visits counted as GP contacts, dispensings after death counted."""
    dec = tiny["study"].decedents.select("PNR", "death_date")
    death = dict(dec.iter_rows())
    cats = {r["SPECIALE"]: r["category"] for r in _codes("gp_services")}
    period = {r["YDLTID"]: r["period"] for r in _codes("gp_time_codes")}
    sets = {
        "gp_contacts_daytime": (
            {"consultation", "e_consultation", "phone", "home_visit"},
            "daytime",
        ),
        "gp_home_visits": ({"home_visit"}, "daytime"),
        "gp_out_of_hours": ({"consultation", "phone", "home_visit"}, "out_of_hours"),
    }
    expected: dict[tuple[str, str, int], int] = defaultdict(int)
    for f in sorted((tiny["data"] / "sssy").glob("*.parquet")):
        raw = pl.read_parquet(f, columns=["PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT"])
        for pnr, honuge, speciale, ydltid, ydlant in raw.rows():
            if pnr not in death or honuge is None:
                continue
            h = str(honuge).strip()
            year = (1900 if int(h[:2]) >= 90 else 2000) + int(h[:2])
            try:
                monday = dt.date.fromisocalendar(year, int(h[2:]), 1)
            except ValueError:
                continue
            d = death[pnr]
            if monday > d:
                continue
            w = _week(d, min(monday + dt.timedelta(days=6), d))
            if w > 52:
                continue
            for m, (cs, p) in sets.items():
                if cats.get(str(speciale)) in cs and period.get(str(ydltid)) == p:
                    expected[(pnr, m, w)] += int(ydlant)
    opioid = [r["atc_prefix"] for r in _codes("atc_groups") if r["group"] == "opioid"]
    for f in sorted((tiny["data"] / "lmdb").glob("*.parquet")):
        raw = pl.read_parquet(f, columns=["PNR", "EKSD", "ATC"])
        for pnr, eksd, atc in raw.rows():
            if pnr not in death or eksd is None or atc is None or eksd > death[pnr]:
                continue
            atc = atc.replace(" ", "").upper()
            w = _week(death[pnr], eksd)
            if w <= 52 and any(atc.startswith(p) for p in opioid):
                expected[(pnr, "opioid_dispensings", w)] += 1
    expected = {k: v for k, v in expected.items() if v > 0}
    got = _as_dict(
        weekly_care_use(dec, sssy=tiny["regs"]["sssy"], lmdb=tiny["regs"]["lmdb"]).collect()
    )
    assert len(expected) > 1000  # the check has something to check
    assert got == expected


def test_weekly_table_equals_a_dense_person_week_computation(tiny: dict) -> None:
    """The mean per person, its CI and the share from a dense array of every person-week
    (zeros included). Fails on: persons without use left out of the denominator, the variance
    of the users only, unknown persons kept in the out-of-hours denominator."""
    from paleval.registers import lpr_contacts

    dec = tiny["study"].decedents
    use = weekly_care_use(
        dec, contacts=lpr_contacts(tiny["data"]), sssy=tiny["regs"]["sssy"]
    ).collect()
    unknown = care_use_unknown(dec).collect()
    res = care_trajectories(dec, use, unknown=unknown, by="cancer", weeks=52)
    tab = res.tables["weekly"]
    group = dict(dec.select("PNR", "cancer").iter_rows())
    unknown_set = set(unknown.select("PNR", "measure").iter_rows())
    assert unknown.height > 0 and {m for _, m in unknown_set} == {"gp_out_of_hours"}
    counts = _as_dict(use)
    for measure in ("hospital_nights", "gp_out_of_hours"):
        for cancer in (True, False):
            people = [
                p for p, g in group.items() if g is cancer and (p, measure) not in unknown_set
            ]
            dense = np.array(
                [[counts.get((p, measure, w), 0) for w in range(1, 53)] for p in people], float
            )
            n = len(people)
            mean = dense.mean(axis=0)
            se = dense.std(axis=0, ddof=1) / math.sqrt(n)
            rows = tab.filter(
                (pl.col("measure") == measure)
                & (pl.col("cancer") == ("cancer" if cancer else "noncancer"))
            ).sort("week_before")
            assert rows["n"].to_list() == [n] * 52
            assert rows["persons"].to_list() == (dense > 0).sum(axis=0).tolist()
            np.testing.assert_allclose(rows["estimate"].to_numpy(), mean, rtol=1e-12)
            np.testing.assert_allclose(
                rows["conf_high"].to_numpy(), mean + 1.959963984540054 * se, rtol=1e-9
            )
    assert any("gp_out_of_hours" in n and "coverage gap" in n for n in res.notes)


def test_disclosed_tables_have_no_small_count_and_figures_draw(tiny: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from paleval.registers import lpr_contacts

    dec = add_aggressiveness(tiny["study"].decedents, lpr_contacts(tiny["data"])).collect()
    use = weekly_care_use(dec, contacts=lpr_contacts(tiny["data"]), lmdb=tiny["regs"]["lmdb"])
    pub = care_trajectories(dec, use, by="cancer").disclosed(threshold=5)
    for name, tab in pub.tables.items():
        for col in count_columns(tab.columns):
            if tab.schema[col].is_numeric():
                small = tab.filter(pl.col(col).is_between(1, 4))
                assert small.height == 0, (name, col, small)
    assert not [n for n in pub.notes if "withheld" in n], pub.notes
    weekly = pub.tables["weekly"]
    # most weeks of the common measures are published (a withheld table blanks every row)
    common = weekly.filter(pl.col("measure").is_in(["hospital_nights", "acute_admissions"]))
    assert common["suppressed"].mean() < 0.5
    ind = pub.tables["indicators"]
    assert set(ind["indicator"]) >= {"acute_admissions_gt1", "death_in_hospital"}
    for kind in ("weekly", "indicators"):
        assert pub.plot(kind, lang="da") is not None


def test_indicators_equal_a_hand_count(tiny: dict) -> None:
    """Fails on: unknown places counted as not in hospital, persons without SPC left out of
    the late-SPC indicator, more-than-one read as at least one."""
    from paleval.registers import lpr_contacts

    dec = add_aggressiveness(tiny["study"].decedents, lpr_contacts(tiny["data"])).collect()
    res = care_trajectories(dec, weekly_care_use(dec, contacts=lpr_contacts(tiny["data"])))
    ind = {
        r["indicator"]: (r["n"], r["events"])
        for r in res.tables["indicators"].iter_rows(named=True)
    }
    rows = dec.select("acute_admissions_30d", "place_of_death", "spc_contact_to_anchor_days").rows()
    assert ind["acute_admissions_gt1"] == (len(rows), sum(r[0] > 1 for r in rows))
    known = [r for r in rows if r[1] not in (None, "unknown")]
    assert ind["death_in_hospital"] == (len(known), sum(r[1] == "hospital" for r in known))
    assert ind["spc_none_or_late"] == (len(rows), sum(r[2] is None or r[2] < 3 for r in rows))


def test_bad_arguments_are_named() -> None:
    cohort = pl.DataFrame({"PNR": ["a"], "death_date": [D(2020, 1, 1)]})
    use = pl.DataFrame({"PNR": ["z"], "measure": ["gp_home_visits"], "week": [1], "count": [1]})
    with pytest.raises(ValueError, match="not in the cohort"):
        care_trajectories(cohort, use)
    with pytest.raises(ValueError, match="unknown measure"):
        care_trajectories(cohort, use.with_columns(PNR=pl.lit("a"), measure=pl.lit("x")))
    with pytest.raises(ValueError, match="weeks must be"):
        weekly_care_use(cohort, contacts=_contacts(ROWS), weeks=0)
    with pytest.raises(ValueError, match="at least one of"):
        weekly_care_use(cohort)
    with pytest.raises(ValueError, match="no column 'death'"):
        weekly_care_use(cohort, contacts=_contacts(ROWS), anchor="death")
