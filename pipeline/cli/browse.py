"""`memp report`, `memp trajectory`, `memp view`: read recorded runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.errors import MempError, fail

console = Console()


def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="run directories to compare")],
    out: Annotated[Path, typer.Option("-o", "--out", help="where to write the report")] = Path(
        "report"
    ),
) -> None:
    """Compare runs: PNG plots, report.md and a self-contained report.html."""
    from pipeline.report import build_report

    try:
        files = build_report(run_dirs, out)
    except MempError as err:
        fail(str(err))
        return
    console.print(f"report: {files.markdown}  {files.html}  ({len(files.images)} plots)")


def trajectory(
    run_dir: Annotated[Path, typer.Argument(help="a recorded run directory")],
    ident: Annotated[str, typer.Argument(help="trajectory id or a unique prefix of it")],
) -> None:
    """Print one recorded episode's transcript (task, outcome, every step)."""
    from pipeline.transcript import find_trajectory, transcript_lines

    try:
        lines = transcript_lines(find_trajectory(run_dir, ident))
    except MempError as err:
        fail(str(err))
        return
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def view(
    dirs: Annotated[list[Path], typer.Argument(help="run or grid directories")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free port)")] = 0,
) -> None:
    """Serve a read-only web viewer of runs, episodes and procedures; prints its URL."""
    from pipeline.view.app import bind, create_app, serve

    try:
        app = create_app(dirs)
        sock = bind(host, port)
    except (MempError, OSError) as err:  # OSError: the address cannot be bound
        fail(str(err))
        return
    serve(app, sock, lambda url: console.print(f"memp view: {url}", highlight=False))
