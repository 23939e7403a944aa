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
    ``clean-columns.json`` remembers, per parquet file (path, size, modification time), which
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

import codecs
import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from paleval.registers.exclusion import exclusion_filter, value_nulls
from paleval.registers.model import REGISTERS
from paleval.registers.normalise import (
    TWO_DIGIT_YEAR,
    normalise_icd10,
    number_date_kind,
    number_to_date,
    sas_format_kind,
    sas_number_to_date,
    text_to_date,
)
from paleval.registers.schema import Register, Variable

__all__ = [
    "ENCODINGS",
    "FIXED_WIDTH",
    "INVENTORY_SCHEMA",
    "ColumnMatch",
    "RegisterFile",
    "RegisterLoadError",
    "csv_encoding",
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
    "unparseable_counts",
    "verify_file",
]

FORMATS: tuple[str, ...] = ("parquet", "sas7bdat", "xpt", "csv", "txt")
"""Accepted file suffixes, in order of preference."""

FIXED_WIDTH: dict[str, int] = {
    "PNR": 10,
    "KOM": 3,
    "C_SGH": 4,
    "C_AFD": 3,
    "C_SPEC": 2,
    "HONUGE": 4,
    "SPECIALE": 6,
    "VNR": 6,
    "K_TUMORNR": 4,
}
"""Identifiers and codes of a fixed width: numbers are zero-padded to it on loading, and
validation warns about text of another width (rule ``code_width``)."""

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%d%b%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%Y%m%d",
)
"""Text date formats accepted for Date columns, tried in this order."""

_MISSING_TEXT = ("", ".")
_SAS_EPOCH_DAYS = -3653  # 1960-01-01 as days since 1970-01-01
_CHUNK_ROWS = 200_000


class RegisterLoadError(Exception):
    """A register extract cannot be loaded as declared.

    Examples
    --------
    >>> err = RegisterLoadError("bef", "bef/bef201912.csv", "FOED_DAG", "required column missing")
    >>> print(err)
    register 'bef', file bef/bef201912.csv, column 'FOED_DAG': required column missing
    """

    def __init__(self, register: str, file: str | None, column: str | None, message: str) -> None:
        self.register = register
        self.file = file
        self.column = column
        self.message = message
        where = [f"register {register!r}"]
        if file:
            where.append(f"file {file}")
        if column:
            where.append(f"column {column!r}")
        super().__init__(", ".join(where) + ": " + message)


@dataclass(frozen=True)
class RegisterFile:
    """One delivery file of a register.

    Examples
    --------
    >>> from pathlib import Path
    >>> f = RegisterFile("bef", Path("/data/bef/bef201912.csv"), 2019, "csv")
    >>> f.name, f.year, f.format
    ('bef201912.csv', 2019, 'csv')
    """

    register: str
    path: Path
    year: int | None
    format: str
    part: str | None = None  # a part of a year: its name in messages (folder/file in a folder)

    @property
    def name(self) -> str:
        """The file name (for a part in a folder of parts: ``folder/file``)."""
        return self.part or self.path.name


# --------------------------------------------------------------------------- discovery
def _register(key: str) -> Register:
    if key not in REGISTERS:
        raise RegisterLoadError(key, None, None, f"unknown register; known: {sorted(REGISTERS)}")
    return REGISTERS[key]


INVENTORY_SCHEMA = pl.Schema(
    {
        "path": pl.String(),
        "register": pl.String(),
        "year": pl.Int64(),
        "format": pl.String(),
        "status": pl.String(),
        "reason": pl.String(),
    }
)
"""Columns of :func:`register_inventory`."""

_COMPRESSED = ("gz", "bz2", "xz", "zip", "zst", "7z")
_NOT_DATA = (
    *("md", "json", "log", "sas", "r", "py", "pdf", "html", "xml", "yaml", "yml", "crc"),
    *("doc", "docx", "rtf", "lst", "sas7bcat", "sas7bndx"),
)
_SAS_COMPANIONS = {
    "sas7bcat": "SAS format catalogue (value labels), not data",
    "sas7bndx": "SAS index, not data",
}
_HIVE_YEAR = re.compile(r"^year=(\d{4})$", re.IGNORECASE)
_PART_NAME = re.compile(r"^(?:part[-_]?)?(\d+)", re.IGNORECASE)


@dataclass
class _Entry:
    """One row of the inventory while it is built."""

    path: Path
    rel: str
    register: str | None
    year: int | None
    fmt: str | None
    status: str  # "read", "refused" (a register's file that is not read: an error), "ignored"
    reason: str
    group: str = ""  # candidates of one delivery (a whole file, or one set of parts)
    part: int | None = None


@dataclass(frozen=True)
class _Names:
    whole: re.Pattern[str]
    part: re.Pattern[str]
    prefix: str


def _names(reg: Register) -> _Names:
    stem = reg.file_stem.lower()
    pre, _, post = stem.partition("{year}")
    year = r"(\d{4})" if reg.yearly else ""
    body = re.escape(pre) + year + re.escape(post)
    # parts: lmdb2019_1, lmdb2019-2, lmdb2019_part3, dod_1 (at most three digits)
    part = re.compile(rf"^{body}[_-](?:part[_-]?)?(\d{{1,3}})$")
    return _Names(re.compile(rf"^{body}$"), part, pre)


def _split_name(name: str) -> tuple[str, str]:
    """``"BEF201912.CSV.gz"`` -> ``("bef201912", "csv.gz")`` (lower case)."""
    base, _, suffix = name.lower().partition(".")
    return base, suffix


def _expected(reg: Register) -> str:
    stem = reg.file_stem.replace("{year}", "YYYY")
    return f"{stem}.<{'|'.join(FORMATS)}>"


def _match(base: str) -> tuple[str, str, int | None, int | None] | None:
    """(register, kind, year, part) for a file name without suffix: kind ``whole``, ``part``
    or ``near`` (starts like the register's files but matches no pattern)."""
    near: tuple[int, str] | None = None
    for key, reg in REGISTERS.items():
        n = _names(reg)
        if m := n.whole.match(base):
            return key, "whole", int(m.group(1)) if reg.yearly else None, None
        if m := n.part.match(base):
            return key, "part", int(m.group(1)) if reg.yearly else None, int(m.groups()[-1])
        rest = base[len(n.prefix) :]
        if base.startswith(n.prefix) and not rest[:1].isalpha():
            if near is None or len(n.prefix) > near[0]:
                near = (len(n.prefix), key)
    return (near[1], "near", None, None) if near else None


def _link_problem(p: Path) -> str | None:
    """Why ``p`` cannot be opened (a symlink loop, a broken link, no read permission)."""
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop: the link points back to itself"
        if p.is_symlink():
            return f"broken symbolic link (target {os.readlink(p)!r} does not exist)"
        return f"cannot be opened: {exc.strerror}"
    if not os.access(p, os.R_OK):
        return "no permission to read it"
    return None


def _classify_file(p: Path, rel: str, folder_reg: str | None) -> _Entry:
    base, suffix = _split_name(p.name)
    if p.name.startswith("."):
        return _Entry(p, rel, None, None, None, "ignored", "hidden file")
    hit = _match(base)
    owner = hit[0] if hit else folder_reg
    problem = _link_problem(p)
    if problem:
        status = "refused" if owner else "ignored"
        return _Entry(p, rel, owner, None, None, status, problem)
    if hit is None:
        return _unmatched(p, rel, folder_reg, suffix)
    if suffix.split(".")[-1] in _NOT_DATA or suffix in _SAS_COMPANIONS:
        why = _SAS_COMPANIONS.get(suffix, "not a data file")  # dod.md, dod.sas, dod.sas7bcat
        return _Entry(p, rel, None, None, None, "ignored", why)
    key, kind, year, part = hit
    reg = REGISTERS[key]
    if folder_reg is not None and key != folder_reg:
        return _Entry(
            p, rel, key, year, None, "refused",
            f"a file of register {key!r} inside the folder of {folder_reg!r}: "
            f"move it to {key}/ (or the data folder)",
        )  # fmt: skip
    if kind == "near":
        return _Entry(
            p, rel, key, None, None, "refused",
            f"name matches no file of register {key!r} (expected {_expected(reg)}, "
            "parts as _1, _2, ... or a folder of parts)",
        )  # fmt: skip
    if suffix not in FORMATS:
        what = (
            "a compressed file: unpack it"
            if suffix.split(".")[-1] in _COMPRESSED
            else (f"unsupported format .{suffix}")
        )
        return _Entry(
            p, rel, key, year, None, "refused", f"{what} (accepted: {', '.join(FORMATS)})"
        )
    if year is not None and not 1900 <= year <= dt.date.today().year + 1:
        return _Entry(p, rel, key, year, suffix, "refused", f"implausible year {year} in the name")
    group = f"{p.parent}|{suffix}|parts" if kind == "part" else str(p)
    return _Entry(p, rel, key, year, suffix, "read", "", group, part)


