"""Reports: study data for the notebooks, export with disclosure control, `paleval report`."""

from paleval.report.export import export, report_ledger, write_table
from paleval.report.runner import (
    REPORT_MARKER,
    NotebookFailure,
    OutputFolderError,
    ReportError,
    find_notebooks,
    run_report,
)
from paleval.report.study import (
    StudyData,
    StudyDataError,
    data_fingerprint,
    load_study,
    register_file_entries,
    study_registers,
)

__all__ = [
    "REPORT_MARKER",
    "NotebookFailure",
    "OutputFolderError",
    "ReportError",
    "StudyData",
    "StudyDataError",
    "data_fingerprint",
    "export",
    "find_notebooks",
    "load_study",
    "register_file_entries",
    "report_ledger",
    "run_report",
    "study_registers",
    "write_table",
]
