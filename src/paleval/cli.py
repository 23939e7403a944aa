"""The ``paleval`` command line.

Subcommands: ``synth`` (generate synthetic registers), ``calibration`` (compare a synthetic data
set with the published Danish figures it is calibrated to), ``dictionary`` (write the register
data dictionary), ``check-output`` (disclosure check of an output directory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paleval import __version__

__all__ = ["main"]


def _cmd_synth(args: argparse.Namespace) -> int:
    from paleval.synth import SynthConfig, generate
    from paleval.synth.summary import summary_text

    cfg = SynthConfig.from_preset(
        args.preset,
        seed=args.seed,
        n_persons=args.persons,
        start_year=args.start_year,
        end_year=args.end_year,
        messiness=not args.clean,
    )
    out = Path(args.out)
    truth = generate(cfg, out, progress=not args.quiet, overwrite=args.overwrite)
    print(summary_text(truth, out))
    return 0


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
    from paleval.disclosure import check_output

    findings = check_output(Path(args.directory), threshold=args.threshold)
    for f in findings:
        print(f"DISCLOSURE: {f}")
    if findings:
        print(f"{len(findings)} table column(s) with counts below {args.threshold}: not exportable")
        return 1
    print(f"no exported count below {args.threshold} in {args.directory}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from paleval.report import ReportError, run_report

    try:
        run_report(
            args.out,
            data_dir=args.data,
            preset=args.preset,
            start=args.start,
            end=args.end,
            lang=args.lang,
            threshold=args.threshold,
            formats=[f.strip() for f in args.formats.split(",") if f.strip()],
            notebooks=args.notebook or None,
            cache_dir=args.cache_dir,
            jobs=args.jobs,
        )
    except ReportError as exc:
        print(f"paleval report: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = argparse.ArgumentParser(
        prog="paleval",
        description="Registry-based evaluation of palliative care in Denmark.",
    )
    p.add_argument("--version", action="version", version=f"paleval {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate synthetic Danish registers")
    s.add_argument("--preset", choices=["tiny", "small", "national"], default="small")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", default=None, help="output directory (default data_synthetic/PRESET)")
    s.add_argument("--persons", type=int, default=None, help="override the preset's persons")
    s.add_argument("--start-year", type=int, default=None)
    s.add_argument("--end-year", type=int, default=None)
    s.add_argument("--clean", action="store_true", help="switch off injected messiness")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
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
    k.add_argument("--threshold", type=int, default=5, help="smallest publishable count")
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
    r.add_argument("--start", default="2010-01-01", help="study period start (YYYY-MM-DD)")
    r.add_argument("--end", default="2024-12-31", help="study period end (YYYY-MM-DD)")
    r.add_argument("--lang", choices=["en", "da"], default="en", help="figure language")
    r.add_argument("--threshold", type=int, default=5, help="disclosure threshold")
    r.add_argument("--formats", default="png,svg", help="figure formats (png, svg, pdf)")
    r.add_argument("--notebook", action="append", help="run only this notebook (repeatable)")
    r.add_argument("--cache-dir", default=None, help="cache of the built study frames")
    r.add_argument(
        "--jobs", type=int, default=2, help="notebooks run in parallel (after the first)"
    )
    r.set_defaults(func=_cmd_report)
    return p


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
    try:
        return int(args.func(args))
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"paleval {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
