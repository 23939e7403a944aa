"""Rule ``lpr_duplicate_contact`` (session 12): the two-pass count (a hash of ``PNR, start,
end`` picks the candidates, an exact de-duplication counts them) against an independent
row-by-row count, on the ``tiny`` extract and on small extracts built to break a wrong
definition: colliding hashes, copies in two yearly files, nulls in key columns, keys equal
only after the loaders' normalisation, LPR2 and LPR3 together, CSV files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from paleval.registers import validation as V
from paleval.registers.loading import DUPLICATE_KEY, deduplicate_contacts, lpr_contacts
from paleval.registers.validation import validate

LPR2_COLS = ("PNR", "RECNUM", "C_SGH", "C_AFD", "C_PATTYPE", "C_INDM", "D_INDDTO", "D_UDDTO")
LPR3_COLS = ("PNR", "DW_EK_KONTAKT", "SORENHED_ANS", "dato_start", "dato_slut", "prioritet")


# --------------------------------------------------------------------------- helpers


def _reference(contacts: pl.DataFrame) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Independent count: walk the contacts in order, a contact whose five key values
    (``None`` equal to ``None``, as ``unique`` treats nulls) were seen before is a duplicate,
    counted in its own source; examples: per source, its first five duplicates of the first
    start year (missing last) in which it has any."""
    seen: set[tuple] = set()
    counts: dict[str, int] = {}
    dups: dict[str, list[tuple]] = {}
    for row in contacts.iter_rows(named=True):
        key = tuple(row[c] for c in DUPLICATE_KEY)
        src = row["source"]
        counts.setdefault(src, 0)
        if key in seen:
            counts[src] += 1
            year = row["start"].year if row["start"] is not None else 10_000
            dups.setdefault(src, []).append((year, row["contact_id"]))
        else:
            seen.add(key)
    examples = {}
    for src, rows in dups.items():
        first = min(y for y, _ in rows)
        examples[src] = [f"contact_id {c}" for y, c in rows if y == first][:5]
    return counts, examples


def _rule(d: Path, text_files: bool = False) -> dict[str, tuple[int, list[str]]]:
    """register -> (n, examples) of the rule, as validate() adds it."""
    out = V._Collector()
    V._duplicate_contacts(d, ["lpr_adm", "lpr_f_kontakter"], out, None, text_files)
    f = out.frame()
    return {r: (n, ex) for r, n, ex in f.select("register", "n", "examples").rows()}


def _as_rule(counts: dict[str, int], examples: dict[str, list[str]]) -> dict:
    names = {"LPR2": "lpr_adm", "LPR3": "lpr_f_kontakter"}
    return {names[s]: (n, examples.get(s, [])) for s, n in counts.items() if n > 0}


def _lpr2(rows: list[tuple]) -> pl.DataFrame:
    """LPR2 admissions: (PNR, RECNUM, C_SGH, C_AFD, D_INDDTO, D_UDDTO, C_ADIAG)."""
    full = [(p, r, s, a, "0", "1", i, u, dg) for p, r, s, a, i, u, dg in rows]
    cols = [*LPR2_COLS, "C_ADIAG"]
    return pl.DataFrame(full, schema=dict.fromkeys(cols, pl.String), orient="row").with_columns(
        pl.col("D_INDDTO", "D_UDDTO").str.to_date()
    )


def _lpr3(rows: list[tuple]) -> pl.DataFrame:
    """LPR3 contacts: (PNR, DW_EK_KONTAKT, SORENHED_ANS, dato_start, dato_slut,
    aktionsdiagnose)."""
    full = [(p, k, s, a, b, "ATA1", dg) for p, k, s, a, b, dg in rows]
    cols = [*LPR3_COLS, "aktionsdiagnose"]
    return pl.DataFrame(full, schema=dict.fromkeys(cols, pl.String), orient="row").with_columns(
        pl.col("dato_start", "dato_slut").str.to_date()
    )


def _write(d: Path, key: str, year: int, df: pl.DataFrame, fmt: str = "parquet") -> None:
    (d / key).mkdir(parents=True, exist_ok=True)
    path = d / key / f"{key}{year}.{fmt}"
    if fmt == "parquet":
        df.write_parquet(path)
    else:
        df.write_csv(path)


def _check(d: Path) -> dict:
    """The rule's findings, asserted equal to the reference and to deduplicate_contacts."""
    got = _rule(d)
    contacts = lpr_contacts(d).collect()
    want = _as_rule(*_reference(contacts))
    assert got == want
    assert sum(n for n, _ in got.values()) == deduplicate_contacts(contacts)[1]
    return got


# --------------------------------------------------------------------------- tiny extract


def test_tiny_counts_and_examples_match_the_reference(tiny_dir: Path) -> None:
    got = _check(tiny_dir)
    assert set(got) == {"lpr_adm", "lpr_f_kontakter"}
    assert all(n > 0 and len(ex) == 5 for n, ex in got.values())


