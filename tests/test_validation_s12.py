"""Validation's shortcuts at national scale give the counts of the plain definitions (issue 15,
session 12).

Validation of a national extract skips work where a cheaper count proves the answer: the PNR
guard also answers ``null_required`` of PNR, the complete keys are the rows when no key part is
missing, a one-column key is hashed as it is, and the cross-register pass takes its example
rows from the same join as its counts. Each test builds a parquet file by hand in which the
shortcut, taken wrongly, gives another number; the expected values are written from the
construction, never computed by paleval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from _badinputs import BEF, DOD, SERVICE, write_files
from paleval.registers import validate

D = dt.date


def _rules(d: Path, keys: list[str], **kw: object) -> dict[tuple[str, str | None], int]:
    rep = validate(d, keys, cache_dir=d.parent / "cache", **kw)  # type: ignore[arg-type]
    return {(r["rule"], r["column"]): r["n"] for r in rep.findings.iter_rows(named=True)}


def _bef_parquet(d: Path, pnrs: list[str | None]) -> None:
    """A BEF file whose rows are the first row of the clean BEF with these PNRs (as text)."""
    header, first = BEF.splitlines()[:2]
    cols = header.split(",")
    row = dict(zip(cols, first.split(","), strict=True))
    frame = pl.DataFrame({c: [row[c]] * len(pnrs) for c in cols}).with_columns(
        PNR=pl.Series(pnrs, dtype=pl.String)
    )
    (d / "bef").mkdir(parents=True)
    frame.write_parquet(d / "bef" / "bef201912.parquet")


def test_missing_and_repaired_pnrs_in_a_parquet_key(tmp_path: Path) -> None:
    """Three missing PNRs (null, blank, "."), a nine-digit PNR that the repair makes equal to
    another row's, and a plain repeat. A guard that skips null PNRs reports no
    ``null_required``; complete keys taken as all rows report 5 repeats instead of 2."""
    d = tmp_path / "data"
    _bef_parquet(
        d,
        ["0101501111", "0101501111", None, "  ", ".", "202602222", "0202602222", "0303703333"],
    )
    found = _rules(d, ["bef"])
    assert found[("null_required", "PNR")] == 3
    assert found[("code_normalised", "PNR")] == 1  # the nine digits, zero-filled
    # complete keys: 0101501111 x2, 0202602222 x2 (one repaired), 0303703333 -> 2 repeats
    assert found[("duplicate_key", "PNR")] == 2
    assert ("code_width", "PNR") not in found


def test_clean_pnrs_with_one_repeat(tmp_path: Path) -> None:
    d = tmp_path / "data"
    _bef_parquet(d, ["0101501111", "0202602222", "0101501111", "0303703333"])
    assert _rules(d, ["bef"]) == {("duplicate_key", "PNR"): 1}


def test_a_one_column_key_is_compared_after_parsing(tmp_path: Path) -> None:
    """ " F1" and "F1" are one family after the blanks are stripped: hashing the raw text
    finds no repeat."""
    d = tmp_path / "data"
    (d / "faik").mkdir(parents=True)
    pl.DataFrame(
        {"FAMILIE_ID": [" F1", "F1", "F2", ".", "F3 "], "FAMAEKVIVADISP_13": ["1"] * 5}
    ).write_parquet(d / "faik" / "faik2019.parquet")
    found = _rules(d, ["faik"])
    assert found[("null_required", "FAMILIE_ID")] == 1
    assert found[("duplicate_key", "FAMILIE_ID")] == 1


def test_an_unparseable_key_date_makes_the_key_incomplete(tmp_path: Path) -> None:
    """Two stays of one person whose start date cannot be read have no complete key, so they
    are not repeats of each other: taking every row as complete counts 2 repeats."""
    d = tmp_path / "data"
    (d / "plh").mkdir(parents=True)
    pl.DataFrame(
        {
            "PNR": ["0101501111"] * 3,
            "TILFLYT_DATO": ["2019-01-01", "x", "x"],
            "FRAFLYT_DATO": ["2019-02-01", None, None],
        }
    ).write_parquet(d / "plh" / "plh.parquet")
    found = _rules(d, ["plh"])
    assert found[("unparseable_date", "TILFLYT_DATO")] == 2
    assert ("duplicate_key", "PNR,TILFLYT_DATO") not in found


@pytest.mark.parametrize("debug", [False, True])
def test_cross_register_examples_are_the_first_rows_in_file_order(
    tmp_path: Path, debug: bool
) -> None:
    """SSSY services of a person who died on Monday 1 June 2020 (ISO week 2023), among
    services of the living: paid in week 2024 (within the 8-week payment lag) at rows 3, 6,
    ..., 30 and in week 2040 (after the lag) at rows 31-33. The examples are the first five
    rows of each rule in the file, whatever order the join returns them in."""
    d = tmp_path / "data"
    write_files(d, {"bef/bef201912.csv": BEF, "dod/dod.csv": DOD})
    dead, living = "0101501111", "0202602222"
    n = 33
    pnr = [dead if (i % 3 == 0 and i <= 30) or i > 30 else living for i in range(1, n + 1)]
    week = ["2040" if i > 30 else ("2024" if i % 3 == 0 else "1905") for i in range(1, n + 1)]
    (d / "sssy").mkdir()
    pl.DataFrame(
        {
            "PNR": pnr,
            "HONUGE": week,
            "YDERNR": ["123456"] * n,
            "SPEC2": ["80"] * n,
            "SPECIALE": [SERVICE] * n,
            "YDLTID": ["1"] * n,
            "YDLANT": [1] * n,
            "BRUHON": [145.0] * n,
        }
    ).write_parquet(d / "sssy" / "sssy2020.parquet")
    rep = validate(d, ["sssy", "dod", "bef"], cache_dir=tmp_path / "cache", debug=debug)
    rows = {r["rule"]: r for r in rep.findings.iter_rows(named=True)}
    paid, after = rows["sssy_paid_after_death"], rows["event_after_death"]
    assert (paid["n"], after["n"]) == (10, 3)
    assert "event_before_birth" not in rows
    shown = [e.split(":")[0] for e in paid["examples"]]
    assert shown == ["row 3", "row 6", "row 9", "row 12", "row 15"]
    assert [e.split(":")[0] for e in after["examples"]] == ["row 31", "row 32", "row 33"]
    assert all((dead in e) == debug for e in paid["examples"] + after["examples"])


def test_a_null_pnr_among_clean_ones_is_null_required(tmp_path: Path) -> None:
    """Every present PNR is ten digits and one is null: a guard that skips nulls proves "no
    PNR rule holds" and loses the missing PNR."""
    d = tmp_path / "data"
    _bef_parquet(d, ["0101501111", None, "0202602222"])
    assert _rules(d, ["bef"]) == {("null_required", "PNR"): 1}