def _unmatched(p: Path, rel: str, folder_reg: str | None, suffix: str) -> _Entry:
    last = suffix.split(".")[-1]
    data_like = suffix in FORMATS or last in _COMPRESSED or suffix in ("xlsx", "xls", "dta", "sav")
    if folder_reg is None:
        return _Entry(p, rel, None, None, None, "ignored", "matches no register's file name")
    if not data_like or last in _NOT_DATA:
        return _Entry(p, rel, None, None, None, "ignored", "not a data file")
    reg = REGISTERS[folder_reg]
    return _Entry(
        p, rel, folder_reg, None, None, "refused",
        f"a data file in the folder of register {folder_reg!r} whose name matches no pattern "
        f"(expected {_expected(reg)}): rename it or move it out of the folder",
    )  # fmt: skip


def _part_format(suffix: str) -> str | None:
    """The format of a part file: its suffix, or parquet for writers' names such as
    ``part-00000-<uuid>.c000.snappy.parquet`` (the codec is inside the parquet file)."""
    if suffix in FORMATS:
        return suffix
    return "parquet" if suffix.endswith(".parquet") else None


def _part_folder(d: Path, rel: str, key: str, year: int | None) -> list[_Entry]:
    """The files of a folder of parts (``lmdb2019/part-0.parquet``, ``year=2019/...``)."""
    out: list[_Entry] = []
    parts: list[_Entry] = []
    for p in sorted(d.iterdir()):
        r = f"{rel}/{p.name}"
        _, suffix = _split_name(p.name)
        problem = _link_problem(p)
        if p.name.startswith((".", "_")) or suffix == "crc":
            out.append(_Entry(p, r, None, None, None, "ignored", "hidden or marker file"))
        elif problem:
            out.append(_Entry(p, r, key, year, None, "refused", problem))
        elif p.is_dir():
            out.append(
                _Entry(p, r, key, year, None, "refused", "nested folder in a folder of parts")
            )
        elif fmt := _part_format(suffix):
            m = _PART_NAME.match(p.name)
            num = int(m.group(1)) if m else None
            parts.append(_Entry(p, r, key, year, fmt, "read", "", f"{d}|folder", num))
        elif suffix.split(".")[-1] in _COMPRESSED:
            why = "a compressed part: unpack it"
            out.append(_Entry(p, r, key, year, None, "refused", why))
        else:
            out.append(_Entry(p, r, None, None, None, "ignored", "not a data file"))
    if not parts:
        out.append(
            _Entry(d, rel + "/", key, year, None, "refused", "folder of parts has no data file")
        )
    return out + parts


def _classify_dir(d: Path, rel: str, folder_reg: str | None) -> list[_Entry]:
    problem = _link_problem(d)
    if problem:
        return [
            _Entry(
                d,
                rel + "/",
                folder_reg,
                None,
                None,
                "refused" if folder_reg else "ignored",
                problem,
            )
        ]
    hive = _HIVE_YEAR.match(d.name)
    if hive and folder_reg is not None:
        if not REGISTERS[folder_reg].yearly:
            why = f"a year folder, but register {folder_reg!r} is not yearly"
            return [_Entry(d, rel + "/", folder_reg, None, None, "refused", why)]
        return _part_folder(d, rel, folder_reg, int(hive.group(1)))
    base, suffix = _split_name(d.name)  # a folder of parts may be named like a file
    hit = _match(base) if suffix in ("", *FORMATS) else None
    if hit and hit[1] == "whole" and (folder_reg is None or hit[0] == folder_reg):
        return _part_folder(d, rel, hit[0], hit[2])
    if folder_reg is None:
        return [_Entry(d, rel + "/", None, None, None, "ignored", "folder of no register")]
    n_data = sum(1 for p in d.rglob("*") if _split_name(p.name)[1] in FORMATS)
    if n_data == 0:
        return [_Entry(d, rel + "/", None, None, None, "ignored", "folder without data files")]
    return [_Entry(
        d, rel + "/", folder_reg, None, None, "refused",
        f"folder with {n_data} data file(s) not read: name it like "
        f"{REGISTERS[folder_reg].file_stem.replace('{year}', 'YYYY')} or year=YYYY",
    )]  # fmt: skip


def _walk(data_dir: Path) -> list[_Entry]:
    entries: list[_Entry] = []
    for p in sorted(data_dir.iterdir()):
        key = next((k for k in REGISTERS if p.name.lower() == k.lower()), None)
        if key is not None and _link_problem(p) is None and p.is_dir():
            for q in sorted(p.iterdir()):
                rel = f"{p.name}/{q.name}"
                if q.is_dir() and _link_problem(q) is None:
                    entries += _classify_dir(q, rel, key)
                else:
                    entries.append(_classify_file(q, rel, key))
        elif p.is_dir() and _link_problem(p) is None:
            entries += _classify_dir(p, p.name, None)
        else:
            entries.append(_classify_file(p, p.name, None))
    return entries


def _resolve_groups(entries: list[_Entry]) -> None:
    """Refuse deliveries given twice (two formats, a whole file and parts) and part numbers
    with gaps; in place."""
    by_year: dict[tuple[str, int | None], dict[str, list[_Entry]]] = {}
    for e in entries:
        if e.status == "read" and e.register is not None:
            by_year.setdefault((e.register, e.year), {}).setdefault(e.group, []).append(e)
    for (key, year), groups in by_year.items():
        what = f"register {key!r}" + (f", year {year}" if year is not None else "")
        if len(groups) > 1:
            names = sorted(e.rel for es in groups.values() for e in es)
            for es in groups.values():
                for e in es:
                    e.status = "refused"
                    e.reason = f"{what} delivered more than once ({', '.join(names)}): keep one"
            continue
        (es,) = groups.values()
        nums = sorted(e.part for e in es if e.part is not None)
        if (
            es[0].group.endswith("|parts")
            and nums
            and nums != list(range(nums[0], nums[0] + len(nums)))
        ):
            gap = sorted(set(range(nums[0], nums[-1] + 1)) - set(nums))
            for e in es:
                e.status = "refused"
                e.reason = f"{what}: parts {nums} have gaps (missing {gap}): incomplete delivery?"
        elif es[0].group.endswith("|parts") and nums and nums[0] not in (0, 1):
            for e in es:
                e.status = "refused"
                e.reason = f"{what}: parts start at {nums[0]} (missing {list(range(1, nums[0]))})"


def _inventory(data_dir: Path) -> list[_Entry]:
    entries = _walk(data_dir)
    _resolve_groups(entries)
    return entries


def _part_name(e: _Entry) -> str | None:
    """How a part is named in messages: ``lmdb2019_2.parquet``, ``lmdb2019/part-0.parquet``."""
    if e.group.endswith("|folder"):
        return f"{e.path.parent.name}/{e.path.name}"
    return e.path.name if e.group.endswith("|parts") else None


