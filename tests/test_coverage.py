"""The declared coverage table and the GP exposure windows that honour it (issue 13).

Expected values are worked out by hand (ISO weeks: ``datetime.date.fromisocalendar``) or
recomputed from the raw synthetic files, never with the code under test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from paleval.codes import coverage_table
from paleval.cohort.exposures import (
    DEFAULT_GP_WINDOWS,
    add_final_admission,
    add_gp_exposures,
    gp_service_windows,
)

d = dt.date
OOH = {"ooh_30d": (["consultation", "phone", "home_visit"], 30, "out_of_hours")}


def _sssy(rows: list[tuple[str, str, str, str, int]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={"PNR": pl.String, "HONUGE": pl.String, "SPECIALE": pl.String,
                "YDLTID": pl.String, "YDLANT": pl.Int64},
        orient="row",
    )  # fmt: skip


def _week(day: dt.date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y % 100:02d}{w:02d}"


def test_table_declares_the_capital_region_gap_with_reason_and_source() -> None:
    t = coverage_table()
    cap = t.filter((pl.col("REG") == "84") & (pl.col("register") == "sssy"))
    assert cap.height == 1
    row = cap.row(0, named=True)
    assert (row["period"], row["start"], row["end"], row["action"]) == (
        "out_of_hours",
        d(2014, 1, 1),
        None,
        "unknown",
    )
    assert "1813" in row["reason"] and "2014" in row["source"]
    assert t.filter(pl.col("reason").is_null() | pl.col("source").is_null()).height == 0
    assert set(t["action"]) <= {"unknown", "note"}


def test_capital_region_ooh_is_unknown_from_2014_and_zero_before() -> None:
    anchors = pl.LazyFrame(
        {
            "PNR": ["cap2016", "cap2012", "north2016", "capjan14", "capdec13", "nullreg16",
                    "nullreg12"],
            "death_date": [d(2016, 6, 15), d(2012, 6, 15), d(2016, 6, 15), d(2014, 1, 10),
                           d(2013, 12, 31), d(2016, 6, 15), d(2012, 6, 15)],
            "region_code": ["84", "84", "81", "84", "84", None, None],
        }
    )  # fmt: skip
    # nobody has any service: the old rule gave 0 for everyone
    out = gp_service_windows(anchors, _sssy([]), OOH, region="region_code").collect()
    got = dict(zip(out["PNR"], out["ooh_30d"], strict=True))
    assert got == {
        "cap2016": None,  # in the gap: unknown, not 0
        "cap2012": 0,  # before 1813: SSSY covers the region
        "north2016": 0,
        "capjan14": None,  # window 2013-12-12 .. 2014-01-10 partly in the gap
        "capdec13": 0,  # window ends the day before the gap
        "nullreg16": None,  # region unknown while a region has a gap
        "nullreg12": 0,
    }
    gaps = dict(zip(out["PNR"], out["gp_coverage_gap"], strict=True))
    assert gaps["cap2016"].startswith("sssy out_of_hours: Capital Region from 2014-01-01")
    assert gaps["cap2012"] is None and gaps["north2016"] is None


def test_gap_nulls_ooh_even_with_a_stray_row_but_never_daytime_services() -> None:
    death = d(2016, 6, 15)
    anchors = pl.LazyFrame({"PNR": ["a"], "death_date": [death], "region_code": ["84"]})
    wk = _week(death - dt.timedelta(days=3))
    sssy = _sssy([("a", wk, "800201", "2", 1), ("a", wk, "800411", "1", 2),
                  ("a", wk, "800101", "1", 1)])  # fmt: skip
    out = gp_service_windows(anchors, sssy, DEFAULT_GP_WINDOWS, region="region_code").collect()
    assert out["gp_ooh_contacts_30d"].to_list() == [None]
    assert out["gp_home_visits_90d"].to_list() == [2]
    # any-contact windows (both periods) count what SSSY holds by default ...
    assert out["gp_contacts_30d"].to_list() == [4]
    # ... or are unknown on request
    strict = gp_service_windows(
        anchors, sssy, DEFAULT_GP_WINDOWS, region="region_code", partly_uncovered="null"
    ).collect()
    assert strict["gp_contacts_30d"].to_list() == [None]
    assert strict["gp_home_visits_90d"].to_list() == [2]
    # without a region: the raw count
    raw = gp_service_windows(anchors, sssy, DEFAULT_GP_WINDOWS).collect()
    assert raw["gp_ooh_contacts_30d"].to_list() == [1]
    assert "gp_coverage_gap" not in raw.columns


def test_add_gp_exposures_applies_coverage_by_default_and_asks_for_the_region() -> None:
    c = pl.LazyFrame({"PNR": ["a", "b"], "death_date": [d(2016, 6, 15)] * 2,
                      "region_code": ["84", "82"]})  # fmt: skip
    out = add_gp_exposures(c, _sssy([])).collect()
    assert out["gp_ooh_contacts_30d"].to_list() == [None, 0]
    assert out["gp_home_visit_category"].to_list() == ["0", "0"]
    # the Boolean the end-of-life cohort derives stays unknown
    assert out.select(pl.col("gp_ooh_contacts_30d") > 0).to_series().to_list() == [None, False]
    with pytest.raises(ValueError, match="region column 'region_code'"):
        add_gp_exposures(c.drop("region_code"), _sssy([]))
    raw = add_gp_exposures(c.drop("region_code"), _sssy([]), region=None).collect()
    assert raw["gp_ooh_contacts_30d"].to_list() == [0, 0]


def test_offset_days_ends_the_window_before_death() -> None:
    death = d(2019, 3, 31)  # a Sunday; offset 14 -> window end Sunday 2019-03-17 (week 11)
    anchors = pl.LazyFrame({"PNR": ["a"], "death_date": [death]})
    w = {"hv_30d": (["home_visit"], 30, None)}
    sssy = _sssy(
        [
            ("a", "1913", "800411", "1", 1),  # week of death
            ("a", "1912", "800411", "1", 2),  # Mon 03-18: after the lagged end
            ("a", "1911", "800411", "1", 4),  # Mon 03-11 .. Sun 03-17
            ("a", "1907", "800411", "1", 8),
        ]
    )  # Mon 02-11 .. Sun 02-17: start 02-16
    got = [
        gp_service_windows(anchors, sssy, w, offset_days=k).collect()["hv_30d"].item()
        for k in (0, 14, 30)
    ]
    # offset 0: window 03-02 .. 03-31 -> weeks 09..13 (1+2+4); 1907 ends 02-17 < 03-02
    # offset 14: window 02-16 .. 03-17 -> 1911 and 1907 (4+8)
    # offset 30: window 01-31 .. 03-01 (a Friday, week 09) -> only 1907
    assert got == [7, 12, 8]
    with pytest.raises(ValueError, match="offset_days"):
        gp_service_windows(anchors, sssy, w, offset_days=-1)


def test_end_before_stops_the_window_the_day_before_the_final_admission() -> None:
    anchors = pl.LazyFrame(
        {"PNR": ["a", "b"], "death_date": [d(2019, 3, 31)] * 2,
         "final_admission_start": [d(2019, 3, 20), None]}
    )  # fmt: skip
    w = {"hv_30d": (["home_visit"], 30, None)}
    sssy = _sssy([("a", "1913", "800411", "1", 1), ("a", "1912", "800411", "1", 2),
                  ("b", "1913", "800411", "1", 1)])  # fmt: skip
    out = gp_service_windows(anchors, sssy, w, end_before="final_admission_start").collect()
    # a: end Tue 03-19 (week 12) -> week 12 counts, week 13 does not; b: no admission
    assert dict(zip(out["PNR"], out["hv_30d"], strict=True)) == {"a": 2, "b": 1}


def test_final_admission_chains_transfers_and_needs_the_stay_at_death() -> None:
    c = pl.LazyFrame({"PNR": ["t", "gap", "home", "none"], "death_date": [d(2020, 1, 31)] * 4})
    k = pl.LazyFrame(
        {
            "PNR": ["t", "t", "t", "gap", "home"],
            "inpatient": [True, True, True, True, True],
            "start": [d(2019, 12, 1), d(2020, 1, 10), d(2020, 1, 15), d(2020, 1, 5),
                      d(2020, 1, 2)],
            "end": [d(2019, 12, 5), d(2020, 1, 15), d(2020, 1, 31), d(2020, 1, 31),
                    d(2020, 1, 20)],
        }
    )  # fmt: skip
    out = add_final_admission(c, k).collect()
    got = dict(zip(out["PNR"], out["final_admission_start"], strict=True))
    # t: 01-10 -> 01-15 transfer chain ends at death; the December stay is another episode
    assert got == {"t": d(2020, 1, 10), "gap": d(2020, 1, 5), "home": None, "none": None}
    late = add_final_admission(c, k, max_gap_days=14).collect()
    assert late.filter(pl.col("PNR") == "home")["final_admission_start"].item() == d(2020, 1, 2)


def test_raw_files_ooh_counts_match_an_independent_count(tiny_dir: Path) -> None:
    """From the raw parquet files: decedents' region from BEF the year before death, their
    out-of-hours services in the 30 days before death by ISO week overlap, unknown in the
    Capital Region's gap (any overlap with 2014-01-01 onwards)."""
    dod = pl.read_parquet(tiny_dir / "dod" / "*.parquet").select("PNR", "DODDATO")
    dod = dod.filter(pl.col("DODDATO") >= d(2011, 1, 1)).unique("PNR")
    bef = pl.concat(  # files bef{yyyy}12: status on 31 December of yyyy
        pl.read_parquet(f).select("PNR", "REG").with_columns(year=int(f.stem[3:7]))
        for f in sorted((tiny_dir / "bef").glob("bef*.parquet"))
    )
    anchors = dod.join(
        bef.select("PNR", pl.col("REG").cast(pl.String), "year"), on="PNR", how="left"
    ).filter(pl.col("year") == pl.col("DODDATO").dt.year() - 1)
    anchors = anchors.select("PNR", death_date="DODDATO", region_code="REG")
    sssy = pl.read_parquet(tiny_dir / "sssy" / "*.parquet")
    ooh = sssy.filter(
        (pl.col("YDLTID") == "2") & pl.col("SPECIALE").is_in(["800101", "800201", "800411",
                                                               "800421", "800431"])
    ).join(anchors, on="PNR")  # fmt: skip
    mondays = {}
    for w in ooh["HONUGE"].unique().to_list():
        try:
            mondays[w] = d.fromisocalendar(2000 + int(w.strip()[:2]), int(w.strip()[2:]), 1)
        except (ValueError, AttributeError):
            mondays[w] = None  # not a valid payment week: matches no window
    ooh = ooh.with_columns(
        monday=pl.col("HONUGE").replace_strict(mondays, return_dtype=pl.Date)
    ).filter(
        (pl.col("monday") <= pl.col("death_date"))
        & (pl.col("monday") + pl.duration(days=6) >= pl.col("death_date") - pl.duration(days=29))
    )
    counts = ooh.group_by("PNR").agg(n=pl.col("YDLANT").sum())
    in_gap = (pl.col("region_code") == "84") & (pl.col("death_date") >= d(2014, 1, 1))
    want = (
        anchors.join(counts, on="PNR", how="left")
        .with_columns(n=pl.when(in_gap).then(None).otherwise(pl.col("n").fill_null(0)))
        .sort("PNR")
    )
    got = gp_service_windows(anchors.lazy(), sssy.lazy(), OOH, region="region_code").collect()
    got = got.sort("PNR")
    assert got["PNR"].to_list() == want["PNR"].to_list()
    assert got["ooh_30d"].to_list() == want["n"].to_list()
    assert want.filter(in_gap).height > 50
    assert want.filter(~in_gap & (pl.col("n") > 0)).height > 50


