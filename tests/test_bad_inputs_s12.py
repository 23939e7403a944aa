"""Bad inputs a referee tries that the earlier bad-input suites do not (issue 15, session 12).

New variations of the issue's kinds: the same defects in other registers (LPR3, DPD, PLH,
SSSY), other formats (parquet written by pyarrow with other encodings, SAS transport), other
columns, combined with a second defect, in optional registers and part files, and through the
other entry points (``validate``, the loaders, the cohort functions, ``paleval report --out``).
Each case builds its damaged extract by hand from the small clean extract of
``test_bad_inputs_values`` (or frames written here) and asserts either the error naming file and
column, or the counted exclusion whose counts add up (rows in the file = rows kept + rows
excluded), and that what validation counts as excluded is absent from the frames the study uses.
Expected values come from the construction, never from paleval.

Cases marked ``# fix`` were silent, wrong or crashed before this session; the others pin a kind
not covered before.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from _badinputs import rule_counts, write_files
from paleval.registers import RegisterLoadError, register_inventory, scan_register, validate
from test_bad_inputs_values import BASE

D = dt.date
DOD_TEXT = BASE["dod/dod.csv"]


def _extract(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    d = tmp_path / "data"
    write_files(d, {**BASE, **(extra or {})})
    return d


_findings = rule_counts


def _load(d: Path, key: str, **kw: object) -> pl.DataFrame:
    lf = scan_register(d, key, exclude=True, cache_dir=d.parent / "cache", **kw)  # type: ignore[arg-type]
    return lf.collect()


# --------------------------------------------------------------------------- stale caches
def _bef_parquet(path: Path, civst: list[str]) -> None:
    """BEF as parquet with fixed-size pages (no compression, dictionary or statistics): a
    file with other letters of the same length has exactly the same size."""
    bef = pl.read_csv(BASE["bef/bef201912.csv"].encode(), infer_schema_length=0)
    table = bef.with_columns(CIVST=pl.Series(civst)).to_arrow()
    pq.write_table(table, path, compression="none", use_dictionary=False, write_statistics=False)


def test_a_parquet_file_replaced_with_the_same_size_and_time_is_cleaned_again(  # fix
    tmp_path: Path,
) -> None:
    """The memo of columns needing no cleaning was keyed by path, size and modification time:
    a clean file (civil status ``G``) replaced by one of the same size with ``g`` (``cp -p``
    keeps the time) was read uncleaned, ``g`` in the study frame where a fresh run gives
    ``G``, in this process and in the next (``clean-columns.json``)."""
    d = _extract(tmp_path)
    (d / "bef" / "bef201912.csv").unlink()
    path = d / "bef" / "bef201912.parquet"
    _bef_parquet(path, ["G", "U", "E"])
    before = path.stat()
    assert _findings(d, ["bef"]) == {}
    assert _load(d, "bef")["CIVST"].to_list() == ["G", "U", "E"]
    _bef_parquet(path, ["g", "U", "e"])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert _findings(d, ["bef"]) == {}
    # the declared spelling, as a first read of this file gives (was ['g', 'U', 'e'])
    assert _load(d, "bef")["CIVST"].to_list() == ["G", "U", "E"]
    # a new process: the memo on disk must not say "clean" either
    from paleval.registers import _raw

    _raw._CLEAN_MEMO.clear()
    _raw._MEMO_READ.clear()
    assert _load(d, "bef")["CIVST"].to_list() == ["G", "U", "E"]


# --------------------------------------------------------------------------- numbers
def test_gp_windows_netting_below_zero_form_no_category(tmp_path: Path) -> None:  # fix
    """SSSY books corrections as negative numbers of services (kept by validation, summed by
    the cohort). A window holding only corrections (-1) or more corrections than services
    (+1 -2) has no count: it was -1, and -1 <= 2 put the person in the home-visit category
    "1-2". A window that nets to 1 stays 1 ("1-2"); a correction outside the window plays no
    part."""
    from paleval.cohort.exposures import add_gp_exposures

    home = "800411"  # a daytime home visit (the docstring's example service)
    death = D(2019, 3, 31)  # ISO week 2019-13
    rows = [  # PNR, payment week, services
        ("a", "1912", -1),
        ("b", "1910", 1),
        ("b", "1912", -2),
        ("c", "1911", 2),
        ("c", "1912", -1),
        ("d", "1912", 1),
        ("d", "1801", -1),  # a year before the 90-day window
    ]
    sssy = pl.LazyFrame(
        {
            "PNR": [r[0] for r in rows],
            "HONUGE": [r[1] for r in rows],
            "SPECIALE": [home] * len(rows),
            "YDLTID": ["1"] * len(rows),
            "YDLANT": [r[2] for r in rows],
        }
    )
    cohort = pl.LazyFrame(
        {"PNR": ["a", "b", "c", "d", "e"], "death_date": [death] * 5, "region_code": ["81"] * 5}
    )
    out = add_gp_exposures(cohort, sssy).collect()
    assert out["gp_home_visits_90d"].to_list() == [None, None, 1, 1, 0]
    assert out["gp_home_visit_category"].to_list() == [None, None, "1-2", "1-2", "0"]
    assert (out["gp_contacts_30d"].drop_nulls() >= 0).all()


# --------------------------------------------------------------------------- dates
PLH = (
    "PNR,TILFLYT_DATO,FRAFLYT_DATO\n"
    "0101501111,2015-01-01,9999-12-31\n"  # still living there (died 2020-06-01 in DOD)
    "0202602222,2018-03-01,2099-01-01\n"  # still living there
    "0303703333,2016-05-01,1900-01-01\n"  # a move-out date that is day 0: unknown
    "0404804444,2017-02-01,2030-01-01\n"  # a move-out after the extract's end (2020)
    "0505905555,2019-01-01,\n"  # still living there
)


def test_a_nursing_home_stay_open_to_9999_is_kept(tmp_path: Path) -> None:  # fix
    """PLH spells "still living there" as an empty move-out date or, as GP listings do, as
    9999-12-31 / 2099: those stays were excluded as sentinels, and a resident who died in the
    nursing home was counted as not living in one (and warned as moved out after death). Day
    0 and a date after the extract's end stay excluded; rows in = kept + excluded."""
    from paleval.cohort.decedents import add_nursing_home

    d = _extract(tmp_path, {"plh/plh.csv": PLH})
    got = _findings(d, ["plh", "dod"])
    assert got == {
        ("date_sentinel", "plh", "FRAFLYT_DATO"): 1,
        ("date_after_extract_end", "plh", "FRAFLYT_DATO"): 1,
    }
    kept = _load(d, "plh")
    assert kept["PNR"].to_list() == ["0101501111", "0202602222", "0505905555"]
    assert 5 == kept.height + 2
    assert kept["FRAFLYT_DATO"].to_list() == [D(9999, 12, 31), D(2099, 1, 1), None]
    cohort = pl.LazyFrame({"PNR": ["0101501111"], "death_date": [D(2020, 6, 1)]})
    out = add_nursing_home(cohort, kept.lazy()).collect()
    assert out["nursing_home_resident"].to_list() == [True]


