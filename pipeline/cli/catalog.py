"""`memp envs` and `memp presets`: list what memp ships and what is registered."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def envs(
    target: Annotated[
        list[str] | None, typer.Argument(help="also describe these 'package.module:SuiteClass'")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
) -> None:
    """List the registered environments with their splits, sizes and sim policy."""
    from rich.table import Table

    from pipeline.envs.listing import describe_all

    rows = describe_all(target or [])
    if as_json:
        console.print_json(json.dumps([r.model_dump() for r in rows]))
        return
    table = Table(title="environments")
    for col in ("env", "splits (tasks)", "sim policy", "env.<name> keys", "suite"):
        table.add_column(col)
    for r in rows:
        splits = ", ".join(f"{s} ({'endless' if n is None else n})" for s, n in r.splits.items())
        table.add_row(r.name, splits or f"[red]{r.error}[/red]", r.sim_policy or "-",
                      ", ".join(r.settings) or "-", r.suite)  # fmt: skip
    console.print(table)


def presets() -> None:
    """List the presets shipped with memp: run configs (`memp run NAME`) and grids."""
    from rich.table import Table

    from pipeline.presets import description, grid_presets, run_presets

    table = Table(title="presets")
    for col in ("kind", "name", "description"):
        table.add_column(col)
    for kind, found in (("run", run_presets()), ("grid", grid_presets())):
        for name, path in found.items():
            table.add_row(kind, name, description(path))
    console.print(table)
