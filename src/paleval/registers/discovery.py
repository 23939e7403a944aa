"""Finding a register's files in a data folder: every entry accounted for.

:func:`register_inventory` lists every entry of a data folder as read, refused (with the
reason) or ignored; :func:`find_register_files` gives a register's files to read (see
:mod:`paleval.registers.loading` for the naming rules). Also the loaders' error
(:class:`RegisterLoadError`) and file (:class:`RegisterFile`) types.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from paleval.registers.model import REGISTERS
from paleval.registers.schema import Register

__all__ = [
    "FORMATS",
    "INVENTORY_SCHEMA",
    "RegisterFile",
    "RegisterLoadError",
    "find_register_files",
    "register_delivered",
    "register_inventory",
    "register_model",
]

FORMATS: tuple[str, ...] = ("parquet", "sas7bdat", "xpt", "csv", "txt")
"""Accepted file suffixes, in order of preference."""


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
def register_model(key: str) -> Register:
    """The declared model of register ``key``; :class:`RegisterLoadError` for an unknown key.

    Examples
    --------
    >>> register_model("dod").primary_key
    ('PNR',)
    """
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
_LOCK_FILE = "an Office lock file (~$name: the document is or was open), not data"
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
    if p.name.startswith("~$"):
        return _Entry(p, rel, None, None, None, "ignored", _LOCK_FILE)
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
            else (f"unsupported format .{suffix}" if suffix else "no file suffix, format unknown")
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


def _other_delivery(name: str, key: str, year: int | None, rel: str) -> str | None:
    """Why a file in the folder of parts ``rel`` (register ``key``, ``year``) is not one of its
    parts: its own name is that of another register's file or of another year's
    (``bef/year=2018/bef201912.csv`` was read as the 2018 status). ``None``: a part."""
    hit = _match(_split_name(name)[0])
    if hit is None:
        return None  # a writer's part name (part-0.parquet), or no register's name
    other, kind, other_year, _ = hit
    if kind == "near":  # bef201909.csv (a September status) in bef/year=2019/
        return (
            f"name is like register {other!r}'s files but matches no pattern (expected "
            f"{_expected(REGISTERS[other])}): inside {rel}/ it would be read as a part; rename it"
        )
    if other == key and (year is None or other_year is None or other_year == year):
        return None
    what = f"register {other!r}" + (f", year {other_year}" if other_year is not None else "")
    here = f"register {key!r}" + (f", year {year}" if year is not None else "")
    return (
        f"named as a file of {what} inside {rel}/, the folder of {here}: not read as its part; "
        "move it to the folder of its own year (or rename it)"
    )


def _part_folder(d: Path, rel: str, key: str, year: int | None) -> list[_Entry]:
    """The files of a folder of parts (``lmdb2019/part-0.parquet``, ``year=2019/...``)."""
    out: list[_Entry] = []
    parts: list[_Entry] = []
    for p in sorted(d.iterdir()):
        r = f"{rel}/{p.name}"
        _, suffix = _split_name(p.name)
        problem = _link_problem(p)
        if p.name.startswith("~$"):
            out.append(_Entry(p, r, None, None, None, "ignored", _LOCK_FILE))
        elif p.name.startswith((".", "_")) or suffix == "crc":
            out.append(_Entry(p, r, None, None, None, "ignored", "hidden or marker file"))
        elif problem:
            out.append(_Entry(p, r, key, year, None, "refused", problem))
        elif p.is_dir():
            out.append(
                _Entry(p, r, key, year, None, "refused", "nested folder in a folder of parts")
            )
        elif fmt := _part_format(suffix):
            if why := _other_delivery(p.name, key, year, rel):
                out.append(_Entry(p, r, key, year, None, "refused", why))
                continue
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
        if hit is not None and hit[1] == "near":
            misnamed = _misnamed_folder(d, rel, hit[0])
            if misnamed:
                return misnamed
        return [
            _Entry(d, rel + "/", None, None, None, "ignored", "folder of no register"),
            *_stray_files(d, rel),
        ]
    n_data = sum(1 for p in d.rglob("*") if _split_name(p.name)[1] in FORMATS)
    if n_data == 0:
        return [_Entry(d, rel + "/", None, None, None, "ignored", "folder without data files")]
    return [_Entry(
        d, rel + "/", folder_reg, None, None, "refused",
        f"folder with {n_data} data file(s) not read: name it like "
        f"{REGISTERS[folder_reg].file_stem.replace('{year}', 'YYYY')} or year=YYYY",
    )]  # fmt: skip


def _files_below(d: Path, rel: str) -> list[tuple[Path, str]]:
    """Every file in ``d`` and its sub-folders at any depth, with its path relative to the
    data folder (``rel`` is ``d``'s), sorted; hidden entries (``.name``, ``_name``, ``~$``)
    and unreadable folders are skipped, symbolic links to folders are not followed (no
    loops)."""
    if d.name.startswith((".", "_")) or not os.access(d, os.R_OK | os.X_OK):
        return []
    out = []
    for root, dirs, files in os.walk(d, followlinks=False):
        dirs[:] = sorted(x for x in dirs if not x.startswith((".", "_")))
        here = Path(root)
        sub = here.relative_to(d).as_posix()
        prefix = rel if sub == "." else f"{rel}/{sub}"
        for name in sorted(files):
            if not name.startswith((".", "_", "~$")):
                out.append((here / name, f"{prefix}/{name}"))
    return out


def _is_data_name(name: str) -> bool:
    """A file name of a data format paleval reads (also a writer's part name such as
    ``part-0.snappy.parquet``) or a compressed file."""
    suffix = _split_name(name)[1]
    return _part_format(suffix) is not None or suffix.split(".")[-1] in _COMPRESSED


def _misnamed_folder(d: Path, rel: str, key: str) -> list[_Entry]:
    """The data files, at any depth, of a folder of no register named nearly like register
    ``key``'s files (``lpr_diag_typo/2019/part-0.parquet``): each refused with the reason,
    so that a register in a misnamed folder is never silently "not delivered". Empty when
    the folder holds no data file."""
    reg = REGISTERS[key]
    out = []
    for p, r in _files_below(d, rel):
        if not _is_data_name(p.name):
            continue
        why = (
            f"a data file in the folder {rel}/, whose name is like register {key!r}'s but "
            f"matches no pattern (expected the folder {key}/, files {_expected(reg)} or a "
            f"folder of parts named {reg.file_stem.replace('{year}', 'YYYY')}/ or year=YYYY/): "
            "not read; rename the folder"
        )
        out.append(_Entry(p, r, key, None, None, "refused", why))
    if out:
        out.insert(
            0,
            _Entry(
                d,
                rel + "/",
                None,
                None,
                None,
                "ignored",
                f"misnamed folder of {key!r}: its data files are refused",
            ),
        )
    return out


def _stray_files(d: Path, rel: str) -> list[_Entry]:
    """Files named like a register's data files directly inside a folder of no register
    (``laegemidler/lmdb2019.parquet``, ``vandringer/vnds.csv``): refused, so that a register
    put in a misnamed folder is an error naming the files, never "not delivered". Hidden
    folders are not looked into. (Deeper files of a folder of no register stay ignored, such
    as an archived ``old/2018/lmdb2019.csv``; a folder named nearly like a register's is
    looked into at any depth: :func:`_misnamed_folder`.)"""
    if d.name.startswith((".", "_")) or not os.access(d, os.R_OK | os.X_OK):
        return []
    out = []
    for p in sorted(d.iterdir()):
        base, suffix = _split_name(p.name)
        hit = _match(base)
        if p.name.startswith((".", "~$")) or hit is None or hit[1] == "near":
            continue
        if suffix not in FORMATS or not p.is_file():
            continue
        key = hit[0]
        why = (
            f"a file of register {key!r} in the folder {rel}/, which is no register's "
            f"folder: move it to {key}/ (or the data folder), or out of the data folder"
        )
        out.append(_Entry(p, f"{rel}/{p.name}", key, hit[2], suffix, "refused", why))
    return out


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
    reg = register_model(key)
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
    paleval.registers.discovery.RegisterLoadError: register 'dod': 1 file(s) refused: ...
    """
    register_model(key)
    if not any(e.register == key for e in _inventory(Path(data_dir))):
        return False
    find_register_files(data_dir, key)
    return True