# --------------------------------------------------------------------------- file names
@pytest.mark.parametrize(
    ("folder", "name", "owner"),
    [
        ("bef/year=2018", "bef201912.csv", "register 'bef', year 2019"),  # fix: was 2018
        ("bef/bef201812", "bef201912.csv", "register 'bef', year 2019"),  # fix: was 2018
        ("bef/year=2019", "lmdb2019.csv", "register 'lmdb', year 2019"),  # fix: read as BEF
    ],
)
def test_a_file_named_for_another_year_in_a_year_folder_is_refused(
    folder: str, name: str, owner: str, tmp_path: Path
) -> None:
    """A file inside a year folder (hive ``year=2018/`` or a folder of parts ``bef201812/``)
    was read as that folder's year whatever its own name said: BEF's 2019 status became the
    2018 status, silently. A name of another year or register is refused, naming both."""
    d = _extract(tmp_path)
    src = "bef/bef201912.csv" if name.startswith("bef") else "lmdb/lmdb2019.csv"
    (d / folder).mkdir(parents=True)
    (d / src).rename(d / folder / name)
    inv = register_inventory(d).filter(pl.col("path") == f"{folder}/{name}")
    assert inv["status"].to_list() == ["refused"]
    assert owner in inv["reason"][0] and folder in inv["reason"][0]
    got = _findings(d, ["bef"])
    assert got[("file_refused", "bef", None)] >= 1
    with pytest.raises(RegisterLoadError, match=rf"{folder}/{name}: named as a file of {owner}"):
        scan_register(d, "bef")


def test_a_file_named_for_its_own_year_in_a_year_folder_is_read(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "bef" / "year=2019").mkdir()
    (d / "bef" / "bef201912.csv").rename(d / "bef" / "year=2019" / "bef201912.csv")
    assert _findings(d, ["bef"]) == {}
    got = _load(d, "bef")
    assert got.height == 3 and got["year"].unique().to_list() == [2019]


