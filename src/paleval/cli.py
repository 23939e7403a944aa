"""The ``paleval`` command line.

Subcommands: ``synth`` (generate synthetic registers), ``calibration`` (compare a synthetic data
set with the published Danish figures it is calibrated to), ``dictionary`` (write the register
data dictionary), ``check-output`` (disclosure check of an output directory), ``validate`` (every
finding of an extract, with a summary and an exit code), ``report`` (the notebooks, headless).

Exit codes: 0 done; 1 the data or the results failed a check (validation errors, a notebook or
the disclosure audit failed); 2 the command cannot be run as given (bad usage, a missing data
folder, an ``--out`` paleval may not write to). Errors are one line on stderr, no traceback
(set ``PALEVAL_DEBUG=1`` to see it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from paleval import __version__
from paleval.codes.vocabulary import DEFAULT_END, DEFAULT_START

__all__ = ["main"]


# ``paleval synth --no-FEATURE``: each realism feature of the synthetic registers
# (``paleval.synth.config.REALISM_FEATURES``, a test keeps the two in step) and what switching it
# off gives.
SYNTH_FEATURES_OFF = {
    "multi_unit_spc": "one DPD referral per SPC patient (no course at a second unit)",
    "sssy_payment_lag": (
        "GP services paid in the week they happened, background visits near death deleted"
    ),
    "migration": "nobody emigrates or immigrates during the period (no VNDS rows)",
    "households": "no couples or families: FAMILIE_ID is the person, no widowhood",
    "nursing_homes": "no nursing-home register (plh); residence stays latent",
    "plh_coverage": "plh stays written from the move-in date, also before the register begins",
    "place_detail_missing": "the detailed place of death (C_PRAECIS_DODSSTED) always filled",
}


def _cmd_synth(args: argparse.Namespace) -> int:
    from paleval.synth import SynthConfig, generate
    from paleval.synth.summary import summary_text

    progress = _progress(args)
    off = {f: False for f in SYNTH_FEATURES_OFF if getattr(args, f"no_{f}")}
    if args.clean and off:  # checked before any work, like the configuration below
        flags = ", ".join(f"--no-{f.replace('_', '-')}" for f in off)
        raise ValueError(f"--clean already switches every realism feature off; drop {flags}")
    cfg = SynthConfig.from_preset(
        args.preset,
        seed=args.seed,
        n_persons=args.persons,
        start_year=args.start_year,
        end_year=args.end_year,
        messiness=not args.clean,
        lpr_lookback_years=args.lpr_lookback_years,
        interventions=not args.no_interventions,
        **off,  # type: ignore[arg-type]
    )
    out = Path(args.out)
    truth = generate(cfg, out, progress=progress, overwrite=args.overwrite)
    print(summary_text(truth, out))
    return 0


def _progress(args: argparse.Namespace) -> bool | None:
    """``--quiet``: no progress bars; else automatic (on a terminal, or as ``PALEVAL_PROGRESS``
    says). The variable's value is checked here, before any work."""
    from paleval._progress import progress_enabled

    progress_enabled(None)  # a bad PALEVAL_PROGRESS: one line, exit 2
    return False if args.quiet else None


QUIET_HELP = (
    "no progress bars (default: shown on standard error when it is a terminal; the environment "
    "variable PALEVAL_PROGRESS=0/1 switches them off/on)"
)


def _cmd_calibration(args: argparse.Namespace) -> int:
    from paleval.synth.calibration import calibration_table

    table = calibration_table(Path(args.data))
    compact = table.select(
        "target",
        "years",
        "value",
        "low",
        "high",
        "achieved",
        "achieved_low",
        "achieved_high",
        "n",
        "ok",
    )
    with_pl_config(lambda: print(compact))
    if args.csv:
        table.write_csv(args.csv)
    failed = table.filter(~table["ok"]).height
    print(f"{table.height - failed} of {table.height} calibration targets met")
    return 1 if failed and args.strict else 0