def test_a_region_that_is_not_a_code_cannot_hide_the_gap() -> None:
    """Region names or SDS codes (1084) instead of BEF's 84: unknown in the gap period."""
    anchors = pl.LazyFrame(
        {"PNR": ["name", "sds", "ok"], "death_date": [d(2016, 6, 15)] * 3,
         "region": ["Region Hovedstaden", "1082", " 82 "]}
    )  # fmt: skip
    out = gp_service_windows(anchors, _sssy([]), OOH, region="region").collect()
    assert dict(zip(out["PNR"], out["ooh_30d"], strict=True)) == {
        "name": None,
        "sds": None,
        "ok": 0,
    }


def test_a_user_coverage_table_replaces_the_declared_one() -> None:
    """A researcher declares a gap for Zealand (e.g. after checking validate()'s rates)."""
    anchors = pl.LazyFrame(
        {"PNR": ["z", "cap"], "death_date": [d(2023, 6, 15)] * 2, "region_code": ["85", "84"]}
    )
    mine = pl.DataFrame(
        {"register": ["sssy"], "period": ["out_of_hours"], "REG": ["85"], "region": ["Zealand"],
         "start": [d(2022, 10, 1)], "end": [None], "action": ["unknown"]},
        schema_overrides={"end": pl.Date},
    )  # fmt: skip
    out = gp_service_windows(anchors, _sssy([]), OOH, region="region_code", coverage=mine).collect()
    assert dict(zip(out["PNR"], out["ooh_30d"], strict=True)) == {"z": None, "cap": 0}
    with pytest.raises(ValueError, match="lacks the columns"):
        gp_service_windows(
            anchors, _sssy([]), OOH, region="region_code", coverage=mine.drop("action")
        )