# --------------------------------------------------------------------------- the study
STUDY = {  # with BASE: every register the study needs (a tiny but complete extract); the
    # home visit of 2020 lets the practice propensity of death year 2021 be estimated
    "sssy/sssy2020.csv": (
        "PNR,HONUGE,YDERNR,SPEC2,SPECIALE,YDLTID,YDLANT,BRUHON\n"
        "0202602222,2005,123456,80,800411,1,1,145.0\n"
    ),
    "terminal/terminaltilskud.csv": "PNR,BEVILLING_DATO\n0101501111,2020-05-20\n",
    "lpr_diag/lpr_diag2019.csv": "RECNUM,C_DIAG,C_DIAGTYPE\nR1,DC349,A\nR2,DI219,A\n",
    "tilknytning/tilknytning.csv": (
        "PNR,YDERNR,DATO_FRA,DATO_TIL\n0101501111,123456,2010-01-01,\n"
        "0202602222,123456,2010-01-01,\n0303703333,123456,2010-01-01,\n"
    ),
}


def test_a_study_period_without_deaths_is_a_clear_message_before_any_notebook(  # fix
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one death of the extract is in 2020; a study of 2030 had empty cohorts and failed
    inside the practice propensity with "no home visits or listed persons aged 40+ ... [2030]"
    (nothing about deaths or the period). Now the study data error names the register, the
    period and the deaths there are; ``paleval report`` prints it as one line and writes
    nothing."""
    from paleval.cli import main
    from paleval.report.study import StudyDataError, load_study

    d = _extract(tmp_path, STUDY)
    msg = (
        "register 'dod': no death in the study period 2030-01-01 to 2030-12-31 "
        "(the 1 deaths kept run from 2020-06-01 to 2020-06-01)"
    )
    with pytest.raises(StudyDataError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        load_study(d, start="2030-01-01", end="2030-12-31", cache_dir=tmp_path / "c")
    out = tmp_path / "reports" / "r"
    code = main(
        ["report", "--data", str(d), "--out", str(out), "--start", "2030-01-01",
         "--end", "2030-12-31", "--cache-dir", str(tmp_path / "c"), "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and msg in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- integrity
def _damage_page(path: Path, frame: pl.DataFrame, column: str) -> None:
    """``frame`` as gzip parquet with statistics, four bytes of ``column``'s page damaged (in
    the middle of its column chunk: the page header no longer decodes)."""
    from _badinputs import flip

    frame.write_parquet(path, compression="gzip", statistics=True)
    chunk = pq.read_metadata(path).row_group(0).column(frame.columns.index(column))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    flip(path, start + chunk.total_compressed_size // 2, b"\xff\x13\x7f\x10")


def _deaths(n: int) -> pl.DataFrame:
    pnr = ["0101501111", *(f"{i:010d}" for i in range(n - 1))]
    return pl.DataFrame({"PNR": pnr, "DODDATO": [D(2020, 6, 1)] * n})


def test_a_corrupt_page_of_death_dates_is_named_not_a_polars_traceback(  # fix
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every death on one day: validation's date rules are answered by the footer statistics
    and never decode the damaged page; the cross-register death checks then read it, and
    ``paleval validate`` and ``load_study`` died with polars' "Invalid thrift: bad data",
    naming no file. Both now name the file and why."""
    from paleval.cli import main
    from paleval.registers import RegisterValidationError
    from paleval.report.study import load_study

    d = _extract(tmp_path, STUDY)
    (d / "dod" / "dod.csv").unlink()
    _damage_page(d / "dod" / "dod.parquet", _deaths(3000), "DODDATO")
    code = main(["validate", str(d), "--quiet"])
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.err
    assert "[error] file_corrupt: dod/dod.parquet: n=1: e.g. corrupt parquet file" in printed.out
    # the library function reports it too (it never raises on bad input)
    assert (
        validate(d, ["dod", "bef", "dpd"], cache_dir=tmp_path / "v").n("file_corrupt", "dod") == 1
    )
    # the study build stops at validation, with the same finding
    with pytest.raises(RegisterValidationError, match=r"file_corrupt: dod/dod\.parquet: n=1"):
        load_study(d, cache_dir=tmp_path / "c")


def test_a_corrupt_page_of_a_constant_column_is_found_by_a_full_read(tmp_path: Path) -> None:
    """DPD's MODTAGET is 1 in all 3,000 rows: the damaged page is never decoded by the
    validation's queries (its statistics answer them), but ``validate(verify=True)`` and
    :func:`damaged_files` (the study's fallback) read it and name the file; the loader's
    strict scan refuses it."""
    from paleval.registers import damaged_files

    d = _extract(tmp_path)
    (d / "dpd" / "dpd.csv").unlink()
    n = 3000
    dpd = pl.DataFrame(
        {
            "PNR": [f"{i:010d}" for i in range(n)],
            "ENHED_ID": ["98102"] * n,
            "HENV_DATO": [D(2019, 1, 1) + dt.timedelta(days=i % 300) for i in range(n)],
            "MODTAGET": [1] * n,
        }
    )
    _damage_page(d / "dpd" / "dpd.parquet", dpd, "MODTAGET")
    rep = validate(d, ["dpd"], verify=True, cache_dir=tmp_path / "c")
    assert rep.n("file_corrupt", "dpd") == 1
    assert [line.split(": corrupt")[0] for line in damaged_files(d)] == [
        "register 'dpd', file dpd/dpd.parquet"
    ]
    with pytest.raises(RegisterLoadError, match=r"dpd\.parquet: corrupt parquet file"):
        scan_register(d, "dpd", strict=True)