def with_pl_config(fn: object) -> None:
    import polars as pl

    with pl.Config(tbl_rows=100, tbl_cols=20, fmt_str_lengths=60, tbl_width_chars=200):
        fn()  # type: ignore[operator]


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from paleval.registers import data_dictionary

    text = data_dictionary()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _cmd_check_output(args: argparse.Namespace) -> int:
    from paleval.disclosure import audit_report

    rep = audit_report(Path(args.directory), threshold=args.threshold)
    for f in rep.findings:
        print(f"DISCLOSURE: {f}")
    for file, why in rep.unreadable:
        print(f"UNREADABLE: {file}: {why}")
    for note in rep.notes:
        print(f"note: {note}")
    if not rep.ok:
        print(
            f"{len(rep.findings)} count(s) under {args.threshold} readable or recoverable, "
            f"{len(rep.unreadable)} file(s) unreadable in "
            f"{args.directory}: not exportable"
        )
        return 1
    print(f"no count under {args.threshold} readable or recoverable in {args.directory}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from paleval.report import run_report

    progress = _progress(args)
    if args.start > args.end:
        print(
            f"paleval report: error: --start {args.start} is after --end {args.end}",
            file=sys.stderr,
        )
        return 2
    run_report(
        args.out,
        data_dir=args.data,
        preset=args.preset,
        start=args.start,
        end=args.end,
        lang=args.lang,
        threshold=args.threshold,
        rounding=args.rounding,
        formats=args.formats,
        notebooks=args.notebook or None,
        cache_dir=args.cache_dir,
        jobs=args.jobs,
        progress=progress,
    )
    return 0


_SEVERITIES = ("error", "exclude", "null", "warn")


def validation_summary(findings: Any) -> Any:
    """One row per register, rule and severity: the files with the finding, the rows it
    concerns, the rows it excludes (those of ``exclude`` rules) and the values it makes null
    (``null`` rules: the row is kept); ``error`` and ``warn`` rows are kept or stop the study.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"rule": ["null_required", "null_required", "no_rows"],
    ...     "severity": ["exclude", "exclude", "warn"], "register": ["bef", "bef", "dod"],
    ...     "file": ["bef2019.csv", "bef2020.csv", "dod.csv"], "column": ["PNR"] * 2 + [None],
    ...     "n": [3, 4, 1]})
    >>> validation_summary(f).rows()
    [('bef', 'null_required', 'exclude', 2, 7, 7, 0), ('dod', 'no_rows', 'warn', 1, 1, 0, 0)]
    """
    import polars as pl

    order = {s: i for i, s in enumerate(_SEVERITIES)}
    return (
        findings.group_by("register", "rule", "severity")
        .agg(
            files=pl.col("file").n_unique(),
            rows=pl.col("n").sum(),
            excluded=pl.when(pl.col("severity") == "exclude").then(pl.col("n")).otherwise(0).sum(),
            nulled=pl.when(pl.col("severity") == "null").then(pl.col("n")).otherwise(0).sum(),
        )
        .with_columns(_o=pl.col("severity").replace_strict(order, return_dtype=pl.Int32))
        .sort("_o", "register", "rule")
        .drop("_o")
    )


def _validate_keys(data: Path) -> tuple[list[str], list[str]]:
    """The registers to validate (those a study needs, delivered or not, and every other
    delivered register of the model) and the optional ones not delivered."""
    from paleval.registers import REGISTERS, RegisterLoadError, register_delivered
    from paleval.report.study import study_registers

    keys = study_registers(data)
    absent = []
    for key in REGISTERS:
        if key in keys:
            continue
        try:
            delivered = register_delivered(data, key)
        except RegisterLoadError:
            delivered = True  # refused files: validation lists them with every other finding
        (keys if delivered else absent).append(key)
    return keys, absent


def _cmd_validate(args: argparse.Namespace) -> int:
    import polars as pl

    from paleval.registers import damaged_files, validate

    progress = _progress(args)
    data = Path(args.data)
    if not data.is_dir():
        raise FileNotFoundError(f"data folder {str(data)!r} does not exist or is not a folder")
    if args.json and args.json != "-" and Path(args.json).is_dir():
        raise ValueError(f"--json {args.json} is a folder; give a file name")
    keys, absent = _validate_keys(data)
    if args.extract_end is not None:
        dt.date.fromisoformat(args.extract_end)  # a bad date: one line, exit 2
    try:
        report = validate(
            data, keys, verify=args.verify, extract_end=args.extract_end, progress=progress
        )
    except pl.exceptions.PolarsError:  # a file that fails only when read in full?
        found = damaged_files(data, keys)
        if not found:
            raise  # no damaged file: not the data's fault
        print(
            f"paleval validate: validation stopped: {len(found)} register file(s) cannot be "
            "read in full:\n  " + "\n  ".join(found),
            file=sys.stderr,
        )
        return 1
    counts = {s: int((report.findings["severity"] == s).sum()) for s in _SEVERITIES}
    failed = counts["error"] > 0 or (
        args.strict and counts["warn"] + counts["exclude"] + counts["null"] > 0
    )
    code = 1 if failed else 0
    summary = validation_summary(report.findings)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(repr(report), file=out)
    if summary.height:
        with_pl_config(lambda: print(summary, file=out))
    if absent:
        print(f"not delivered (optional for the study): {', '.join(absent)}", file=out)
    print(
        f"{len(keys)} register(s) checked: {counts['error']} error, {counts['exclude']} exclude, "
        f"{counts['null']} null, {counts['warn']} warn finding(s); "
        + ("NOT OK" if failed else "OK")
        + (" (--strict: exclude, null and warn findings count)" if args.strict else ""),
        file=out,
    )
    if args.json:
        doc = {
            "data_dir": str(data.resolve()),
            "registers": keys,
            "not_delivered": absent,
            "strict": bool(args.strict),
            "ok": not failed,
            "exit_code": code,
            "counts": counts,
            "summary": summary.to_dicts(),
            "findings": report.findings.to_dicts(),
        }
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    return code


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default, where it has one worth showing (not when the
    help text already names it, and not for switches)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``paleval report: error: ...``) and exit code 2; help with
    defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