def test_tiny_unchanged_when_every_hash_collides(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a constant hash every contact is a candidate: a count of repeated hashes would
    be every contact but one; the exact second pass still gives the reference."""
    want = _rule(tiny_dir)
    monkeypatch.setattr(V, "_date_hash", lambda: pl.col("PNR").is_null().cast(pl.UInt64) * 0)
    assert _rule(tiny_dir) == want
    # coarser but still a function of PNR, start, end: only the PNR's last digit
    monkeypatch.setattr(
        V,
        "_date_hash",
        lambda: pl.col("PNR").str.slice(9).cast(pl.UInt64, strict=False).fill_null(10),
    )
    assert _rule(tiny_dir) == want


def test_contact_dates_are_lpr_contacts_own_rows(tiny_dir: Path) -> None:
    """The first pass reads PNR, start, end from the registers directly: they must be the
    rows of lpr_contacts (the same multiset; here even the same order)."""
    assert (tiny_dir / "sor").exists()  # the join that the direct read skips
    direct = V._contact_dates(tiny_dir, None).collect()
    assert direct.equals(lpr_contacts(tiny_dir).select("PNR", "start", "end").collect())


# --------------------------------------------------------------------------- built extracts


def test_copies_in_two_yearly_files_are_counted(tmp_path: Path) -> None:
    """A copy delivered in the next year's file (same start) is a duplicate: a count
    within each file finds none."""
    a = ("0101501111", "R1", "9101", "011", "2010-12-31", "2011-01-02", "DC349")
    b = ("0101501111", "R2", "9101", "011", "2010-12-31", "2011-01-02", "DC349")
    c = ("0202602222", "R3", "9101", "011", "2011-03-01", "2011-03-01", "DI219")
    _write(tmp_path, "lpr_adm", 2010, _lpr2([a]))
    _write(tmp_path, "lpr_adm", 2011, _lpr2([c, b]))
    assert _check(tmp_path) == {"lpr_adm": (1, ["contact_id R2"])}
    for year, rows in ((2010, [a]), (2011, [c, b])):  # each file alone has no copy
        _write(tmp_path / str(year), "lpr_adm", year, _lpr2(rows))
        assert _rule(tmp_path / str(year)) == {}


def test_nulls_in_key_columns_are_equal_to_nulls(tmp_path: Path) -> None:
    """As ``unique`` treats them: two contacts null on the same key columns are copies (also
    with a missing start); a null and a value are not."""
    rows = [
        ("0101501111", "R1", None, "011", "2012-05-01", None, None),
        ("0101501111", "R2", None, "011", "2012-05-01", None, None),  # copy of R1
        ("0101501111", "R3", "9101", "011", "2012-05-01", None, None),  # department set
        ("0101501111", "R4", None, "011", "2012-05-01", "2012-05-01", None),  # end set
        ("0101501111", "R5", None, "011", None, None, "DC349"),
        ("0101501111", "R6", None, "011", None, None, "DC349"),  # copy of R5, no start
        ("0101501111", "R7", None, "012", "2012-05-01", None, None),  # C_SGH null: dept null
        (None, "R8", "9101", "011", "2012-05-02", "2012-05-02", "DC349"),
        (None, "R9", "9101", "011", "2012-05-02", "2012-05-02", "DC349"),  # null PNR copy
    ]
    _write(tmp_path, "lpr_adm", 2012, _lpr2(rows))
    got = _check(tmp_path)
    # R2 and R9 in 2012 (the first year); R7 too: its department C_SGH || C_AFD is null
    # like R1's; R6 has no start (counted, an example only of the last "year")
    assert got == {"lpr_adm": (4, ["contact_id R2", "contact_id R7", "contact_id R9"])}


def test_keys_equal_only_after_normalisation_are_copies(tmp_path: Path) -> None:
    """Duplicates are equal on the loaders' department and diagnosis (``C_SGH || C_AFD``,
    the normalised code), not on the raw columns."""
    rows = [
        ("0101501111", "R1", "9101", "011", "2014-02-01", "2014-02-03", "DC349"),
        ("0101501111", "R2", "9101", "011", "2014-02-01", "2014-02-03", "dc34.9"),
        ("0101501111", "R3", "91010", "11", "2014-02-01", "2014-02-03", "C34 9"),
        ("0101501111", "R4", "9101", "011", "2014-02-01", "2014-02-03", "DC348"),
    ]
    _write(tmp_path, "lpr_adm", 2014, _lpr2(rows))
    assert _check(tmp_path) == {"lpr_adm": (2, ["contact_id R2", "contact_id R3"])}


def test_lpr2_and_lpr3_are_counted_each_in_its_own_source(tmp_path: Path) -> None:
    """Per source; a contact of LPR3 equal to one of LPR2 is LPR3's duplicate (the loaders
    keep the first, LPR2's), so the total is what deduplicate_contacts drops."""
    p = "0101501111"
    _write(
        tmp_path,
        "lpr_adm",
        2019,
        _lpr2(
            [
                (p, "R1", "9101", "011", "2019-01-10", "2019-01-12", "DC349"),
                (p, "R2", "9101", "011", "2019-01-10", "2019-01-12", "DC349"),
                (p, "R3", "9101", "011", "2019-02-10", "2019-02-10", "DI219"),
            ]
        ),
    )
    _write(
        tmp_path,
        "lpr_f_kontakter",
        2019,
        _lpr3(
            [
                (p, "K1", "9101011", "2019-02-10", "2019-02-10", "DI219"),  # = R3
                (p, "K2", "X1", "2019-03-01", "2019-03-01", "DJ189"),
                (p, "K3", "X1", "2019-03-01", "2019-03-01", "DJ189"),
                (p, "K4", "X1", "2019-03-01", "2019-03-01", "DJ189"),
            ]
        ),
    )
    got = _check(tmp_path)
    assert got == {
        "lpr_adm": (1, ["contact_id R2"]),
        "lpr_f_kontakter": (3, ["contact_id K1", "contact_id K3", "contact_id K4"]),
    }
    rep = validate(tmp_path, ["lpr_adm", "lpr_f_kontakter"])
    assert rep.n("lpr_duplicate_contact", "lpr_adm") == 1
    assert rep.n("lpr_duplicate_contact", "lpr_f_kontakter") == 3


