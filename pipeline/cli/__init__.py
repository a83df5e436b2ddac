"""`memp` command line: run, grid, envs, perf, memory, report, view."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

# typer 0.29 vendors click: its usage errors are these classes, not the click package's.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from pipeline.cli import browse, catalog, grid, perf, run, serve_local
from pipeline.errors import MempError, fail
from pipeline.memory.cli import memory_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(perf.perf_app, name="perf")
app.add_typer(memory_app, name="memory")
app.command("serve-local")(serve_local.serve_local)
app.command("run")(run.run)
app.command("grid")(grid.grid)
app.command("envs")(catalog.envs)
app.command("presets")(catalog.presets)
app.command("report")(browse.report)
app.command("trajectory")(browse.trajectory)
app.command("view")(browse.view)
console = Console()


def memp_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("memp")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, not installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        console.print(f"memp {memp_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = None,
) -> None:
    """memp: procedural memory for LLM agents, run on Ray."""


def main() -> None:
    """Entry point: a MempError or a usage error is one stderr line and exit 2; anything else is
    a bug (traceback, exit 1)."""
    try:  # not standalone: usage errors come here instead of a multi-line box
        code = app(prog_name="memp", standalone_mode=False)
    except NoArgsIsHelpError as err:  # `memp memory` alone: its help, as before
        err.show()
        sys.exit(err.exit_code)
    except UsageError as err:
        where = f"; see {err.ctx.command_path} --help" if err.ctx is not None else ""
        fail(f"{err.format_message().rstrip('.')}{where}", code=err.exit_code)
    except ClickException as err:
        fail(err.format_message(), code=err.exit_code)
    except MempError as err:  # raised outside a command's own handler
        fail(err)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    if isinstance(code, int):  # typer.Exit(n) and --help come back as an exit code
        sys.exit(code)
