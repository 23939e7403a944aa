"""Loading register extracts into the declared schema, lazily.

:func:`scan_register` finds a register's files in a data directory and returns one
:class:`polars.LazyFrame` in the schema declared in :mod:`paleval.registers.model`.

File discovery (:func:`register_inventory`, :func:`find_register_files`)
    Files are looked for in ``data_dir/<key>/`` (folder name case-insensitive) and directly in
    ``data_dir``; a file belongs to the register when its name, up to the first dot and
    compared case-insensitively, is the register's ``file_stem`` (``{year}`` = four digits for
    yearly registers). Accepted formats: ``.parquet``, ``.csv`` / ``.txt``, SAS ``.sas7bdat``
    and SAS transport ``.xpt``. A year may also come as numbered parts (``lmdb2019_1``,
    ``lmdb2019_2``, ...) or as a folder of parts (``lmdb2019/`` or ``lmdb/year=2019/``), read
    together. Every file is accounted for: read, *refused* with the reason (a name that starts
    like the register's files but matches no pattern, the same year twice, e.g. in two formats,
    gaps in part numbers, an unsupported or compressed format, a symlink loop or broken link,
    no read permission; :func:`find_register_files` raises for them) or *ignored* (notes,
    hidden files, folders of no register).

Formats
    - parquet: ``pl.scan_parquet``, after checking the footer against the file (row groups
      add up, column chunks inside the file; :func:`expected_rows`).
    - CSV: every column is read as text and cast per the schema (so ``KOM`` ``"101"`` or a
      ``PNR`` with leading zeros stay as delivered). The separator is the most frequent of
      ``;``, ``,``, tab and ``|`` in the header line. The encoding is detected in one chunked
      pass (:func:`csv_encoding`: UTF-8 with or without BOM, latin-1, cp1252; mixed encodings
      an error naming the lines) or declared (``encoding=``); latin-1 and cp1252 files are
      transcoded once to a UTF-8 copy in the cache directory, see below.
    - SAS (``.sas7bdat``, ``.xpt``): needs ``pyreadstat`` (a dependency of paleval). The
      file is read in chunks without pyreadstat's date conversion, each numeric column typed by
      the kind of its SAS format (:func:`~paleval.registers.normalise.sas_format_kind`: date,
      datetime, time), and written as parquet parts to the cache directory, then scanned. The
      rows read must equal the count in the file's own header (sas7bdat: also its declared
      size; transport V8: the ``OBSV8`` record; V5: its 80-byte record layout).

Cache directory
    ``cache_dir`` argument, else the environment variable ``PALEVAL_CACHE_DIR``, else
    ``<system temp dir>/paleval-cache``. Each converted file gets a sub-folder named by a hash of
    its absolute path, size and modification time, so a changed source is converted again.
    ``clean-columns.json`` remembers, per parquet file (path, size, modification time and a
    digest of its first and last MiB), which
    text columns need no cleaning (see :func:`scan_register`). The data directory itself is
    never written to (it is often read-only on research servers).

Casting (text or numbers as delivered -> declared dtype)
    - String: stripped; empty -> null. Codes with a code list are mapped to the declared
      spelling when they match case-insensitively (``"ja"`` -> ``"Ja"``). Numbers become text
      without a decimal part; fixed-width identifiers delivered as numbers are zero-padded to
      their width (``PNR`` 10, ``KOM`` 3, ``C_SGH`` 4, ``C_AFD`` 3, ...; see ``FIXED_WIDTH``).
    - Int64 / Float64: stripped text; ``""`` and SAS ``"."`` are null; ``"2.0"`` is 2; a decimal
      comma (``"12,5"``) is accepted for floats.
    - Date: text in :data:`~paleval.registers.normalise.TEXT_DATE_FORMATS` (ISO, ``01JAN2015``
      also with Danish month names, ``DD-MM-YYYY``, ``DD.MM.YYYY``, ``DD/MM/YYYY``,
      ``YYYY/MM/DD``, ``YYYYMMDD``, ``DDMMYYYY``), each optionally followed by a time; two-digit
      years only with ``two_digit_year_pivot=`` (else refused, counted over every row),
      month-first dates refused; numbers without a SAS date
      format are SAS day numbers or ``YYYYMMDD`` integers by range, a column mixing both is
      refused; datetimes are truncated to the date.
    - Values that cannot be cast become null (the loader stays lazy); :func:`validate
      <paleval.registers.validation.validate>` counts them (rule ``unparseable_value``) and
      ``scan_register(..., strict=True)`` raises :class:`RegisterLoadError` instead.

Columns
    Declared columns are matched case-insensitively (surrounding spaces ignored) and renamed to
    the declared spelling, in declared order. A missing required (non-nullable) column raises
    :class:`RegisterLoadError`; a missing nullable column is added as all-null. Extra columns are
    kept at the end, as delivered (``columns="declared"`` drops them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from paleval.registers._raw import (
    ENCODINGS,
    FIXED_WIDTH,
    ColumnMatch,
    content_digest,
    csv_encoding,
    expected_rows,
    integrity_exprs,
    match_columns,
    parse_expr,
    present_expr,
    scan_file,
    scan_raw,
    unparseable_counts,
    verify_file,
)
from paleval.registers.discovery import (
    INVENTORY_SCHEMA,
    RegisterFile,
    RegisterLoadError,
    find_register_files,
    register_delivered,
    register_inventory,
    register_model,
)
from paleval.registers.exclusion import exclusion_filter, value_nulls
from paleval.registers.model import REGISTERS
from paleval.registers.normalise import (
    normalise_icd10,
)

__all__ = [
    "ENCODINGS",
    "FIXED_WIDTH",
    "INVENTORY_SCHEMA",
    "ColumnMatch",
    "RegisterFile",
    "RegisterLoadError",
    "csv_encoding",
    "damaged_files",
    "deduplicate_contacts",
    "drop_repeated_rows",
    "expected_rows",
    "extract_end_of",
    "find_register_files",
    "flag_duplicate_contacts",
    "integrity_exprs",
    "lpr_contacts",
    "lpr_diagnoses",
    "manifest_end",
    "match_columns",
    "parse_expr",
    "present_expr",
    "register_delivered",
    "register_inventory",
    "scan_register",
    "scan_registers",
    "unique_contacts",
    "unparseable_counts",
    "verify_file",
]


def scan_register(
    data_dir: str | Path,
    key: str,
    *,
    years: Iterable[int] | None = None,
    lowercase_ok: bool = True,
    columns: Literal["all", "declared"] = "all",
    strict: bool = False,
    cache_dir: str | Path | None = None,
    exclude: bool = False,
    encoding: str | None = None,
    two_digit_year_pivot: int | None = None,
    extract_end: dt.date | str | None = None,
) -> pl.LazyFrame:
    """Scan register ``key`` in ``data_dir`` into its declared schema (lazy).

    Parameters
    ----------
    data_dir
        Folder with one sub-folder per register (or the files directly in it).
    key
        Register key (``paleval.registers.REGISTERS``).
    years
        For yearly registers: read only these years' files.
    lowercase_ok
        Match column names case-insensitively (the default). With ``False`` a column must be
        spelled exactly as declared.
    columns
        ``"all"`` keeps extra columns at the end, ``"declared"`` drops them. Yearly
        registers always get a last column ``year`` (Int64): the delivery year taken from the
        file name, since the real files do not carry it.
    strict
        Check eagerly that every present value can be cast (one pass over the data) and raise
        :class:`RegisterLoadError` naming the file, column, count and examples otherwise.
    cache_dir
        Where converted SAS / latin-1 files and the column checks are cached (see the module
        docstring).
    exclude
        Drop the rows that the validation rules of severity *exclude* drop
        (:func:`paleval.registers.validation.exclusion_filter`), make null the values that
        the rules of severity *null* null (:func:`~paleval.registers.validation.value_nulls`:
        NaN/infinite or negative amounts, an implausible date in a nullable non-key column),
        and read rows repeated in a later part file of a year once
        (:func:`drop_repeated_rows`); :func:`validate` counts them all.
    encoding
        Text encoding of CSV files (``"utf-8"``, ``"latin-1"``, ``"cp1252"``); default:
        detected per file (:func:`csv_encoding`), mixed encodings refused.
    two_digit_year_pivot
        Read dates with two-digit years (``31-01-15``): years below the pivot are 20yy, the
        others 19yy. Default ``None``: such dates are refused (a clear error with the count
        over every row).
    extract_end
        With ``exclude=True``: the extract's last plausible date (rule
        ``date_after_extract_end``); default :func:`~paleval.registers.validation.extract_end_of`
        of ``data_dir``, as :func:`validate` uses.

    ``strict=True`` also reads a parquet file completely with checksum verification and
    compares it with its own footer (:func:`verify_file`).

    Text is cleaned (stripped, ``""`` and ``"."`` to null, codes in their declared spelling).
    For a parquet file, the scan first checks each text column once (a filter count, mostly
    answered from the column's dictionary pages; remembered per file, also on disk in the cache
    directory) and passes the columns that need no cleaning through untouched, so filters on
    them (``PNR``, codes) reach the parquet reader. Join-only identifiers (``RECNUM``,
    ``DW_EK_KONTAKT``, ``DW_EK_FORLOEB``, ``FAMILIE_ID``) are always cleaned in-line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "dod").mkdir()
    >>> _ = (d / "dod" / "dod.csv").write_text("pnr;DODDATO\\n0101010000;01JAN2015\\n")
    >>> scan_register(d, "dod").collect().to_dicts()
    [{'PNR': '0101010000', 'DODDATO': datetime.date(2015, 1, 1)}]
    """
    reg = register_model(key)
    files = find_register_files(data_dir, key, years=years)
    frames = []
    keep_rows: Callable[[list[str]], pl.Expr | None] | None = None
    null_values: Callable[[list[str]], dict[str, pl.Expr]] = dict
    if exclude:
        end = extract_end if extract_end is not None else extract_end_of(data_dir)

        def keep_rows(names: list[str]) -> pl.Expr | None:
            return exclusion_filter(key, names, extract_end=end)

        def null_values(names: list[str]) -> dict[str, pl.Expr]:
            return value_nulls(key, names, extract_end=end)

    earlier_parts: dict[int | None, list[pl.LazyFrame]] = {}
    for f in files:
        if not lowercase_ok:
            names = (
                scan_raw(f, cache_dir, encoding=encoding, two_digit_year_pivot=two_digit_year_pivot)
                .collect_schema()
                .names()
            )
            wrong = [v.name for v in reg.variables if v.name not in names]
            wrong = [n for n in wrong if n.lower() in {x.strip().lower() for x in names}]
            if wrong:
                raise RegisterLoadError(
                    key, f.name, ", ".join(wrong), "column spelled in another case"
                )
        lf = scan_file(
            f,
            columns=columns,
            strict=strict,
            cache_dir=cache_dir,
            encoding=encoding,
            two_digit_year_pivot=two_digit_year_pivot,
        )
        if keep_rows is not None:
            if f.part is not None:  # rows an earlier part of the year already delivered
                lf = drop_repeated_rows(lf, earlier_parts.setdefault(f.year, []), reg.columns)
            names = lf.collect_schema().names()
            keep = keep_rows(names)
            if keep is not None:
                lf = lf.filter(keep)
            nulled = null_values(names)
            if nulled:  # a rule about one value: the value is made null, the row stays
                lf = lf.with_columns(**nulled)
        if reg.yearly:  # the delivery year lives in the file name: keep it as a column
            lf = lf.with_columns(year=pl.lit(f.year, dtype=pl.Int64))
        frames.append(lf)
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed")


# --------------------------------------------------------------------------- extract's end
def extract_end_of(data_dir: str | Path) -> dt.date:
    """The default end of an extract (the latest plausible date in it), from the files read.

    31 December of the last year the extract's files show: the year of the last yearly file
    (:func:`register_inventory`: a yearly register's file of year Y holds the events of year
    Y, or the status on 31 December Y), or of the latest event of the registers delivered as
    one file (:data:`LATEST_DATES`: deaths, DPD referrals, cancer diagnoses; often more
    current than the yearly registers) when that lies in the year after. Never later than
    today. ``manifest.json`` plays no part (a stale or copied manifest would move the end):
    :func:`validate` reports a manifest whose ``end_year`` disagrees with the files as
    ``manifest_disagrees``. Give ``extract_end=`` (``paleval validate --extract-end``) when the
    extract's end is known.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "lmdb").mkdir()
    >>> _ = (d / "lmdb" / "lmdb2019.csv").write_text("PNR,EKSD,ATC\\n")
    >>> extract_end_of(d)
    datetime.date(2019, 12, 31)
    >>> _ = (d / "dod.csv").write_text("PNR,DODDATO\\n0101010000,2020-03-01\\n")
    >>> extract_end_of(d)
    datetime.date(2020, 12, 31)
    """
    data_dir = Path(data_dir)
    today = dt.date.today()
    try:
        inv = register_inventory(data_dir)
    except RegisterLoadError:
        return today
    yearly = [k for k, reg in REGISTERS.items() if reg.yearly]
    last = inv.filter((pl.col("status") == "read") & pl.col("register").is_in(yearly))["year"].max()
    if last is None:
        return today
    year = int(last)  # type: ignore[arg-type]
    # the one-file registers' dates are read once per version of their files
    ones = inv.filter((pl.col("status") == "read") & pl.col("register").is_in(list(LATEST_DATES)))
    stamp = []
    for rel in ones["path"].to_list():
        # with a digest of the content: a file replaced by one of the same size whose
        # modification time was kept (cp -p) must not keep the old end (a death of the new
        # file was excluded as after the extract's end, in this process only)
        st = (data_dir / rel).stat()
        stamp.append((rel, st.st_size, st.st_mtime_ns, content_digest(data_dir / rel)))
    memo_key = (str(data_dir.resolve()), year, tuple(stamp))
    if memo_key not in _LATEST_MEMO:
        _LATEST_MEMO[memo_key] = _latest_event(data_dir, dt.date(year + 1, 12, 31))
    latest = _LATEST_MEMO[memo_key]
    if latest is not None:
        year = max(year, latest.year)
    return min(dt.date(year, 12, 31), today)


_LATEST_MEMO: dict[tuple, dt.date | None] = {}


LATEST_DATES: dict[str, str] = {"dod": "DODDATO", "dpd": "HENV_DATO", "car": "D_DIAGNOSEDATO"}
"""The event dates of the registers delivered as one file (not yearly) that can move the
extract's end past the last yearly file (:func:`extract_end_of`)."""