def test_a_pnr_proved_clean_is_loaded_as_it_is_and_a_dirty_one_is_still_cleaned(
    tmp_path: Path,
) -> None:
    """Validation remembers a parquet PNR column as clean only when every PNR is ten digits;
    a column with a padded or nine-digit PNR is still cleaned by the loader afterwards."""
    from paleval.registers import scan_register

    for pnrs, loaded in (
        (["0101501111", "0202602222"], ["0101501111", "0202602222"]),
        (["0101501111 ", "202602222"], ["0101501111", "0202602222"]),
    ):
        d = tmp_path / f"data{len(pnrs[0])}"
        _bef_parquet(d, pnrs)
        cache = d.parent / f"cache{len(pnrs[0])}"
        validate(d, ["bef"], cache_dir=cache)
        got = scan_register(d, "bef", cache_dir=cache).collect()["PNR"].to_list()
        assert got == loaded


def test_each_yearly_file_is_checked_against_the_persons_its_dates_can_concern(
    tmp_path: Path,
) -> None:
    """The 2020 prescriptions span 5 January to 20 December: a person born on 1 March 2020
    with a prescription on 1 February, and one who died on 1 June with one on 1 July, are
    both found (bounds taken the wrong way round, or from the 2019 file, find neither)."""
    born_2020 = "0403204444"
    d = tmp_path / "data"
    header, *rows = BEF.splitlines()
    newborn = rows[0].replace("0101501111", born_2020).replace("1950-01-01", "2020-03-01")
    lmdb = "PNR,EKSD,ATC,VNR,APK,PACKSIZE,VOLUME\n"
    line = "{},{},N02AA05,123456,1,20,10\n"
    write_files(
        d,
        {
            "bef/bef201912.csv": BEF,
            "bef/bef202012.csv": "\n".join([header, *rows, newborn]) + "\n",
            "dod/dod.csv": DOD,  # 0101501111 died on 2020-06-01
            "lmdb/lmdb2019.csv": lmdb + line.format("0202602222", "2019-05-01"),
            "lmdb/lmdb2020.csv": lmdb
            + line.format("0202602222", "2020-01-05")
            + line.format(born_2020, "2020-02-01")
            + line.format("0101501111", "2020-07-01")
            + line.format("0202602222", "2020-12-20"),
        },
    )
    rep = validate(d, ["lmdb", "dod", "bef"], cache_dir=tmp_path / "cache")
    found = {
        (r["rule"], r["file"]): (r["n"], r["examples"]) for r in rep.findings.iter_rows(named=True)
    }
    assert found[("event_before_birth", "lmdb2020.csv")] == (1, ["row 2"])
    assert found[("event_after_death", "lmdb2020.csv")] == (1, ["row 3"])
    assert not any(f == "lmdb2019.csv" for _, f in found)


def test_a_padded_pnr_sends_the_file_to_the_repaired_count(tmp_path: Path) -> None:
    """ " 0101501111" breaks no PNR rule (stripped it is ten digits) but is not ten digits as
    stored: the file is counted again with the cleaned PNR, in which it repeats the next row;
    the raw count finds no repeat."""
    d = tmp_path / "data"
    _bef_parquet(d, [" 0101501111", "0101501111", "0202602222"])
    assert _rules(d, ["bef"]) == {("duplicate_key", "PNR"): 1}


