"""Register realism features of the synthetic generator (issue 13): each present at its planted
rate, computed from the raw parquet files, counted in truth.json, and absent when switched off."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from paleval.codes import load_codes
from paleval.synth import SynthConfig, generate


def read(data: Path, key: str) -> pl.DataFrame:
    return pl.scan_parquet(data / key / "*.parquet").collect()


def truth(data: Path) -> dict:
    return json.loads((data / "truth.json").read_text())


def persons(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / "truth" / "persons.parquet")


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every realism feature switched off by its own flag (messiness otherwise on)."""
    out = tmp_path_factory.mktemp("plain")
    cfg = SynthConfig(
        n_persons=6000,
        seed=7,
        multi_unit_spc=False,
        sssy_payment_lag=False,
        migration=False,
        households=False,
        nursing_homes=False,
        plh_coverage=False,
        place_detail_missing=False,
    )
    generate(cfg, out)
    return out


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(SynthConfig(n_persons=6000, seed=7, messiness=False), out)
    return out


# ---------------------------------------------------------------- multi-unit SPC courses (DPD)
def _dpd_per_person(data: Path) -> pl.DataFrame:
    return (
        read(data, "dpd")
        .group_by("PNR")
        .agg(
            rows=pl.len(),
            units=pl.col("ENHED_ID").n_unique(),
            admitted=(pl.col("MODTAGET") == 1).any(),
            first_referral=pl.col("HENV_DATO").min(),
            first_contact=pl.col("FOERSTE_KONTAKT_DATO").min(),
        )
    )


def test_about_a_third_of_spc_patients_have_two_units(tiny_dir: Path) -> None:
    per = _dpd_per_person(tiny_dir)
    counted = truth(tiny_dir)["realism"]["multi_unit_spc"]
    multi = per.filter(pl.col("rows") >= 2)
    assert multi.height == counted["spc_patients_2plus_referrals"] > 0
    assert per.filter(pl.col("units") >= 2).height == counted["spc_patients_2plus_units"]
    admitted = per.filter(pl.col("admitted"))
    share = admitted.filter(pl.col("rows") >= 2).height / admitted.height
    # DPD 2018: one third; tiny has ~300 admitted patients (binomial SD ~0.03)
    assert 0.23 < share < 0.44, share
    # only admitted patients go on to a second unit
    assert multi.filter(~pl.col("admitted")).height == 0
    # the DPD rows are more than the patients: counting rows is not counting patients
    assert read(tiny_dir, "dpd").height == per.height + multi.height


def test_multi_unit_courses_keep_the_per_person_truth(tiny_dir: Path) -> None:
    per = _dpd_per_person(tiny_dir)
    p = persons(tiny_dir).filter(pl.col("spc_referred"))
    j = p.join(per, on="PNR", how="left", validate="1:1")
    assert j["rows"].null_count() == 0
    assert (j["rows"] == j["spc_referrals"]).all()
    assert (j["admitted"] == j["spc_admitted"]).all()
    adm = j.filter(pl.col("spc_admitted"))
    # first referral and first contact of a patient are those the calibration targets mean
    assert (adm["first_referral"] == adm["spc_referral_date"]).all()
    assert (adm["first_contact"] == adm["spc_contact_date"]).all()


def test_second_units_follow_the_first_contact(tiny_dir: Path) -> None:
    dpd = read(tiny_dir, "dpd").sort("PNR", "HENV_DATO")
    first = dpd.group_by("PNR", maintain_order=True).first()
    later = dpd.join(first.select("PNR", "HENV_DATO"), on=["PNR", "HENV_DATO"], how="anti")
    assert later.height > 0
    j = later.join(
        first.select("PNR", c0="FOERSTE_KONTAKT_DATO", u0="ENHED_ID", t0="ENHED_TYPE"), on="PNR"
    )
    assert (j["HENV_DATO"] > j["c0"]).all()
    assert (j["ENHED_ID"] != j["u0"]).all()
    # a hospice is followed by a hospital team; the typical course is a team, then a hospice
    assert j.filter(pl.col("t0") == "hospice")["ENHED_TYPE"].eq("palliativt_team").all()
    assert j.filter(pl.col("t0") != "hospice")["ENHED_TYPE"].eq("hospice").mean() > 0.5
    deaths = read(tiny_dir, "dod")
    jd = j.join(deaths, on="PNR", how="left")
    contacted = jd.filter(pl.col("MODTAGET") == 1)
    assert (contacted["FOERSTE_KONTAKT_DATO"] >= contacted["HENV_DATO"]).all()
    died = contacted.filter(pl.col("DODDATO").is_not_null())
    assert (died["FOERSTE_KONTAKT_DATO"] <= died["DODDATO"]).all()
    none = jd.filter(pl.col("MODTAGET") == 0)
    assert none["IKKE_MODTAGET_AARSAG"].null_count() == 0
    assert none["EORTC_UDFYLDT"].null_count() == none.height


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_one_referral_per_person(which: str, request: pytest.FixtureRequest) -> None:
    data: Path = request.getfixturevalue(which)
    per = _dpd_per_person(data)
    assert per.height > 0 and per["rows"].max() == 1
    counted = truth(data)["realism"]["multi_unit_spc"]
    assert counted["enabled"] is False and counted["dpd_rows_added"] == 0