def _lmdb_parts(d: Path, parts: list[int]) -> None:
    """LMDB 2019 as a Spark folder of parts, part ``i`` holding the first ``parts[i]`` rows."""
    lmdb = pl.read_csv(d / "lmdb" / "lmdb2019.csv", infer_schema_length=0)
    (d / "lmdb" / "lmdb2019.csv").unlink()
    (d / "lmdb" / "lmdb2019").mkdir()
    for i, n in enumerate(parts):
        lmdb.head(n).write_parquet(d / "lmdb" / "lmdb2019" / f"part-{i:05d}-x.snappy.parquet")


def test_an_empty_spark_part_beside_parts_with_rows_is_no_empty_register(  # fix
    tmp_path: Path,
) -> None:
    """Spark writes empty part files; one beside a part with the year's two prescriptions
    made ``load_study`` refuse the extract ("no data rows"). The year is judged as a whole:
    the study builds, the empty part is a ``no_rows`` warning, and the rows kept are the
    rows in the parts."""
    from paleval.report.study import load_study

    d = _extract(tmp_path, STUDY)
    _lmdb_parts(d, [2, 0])
    got = _findings(d, ["lmdb"])
    assert got == {("no_rows", "lmdb", None): 1}
    assert _load(d, "lmdb").height == 2 + 0
    study = load_study(d, cache_dir=tmp_path / "c")
    assert study.decedents["PNR"].to_list() == ["0101501111"]


def test_a_year_whose_every_part_is_empty_is_still_refused(tmp_path: Path) -> None:
    from paleval.report.study import StudyDataError, load_study

    d = _extract(tmp_path, STUDY)
    _lmdb_parts(d, [0, 0])
    with pytest.raises(StudyDataError) as err:
        load_study(d, cache_dir=tmp_path / "c")
    assert err.value.problems == [
        f"register 'lmdb', file lmdb/lmdb2019/part-0000{i}-x.snappy.parquet: no data rows "
        "(header only)"
        for i in (0, 1)
    ]


def _append(d: Path, rel: str, line: str) -> None:
    p = d / rel
    p.write_text(p.read_text() + line + "\n")


def _replace(d: Path, rel: str, old: str, new: str) -> None:
    p = d / rel
    text = p.read_text()
    assert text.count(old) == 1, (rel, old)
    p.write_text(text.replace(old, new))


def test_rows_excluded_in_six_registers_are_absent_from_the_study(tmp_path: Path) -> None:
    """Every event of the one decedent (0101501111, died 2020-06-01) made invalid under a
    different exclude rule in a different register (a DPD contact before its referral, a
    terminal grant dated 1900, a dispensing in 2099, an LPR discharge before admission, a
    cancer diagnosis dated 9999-12-31, a payment week 54): validation counts each once, and
    the study built from the same files uses none of them; another person's valid rows keep
    every register non-empty (rows in = rows kept + rows excluded)."""
    from paleval.report.study import load_study

    d = _extract(tmp_path, STUDY)
    f = "0101501111"
    _replace(d, "dpd/dpd.csv", "own_doctor,1,2020-05-10", "own_doctor,1,2020-04-10")
    _replace(d, "terminal/terminaltilskud.csv", "2020-05-20", "1900-01-01")
    _replace(d, "lmdb/lmdb2019.csv", "2019-04-01", "2099-04-01")
    _replace(d, "lpr_adm/lpr_adm2019.csv", "2019-01-10,2019-01-12", "2019-01-12,2019-01-10")
    _replace(d, "car/t_tumor.csv", "2019-01-10", "9999-12-31")
    _replace(d, "sssy/sssy2019.csv", f"{f},1905", f"{f},1954")
    other = "0202602222"
    _append(d, "car/t_tumor.csv", f"{other},0001,2019-02-10,C509,81403")
    _append(d, "dpd/dpd.csv", f"{other},98102,hospice,2020-05-01,own_doctor,1,2020-05-10,,1,1")
    _append(d, "sssy/sssy2019.csv", f"{other},1905,123456,80,800411,1,1,145.0")
    _append(d, "terminal/terminaltilskud.csv", f"{other},2020-05-20")
    keys = ["dpd", "terminal", "lmdb", "lpr_adm", "car", "sssy"]
    got = _findings(d, keys)
    assert got == {
        ("dpd_contact_before_referral", "dpd", "FOERSTE_KONTAKT_DATO"): 1,
        ("date_sentinel", "terminal", "BEVILLING_DATO"): 1,
        ("date_sentinel", "lmdb", "EKSD"): 1,
        ("end_before_start", "lpr_adm", "D_UDDTO"): 1,
        ("date_sentinel", "car", "D_DIAGNOSEDATO"): 1,
        ("honuge_invalid", "sssy", "HONUGE"): 1,
    }
    rows_in = {"dpd": 2, "terminal": 2, "lmdb": 2, "lpr_adm": 2, "car": 2, "sssy": 3}
    for key in keys:
        kept = _load(d, key)
        assert kept.height == rows_in[key] - 1, key
        assert f not in kept["PNR"].to_list(), key
    study = load_study(d, cache_dir=tmp_path / "c")
    row = study.decedents.filter(pl.col("PNR") == f).row(0, named=True)
    assert (row["spc_referred"], row["spc_referral_date"]) == (False, None)
    assert (row["terminal_declaration"], row["opioid_90d"]) == (False, False)
    assert (row["gp_home_visits_90d"], row["admissions_30d"]) == (0, 0)
    assert study.dpd["PNR"].to_list() == [other]
    assert f not in study.incident_cancer["PNR"].to_list()
    assert f not in study.care_use["PNR"].to_list()


