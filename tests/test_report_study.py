"""`load_study`: study options and the register files read are the cache key (never the
manifest); the validation of the files is shared; an empty register file is named."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import paleval.registers as registers
from paleval.report import StudyData, StudyDataError, data_fingerprint, load_study
from paleval.report import study as study_module


def test_lagged_gp_windows_are_their_own_study_and_reuse_the_validation(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    plain = load_study(tiny_dir, cache_dir=cache)
    assert plain.params["gp_offset_days"] == 0
    assert len(list(cache.glob("validation-*.parquet"))) == 1

    # a second study of the same files must not validate them again
    def no_validation(*args: object, **kwargs: object) -> None:
        raise AssertionError("validated twice")

    monkeypatch.setattr(registers, "validate", no_validation)
    lagged = load_study(tiny_dir, cache_dir=cache, gp_offset_days=14)
    assert lagged.params["gp_offset_days"] == 14
    assert len(list(cache.glob("study-*"))) == 2
    assert lagged.validation.equals(plain.validation)
    assert lagged.decedents["PNR"].equals(plain.decedents["PNR"])

    # the lag itself is tested week by week in tests/test_coverage.py; here: it reaches the
    # study's decedents
    differ = (
        plain.decedents.join(lagged.decedents, on="PNR", suffix="_lag")
        .filter(pl.col("gp_home_visits_90d") != pl.col("gp_home_visits_90d_lag"))
        .height
    )
    assert differ > 0  # the lag changes who counts as visited
    # the cached lagged study is read back, not rebuilt
    again = load_study(tiny_dir, cache_dir=cache, gp_offset_days=14)
    assert again.decedents.equals(lagged.decedents)


def test_bad_lag_is_refused_before_any_work(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gp_offset_days must be 0 or more"):
        load_study(tiny_dir, cache_dir=tmp_path, gp_offset_days=-7)
    with pytest.raises(TypeError, match="whole number of days"):
        load_study(tiny_dir, cache_dir=tmp_path, gp_offset_days=7.5)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ the cache key (issue 15)
@pytest.fixture()
def extract(tiny_dir: Path, tmp_path: Path) -> Path:
    """A copy of tiny (modification times kept) that a test may change."""
    return Path(shutil.copytree(tiny_dir, tmp_path / "extract"))


@pytest.fixture()
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The data folders load_study built (not read from its cache), in order."""
    seen: list[Path] = []
    real = study_module._build

    def counting(data_dir: Path, *args: object, **kwargs: object) -> StudyData:
        seen.append(Path(data_dir))
        return real(data_dir, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(study_module, "_build", counting)
    return seen


def test_changed_data_with_an_unchanged_manifest_is_rebuilt(
    extract: Path, tmp_path: Path, builds: list[Path]
) -> None:
    cache = tmp_path / "cache"
    before = load_study(extract, cache_dir=cache)
    manifest = (extract / "manifest.json").read_bytes()
    dod_file = extract / "dod" / "dod.parquet"
    dod = pl.read_parquet(dod_file)
    died_2020 = set(dod.filter(pl.col("DODDATO").dt.year() == 2020)["PNR"])
    assert died_2020 & set(before.decedents["PNR"])
    dod.filter(pl.col("DODDATO").dt.year() != 2020).write_parquet(dod_file)
    after = load_study(extract, cache_dir=cache)
    assert (extract / "manifest.json").read_bytes() == manifest  # stale, as on a real server
    assert len(builds) == 2
    assert set(after.decedents["PNR"]) == set(before.decedents["PNR"]) - died_2020
    assert after.params["fingerprint"] != before.params["fingerprint"]


def test_a_same_size_edit_with_the_old_mtime_is_seen(
    extract: Path, tmp_path: Path, builds: list[Path]
) -> None:
    """The content hash, not only size and modification time: a death date moved by a day in a
    CSV file of the same size, its modification time set back."""
    dod = pl.read_parquet(extract / "dod" / "dod.parquet")
    (extract / "dod" / "dod.parquet").unlink()
    csv = extract / "dod" / "dod.csv"
    dod.write_csv(csv, separator=";")
    cache = tmp_path / "cache"
    before = load_study(extract, cache_dir=cache)
    pnr, date = next(
        (p, d) for p, d in before.decedents.select("PNR", "death_date").iter_rows() if d.day < 28
    )
    later = date + dt.timedelta(days=1)
    st = csv.stat()
    text = csv.read_text()
    old, new = f"{pnr};{date.isoformat()}", f"{pnr};{later.isoformat()}"
    assert text.count(old) == 1
    csv.write_text(text.replace(old, new))
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert csv.stat().st_size == st.st_size and csv.stat().st_mtime_ns == st.st_mtime_ns
    after = load_study(extract, cache_dir=cache)
    assert len(builds) == 2
    assert after.decedents.filter(pl.col("PNR") == pnr)["death_date"].to_list() == [later]


def test_a_touched_file_gives_the_same_study(
    extract: Path, tmp_path: Path, builds: list[Path]
) -> None:
    cache = tmp_path / "cache"
    before = load_study(extract, cache_dir=cache)
    f = extract / "dpd" / "dpd.parquet"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    after = load_study(extract, cache_dir=cache)
    # a new modification time is a new key (a rebuild), with the same study: equal up to the
    # last bit of the practices' shrunk propensity (propensity_eb, summed in parallel: it
    # differs by 1 ulp between two builds of the same files)
    assert len(builds) == 2
    assert_frame_equal(
        after.decedents, before.decedents, check_exact=False, rel_tol=1e-12, abs_tol=1e-12
    )
    assert after.dpd.equals(before.dpd) and after.validation.equals(before.validation)


def test_a_file_removed_or_added_is_a_new_study(
    extract: Path, tmp_path: Path, builds: list[Path]
) -> None:
    cache = tmp_path / "cache"
    with_vnds = load_study(extract, cache_dir=cache)
    moved = shutil.move(extract / "vnds", tmp_path / "vnds_aside")
    without = load_study(extract, cache_dir=cache)
    assert len(builds) == 2
    assert without.params["fingerprint"] != with_vnds.params["fingerprint"]
    # emigrants are censored only when the migration register is delivered
    assert not without.incident_cancer.equals(with_vnds.incident_cancer)
    # an extra yearly file that the loaders read (a copy of the last LMDB year as the next)
    shutil.move(moved, extract / "vnds")
    last = sorted((extract / "lmdb").glob("lmdb*.parquet"))[-1]
    year = int(last.stem[-4:])
    extra = last.with_name(f"lmdb{year + 1}.parquet")
    shutil.copy2(last, extra)
    added = load_study(extract, cache_dir=cache)
    assert len(builds) == 3
    assert added.params["fingerprint"] not in {
        with_vnds.params["fingerprint"],
        without.params["fingerprint"],
    }
    extra.unlink()
    back = load_study(extract, cache_dir=cache)  # the first study again: read from the cache
    assert len(builds) == 3 and back.decedents.equals(with_vnds.decedents)


def test_the_fingerprint_ignores_the_manifest_and_files_not_read(extract: Path) -> None:
    fp = data_fingerprint(extract)
    (extract / "manifest.json").write_text("{}")
    (extract / "README.txt").write_text("notes")
    (extract / "dod" / "old_dod_backup.md").write_text("x")  # notes: ignored
    assert data_fingerprint(extract) == fp
    f = extract / "sssy" / sorted(p.name for p in (extract / "sssy").iterdir())[0]
    data = bytearray(f.read_bytes())
    st = f.stat()
    data[len(data) // 2] ^= 0xFF  # the middle of a file under 2 MiB is hashed too
    f.write_bytes(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert data_fingerprint(extract) != fp


# ------------------------------------------------------------------ empty registers
def test_a_register_file_without_rows_is_named_before_any_work(
    extract: Path, tmp_path: Path
) -> None:
    (extract / "dod" / "dod.parquet").unlink()
    (extract / "dod" / "dod.csv").write_text("PNR;DODDATO\n")
    with pytest.raises(StudyDataError, match=r"register 'dod', file dod/dod\.csv: no data rows"):
        load_study(extract, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*study-*"))
    assert not list((tmp_path / "cache").glob("validation-*"))


def test_a_register_file_whose_every_row_is_excluded_is_named(
    extract: Path, tmp_path: Path
) -> None:
    f = extract / "bef" / "bef201512.parquet"
    bef = pl.read_parquet(f)
    bef.with_columns(pl.lit(None, pl.Int64).alias("KOEN")).write_parquet(f)
    with pytest.raises(StudyDataError) as err:
        load_study(extract, cache_dir=tmp_path / "cache")
    assert err.value.problems == [
        f"register 'bef', file bef/bef201512.parquet: every row is excluded by validation "
        f"(null_required n={bef.height:,})"
    ]


def test_a_register_with_some_rows_excluded_is_fine(extract: Path, tmp_path: Path) -> None:
    f = extract / "bef" / "bef201512.parquet"
    bef = pl.read_parquet(f)
    bef.with_columns(
        pl.when(pl.int_range(pl.len()) < 7).then(None).otherwise(pl.col("KOEN")).alias("KOEN")
    ).write_parquet(f)
    study = load_study(extract, cache_dir=tmp_path / "cache")
    nulls = study.validation.filter(
        (pl.col("rule") == "null_required") & (pl.col("file") == "bef201512.parquet")
    )
    assert nulls["n"].to_list() == [7]