# ---------------------------------------------------------------- SSSY payment lag
def _week_start(col: str = "HONUGE") -> pl.Expr:
    """Monday of the ISO payment week yyww."""
    return pl.concat_str(
        pl.lit("20"),
        pl.col(col).str.slice(0, 2),
        pl.lit("-W"),
        pl.col(col).str.slice(2, 2),
        pl.lit("-1"),
    ).str.to_date("%G-W%V-%u")


@pytest.fixture(scope="module")
def no_lag_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny`` seed 1 like ``tiny_dir``, only the payment lag switched off."""
    out = tmp_path_factory.mktemp("nolag")
    generate(SynthConfig.from_preset("tiny", seed=1, sssy_payment_lag=False), out)
    return out


def _weeks_paid(data: Path, alive: pl.Series) -> pl.DataFrame:
    """Per survivor and service: services and the sum of their payment-week numbers."""
    return (
        read(data, "sssy")
        .filter(pl.col("PNR").is_in(alive.implode()))
        .group_by("PNR", "SPECIALE", "YDLTID")
        .agg(
            n=pl.col("YDLANT").sum(),
            weeks=(_week_start().cast(pl.Int64) // 7 * pl.col("YDLANT")).sum(),
        )
    )


def test_payment_lag_delays_the_planted_share_of_services(tiny_dir: Path, no_lag_dir: Path) -> None:
    """Survivors' services happen on the same days with and without the lag (the lag has its
    own random stream), so per person and service the payment weeks move later by the lag:
    their mean shift is the planted mean lag. Groups that lose a service at the edges of the
    delivery period (paid after its end, or paid inside it for a service just before) are
    left out by requiring the same number of services."""
    alive = persons(tiny_dir).filter(~pl.col("died"))["PNR"]
    on = _weeks_paid(tiny_dir, alive)
    off = _weeks_paid(no_lag_dir, alive)
    j = on.join(off, on=["PNR", "SPECIALE", "YDLTID"], suffix="_off").filter(
        pl.col("n") == pl.col("n_off")
    )
    assert j.height > 0.9 * off.height
    shift = (j["weeks"].sum() - j["weeks_off"].sum()) / j["n"].sum()
    counted = truth(tiny_dir)["realism"]["sssy_payment_lag"]
    lag = counted["lag_weeks_probability"]
    mean_lag = sum(int(k) * v for k, v in lag.items())
    assert 0.4 < mean_lag < 0.6
    assert abs(shift - mean_lag) < 0.04, (shift, mean_lag)
    share = counted["sssy_services_paid_a_week_or_more_late"] / counted["services_written"]
    assert abs(share - (1 - lag["0"])) < 0.01
    none = truth(no_lag_dir)["realism"]["sssy_payment_lag"]
    assert none["sssy_services_paid_a_week_or_more_late"] == 0
    assert none["lag_weeks_probability"] == {"0": 1.0}


def test_payment_weeks_after_death_are_counted(tiny_dir: Path, no_lag_dir: Path) -> None:
    deaths = read(tiny_dir, "dod")
    for data, lagged in ((tiny_dir, True), (no_lag_dir, False)):
        n = (
            read(data, "sssy")
            .join(deaths, on="PNR")
            .filter(_week_start() > pl.col("DODDATO"))["YDLANT"]
            .sum()
        )
        counted = truth(data)["realism"]["sssy_payment_lag"]
        assert n == counted["sssy_services_paid_in_a_week_after_death"]
        rows = (
            read(data, "sssy")
            .join(deaths, on="PNR")
            .filter(_week_start() > pl.col("DODDATO"))
            .height
        )
        assert rows == counted["sssy_rows_paid_in_a_week_after_death"]
        assert (n > 0) == lagged


def test_background_services_near_death_are_kept(tiny_dir: Path, no_lag_dir: Path) -> None:
    """Out-of-hours consultations (service 0101, YDLTID 2) in the last month of life come only
    from the background process (the end-of-life process writes home visits and phone calls):
    with the lag on they stay, with it off they were deleted (clean registers)."""
    for data, kept in ((tiny_dir, True), (no_lag_dir, False)):
        p = persons(data).filter(pl.col("adult_decedent"))
        n = (
            read(data, "sssy")
            .filter(pl.col("SPECIALE") == "800101", pl.col("YDLTID") == "2")
            .join(p.select("PNR", "death_date"), on="PNR")
            .filter(_week_start() >= pl.col("death_date") - pl.duration(days=28))["YDLANT"]
            .sum()
        )
        assert (n > 0) == kept, (kept, n)
        # daytime home visits in the last 90 days on service dates: the end-of-life process is
        # their only source, so the planted exposure is the true count (persons who died
        # early in 2010 lost the visits before the data start)
        full = p.filter(pl.col("death_date") >= pl.date(2010, 4, 1))
        assert (full["gp_home_visits_90d_service"] == full["gp_home_visits_90d"]).all()


# ---------------------------------------------------------------- migration (VNDS)
def _spells(data: Path) -> pl.DataFrame:
    """Spells abroad from the raw migration register: an emigration until the next
    immigration (or open), and an immigration during the study period with no earlier event
    in the period (abroad since before it)."""
    start = dt.date(truth(data)["generator"]["config"]["start_year"], 1, 1)
    v = read(data, "vnds").sort("PNR", "HAEND_DATO")
    v = v.with_columns(
        nxt=pl.col("HAEND_DATO").shift(-1).over("PNR"),
        nxt_code=pl.col("INDUD_KODE").shift(-1).over("PNR"),
        prev_code=pl.col("INDUD_KODE").shift(1).over("PNR"),
    )
    out = v.filter(pl.col("INDUD_KODE") == "U").select(
        "PNR",
        frm="HAEND_DATO",
        until=pl.when(pl.col("nxt_code") == "I").then(pl.col("nxt")).otherwise(None),
    )
    arrive = v.filter(
        pl.col("INDUD_KODE") == "I", pl.col("HAEND_DATO") >= start, pl.col("prev_code").is_null()
    ).select("PNR", frm=pl.lit(dt.date(1800, 1, 1)), until="HAEND_DATO")
    return pl.concat([out, arrive])


def _inside(events: pl.DataFrame, spells: pl.DataFrame, date: str) -> int:
    return (
        events.join(spells, on="PNR")
        .filter(
            pl.col(date) >= pl.col("frm"),
            pl.col("until").is_null() | (pl.col(date) < pl.col("until")),
        )
        .height
    )


def test_migration_register_matches_the_planted_migrations(tiny_dir: Path) -> None:
    counted = truth(tiny_dir)["realism"]["migration"]
    start = dt.date(truth(tiny_dir)["generator"]["config"]["start_year"], 1, 1)
    v = read(tiny_dir, "vnds")
    n_persons = truth(tiny_dir)["counts"]["persons"]
    u = v.filter(pl.col("INDUD_KODE") == "U")
    i_in = v.filter(pl.col("INDUD_KODE") == "I", pl.col("HAEND_DATO") >= start)
    assert u.height == counted["emigrants"] + counted["returners"]
    assert i_in.height == counted["immigrants_in_period"] + counted["returners"]
    assert v.height - u.height - i_in.height == counted["historical_immigrations"]
    # planted: 2.5 % stay abroad and 1.2 % return, weighted towards young adults and thinned
    # by the disease courses a spell must avoid
    assert 0.02 < u["PNR"].n_unique() / n_persons < 0.05
    assert 0.01 < counted["immigrants_in_period"] / n_persons < 0.04
    p = persons(tiny_dir)
    assert p.filter(pl.col("migration") == "emigrant")["died"].sum() == 0
    assert counted["emigrants_with_cancer_before_emigration"] > 0  # censoring matters
    assert counted["immigrants_in_period_who_died"] > 0


def test_nobody_is_in_danish_registers_while_abroad(tiny_dir: Path) -> None:
    spells = _spells(tiny_dir)
    assert spells.height > 0
    assert _inside(read(tiny_dir, "lmdb"), spells, "EKSD") == 0
    assert _inside(read(tiny_dir, "lpr_adm"), spells, "D_INDDTO") == 0
    assert _inside(read(tiny_dir, "lpr_f_kontakter"), spells, "dato_start") == 0
    assert _inside(read(tiny_dir, "dpd"), spells, "HENV_DATO") == 0
    assert _inside(read(tiny_dir, "car"), spells, "D_DIAGNOSEDATO") == 0
    assert _inside(read(tiny_dir, "dod"), spells, "DODDATO") == 0
    # SSSY has payment weeks, paid up to 8 weeks late: no payment week wholly inside a spell
    # later than that (the Sunday ending the week before the return or arrival)
    sssy = read(tiny_dir, "sssy").with_columns(w=_week_start() + pl.duration(days=6))
    late = spells.with_columns(frm=pl.col("frm") + pl.duration(weeks=10))
    assert _inside(sssy, late, "w") == 0
    # BEF year-end status: nobody abroad on 31 December is in it, everybody else alive is
    bef = read(tiny_dir, "bef").select("PNR", "REFERENCETID")
    assert _inside(bef, spells, "REFERENCETID") == 0
    years = bef["REFERENCETID"].unique().sort()
    grid = spells.select("PNR").unique().join(pl.DataFrame({"REFERENCETID": years}), how="cross")
    deaths = read(tiny_dir, "dod")
    expected = (
        grid.join(deaths, on="PNR", how="left")
        .filter(pl.col("DODDATO").is_null() | (pl.col("DODDATO") > pl.col("REFERENCETID")))
        .join(spells, on="PNR")
        .filter(
            (pl.col("REFERENCETID") < pl.col("frm"))
            | (pl.col("until").is_not_null() & (pl.col("REFERENCETID") >= pl.col("until")))
        )
        .select("PNR", "REFERENCETID")
        .unique()
    )
    observed = bef.join(spells.select("PNR").unique(), on="PNR")
    assert expected.sort(pl.all()).equals(observed.sort(pl.all()))
    # a GP listing ends on emigration and starts on arrival
    lst = read(tiny_dir, "tilknytning")
    j = lst.join(spells, on="PNR").filter(
        pl.col("DATO_FRA") < pl.col("until").fill_null(dt.date(2100, 1, 1)),
        pl.col("DATO_TIL").is_null() | (pl.col("DATO_TIL") > pl.col("frm")),
    )
    assert j.height == 0


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_nobody_migrates(which: str, request: pytest.FixtureRequest) -> None:
    data: Path = request.getfixturevalue(which)
    assert read(data, "vnds").height == 0
    assert truth(data)["realism"]["migration"]["enabled"] is False
    assert persons(data)["migration"].null_count() == truth(data)["counts"]["persons"]


# ---------------------------------------------------------------- households
def _bef(data: Path) -> pl.DataFrame:
    return read(data, "bef").with_columns(year=pl.col("REFERENCETID").dt.year())


def test_couples_share_a_family_and_its_income(tiny_dir: Path) -> None:
    p = persons(tiny_dir)
    counted = truth(tiny_dir)["realism"]["households"]
    couples = p.filter(pl.col("partner").is_not_null(), pl.col("PNR") < pl.col("partner"))
    assert couples.height == counted["couples"] > 0.15 * p.height
    bef = _bef(tiny_dir)
    deaths = read(tiny_dir, "dod")
    # a partner who moved into a nursing home no longer lives with the other: the true move-in
    # (the register plh shows no stay before 2011, feature plh_coverage)
    movein = p.filter(pl.col("nursing_home_movein").is_not_null()).select(
        "PNR", NH="nursing_home_movein"
    )
    for year in (2009, 2016, 2024):
        dec31 = dt.date(year, 12, 31)
        alive = (
            couples.join(deaths, on="PNR", how="left")
            .join(deaths.rename({"PNR": "partner", "DODDATO": "DOD2"}), on="partner", how="left")
            .join(movein, on="PNR", how="left")
            .join(movein.rename({"PNR": "partner", "NH": "NH2"}), on="partner", how="left")
            .filter(
                pl.col("DODDATO").is_null() | (pl.col("DODDATO") > dec31),
                pl.col("DOD2").is_null() | (pl.col("DOD2") > dec31),
                pl.col("NH").is_null() | (pl.col("NH") > dec31),
                pl.col("NH2").is_null() | (pl.col("NH2") > dec31),
            )
        )
        fam = bef.filter(pl.col("year") == year).group_by("FAMILIE_ID").agg(n=pl.len())
        assert fam.filter(pl.col("n") == 2).height == alive.height
        assert fam["n"].max() == 2
        # the family's id is one partner's PNR, and both partners carry it
        b = bef.filter(pl.col("year") == year).select("PNR", "FAMILIE_ID")
        j = alive.join(b, on="PNR").join(
            b.rename({"PNR": "partner", "FAMILIE_ID": "FAM2"}), on="partner"
        )
        assert j.height == alive.height
        assert (j["FAMILIE_ID"] == j["FAM2"]).all()
        assert j["FAMILIE_ID"].is_in(pl.concat([j["PNR"], j["partner"]]).implode()).all()
    # FAIK: one row per family and year; partners get the same equivalised income
    faik = (
        pl.scan_parquet(tiny_dir / "faik" / "*.parquet", include_file_paths="file")
        .with_columns(year=pl.col("file").str.extract(r"faik(\d{4})").cast(pl.Int32))
        .drop("file")
        .collect()
    )
    assert faik.height == faik.select("FAMILIE_ID", "year").unique().height
    inc = bef.join(faik, on=["FAMILIE_ID", "year"])
    shared = inc.group_by("FAMILIE_ID", "year").agg(
        n=pl.len(), k=pl.col("FAMAEKVIVADISP_13").n_unique()
    )
    assert shared.filter(pl.col("n") == 2).height > 1000
    ind = read(tiny_dir, "ind")
    assert faik.height < ind.height  # fewer families than persons


def test_widowhood_changes_civil_status_and_living_alone(tiny_dir: Path) -> None:
    p = persons(tiny_dir)
    widowed = p.filter(pl.col("widowed_date").is_not_null())
    assert widowed.height == truth(tiny_dir)["realism"]["households"]["widowed_persons"] > 0
    bef = _bef(tiny_dir).select("PNR", "year", "CIVST", "FAMILIE_ID", "ANTPERSF")
    j = widowed.join(bef, on="PNR").with_columns(
        after=pl.col("year") >= pl.col("widowed_date").dt.year()
    )
    after = j.filter(pl.col("after"))
    before = j.filter(~pl.col("after"))
    assert after.height > 0 and before.height > 0
    assert (after["FAMILIE_ID"] == after["PNR"]).all()  # a family of one's own
    married = after.filter(pl.col("married"))
    assert (married["CIVST"] == "E").all()  # widow(er)
    assert (before.filter(pl.col("married"))["CIVST"] == "G").all()
    # before widowhood a family of two or more, unless a partner lives in a nursing home (the
    # true move-in: the register plh has no stay before 2011, feature plh_coverage)
    movein = p.filter(pl.col("nursing_home_movein").is_not_null()).select(
        "PNR", NH="nursing_home_movein"
    )
    nh = before.join(movein, on="PNR", how="left").join(
        movein.rename({"PNR": "partner", "NH": "NH2"}), on="partner", how="left"
    )
    together = nh.filter(
        (pl.col("NH").is_null() | (pl.col("NH").dt.year() > pl.col("year")))
        & (pl.col("NH2").is_null() | (pl.col("NH2").dt.year() > pl.col("year")))
    )
    assert together.height > 0.9 * before.height
    assert (together["ANTPERSF"] >= 2).all()
    # survivors of two-person families live alone from the year of the partner's death
    # (partners never in a nursing home: a move-in already shrinks the family before)
    never_nh = ~pl.col("partner").is_in(movein["PNR"].implode())
    two = (
        j.filter(~pl.col("living_alone_start"), never_nh)
        .group_by("PNR")
        .agg(
            pl.col("ANTPERSF").filter(~pl.col("after")).max().alias("size_before"),
            pl.col("ANTPERSF").filter(pl.col("after")).min().alias("size_after"),
        )
    )
    two = two.filter(pl.col("size_before") == 2, pl.col("size_after").is_not_null())
    assert two.height > 0 and (two["size_after"] == 1).all()


def test_living_alone_in_truth_is_what_bef_shows_the_year_before_death(tiny_dir: Path) -> None:
    """The planted models use living alone at the end of the year before death: exactly the
    status a cohort reads from BEF (ANTPERSF == 1) that year."""
    p = persons(tiny_dir).filter(pl.col("adult_decedent"))
    bef = _bef(tiny_dir).select("PNR", "year", "ANTPERSF")
    j = p.with_columns(year=pl.col("death_date").dt.year() - 1).join(bef, on=["PNR", "year"])
    assert j.height > 0.95 * p.height
    # residents at death (true residence: plh shows it from 2011 only, checked in the
    # nursing-home tests below) are not living alone; everyone else lives alone exactly when
    # BEF shows a one-person family
    j = j.with_columns(resident=pl.col("nursing_home"))
    assert (j["living_alone"] == ((j["ANTPERSF"] == 1) & ~j["resident"])).all()
    assert (j["living_alone_bef"] == (j["ANTPERSF"] == 1)).all()
    assert j.filter(pl.col("living_alone") & ~pl.col("living_alone_start")).height > 0
    # most residents are a one-person family in BEF the year before death (the old
    # definition of living alone counted them)
    assert j.filter("resident")["ANTPERSF"].eq(1).mean() > 0.8


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_every_family_is_one_person(
    which: str, request: pytest.FixtureRequest
) -> None:
    data: Path = request.getfixturevalue(which)
    bef = read(data, "bef")
    assert (bef["FAMILIE_ID"] == bef["PNR"]).all()
    assert truth(data)["realism"]["households"]["couples"] == 0


# ---------------------------------------------------------------- nursing homes (plh)
def _residents_at_death(data: Path) -> pl.DataFrame:
    """Adult decedents with the detailed place of death (DAR; null where missing), residence
    from the raw plh stays (``resident``) and the true residence (``nursing_home``)."""
    deaths = read(data, "dod").rename({"DODDATO": "death_date"})
    places = load_codes("place_of_death").select("C_PRAECIS_DODSSTED", "place")
    dar = read(data, "dodsaasg").join(places, on="C_PRAECIS_DODSSTED", how="left")
    stays = read(data, "plh").join(deaths, on="PNR")
    res = stays.filter(
        (pl.col("TILFLYT_DATO") <= pl.col("death_date"))
        & (pl.col("FRAFLYT_DATO").is_null() | (pl.col("FRAFLYT_DATO") >= pl.col("death_date")))
    )["PNR"]
    p = persons(data).filter(pl.col("adult_decedent"))
    p = p.select("PNR", "age_years", "cause_group", "nursing_home", true_place="place_of_death")
    return (
        p.join(dar.select("PNR", "place", "C_DODSSTED"), on="PNR", how="left")
        .join(deaths, on="PNR")
        .with_columns(resident=pl.col("PNR").is_in(res.implode()))
    )


def test_nursing_home_residents_in_the_register(tiny_dir: Path) -> None:
    """Residence at death from the raw stays: about 1 in 4 adult decedents (22 % of deaths in
    a nursing home / 80 % of residents dying there), old, often with dementia, dying in the
    nursing home (never in an 'own home'), as truth.json counts them. The register begins in
    2011 (feature plh_coverage), so this looks at deaths from 2011 on."""
    d = _residents_at_death(tiny_dir).filter(pl.col("death_date") >= dt.date(2011, 1, 1))
    counted = truth(tiny_dir)["realism"]["nursing_homes"]
    res = d.filter("resident")
    assert counted["enabled"] is True
    before = counted["residents_at_death_before_the_register"]
    assert res.height == counted["residents_at_death"] - before == counted["stays_written"]
    # from 2011 the register shows exactly the true residents
    assert (d["resident"] == d["nursing_home"]).all()
    # the detailed place where it is given (feature place_detail_missing blanks some)
    res = res.filter(pl.col("place").is_not_null())
    d = d.filter(pl.col("place").is_not_null())
    assert 0.20 < res.height / d.height < 0.33
    assert (res["age_years"] >= 80).mean() > 0.65 and (res["age_years"] >= 50).all()
    dem = (pl.col("cause_group") == "dementia").mean()
    assert res.select(dem).item() > 5 * d.filter(~pl.col("resident")).select(dem).item()
    share = res["place"].value_counts(normalize=True)
    got = dict(zip(share["place"], share["proportion"], strict=True))
    se = (0.8 * 0.2 / res.height) ** 0.5
    assert abs(got["nursing_home"] - 0.80) < 4 * se + 0.02  # REHPA 2012-2020: 80 %
    assert abs(got["hospital"] - 0.17) < 4 * se + 0.02  # and 16 % in hospital
    assert "home" not in got  # a resident's home is the nursing home
    # only residents die in a nursing home; DAR's coarse code is the home address
    assert d.filter(~pl.col("resident"), pl.col("place") == "nursing_home").height == 0
    assert (res.filter(pl.col("place") == "nursing_home")["C_DODSSTED"] == "1").all()
    stays = read(tiny_dir, "plh")
    assert stays["FRAFLYT_DATO"].null_count() == counted["stays_without_move_out_date"] > 0
    assert (stays["TILFLYT_DATO"] <= stays["FRAFLYT_DATO"]).all()
    assert truth(tiny_dir)["planted"]["home_death"]["population"] == "community_dwelling"


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_no_nursing_home_register(which: str, request: pytest.FixtureRequest) -> None:
    data: Path = request.getfixturevalue(which)
    assert not (data / "plh").exists()
    assert truth(data)["realism"]["nursing_homes"]["enabled"] is False
    assert truth(data)["planted"]["home_death"]["population"] == "all"
    p = persons(data).filter(pl.col("adult_decedent"))
    # living alone is BEF's one-person family again, residents (latent) included
    assert (p["living_alone"] == p["living_alone_bef"]).all()
    assert p.filter("nursing_home", pl.col("living_alone")).height > 0
    assert p.filter("nursing_home")["nursing_home_movein"].null_count() == p["nursing_home"].sum()


# ---------------------------------------------------------------- plh from its start (2011)
def test_no_plh_stay_before_the_register_begins(tiny_dir: Path) -> None:
    """The coverage table declares plh absent before 2011: no stay is written before it, yet
    the true residence still drives where residents who died in 2010 died (truth and register
    differ), and a stay that began earlier is written from 2011-01-01."""
    begins = dt.date(2011, 1, 1)
    stays = read(tiny_dir, "plh")
    deaths = read(tiny_dir, "dod").rename({"DODDATO": "death_date"})
    assert stays["TILFLYT_DATO"].min() >= begins
    assert stays.join(deaths, on="PNR").filter(pl.col("death_date") < begins).height == 0
    counted = truth(tiny_dir)["realism"]["plh_coverage"]
    assert counted["enabled"] is True and counted["register_from"] == "2011-01-01"
    d = _residents_at_death(tiny_dir)
    early = d.filter(pl.col("death_date") < begins)
    res = early.filter("nursing_home")
    assert res.height == counted["residents_at_death_before_the_register"] > 10
    assert not res["resident"].any()  # nothing in the register
    # the true residence still drives the place: most of them die in the nursing home (DAR),
    # none in an own home, and no 2010 non-resident dies in a nursing home
    assert (res["true_place"] == "nursing_home").mean() > 0.6
    assert not (res["true_place"] == "home").any()
    assert not early.filter(~pl.col("nursing_home"), pl.col("place") == "nursing_home").height
    # stays begun before 2011 start on 2011-01-01; the true move-in is earlier
    p = persons(tiny_dir).select("PNR", "nursing_home_movein")
    cut = stays.join(p, on="PNR").filter(pl.col("nursing_home_movein") < begins)
    assert (cut["TILFLYT_DATO"] == begins).all()
    assert cut.height == counted["stays_begun_before_the_register_written_from_its_start"] > 0
    later = stays.join(p, on="PNR").filter(pl.col("nursing_home_movein") >= begins)
    assert (later["TILFLYT_DATO"] == later["nursing_home_movein"]).all()


def test_plh_coverage_switched_off_writes_stays_from_the_move_in(tmp_path: Path) -> None:
    out = tmp_path / "plh_all"
    generate(SynthConfig(n_persons=4000, seed=12, plh_coverage=False), out)
    stays = read(out, "plh").join(persons(out).select("PNR", "nursing_home_movein"), on="PNR")
    assert (stays["TILFLYT_DATO"] == stays["nursing_home_movein"]).all()
    assert stays["TILFLYT_DATO"].min() < dt.date(2011, 1, 1)
    assert truth(out)["realism"]["plh_coverage"]["enabled"] is False


# ---------------------------------------------------------------- detailed place of death missing
def test_detailed_place_of_death_missing_at_its_rate(tiny_dir: Path) -> None:
    """A share of deaths lacks the detailed place (C_PRAECIS_DODSSTED), never the coarse
    C_DODSSTED, at the assumed rate, independently of the place, as truth.json counts."""
    dar = read(tiny_dir, "dodsaasg")
    counted = truth(tiny_dir)["realism"]["place_detail_missing"]
    miss = dar.filter(pl.col("C_PRAECIS_DODSSTED").is_null())
    assert miss.height == counted["deaths_without_detailed_place"]
    assert dar["C_DODSSTED"].null_count() == 0
    share, se = miss.height / dar.height, (0.05 * 0.95 / dar.height) ** 0.5
    assert counted["share"] == 0.05 and abs(share - 0.05) < 4 * se
    true = persons(tiny_dir).select("PNR", "place_of_death")
    by = miss.join(true, on="PNR").group_by("place_of_death").len()
    got = dict(by.iter_rows())
    assert {k: v for k, v in counted["by_true_place"].items() if v} == got
    assert got.get("hospice", 0) > 0 and got.get("nursing_home", 0) > 0


@pytest.mark.parametrize("which", ["plain_dir", "clean_dir"])
def test_switched_off_every_detailed_place_is_given(
    which: str, request: pytest.FixtureRequest
) -> None:
    data: Path = request.getfixturevalue(which)
    assert read(data, "dodsaasg")["C_PRAECIS_DODSSTED"].null_count() == 0
    counted = truth(data)["realism"]["place_detail_missing"]
    assert counted["enabled"] is False and counted["deaths_without_detailed_place"] == 0


# ---------------------------------------------------------------- skin cancer in CAR
def test_skin_cancers_are_in_the_cancer_register(tiny_dir: Path) -> None:
    """Non-melanoma skin cancers (C44) are written to CAR as in the real register, counted in
    truth.json, among persons aged 50+ at the start, numbered after another tumour."""
    car = read(tiny_dir, "car")
    skin = car.filter(pl.col("C_ICD10").str.starts_with("C44"))
    counted = truth(tiny_dir)["realism"]["skin_cancer_c44"]
    assert skin.height == counted["rows"] > 0
    p = persons(tiny_dir).select("PNR", "birth_date", "cancer_dx_date")
    j = skin.join(p, on="PNR")
    assert j.height == skin.height
    age = (dt.date(2010, 1, 1) - j["birth_date"]).dt.total_days() / 365.25
    assert (age >= 49.9).all()
    other = j.filter(pl.col("cancer_dx_date").is_not_null())
    assert other.height == counted["persons_with_another_cancer"] > 0
    assert (other["K_TUMORNR"] == "0002").all()
    assert car.select("PNR", "K_TUMORNR").unique().height == car.height


def test_clean_mode_writes_no_skin_cancer(clean_dir: Path) -> None:
    car = read(clean_dir, "car")
    assert not car["C_ICD10"].str.starts_with("C44").any()
    assert truth(clean_dir)["realism"]["skin_cancer_c44"] == {"enabled": False, "rows": 0}


# ---------------------------------------------------------------- LPR history
def test_lpr_history_reaches_back_as_configured(tmp_path: Path) -> None:
    """The default reaches 15 years back (LPR from 1995 for a 2010 start: the 10-year Charlson
    window and the look-backs, docs/methods.md); 5 years remains an option."""
    out = tmp_path / "lpr15"
    cfg = SynthConfig(n_persons=3000, seed=4)
    assert cfg.lpr_lookback_years == 15
    generate(cfg, out)
    adm = read(out, "lpr_adm")
    assert adm["D_INDDTO"].min().year == 1995
    assert (out / "lpr_adm" / "lpr_adm1995.parquet").is_file()
    assert not (out / "lpr_adm" / "lpr_adm1994.parquet").exists()
    assert truth(out)["generator"]["config"]["lpr_lookback_years"] == 15
    # every year of LPR2 has contacts (1995 to LPR3's start in February 2019)
    assert adm["D_INDDTO"].dt.year().n_unique() == 2019 - 1995 + 1
    out5 = tmp_path / "lpr5"
    generate(SynthConfig(n_persons=3000, seed=4, lpr_lookback_years=5), out5)
    assert read(out5, "lpr_adm")["D_INDDTO"].min().year == 2005
    assert not (out5 / "lpr_adm" / "lpr_adm2004.parquet").exists()
    with pytest.raises(ValueError, match="lpr_lookback_years"):
        SynthConfig(n_persons=3000, lpr_lookback_years=40).check()
