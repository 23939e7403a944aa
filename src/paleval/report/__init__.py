"""Reports: study data for the notebooks, export with disclosure control, `paleval report`."""

from paleval.report.export import export, write_table
from paleval.report.runner import NotebookFailure, ReportError, find_notebooks, run_report
from paleval.report.study import StudyData, data_fingerprint, load_study

__all__ = [
    "NotebookFailure",
    "ReportError",
    "StudyData",
    "data_fingerprint",
    "export",
    "find_notebooks",
    "load_study",
    "run_report",
    "write_table",
]