def test_examples_come_from_the_first_year_with_copies(tmp_path: Path) -> None:
    """Seven copies in 2015 and two in 2016: the examples are 2015's first five, in the
    files' order, whatever the batches of start years."""
    p = "0303703333"
    y15 = [(p, f"A{i}", "9101", "011", "2015-06-01", "2015-06-01", "DC349") for i in range(8)]
    y16 = [(p, f"B{i}", "9101", "011", "2016-06-01", "2016-06-02", "DC349") for i in range(3)]
    _write(tmp_path, "lpr_adm", 2015, _lpr2(y15))
    _write(tmp_path, "lpr_adm", 2016, _lpr2(y16))
    got = _check(tmp_path)
    assert got == {"lpr_adm": (9, [f"contact_id A{i}" for i in range(1, 6)])}


def test_sentinel_start_dates_are_counted_without_a_query_per_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starts in 0001 and 9999 besides 2015: counted as any other year, and the first pass
    reads the three years present, not the 9,999 between."""
    rows = [
        ("0101501111", f"R{i}", "9101", "011", start, start, "DC349")
        for i, start in enumerate(["0001-01-01", "0001-01-01", "9999-12-31", "2015-03-01"] * 2)
    ]
    _write(tmp_path, "lpr_adm", 2015, _lpr2(rows))
    read: list[int] = []
    start_year = V._start_year
    monkeypatch.setattr(V, "_start_year", lambda y: read.append(y) or start_year(y))
    got = _check(tmp_path)
    assert got == {"lpr_adm": (5, ["contact_id R1", "contact_id R4", "contact_id R5"])}
    assert sorted(set(read)) == [1, 2015, 9999]
    monkeypatch.undo()  # the whole validation: no error (a ValueError for 9999 before)
    assert validate(tmp_path, ["lpr_adm"]).n("lpr_duplicate_contact", "lpr_adm") == 5


def test_csv_contacts_count_as_parquet(tmp_path: Path) -> None:
    """The text-file path (contacts written once to a temporary parquet file, both passes
    over it) gives the parquet path's count and examples."""
    rows = [
        ("0101501111", "R1", "9101", "011", "2013-04-01", "2013-04-01", "DC349"),
        ("0101501111", "R2", "9101", "011", "2013-04-01", "2013-04-01", "dc34.9"),
        ("0101501111", "R3", None, "011", None, None, None),
        ("0101501111", "R4", None, "011", None, None, None),
        ("0202602222", "R5", "9101", "011", "2013-04-01", "2013-04-01", "DC349"),
    ]
    pq, csv = tmp_path / "pq", tmp_path / "csv"
    _write(pq, "lpr_adm", 2013, _lpr2(rows))
    _write(csv, "lpr_adm", 2013, _lpr2(rows), fmt="csv")
    want = _check(pq)
    assert want == {"lpr_adm": (2, ["contact_id R2"])}
    assert _rule(csv, text_files=True) == want
    assert validate(csv, ["lpr_adm"]).n("lpr_duplicate_contact", "lpr_adm") == 2


def test_passes_over_different_rows_raise_instead_of_counting(tmp_path: Path) -> None:
    """If the first pass hashed rows that the contacts do not have (the two reads out of
    step), the count stops with an error rather than coming out short."""
    rows = [
        ("0101501111", f"R{i}", "9101", "011", "2013-04-01", "2013-04-01", "DC349") for i in (1, 2)
    ]
    _write(tmp_path, "lpr_adm", 2013, _lpr2(rows))
    contacts = lpr_contacts(tmp_path)
    other = pl.LazyFrame(
        {"PNR": ["9"] * 2, "start": [dt.date(2013, 4, 1)] * 2, "end": [dt.date(2013, 4, 1)] * 2}
    )
    assert V._duplicate_counts(contacts)[0] == {"LPR2": 1}
    with pytest.raises(RuntimeError, match="lpr_duplicate_contact"):
        V._duplicate_counts(contacts, other)


def test_no_lpr_contacts_is_no_finding(tmp_path: Path) -> None:
    _write(tmp_path, "lpr_adm", 2013, _lpr2([]))
    assert _rule(tmp_path) == {}
