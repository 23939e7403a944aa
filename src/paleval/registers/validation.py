"""Validation of register extracts against the declared register model.

:func:`validate` checks a data directory register by register and file by file and returns a
:class:`ValidationReport` whose findings name the rule, its severity, the register, the file,
the column, the count and a few examples (row numbers, 1-based data rows of the file, and
values; person numbers are shown only with ``debug=True``).

Every check is a :class:`Rule` in :data:`RULES`, the single source of the documentation
(:func:`rules_markdown`) and of the report. A rule's severity is its action:

- ``error``: the study cannot proceed until the extract is fixed
  (:meth:`ValidationReport.raise_if_errors` raises);
- ``exclude``: the affected rows are dropped by the downstream helpers, and counted here;
- ``warn``: reported; nothing is dropped.

Code lists (``Variable.codes``) are compared after stripping spaces and, for text codes,
case-insensitively (the loader maps ``"ja"`` to the declared ``"Ja"``). A value outside the code
list is an ``error`` for a required (non-nullable) variable and a ``warn`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from paleval._progress import Steps
from paleval.codes import code_values, coverage_table, load_codes
from paleval.registers._raw import (
    FIXED_WIDTH,
    ColumnMatch,
    conform,
    first_line,
    match_columns,
    parse_expr,
    present_expr,
    remember_clean,
    scan_raw,
    unterminated_last_line,
    verify_file,
)
from paleval.registers.discovery import (
    RegisterFile,
    RegisterLoadError,
    find_register_files,
    register_delivered,
    register_inventory,
)
from paleval.registers.exclusion import (
    DATE_PAIRS,
    NON_NEGATIVE,
    NULL_MEANS_OPEN,
    date_rules,
    end_date,
    exclusion_filter,
    nulls_value,
    row_rules,
    valid_date,
    value_nulls,
    value_rules,
)
from paleval.registers.loading import (
    DUPLICATE_KEY,
    LATEST_DATES,
    drop_repeated_rows,
    extract_end_of,
    flag_duplicate_contacts,
    lpr_contacts,
    manifest_end,
    scan_register,
    unique_contacts,
)
from paleval.registers.model import (
    CODE_LISTS,
    MAX_AGE_AT_DEATH,
    REGISTERS,
    SENTINEL_FROM_YEAR,
)
from paleval.registers.normalise import (
    PAYMENT_GRACE_WEEKS,
    honuge_to_week_end,
    honuge_to_week_start,
)
from paleval.registers.schema import Variable

__all__ = [
    "DATE_PAIRS",
    "LATEST_DATES",
    "NON_NEGATIVE",
    "NULL_MEANS_OPEN",
    "RULES",
    "RegisterValidationError",
    "Rule",
    "ValidationReport",
    "date_rules",
    "death_rules",
    "exclusion_filter",
    "extract_end_of",
    "manifest_end",
    "nulls_value",
    "ooh_rates",
    "rate_collapses",
    "row_rules",
    "rules_markdown",
    "rules_table",
    "validate",
    "value_nulls",
    "value_rules",
]

Severity = Literal["error", "exclude", "null", "warn"]


@dataclass(frozen=True)
class Rule:
    """One validation rule: what is checked, where, and what happens to offending rows.

    Examples
    --------
    >>> RULE_BY_ID["event_after_death"].severity
    'exclude'
    """

    id: str
    severity: Severity
    registers: str
    description: str


_DATED = "lpr_adm, lpr_f_kontakter, lmdb, dpd, car, sssy"

RULES: tuple[Rule, ...] = (
    Rule("register_missing", "error", "all", "No folder or file of the register was found."),
    Rule(
        "file_unreadable",
        "error",
        "all",
        "The file cannot be read (empty 0-byte file, no header, corrupt parquet/SAS file).",
    ),
    Rule(
        "file_refused",
        "error",
        "all",
        "A file in the data folder that belongs to a register but is not read: a name that "
        "matches no pattern, the same year delivered twice, gaps in part numbers, an "
        "unsupported or compressed format, a symlink loop (register_inventory gives the reason).",
    ),
    Rule(
        "file_corrupt",
        "error",
        "all",
        "verify=True: a full read disagrees with the file's own metadata (page checksum, row "
        "count or a value outside the footer's column statistics).",
    ),
    Rule(
        "last_line_unterminated",
        "warn",
        "all",
        "A CSV file whose last line has no line end: every CSV writer ends each record with "
        "one, so the file is likely cut inside its last field (a value read shorter than it "
        "was); the line is named. A file cut inside a quoted value is file_unreadable.",
    ),
    Rule(
        "manifest_disagrees",
        "warn",
        "all",
        "manifest.json's end year disagrees with the extract's end taken from the files "
        "(extract_end_of): the manifest is stale or belongs to another extract; the files' "
        "end (or validate(extract_end=...)) is used.",
    ),
    Rule("column_missing", "error", "all", "A required (non-nullable) column is absent."),
    Rule(
        "column_missing_optional",
        "warn",
        "all",
        "A nullable column is absent; the loader adds it as all-null.",
    ),
    Rule(
        "column_ambiguous",
        "error",
        "all",
        "Several columns match one declared name case-insensitively (PNR and pnr; also "
        "when one is spelled exactly): which one holds the values is unknown.",
    ),
    Rule(
        "column_extra",
        "warn",
        "all",
        "A column not in the schema (kept at the end by the loader); a near spelling of a "
        "declared column is suggested.",
    ),
    Rule("no_rows", "warn", "all", "The file has a header but no data rows."),
    Rule(
        "unparseable_value",
        "error",
        "all",
        "Values that cannot be cast to the declared number type (the loader makes them null).",
    ),
    Rule(
        "decimal_mark_mixed",
        "error",
        "all",
        "A text column read as a decimal number holds both decimal commas (180000,5) and "
        "decimal points (180.000): in a Danish export the point may be a thousands separator "
        "(180.000 = 180000), so neither reading is safe; counted over the rows of both kinds.",
    ),
    Rule(
        "unparseable_date",
        "error",
        "all",
        "Dates in none of the accepted formats (ISO, 01JAN2015, 31-01-2015, 31.01.2015, "
        "31/01/2015, 20150131, SAS day numbers).",
    ),
    Rule(
        "null_required",
        "exclude",
        "all",
        "Missing value in a required (non-nullable) column; the row is dropped.",
    ),
    Rule(
        "code_outside_list_required",
        "error",
        "all",
        "Value outside the declared code list of a required variable.",
    ),
    Rule(
        "code_outside_list",
        "warn",
        "all",
        "Value outside the declared code list of a nullable variable.",
    ),
    Rule(
        "code_as_number",
        "warn",
        "all",
        "A text code or identifier delivered as a number; converted to text, fixed-width "
        "codes zero-padded.",
    ),
    Rule(
        "code_width",
        "warn",
        "all",
        "A fixed-width code or identifier (PNR 10, KOM 3, C_SGH 4, C_AFD 3, ...) of another "
        "width, e.g. a lost leading zero.",
    ),
    Rule(
        "diagnosis_not_normalised",
        "warn",
        "lpr_adm, lpr_diag, lpr_f_kontakter, lpr_f_diagnoser, dodsaasg, car",
        "Diagnosis codes in lower case or with spaces or dots; normalised by the LPR helpers "
        "(normalise_icd10).",
    ),
    Rule(
        "honuge_invalid",
        "exclude",
        "sssy",
        "HONUGE is not yyww with a valid ISO week (e.g. '1953x', week 54, week 53 in a year "
        "with 52 weeks).",
    ),
    Rule(
        "negative_value",
        "null",
        "lpr_adm, bef, yder, lmdb",
        "Negative bed days, family size, list size or package size: the value is made null, "
        "the row kept (no category is formed from it).",
    ),
    Rule(
        "count_below_minimum",
        "null",
        "bef",
        "A count that cannot be zero is zero: a family of 0 persons (ANTPERSF counts the "
        "person themself): the value is made null, the row kept (never 'not living alone').",
    ),
    Rule(
        "number_not_finite",
        "null",
        "sssy, lmdb, ind, faik",
        "NaN or infinite amount (fee, packages, package size, doses, income): the value is "
        "made null and the row kept, so no quantile or category is formed from it and an "
        "income shows as 'invalid', not as 'no_record' (add_income).",
    ),
    Rule(
        "date_sentinel",
        "exclude",
        "all",
        "A date that stands for 'missing' or 'open', not a day: 1899-12-30, 1899-12-31, "
        "1900-01-01, 9999-12-31, any date in 2099 or later, and SAS day 0 (1960-01-01) in a "
        "column whose register began later (model.SENTINEL_DATES, model.EARLIEST_DATES). In "
        "an end date where a far-future date means 'still current' (model.OPEN_END_DATES: "
        "tilknytning.DATO_TIL, plh.FRAFLYT_DATO) 9999-12-31 and 2099+ are kept as open "
        "intervals. In a "
        "nullable date outside the register's key (a discharge or first-contact date; not an "
        "end date whose empty value means 'still current': NULL_MEANS_OPEN) the date rules "
        "make the value null (severity null) and keep the row.",
    ),
    Rule(
        "date_before_range",
        "exclude",
        "all",
        "A date before the column's plausible range: before 1890-01-01 (model.DATE_FLOOR) or "
        "before the register began (model.EARLIEST_DATES, e.g. LPR 1977, LMDB 1994, DPD 2009).",
    ),
    Rule(
        "date_after_extract_end",
        "exclude",
        "all",
        "A date after the extract's end (validate(extract_end=...); default: 31 December of "
        "the last year of the yearly files, or of the latest death, DPD referral or cancer "
        "diagnosis in the year after; never "
        "manifest.json), e.g. a birth or an event in the future. Not checked: "
        "model.NOT_BOUNDED_BY_EXTRACT.",
    ),
    Rule(
        "code_not_in_list",
        "warn",
        "bef, dodsaasg, udda",
        "A coded value (municipality, detailed place of death, HFAUDD education) not in its "
        "paleval code list (model.CODE_LISTS): kept, and mapped to 'unknown' (place of death, "
        "education) by the analyses. Only complete code lists are checked: not SSSY's "
        "SPECIALE (paleval lists only the services it uses).",
    ),
    Rule(
        "code_shape",
        "warn",
        "lpr_adm, lpr_diag, lpr_f_kontakter, lpr_f_diagnoser, dodsaasg, car, lmdb",
        "A diagnosis that is not ICD-10 shaped (a letter, two digits, optional subdivisions; "
        "SKS with the D prefix) or an ATC code that is not ATC shaped (A, A01, A01B, A01BC, "
        "A01BC01), after normalisation: it matches no diagnosis group or drug group.",
    ),
    Rule(
        "code_normalised",
        "warn",
        "dodsaasg, car, lmdb; PNR of every register",
        "Codes delivered in another spelling that paleval normalises: an SKS 'D' prefix in a "
        "register coded in plain ICD-10 (stripped by icd10_clean/normalise_icd10), an ATC "
        "code in lower case or with spaces (must be upper-cased before matching drug groups), "
        "a PNR as text of 9 digits (a leading zero lost: zero-padded, as a PNR stored as a "
        "number is) or written DDMMYY-SSSS (the dash or space removed).",
    ),
    Rule(
        "duplicate_key",
        "error",
        "registers with a primary key",
        "Rows sharing the primary key within one file (counted as the rows beyond the first).",
    ),
    Rule(
        "duplicate_across_parts",
        "exclude",
        "registers delivered in part files",
        "A row of a part file identical in every declared column to a row of an earlier part "
        "of the same register-year (lmdb2019_1/lmdb2019_2, a folder of parts): delivered "
        "twice; the loaders (exclude=True) read it once (drop_repeated_rows).",
    ),
    Rule(
        "duplicate_key_across_parts",
        "error",
        "registers with a primary key delivered in part files",
        "A row of a part file whose primary key a row of an earlier part of the same "
        "register-year already holds, with other values in some declared column (rows "
        "identical in every column are duplicate_across_parts): two versions of one record, "
        "and nothing tells which is right (counted as the later parts' rows).",
    ),
    Rule(
        "end_before_start",
        "exclude",
        "lpr_adm, lpr_f_kontakter, tilknytning, plh",
        "End date before start date (a nursing-home stay moved out of before it was moved "
        "into); an open stay (no move-out date) is kept.",
    ),
    Rule(
        "stay_overlap",
        "warn",
        "plh",
        "A nursing-home stay that begins before an earlier stay of the same person has ended "
        "(an open stay never ends; a move-in on the day of the previous move-out is a move, "
        "not an overlap), over the stays the loaders keep: kept (residence at a date counts "
        "once).",
    ),
    Rule(
        "stay_after_death",
        "warn",
        "plh",
        "A nursing-home stay moved into (TILFLYT_DATO) or out of (FRAFLYT_DATO) after the "
        "person's death (dod DODDATO): kept; a move-out registered after death still covers "
        "the death, a move-in after death never does.",
    ),
    Rule(
        "dpd_contact_before_referral",
        "exclude",
        "dpd",
        "DPD first contact (FOERSTE_KONTAKT_DATO) before the referral (HENV_DATO).",
    ),
    Rule(
        "lpr3_refuted_diagnosis",
        "exclude",
        "lpr_f_diagnoser",
        "LPR3 diagnosis later refuted (senere_afkraeftet 'Ja'); dropped by lpr_diagnoses.",
    ),
    Rule(
        "lpr_duplicate_contact",
        "exclude",
        "lpr_adm, lpr_f_kontakter",
        "Exact duplicate contacts (same PNR, start, end, department, normalised action "
        "diagnosis); all but the first dropped by deduplicate_contacts, and by "
        "add_hospital_use inside its window.",
    ),
    Rule(
        "event_after_death",
        "exclude",
        _DATED,
        "Event dated after death (dod DODDATO); SSSY uses the week start, and a payment week "
        "up to PAYMENT_GRACE_WEEKS after death is a payment lag (sssy_paid_after_death).",
    ),
    Rule(
        "sssy_paid_after_death",
        "warn",
        "sssy",
        "GP service paid in a week after death, at most PAYMENT_GRACE_WEEKS (8) weeks after: "
        "the service was given before death and paid late; kept, and counted in the GP "
        "windows that end at death.",
    ),
    Rule(
        "event_before_birth",
        "exclude",
        _DATED,
        "Event dated before birth (bef FOED_DAG); SSSY uses the week end.",
    ),
    Rule(
        "death_before_birth",
        "exclude",
        "dod",
        "Death (DODDATO) before the person's birth (bef FOED_DAG, earliest over the BEF "
        "files): the death record is excluded, never an age under 18.",
    ),
    Rule(
        "age_over_max",
        "exclude",
        "dod",
        "Age at death over model.MAX_AGE_AT_DEATH (115) years: the death record is excluded.",
    ),
    Rule(
        "rate_collapse",
        "warn",
        "sssy",
        "Out-of-hours GP services (YDLTID, code list gp_time_codes) per resident (BEF, region "
        "on 31 December of the year before) of a region and ISO year below a fifth of the "
        "median of the other regions that year, without a declared reason in the coverage "
        "table (paleval.codes.coverage_table): a source that stopped covering a region. "
        "Declared gaps (the Capital Region's 1813 from 2014) are not reported; needs sssy and "
        "bef in the validated registers.",
    ),
    Rule(
        "cross_check_skipped",
        "warn",
        _DATED,
        "Death/birth checks (or the out-of-hours rate check, rate_collapse) skipped because "
        "a register could not be loaded.",
    ),
)
"""All validation rules, in the order they are reported."""

RULE_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}

EVENT_DATES: dict[str, str] = {
    "lpr_adm": "D_INDDTO",
    "lpr_f_kontakter": "dato_start",
    "lmdb": "EKSD",
    "dpd": "HENV_DATO",
    "car": "D_DIAGNOSEDATO",
    "sssy": "HONUGE",
}
"""The event date of each dated register, checked against death and birth."""


ICD10_SHAPE = r"(?i)^[\s.\-]*(D[\s.\-]*)?[A-Z]([\s.\-]*[0-9]){2}[0-9A-Z\s.\-]*$"
"""ICD-10 as delivered: a letter, two digits and optional subdivisions, after an optional SKS
``D`` prefix, in either case, with the spaces, dots and dashes that :func:`normalise_icd10`
removes (one regular expression on the raw value: no per-row string copies)."""

ATC_SHAPE = r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$"
"""An ATC code of any of the five levels (WHO ATC/DDD index: N, N02, N02A, N02AA, N02AA01)."""


def death_rules(death: pl.Expr, birth: pl.Expr) -> dict[str, pl.Expr]:
    """``death_before_birth`` and ``age_over_max`` for a death date and a birth date
    (``True``: the death breaks the rule; never null). Used by :func:`validate` and by the
    decedent cohort (:func:`paleval.cohort.decedent_cohort`).

    Examples
    --------
    >>> d = dt.date
    >>> df = pl.DataFrame({"dod": [d(2015, 1, 1), d(2015, 1, 1), d(2015, 1, 1)],
    ...     "born": [d(2016, 1, 1), d(1899, 1, 1), d(1899, 1, 2)]})
    >>> df.select(**death_rules(pl.col("dod"), pl.col("born"))).rows()
    [(True, False), (False, True), (False, False)]
    """
    over = birth.dt.offset_by(f"{MAX_AGE_AT_DEATH + 1}y") <= death
    return {
        "death_before_birth": (death < birth).fill_null(False),
        "age_over_max": over.fill_null(False),
    }


_FINDING_SCHEMA = {
    "rule": pl.String,
    "severity": pl.String,
    "register": pl.String,
    "file": pl.String,
    "column": pl.String,
    "n": pl.Int64,
    "examples": pl.List(pl.String),
}
_N_EXAMPLES = 5
_FILE_SCHEMA = {
    "register": pl.String,
    "file": pl.String,
    "rows": pl.Int64,
    "excluded": pl.Int64,
    "kept": pl.Int64,
}


def rules_table() -> pl.DataFrame:
    """The rules as a DataFrame (``id, severity, registers, description``).

    Examples
    --------
    >>> t = rules_table()
    >>> t.columns, t.height == len(RULES)
    (['id', 'severity', 'registers', 'description'], True)
    """
    return pl.DataFrame(
        [r.__dict__ for r in RULES],
        schema={
            "id": pl.String,
            "severity": pl.String,
            "registers": pl.String,
            "description": pl.String,
        },
    )


def rules_markdown() -> str:
    """The rules as a Markdown table, for the documentation.

    Examples
    --------
    >>> print(rules_markdown().splitlines()[0])
    | rule | action | registers | description |
    """
    lines = ["| rule | action | registers | description |", "|---|---|---|---|"]
    lines += [f"| `{r.id}` | {r.severity} | {r.registers} | {r.description} |" for r in RULES]
    return "\n".join(lines)


class RegisterValidationError(Exception):
    """Raised by :meth:`ValidationReport.raise_if_errors`; ``.report`` holds the report.

    Examples
    --------
    >>> rep = ValidationReport(pl.DataFrame([{"rule": "column_missing", "severity": "error",
    ...     "register": "dod", "file": "dod.csv", "column": "PNR", "n": 1, "examples": []}],
    ...     schema=_FINDING_SCHEMA), Path("data"), ("dod",))
    >>> print(RegisterValidationError(rep))
    1 validation error(s) in data:
      [error] column_missing: dod/dod.csv column PNR: n=1
    """

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        errs = report.errors
        lines = [f"{errs.height} validation error(s) in {report.data_dir}:"]
        lines += [_line(r) for r in errs.iter_rows(named=True)]
        super().__init__("\n".join(lines))


def _line(r: dict) -> str:
    f = r["file"]
    # a refused file's path is already relative to the data folder (``dpd/old/``)
    where = (
        f
        if f and f.startswith(f"{r['register']}/")
        else "/".join(x for x in (r["register"], f) if x)
    )
    col = f" column {r['column']}" if r["column"] else ""
    ex = f": e.g. {'; '.join(r['examples'])}" if r["examples"] else ""
    return f"  [{r['severity']}] {r['rule']}: {where}{col}: n={r['n']:,}{ex}"


@dataclass
class ValidationReport:
    """The findings of :func:`validate`.

    Attributes
    ----------
    findings
        One row per finding: ``rule, severity, register, file, column, n, examples``.
    data_dir
        The validated directory.
    registers
        The registers checked.
    files
        One row per file whose values were counted: ``register, file, rows, excluded, kept``.
        ``excluded`` counts the rows that the per-row exclude rules of the file
        (``null_required``, the date rules, ``end_before_start``, ``honuge_invalid``, ...: the
        rows :func:`exclusion_filter` drops) hold for, each row once however many it breaks,
        so ``rows = excluded + kept`` while the rules' own counts may add up to more.

    Examples
    --------
    >>> rep = ValidationReport(pl.DataFrame(schema=_FINDING_SCHEMA), Path("x"), ("dod",))
    >>> rep.ok, rep.n("event_after_death")
    (True, 0)
    >>> rep
    ValidationReport(x; registers: dod): OK, no findings
    """

    findings: pl.DataFrame
    data_dir: Path
    registers: tuple[str, ...] = field(default=())
    files: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_FILE_SCHEMA))

    @property
    def ok(self) -> bool:
        """Whether there is no ``error`` finding."""
        return self.errors.height == 0

    @property
    def errors(self) -> pl.DataFrame:
        """The ``error`` findings."""
        return self.findings.filter(pl.col("severity") == "error")

    def n(self, rule: str, register: str | None = None, column: str | None = None) -> int:
        """Total count of a rule's findings (optionally for one register / column).

        Examples
        --------
        >>> rep = ValidationReport(pl.DataFrame([{"rule": "no_rows", "severity": "warn",
        ...     "register": "dod", "file": "dod.csv", "column": None, "n": 1, "examples": []}],
        ...     schema=_FINDING_SCHEMA), Path("data"), ("dod",))
        >>> rep.n("no_rows"), rep.n("no_rows", "bef"), rep.ok
        (1, 0, True)
        """
        f = self.findings.filter(pl.col("rule") == rule)
        if register is not None:
            f = f.filter(pl.col("register") == register)
        if column is not None:
            f = f.filter(pl.col("column") == column)
        return int(f["n"].sum())

    def raise_if_errors(self) -> None:
        """Raise :class:`RegisterValidationError` listing every error finding.

        Examples
        --------
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> validate(d, ["dod"]).raise_if_errors()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        paleval.registers.validation.RegisterValidationError: 1 validation error(s) in ...
          [error] register_missing: dod: n=1: e.g. no file named like dod.parquet ...
        """
        if not self.ok:
            raise RegisterValidationError(self)

    def _summary(self) -> str:
        counts = {
            s: int((self.findings["severity"] == s).sum())
            for s in ("error", "exclude", "null", "warn")
        }
        regs = ", ".join(self.registers)
        head = f"ValidationReport({self.data_dir}; registers: {regs})"
        if self.findings.height == 0:
            return f"{head}: OK, no findings"
        status = "OK" if self.ok else "NOT OK"
        return (
            f"{head}: {status}: {counts['error']} error, {counts['exclude']} exclude, "
            f"{counts['null']} null, {counts['warn']} warn finding(s)"
        )

    def __repr__(self) -> str:
        lines = [self._summary()]
        lines += [_line(r) for r in self.findings.iter_rows(named=True)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {"error": "#f8d7da", "exclude": "#fff3cd", "null": "#fde9d9", "warn": "#e2e3e5"}
        head = "".join(f"<th>{c}</th>" for c in self.findings.columns)
        rows = []
        for r in self.findings.iter_rows(named=True):
            cells = []
            for c in self.findings.columns:
                v = r[c]
                if isinstance(v, list):
                    v = "; ".join(v)
                cells.append(f"<td>{escape('' if v is None else str(v))}</td>")
            rows.append(f'<tr style="background:{colours[r["severity"]]}">{"".join(cells)}</tr>')
        return (
            f"<p><b>{escape(self._summary())}</b></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


class _Collector:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.files: list[dict] = []

    def file_rows(self, register: str, file: str, rows: int, excluded: int) -> None:
        """Rows read and rows excluded (each once) of one file."""
        self.files.append(
            {
                "register": register,
                "file": file,
                "rows": rows,
                "excluded": excluded,
                "kept": rows - excluded,
            }
        )

    def files_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.files, schema=_FILE_SCHEMA, orient="row")

    def add(
        self,
        rule: str,
        register: str,
        file: str | None,
        column: str | None,
        n: int,
        examples: Iterable[str] = (),
        severity: Severity | None = None,
    ) -> None:
        if n <= 0:
            return
        self.rows.append(
            {
                "rule": rule,
                "severity": severity or RULE_BY_ID[rule].severity,
                "register": register,
                "file": file,
                "column": column,
                "n": int(n),
                "examples": [str(e) for e in examples][:_N_EXAMPLES],
            }
        )

    def frame(self) -> pl.DataFrame:
        order = {r.id: i for i, r in enumerate(RULES)}
        df = pl.DataFrame(self.rows, schema=_FINDING_SCHEMA)
        sev = {"error": 0, "exclude": 1, "null": 2, "warn": 3}
        return (
            df.with_columns(
                _s=pl.col("severity").replace_strict(sev, return_dtype=pl.Int32),
                _r=pl.col("rule").replace_strict(order, return_dtype=pl.Int32),
            )
            .sort("_s", "_r", "register", "file", "column", maintain_order=True, nulls_last=True)
            .drop("_s", "_r")
        )


def _examples(
    lf: pl.LazyFrame, cond: pl.Expr, value: str | None, debug: bool, row: str = "__row"
) -> list[str]:
    """Up to five ``row N: 'value'`` strings; values of PNR hidden unless ``debug``."""
    show = value is not None and (debug or value != "PNR")
    if not show:
        ex = lf.filter(cond).select(row).head(_N_EXAMPLES).collect()
        return [f"row {r}" for (r,) in ex.iter_rows()]
    v = pl.col(value)
    temporal = lf.collect_schema()[value].is_temporal()
    # a damaged date can lie outside what a text cast handles (polars panics): show dates
    # from their day/microsecond number, in Python, for the few example rows only
    ex = (
        lf.filter(cond)
        .select(row, (v.to_physical() if temporal else v.cast(pl.String)).alias("__v"))
        .head(_N_EXAMPLES)
        .collect()
    )
    dtype = lf.collect_schema()[value]
    return [f"row {r}: {_shown(x, dtype) if temporal else x!r}" for r, x in ex.iter_rows()]


def _shown(physical: int | None, dtype: pl.DataType) -> str:
    """A date or datetime from its physical number, also when it is out of range."""
    if physical is None:
        return "None"
    try:
        return repr(pl.Series([physical]).cast(dtype).cast(pl.String).item())
    except BaseException as exc:  # polars panics with a PanicException (a BaseException)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        unit = "day" if dtype == pl.Date else "time unit"
        return f"{unit} number {physical} (out of range)"


def _code_checks(
    key: str, v: Variable, p: pl.Expr, rawname: str
) -> dict[tuple[str, str], tuple[pl.Expr, str | None]]:
    """``code_not_in_list``, ``code_shape`` and ``code_normalised`` of one coded column."""
    checks: dict[tuple[str, str], tuple[pl.Expr, str | None]] = {}
    link = CODE_LISTS.get((key, v.name))
    if link is not None:
        known = code_values(*link)
        checks[("code_not_in_list", v.name)] = (p.is_not_null() & ~p.is_in(known), rawname)
    cls = v.classification or ""
    if "ICD" in cls or "SKS" in cls:
        checks[("code_shape", v.name)] = (p.is_not_null() & ~p.str.contains(ICD10_SHAPE), rawname)
        if "SKS" not in cls:  # plain ICD-10 registers: an SKS 'D' prefix is stripped
            checks[("code_normalised", v.name)] = (p.str.contains(r"^\s*[Dd][A-Za-z]"), rawname)
    if "ATC" in cls:
        atc = p.str.to_uppercase().str.replace_all(r"\s", "")
        checks[("code_shape", v.name)] = (p.is_not_null() & ~atc.str.contains(ATC_SHAPE), rawname)
        checks[("code_normalised", v.name)] = (p.str.contains(r"[a-z\s]"), rawname)
    return checks


def _column_checks(f: RegisterFile, schema: pl.Schema, m: ColumnMatch, out: _Collector) -> bool:
    """Missing, ambiguous and extra columns of one file; whether the file can be loaded."""
    reg = REGISTERS[f.register]
    loadable = True
    for name in m.missing:
        var = reg.variable(name)
        near = difflib.get_close_matches(name.lower(), [c.lower() for c in m.extra], n=1)
        hint = [f"did you mean {near[0]!r}?"] if near else []
        rule = "column_missing_optional" if var.nullable else "column_missing"
        loadable &= var.nullable
        out.add(rule, f.register, f.name, name, 1, [*hint, f"file has {schema.names()}"])
    for name, hits in m.ambiguous.items():
        loadable = False  # even when one is spelled exactly: which one holds the values?
        out.add("column_ambiguous", f.register, f.name, name, len(hits), hits)
    for name in m.extra:
        near = difflib.get_close_matches(name.lower(), [c.lower() for c in reg.columns], n=1)
        out.add(
            "column_extra",
            f.register,
            f.name,
            name,
            1,
            [f"did you mean {near[0]!r}?"] if near else [],
        )
    return loadable


_Checks = dict[tuple[str, str], tuple[pl.Expr, str | None]]


def _value_checks(
    key: str, schema: pl.Schema, m: ColumnMatch, materialise: bool = False
) -> tuple[_Checks, dict[str, pl.Expr], dict[str, pl.Expr]]:
    """The per-column value checks of one file (rule, column) -> (condition, raw column to
    show), the parsed value of each declared column present, and the columns to add to the
    raw frame first (``materialise``: the parsed values, see :func:`_check_file`)."""
    reg = REGISTERS[key]
    checks: _Checks = {}
    parsed: dict[str, pl.Expr] = {}
    added: dict[str, pl.Expr] = {}
    for v in reg.variables:
        rawname = m.mapping.get(v.name)
        if rawname is None:
            continue
        src = schema[rawname]
        p = parse_expr(rawname, src, v)
        if materialise:
            added[f"__p|{v.name}"] = p
            p = pl.col(f"__p|{v.name}")
        parsed[v.name] = p
        present = present_expr(rawname, src)
        if not (v.dtype == pl.String and src == pl.String):
            rule = "unparseable_date" if v.dtype == pl.Date else "unparseable_value"
            checks[(rule, v.name)] = (present & p.is_null(), rawname)
        if v.dtype == pl.Float64 and src == pl.String:
            t = pl.col(rawname).str.strip_chars()
            comma, point = t.str.contains(r"^-?\d+,\d+$"), t.str.contains(r"^-?\d+\.\d+$")
            both = comma.fill_null(False).any() & point.fill_null(False).any()
            checks[("decimal_mark_mixed", v.name)] = ((comma | point) & both, rawname)
        if v.dtype == pl.String and src.is_numeric():
            checks[("code_as_number", v.name)] = (pl.col(rawname).is_not_null(), rawname)
        if v.dtype == pl.Int64 and src.is_float() and v.nullable:
            # NaN in a whole-number column stored as floats (pandas' missing integer) is read
            # as missing: counted, as NaN in a decimal column is (a required column's NaN is
            # null_required already)
            checks[("number_not_finite", v.name)] = (pl.col(rawname).is_nan(), rawname)
        if not v.nullable:
            checks[("null_required", v.name)] = (~present, None)
        if v.codes is not None:
            as_text = p.cast(pl.String)
            rule = "code_outside_list" if v.nullable else "code_outside_list_required"
            checks[(rule, v.name)] = (p.is_not_null() & ~as_text.is_in(list(v.codes)), rawname)
        if v.name == "PNR" and src == pl.String:
            t = pl.col(rawname).str.strip_chars()
            checks[("code_normalised", v.name)] = (p.is_not_null() & (t != p), rawname)
        if v.name in FIXED_WIDTH and v.name != "HONUGE" and v.dtype == pl.String:
            bad = p.is_not_null() & (p.str.len_chars() != FIXED_WIDTH[v.name])
            checks[("code_width", v.name)] = (bad, rawname)
        if v.classification and ("ICD" in v.classification or "SKS" in v.classification):
            checks[("diagnosis_not_normalised", v.name)] = (
                p.is_not_null() & p.str.contains(r"[a-z\s.]"),
                rawname,
            )
        checks |= _code_checks(key, v, p, rawname)
    return checks, parsed, added


def _check_file(
    raw: pl.LazyFrame,
    f: RegisterFile,
    out: _Collector,
    debug: bool,
    extract_end: dt.date | None = None,
    cache_dir: str | Path | None = None,
) -> bool:
    """Column and value checks of one file; returns whether the file can be loaded."""
    extract_end = extract_end or dt.date.today()
    reg = REGISTERS[f.register]
    schema = raw.collect_schema()
    m = match_columns(schema.names(), reg)
    loadable = _column_checks(f, schema, m, out)

    # CSV and SAS: every value is parsed once, into a column the checks read (a text date's
    # parsing is a long expression: repeated in each date rule, and in both dates of a date
    # pair, it made the one pass over a CSV file 20 times slower). Parquet: the checks keep
    # their own expressions, so that each filter query reads only its own column.
    materialise = f.format != "parquet"
    checks, parsed, added = _value_checks(f.register, schema, m, materialise)
    raw = raw.with_columns(**added) if added else raw
    guards = _guards(f, schema, m)
    lf = raw.with_row_index("__row", offset=1)
    # Parquet with a text PNR: counted first as if every PNR were ten digits (then the PNR
    # repair is the identity, the key checks read the raw column, exact and 2-3x cheaper on a
    # national BEF file, and the PNR rules hold nowhere). The guard's own query, among the
    # file's other queries, tells whether that holds; only when it does not is the file
    # counted again with the repaired PNR (session 12: the guard ran on its own before, one
    # core's worth of 20 s of a national validation).
    values = dict(parsed)
    if guards:
        values["PNR"] = pl.col(m.mapping["PNR"]).alias("PNR")
    try:
        plan = _plan(f.register, checks, values, extract_end, m)
        counts = _count(raw, f, plan.conds, plan.distinct, plan.groups(guards), guards)
        if guards and counts["g|PNR"]:
            plan = _plan(f.register, checks, parsed, extract_end, m)
            counts = _count(raw, f, plan.conds, plan.distinct, plan.groups(guards), guards)
        elif guards:  # cleaning leaves the column as it is: the loaders need not check it
            remember_clean(f, m.mapping["PNR"], "PNR", cache_dir)
        if plan.key_struct is not None and plan.complete is not None:
            counts["__nk"] = _complete_keys(raw, counts, plan.keys, plan.complete, f, schema, m)
            if counts["__nu"] < counts["__nk"]:
                exact = raw.select(plan.key_struct.filter(plan.complete).n_unique())
                counts["__nu"] = int(exact.collect(engine="streaming").item())
    except Exception as exc:  # a corrupt file that only fails when read
        out.add("file_unreadable", f.register, f.name, None, 1, [first_line(exc)])
        return False
    keys, checks, nulled, parsed = plan.keys, plan.checks, plan.nulled, plan.values
    try:
        excluded = _excluded_rows(raw, plan, counts)
    except Exception as exc:  # a corrupt file that only fails when read
        out.add("file_unreadable", f.register, f.name, None, 1, [first_line(exc)])
        return False
    out.file_rows(f.register, f.name, counts["__n"], excluded)
    pk = list(reg.primary_key)
    has_pk = plan.key_struct is not None
    complete = plan.complete
    if counts["__n"] == 0:
        out.add("no_rows", f.register, f.name, None, 1, ["header only"])
        return loadable
    for i, (rule, col) in enumerate(keys):
        n = counts[f"c{i}"]
        if n:
            cond, value = checks[(rule, col)]
            ex = _examples(lf, cond.fill_null(False), value, debug)
            sev: Severity | None = "null" if (rule, col) in nulled else None
            out.add(rule, f.register, f.name, col, n, ex, severity=sev)
    if has_pk:
        n_dup = counts["__nk"] - counts["__nu"]
        if n_dup:
            key = pl.struct([parsed[k] for k in pk])
            shown = [parsed[k].cast(pl.String) for k in pk if debug or k != "PNR"]
            if shown:
                dup_lf = lf.with_columns(
                    pl.concat_str(shown, separator="|", ignore_nulls=True).alias("__key")
                )
                ex = _examples(dup_lf, complete & ~key.is_first_distinct(), "__key", True)
            else:
                ex = _examples(lf, complete & ~key.is_first_distinct(), None, debug)
            out.add("duplicate_key", f.register, f.name, ",".join(pk), n_dup, ex)
    return loadable


@dataclass
class _Plan:
    """What :func:`_check_file` counts in one file, from the values of its columns."""

    checks: _Checks
    values: dict[str, pl.Expr]
    keys: list[tuple[str, str]]
    conds: list[pl.Expr]
    nulled: set[tuple[str, str]]
    key_struct: pl.Expr | None
    complete: pl.Expr | None
    distinct: pl.Expr | None

    def groups(self, guards: dict[str, pl.Expr]) -> list[str | None]:
        return [_group(rule, col, guards) for rule, col in self.keys]


def _excluded_rows(raw: pl.LazyFrame, plan: _Plan, counts: dict[str, int]) -> int:
    """Rows of the file that at least one per-row exclude rule holds for (each row once):
    none or one rule's count when at most one such rule holds anywhere in the file (no pass),
    else one pass counting the rows any of them holds for."""
    held = [
        i
        for i, (rule, col) in enumerate(plan.keys)
        if RULE_BY_ID[rule].severity == "exclude"
        and (rule, col) not in plan.nulled
        and counts[f"c{i}"]
    ]
    if len(held) <= 1:
        return sum(counts[f"c{i}"] for i in held)
    union = pl.any_horizontal([plan.conds[i] for i in held])
    return int(raw.filter(union).select(pl.len()).collect(engine="streaming").item())


def _plan(
    key: str, base: _Checks, values: dict[str, pl.Expr], extract_end: dt.date, m: ColumnMatch
) -> _Plan:
    """The checks of one file (``base``, the per-column checks, with the row and value rules
    of ``values``: each declared column's value), their conditions, and the primary key's
    struct, completeness and distinct count.

    Distinct keys are counted on a 64-bit hash of the key first: a hash has no more distinct
    values than the keys, so "as many hashes as rows" proves the key unique (the usual case)
    at a fraction of the cost of a distinct count of string structs; only when the hashes
    show repeats are the keys themselves counted (exact, whatever the collisions). A key of
    one column is hashed as it is (half the cost of hashing a struct of one field: 1.0 ->
    0.5 s of CPU on a national BEF file, session 12). A row with a missing key part is
    ``null_required`` (excluded), never a duplicate: the keys compared are the complete ones
    (blank lines and rows of empty fields share no key)."""
    checks = dict(base)
    for rule, col, cond in row_rules(key, values, extract_end):
        shown = None if rule == "lpr3_refuted_diagnosis" else m.mapping[col]
        checks[(rule, col)] = (cond, shown)
    nulled = set()
    for rule, col, cond in value_rules(key, values, extract_end):
        checks[(rule, col)] = (cond, m.mapping[col])
        nulled.add((rule, col))
    pk = list(REGISTERS[key].primary_key)
    key_struct = complete = distinct = None
    if pk and all(k in values for k in pk):
        key_struct = pl.struct([values[k] for k in pk])
        complete = pl.all_horizontal([values[k].is_not_null() for k in pk])
        one = values[pk[0]].drop_nulls() if len(pk) == 1 else key_struct.filter(complete)
        distinct = one.hash(seed=0).n_unique()
    return _Plan(
        checks,
        values,
        list(checks),
        [cond.fill_null(False) for cond, _ in checks.values()],
        nulled,
        key_struct,
        complete,
        distinct,
    )


_GROUPED = frozenset(
    {
        "date_sentinel",
        "date_before_range",
        "date_after_extract_end",
        "code_shape",
        "code_normalised",
    }
)
"""Rules whose per-column conditions a parquet file counts together first (see _count)."""

_PNR_RULES = frozenset({"code_width", "code_normalised", "null_required"})
_PNR_CLEAN = r"^\d{10}$"


def _complete_keys(
    raw: pl.LazyFrame,
    counts: dict[str, int],
    keys: list[tuple[str, str]],
    complete: pl.Expr,
    f: RegisterFile,
    schema: pl.Schema,
    m: ColumnMatch,
) -> int:
    """Rows whose primary key has no missing part. A parsed key part is missing exactly where
    its raw value is (rule ``null_required``) or cannot be parsed (``unparseable_*``; a text
    column declared as text without a code list always parses): when the file's counts of
    those rules are 0 for every part, every row is complete, and the count needs no pass of
    its own (0.3-0.4 s of CPU on each national BEF, IND, UDDA, FAIK or LPR file)."""
    index = {rk: i for i, rk in enumerate(keys)}
    reg = REGISTERS[f.register]
    for part in reg.primary_key:
        var = reg.variable(part)
        missing = index.get(("null_required", part))
        bad = index.get(("unparseable_date", part), index.get(("unparseable_value", part)))
        always_parses = (
            var.dtype == pl.String and schema[m.mapping[part]] == pl.String and var.codes is None
        )
        if missing is None or counts[f"c{missing}"]:
            break
        if (bad is None and not always_parses) or (bad is not None and counts[f"c{bad}"]):
            break
    else:
        return counts["__n"]
    return int(raw.filter(complete).select(pl.len()).collect(engine="streaming").item())


def _guards(f: RegisterFile, schema: pl.Schema, m: ColumnMatch) -> dict[str, pl.Expr]:
    """Cheap conditions on the raw column that every row breaking one of a group's rules
    meets (see _count). A text PNR of exactly ten digits is already normalised and ten wide,
    so ``code_width`` and ``code_normalised`` of PNR can only hold where the raw PNR is not
    ten digits: one regular expression on the raw value, instead of the PNR repair expression
    (two regular expressions, a strip and a zero-fill) on every row, twice (session 11: one
    national SSSY file of 37.8 million rows, 7.6 -> 1.7 s of CPU for the whole file)."""
    raw = m.mapping.get("PNR")
    if f.format != "parquet" or raw is None or schema[raw] != pl.String:
        return {}
    # a missing PNR (null, blank or ".": null_required) is not ten digits either, so one query
    # of the guard also answers null_required (session 12)
    return {"g|PNR": ~pl.col(raw).str.contains(_PNR_CLEAN).fill_null(False)}


def _group(rule: str, col: str, guards: dict[str, pl.Expr]) -> str | None:
    """The group a (rule, column) condition is counted in first (see _count), or None."""
    if col == "PNR" and rule in _PNR_RULES and "g|PNR" in guards:
        return "g|PNR"
    return f"g|{col}" if rule in _GROUPED else None


def _count(
    raw: pl.LazyFrame,
    f: RegisterFile,
    conds: list[pl.Expr],
    distinct: pl.Expr | None,
    groups: list[str | None] | None = None,
    guards: dict[str, pl.Expr] | None = None,
) -> dict[str, int]:
    """``__n`` (rows), ``c0, c1, ...`` (rows where each condition holds) and ``__nu`` (the
    ``distinct`` count, when given) of one file.

    CSV and SAS: one streaming pass, which also reads every column (so ragged CSV lines are
    met). Parquet: one filter-and-count query per condition, which the parquet reader answers
    mostly from the column dictionaries: several times faster on a national extract than one
    pass computing every check on every row. Conditions that share a group (``groups``: the
    date rules of one column, the code rules of one column) are first counted as one query
    (any of them), and one by one only when that count is not zero: a clean column costs one
    query, not three. A group with a ``guards`` expression (implied by each of its conditions,
    and cheaper) is counted by the guard first instead.
    """
    aggs = {"__n": pl.len()} | {f"c{i}": c.sum() for i, c in enumerate(conds)}
    if distinct is not None:
        aggs["__nu"] = distinct
    if f.format != "parquet":
        touch = pl.sum_horizontal(pl.all().is_null()).sum().alias("__touch")
        row = raw.select(touch, **aggs).collect(engine="streaming").row(0, named=True)
        return {k: int(row[k]) for k in aggs}
    groups = groups or [None] * len(conds)
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g if g is not None else f"c{i}", []).append(i)
    queries = {k: raw.select(a) for k, a in aggs.items() if not k.startswith("c")}
    guards = guards or {}
    for g in guards:  # a guard's count is returned even when no condition is in its group
        members.setdefault(g, [])
    # The key's columns (PNR, a record number) have too many values for the dictionary pages
    # to answer a filter: each query on them decodes the whole column. Conditions on those
    # columns alone are summed in the query that counts the distinct keys, which decodes them
    # once (session 12: one decode fewer per key column and file).
    key_cols = set(distinct.meta.root_names()) if distinct is not None else set()
    shared: dict[str, pl.Expr] = {}
    for g, idx in members.items():
        cond = guards[g] if g in guards else pl.any_horizontal([conds[i] for i in idx])
        if key_cols and set(cond.meta.root_names()) <= key_cols:
            shared[g] = cond.sum()
        else:
            queries[g] = raw.filter(cond).select(pl.len())
    if shared:
        queries["__nu"] = raw.select(aggs["__nu"].alias("__nu"), **shared)
    frames = pl.collect_all(list(queries.values()), engine="streaming")
    found: dict[str, int] = {}
    for k, df in zip(queries, frames, strict=True):
        if df.width == 1:
            found[k] = int(df.item())
        else:  # the distinct keys' query with the shared sums, one column each
            found |= {c: int(df[c].item()) for c in df.columns}
    out = {k: v for k, v in found.items() if k in aggs or k in guards}
    detail: dict[str, pl.LazyFrame] = {}
    for g, idx in members.items():
        if len(idx) == 1 and g not in guards:
            out[f"c{idx[0]}"] = found[g]
            continue
        for i in idx:
            out[f"c{i}"] = 0
            if found[g]:
                detail[f"c{i}"] = raw.filter(conds[i]).select(pl.len())
    if detail:
        frames = pl.collect_all(list(detail.values()), engine="streaming")
        out |= {k: int(df.item()) for k, df in zip(detail, frames, strict=True)}
    return out


def _person_dates(
    key: str,
    col: str,
    loadable: dict[str, list[RegisterFile]],
    data_dir: Path,
    cache_dir: str | Path | None,
    extract_end: dt.date,
    only: tuple[pl.DataFrame | None, dt.date | None] | None = None,
) -> pl.DataFrame | None:
    """PNR -> earliest plausible ``col`` from register ``key`` (a date the loaders keep), or
    None when it cannot be loaded.

    A register that was validated uses its loadable files; one outside ``keys`` is checked
    quietly first (its findings are not reported).

    ``only = (persons, after)``: just the PNRs of the frame ``persons`` (None: none) and those
    with some date after ``after`` (None: none), each with its earliest date over all its rows
    (exact). The birth dates the cross-register checks need are those of the dead and of the
    persons born after the earliest event: a national BEF's 83 million rows grouped by person
    held 2.9 GiB (session 12), the restricted set a fraction."""
    files = loadable.get(key)
    if files is None:
        try:
            found = find_register_files(data_dir, key)
            files = [
                f
                for f in found
                if _check_file(
                    scan_raw(f, cache_dir), f, _Collector(), False, extract_end, cache_dir
                )
            ]
        except RegisterLoadError:
            return None
    if not files:
        return None
    try:
        frames = [
            conform(scan_raw(f, cache_dir), f, "declared", cache_dir).select("PNR", col)
            for f in files
        ]
        rows = (
            pl.concat(frames)
            .filter(pl.col("PNR").is_not_null() & pl.col(col).is_not_null())
            .filter(valid_date(key, col, pl.col(col), extract_end))
        )
        if only is not None:
            persons, after = only
            wanted = [] if persons is None else [persons.select("PNR")]
            if after is not None:
                later = rows.filter(pl.col(col) > after).select("PNR").unique()
                wanted.append(later.collect(engine="streaming"))
            if not wanted:
                return pl.DataFrame(schema={"PNR": pl.String, col: pl.Date})
            pnrs = pl.concat(wanted).unique()
            rows = rows.join(pnrs.lazy(), on="PNR", how="semi")
        return rows.group_by("PNR").agg(pl.col(col).min()).collect(engine="streaming")
    except (RegisterLoadError, pl.exceptions.PolarsError):
        return None


def _death_checks(
    loadable: dict[str, list[RegisterFile]],
    births: pl.DataFrame | None,
    out: _Collector,
    debug: bool,
    cache_dir: str | Path | None,
    extract_end: dt.date,
) -> None:
    """``death_before_birth`` and ``age_over_max`` of the plausible death dates, per DOD file
    (one small pass over DOD joined to the earliest plausible birth date per person)."""
    if "dod" not in loadable:
        return
    if births is None:
        out.add("cross_check_skipped", "dod", None, "DODDATO", 1, ["bef not loadable"])
        return
    rules = death_rules(pl.col("DODDATO"), pl.col("FOED_DAG"))
    for f in loadable["dod"]:
        j = (
            _dated_rows(f, "DODDATO", cache_dir, extract_end)
            .with_row_index("__row", offset=1)
            .join(births.lazy(), on="PNR", how="inner", maintain_order="left")
        )
        counts = j.select(**{r: c.sum() for r, c in rules.items()}).collect().row(0, named=True)
        for rule, cond in rules.items():
            if counts[rule]:
                ex = _examples(j, cond, "PNR", debug)
                out.add(rule, "dod", f.name, "DODDATO", counts[rule], ex)


def _stay_checks(
    files: list[RegisterFile],
    deaths: pl.DataFrame | None,
    out: _Collector,
    debug: bool,
    cache_dir: str | Path | None,
    extract_end: dt.date,
) -> None:
    """``stay_overlap`` and ``stay_after_death`` of the nursing-home stays the loaders keep
    (:func:`exclusion_filter`), per file, with the file's row numbers as examples."""
    start, stop = pl.col("TILFLYT_DATO"), pl.col("FRAFLYT_DATO")
    parts = []
    for i, f in enumerate(files):
        lf = conform(scan_raw(f, cache_dir), f, "declared", cache_dir)
        keep = exclusion_filter("plh", lf.collect_schema().names(), extract_end=extract_end)
        lf = lf.with_row_index("__row", offset=1).with_columns(__file=pl.lit(i, pl.Int32))
        parts.append(lf.filter(keep) if keep is not None else lf)
    try:
        stays = (
            pl.concat(parts)
            .select("__file", "__row", "PNR", "TILFLYT_DATO", "FRAFLYT_DATO")
            .sort("PNR", "TILFLYT_DATO", "__file", "__row")
            .collect(engine="streaming")
        )
    except (RegisterLoadError, pl.exceptions.PolarsError) as exc:
        msg = f"nursing-home stays not checked: {first_line(exc)}"
        out.add("cross_check_skipped", "plh", None, "TILFLYT_DATO", 1, [msg])
        return
    open_end = stop.fill_null(dt.date.max)
    earlier_end = open_end.cum_max().shift(1).over("PNR")
    flags = {"stay_overlap": ("TILFLYT_DATO", (start < earlier_end).fill_null(False))}
    if deaths is not None:
        stays = stays.join(deaths, on="PNR", how="left", maintain_order="left")
        died = pl.col("DODDATO")
        flags["stay_after_death"] = ("TILFLYT_DATO", (start > died).fill_null(False))
        closed = stop < pl.lit(dt.date(SENTINEL_FROM_YEAR, 1, 1))  # 9999-12-31: still there
        flags["stay_after_death|out"] = ("FRAFLYT_DATO", (closed & (stop > died)).fill_null(False))
    found = stays.with_columns(**{k: c for k, (_, c) in flags.items()})
    for i, f in enumerate(files):
        mine = found.filter(pl.col("__file") == i)
        for flag, (col, _) in flags.items():
            hits = mine.filter(pl.col(flag)).sort("__row")
            if hits.height:
                shown = [
                    f"row {r}" + (f": {p}" if debug else "")
                    for r, p in hits.select("__row", "PNR").head(_N_EXAMPLES).iter_rows()
                ]
                out.add(flag.split("|")[0], "plh", f.name, col, hits.height, shown)


def _cross_checks(
    data_dir: Path,
    loadable: dict[str, list[RegisterFile]],
    out: _Collector,
    debug: bool,
    cache_dir: str | Path | None,
    extract_end: dt.date,
) -> None:
    dated = [k for k in EVENT_DATES if k in loadable]
    if not dated and "dod" not in loadable and "plh" not in loadable:
        return
    deaths = _person_dates("dod", "DODDATO", loadable, data_dir, cache_dir, extract_end)
    if "plh" in loadable:
        _stay_checks(loadable["plh"], deaths, out, debug, cache_dir, extract_end)
    if not dated and "dod" not in loadable:
        return
    # the events' files, and the span of dates each covers (needed first: they bound the
    # persons whose birth dates are needed)
    events = []
    for k in dated:
        col = EVENT_DATES[k]
        if k == "sssy":  # a payment week: the event fell somewhere in that week
            late, early = honuge_to_week_start(col), honuge_to_week_end(col)
        else:
            late = early = pl.col(col)
        parts = [_dated_rows(f, col, cache_dir, extract_end) for f in loadable[k]]
        events.append((k, col, late, early, parts, _spans(parts, col, early, late)))
    firsts = [span[0] for *_, spans in events for span in spans if span is not None]
    born_after = min(firsts) if firsts else None
    births = _person_dates(
        "bef", "FOED_DAG", loadable, data_dir, cache_dir, extract_end, (deaths, born_after)
    )
    _death_checks(loadable, births, out, debug, cache_dir, extract_end)
    for ref, what in ((deaths, "dod"), (births, "bef")):
        if ref is None:
            for k in dated:
                out.add("cross_check_skipped", k, None, EVENT_DATES[k], 1, [f"{what} not loadable"])
    persons = _join_persons(deaths, births)
    if persons is None:
        return
    # an excluded death (before birth, over the maximum age) is no reference for other events
    implausible = pl.any_horizontal(
        list(death_rules(pl.col("DODDATO"), pl.col("FOED_DAG")).values())
    )
    persons = persons.with_columns(DODDATO=pl.when(~implausible).then(pl.col("DODDATO")))
    for k, col, late, early, parts, spans in events:
        paid_late = pl.lit(False)
        if k == "sssy":
            # paid after death, within the payment lag: a service given before death
            grace = pl.col("DODDATO") + pl.duration(days=7 * PAYMENT_GRACE_WEEKS)
            paid_late = ((late > pl.col("DODDATO")) & (late <= grace)).fill_null(False)
            after = (late > grace).fill_null(False)
        else:
            after = (late > pl.col("DODDATO")).fill_null(False)
        before = (early < pl.col("FOED_DAG")).fill_null(False)
        rules = {
            "event_after_death": (after, deaths is not None),
            "event_before_birth": (before, births is not None),
            "sssy_paid_after_death": (paid_late, deaths is not None),
        }
        _event_checks(k, col, loadable[k], parts, spans, persons, rules, out, debug)


def _event_checks(
    key: str,
    col: str,
    files: list[RegisterFile],
    parts: list[pl.LazyFrame],
    spans: list[tuple[dt.date, dt.date] | None],
    persons: pl.DataFrame,
    rules: dict[str, tuple[pl.Expr, bool]],
    out: _Collector,
    debug: bool,
) -> None:
    """Counts and examples of the event rules (``rules``: name -> (condition, whether it is
    reported)) of one register's files, each file's rows (``parts``) joined to the persons
    who can break them.

    A file whose events span ``spans[i]`` (the earliest possible date of its earliest event,
    the latest possible date of its latest; None: no dated rows) can hold an event after the
    death only of a person who died before the latest, and before the birth only of one born
    after the earliest: the join's hash table holds those persons (on a yearly national SSSY
    file about a third of the deaths and a year's births, against every death and every
    birth since the register's first event). A filter on those persons' PNRs first (a hash
    set) lets the join see only their rows (session 12: on a national SSSY file 1.7 -> 0.45 s
    of CPU for the two together).

    One streaming pass per file: a single pass over all the files with a file-number column
    held the joined rows in memory (1.9 GiB on 600,000 persons' SSSY, against 0.5 GiB file by
    file, in about the same time). The same pass takes each rule's example rows (the first
    five in file order), so the join runs once per file, not again for the examples."""
    for f, part, span in zip(files, parts, spans, strict=True):
        if span is None:
            continue  # no dated rows
        first, last = span
        who = persons.filter((pl.col("DODDATO") < last) | (pl.col("FOED_DAG") > first))
        suspects = who.lazy()
        j = (
            part.with_row_index("__row", offset=1)
            .filter(pl.col("PNR").is_in(who["PNR"].implode()))
            .join(suspects, on="PNR", how="inner", build_side="force_right")
        )
        aggs = {r: c.sum() for r, (c, _) in rules.items()}
        if not debug:  # with debug the examples show PNRs, taken below
            aggs |= {
                f"{r}|rows": pl.col("__row").filter(c).bottom_k(_N_EXAMPLES).implode()
                for r, (c, _) in rules.items()
            }
        found = j.select(**aggs).collect(engine="streaming").row(0, named=True)
        for rule, (cond, reported) in rules.items():
            n = int(found[rule] or 0)
            if not (n and reported):
                continue
            if debug:
                ordered = part.with_row_index("__row", offset=1).join(
                    suspects, on="PNR", maintain_order="left", build_side="force_right"
                )
                ex = _examples(ordered, cond, "PNR", debug)
            else:
                ex = [f"row {r}" for r in sorted(found[f"{rule}|rows"])]
            out.add(rule, key, f.name, col, n, ex)


COLLAPSE_RATIO = 0.2
"""``rate_collapse``: a region-year rate below this fraction of the other regions' median."""


def ooh_rates(sssy: pl.LazyFrame, bef: pl.LazyFrame) -> pl.DataFrame:
    """Out-of-hours GP services per resident by region and year.

    ``sssy``: ``PNR, HONUGE, YDLTID, YDLANT``; ``bef``: ``PNR, REG, year`` (status on
    31 December of ``year``). A service of ISO year ``Y`` (from ``HONUGE``) is placed in the
    person's region of BEF year ``Y - 1``; residents are BEF's persons that year per region.
    Returns ``year, REG, services, residents, rate``; a year without any BEF status the year
    before, or without any out-of-hours service in any region, is left out.

    Examples
    --------
    >>> sssy = pl.LazyFrame({"PNR": ["a", "a", "b"], "HONUGE": ["1501", "1502", "1501"],
    ...     "YDLTID": ["2", "1", "2"], "YDLANT": [2, 1, 1]})
    >>> bef = pl.LazyFrame({"PNR": ["a", "b", "c"], "REG": ["81", "84", "84"],
    ...     "year": [2014] * 3})
    >>> ooh_rates(sssy, bef).rows()
    [(2015, '81', 2, 1, 2.0), (2015, '84', 1, 2, 0.5)]
    """
    ooh_codes = load_codes("gp_time_codes").filter(pl.col("period") == "out_of_hours")["YDLTID"]
    week = pl.col("HONUGE").cast(pl.String).str.strip_chars()
    services = (
        sssy.filter(pl.col("YDLTID").cast(pl.String).is_in(ooh_codes.implode()))
        .select(
            "PNR",
            _status=2000 + week.str.slice(0, 2).cast(pl.Int32, strict=False) - 1,
            _n=pl.col("YDLANT"),
        )
        .filter(pl.col("_status").is_not_null())
        .group_by("PNR", "_status")
        .agg(pl.col("_n").sum())
    )
    status = bef.select("PNR", _status=pl.col("year").cast(pl.Int32), REG=pl.col("REG"))
    residents = status.group_by("_status", "REG").agg(residents=pl.len())
    # BEF (the big side) streams through a hash table of the persons with services
    placed = (
        status.join(services, on=["PNR", "_status"], how="inner", build_side="force_right")
        .group_by("_status", "REG")
        .agg(services=pl.col("_n").sum())
    )
    return (
        residents.join(placed, on=["_status", "REG"], how="left")
        .select(
            year=pl.col("_status") + 1,
            REG=pl.col("REG").cast(pl.String),
            services=pl.col("services").fill_null(0).cast(pl.Int64),
            residents=pl.col("residents").cast(pl.Int64),
        )
        .filter(pl.col("REG").is_not_null())
        # years outside the SSSY delivery (no service in any region) are not rates
        .filter(pl.col("services").sum().over("year") > 0)
        .with_columns(rate=pl.col("services") / pl.col("residents"))
        .sort("year", "REG")
        .collect(engine="streaming")
    )


def rate_collapses(rates: pl.DataFrame, ratio: float = COLLAPSE_RATIO) -> pl.DataFrame:
    """Region-years whose rate is below ``ratio`` x the median rate of the other regions that
    year, with ``declared`` (a coverage-table row for SSSY out-of-hours covers the region and
    some day of the year) and ``reason``.

    Examples
    --------
    >>> r = pl.DataFrame({"year": [2016] * 3, "REG": ["81", "82", "84"],
    ...     "services": [500, 450, 1], "residents": [1000, 1000, 1000]}).with_columns(
    ...     rate=pl.col("services") / pl.col("residents"))
    >>> rate_collapses(r).select("year", "REG", "declared").rows()
    [(2016, '84', True)]
    """
    others = []
    for (year,), grp in rates.group_by("year", maintain_order=True):
        for reg in grp["REG"].to_list():
            med = grp.filter(pl.col("REG") != reg)["rate"].median()
            others.append((year, reg, med))
    ref = pl.DataFrame(
        others, schema={"year": rates.schema["year"], "REG": pl.String, "others": pl.Float64},
        orient="row",
    )  # fmt: skip
    low = rates.join(ref, on=["year", "REG"]).filter(
        (pl.col("others") > 0) & (pl.col("rate") < ratio * pl.col("others"))
    )
    gaps = coverage_table().filter(
        (pl.col("register") == "sssy") & (pl.col("period") == "out_of_hours")
    )
    declared = low.join(
        gaps.select("REG", "start", "end", "reason"), on="REG", how="left"
    ).with_columns(
        declared=pl.col("start").is_not_null()
        & (pl.col("start").dt.year() <= pl.col("year"))
        & (pl.col("end").is_null() | (pl.col("end").dt.year() >= pl.col("year")))
    )
    return (
        declared.sort("declared", descending=True)
        .unique(["year", "REG"], keep="first", maintain_order=True)
        .with_columns(reason=pl.when(pl.col("declared")).then(pl.col("reason")))
        .select("year", "REG", "services", "residents", "rate", "others", "declared", "reason")
        .sort("REG", "year")
    )


def _combine_rates(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Per-file :func:`ooh_rates` tables as one (a year found in several files adds up)."""
    return (
        pl.concat(parts)
        .group_by("year", "REG")
        .agg(pl.col("services").sum(), pl.col("residents").max())
        .with_columns(rate=pl.col("services") / pl.col("residents"))
        .sort("year", "REG")
    )


def _rate_collapse(
    loadable: dict[str, list[RegisterFile]], out: _Collector, cache_dir: str | Path | None
) -> None:
    """``rate_collapse``: one SSSY file (one ISO year) at a time against the BEF file of the
    year before, so the per-person aggregate held in memory is one year's."""
    if "sssy" not in loadable or "bef" not in loadable:
        return

    def scan(f: RegisterFile, cols: list[str]) -> pl.LazyFrame:
        return conform(scan_raw(f, cache_dir), f, "declared", cache_dir).select(cols)

    def bef_of(files: list[RegisterFile]) -> pl.LazyFrame:
        return pl.concat(
            [scan(f, ["PNR", "REG"]).with_columns(year=pl.lit(f.year, pl.Int32)) for f in files]
        )

    bef_files = [f for f in loadable["bef"] if f.year is not None]
    by_year = {f.year: f for f in bef_files}
    try:
        parts = []
        for f in loadable["sssy"]:
            prev = by_year.get(f.year - 1) if f.year is not None else None
            bef = bef_of([prev] if prev is not None else bef_files)
            parts.append(ooh_rates(scan(f, ["PNR", "HONUGE", "YDLTID", "YDLANT"]), bef))
        found = rate_collapses(_combine_rates(parts))
    except (RegisterLoadError, pl.exceptions.PolarsError, ValueError) as exc:
        msg = f"out-of-hours rates by region not checked: {str(exc).splitlines()[0]}"
        out.add("cross_check_skipped", "sssy", None, "YDLTID", 1, [msg])
        return
    for row in found.filter(~pl.col("declared")).iter_rows(named=True):
        out.add(
            "rate_collapse",
            "sssy",
            "(all files)",
            "YDLTID",
            row["residents"],
            [
                f"region {row['REG']} {row['year']}: {row['services']:,} out-of-hours services "
                f"for {row['residents']:,} residents ({row['rate']:.4f} per resident) vs a "
                f"median {row['others']:.4f} in the other regions; no declared reason"
            ],
        )


def _spans(
    parts: list[pl.LazyFrame], col: str, early: pl.Expr, late: pl.Expr
) -> list[tuple[dt.date, dt.date] | None]:
    """Per file of dated rows: the minimum of ``early`` (the event's earliest possible date)
    and the maximum of ``late`` (its latest possible date), or None when it has no dated
    rows. A date column is read as it is; a coded one (payment weeks) through its distinct
    values (a few hundred, not one lookup per row)."""
    if not parts:
        return []
    if parts[0].collect_schema()[col] == pl.Date:
        queries = [p.select(lo=early.min(), hi=late.max()) for p in parts]
        found = pl.collect_all(queries, engine="streaming")
    else:
        values = pl.collect_all([p.select(pl.col(col).unique()) for p in parts])
        found = [v.select(lo=early.min(), hi=late.max()) for v in values]
    spans: list[tuple[dt.date, dt.date] | None] = []
    for df in found:
        lo, hi = df.row(0)
        spans.append(None if lo is None or hi is None else (lo, hi))
    return spans


def _dated_rows(
    f: RegisterFile, col: str, cache_dir: str | Path | None, extract_end: dt.date
) -> pl.LazyFrame:
    """``PNR, col`` of one file; a date column's implausible dates (counted by the date
    rules, dropped by the loaders) are null, so they are not counted again. The row order
    and count are the file's (row numbers in examples stay right)."""
    lf = conform(scan_raw(f, cache_dir), f, "declared", cache_dir).select("PNR", col)
    if lf.collect_schema()[col] == pl.Date:
        ok = valid_date(f.register, col, pl.col(col), extract_end)
        lf = lf.with_columns(pl.when(ok).then(pl.col(col)).alias(col))
    return lf


def _join_persons(deaths: pl.DataFrame | None, births: pl.DataFrame | None) -> pl.DataFrame | None:
    """PNR -> DODDATO, FOED_DAG (either may be missing: its column is then null)."""
    if deaths is None and births is None:
        return None
    if deaths is None:
        deaths = pl.DataFrame(schema={"PNR": pl.String, "DODDATO": pl.Date})
    if births is None:
        births = pl.DataFrame(schema={"PNR": pl.String, "FOED_DAG": pl.Date})
    return deaths.join(births, on="PNR", how="full", coalesce=True)


def _duplicate_contacts(
    data_dir: Path,
    keys: list[str],
    out: _Collector,
    cache_dir: str | Path | None,
    text_files: bool = False,
) -> None:
    """``lpr_duplicate_contact``. ``text_files``: some LPR contact file is CSV or SAS, whose
    every scan parses the whole file again; the contacts (the columns the rule needs) are
    then written once to a parquet file in a temporary folder of this run (in ``cache_dir``
    when given, never beside the data), which both passes of :func:`_duplicate_counts` read
    (on the ``tiny`` extract as latin-1 CSV: 113 s of re-parsing per year, against one
    pass). Otherwise the first pass reads ``PNR, start, end`` straight from the registers
    (:func:`_contact_dates`)."""

    try:
        with tempfile.TemporaryDirectory(
            prefix="paleval-validate-", dir=_temp_root(cache_dir)
        ) as tmp:
            contacts = lpr_contacts(data_dir, cache_dir=cache_dir)
            dates = None
            if text_files:
                path = Path(tmp) / "contacts.parquet"
                contacts.select("source", "contact_id", *DUPLICATE_KEY).sink_parquet(
                    path, maintain_order=True
                )
                contacts = pl.scan_parquet(path)
            else:
                dates = _contact_dates(data_dir, cache_dir)
            counts, examples = _duplicate_counts(contacts, dates)
    except (RegisterLoadError, pl.exceptions.PolarsError, OSError):
        return
    for source, key_ in (("LPR2", "lpr_adm"), ("LPR3", "lpr_f_kontakter")):
        if key_ not in keys:
            continue
        out.add(
            "lpr_duplicate_contact",
            key_,
            "(all files)",
            "contact_id",
            int(counts.get(source, 0)),
            examples.get(source, []),
        )


_DUP_SEED = 20261203
"""Seed of the 64-bit hash of ``PNR, start, end`` that :func:`_duplicate_counts` sorts."""


def _duplicate_counts(
    contacts: pl.LazyFrame,
    dates: pl.LazyFrame | None = None,
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Duplicate contacts per source, as :func:`deduplicate_contacts` drops them (all but the
    first of each set equal on ``DUPLICATE_KEY``, over LPR2 and LPR3 together, each counted
    in its own source), with up to five example contact ids each (the first duplicates, in
    the contacts' order, of the first start year in which the source has any).

    Two passes, exact whatever the hash does:

    1. Copies share ``PNR, start, end`` (columns the loaders pass through unchanged), so only
       contacts whose 64-bit hash of those three repeats can be duplicates. The hashes are
       computed over ``dates`` (``PNR, start, end`` of the same rows as ``contacts``,
       default ``contacts`` itself) one start year at a time (copies share their start year;
       the date-range filter lets the parquet reader skip the other years' row groups),
       sorted, and the repeated values kept: 1.3 % of the national contacts.
    2. The contacts whose hash is one of those (the derived department and diagnosis
       computed for them only) are de-duplicated exactly on ``DUPLICATE_KEY``
       (:func:`unique_contacts`); a hash collision only adds a contact that then counts as
       distinct, and every copy and its first are there. The contact ids are read only for
       the examples' start years (:func:`flag_duplicate_contacts`).
    """

    dates = contacts.select("PNR", "start", "end") if dates is None else dates
    repeated, n_first = _repeated_date_hashes(dates)
    cand = contacts.filter(_date_hash().is_in(repeated.implode()))
    keys = cand.select("source", *DUPLICATE_KEY).collect()
    if keys.height < n_first:  # the two passes hashed different rows: never a wrong count
        raise RuntimeError(
            f"lpr_duplicate_contact: {n_first} contacts share a hash of PNR, start, end in the "
            f"first pass, but only {keys.height} of the contacts do"
        )
    totals = dict(keys.group_by("source").len().iter_rows())
    kept = dict(unique_contacts(keys.lazy()).group_by("source").len().collect().iter_rows())
    counts = {s: n - kept.get(s, 0) for s, n in totals.items()}
    first_years = (
        flag_duplicate_contacts(keys)
        .filter(pl.col("duplicate"))
        .group_by("source")
        .agg(pl.col("start").dt.year().fill_null(_NO_YEAR).min().alias("year"))
        .collect()
    )
    examples: dict[str, list[str]] = {}
    for year in sorted(set(first_years["year"])):
        sources = first_years.filter(pl.col("year") == year)["source"].to_list()
        part = cand.filter(_start_year(year)).select("source", "contact_id", *DUPLICATE_KEY)
        dups = (
            flag_duplicate_contacts(part)
            .filter(pl.col("duplicate") & pl.col("source").is_in(sources))
            .group_by("source", maintain_order=True)
            .agg(pl.col("contact_id").head(_N_EXAMPLES))
            .collect()
        )
        examples |= {s: [f"contact_id {c}" for c in ids] for s, ids in dups.iter_rows()}
    return counts, examples


_NO_YEAR = 10_000
"""The year of a missing start, after every real year."""
_DUP_MAX_SPAN = 100
"""Over more years than this, the first pass asks which start years occur (2.8 s of CPU
nationally) instead of reading every year between the first and the last start."""


def _start_year(year: int) -> pl.Expr:
    """Contacts starting in ``year`` (``_NO_YEAR``: with no start), as a date-range filter
    that reaches the parquet reader."""
    if year == _NO_YEAR:
        return pl.col("start").is_null()
    from_ = pl.col("start") >= dt.date(year, 1, 1)
    return from_ if year == dt.MAXYEAR else from_ & (pl.col("start") < dt.date(year + 1, 1, 1))


def _date_hash() -> pl.Expr:
    """The 64-bit hash of ``PNR, start, end`` that both passes of :func:`_duplicate_counts`
    compute (any function of the three keeps the count exact; tests make it collide)."""
    return pl.struct("PNR", "start", "end").hash(_DUP_SEED)


def _repeated_date_hashes(dates: pl.LazyFrame) -> tuple[pl.Series, int]:
    """First pass of :func:`_duplicate_counts`: the hash values of ``PNR, start, end`` that
    occur more than once within a start year (or among the missing starts), and how many
    rows carry them. Every year from the first start to the last is read (an empty year
    costs only the row-group statistics), or, over more than ``_DUP_MAX_SPAN`` years, every
    year present."""

    start = pl.col("start")
    first, last, missing = (
        dates.select(start.min().alias("a"), start.max().alias("b"), start.null_count())
        .collect()
        .row(0)
    )
    years = [] if first is None else list(range(first.year, last.year + 1))
    if len(years) > _DUP_MAX_SPAN:  # sentinel dates (1900, 9999): only the years present
        present = dates.select(start.dt.year().unique()).collect(engine="streaming")
        years = sorted(present.to_series().drop_nulls().to_list())
    years += [_NO_YEAR] if missing else []
    repeated: list[np.ndarray] = []
    n_rows = 0
    for year in years:
        h = dates.filter(_start_year(year)).select(_date_hash()).collect(engine="streaming")
        # numpy's sort of 64-bit integers: half the CPU of polars' here
        a = np.sort(h.to_series().to_numpy())
        twice = a[1:][a[1:] == a[:-1]]  # each repeated value, once less than it occurs
        if twice.size:
            values = np.unique(twice)
            n_rows += twice.size + values.size
            repeated.append(values)
    values = np.concatenate(repeated) if repeated else np.empty(0, dtype=np.uint64)
    return pl.Series("h", np.unique(values), dtype=pl.UInt64), n_rows


def _contact_dates(data_dir: Path, cache_dir: str | Path | None) -> pl.LazyFrame:
    """``PNR, start, end`` of :func:`lpr_contacts` ``(data_dir)``, the same rows, read from
    the registers without its join to ``sor`` and its derived columns (which the first pass
    of :func:`_duplicate_counts` does not need; a pass over the national contacts' start
    dates took 8.9 s of CPU through :func:`lpr_contacts`, 2.7 s without). Must follow
    :func:`lpr_contacts`: a test compares them.
    """
    # imported here, not at the top: the module's import block is being edited elsewhere

    parts = []
    for key, start, end in (
        ("lpr_adm", "D_INDDTO", "D_UDDTO"),
        ("lpr_f_kontakter", "dato_start", "dato_slut"),
    ):
        if register_delivered(data_dir, key):
            lf = scan_register(data_dir, key, columns="declared", cache_dir=cache_dir)
            parts.append(lf.select("PNR", pl.col(start).alias("start"), pl.col(end).alias("end")))
    return pl.concat(parts, how="vertical")


def validate(
    data_dir: str | Path,
    keys: Iterable[str] | None = None,
    *,
    debug: bool = False,
    cache_dir: str | Path | None = None,
    extract_end: dt.date | str | None = None,
    verify: bool = False,
    progress: bool | None = None,
) -> ValidationReport:
    """Validate the registers ``keys`` (default: all in the model) in ``data_dir``.

    Runs the per-file rules of :data:`RULES` on every file, then the cross-register rules
    (deaths before birth or over the maximum age, events after death / before birth,
    duplicate LPR contacts). Never raises on bad input: every problem is a finding.

    ``extract_end``: the last day the extract covers; a later date is rule
    ``date_after_extract_end``. Default: :func:`extract_end_of` ``(data_dir)``. Give the
    same date to the loaders (``exclusion_filter(..., extract_end=...)``) so that what is
    dropped is what is counted.

    Every entry of the data folder is accounted for (:func:`register_inventory`): a register's
    file that is not read is rule ``file_refused`` with the reason, and the register's other
    files are still checked. ``verify=True`` also reads every file completely against its own
    metadata (:func:`verify_file`: parquet page checksums, footer row counts and column
    statistics; rule ``file_corrupt``): a full extra read, off by default.

    ``progress``: a progress bar over the registers (and the cross-register checks) on standard
    error; ``None`` (default) shows it in a terminal or a notebook, or as the environment
    variable ``PALEVAL_PROGRESS`` (``0``/``1``) says.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "dod.csv").write_text("PNR;DODDATO\\n0101010000;2015-01-01\\n0202020000;x\\n")
    >>> rep = validate(d, ["dod"])
    >>> rep.ok, rep.n("unparseable_date")
    (False, 1)
    >>> rep.findings.select("rule", "file", "column", "n", "examples").row(0)
    ('unparseable_date', 'dod.csv', 'DODDATO', 1, ["row 2: 'x'"])
    """
    data_dir = Path(data_dir)
    keys = list(REGISTERS) if keys is None else list(keys)
    files_end = extract_end_of(data_dir)
    end = end_date(extract_end) or files_end
    out = _Collector()
    _manifest_check(data_dir, files_end, out)
    _refused_files(data_dir, keys, out)
    loadable: dict[str, list[RegisterFile]] = {}
    bar = Steps("validation", len(keys) + 1, progress=progress, unit="register")
    for key in keys:
        bar.step(key)
        try:
            files = find_register_files(data_dir, key, refused="skip")
        except RegisterLoadError as exc:
            out.add("register_missing", key, None, None, 1, [exc.message])
            continue
        ok_files = []
        for f in files:
            bar.note(f"{key}: {f.name}")
            try:
                raw = scan_raw(f, cache_dir)
            except RegisterLoadError as exc:
                out.add("file_unreadable", key, f.name, exc.column, 1, [exc.message])
                continue
            if verify and not _verified(f, out):
                continue
            if f.format in ("csv", "txt") and (last := unterminated_last_line(f.path)):
                why = f"line {last} (the last) has no line end: cut inside its last field?"
                out.add("last_line_unterminated", key, f.name, None, 1, [why])
            if _check_file(raw, f, out, debug, end, cache_dir):
                ok_files.append(f)
        if ok_files:
            loadable[key] = ok_files
            _repeated_part_rows(ok_files, out, cache_dir)
    bar.step("cross-register checks")
    # the out-of-hours rates and the duplicate contacts run in a second thread beside the
    # cross-register checks (polars works outside the interpreter lock): their phases that use
    # one core overlap (session 12: about 10 s of a national validation); their findings are
    # added after, in the same order as when run one after the other
    beside = _Collector()
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(_rates_and_duplicates, data_dir, keys, loadable, beside, cache_dir)
        try:
            _cross_checks(data_dir, loadable, out, debug, cache_dir, end)
        except pl.exceptions.PolarsError:
            # a damaged page the per-file queries never decoded (their footer statistics
            # answered them): read the files in full, and report the damaged ones; none
            # damaged is a bug
            if not [f for fs in loadable.values() for f in fs if not _verified(f, out)]:
                raise
        other.result()
    out.rows.extend(beside.rows)
    bar.close()
    return ValidationReport(out.frame(), data_dir, tuple(keys), out.files_frame())


def _rates_and_duplicates(
    data_dir: Path,
    keys: list[str],
    loadable: dict[str, list[RegisterFile]],
    out: _Collector,
    cache_dir: str | Path | None,
) -> None:
    """``rate_collapse`` and ``lpr_duplicate_contact``."""
    _rate_collapse(loadable, out, cache_dir)
    lpr = [f for k in ("lpr_adm", "lpr_f_kontakter") for f in loadable.get(k, [])]
    if lpr:
        text_files = any(f.format != "parquet" for f in lpr)
        _duplicate_contacts(data_dir, keys, out, cache_dir, text_files)


def _temp_root(cache_dir: str | Path | None) -> Path | None:
    """Where a run's temporary files go: ``cache_dir`` (created) when given, else the
    system's temporary folder."""
    if cache_dir is None:
        return None
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _manifest_check(data_dir: Path, files: dt.date, out: _Collector) -> None:
    """``manifest_disagrees``: a manifest end year other than the files' extract end."""
    stated = manifest_end(data_dir)
    if stated is not None and stated != files:
        msg = f"manifest.json end_year {stated.year}: the files end {files.isoformat()}"
        out.add("manifest_disagrees", "all", "manifest.json", None, 1, [msg])


def _repeated_part_rows(
    files: list[RegisterFile], out: _Collector, cache_dir: str | Path | None
) -> None:
    """``duplicate_across_parts``: per part file, the rows an earlier part of the same
    register-year already holds (the rows :func:`drop_repeated_rows` drops);
    ``duplicate_key_across_parts``: of the other rows, those whose primary key an earlier
    part holds (with other values, then)."""
    earlier: dict[int | None, list[pl.LazyFrame]] = {}
    reg = REGISTERS[files[0].register]
    for f in files:
        if f.part is None:
            continue
        try:
            part = conform(scan_raw(f, cache_dir), f, "declared", cache_dir)
            seen = list(earlier.setdefault(f.year, []))
            kept = drop_repeated_rows(part.with_row_index("__row", offset=1), seen, reg.columns)
            earlier[f.year].append(part)
            if len(seen) == 1:  # the first part of its year
                continue
            rows = part.with_row_index("__row", offset=1).join(
                kept.select("__row"), on="__row", how="anti", maintain_order="left"
            )
            n = rows.select(pl.len()).collect(engine="streaming").item()
            ex = rows.select("__row").head(_N_EXAMPLES).collect()["__row"].to_list()
            clash = _key_clashes(kept, seen[:-1], list(reg.primary_key))
        except (RegisterLoadError, pl.exceptions.PolarsError) as exc:
            out.add("file_unreadable", f.register, f.name, None, 1, [first_line(exc)])
            continue
        where = f"{f.year} " if f.year is not None else ""
        shown = [f"row {r} (also in an earlier part of {where}{f.register})" for r in ex]
        out.add("duplicate_across_parts", f.register, f.name, None, n, shown)
        if clash is not None:
            n_key, rows_key = clash
            what = f"key also in an earlier part of {where}{f.register}, other values"
            out.add(
                "duplicate_key_across_parts",
                f.register,
                f.name,
                ",".join(reg.primary_key),
                n_key,
                [f"row {r} ({what})" for r in rows_key],
            )


def _key_clashes(
    kept: pl.LazyFrame, earlier: list[pl.LazyFrame], key: list[str]
) -> tuple[int, list[int]] | None:
    """Rows of ``kept`` (a part without the rows identical to earlier parts' rows) whose
    primary ``key`` (no part of it null) is in an ``earlier`` part: their number and first row
    numbers; None for a register without a primary key."""
    if not key or not earlier:
        return None
    keys = pl.concat([e.select(key) for e in earlier]).unique()
    rows = kept.join(keys, on=key, how="semi", maintain_order="left")
    n = rows.select(pl.len()).collect(engine="streaming").item()
    ex = rows.select("__row").head(_N_EXAMPLES).collect()["__row"].to_list() if n else []
    return n, ex


def _refused_files(data_dir: Path, keys: list[str], out: _Collector) -> None:
    """One ``file_refused`` finding per register file of ``keys`` that is not read."""
    try:
        inv = register_inventory(data_dir)
    except RegisterLoadError:
        return  # no data folder: every register is register_missing
    refused = inv.filter((pl.col("status") == "refused") & pl.col("register").is_in(keys))
    for r in refused.iter_rows(named=True):  # one row per refused file, not per record
        out.add("file_refused", r["register"], r["path"], None, 1, [r["reason"]])


def _verified(f: RegisterFile, out: _Collector) -> bool:
    """Full read against the file's own metadata; a failure is a ``file_corrupt`` finding."""
    try:
        verify_file(f)
    except RegisterLoadError as exc:
        out.add("file_corrupt", f.register, f.name, None, 1, [exc.message])
        return False
    return True