# --------------------------------------------------------------------------- report --out
def _tree(folder: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    ("out", "cwd", "message"),
    [
        ("hidden", None, "it is not empty and has no readable .paleval-report.json"),
        ("afile/report", None, "afile/.report.paleval-staging-"),
        ("afile/a/b", None, "cannot write in {base}/afile/a: Not a directory"),
        (".", "work", "--out {base}/work: it is not empty"),
        ("..", "work", "--out {base} would hold {base}/data"),
        ("link/.", None, "--out {base}/link is a symbolic link (to {base}/foreign)"),
    ],
)
def test_report_out_variations_are_refused_and_touch_nothing(
    out: str,
    cwd: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--out`` at a folder holding only a hidden file, under a file (one or two levels),
    ``.`` in a folder of the user's files, ``..`` above the data, a symbolic link spelled
    with a trailing ``/.``: one line naming the path, exit 2, no byte changed or added."""
    from paleval.cli import main

    base = tmp_path.resolve()
    _extract(tmp_path, STUDY)
    (base / "hidden").mkdir()
    (base / "hidden" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (base / "afile").write_text("mine")
    (base / "work").mkdir()
    (base / "work" / "notes.txt").write_text("mine")
    (base / "foreign").mkdir()
    (base / "foreign" / "mine.txt").write_text("mine")
    (base / "link").symlink_to(base / "foreign", target_is_directory=True)
    before = _tree(base)
    if cwd is not None:
        monkeypatch.chdir(base / cwd)
    target = out if cwd is not None else str(base / out)
    code = main(
        ["report", "--data", str(base / "data"), "--out", target, "--quiet",
         "--cache-dir", str(base / "cache")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message.format(base=base) in err
    assert _tree(base) == before


def test_a_death_before_birth_with_hospital_contacts_is_its_own_flow_step(
    tmp_path: Path,
) -> None:
    """A person born 2020-08-01 (BEF) who died 2020-03-01 (DOD, with a cause of death) and
    had an admission in February 2020: validation counts the death (death_before_birth) and
    the admission (event_before_birth) once each; the decedents lose the person at the
    "implausible death date" step, not at "aged under 18", and nowhere else."""
    from paleval.report.study import load_study

    d = _extract(tmp_path, STUDY)
    p = "0303703333"
    _replace(d, "bef/bef201912.csv", "1970-03-03", "2020-08-01")
    _append(d, "dod/dod.csv", f"{p},2020-03-01")
    place = BASE["dodsaasg/dodsaasg.csv"].strip().split(",")[-1]
    _append(d, "dodsaasg/dodsaasg.csv", f"{p},2020-03-01,I219,I219,,,,,5,1,{place}")
    _append(d, "lpr_adm/lpr_adm2019.csv", f"{p},R3,9101,011,01,0,1,2020-02-10,2020-02-12,2,DI219")
    got = _findings(d, ["bef", "dod", "dodsaasg", "lpr_adm"])
    assert got == {
        ("death_before_birth", "dod", "DODDATO"): 1,
        ("event_before_birth", "lpr_adm", "D_INDDTO"): 1,
    }
    study = load_study(d, cache_dir=tmp_path / "c")
    assert study.decedents["PNR"].to_list() == ["0101501111"]
    steps = {label.split(" (")[0]: (n, out) for _, label, n, out in study.flow.rows()}
    assert steps["Excluded: implausible death date"] == (1, 1)
    assert steps["Excluded: aged under 18 at death"] == (1, 0)


def test_a_death_file_replaced_with_the_same_size_and_time_moves_the_extract_end(  # fix
    tmp_path: Path,
) -> None:
    """The extract's end (from the yearly files of 2019 and the latest death or referral,
    at most a year later) was remembered per (path, size, modification time): a DOD file whose
    2019 death became a 2020 death of the same length, with its time kept, still gave
    2019-12-31 in this process, and the 2020 death was excluded as after the extract's end."""
    from paleval.registers import extract_end_of

    d = _extract(tmp_path)
    _replace(
        d, "dpd/dpd.csv", "2020-05-01,own_doctor,1,2020-05-10", "2019-05-01,own_doctor,1,2019-05-10"
    )
    dod = d / "dod" / "dod.csv"
    dod.write_text("PNR,DODDATO\n0101501111,2019-06-01\n")
    before = dod.stat()
    assert extract_end_of(d) == D(2019, 12, 31)
    dod.write_text("PNR,DODDATO\n0101501111,2020-06-01\n")
    os.utime(dod, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert extract_end_of(d) == D(2020, 12, 31)
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod", extract_end=extract_end_of(d))["DODDATO"].to_list() == [D(2020, 6, 1)]


def _same_size_and_time(path: Path, data: bytes) -> None:
    """Replace ``path``'s bytes by ``data`` (of the same length), keeping its times."""
    st = path.stat()
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_latin1_csv_replaced_by_utf8_of_the_same_size_and_time_is_utf8(  # fix
    tmp_path: Path,
) -> None:
    """The encoding found was remembered per (path, size, modification time): a latin-1 file
    replaced by its UTF-8 re-export of the same size and time was decoded as latin-1, the
    note 'Ærx' read as 'Ã\\x86rx' (mojibake, no finding)."""
    d = tmp_path / "data"
    (d / "dod").mkdir(parents=True)
    path = d / "dod" / "dod.csv"
    path.write_bytes("PNR;DODDATO;BY\n0101501111;2020-06-01;Ærxx\n".encode("latin-1"))
    assert _load(d, "dod")["BY"].to_list() == ["Ærxx"]
    _same_size_and_time(path, "PNR;DODDATO;BY\n0101501111;2020-06-01;Ærx\n".encode())
    assert _load(d, "dod")["BY"].to_list() == ["Ærx"]


def test_a_csv_replaced_by_one_with_a_short_line_of_the_same_size_is_refused(  # fix
    tmp_path: Path,
) -> None:
    """The count of fields per line was remembered per (path, size, modification time): a
    file replaced (same size and time) by one whose second line lost a separator was read
    with that line's last value missing, silently."""
    d = _extract(tmp_path)
    path = d / "dod" / "dod.csv"
    path.write_text("PNR,DODDATO\n0101501111,2020-06-01\n0202602222,2020-07-01\n")
    assert _load(d, "dod").height == 2
    _same_size_and_time(path, b"PNR,DODDATO\n0101501111,2020-06-01\n0202602222;2020-07-01\n")
    assert _findings(d, ["dod"]) == {("file_unreadable", "dod", None): 1}
    with pytest.raises(
        RegisterLoadError,
        match=r"dod\.csv: .*1 line\(s\) have fewer fields than the header's 2 \(lines 3\)",
    ):
        _load(d, "dod")


# --------------------------------------------------------------------------- pinned kinds
@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("lpr_adm_2019.parquet", "refused", "name matches no file of register 'lpr_adm'"),
        ("lpr_adm2019 (1).parquet", "refused", "name matches no file of register 'lpr_adm'"),
        ("lpr_adm2019.parquet.bak", "refused", "unsupported format .parquet.bak"),
        ("Copy of lpr_adm2019.parquet", "refused", "whose name matches no pattern"),
        ("LPR_ADM2019.PARQUET", "read", ""),
        ("year=2019/part-00000-x.snappy.parquet", "read", ""),
    ],
)
def test_yearly_lpr_file_names(name: str, status: str, reason: str, tmp_path: Path) -> None:
    """LPR2 admissions of 2019 delivered under other names: read, or refused with the reason
    (never skipped); what is read is all of it."""
    d = _extract(tmp_path)
    lpr = pl.read_csv(d / "lpr_adm" / "lpr_adm2019.csv", infer_schema_length=0)
    (d / "lpr_adm" / "lpr_adm2019.csv").unlink()
    (d / "lpr_adm" / name).parent.mkdir(parents=True, exist_ok=True)
    lpr.write_parquet(d / "lpr_adm" / name)
    inv = register_inventory(d).filter(pl.col("path") == f"lpr_adm/{name}")
    assert inv["status"].to_list() == [status] and reason in inv["reason"][0]
    if status == "read":
        assert _findings(d, ["lpr_adm"]) == {}
        assert _load(d, "lpr_adm")["RECNUM"].to_list() == ["R1", "R2"]
    else:
        assert _findings(d, ["lpr_adm"]) == {
            ("register_missing", "lpr_adm", None): 1,
            ("file_refused", "lpr_adm", None): 1,
        }