def _latest_event(data_dir: Path, limit: dt.date) -> dt.date | None:
    """The latest date of :data:`LATEST_DATES` up to ``limit`` (None without any)."""
    found: list[dt.date] = []
    for key, col in LATEST_DATES.items():
        try:
            lf = scan_register(data_dir, key, columns="declared")
            d = pl.col(col)
            day = lf.select(d.filter(d <= pl.lit(limit)).max()).collect(engine="streaming").item()
        except (RegisterLoadError, pl.exceptions.PolarsError):
            continue
        if day is not None:
            found.append(day)
    return max(found, default=None)


def manifest_end(data_dir: str | Path) -> dt.date | None:
    """31 December of ``manifest.json``'s ``config.end_year`` (the synthetic generator's), or
    None without a readable one. Only compared with the files (``manifest_disagrees``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"config": {"end_year": 2019}}')
    >>> manifest_end(d)
    datetime.date(2019, 12, 31)
    """
    import json

    manifest = Path(data_dir) / "manifest.json"
    try:
        return dt.date(int(json.loads(manifest.read_text())["config"]["end_year"]), 12, 31)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def drop_repeated_rows(
    part: pl.LazyFrame, earlier: list[pl.LazyFrame], columns: Sequence[str]
) -> pl.LazyFrame:
    """``part`` without the rows identical (every declared column in ``columns`` present,
    nulls equal) to a row of an ``earlier`` part of the same register-year; appends ``part``
    (as read) to ``earlier``. Rule ``duplicate_across_parts``: the same rows delivered in two
    part files (``lmdb2019_1.parquet`` and ``lmdb2019_2.parquet``) are read once.

    Examples
    --------
    >>> a = pl.LazyFrame({"PNR": ["1", "2"], "ATC": ["N02", None]})
    >>> b = pl.LazyFrame({"PNR": ["2", "3"], "ATC": [None, "N05"]})
    >>> seen = []
    >>> drop_repeated_rows(a, seen, ["PNR", "ATC"]).collect().height
    2
    >>> drop_repeated_rows(b, seen, ["PNR", "ATC"]).collect()["PNR"].to_list()
    ['3']
    """
    out = part
    if earlier:
        names = set(part.collect_schema().names())
        cols = [c for c in columns if c in names]
        for e in earlier:
            names_e = set(e.collect_schema().names())
            cols = [c for c in cols if c in names_e]
        if cols:
            seen = pl.concat([e.select(cols) for e in earlier]).unique()
            out = part.join(seen, on=cols, how="anti", nulls_equal=True, maintain_order="left")
    earlier.append(part)
    return out


