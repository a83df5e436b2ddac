"""`memp grid`: run (or --resume) every cell of a grid on Ray and print the tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.errors import MempError, fail

console = Console()


def grid(
    grid_file: Annotated[
        Path | None, typer.Argument(help="grid YAML or grid preset name, e.g. paper-build")
    ] = None,
    grid_dir: Annotated[Path | None, typer.Option(help="where the grid is recorded")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the grid recorded in this directory")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local Ray)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="live progress display")] = True,
) -> None:
    """Run every cell of a grid (each paired with a no-memory control) and print the tables."""
    from actors.grid import GridRunner  # the Ray layer; pipeline/ itself never imports ray
    from pipeline.grid.plan import GridDir

    try:
        if resume is not None:
            gd = GridDir.resume(resume)
        elif grid_file is None:
            fail("give a grid file or --resume DIR")
            return
        else:
            stem = grid_file.stem
            path = grid_dir or Path("grids") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
            gd = GridDir.create(path, grid_file)
    except MempError as err:
        fail(str(err))
        return
    console.print(f"grid directory: {gd.path} ({len(gd.cells)} cells)")
    started = time.perf_counter()
    try:
        runner = GridRunner(gd, console, address=address, show_progress=progress)
        code = runner.run()
        if code == 0:
            files = runner.outputs()
            console.print(files.table, highlight=False, soft_wrap=True)
            console.print(f"grid: {files.markdown}  {files.csv}  {files.html}  {files.manifest}")
    except MempError as err:
        fail(str(err))
        return
    finally:
        gd.close()
    console.print(f"grid wall {time.perf_counter() - started:.1f}s", highlight=False)
    if code:
        raise typer.Exit(code)
