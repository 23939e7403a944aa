"""The raw-reading layer shared by the loaders and validation: a delivered file as read
(:func:`scan_raw`: parquet, CSV in any accepted encoding, SAS), its integrity from its own
metadata, column matching, and conforming to the declared schema (:func:`conform`). See
:mod:`paleval.registers.loading` for the rules."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import re
import struct
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from paleval.registers.dates import check_number_dates, parse_date, sniff_text_dates
from paleval.registers.discovery import RegisterFile, RegisterLoadError
from paleval.registers.model import REGISTERS
from paleval.registers.normalise import (
    SAS_EPOCH,
    sas_format_kind,
    sas_number_to_date,
)
from paleval.registers.schema import Register, Variable

__all__ = [
    "DATE_FORMATS",
    "ENCODINGS",
    "FIXED_WIDTH",
    "ColumnMatch",
    "conform",
    "content_digest",
    "csv_encoding",
    "expected_rows",
    "first_line",
    "integrity_exprs",
    "match_columns",
    "parse_expr",
    "present_expr",
    "scan_file",
    "scan_raw",
    "unparseable_counts",
    "verify_file",
]

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


# --------------------------------------------------------------------------- raw scans
def _cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("PALEVAL_CACHE_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "paleval-cache"


_EDGE = 1 << 20


def content_digest(path: Path) -> str:
    """SHA-256 of a file's first and last MiB (the whole file up to 2 MiB): with the size and
    modification time, what tells one version of a file from another (a same-size edit whose
    modification time was restored, ``cp -p``, keeps size and time).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dod.csv"
    >>> _ = p.write_text("PNR,DODDATO\\n1,2019-06-01\\n"); a = content_digest(p)
    >>> _ = p.write_text("PNR,DODDATO\\n1,2020-06-01\\n"); a == content_digest(p), len(a)
    (False, 64)
    """
    st = path.stat()
    # within one process a file is hashed once per version: a replaced or rewritten file has
    # a new inode or change time (which no tool can set back), so it is hashed again
    seen = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if seen in _DIGESTS:
        return _DIGESTS[seen]
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(_EDGE))
        size = st.st_size
        if size > 2 * _EDGE:
            fh.seek(size - _EDGE)
        h.update(fh.read(_EDGE))
    _DIGESTS[seen] = h.hexdigest()
    return _DIGESTS[seen]


_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def _cache_folder(path: Path, cache_dir: str | Path | None, kind: str) -> Path:
    """The cache folder of a converted copy of ``path`` (a transcoded CSV, a SAS file as
    parquet parts), keyed by the path, size, modification time and content digest."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{kind}|{content_digest(path)}"
    h = hashlib.sha1(key.encode())
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


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file: unpack it"),
    (b"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook: unpack it or export it as CSV"),
    (b"BZh", "a bzip2-compressed file: unpack it"),
    (b"\xfd7zXZ\x00", "an xz-compressed file: unpack it"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file: unpack it"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive: unpack it"),
    (b"PAR1", "a parquet file: name it .parquet"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (or another Office file): export it as CSV"),
    (b"HEADER RECORD*******LIBRARY HEADER", "a SAS transport file: name it .xpt"),
)
"""File signatures of formats delivered under a text name (``dod.csv`` that is gzip data)."""


def _check_not_text(path: Path) -> None:
    """:class:`ValueError` when a text file's first bytes show another format: a known file
    signature (:data:`_MAGIC`), or NUL bytes (UTF-16 without a byte-order mark when they
    alternate with text, else a binary file)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ValueError(f"not CSV text: the file is {what}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("the file is UTF-16: save it as UTF-8")
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > len(head) // 4 and min(even, odd) == 0:
            raise ValueError("the file is UTF-16 without a byte-order mark: save it as UTF-8")
        at = head.index(b"\x00")
        raise ValueError(f"not CSV text: NUL bytes (the first at byte {at}): a binary file")


def _scan_text(path: Path) -> _TextScan:
    """One chunked pass over the bytes (4 MiB blocks, cut at line ends)."""
    out = _TextScan()
    carry = b""
    _check_not_text(path)
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


_SEP_HINT = re.compile(r"^\ufeff?sep=(.)\s*$")
"""Excel's separator line (``sep=;``) before the header."""

