"""build_report: load runs, compute figures, write the PNGs, report.md and report.html."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from pipeline.report import plots
from pipeline.report.figures import run_figures
from pipeline.report.load import ReportError, load_runs
from pipeline.report.render import (
    Image,
    comparison_table,
    cost_table,
    failures_table,
    html_page,
    markdown,
    memory_table,
    scores_table,
    source_notes,
    task_type_table,
)


class ReportFiles(BaseModel):
    """What build_report wrote."""

    markdown: Path
    html: Path
    images: list[Path]


def build_report(run_dirs: list[Path], out_dir: Path) -> ReportFiles:
    """Compare the runs in `run_dirs`; write everything into `out_dir` (created if missing)."""
    if not run_dirs:
        raise ReportError("no run directories given")
    data = load_runs(run_dirs)
    runs = [run_figures(d) for d in data]
    # episodes per curve point: a long async run's summary rows are wider than its groups
    sizes = [(d.summary.group_episodes if d.summary else None) or d.meta.group_size for d in data]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        images = [
            Image(
                title="Learning curve by task group",
                path=plots.learning_curve(runs, sizes, out_dir / "learning_curve.png"),
            ),
            Image(
                title="Tokens and cost per success",
                path=plots.cost_per_success(runs, out_dir / "cost_per_success.png"),
            ),
            Image(
                title="Memory size and operations",
                path=plots.memory_timeline(runs, out_dir / "memory.png"),
            ),
        ]
        scores = scores_table(runs)
        tables = [comparison_table(runs), failures_table(runs), cost_table(runs)]
        tables.append(memory_table(runs))
        tables += [scores] if scores else []
        tables.append(task_type_table(runs))
        notes = source_notes(runs, sizes)
        md = out_dir / "report.md"
        md.write_text(markdown(runs, tables, images, notes), encoding="utf-8")
        page = out_dir / "report.html"
        page.write_text(html_page(runs, tables, images, notes), encoding="utf-8")
    except OSError as err:
        raise ReportError(
            f"{err.filename or out_dir}: cannot write report ({err.strerror})"
        ) from None
    return ReportFiles(markdown=md, html=page, images=[i.path for i in images])