def test_unknown_and_unnormalised_codes_in_other_columns(tmp_path: Path) -> None:
    """A region outside 81-85 (warning, kept), sex 3 (error: a required code), LPR2
    diagnoses in lower case with a dot or a space (warning; the diagnoses read are
    normalised), an ATC code with a space (counted as normalised; still an opioid)."""
    from paleval.registers import lpr_diagnoses

    d = _extract(tmp_path, {"lpr_diag/lpr_diag2019.csv": STUDY["lpr_diag/lpr_diag2019.csv"]})
    _replace(d, "bef/bef201912.csv", ",84,G", ",86,G")
    _replace(d, "bef/bef201912.csv", "0202602222,2,", "0202602222,3,")
    _replace(d, "lpr_diag/lpr_diag2019.csv", "R1,DC349", "R1,dc34.9")
    _replace(d, "lpr_diag/lpr_diag2019.csv", "R2,DI219", "R2,DI 21 9")
    _replace(d, "lmdb/lmdb2019.csv", "N02AA05", "N02A A05")
    got = _findings(d, ["bef", "lpr_adm", "lpr_diag", "lmdb"])
    assert got == {
        ("code_outside_list", "bef", "REG"): 1,
        ("code_outside_list_required", "bef", "KOEN"): 1,
        ("diagnosis_not_normalised", "lpr_diag", "C_DIAG"): 2,
        ("code_normalised", "lmdb", "ATC"): 1,
        ("column_missing_optional", "lpr_diag", "C_TILDIAG"): 1,
    }
    diag = lpr_diagnoses(d).collect().sort("contact_id")
    assert diag["diagnosis"].to_list() == ["DC349", "DI219"]


