"""Run reports: compare recorded runs as PNG plots, a Markdown page and an HTML page."""

from pipeline.report.build import ReportFiles, build_report
from pipeline.report.figures import RunFigures, run_figures
from pipeline.report.load import ReportError, RunData, load_run, load_runs

__all__ = [
    "ReportError",
    "ReportFiles",
    "RunData",
    "RunFigures",
    "build_report",
    "load_run",
    "load_runs",
    "run_figures",
]