def register_inventory(data_dir: str | Path) -> pl.DataFrame:
    """Every file and folder in ``data_dir`` and its register folders, and what paleval does
    with it: one row per entry with ``path`` (relative to ``data_dir``), ``register``, ``year``,
    ``format``, ``status`` and ``reason``.

    ``status`` is ``read`` (loaded by :func:`scan_register`), ``refused`` (a register's file
    that is not read: :func:`find_register_files` raises for it, the reason says why and what
    to do) or ``ignored`` (not a register's data: notes, hidden files, other folders).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "lmdb").mkdir()
    >>> for n in ["lmdb2019_1.parquet", "lmdb2019_2.parquet", "lmdb2O20.parquet", "README.md"]:
    ...     _ = (d / "lmdb" / n).write_text("")
    >>> inv = register_inventory(d)
    >>> inv.select("path", "year", "status").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('lmdb/README.md', None, 'ignored'), ('lmdb/lmdb2019_1.parquet', 2019, 'read'),
     ('lmdb/lmdb2019_2.parquet', 2019, 'read'), ('lmdb/lmdb2O20.parquet', None, 'refused')]
    >>> inv["reason"][3][:52]
    "name matches no file of register 'lmdb' (expected lm"
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise RegisterLoadError("*", str(data_dir), None, "data directory does not exist")
    rows = [(e.rel, e.register, e.year, e.fmt, e.status, e.reason) for e in _inventory(data_dir)]
    return pl.DataFrame(rows, schema=INVENTORY_SCHEMA, orient="row").sort("path")


def find_register_files(
    data_dir: str | Path,
    key: str,
    *,
    years: Iterable[int] | None = None,
    refused: Literal["raise", "skip"] = "raise",
) -> list[RegisterFile]:
    """The files of register ``key`` in ``data_dir`` (``data_dir/<key>/``, folder name in any
    case, and ``data_dir`` itself), sorted by year and part.

    A year may come as one file (``lmdb2019.parquet``), as numbered parts
    (``lmdb2019_1.parquet``, ``lmdb2019_2.parquet``) or as a folder of parts
    (``lmdb2019/part-0.parquet``, ``lmdb/year=2019/...``); the parts are read together. Raises
    :class:`RegisterLoadError` when there are none (or none for the requested ``years``;
    ignored for registers delivered as one file) and, unless ``refused="skip"``, when any file
    of the register is refused (see :func:`register_inventory`): a name that matches no
    pattern, the same year delivered twice (two formats, a file and parts), gaps in part
    numbers, an unsupported or compressed format, an unreadable file or symlink loop.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "BEF").mkdir()
    >>> for n in ["bef201912.parquet", "BEF202012.csv", "notes.md"]:
    ...     _ = (d / "BEF" / n).write_text("")
    >>> [(f.name, f.year) for f in find_register_files(d, "bef")]
    [('bef201912.parquet', 2019), ('BEF202012.csv', 2020)]
    >>> [f.name for f in find_register_files(d, "bef", years=[2020])]
    ['BEF202012.csv']
    >>> _ = (d / "BEF" / "bef202012.parquet").write_text("")
    >>> try:
    ...     find_register_files(d, "bef")
    ... except RegisterLoadError as e:
    ...     print(e.message[:72])
    2 file(s) refused: BEF/BEF202012.csv: register 'bef', year 2020 delivere
    """
    reg = _register(key)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise RegisterLoadError(key, str(data_dir), None, "data directory does not exist")
    entries = [e for e in _inventory(data_dir) if e.register == key]
    bad = [e for e in entries if e.status == "refused"]
    if bad and refused == "raise":
        shown = "; ".join(f"{e.rel}: {e.reason}" for e in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise RegisterLoadError(key, None, None, f"{len(bad)} file(s) refused: {shown}{more}")
    wanted = None if years is None or not reg.yearly else {int(y) for y in years}
    kept = [e for e in entries if e.status == "read" and (wanted is None or e.year in wanted)]
    kept.sort(key=lambda e: (e.year or 0, e.group, -1 if e.part is None else e.part, e.rel))
    files = [RegisterFile(key, e.path, e.year, e.fmt or "", _part_name(e)) for e in kept]
    if not files:
        what = f"no file named like {reg.file_name(2019) if reg.yearly else reg.file_name()}"
        if wanted is not None:
            what += f" for years {sorted(wanted)}"
        raise RegisterLoadError(
            key,
            None,
            None,
            f"{what} (formats {', '.join(FORMATS)}) in {data_dir / key} or {data_dir}",
        )
    return files


# --------------------------------------------------------------------------- raw scans
def _cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("PALEVAL_CACHE_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "paleval-cache"


def _cache_folder(path: Path, cache_dir: str | Path | None, kind: str) -> Path:
    st = path.stat()
    h = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{kind}".encode())
    return _cache_root(cache_dir) / f"{path.stem}-{kind}-{h.hexdigest()[:16]}"


ENCODINGS: tuple[str, ...] = ("utf-8", "latin-1", "cp1252")
"""Text encodings accepted for CSV files (``encoding=`` of :func:`scan_register`)."""

_C1 = [bytes([b]) for b in range(0x80, 0xA0)]  # C1 controls in latin-1, text in cp1252
_CP1252_UNDEFINED = [bytes([b]) for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]
_BLOCK = 1 << 22


@dataclass
class _TextScan:
    bom: bool = False
    utf8: bool = False  # a non-ASCII line that is valid UTF-8
    invalid: bool = False  # bytes that are not UTF-8
    c1: bool = False  # bytes 0x80-0x9F in a block that is not UTF-8 (cp1252 punctuation)
    cp1252_undefined: bool = False


def _scan_text(path: Path) -> _TextScan:
    """One chunked pass over the bytes (4 MiB blocks, cut at line ends)."""
    out = _TextScan()
    carry = b""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ValueError("the file is UTF-16: save it as UTF-8")
        out.bom = head.startswith(codecs.BOM_UTF8)
        carry = head[3:] if out.bom else head
        while True:
            block = fh.read(_BLOCK)
            buf = carry + block
            cut = buf.rfind(b"\n") + 1 if block else len(buf)
            chunk, carry = buf[:cut], buf[cut:]
            if not chunk.isascii():
                _scan_chunk(chunk, out)
            if not block or (out.utf8 and out.invalid):  # (mixed: decided, stop reading)
                break
    return out


def _scan_chunk(chunk: bytes, out: _TextScan) -> None:
    try:
        chunk.decode("utf-8")
        out.utf8 = True
        return
    except UnicodeDecodeError:
        out.invalid = True
    # A valid multi-byte sequence decodes to one character from several bytes, an invalid
    # byte to one (surrogate) character: fewer characters than bytes means some UTF-8.
    # (C-speed: a regex over the bytes is ten times slower on latin-1 text.)
    out.utf8 = out.utf8 or len(chunk.decode("utf-8", "surrogateescape")) < len(chunk)
    out.c1 = out.c1 or any(b in chunk for b in _C1)
    out.cp1252_undefined = out.cp1252_undefined or any(b in chunk for b in _CP1252_UNDEFINED)


def _bad_lines(path: Path, encoding: str) -> tuple[int, list[int]]:
    """Number of lines that do not decode as ``encoding``, and the first five (1-based)."""
    n, first = 0, []
    with path.open("rb") as fh:
        for i, line in enumerate(fh, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                n += 1
                if len(first) < 5:
                    first.append(i)
    return n, first


def csv_encoding(path: str | Path, declared: str | None = None) -> str:
    """The text encoding of a CSV file, detected (not assumed) in one chunked pass.

    - UTF-8, with or without a byte-order mark (``"utf-8-sig"`` / ``"utf-8"``);
    - a file with no valid UTF-8 sequence but bytes that are not UTF-8 is single-byte:
      ``"cp1252"`` when it has bytes 0x80-0x9F (Windows punctuation such as ``'`` and ``EUR``,
      control characters in latin-1), else ``"latin-1"`` (ISO 8859-1; the Danish letters are
      the same bytes in both);
    - a file mixing UTF-8 lines with lines that are not UTF-8, a UTF-8 byte-order mark
      followed by non-UTF-8 bytes, UTF-16, or a ``declared`` encoding the bytes do not fit:
      :class:`ValueError` naming the line numbers (the first five and the count).

    ``declared`` (``"utf-8"``, ``"latin-1"``, ``"cp1252"``) skips detection but is checked.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_bytes("BY\\nSønderå\\n".encode("utf-8"))
    >>> _ = (d / "b.csv").write_bytes("BY\\nSønderå\\n".encode("latin-1"))
    >>> _ = (d / "c.csv").write_bytes("BY\\nSønderå\\n".encode() + "Ærø\\n".encode("latin-1"))
    >>> csv_encoding(d / "a.csv"), csv_encoding(d / "b.csv")
    ('utf-8', 'latin-1')
    >>> try:
    ...     csv_encoding(d / "c.csv")
    ... except ValueError as e:
    ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
    mixed encodings: 1 line(s) are not UTF-8 (lines 3) in a file whose other lines are UTF-8
    """
    path = Path(path)
    if declared is not None:
        return _check_declared(path, declared)
    scan = _scan_text(path)
    if not scan.invalid:
        return "utf-8-sig" if scan.bom else "utf-8"
    if scan.utf8 or scan.bom:
        n, first = _bad_lines(path, "utf-8")
        why = "a UTF-8 byte-order mark" if scan.bom and not scan.utf8 else "other lines are UTF-8"
        raise ValueError(
            f"mixed encodings: {n} line(s) are not UTF-8 (lines {', '.join(map(str, first))}) "
            f"in a file whose {why}"
        )
    if scan.c1:
        if scan.cp1252_undefined:
            n, first = _bad_lines(path, "cp1252")
            raise ValueError(
                f"unknown encoding: {n} line(s) are neither UTF-8 nor cp1252 "
                f"(lines {', '.join(map(str, first))})"
            )
        return "cp1252"
    return "latin-1"


def _check_declared(path: Path, declared: str) -> str:
    name = codecs.lookup(declared).name  # raises LookupError for an unknown name
    canonical = {"utf-8": "utf-8", "iso8859-1": "latin-1", "latin-1": "latin-1", "cp1252": "cp1252"}
    enc = canonical.get(name)
    if enc is None:
        raise ValueError(f"encoding {declared!r} not supported; use one of {list(ENCODINGS)}")
    if enc == "latin-1":  # every byte is a latin-1 character
        return enc
    scan = _scan_text(path)
    bad = scan.invalid if enc == "utf-8" else scan.cp1252_undefined
    if bad:
        n, first = _bad_lines(path, enc)
        raise ValueError(
            f"declared encoding {enc}, but {n} line(s) are not {enc} "
            f"(lines {', '.join(map(str, first))})"
        )
    return "utf-8-sig" if enc == "utf-8" and scan.bom else enc


def _detect_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


_ENCODING_MEMO: dict[tuple[str, int, int, str | None], str] = {}


def _scan_csv(
    f: RegisterFile, cache_dir: str | Path | None, encoding: str | None = None
) -> pl.LazyFrame:
    path = f.path
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, encoding)
    try:
        enc = _ENCODING_MEMO.get(key) or csv_encoding(path, encoding)
    except (ValueError, LookupError) as exc:
        raise RegisterLoadError(f.register, f.name, None, str(exc)) from None
    _ENCODING_MEMO[key] = enc  # one pass per file version, not one per scan
    source = path
    if not enc.startswith("utf-8"):
        folder = _cache_folder(path, cache_dir, f"utf8-{enc}")
        source = folder / "data.csv"
        if not source.exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"data.csv.{os.getpid()}.part"
            with path.open(encoding=enc, newline="") as src:
                with tmp.open("w", encoding="utf-8", newline="") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
            tmp.replace(source)
    with path.open(encoding="utf-8-sig" if enc.startswith("utf-8") else enc, newline="") as fh:
        header = fh.readline()
    if not header.strip():
        raise RegisterLoadError(f.register, f.name, None, "the file has no header line")
    sep = _detect_separator(header)
    return pl.scan_csv(
        source,
        separator=sep,
        infer_schema=False,
        encoding="utf8",
        with_column_names=lambda cols: [c.strip().lstrip("\ufeff") for c in cols],
        raise_if_empty=False,
    )


def _sas_reader(fmt: str) -> Callable[..., Any]:
    try:
        import pyreadstat
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading SAS files needs pyreadstat: pip install pyreadstat") from exc
    return pyreadstat.read_sas7bdat if fmt == "sas7bdat" else pyreadstat.read_xport


def _sas_column(df: pl.DataFrame, c: str, meta: Any) -> pl.Expr:
    """Column ``c`` of a chunk read without pyreadstat's date conversion, typed by its SAS
    format: date formats -> Date, datetime formats -> Datetime, time formats -> Time, other
    numbers Float64, text String."""
    if meta.readstat_variable_types.get(c) == "string" or df.schema[c] == pl.String:
        return pl.col(c).cast(pl.String, strict=False)
    kind = sas_format_kind(meta.original_variable_types.get(c))
    x = pl.col(c).cast(pl.Float64, strict=False)
    if kind == "date":
        return sas_number_to_date(x, "date").alias(c)
    if kind == "datetime":
        secs = pl.when(x.is_finite()).then(x)
        epoch = dt.datetime(1960, 1, 1)
        return (pl.lit(epoch) + pl.duration(microseconds=(secs * 1e6).round())).alias(c)
    if kind == "time":
        secs = pl.when(x.is_finite() & x.is_between(0, 86_400, closed="left")).then(x)
        return (secs * 1e9).round().cast(pl.Int64).cast(pl.Time).alias(c)
    return x.alias(c)


_SAS7BDAT_MAGIC = bytes.fromhex("c2ea8160b31411cfbd92080009c7318c181f1011")


def _sas7bdat_size(path: Path) -> tuple[int, int] | None:
    """(size the header declares, actual size) of a sas7bdat file: header length plus page
    size times page count (Shotwell, *SAS7BDAT Database Binary Format*: offsets 196, 200, 204
    plus the alignment padding flagged at byte 35; page count 8 bytes in 64-bit files, byte
    32)."""
    with path.open("rb") as fh:
        head = fh.read(216)
    if head[12:32] != _SAS7BDAT_MAGIC:
        return (0, 0)  # not a sas7bdat file: the reader says so
    if len(head) < 216:
        return None
    a2 = 4 if head[32] == 0x33 else 0
    a1 = 4 if head[35] == 0x33 else 0
    end = "<" if head[37] == 0x01 else ">"
    (hl,) = struct.unpack(end + "i", head[196 + a1 : 200 + a1])
    (ps,) = struct.unpack(end + "i", head[200 + a1 : 204 + a1])
    (pc,) = struct.unpack(end + ("q" if a2 else "i"), head[204 + a1 : 208 + a1 + a2])
    return hl + ps * pc, path.stat().st_size


def _xport_expected_rows(path: Path, widths: Sequence[int]) -> int:
    """Rows a SAS transport file holds by its own layout (SAS TS-140; V8: the count in the
    ``OBSV8`` header record). Raises :class:`ValueError` when the file is cut short: a size
    that is not a whole number of 80-byte records, or a partial last row (V5 pads the last
    record with blanks only)."""
    size = path.stat().st_size
    if size % 80:
        raise ValueError(f"truncated: {size} bytes is not a whole number of 80-byte records")
    with path.open("rb") as fh:
        data = fh.read()
    i = data.find(b"HEADER RECORD*******OBS")
    if i < 0:
        raise ValueError("truncated: no observation header record")
    header = data[i : i + 80]
    count = header[48:63].strip()
    if header.startswith(b"HEADER RECORD*******OBSV8") and count.isdigit() and int(count) > 0:
        return int(count)
    row = sum(widths)
    body = data[i + 80 :]
    n = len(body) // row if row else 0
    # the last 80-byte record is padded with blanks: whole blank rows there are padding
    while n and len(body) - (n - 1) * row < 80 and not body[(n - 1) * row : n * row].strip(b" "):
        n -= 1
    tail = body[n * row :]
    if len(tail) >= 80 or tail.strip(b" "):
        raise ValueError(f"truncated: the last row is incomplete ({len(tail)} of {row} bytes)")
    return n


def _sas_expected_rows(f: RegisterFile, meta: Any) -> int | None:
    """The row count a SAS file's own header gives (None when it gives none)."""
    if f.format == "sas7bdat":  # (the size was checked against the header before reading)
        n = getattr(meta, "number_rows", None)
        return int(n) if n is not None and n >= 0 else None
    widths = [int(meta.variable_storage_width[c]) for c in meta.column_names]
    return _xport_expected_rows(f.path, widths)