def test_a_birth_date_that_changes_between_years_counts_from_its_earliest(
    tmp_path: Path,
) -> None:
    """0303703333 is born in 1970 in BEF 2019 and on 1 June 2019 in BEF 2020 (a correction).
    The cross-register checks use the earliest plausible birth date, 1970, so a prescription
    on 1 March 2019 is no event before birth; keeping only the rows after the earliest event
    (instead of the persons with such a row) would take June 2019 and count it."""
    d = tmp_path / "data"
    header, *rows = BEF.splitlines()
    moved = [r.replace("1970-03-03", "2019-06-01") for r in rows]
    lmdb = "PNR,EKSD,ATC,VNR,APK,PACKSIZE,VOLUME\n0303703333,2019-03-01,N02AA05,123456,1,20,10\n"
    write_files(
        d,
        {
            "bef/bef201912.csv": BEF,
            "bef/bef202012.csv": "\n".join([header, *moved]) + "\n",
            "dod/dod.csv": DOD,
            "lmdb/lmdb2019.csv": lmdb,
        },
    )
    rep = validate(d, ["lmdb", "dod", "bef"], cache_dir=tmp_path / "cache")
    assert rep.n("event_before_birth") == 0
    # the same prescription before the only birth date is counted
    (d / "bef" / "bef201912.csv").write_text("\n".join([header, *moved]) + "\n")
    rep = validate(d, ["lmdb", "dod", "bef"], cache_dir=tmp_path / "cache2")
    assert rep.n("event_before_birth", "lmdb") == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_excluded_are_counted_once_however_many_rules_they_break(
    tmp_path: Path, fmt: str
) -> None:
    """Four prescriptions: one without ATC and dated 2099 (two exclude rules), one dated
    1900-01-01, two clean. The rules count 1 + 2 = 3, but 2 rows are excluded: the report's
    ``files`` table says 4 = 2 excluded + 2 kept, which is what the loader keeps."""
    from paleval.registers import scan_register

    d = tmp_path / "data"
    frame = pl.DataFrame(
        {
            "PNR": ["0101501111", "0202602222", "0303703333", "0101501111"],
            "EKSD": ["2099-01-01", "1900-01-01", "2019-05-01", "2019-06-01"],
            "ATC": [None, "N02AA05", "C10AA01", "N02AA05"],
            "VNR": ["123456"] * 4,
            "APK": ["1"] * 4,
            "PACKSIZE": ["20"] * 4,
            "VOLUME": ["10"] * 4,
        }
    )
    (d / "lmdb").mkdir(parents=True)
    if fmt == "csv":
        frame.write_csv(d / "lmdb" / "lmdb2019.csv")
    else:
        frame.write_parquet(d / "lmdb" / "lmdb2019.parquet")
    end = "2020-12-31"
    rep = validate(d, ["lmdb"], cache_dir=tmp_path / "cache", extract_end=end)
    assert rep.n("null_required", "lmdb", "ATC") == 1
    assert rep.n("date_sentinel", "lmdb") == 2  # 2099 and 1900 are both sentinels
    assert rep.files.select("register", "rows", "excluded", "kept").rows() == [("lmdb", 4, 2, 2)]
    kept = scan_register(d, "lmdb", exclude=True, cache_dir=tmp_path / "c2", extract_end=end)
    assert kept.collect().height == 2


def test_nan_in_a_whole_number_column_stored_as_floats_is_counted(tmp_path: Path) -> None:
    """pandas writes a whole-number column with a missing value as floats with NaN: the
    loader reads the NaN as missing (the row kept) and validation counts it, as it counts NaN
    in a decimal column; it was silent before."""
    from paleval.registers import scan_register

    header, first = BEF.splitlines()[:2]
    cols = header.split(",")
    row = dict(zip(cols, first.split(","), strict=True))
    frame = pl.DataFrame({c: [row[c]] * 3 for c in cols}).with_columns(
        PNR=pl.Series(["0101501111", "0202602222", "0303703333"]),
        ANTPERSF=pl.Series([2.0, float("nan"), 1.0]),
    )
    d = tmp_path / "data"
    (d / "bef").mkdir(parents=True)
    frame.write_parquet(d / "bef" / "bef201912.parquet")
    assert _rules(d, ["bef"]) == {("number_not_finite", "ANTPERSF"): 1}
    loaded = scan_register(d, "bef", exclude=True, cache_dir=tmp_path / "c").collect()
    assert loaded["ANTPERSF"].to_list() == [2, None, 1]


def test_two_runs_give_the_same_findings_in_the_same_order(tiny_dir: Path, tmp_path: Path) -> None:
    """The out-of-hours rates and the duplicate contacts run in a second thread: their
    findings still come after the cross-register ones, in one order, whatever finishes first."""
    a = validate(tiny_dir, cache_dir=tmp_path / "a")
    b = validate(tiny_dir, cache_dir=tmp_path / "b")
    assert a.findings.equals(b.findings) and a.files.equals(b.files)
    assert a.n("lpr_duplicate_contact") > 0 and a.files.height > 0