_ENCODING_MEMO: dict[tuple[str, int, int, str, str | None], str] = {}
"""The encoding found per file version: path, size, modification time, :func:`content_digest`
(a latin-1 file replaced by a UTF-8 file of the same size and time was read as latin-1,
mojibake) and the encoding asked for."""


def _scan_csv(
    f: RegisterFile, cache_dir: str | Path | None, encoding: str | None = None
) -> pl.LazyFrame:
    path = f.path
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, content_digest(path), encoding)
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
        hint = _SEP_HINT.match(header.strip("\r\n"))
        if hint:  # Excel's "sep=;" first line: the separator, then the header
            header = fh.readline()
    if not header.strip():
        raise RegisterLoadError(f.register, f.name, None, "the file has no header line")
    sep = hint.group(1) if hint else _detect_separator(header)
    names = [c.strip().lstrip("\ufeff") for c in next(csv.reader([header], delimiter=sep))]
    twice = sorted({c for c in names if c and names.count(c) > 1})  # unnamed: extra columns
    if twice:
        raise RegisterLoadError(
            f.register, f.name, ", ".join(twice),
            f"column name(s) {twice} appear more than once in the header: which column holds "
            "the values is unknown",
        )  # fmt: skip
    _check_field_counts(f, source, sep, len(names), 2 if hint else 1)
    return pl.scan_csv(
        source,
        separator=sep,
        skip_rows=1 if hint else 0,
        infer_schema=False,
        encoding="utf8",
        with_column_names=lambda cols: [c.strip().lstrip("\ufeff") for c in cols],
        raise_if_empty=False,
    )


_FIELD_MEMO: dict[
    tuple[str, int, int, str, str], tuple[int, list[int], int, list[int], int | None]
] = {}


def _check_field_counts(
    f: RegisterFile, source: Path, sep: str, n_fields: int, header_line: int
) -> None:
    """Refuse a CSV with lines of fewer (or more) fields than its header: a line cut short
    (a truncated file, a lost separator) would otherwise be read with its last values empty.
    One streaming pass over the lines, counting separators (lines with a quote character,
    where a separator may be inside a value, and empty lines are not counted); remembered per
    file version. Line numbers are physical lines (the header is line ``header_line``).

    The same pass finds an unclosed quote: the file has an odd number of quote characters
    and the last line that leaves a quote open (an odd number of them) opens a quoted value
    at the start of a field and never closes it on that line. A file cut inside a quoted
    value (``...,"N02A`` as its end) is refused naming that line, not read as a polars error
    about the wrong column."""
    st = source.stat()
    key = (str(source.resolve()), st.st_size, st.st_mtime_ns, content_digest(source), sep)
    if key not in _FIELD_MEMO:
        lines = pl.scan_csv(
            source, has_header=False, separator="\x1f", quote_char=None,
            new_columns=["line"], infer_schema=False, raise_if_empty=False,
        ).with_row_index("n", offset=1)  # fmt: skip
        line = pl.col("line").str.strip_chars_end("\r")
        fields = line.str.count_matches(sep, literal=True) + 1
        quotes = line.str.count_matches('"', literal=True).fill_null(0)
        opens = line.str.contains(rf'(?:^|{re.escape(sep)})"[^"]*$').fill_null(False)
        body = (
            (pl.col("n") > header_line)
            & line.is_not_null()
            & (line.str.strip_chars() != "")
            & ~line.str.contains('"', literal=True)
        )
        found = (
            lines.with_columns(
                fields=fields, odd=(quotes % 2 == 1), opens=opens, body=body.fill_null(False)
            )
            .filter((pl.col("body") & (pl.col("fields") != n_fields)) | pl.col("odd"))
            .select("n", "fields", "odd", "opens", "body")
            .collect(engine="streaming")
        )
        bad = found.filter(pl.col("body"))
        short = bad.filter(pl.col("fields") < n_fields)["n"]
        long = bad.filter(pl.col("fields") > n_fields)["n"]
        odd = found.filter(pl.col("odd"))
        unclosed = None
        if odd.height % 2 == 1 and odd["opens"][-1]:
            unclosed = int(odd["n"][-1])
        _FIELD_MEMO[key] = (
            short.len(), short.head(5).to_list(), long.len(), long.head(5).to_list(), unclosed
        )  # fmt: skip
    n_short, short_at, n_long, long_at, unclosed = _FIELD_MEMO[key]
    problems = []
    if unclosed is not None:
        problems.append(
            f"line {unclosed} opens a quoted value that never closes (the file ends inside "
            "it): the file is cut short, or a quote character is stray"
        )
    if n_short:
        problems.append(
            f"{n_short} line(s) have fewer fields than the header's {n_fields} (lines "
            f"{', '.join(map(str, short_at))}): a line cut short or a lost separator"
        )
    if n_long:
        problems.append(
            f"{n_long} line(s) have more fields than the header's {n_fields} (lines "
            f"{', '.join(map(str, long_at))}): a separator inside an unquoted value?"
        )
    if problems:
        why = "; ".join(problems)
        raise RegisterLoadError(f.register, f.name, None, f"cannot read the csv file: {why}")