def scan_registers(
    data_dir: str | Path,
    keys: Iterable[str],
    *,
    columns: Literal["all", "declared"] = "all",
    strict: bool = False,
    cache_dir: str | Path | None = None,
    exclude: bool = False,
    encoding: str | None = None,
    two_digit_year_pivot: int | None = None,
    extract_end: dt.date | str | None = None,
) -> dict[str, pl.LazyFrame]:
    """:func:`scan_register` for several registers, as a dict key -> LazyFrame.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "dod.csv").write_text("PNR,DODDATO\\n0101010000,2015-01-01\\n")
    >>> {k: lf.collect().height for k, lf in scan_registers(d, ["dod"]).items()}
    {'dod': 1}
    """
    return {
        k: scan_register(
            data_dir,
            k,
            columns=columns,
            strict=strict,
            cache_dir=cache_dir,
            exclude=exclude,
            encoding=encoding,
            two_digit_year_pivot=two_digit_year_pivot,
            extract_end=extract_end,
        )
        for k in keys
    }


# --------------------------------------------------------------------------- LPR
CONTACT_COLUMNS = (
    "PNR",
    "contact_id",
    "source",
    "start",
    "end",
    "inpatient",
    "acute",
    "department",
    "specialty_text",
    "action_diagnosis",
)
DUPLICATE_KEY = ("PNR", "start", "end", "department", "action_diagnosis")
"""Contacts equal on these columns are exact duplicates (rule ``lpr_duplicate_contact``)."""