@pytest.mark.parametrize(
    ("rel", "text", "key", "col", "days"),
    [
        ("lpr_f_kontakter/lpr_f_kontakter2019.csv",
         "PNR,DW_EK_KONTAKT,dato_start,dato_slut\n0101501111,K1,01022019,03022019\n",
         "lpr_f_kontakter", "dato_start", [D(2019, 2, 1)]),
        ("lpr_f_kontakter/lpr_f_kontakter2019.csv",
         "PNR,DW_EK_KONTAKT,dato_start,dato_slut\n0101501111,K1,20190201,20190203\n",
         "lpr_f_kontakter", "dato_start", [D(2019, 2, 1)]),
        ("plh/plh.csv", "PNR,TILFLYT_DATO,FRAFLYT_DATO\n0101501111,20150101,\n",
         "plh", "TILFLYT_DATO", [D(2015, 1, 1)]),
    ],
)  # fmt: skip
def test_ddmmyyyy_and_yyyymmdd_text_in_lpr3_and_plh(
    rel: str, text: str, key: str, col: str, days: list[dt.date], tmp_path: Path
) -> None:
    d = _extract(tmp_path, {rel: text})
    got = {k: n for k, n in _findings(d, [key]).items() if k[0] != "column_missing_optional"}
    assert got == {}
    assert _load(d, key)[col].to_list() == days


def test_two_digit_years_in_lpr3_are_refused_naming_file_column_and_rows(tmp_path: Path) -> None:
    text = "PNR,DW_EK_KONTAKT,dato_start,dato_slut\n0101501111,K1,01-02-19,03-02-19\n"
    d = _extract(tmp_path, {"lpr_f_kontakter/lpr_f_kontakter2019.csv": text})
    with pytest.raises(
        RegisterLoadError,
        match=r"lpr_f_kontakter2019\.csv, column 'dato_start': two-digit years in 1 of 1 rows "
        r"\(e\.g\. row 1: '01-02-19'\)",
    ):
        scan_register(d, "lpr_f_kontakter")
    assert _findings(d, ["lpr_f_kontakter"])[("file_unreadable", "lpr_f_kontakter", "dato_start")]


def test_yyyymmdd_integers_in_a_dpd_parquet_file_are_dates(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "dpd" / "dpd.csv").unlink()
    dpd = pl.read_csv(BASE["dpd/dpd.csv"].encode(), infer_schema_length=0)
    dpd.with_columns(
        HENV_DATO=pl.lit(20200501), FOERSTE_KONTAKT_DATO=pl.lit(20200510), MODTAGET=pl.lit(1)
    ).write_parquet(d / "dpd" / "dpd.parquet")
    assert _findings(d, ["dpd"]) == {}
    got = _load(d, "dpd").select("HENV_DATO", "FOERSTE_KONTAKT_DATO").row(0)
    assert got == (D(2020, 5, 1), D(2020, 5, 10))


