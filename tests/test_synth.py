"""The synthetic register generator: structure, consistency, determinism, calibration."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.cli import main
from paleval.codes import load_codes
from paleval.registers import REGISTERS
from paleval.synth import SynthConfig, generate, synthetic_pnr
from paleval.synth.calibration import calibration_table


def scan(data: Path, key: str) -> pl.LazyFrame:
    return pl.scan_parquet(data / key / "*.parquet")


def read(data: Path, key: str) -> pl.DataFrame:
    return scan(data, key).collect()


def truth(data: Path) -> dict:
    return json.loads((data / "truth.json").read_text())


def persons(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / "truth" / "persons.parquet")


# ---------------------------------------------------------------- structure
def test_every_register_is_written_in_its_declared_schema(tiny_dir: Path) -> None:
    for reg in REGISTERS.values():
        files = sorted((tiny_dir / reg.key).glob("*.parquet"))
        assert files, f"no files for {reg.key}"
        for f in files:
            schema = pl.read_parquet_schema(f)
            assert dict(schema) == dict(reg.polars_schema), f.name
        if reg.yearly:
            names = {f.name for f in files}
            assert reg.file_name(2019) in names or reg.key.startswith("lpr_"), reg.key


def test_coded_variables_use_only_declared_codes(tiny_dir: Path) -> None:
    for reg in REGISTERS.values():
        coded = [v for v in reg.variables if v.codes]
        if not coded:
            continue
        df = read(tiny_dir, reg.key)
        for v in coded:
            values = set(df[v.name].drop_nulls().cast(pl.String).unique().to_list())
            assert values <= set(v.codes), f"{reg.key}.{v.name}: {values - set(v.codes)}"


def test_required_variables_are_never_missing(tiny_dir: Path) -> None:
    for reg in REGISTERS.values():
        required = [v.name for v in reg.variables if not v.nullable]
        nulls = read(tiny_dir, reg.key).select(pl.col(required).null_count()).row(0)
        assert not any(nulls), f"{reg.key}: nulls in {dict(zip(required, nulls, strict=True))}"


def test_primary_keys_are_unique(tiny_dir: Path) -> None:
    for reg in REGISTERS.values():
        if not reg.primary_key:
            continue
        if reg.yearly:  # unique within each yearly file
            for f in (tiny_dir / reg.key).glob("*.parquet"):
                df = pl.read_parquet(f, columns=list(reg.primary_key))
                assert df.is_unique().all(), f.name
        else:
            df = read(tiny_dir, reg.key).select(reg.primary_key)
            assert df.is_unique().all(), reg.key


def test_code_formats(tiny_dir: Path) -> None:
    lpr = read(tiny_dir, "lpr_diag")["C_DIAG"].str.to_uppercase()
    assert lpr.str.starts_with("D").all()  # SKS codes carry the D prefix
    dar = read(tiny_dir, "dodsaasg")["C_DODTILGRUNDL_ACME"]
    assert not dar.str.starts_with("D").any()  # the cause-of-death register does not
    assert dar.str.len_chars().is_between(4, 4).all()
    car = read(tiny_dir, "car")["C_ICD10"]
    assert car.str.contains(r"^C\d{3}$").all()
    honuge = read(tiny_dir, "sssy")["HONUGE"]
    assert honuge.str.contains(r"^\d{4}$").all()
    assert honuge.str.slice(2, 2).cast(pl.Int32).is_between(1, 53).all()
    speciale = read(tiny_dir, "sssy")["SPECIALE"].unique().to_list()
    assert set(speciale) <= set(load_codes("gp_services")["SPECIALE"].to_list())
    hfaudd = set(read(tiny_dir, "udda")["HFAUDD"].unique().to_list())
    assert hfaudd <= set(load_codes("education_hfaudd")["HFAUDD"].to_list())


def test_education_codes_are_unsystematic_like_dst_audd_codes(tiny_dir: Path) -> None:
    """Real HFAUDD (AUDD) codes are 4-digit identifiers whose digits say nothing about the
    level (DST: 'usystematiske'; 4112 is an electrician, 4443 a miller): the level comes
    only from the classification table. The generator writes such codes, including the two
    codes verified in public sources, so a level read off the first digit is wrong for
    every person (the old synthetic codes 1011-8011 agreed with such a shortcut)."""
    udda = read(tiny_dir, "udda").select("PNR", "HFAUDD").unique()
    assert udda["HFAUDD"].str.contains(r"^\d{4}$").all()
    table = load_codes("education_hfaudd").select("HFAUDD", "audd_niveau", "status")
    j = udda.join(table, on="HFAUDD", how="left")
    assert j["audd_niveau"].null_count() == 0
    first_digit = j["HFAUDD"].str.slice(0, 1).cast(pl.Int64) * 10
    assert (first_digit != j["audd_niveau"].cast(pl.Int64)).all()
    verified = set(table.filter(pl.col("status") == "verified code")["HFAUDD"])
    assert verified == {"4112", "4443"} and verified <= set(udda["HFAUDD"])


# ---------------------------------------------------------------- synthetic person numbers
def test_no_pnr_is_a_valid_cpr_number(tiny_dir: Path) -> None:
    pnr = read(tiny_dir, "bef")["PNR"].unique()
    assert pnr.str.len_chars().eq(10).all()
    month = pnr.str.slice(2, 2).cast(pl.Int32)
    assert month.is_between(21, 32).all(), "month field must be impossible (21-32)"


def test_synthetic_pnr_numbers_people_born_the_same_day() -> None:
    days = np.array([100, 100, 100, 5000])
    out = synthetic_pnr(days)
    assert len(set(out)) == 4
    assert [p[6:] for p in out[:3]] == ["0000", "0001", "0002"]


def test_synthetic_pnr_is_unique_for_people_born_a_century_apart() -> None:
    # 31 December 1909 and 2009 share DDMMYY (the national preset has both; it once gave
    # duplicate PNRs in BEF)
    d1909 = (np.datetime64("1909-12-31") - np.datetime64("1970-01-01")).astype(int)
    d2009 = (np.datetime64("2009-12-31") - np.datetime64("1970-01-01")).astype(int)
    out = synthetic_pnr(np.array([d2009, d1909, d2009]))
    assert len(set(out)) == 3
    assert sorted(p[6:] for p in out) == ["0000", "0001", "0002"]
    assert out[1].endswith("0000")  # the elder first


# ---------------------------------------------------------------- internal consistency
@pytest.fixture(scope="module")
def deaths(tiny_dir: Path) -> pl.DataFrame:
    return read(tiny_dir, "dod").rename({"DODDATO": "death"})


def _events_after_death(df: pl.DataFrame, deaths: pl.DataFrame, date: str) -> int:
    return df.join(deaths, on="PNR").filter(pl.col(date) > pl.col("death")).height


def test_every_pnr_exists_in_the_population(tiny_dir: Path) -> None:
    pop = scan(tiny_dir, "bef").select("PNR").unique().collect()["PNR"]
    for reg in REGISTERS.values():
        if "PNR" not in reg.columns:
            continue
        pnrs = scan(tiny_dir, reg.key).select("PNR").unique().collect()["PNR"]
        missing = (~pnrs.is_in(pop.implode())).sum()
        assert missing == 0, f"{reg.key}: {missing} PNRs not in BEF"


def test_no_event_after_death_or_before_birth(tiny_dir: Path, deaths: pl.DataFrame) -> None:
    assert _events_after_death(read(tiny_dir, "lpr_adm"), deaths, "D_INDDTO") == 0
    assert _events_after_death(read(tiny_dir, "lpr_adm"), deaths, "D_UDDTO") == 0
    assert _events_after_death(read(tiny_dir, "lpr_f_kontakter"), deaths, "dato_slut") == 0
    assert _events_after_death(read(tiny_dir, "lmdb"), deaths, "EKSD") == 0
    assert _events_after_death(read(tiny_dir, "car"), deaths, "D_DIAGNOSEDATO") == 0
    sssy = read(tiny_dir, "sssy").with_columns(
        week_start=pl.concat_str(
            pl.lit("20"),
            pl.col("HONUGE").str.slice(0, 2),
            pl.lit("-W"),
            pl.col("HONUGE").str.slice(2, 2),
            pl.lit("-1"),
        ).str.to_date("%G-W%V-%u")
    )
    # SSSY dates services by the payment week, which can start after death (payment lag):
    # exactly the services counted in truth.json
    late = sssy.join(deaths, on="PNR").filter(pl.col("week_start") > pl.col("death"))
    lag = truth(tiny_dir)["realism"]["sssy_payment_lag"]
    assert late["YDLANT"].sum() == lag["sssy_services_paid_in_a_week_after_death"] > 0
    # The only DPD referrals after death are the injected, counted ones.
    after = _events_after_death(read(tiny_dir, "dpd"), deaths, "HENV_DATO")
    assert after == truth(tiny_dir)["defects"]["dpd_referral_after_death"]
    birth = read(tiny_dir, "bef").select("PNR", "FOED_DAG").unique()
    lpr = read(tiny_dir, "lpr_adm").join(birth, on="PNR")
    assert lpr.filter(pl.col("D_INDDTO") < pl.col("FOED_DAG")).height == 0


def test_hospital_deaths_coincide_with_an_inpatient_stay(tiny_dir: Path) -> None:
    codes = load_codes("place_of_death").select("C_PRAECIS_DODSSTED", "place")
    hosp = (
        read(tiny_dir, "dodsaasg")
        .join(codes, on="C_PRAECIS_DODSSTED")
        .filter(pl.col("place") == "hospital")
        .select("PNR", death="D_DODSDATO")
    )
    lpr2 = (
        read(tiny_dir, "lpr_adm")
        .filter(pl.col("C_PATTYPE") == "0")
        .select("PNR", start="D_INDDTO", end="D_UDDTO")
    )
    lpr3 = read(tiny_dir, "lpr_f_kontakter").select("PNR", start="dato_start", end="dato_slut")
    stays = pl.concat([lpr2, lpr3]).filter(pl.col("end") > pl.col("start"))
    matched = hosp.join(stays, left_on=["PNR", "death"], right_on=["PNR", "end"], how="semi")
    assert hosp.height > 0
    assert matched.height == hosp.height


def test_dpd_first_contact_on_or_after_referral(tiny_dir: Path) -> None:
    dpd = read(tiny_dir, "dpd")
    adm = dpd.filter(pl.col("MODTAGET") == 1)
    assert adm["FOERSTE_KONTAKT_DATO"].null_count() == 0
    assert (adm["FOERSTE_KONTAKT_DATO"] >= adm["HENV_DATO"]).all()
    no = dpd.filter(pl.col("MODTAGET") == 0)
    assert no["FOERSTE_KONTAKT_DATO"].null_count() == no.height
    assert no["IKKE_MODTAGET_AARSAG"].null_count() == 0


def test_lpr2_and_lpr3_split_at_the_lpr3_start(tiny_dir: Path) -> None:
    start = dt.date.fromisoformat(truth(tiny_dir)["generator"]["config"]["lpr3_start"])
    assert read(tiny_dir, "lpr_adm")["D_INDDTO"].max() < start
    assert read(tiny_dir, "lpr_f_kontakter")["dato_start"].min() >= start


def test_ground_truth_home_visits_match_the_gp_register(tiny_dir: Path) -> None:
    """Home visits in the last 90 days of life (service days) as planted: the register has
    weeks, so count home-visit services in weeks that end within 90 days before death."""
    p = persons(tiny_dir).filter(pl.col("adult_decedent"))
    total_planted = int(p["gp_home_visits_90d"].sum())
    assert total_planted > 0
    hv = read(tiny_dir, "sssy").filter(pl.col("SPECIALE") == "800411", pl.col("YDLTID") == "1")
    assert hv["YDLANT"].sum() >= total_planted


# ---------------------------------------------------------------- injected messiness
def test_defects_are_counted_exactly(tiny_dir: Path) -> None:
    t = truth(tiny_dir)["defects"]
    lower = 0
    for key, col in (
        ("lpr_adm", "C_ADIAG"),
        ("lpr_diag", "C_DIAG"),
        ("lpr_f_kontakter", "aktionsdiagnose"),
        ("lpr_f_diagnoser", "diagnosekode"),
    ):
        s = read(tiny_dir, key)[col]
        lower += int((s != s.str.to_uppercase()).sum())
    assert lower == t["diagnosis_code_lowercase"] > 0
    adm = read(tiny_dir, "lpr_adm").drop("RECNUM")
    assert adm.height - adm.unique().height >= t["lpr2_duplicate_admissions"] > 0
    p = persons(tiny_dir)
    assert p["education_missing"].sum() == t["education_missing_persons"] > 0
    in_udda = scan(tiny_dir, "udda").select("PNR").unique().collect()["PNR"]
    flagged = p.filter(pl.col("education_missing"))["PNR"]
    assert not flagged.is_in(in_udda.implode()).any()


def test_clean_mode_injects_no_defects(tmp_path: Path) -> None:
    t = generate(SynthConfig(n_persons=3000, seed=5, messiness=False), tmp_path / "clean")
    counted = {k: v for k, v in t["defects"].items() if k != "home_probability_clipped"}
    assert all(v == 0 for v in counted.values()), counted


# ---------------------------------------------------------------- determinism
def test_same_seed_gives_byte_identical_files_and_another_seed_differs(
    tiny_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate(SynthConfig.from_preset("tiny", seed=1), again)
    generate(SynthConfig.from_preset("tiny", seed=2), other)
    files = sorted(p.relative_to(tiny_dir) for p in tiny_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(tiny_dir, again, [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []
    assert (tiny_dir / "bef" / "bef201512.parquet").read_bytes() != (
        other / "bef" / "bef201512.parquet"
    ).read_bytes()


# ---------------------------------------------------------------- configuration and CLI
def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        SynthConfig.from_preset("huge")
    with pytest.raises(ValueError, match="n_persons must be at least 1000"):
        SynthConfig(n_persons=10).check()
    with pytest.raises(ValueError, match="study period"):
        SynthConfig(n_persons=2000, start_year=2020, end_year=2010).check()


def test_refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        generate(SynthConfig(n_persons=1000), tmp_path)


def test_cli_synth_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            "synth",
            "--preset",
            "tiny",
            "--persons",
            "2000",
            "--start-year",
            "2015",
            "--end-year",
            "2020",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "2,000 persons" in text and "place of death" in text
    assert (out / "bef" / "bef201912.parquet").is_file()
    assert not (out / "bef" / "bef202112.parquet").exists()


def test_cli_reports_errors_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--persons", "10", "--out", "/tmp/never-written"]) == 2
    assert "n_persons must be at least 1000" in capsys.readouterr().err


# ---------------------------------------------------------------- calibration (small)
@pytest.mark.slow
def test_small_preset_meets_every_calibration_target(small_dir: Path) -> None:
    table = calibration_table(small_dir)
    missed = table.filter(~pl.col("ok"))
    assert missed.height == 0, missed.select("target", "value", "achieved", "n")
    assert truth(small_dir)["counts"]["adult_decedents"] > 18_000


def test_a_foreign_folder_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="never deletes files it did not write"):
        generate(SynthConfig(n_persons=1000), tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_earlier_extract_is_replaced_file_by_file_and_added_files_are_refused(
    tmp_path: Path,
) -> None:
    """Regenerating into a folder with an earlier extract and files the user added there is
    refused, naming them, with or without overwrite, and deletes nothing; without the added
    files the extract is replaced; a manifest naming a path outside its folder deletes
    nothing."""
    out = tmp_path / "extract"
    generate(SynthConfig(n_persons=1000, seed=1), out)
    (out / "notes.txt").write_text("mine")
    (out / "bef" / "my_cohort.parquet").write_bytes(b"PAR1")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match=r"notes\.txt"):
            generate(SynthConfig(n_persons=1000, seed=2), out, overwrite=overwrite)
    assert json.loads((out / "truth.json").read_text())["generator"]["config"]["seed"] == 1
    assert (out / "bef" / "my_cohort.parquet").read_bytes() == b"PAR1"
    (out / "notes.txt").unlink()
    (out / "bef" / "my_cohort.parquet").unlink()
    generate(SynthConfig(n_persons=1000, seed=2), out)
    assert json.loads((out / "truth.json").read_text())["generator"]["config"]["seed"] == 2
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["../victim.txt"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FileExistsError, match="outside"):
        generate(SynthConfig(n_persons=1000, seed=3), out)
    assert victim.read_text() == "keep" and (out / "manifest.json").exists()