_has = register_delivered


def lpr_contacts(
    data_dir: str | Path, *, cache_dir: str | Path | None = None, exclude: bool = False
) -> pl.LazyFrame:
    """LPR2 (``lpr_adm``) and LPR3 (``lpr_f_kontakter``) contacts in one model.

    Columns: ``PNR, contact_id, source ("LPR2"/"LPR3"), start, end, inpatient, acute,
    department, specialty_text, action_diagnosis``.

    - ``contact_id``: RECNUM (LPR2) or DW_EK_KONTAKT (LPR3); unique together with ``source``;
    - ``inpatient``: LPR2 ``C_PATTYPE == "0"``; LPR3 a contact spanning at least one midnight
      (``dato_slut > dato_start``);
    - ``acute``: LPR2 ``C_INDM == "1"`` or ``C_PATTYPE == "3"``; LPR3 ``prioritet == "ATA1"``;
    - ``department``: LPR2 ``C_SGH || C_AFD``; LPR3 ``SORENHED_ANS``;
    - ``specialty_text``: LPR3 ``hovedspeciale_ans``; LPR2 the ``sor`` register's
      ``hovedspeciale`` for ``C_SGH``/``C_AFD`` when ``sor`` is present, else null;
    - ``action_diagnosis``: normalised SKS code with the ``D`` prefix.

    Either part may be absent (only LPR2 or only LPR3 delivered); both absent raises
    :class:`RegisterLoadError`. Exact duplicates are kept (also with ``exclude=True``): see
    :func:`deduplicate_contacts`. :func:`paleval.cohort.add_hospital_use` drops them itself
    after restricting to its window, which is much cheaper at national scale than
    de-duplicating every contact first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "lpr_adm2015.csv").write_text(
    ...     "PNR,RECNUM,C_SGH,C_AFD,C_PATTYPE,C_INDM,D_INDDTO,D_UDDTO,C_ADIAG\\n"
    ...     "0101010000,1,9101,011,0,1,2015-01-01,2015-01-03,dc34.9\\n")
    >>> row = lpr_contacts(d).collect().row(0, named=True)
    >>> row["source"], row["department"], row["inpatient"], row["acute"], row["action_diagnosis"]
    ('LPR2', '9101011', True, True, 'DC349')
    """
    parts = []
    if _has(data_dir, "lpr_adm"):
        adm = scan_register(
            data_dir, "lpr_adm", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        spec = pl.lit(None, pl.String)
        if _has(data_dir, "sor"):
            sor = (
                scan_register(
                    data_dir, "sor", columns="declared", cache_dir=cache_dir, exclude=exclude
                )
                .filter(pl.col("C_SGH").is_not_null() & pl.col("C_AFD").is_not_null())
                .select("C_SGH", "C_AFD", pl.col("hovedspeciale").alias("_spec"))
                .unique(["C_SGH", "C_AFD"], keep="first", maintain_order=True)
            )
            adm = adm.join(sor, on=["C_SGH", "C_AFD"], how="left", maintain_order="left")
            spec = pl.col("_spec")
        parts.append(
            adm.select(
                "PNR",
                pl.col("RECNUM").alias("contact_id"),
                pl.lit("LPR2").alias("source"),
                pl.col("D_INDDTO").alias("start"),
                pl.col("D_UDDTO").alias("end"),
                (pl.col("C_PATTYPE") == "0").fill_null(False).alias("inpatient"),
                ((pl.col("C_INDM") == "1") | (pl.col("C_PATTYPE") == "3"))
                .fill_null(False)
                .alias("acute"),
                pl.concat_str("C_SGH", "C_AFD").alias("department"),
                spec.alias("specialty_text"),
                normalise_icd10("C_ADIAG", strip_d_prefix=False).alias("action_diagnosis"),
            )
        )
    if _has(data_dir, "lpr_f_kontakter"):
        k = scan_register(
            data_dir, "lpr_f_kontakter", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        parts.append(
            k.select(
                "PNR",
                pl.col("DW_EK_KONTAKT").alias("contact_id"),
                pl.lit("LPR3").alias("source"),
                pl.col("dato_start").alias("start"),
                pl.col("dato_slut").alias("end"),
                (pl.col("dato_slut") > pl.col("dato_start")).fill_null(False).alias("inpatient"),
                (pl.col("prioritet") == "ATA1").fill_null(False).alias("acute"),
                pl.col("SORENHED_ANS").alias("department"),
                pl.col("hovedspeciale_ans").alias("specialty_text"),
                normalise_icd10("aktionsdiagnose", strip_d_prefix=False).alias("action_diagnosis"),
            )
        )
    if not parts:
        raise RegisterLoadError(
            "lpr_adm/lpr_f_kontakter", None, None, "neither LPR2 nor LPR3 contacts found"
        )
    return pl.concat(parts, how="vertical")


def unique_contacts(contacts: pl.LazyFrame) -> pl.LazyFrame:
    """The first of each set of exact duplicate contacts (lazy; a streaming unique)."""
    return contacts.unique(subset=list(DUPLICATE_KEY), keep="first", maintain_order=True)


def lpr_diagnoses(
    data_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    exclude: bool = False,
    codes: Iterable[str] | None = None,
) -> pl.LazyFrame:
    """All LPR2 and LPR3 diagnoses: ``PNR, contact_id, source, start, diagnosis,
    diagnosis_type``.

    ``diagnosis`` is the normalised SKS code (with ``D``); LPR3 diagnoses later refuted
    (``senere_afkraeftet == "Ja"``) are excluded, which validation counts (rule
    ``lpr3_refuted_diagnosis``). Diagnoses whose contact is missing are dropped (inner join).

    ``codes`` (ICD-10 prefixes without the ``D``, e.g. ``["I50", "J44"]``) keeps only the
    diagnoses that start with one of them, filtered in the diagnosis files before they are
    joined to their contacts. At national scale this is what makes a cohort defined by a code
    list cheap: the join then holds only the matching diagnoses, not every contact. (A filter on
    ``diagnosis`` applied afterwards gives the same rows but runs after the join.)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "lpr_f_kontakter2020.csv").write_text(
    ...     "PNR,DW_EK_KONTAKT,dato_start\\n0101010000,K1,2020-03-01\\n")
    >>> _ = (d / "lpr_f_diagnoser2020.csv").write_text(
    ...     "DW_EK_KONTAKT,diagnosekode,diagnosetype,senere_afkraeftet\\n"
    ...     "K1,DC509,A,Nej\\nK1,DI21,B,Ja\\n")
    >>> lpr_diagnoses(d).select("diagnosis", "diagnosis_type").collect().rows()
    [('DC509', 'A')]
    >>> lpr_diagnoses(d, codes=["I21"]).collect().height  # DI21 was refuted
    0
    """
    wanted = _code_filter(codes)
    # with a code list the (filtered) diagnoses are the small side of the join; otherwise the
    # contacts are (usually restricted by a PNR filter, which reaches that side of the join)
    build = "force_left" if wanted is not None else "force_right"
    parts = []
    if _has(data_dir, "lpr_adm") and _has(data_dir, "lpr_diag"):
        adm = scan_register(
            data_dir, "lpr_adm", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        diag = scan_register(
            data_dir, "lpr_diag", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        if wanted is not None:  # before the normalised code replaces the column: the filter
            # then reaches the parquet reader (decided on the dictionary of codes)
            diag = diag.filter(wanted(normalise_icd10("C_DIAG", strip_d_prefix=False)))
        diag = diag.with_columns(normalise_icd10("C_DIAG", strip_d_prefix=False))
        parts.append(
            diag.join(
                adm.select("RECNUM", "PNR", "D_INDDTO"),
                on="RECNUM",
                how="inner",
                build_side=build,
            ).select(
                "PNR",
                pl.col("RECNUM").alias("contact_id"),
                pl.lit("LPR2").alias("source"),
                pl.col("D_INDDTO").alias("start"),
                pl.col("C_DIAG").alias("diagnosis"),
                pl.col("C_DIAGTYPE").alias("diagnosis_type"),
            )
        )
    if _has(data_dir, "lpr_f_kontakter") and _has(data_dir, "lpr_f_diagnoser"):
        k = scan_register(
            data_dir, "lpr_f_kontakter", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        dg = scan_register(
            data_dir, "lpr_f_diagnoser", columns="declared", cache_dir=cache_dir, exclude=exclude
        )
        dg = dg.filter(pl.col("senere_afkraeftet").fill_null("") != "Ja")
        if wanted is not None:
            dg = dg.filter(wanted(normalise_icd10("diagnosekode", strip_d_prefix=False)))
        dg = dg.with_columns(normalise_icd10("diagnosekode", strip_d_prefix=False))
        parts.append(
            dg.join(
                k.select("DW_EK_KONTAKT", "PNR", "dato_start"),
                on="DW_EK_KONTAKT",
                build_side=build,
            ).select(
                "PNR",
                pl.col("DW_EK_KONTAKT").alias("contact_id"),
                pl.lit("LPR3").alias("source"),
                pl.col("dato_start").alias("start"),
                pl.col("diagnosekode").alias("diagnosis"),
                pl.col("diagnosetype").alias("diagnosis_type"),
            )
        )
    if not parts:
        raise RegisterLoadError(
            "lpr_diag/lpr_f_diagnoser", None, None, "neither LPR2 nor LPR3 diagnoses found"
        )
    return pl.concat(parts, how="vertical")


def _code_filter(codes: Iterable[str] | None) -> Callable[[pl.Expr], pl.Expr] | None:
    """For ``codes`` (ICD-10 prefixes, with or without ``D``, any case or punctuation): a
    function of an expression of normalised SKS codes giving True where the code starts with
    one of the prefixes."""
    if codes is None:
        return None
    if isinstance(codes, str):
        raise TypeError(f"codes must be a list of ICD-10 prefixes, not the string {codes!r}")
    given = pl.Series("code", list(codes), dtype=pl.String)
    plain = given.to_frame().select(normalise_icd10("code", strip_d_prefix=True)).to_series()
    if plain.null_count():
        raise ValueError(f"empty ICD-10 prefix in codes: {given.filter(plain.is_null())[0]!r}")
    by_len: dict[int, list[str]] = {}
    for p in sorted(set(plain)):
        by_len.setdefault(len(p), []).append(p)

    def keep(code: pl.Expr) -> pl.Expr:
        if not by_len:
            return pl.lit(False)
        return pl.any_horizontal(
            code.str.slice(1, n).is_in(ps) for n, ps in sorted(by_len.items())
        ).fill_null(False)

    return keep


def flag_duplicate_contacts(contacts: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """Add ``duplicate``: True for every contact equal to an earlier one on
    ``PNR, start, end, department, action_diagnosis`` (the first copy is False).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2015, 1, 1)
    >>> c = pl.DataFrame({"PNR": ["a", "a", "a"], "contact_id": ["1", "2", "3"],
    ...                   "start": [d] * 3, "end": [d] * 3, "department": ["x", "x", "y"],
    ...                   "action_diagnosis": ["DC34"] * 3})
    >>> flag_duplicate_contacts(c).collect()["duplicate"].to_list()
    [False, True, False]
    """
    lf = contacts.lazy()
    return lf.with_columns((~pl.struct(list(DUPLICATE_KEY)).is_first_distinct()).alias("duplicate"))


def deduplicate_contacts(
    contacts: pl.LazyFrame | pl.DataFrame,
) -> tuple[pl.LazyFrame, int]:
    """Drop exact duplicate contacts (see :func:`flag_duplicate_contacts`), keeping the first.

    Returns the deduplicated contacts (lazy) and the number of rows excluded (computed now).
    The exclusion is the rule ``lpr_duplicate_contact`` of :mod:`paleval.registers.validation`.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2015, 1, 1)
    >>> c = pl.DataFrame({"PNR": ["a", "a"], "contact_id": ["1", "2"], "start": [d, d],
    ...                   "end": [d, d], "department": ["x", "x"],
    ...                   "action_diagnosis": ["DC34", "DC34"]})
    >>> kept, n = deduplicate_contacts(c)
    >>> kept.collect()["contact_id"].to_list(), n
    (['1'], 1)
    """
    # The same rows as dropping flag_duplicate_contacts' duplicates, as a streaming unique and
    # a distinct count (no per-row flag over the whole table in memory).
    lf = contacts.lazy()
    key = list(DUPLICATE_KEY)
    n = lf.select(pl.len() - pl.struct(key).n_unique()).collect(engine="streaming").item()
    return unique_contacts(lf), int(n)


def damaged_files(data_dir: str | Path, keys: Iterable[str] | None = None) -> list[str]:
    """The register files of ``keys`` (default: all) in ``data_dir`` that cannot be read in
    full, one line each naming register, file and reason (empty: none).

    Every file is read completely (:func:`verify_file`: parquet page checksums, footer row
    counts and statistics; the SAS header's row count; CSV through the reader): a full read,
    meant for the path where a study or validation failed with a bare polars error naming no
    file. A corrupt parquet page in a column whose footer statistics answer every query of
    validation (a constant column) is never decoded there, so the first full read of it is
    the study's. Registers not delivered, or with refused files, are skipped (validation
    reports them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "dod.parquet").write_bytes(b"PAR1 not parquet PAR1")
    >>> _ = (d / "dpd.csv").write_text("PNR,HENV_DATO\\n0101010000,2020-01-01\\n")
    >>> [line[:54] for line in damaged_files(d, ["dod", "dpd", "bef"])]
    ["register 'dod', file dod.parquet: not a readable parqu"]
    """
    import os

    data_dir = Path(data_dir)
    out = []
    for key in REGISTERS if keys is None else keys:
        try:
            files = find_register_files(data_dir, key)
        except RegisterLoadError:
            continue
        for f in files:
            try:
                verify_file(f)
            except RegisterLoadError as err:
                rel = os.path.relpath(f.path, data_dir)
                out.append(f"register {key!r}, file {rel}: {err.message}")
    return out