def unterminated_last_line(path: str | Path) -> int | None:
    """The number of a text file's last line when it does not end with a line end (and is
    not blank), else None. Every CSV writer (SAS, R, pandas, Excel) ends each record with a
    line end, so a last line without one is likely cut inside its last field: the value is
    read shorter than it was (``VOLUME`` 10 read as 1). Reads the file's tail, and counts the
    lines only when the tail is open.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("PNR,VOLUME\\n1,10\\n2,1")
    >>> _ = (d / "b.csv").write_text("PNR,VOLUME\\n1,10\\n2,10\\n")
    >>> unterminated_last_line(d / "a.csv"), unterminated_last_line(d / "b.csv")
    (3, None)
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(size - 65536, 0))
        tail = fh.read()
    if not tail or tail.endswith(b"\n"):
        return None
    if not tail[tail.rfind(b"\n") + 1 :].strip():
        return None  # trailing blanks after the last line end
    n = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n + 1


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


_SAS_DAY_MAX = 51_134  # 2099-12-31 as a SAS day number


def _count_days_as_seconds(df: pl.DataFrame, meta: Any, acc: dict[str, list[int]]) -> None:
    """Per datetime-formatted numeric column of a chunk: non-missing values, values that are
    plausible SAS day numbers (non-zero, at most 2099-12-31 as days: as seconds, within the
    first 14 hours of 1960) and one such value; accumulated in ``acc``."""
    for c in df.columns:
        if df.schema[c] == pl.String or meta.readstat_variable_types.get(c) == "string":
            continue
        if sas_format_kind(meta.original_variable_types.get(c)) != "datetime":
            continue
        x = df[c].cast(pl.Float64, strict=False)
        x = x.filter(x.is_finite())
        small = x.filter((x != 0) & (x.abs() <= _SAS_DAY_MAX))
        got = acc.setdefault(c, [0, 0, 0])
        got[0] += x.len()
        got[1] += small.len()
        if small.len() and not got[2]:
            got[2] = int(small[0])


def _refuse_days_as_seconds(f: RegisterFile, meta: Any, acc: dict[str, list[int]]) -> None:
    """A datetime format on a column whose values are mostly day numbers (``format DODDATO
    datetime20.;`` on a date variable): read as seconds every date would be 1 January 1960.
    Refused when at least half of the non-missing values look like days."""
    for c, (n, small, example) in acc.items():
        if n and 2 * small >= n:
            fmt = meta.original_variable_types.get(c)
            day = SAS_EPOCH + dt.timedelta(days=example)
            raise RegisterLoadError(
                f.register, f.name, c,
                f"the datetime format {fmt} holds seconds since 1960, but {small} of {n} values "
                f"are day numbers (e.g. {example} = {day} as days, 1960-01-01 as seconds): a "
                "date variable with a datetime format; correct the format",
            )  # fmt: skip


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
        days: dict[str, list[int]] = {}  # datetime-formatted column -> [values, day-like, e.g.]
        for i, (chunk, meta) in enumerate(chunks):
            df = pl.from_pandas(chunk)
            _count_days_as_seconds(df, meta, days)
            df = df.select(_sas_column(df, c, meta) for c in df.columns)
            df.write_parquet(folder / f"part-{i:05d}.parquet")
            n_parts += 1
            n_rows += df.height
        if n_parts == 0:
            raise RegisterLoadError(f.register, f.name, None, "the SAS file has no data")
        _refuse_days_as_seconds(f, meta, days)
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


def first_line(exc: Exception) -> str:
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
        raise ValueError(f"not a readable parquet file (truncated?): {first_line(exc)}") from None
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
        raise RegisterLoadError(f.register, f.name, None, first_line(exc)) from None
    return None


def scan_raw(
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
            f.register, f.name, None, f"cannot read the {f.format} file: {first_line(exc)}"
        ) from None
    lf = _plain_types(lf, f)
    _check_date_columns(lf, f, two_digit_year_pivot)
    return lf


def _plain_types(lf: pl.LazyFrame, f: RegisterFile) -> pl.LazyFrame:
    """Categorical and enum columns (pandas ``category``, dictionary-typed parquet columns) as
    text, so that they are parsed like text; a declared column stored as a nested type (a
    list, array or struct per row) is refused: which element is the value is unknown."""
    schema = lf.collect_schema()
    m = match_columns(schema.names(), REGISTERS[f.register])
    for name, rawname in m.mapping.items():
        if schema[rawname].is_nested():
            raise RegisterLoadError(
                f.register, f.name, rawname,
                f"stored as {schema[rawname]} (several values per row); expected one "
                f"{REGISTERS[f.register].variable(name).dtype} value per row",
            )  # fmt: skip
    cats = [c for c, t in schema.items() if isinstance(t, (pl.Categorical, pl.Enum))]
    return lf.with_columns(pl.col(cats).cast(pl.String)) if cats else lf


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
        sniff_text_dates(lf, f, text, pivot)
    if nums:
        check_number_dates(lf, f, nums)


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


def _pnr_text(s: pl.Expr) -> pl.Expr:
    """A PNR delivered as text: 9 digits (the leading zero lost in a spreadsheet) zero-padded
    to 10, as a PNR stored as a number is; ``DDMMYY-SSSS`` (or with a space) without the
    separator; anything else as it is (``code_width`` counts other widths)."""
    return (
        pl.when(s.str.contains(r"^\d{9}$"))
        .then(s.str.zfill(10))
        .when(s.str.contains(r"^\d{6}[- ]\d{4}$"))
        .then(s.str.replace(r"[- ]", ""))
        .otherwise(s)
    )


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
    through :func:`_text` (stripped, missing text null), as :func:`conform` does."""
    text = (lambda x: x) if clean else _text
    e = pl.col(raw)
    target = var.dtype
    is_text = src == pl.String
    if target == pl.String:
        if is_text:
            out = text(e)
            if var.name == "PNR":
                out = _pnr_text(out)
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
        return parse_date(e, src, text, pivot).alias(var.name)
    return e.cast(target, strict=False).alias(var.name)


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
    >>> match_columns(["\ufeffPNR", "DODDATO"], REGISTERS["dod"]).missing
    []
    """
    by_lower: dict[str, list[str]] = {}
    for n in raw_names:
        # a byte order mark kept in the first name (a BOM CSV converted to parquet by a tool
        # that did not strip it) is no part of the name, as in a CSV header
        by_lower.setdefault(n.strip().lstrip("\ufeff").strip().lower(), []).append(n)
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


def conform(
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
        raise RegisterLoadError(
            f.register, f.name, name, f"several columns match case-insensitively: {hits}"
        )  # even when one is spelled exactly: which one holds the values is unknown
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


_MemoKey = tuple[str, int, int, str, str, str]  # path, size, mtime (ns), digest, raw, declared
_CLEAN_MEMO: dict[_MemoKey, bool] = {}
_MEMO_READ: set[Path] = set()  # on-disk memo files already merged into _CLEAN_MEMO


def _memo_key(
    f: RegisterFile,
    rawname: str,
    variable: str,
    st: os.stat_result | None = None,
    digest: str | None = None,
) -> _MemoKey:
    """The key of column ``rawname`` (variable ``variable``) of file ``f`` in the memo of clean
    columns: path, size, modification time and :func:`content_digest` (``st`` and ``digest``
    when the caller has them), so a file replaced by one of the same size and time is checked
    again. Every writer of the memo builds its keys here."""
    st = st or f.path.stat()
    digest = digest or content_digest(f.path)
    return (str(f.path.resolve()), st.st_size, st.st_mtime_ns, digest, rawname, variable)


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
    hundreds of millions of rows), and remembered per file (path, size, modification time and
    content digest, :func:`content_digest`): in this process, and in ``clean-columns.json`` in
    the cache directory, so a later process on the same files skips the check (about 11 s for
    the national end-of-life registers' ``PNR`` columns). A changed file is checked again, also
    one replaced by another of the same size whose modification time was kept (``cp -p``,
    ``rsync -t``: a memo keyed by size and time alone kept ``"g"`` uncleaned after a clean
    ``"G"`` file was replaced); an unwritable cache directory only loses the memo. CSV and SAS
    files are always cleaned.

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
    digest: str | None = None
    todo: dict[str, tuple[_MemoKey, pl.Expr]] = {}
    found: set[str] = set()
    for v in reg.variables:
        rawname = mapping.get(v.name)
        if rawname is None or schema[rawname] != pl.String or v.name in _JOIN_IDS:
            continue
        digest = digest or content_digest(f.path)
        key = _memo_key(f, rawname, v.name, st, digest)
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


def remember_clean(
    f: RegisterFile, rawname: str, variable: str, cache_dir: str | Path | None = None
) -> None:
    """Record that cleaning leaves text column ``rawname`` (variable ``variable``) of parquet
    file ``f`` unchanged, when a caller has proved it (validation's PNR guard: every PNR ten
    digits, so the strip, the missing-text rule and the PNR repair change nothing), so that
    :func:`conform` does not check it again (about 0.4 s of CPU per national SSSY file)."""
    if f.format != "parquet":
        return
    _load_memo(cache_dir)
    key = _memo_key(f, rawname, variable)
    if _CLEAN_MEMO.get(key) is True:
        return
    _CLEAN_MEMO[key] = True
    _save_memo(cache_dir, [key])


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


def _read_memo(path: Path) -> dict[_MemoKey, bool]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {
            (str(p), int(n), int(t), str(h), str(r), str(v)): bool(c)
            for p, n, t, h, r, v, c in rows
        }
    except (OSError, ValueError, TypeError):
        return {}  # no memo yet, or unreadable: the columns are checked again


def _save_memo(cache_dir: str | Path | None, keys: list[_MemoKey]) -> None:
    """Add the results for ``keys`` to the on-disk memo, dropping entries of older versions of
    the same files; written to a temporary file and renamed, so readers never see half a file."""
    path = _memo_file(cache_dir)
    new = {k: _CLEAN_MEMO[k] for k in keys}
    versions = {k[0]: k[1:4] for k in new}
    memo = {
        k: c
        for k, c in _read_memo(path).items()
        if k[0] not in versions or k[1:4] == versions[k[0]]
    }
    memo.update(new)
    # one temporary name per process and thread: validation writes from two threads
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
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
        raw = scan_raw(f)
        try:
            return int(raw.select(pl.len()).collect().item())
        except Exception as exc:
            raise RegisterLoadError(
                f.register, f.name, None, f"cannot read the csv file: {first_line(exc)}"
            ) from None
    expected = expected_rows(f)
    if f.format != "parquet":
        got = scan_raw(f).select(pl.len()).collect().item()
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
            f.register, f.name, None, f"corrupt parquet file: {first_line(exc)}"
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


def scan_file(
    f: RegisterFile,
    *,
    columns: Literal["all", "declared"],
    strict: bool,
    cache_dir: str | Path | None,
    encoding: str | None = None,
    two_digit_year_pivot: int | None = None,
) -> pl.LazyFrame:
    raw = scan_raw(f, cache_dir, encoding=encoding, two_digit_year_pivot=two_digit_year_pivot)
    out = conform(raw, f, columns, cache_dir, two_digit_year_pivot=two_digit_year_pivot)
    if strict:
        if f.format == "parquet":
            verify_file(f)
        try:
            bad = unparseable_counts(raw, f, two_digit_year_pivot=two_digit_year_pivot)
        except Exception as exc:  # errors met only when reading the data (ragged CSV lines)
            raise RegisterLoadError(
                f.register, f.name, None, f"cannot read the {f.format} file: {first_line(exc)}"
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