def test_nan_and_infinite_personal_income_in_parquet_are_null(tmp_path: Path) -> None:
    d = _extract(tmp_path)
    (d / "ind" / "ind2019.csv").unlink()
    pl.DataFrame(
        {
            "PNR": ["0101501111", "0202602222"],
            "PERINDKIALT_13": [float("inf"), 1.0],
            "DISPON_13": [float("nan"), -1.0],
        }
    ).write_parquet(d / "ind" / "ind2019.parquet")
    assert _findings(d, ["ind"]) == {
        ("number_not_finite", "ind", "PERINDKIALT_13"): 1,
        ("number_not_finite", "ind", "DISPON_13"): 1,
    }
    got = _load(d, "ind")
    assert got.height == 2  # values made null, rows kept
    assert got.select("PERINDKIALT_13", "DISPON_13").rows() == [(None, None), (1.0, -1.0)]


@pytest.mark.parametrize("register", ["plh", "dpd"])
def test_an_optional_header_only_parquet_or_a_fully_excluded_register_is_named(
    register: str, tmp_path: Path
) -> None:
    """PLH (optional) as a header-only parquet file, DPD with its one referral dated 1900:
    the study refuses with the register and file named, before anything is built."""
    from paleval.report.study import StudyDataError, load_study

    d = _extract(tmp_path, STUDY)
    if register == "plh":
        (d / "plh").mkdir()
        schema = {"PNR": pl.String, "TILFLYT_DATO": pl.Date, "FRAFLYT_DATO": pl.Date}
        pl.DataFrame(schema=schema).write_parquet(d / "plh" / "plh.parquet")
        want = "register 'plh', file plh/plh.parquet: no data rows (header only)"
    else:
        _replace(d, "dpd/dpd.csv", "2020-05-01", "1900-01-01")
        want = (
            "register 'dpd', file dpd/dpd.csv: every row is excluded by validation "
            "(date_sentinel n=1)"
        )
    with pytest.raises(StudyDataError) as err:
        load_study(d, cache_dir=tmp_path / "c")
    assert err.value.problems == [want]


def test_a_byte_order_mark_kept_in_a_parquet_column_name_is_no_part_of_it(  # fix
    tmp_path: Path,
) -> None:
    """A BOM CSV converted to parquet by a tool that kept the BOM in the first column name
    ('\\ufeffPNR'): the CSV itself is read, its parquet copy was refused (PNR missing)."""
    d = _extract(tmp_path)
    (d / "dod" / "dod.csv").unlink()
    pl.DataFrame({"\ufeffPNR": ["0101501111"], "DODDATO": ["2020-06-01"]}).write_parquet(
        d / "dod" / "dod.parquet"
    )
    assert _findings(d, ["dod"]) == {}
    assert _load(d, "dod").rows() == [("0101501111", D(2020, 6, 1))]


def test_a_register_delivered_as_a_file_without_suffix_is_refused_saying_so(
    tmp_path: Path,
) -> None:
    d = _extract(tmp_path)
    (d / "dod" / "dod.csv").unlink()
    (d / "dod").rmdir()
    (d / "dod").write_text(DOD_TEXT)
    inv = register_inventory(d).filter(pl.col("path") == "dod")
    assert inv.select("status", "reason").row(0)[0] == "refused"
    assert "no file suffix, format unknown" in inv["reason"][0]
    with pytest.raises(RegisterLoadError, match="dod: no file suffix"):
        scan_register(d, "dod")


def test_a_september_status_in_a_bef_year_folder_is_refused(tmp_path: Path) -> None:  # fix
    """``bef/year=2019/bef201909.csv`` (BEF's September status; paleval reads December's) was
    read as a part of 2019 beside the December file: every person twice. A name like the
    register's that matches no pattern is refused inside a year folder as outside it."""
    d = _extract(tmp_path)
    (d / "bef" / "year=2019").mkdir()
    (d / "bef" / "bef201912.csv").rename(d / "bef" / "year=2019" / "bef201912.csv")
    (d / "bef" / "year=2019" / "bef201909.csv").write_text(BASE["bef/bef201912.csv"])
    inv = register_inventory(d).filter(pl.col("path").str.ends_with("bef201909.csv"))
    assert inv["status"].to_list() == ["refused"]
    assert "matches no pattern" in inv["reason"][0]
    with pytest.raises(RegisterLoadError, match=r"year=2019/bef201909\.csv: name is like"):
        scan_register(d, "bef")