FIGURE_FORMATS = ("png", "svg", "pdf")


def _iso_date(text: str) -> str:
    """An argument that must be a date (YYYY-MM-DD), checked before any work."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return text


def _formats(text: str) -> list[str]:
    """Comma-separated figure formats, each one paleval writes."""
    items = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in items if f not in FIGURE_FORMATS]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{text!r}: figure formats are a comma-separated list of {', '.join(FIGURE_FORMATS)}"
        )
    return items


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = _Parser(
        prog="paleval",
        description="Registry-based evaluation of palliative care in Denmark.",
    )
    p.add_argument("--version", action="version", version=f"paleval {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("synth", help="generate synthetic Danish registers")
    s.add_argument("--preset", choices=["tiny", "small", "national"], default="small")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", default=None, help="output directory (default data_synthetic/PRESET)")
    s.add_argument("--persons", type=int, default=None, help="override the preset's persons")
    s.add_argument("--start-year", type=int, default=None)
    s.add_argument("--end-year", type=int, default=None)
    s.add_argument(
        "--lpr-lookback-years",
        type=int,
        default=None,
        help="years of LPR history before the start year (default 15; 5 is the former, "
        "faster default)",
    )
    s.add_argument(
        "--clean",
        action="store_true",
        help="switch off injected messiness and every realism feature below",
    )
    for feature, without in SYNTH_FEATURES_OFF.items():
        s.add_argument(
            f"--no-{feature.replace('_', '-')}",
            dest=f"no_{feature}",
            action="store_true",
            help=f"switch off realism feature {feature}: {without}",
        )
    s.add_argument(
        "--no-interventions",
        dest="no_interventions",
        action="store_true",
        help="no planted intervention (staggered municipal adoption raising non-cancer SPC "
        "admittance; truth.json 'interventions'): the registers as without it, byte for byte",
    )
    s.add_argument(
        "--overwrite",
        action="store_true",
        help="kept for compatibility: an earlier extract is always replaced, other files never",
    )
    s.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    s.set_defaults(func=_cmd_synth)

    c = sub.add_parser("calibration", help="calibration table of a synthetic data set")
    c.add_argument("data", help="a folder written by 'paleval synth'")
    c.add_argument("--csv", default=None, help="also write the table as CSV")
    c.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    c.set_defaults(func=_cmd_calibration)

    d = sub.add_parser("dictionary", help="write the register data dictionary (Markdown)")
    d.add_argument("--out", default="docs/registers.md", help="file, or - for stdout")
    d.set_defaults(func=_cmd_dictionary)
    k = sub.add_parser("check-output", help="fail if an exported count is below the threshold")
    k.add_argument("directory", help="an output directory (tables as CSV, parquet or XLSX)")
    k.add_argument("--threshold", type=_positive_int, default=5, help="smallest publishable count")
    k.set_defaults(func=_cmd_check_output)

    r = sub.add_parser("report", help="run every notebook headless and write the report")
    r.add_argument(
        "--preset",
        choices=["tiny", "small", "national"],
        default="small",
        help="synthetic data used when --data is not given (generated if absent)",
    )
    r.add_argument("--data", default=None, help="folder of register files (a real extract)")
    r.add_argument("--out", default="reports/latest", help="report folder (replaced atomically)")
    r.add_argument("--start", type=_iso_date, default=DEFAULT_START, help="study period start")
    r.add_argument("--end", type=_iso_date, default=DEFAULT_END, help="study period end")
    r.add_argument("--lang", choices=["en", "da"], default="en", help="figure language")
    r.add_argument("--threshold", type=_positive_int, default=5, help="disclosure threshold")
    r.add_argument(
        "--rounding",
        type=int,
        choices=[5, 10],
        default=None,
        help="also round published counts to a multiple of 5 or 10 (default: no rounding)",
    )
    r.add_argument(
        "--formats", type=_formats, default="png,svg", help="figure formats (png, svg, pdf)"
    )
    r.add_argument("--notebook", action="append", help="run only this notebook (repeatable)")
    r.add_argument("--cache-dir", default=None, help="cache of the built study frames")
    r.add_argument(
        "--jobs", type=_positive_int, default=2, help="notebooks run in parallel (after the first)"
    )
    r.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    r.set_defaults(func=_cmd_report)

    v = sub.add_parser(
        "validate",
        help="list every finding of a register extract, with a summary and an exit code",
        description="Validate every register of an extract (all findings, not the first): "
        "exit 0 without errors, 1 with errors (with --strict also exclude, null and warn "
        "findings).",
    )
    v.add_argument("data", help="folder of register files (a real extract or synthetic data)")
    v.add_argument("--json", default=None, help="also write the findings as JSON (- : stdout)")
    v.add_argument(
        "--strict", action="store_true", help="exclude, null and warn findings fail too (exit 1)"
    )
    v.add_argument(
        "--verify",
        action="store_true",
        help="also read every file completely against its own metadata (parquet page "
        "checksums, row counts, column statistics): finds damaged pages; a full extra read",
    )
    v.add_argument(
        "--extract-end",
        default=None,
        help="last day the extract covers (YYYY-MM-DD); later dates are excluded "
        "(default: 31 December of the last yearly file's year, or of the latest death, DPD "
        "referral or cancer diagnosis in the year after; never manifest.json)",
    )
    v.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    v.set_defaults(func=_cmd_validate)
    return p


def _run(args: argparse.Namespace) -> int:
    """Run a parsed command; errors become one line on stderr and an exit code."""
    from paleval.registers import RegisterLoadError, RegisterValidationError
    from paleval.report import OutputFolderError, ReportError, StudyDataError

    usage = (ValueError, FileExistsError, FileNotFoundError, NotADirectoryError, OutputFolderError)
    checks = (ReportError, RegisterValidationError, StudyDataError, RegisterLoadError)
    try:
        return int(args.func(args))
    except (*usage, *checks, OSError) as exc:
        if os.environ.get("PALEVAL_DEBUG"):
            raise
        if isinstance(exc, usage):
            code, msg = 2, f"error: {exc}"
        else:
            code, msg = 1, str(exc) if isinstance(exc, checks) else f"error: {exc}"
    print(f"paleval {args.command}: {msg}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``paleval`` command.

    Examples
    --------
    >>> main(["dictionary", "--out", "-"])  # doctest: +ELLIPSIS
    # Register data dictionary
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "synth" and args.out is None:
        args.out = f"data_synthetic/{args.preset}"
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