def _scan_sas(f: RegisterFile, cache_dir: str | Path | None) -> pl.LazyFrame:
    try:
        reader = _sas_reader(f.format)
    except ImportError as exc:
        raise RegisterLoadError(f.register, f.name, None, str(exc)) from None
    import pyreadstat

    if f.format == "sas7bdat":  # a cut-off file makes the reader fail: say why first
        sizes = _sas7bdat_size(f.path)
        if sizes is None or sizes[0] > sizes[1]:
            got = f.path.stat().st_size
            want = f"the header declares {sizes[0]} bytes" if sizes else "no complete header"
            raise RegisterLoadError(
                f.register, f.name, None, f"truncated SAS file: {want}, the file has {got}"
            )
    folder = _cache_folder(f.path, cache_dir, "sas2")  # sas2: formats read by paleval
    done = folder / "_COMPLETE"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("part-*.parquet"):
            old.unlink()
        n_parts, n_rows, meta = 0, 0, None
        chunks = pyreadstat.read_file_in_chunks(
            reader, str(f.path), chunksize=_CHUNK_ROWS, disable_datetime_conversion=True
        )
        for i, (chunk, meta) in enumerate(chunks):
            df = pl.from_pandas(chunk)
            df = df.select(_sas_column(df, c, meta) for c in df.columns)
            df.write_parquet(folder / f"part-{i:05d}.parquet")
            n_parts += 1
            n_rows += df.height
        if n_parts == 0:
            raise RegisterLoadError(f.register, f.name, None, "the SAS file has no data")
        try:
            expected = _sas_expected_rows(f, meta)
        except ValueError as exc:
            raise RegisterLoadError(f.register, f.name, None, f"SAS file {exc}") from None
        if expected is not None and expected != n_rows:
            raise RegisterLoadError(
                f.register,
                f.name,
                None,
                f"truncated SAS file: its header declares {expected} rows, {n_rows} were read",
            )
        done.write_text(json.dumps({"rows": n_rows}))
    return pl.scan_parquet(folder / "part-*.parquet")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _parquet_footer(path: Path) -> None:
    """Check the frame of a parquet file without a parquet library (no memory, no pyarrow):
    ``PAR1`` at both ends and a footer length that fits the file (Apache Parquet file format:
    data, footer, 4-byte little-endian footer length, ``PAR1``). A cut-off file loses them."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 8, 0))
        tail = fh.read(8)
    if head != b"PAR1":
        raise ValueError("not a parquet file (no PAR1 at its start)")
    if size < 12 or tail[4:] != b"PAR1":
        raise ValueError("not a readable parquet file (truncated?): no PAR1 footer at its end")
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        raise ValueError(
            f"not a readable parquet file (truncated?): footer of {footer} bytes in a file of "
            f"{size}"
        )


def _parquet_rows(path: Path) -> int:
    """Rows a parquet file holds by its own footer, after checking the footer against the
    file: the row groups add up to the total, and every column chunk lies inside the file.
    Raises :class:`ValueError` naming the problem (a missing footer: truncated or not
    parquet)."""
    import pyarrow.parquet as pq

    size = path.stat().st_size
    try:
        md = pq.read_metadata(path)
    except Exception as exc:  # pyarrow's ArrowInvalid / OSError
        raise ValueError(f"not a readable parquet file (truncated?): {_first_line(exc)}") from None
    groups = sum(md.row_group(i).num_rows for i in range(md.num_row_groups))
    if groups != md.num_rows:
        raise ValueError(f"footer says {md.num_rows} rows, its row groups {groups}")
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        for j in range(rg.num_columns):
            c = rg.column(j)
            start = c.dictionary_page_offset or c.data_page_offset
            if start < 4 or start + c.total_compressed_size > size:
                raise ValueError(
                    f"column {c.path_in_schema!r} of row group {i} lies outside the file "
                    f"({start}+{c.total_compressed_size} > {size} bytes): truncated"
                )
    return int(md.num_rows)


def expected_rows(f: RegisterFile) -> int | None:
    """The number of rows a file holds by its own metadata: the parquet footer, the SAS
    header (sas7bdat, transport V8; V5 from its layout), None for CSV (which has none).
    Compare with the rows read to detect truncation. Raises :class:`RegisterLoadError` when
    the metadata itself shows the file is damaged.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"PNR": ["1", "2"]}).write_parquet(d / "dod.parquet")
    >>> expected_rows(RegisterFile("dod", d / "dod.parquet", None, "parquet"))
    2
    """
    try:
        if f.format == "parquet":
            return _parquet_rows(f.path)
        if f.format in ("sas7bdat", "xpt"):
            _, meta = _sas_reader(f.format)(str(f.path), metadataonly=True)
            return _sas_expected_rows(f, meta)
    except RegisterLoadError:
        raise
    except Exception as exc:
        raise RegisterLoadError(f.register, f.name, None, _first_line(exc)) from None
    return None


def _scan_raw(
    f: RegisterFile,
    cache_dir: str | Path | None = None,
    *,
    encoding: str | None = None,
    two_digit_year_pivot: int | None = None,
) -> pl.LazyFrame:
    """The file as delivered (CSV: all text), with the schema resolved eagerly, its integrity
    checked from its own metadata and its date columns checked for refused forms."""
    if f.path.stat().st_size == 0:
        raise RegisterLoadError(f.register, f.name, None, "the file is empty (0 bytes)")
    try:
        if f.format == "parquet":
            _parquet_footer(f.path)
            lf = pl.scan_parquet(f.path)
        elif f.format in ("csv", "txt"):
            lf = _scan_csv(f, cache_dir, encoding)
        else:
            lf = _scan_sas(f, cache_dir)
        lf.collect_schema()
    except RegisterLoadError:
        raise
    except Exception as exc:  # polars/pyarrow/pyreadstat errors -> one clear message
        raise RegisterLoadError(
            f.register, f.name, None, f"cannot read the {f.format} file: {_first_line(exc)}"
        ) from None
    _check_date_columns(lf, f, two_digit_year_pivot)
    return lf


_TEXT_DATE_COUNTS: dict[tuple, dict[str, int]] = {}
_NUMBER_KINDS: dict[tuple[str, int, int, str], tuple[int, int, list[str]]] = {}
_MONTH_FIRST = r"^(?:0?[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])/\d{4}"


def _check_date_columns(lf: pl.LazyFrame, f: RegisterFile, pivot: int | None) -> None:
    """Refuse date columns read wrongly otherwise: two-digit years (without a pivot) and
    month-first dates in a text column, and a numeric column mixing SAS day numbers and
    ``YYYYMMDD`` integers (all rows of the column; remembered per file)."""
    reg = REGISTERS[f.register]
    schema = lf.collect_schema()
    m = match_columns(schema.names(), reg)
    dates = [
        (v.name, m.mapping[v.name])
        for v in reg.variables
        if v.dtype == pl.Date and v.name in m.mapping
    ]
    text = [(n, r) for n, r in dates if schema[r] == pl.String]
    nums = [(n, r) for n, r in dates if schema[r].is_numeric()]
    if text:
        _sniff_text_dates(lf, f, text, pivot)
    if nums:
        _check_number_dates(lf, f, nums)


def _sniff_text_dates(
    lf: pl.LazyFrame, f: RegisterFile, cols: list[tuple[str, str]], pivot: int | None
) -> None:
    """Month-first dates and two-digit years (without a pivot) in every row of the text date
    columns: one streaming pass counting them (remembered per file, size and modification
    time), and a second query for the first three examples only when there are any."""
    st = f.path.stat()
    checks: list[tuple[str, str, str]] = []  # (raw column, what, condition id)
    conds: dict[str, pl.Expr] = {}
    for i, (_, raw) in enumerate(cols):
        s = pl.col(raw).str.strip_chars().str.to_uppercase()
        conds[f"m{i}"] = s.str.contains(_MONTH_FIRST).fill_null(False)
        checks.append((raw, "month-first", f"m{i}"))
        if pivot is None:
            no_time = s.str.replace(r"(?:[ T:]\d{1,2}:\d{2}.*)$", "")
            conds[f"t{i}"] = no_time.str.contains(TWO_DIGIT_YEAR).fill_null(False)
            checks.append((raw, "two-digit", f"t{i}"))
    key = (str(f.path), st.st_size, st.st_mtime_ns, tuple(sorted(conds)), tuple(cols))
    counts = _TEXT_DATE_COUNTS.get(key)
    if counts is None:
        aggs = [pl.len().alias("__n")] + [c.sum().alias(k) for k, c in conds.items()]
        try:
            row = lf.select(aggs).collect(engine="streaming").row(0, named=True)
        except Exception:  # unreadable rows: reported where the data are read
            return
        counts = {k: int(v) for k, v in row.items()}
        _TEXT_DATE_COUNTS[key] = counts
    todo = {
        "month-first": ("month-first dates (MM/DD/YYYY)", "paleval reads DD/MM/YYYY (Danish "
                        "usage): convert the column"),
        "two-digit": ("two-digit years", "the century is unknown: deliver four-digit years or "
                      "pass two_digit_year_pivot= (e.g. 30: 00-29 -> 20yy, 30-99 -> 19yy)"),
    }  # fmt: skip
    names = dict((raw, name) for name, raw in cols)
    for raw, kind, cid in checks:
        n = counts[cid]
        if not n:
            continue
        what, advice = todo[kind]
        bad = (
            lf.select(raw)
            .with_row_index("__row", offset=1)
            .filter(conds[cid])
            .head(3)
            .collect(engine="streaming")
        )
        ex = "; ".join(f"row {r}: {v!r}" for r, v in bad.iter_rows())
        raise RegisterLoadError(
            f.register, f.name, names[raw],
            f"{what} in {n} of {counts['__n']} rows (e.g. {ex}): {advice}",
        )  # fmt: skip


def _check_number_dates(lf: pl.LazyFrame, f: RegisterFile, cols: list[tuple[str, str]]) -> None:
    st = f.path.stat()
    todo = [
        (n, r) for n, r in cols if (str(f.path), st.st_size, st.st_mtime_ns, r) not in _NUMBER_KINDS
    ]
    if todo:
        aggs = []
        for _, r in todo:
            k = number_date_kind(pl.col(r))
            aggs += [
                (k == "sas_days").sum().alias(f"d|{r}"),
                (k == "yyyymmdd").sum().alias(f"y|{r}"),
            ]
        aggs += [
            pl.col(r)
            .filter(number_date_kind(pl.col(r)) == "yyyymmdd")
            .first()
            .cast(pl.String)
            .alias(f"e|{r}")
            for _, r in todo
        ]
        try:
            row = lf.select(aggs).collect(engine="streaming").row(0, named=True)
        except Exception:
            return
        for _, r in todo:
            key = (str(f.path), st.st_size, st.st_mtime_ns, r)
            _NUMBER_KINDS[key] = (int(row[f"d|{r}"]), int(row[f"y|{r}"]), [str(row[f"e|{r}"])])
    for name, r in cols:
        n_days, n_ymd, ex = _NUMBER_KINDS[(str(f.path), st.st_size, st.st_mtime_ns, r)]
        if n_days and n_ymd:
            raise RegisterLoadError(
                f.register, f.name, name,
                f"numbers of two kinds in one date column: {n_days} SAS day numbers and "
                f"{n_ymd} YYYYMMDD integers (e.g. {ex[0]}): ambiguous, convert the column",
            )  # fmt: skip


# --------------------------------------------------------------------------- casting
def _is_numeric(dt: pl.DataType) -> bool:
    return dt.is_numeric()


def _text(e: pl.Expr) -> pl.Expr:
    s = e.str.strip_chars()
    return pl.when(~s.is_in(list(_MISSING_TEXT))).then(s)


def _declared_spelling(out: pl.Expr, upper: dict[str, str]) -> pl.Expr:
    """``out`` with codes that match a declared code case-insensitively in the declared spelling
    (``upper``: upper-case code -> declared code); other values unchanged.

    Built from elementwise comparisons only (no ``replace``/``replace_strict``, which the
    streaming engine does not stream: a coded column would materialise the whole file).
    """
    if all(k.lower() == k == u for u, k in upper.items()):
        # Codes without letters ("1", "84"): a value matches one case-insensitively only when
        # it is that code (no letter upper-cases to a digit), so the spelling is already right.
        return out
    up = out.str.to_uppercase()
    if all(u == k for u, k in upper.items()):  # declared in upper case: the match is the value
        return pl.when(up.is_in(list(upper))).then(up).otherwise(out)
    if len(upper) > 64:  # pragma: no cover - no register declares such a code list
        mapped = up.replace_strict(upper, default=None, return_dtype=pl.String)
        return pl.when(up.is_in(list(upper))).then(mapped).otherwise(out)
    chain: Any = pl
    for u, k in upper.items():
        chain = chain.when(up == u).then(pl.lit(k, pl.String))
    return chain.otherwise(out)


def parse_expr(
    raw: str, src: pl.DataType, var: Variable, *, two_digit_year_pivot: int | None = None
) -> pl.Expr:
    """Expression casting raw column ``raw`` (dtype ``src``) to ``var``'s declared dtype.

    Values that cannot be cast give null (see the module docstring for the rules).

    Examples
    --------
    >>> import polars as pl
    >>> from paleval.registers import REGISTERS
    >>> df = pl.DataFrame({"d": ["2015-01-31", "31JAN2015", "31-01-2015", "x", " "]})
    >>> var = REGISTERS["bef"].variable("FOED_DAG")
    >>> df.select(parse_expr("d", pl.String(), var)).to_series().to_list()
    ... # doctest: +NORMALIZE_WHITESPACE
    [datetime.date(2015, 1, 31), datetime.date(2015, 1, 31), datetime.date(2015, 1, 31),
     None, None]
    """
    return _parse(raw, src, var, clean=False, pivot=two_digit_year_pivot)


def _parse(
    raw: str, src: pl.DataType, var: Variable, *, clean: bool, pivot: int | None = None
) -> pl.Expr:
    """:func:`parse_expr`; with ``clean=True`` a text column is taken as already passed
    through :func:`_text` (stripped, missing text null), as :func:`_conform` does."""
    text = (lambda x: x) if clean else _text
    e = pl.col(raw)
    target = var.dtype
    is_text = src == pl.String
    if target == pl.String:
        if is_text:
            out = text(e)
        elif src.is_float():
            out = pl.when(e == e.round()).then(e.cast(pl.Int64, strict=False)).cast(pl.String)
        elif src == pl.Date:
            out = e.dt.to_string("%Y-%m-%d")
        else:
            out = e.cast(pl.String, strict=False)
        if not is_text and var.name in FIXED_WIDTH and _is_numeric(src):
            out = out.str.zfill(FIXED_WIDTH[var.name])
        if var.codes is not None:
            upper = {k.upper(): k for k in var.codes}
            if len(upper) == len(var.codes):
                out = _declared_spelling(out, upper)
        return out.alias(var.name)
    if target == pl.Int64 or target == pl.Float64:
        if is_text:
            s = text(e)
            if target == pl.Float64:
                s = s.str.replace(r"^(-?\d+),(\d+)$", "$1.$2")
                return s.cast(pl.Float64, strict=False).alias(var.name)
            f = s.cast(pl.Float64, strict=False)
            as_int = pl.when(f == f.round()).then(f.cast(pl.Int64, strict=False))
            return pl.coalesce(s.cast(pl.Int64, strict=False), as_int).alias(var.name)
        if src.is_float() and target == pl.Int64:
            return pl.when(e == e.round()).then(e.cast(pl.Int64, strict=False)).alias(var.name)
        return e.cast(target, strict=False).alias(var.name)
    if target == pl.Date:
        return _parse_date(e, src, text, pivot).alias(var.name)
    return e.cast(target, strict=False).alias(var.name)


def _parse_date(
    e: pl.Expr, src: pl.DataType, text: Callable[[pl.Expr], pl.Expr], pivot: int | None
) -> pl.Expr:
    """A raw column as a Date: dates as they are, datetimes' date part, numbers as SAS day
    numbers or ``YYYYMMDD`` integers by range (:func:`~paleval.registers.normalise.
    number_to_date`), text in the accepted formats (:func:`~paleval.registers.normalise.
    text_to_date`); other types (times of day) null."""
    if src == pl.Date:
        return e
    if isinstance(src, pl.Datetime):
        return e.dt.date()
    if _is_numeric(src):
        return number_to_date(e)
    if src == pl.String:
        return text_to_date(text(e), two_digit_year_pivot=pivot)
    return pl.lit(None, pl.Date)


def present_expr(raw: str, src: pl.DataType) -> pl.Expr:
    """Whether the raw value is present (not null, not empty text, not SAS ``"."``).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"x": ["1", " ", ".", None]})
    >>> df.select(present_expr("x", pl.String())).to_series().to_list()
    [True, False, False, False]
    """
    e = pl.col(raw)
    if src == pl.String:
        return e.is_not_null() & ~e.str.strip_chars().is_in(list(_MISSING_TEXT))
    if src.is_float():
        return e.is_not_null() & e.is_not_nan()
    return e.is_not_null()


@dataclass(frozen=True)
class ColumnMatch:
    """How a file's columns map onto the declared schema (see :func:`match_columns`).

    Examples
    --------
    >>> ColumnMatch({"PNR": "pnr"}, ["DODDATO"], [], {}).missing
    ['DODDATO']
    """

    mapping: dict[str, str]  # declared name -> raw name
    missing: list[str]
    extra: list[str]
    ambiguous: dict[str, list[str]]


def match_columns(raw_names: Sequence[str], reg: Register) -> ColumnMatch:
    """Match raw column names to declared ones case-insensitively.

    Examples
    --------
    >>> from paleval.registers import REGISTERS
    >>> m = match_columns(["pnr", "doddato", "note"], REGISTERS["dod"])
    >>> m.mapping, m.missing, m.extra
    ({'PNR': 'pnr', 'DODDATO': 'doddato'}, [], ['note'])
    """
    by_lower: dict[str, list[str]] = {}
    for n in raw_names:
        by_lower.setdefault(n.strip().lower(), []).append(n)
    mapping: dict[str, str] = {}
    missing: list[str] = []
    ambiguous: dict[str, list[str]] = {}
    for v in reg.variables:
        hits = by_lower.get(v.name.lower(), [])
        if len(hits) == 1:
            mapping[v.name] = hits[0]
        elif len(hits) > 1:
            exact = [h for h in hits if h == v.name]
            if exact:
                mapping[v.name] = exact[0]
            ambiguous[v.name] = hits
        else:
            missing.append(v.name)
    used = set(mapping.values()) | {h for hs in ambiguous.values() for h in hs}
    extra = [n for n in raw_names if n not in used]
    return ColumnMatch(mapping, missing, extra, ambiguous)


def _conform(
    raw: pl.LazyFrame,
    f: RegisterFile,
    columns: Literal["all", "declared"],
    cache_dir: str | Path | None = None,
    *,
    two_digit_year_pivot: int | None = None,
) -> pl.LazyFrame:
    reg = REGISTERS[f.register]
    schema = raw.collect_schema()
    m = match_columns(schema.names(), reg)
    for name, hits in m.ambiguous.items():
        if name not in m.mapping:
            raise RegisterLoadError(
                f.register, f.name, name, f"several columns match case-insensitively: {hits}"
            )
    required_missing = [n for n in m.missing if not reg.variable(n).nullable]
    if required_missing:
        raise RegisterLoadError(
            f.register,
            f.name,
            ", ".join(required_missing),
            f"required column(s) missing; the file has {schema.names()}",
        )
    # Text columns are stripped and their missing values nulled once, in two steps before the
    # casts (computing it inside each cast expression repeats the string work several times).
    # PNR goes first: a filter on PNR (``lf.filter(pl.col("PNR").is_in(persons))``) is pushed
    # down to just after it, so the other columns are cleaned for the kept rows only.
    # Columns of a parquet file that are already clean are passed through untouched (see
    # _already_clean): a filter on them then reaches the parquet reader itself.
    clean = _already_clean(raw, f, m.mapping, schema, cache_dir)
    text_cols = sorted({r for r in m.mapping.values() if schema[r] == pl.String and r not in clean})
    pnr = [c for c in text_cols if c == m.mapping.get("PNR")]
    for group in (pnr, [c for c in text_cols if c not in pnr]):
        if group:
            raw = raw.with_columns(pl.col(group).str.strip_chars()).with_columns(
                pl.when(~pl.col(c).is_in(list(_MISSING_TEXT))).then(pl.col(c)).alias(c)
                for c in group
            )
    exprs = []
    for v in reg.variables:
        rawname = m.mapping.get(v.name)
        if rawname is None:
            exprs.append(pl.lit(None, dtype=v.dtype).alias(v.name))
        elif rawname in clean and v.dtype == pl.String:
            exprs.append(pl.col(rawname).alias(v.name))  # nothing to clean or re-spell
        else:
            exprs.append(
                _parse(rawname, schema[rawname], v, clean=True, pivot=two_digit_year_pivot)
            )
    if columns == "all":
        exprs.extend(pl.col(c) for c in m.extra if c not in reg.columns)
    return raw.select(exprs)


_CLEAN_MEMO: dict[tuple[str, int, int, str, str], bool] = {}
_MEMO_READ: set[Path] = set()  # on-disk memo files already merged into _CLEAN_MEMO
# Join-only identifiers (see _already_clean): LPR2 record number, LPR3 contact and course keys,
# the BEF/FAIK family.
_JOIN_IDS = frozenset({"RECNUM", "DW_EK_KONTAKT", "DW_EK_FORLOEB", "FAMILIE_ID"})


def _already_clean(
    raw: pl.LazyFrame,
    f: RegisterFile,
    mapping: dict[str, str],
    schema: pl.Schema,
    cache_dir: str | Path | None = None,
) -> set[str]:
    """The raw text columns of a parquet file that cleaning would leave unchanged.

    For a text variable declared as text that means the whole parsing (strip, missing text
    to null, declared code spelling) gives back every stored value; for one cast to a number
    or date, that stripping and nulling change nothing. Checked with one filter query per
    column, which the parquet reader answers from the column's dictionary pages (seconds for
    hundreds of millions of rows), and remembered per file (path, size and modification
    time): in this process, and in ``clean-columns.json`` in the cache directory, so a later
    process on the same files skips the check (about 11 s for the national end-of-life
    registers' ``PNR`` columns). A changed file has a new size or modification time and is
    checked again; an unwritable cache directory only loses the memo. CSV and SAS files are
    always cleaned.

    Identifiers used only to join files (:data:`_JOIN_IDS`) are not checked: with millions of
    distinct values their dictionary pages do not cover the column, so the check would decode
    every value (about 2 s per 100 million rows) to save an in-line strip of the rows a query
    reads anyway. ``PNR`` is checked: a filter on it reaching the parquet reader is the point.
    """
    if f.format != "parquet":
        return set()
    reg = REGISTERS[f.register]
    st = f.path.stat()
    _load_memo(cache_dir)
    todo: dict[str, tuple[tuple[str, int, int, str, str], pl.Expr]] = {}
    found: set[str] = set()
    for v in reg.variables:
        rawname = mapping.get(v.name)
        if rawname is None or schema[rawname] != pl.String or v.name in _JOIN_IDS:
            continue
        key = (str(f.path.resolve()), st.st_size, st.st_mtime_ns, rawname, v.name)
        if key in _CLEAN_MEMO:
            if _CLEAN_MEMO[key]:
                found.add(rawname)
            continue
        if v.dtype == pl.String:
            cleaned = _parse(rawname, pl.String(), v, clean=False)
        else:
            cleaned = _text(pl.col(rawname))
        todo[rawname] = (key, ~cleaned.eq_missing(pl.col(rawname)))
    if todo:
        try:
            counts = pl.collect_all(
                [raw.filter(cond).select(pl.len()) for _, cond in todo.values()],
                engine="streaming",
            )
        except pl.exceptions.PolarsError:
            return found  # unreadable: the normal path reports it
        for (rawname, (key, _)), n in zip(todo.items(), counts, strict=True):
            _CLEAN_MEMO[key] = n.item() == 0
            if _CLEAN_MEMO[key]:
                found.add(rawname)
        _save_memo(cache_dir, [key for key, _ in todo.values()])
    return found


def _memo_file(cache_dir: str | Path | None) -> Path:
    return _cache_root(cache_dir) / "clean-columns.json"


def _load_memo(cache_dir: str | Path | None) -> None:
    """Merge the on-disk memo of clean columns into ``_CLEAN_MEMO`` (once per file)."""
    path = _memo_file(cache_dir)
    if path in _MEMO_READ:
        return
    _MEMO_READ.add(path)
    for key, clean in _read_memo(path).items():
        _CLEAN_MEMO.setdefault(key, clean)


def _read_memo(path: Path) -> dict[tuple[str, int, int, str, str], bool]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {(str(p), int(n), int(t), str(r), str(v)): bool(c) for p, n, t, r, v, c in rows}
    except (OSError, ValueError, TypeError):
        return {}  # no memo yet, or unreadable: the columns are checked again


def _save_memo(cache_dir: str | Path | None, keys: list[tuple[str, int, int, str, str]]) -> None:
    """Add the results for ``keys`` to the on-disk memo, dropping entries of older versions of
    the same files; written to a temporary file and renamed, so readers never see half a file."""
    path = _memo_file(cache_dir)
    new = {k: _CLEAN_MEMO[k] for k in keys}
    versions = {k[0]: k[1:3] for k in new}
    memo = {
        k: c
        for k, c in _read_memo(path).items()
        if k[0] not in versions or k[1:3] == versions[k[0]]
    }
    memo.update(new)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps([[*k, c] for k, c in memo.items()]), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # read-only cache directory: the memo lasts for this process only
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def unparseable_counts(
    raw: pl.LazyFrame, f: RegisterFile, *, two_digit_year_pivot: int | None = None
) -> dict[str, tuple[int, list[str]]]:
    """Per declared column: how many present values cannot be cast, with up to 5 examples
    (``"row N: 'value'"``, rows 1-based in the file). Reads every column once, so a file that
    cannot be read (ragged CSV lines) raises the polars error here.

    Examples
    --------
    >>> import polars as pl
    >>> from pathlib import Path
    >>> raw = pl.LazyFrame({"PNR": ["0101010000", "0202020000"], "DODDATO": ["2015-01-01", "?"]})
    >>> unparseable_counts(raw, RegisterFile("dod", Path("dod.csv"), None, "csv"))
    {'DODDATO': (1, ["row 2: '?'"])}
    """
    reg = REGISTERS[f.register]
    schema = raw.collect_schema()
    m = match_columns(schema.names(), reg)
    checks = {}
    for v in reg.variables:
        rawname = m.mapping.get(v.name)
        if rawname is None:
            continue
        src = schema[rawname]
        if v.dtype == pl.String and src == pl.String:
            continue
        parsed = parse_expr(rawname, src, v, two_digit_year_pivot=two_digit_year_pivot)
        checks[v.name] = present_expr(rawname, src) & parsed.is_null()
    # reading every column makes the CSV reader meet ragged lines (projection would skip them)
    touch = pl.sum_horizontal(pl.all().is_null()).sum().alias("__touch")
    counts = raw.select(touch, *(x.sum().alias(k) for k, x in checks.items()))
    row = counts.collect().row(0, named=True)
    out: dict[str, tuple[int, list[str]]] = {}
    for k, n in row.items():
        if k == "__touch":
            continue
        if n:
            rawname = m.mapping[k]
            ex = (
                raw.with_row_index("__row", offset=1)
                .filter(checks[k])
                .select("__row", pl.col(rawname).cast(pl.String))
                .head(5)
                .collect()
            )
            out[k] = (int(n), [f"row {r}: {val!r}" for r, val in ex.iter_rows()])
    return out


def integrity_exprs(f: RegisterFile) -> dict[str, pl.Expr]:
    """Per column of a parquet file: True where a value lies outside the minimum and maximum
    the file's own footer records for that column (over all row groups). Such a value was not
    written: it was damaged on disk (a corrupt page that still decompresses). Cheap to add to a
    pass that reads the columns anyway (:func:`paleval.registers.validate`); empty for other
    formats and for columns without statistics.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"x": [1, 5]}).write_parquet(d / "dod.parquet", statistics=True)
    >>> e = integrity_exprs(RegisterFile("dod", d / "dod.parquet", None, "parquet"))
    >>> pl.DataFrame({"x": [1, 5, 9]}).select(e["x"])["x"].to_list()
    [False, False, True]
    """
    if f.format != "parquet":
        return {}
    import pyarrow.parquet as pq

    md = pq.read_metadata(f.path)
    names = [md.schema.column(j).name for j in range(md.num_columns)]
    lo: dict[str, Any] = {}
    hi: dict[str, Any] = {}
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        for j in range(rg.num_columns):
            st = rg.column(j).statistics
            name = names[j]
            if st is None or not st.has_min_max or (name in lo and lo[name] is None):
                lo[name] = hi[name] = None  # a row group without statistics: no bound
                continue
            lo[name] = st.min if name not in lo else min(lo[name], st.min)
            hi[name] = st.max if name not in hi else max(hi[name], st.max)
    out = {}
    for name in names:
        if lo.get(name) is None or isinstance(lo[name], (bytes, str)):
            continue  # text: byte order may differ from polars' order; no bound
        c = pl.col(name)
        out[name] = (c.is_not_null() & ((c < lo[name]) | (c > hi[name]))).fill_null(False)
    return out


def verify_file(f: RegisterFile) -> int:
    """Read a file completely and check it against its own metadata; returns its rows.

    Parquet: every page is read with page checksum verification (pyarrow; pages written with
    checksums), the rows read must equal the footer's count, and every value must lie within
    the column statistics in the footer (:func:`integrity_exprs`), which catches a damaged page
    that still decompresses. SAS: the header's row count (see :func:`expected_rows`). CSV:
    the encoding (:func:`csv_encoding`). Raises :class:`RegisterLoadError` naming the file and
    what is wrong. A full extra read: :func:`scan_register` does it with ``strict=True``.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"PNR": ["1", "2"]}).write_parquet(d / "dod.parquet")
    >>> verify_file(RegisterFile("dod", d / "dod.parquet", None, "parquet"))
    2
    """
    if f.format in ("csv", "txt"):  # the encoding pass, then every line through the reader
        raw = _scan_raw(f)
        try:
            return int(raw.select(pl.len()).collect().item())
        except Exception as exc:
            raise RegisterLoadError(
                f.register, f.name, None, f"cannot read the csv file: {_first_line(exc)}"
            ) from None
    expected = expected_rows(f)
    if f.format != "parquet":
        got = _scan_raw(f).select(pl.len()).collect().item()
    else:
        got = _verify_parquet(f)
    if expected is not None and got != expected:
        raise RegisterLoadError(
            f.register, f.name, None, f"the file's metadata declares {expected} rows, {got} read"
        )
    return int(got)


def _verify_parquet(f: RegisterFile) -> int:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f.path, page_checksum_verification=True)
        got = 0
        for i in range(pf.num_row_groups):
            got += pf.read_row_group(i).num_rows
    except Exception as exc:
        raise RegisterLoadError(
            f.register, f.name, None, f"corrupt parquet file: {_first_line(exc)}"
        ) from None
    checks = integrity_exprs(f)
    if checks:
        lf = pl.scan_parquet(f.path)
        row = lf.select(x.sum().alias(k) for k, x in checks.items()).collect().row(0, named=True)
        bad = {k: n for k, n in row.items() if n}
        if bad:
            shown = ", ".join(f"{k} ({n} rows)" for k, n in bad.items())
            raise RegisterLoadError(
                f.register,
                f.name,
                next(iter(bad)),
                f"corrupt parquet file: values outside the range its footer records in {shown}",
            )
    return got


def _scan_file(
    f: RegisterFile,
    *,
    columns: Literal["all", "declared"],
    strict: bool,
    cache_dir: str | Path | None,
    encoding: str | None = None,
    two_digit_year_pivot: int | None = None,
) -> pl.LazyFrame:
    raw = _scan_raw(f, cache_dir, encoding=encoding, two_digit_year_pivot=two_digit_year_pivot)
    out = _conform(raw, f, columns, cache_dir, two_digit_year_pivot=two_digit_year_pivot)
    if strict:
        if f.format == "parquet":
            verify_file(f)
        try:
            bad = unparseable_counts(raw, f, two_digit_year_pivot=two_digit_year_pivot)
        except Exception as exc:  # errors met only when reading the data (ragged CSV lines)
            raise RegisterLoadError(
                f.register, f.name, None, f"cannot read the {f.format} file: {_first_line(exc)}"
            ) from None
        if bad:
            col, (n, ex) = next(iter(bad.items()))
            dtype = REGISTERS[f.register].variable(col).dtype
            others = f" (also: {', '.join(list(bad)[1:])})" if len(bad) > 1 else ""
            raise RegisterLoadError(
                f.register,
                f.name,
                col,
                f"{n} value(s) cannot be read as {dtype}, e.g. {'; '.join(ex)}{others}",
            )
    return out


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
    reg = _register(key)
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
                _scan_raw(
                    f, cache_dir, encoding=encoding, two_digit_year_pivot=two_digit_year_pivot
                )
                .collect_schema()
                .names()
            )
            wrong = [v.name for v in reg.variables if v.name not in names]
            wrong = [n for n in wrong if n.lower() in {x.strip().lower() for x in names}]
            if wrong:
                raise RegisterLoadError(
                    key, f.name, ", ".join(wrong), "column spelled in another case"
                )
        lf = _scan_file(
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
        st = (data_dir / rel).stat()
        stamp.append((rel, st.st_size, st.st_mtime_ns))
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


def register_delivered(data_dir: str | Path, key: str) -> bool:
    """Whether register ``key`` is delivered in ``data_dir``: False when no file of it exists
    at all; when some exist but are refused (a name matching no pattern, a year given twice,
    ...) :func:`find_register_files` raises, so such a register is never silently taken as
    absent (use this, not ``find_register_files`` in a ``try``, to ask "is it there?").

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "vnds.csv").write_text("PNR,INDUD_KODE,HAEND_DATO\\n")
    >>> register_delivered(d, "vnds"), register_delivered(d, "dod")
    (True, False)
    >>> _ = (d / "dod_2019.csv").write_text("PNR,DODDATO\\n")
    >>> register_delivered(d, "dod")
    Traceback (most recent call last):
    ...
    paleval.registers.loading.RegisterLoadError: register 'dod': 1 file(s) refused: ...
    """
    _register(key)
    if not any(e.register == key for e in _inventory(Path(data_dir))):
        return False
    find_register_files(data_dir, key)
    return True


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


def _unique_contacts(contacts: pl.LazyFrame) -> pl.LazyFrame:
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
    return _unique_contacts(lf), int(n)
