"""The grid directory: the frozen cell plan, per-cell run directories, the cell event log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter

from pipeline.config import dump_config
from pipeline.envs import get_suite
from pipeline.grid.expand import Cell, expand, split_concurrency
from pipeline.grid.spec import GridError, GridSpec, find_grid, load_spec
from pipeline.runlog import CONFIG, TRAJECTORIES, JsonlLog, read_jsonl
from pipeline.task_source import task_stream

PLAN = "cells.json"
SPEC = "grid.yaml"
EVENTS = "events.jsonl"
CELL_LINGER_S = 2.0  # a cell's exporter outlives its summary this long: the relay's last scrape
_CELLS = TypeAdapter(list[Cell])


class CellEvent(BaseModel):
    cell: str
    event: Literal["started", "finished", "failed"]
    resumed: bool = False
    exit_code: int | None = None
    episodes: int | None = None
    detail: str = ""
    at: float = Field(default_factory=time.time)


class GridDir:
    """grid.yaml (the spec as given), cells.json (the plan), cells/<name>/, logs/, events.jsonl."""

    def __init__(self, path: Path, spec: GridSpec, cells: list[Cell]) -> None:
        self.path = path
        self.spec = spec
        self.cells = cells
        self.events = JsonlLog(path / EVENTS)

    @classmethod
    def create(cls, path: Path, spec_file: Path) -> GridDir:
        spec_file = find_grid(spec_file)
        spec = load_spec(spec_file)
        if (path / PLAN).exists():
            raise GridError(
                f"{path} already holds a grid; use --resume {path} or another --grid-dir"
            )
        cells = expand(spec, path, spec_file)
        split_concurrency(cells, spec.grid.max_parallel_cells, spec.grid.endpoint_concurrency)
        for cell in cells:  # every cell serves its metrics to the grid's relay, not the world
            m = cell.config.metrics
            m.enabled, m.host, m.port, m.linger_s = True, "127.0.0.1", 0, CELL_LINGER_S
        path.mkdir(parents=True, exist_ok=True)
        (path / SPEC).write_text(spec_file.read_text(encoding="utf-8"), encoding="utf-8")
        (path / PLAN).write_bytes(_CELLS.dump_json(cells, indent=2))
        return cls(path, spec, cells)

    @classmethod
    def resume(cls, path: Path) -> GridDir:
        if not (path / PLAN).is_file():
            raise GridError(f"{path} is not a grid directory (no {PLAN})")
        spec = load_spec(path / SPEC)
        return cls(path, spec, _CELLS.validate_json((path / PLAN).read_bytes()))

    def run_path(self, cell: Cell) -> Path:
        return self.path / "cells" / cell.name

    def log_path(self, cell: Cell) -> Path:
        return self.path / "logs" / f"{cell.name}.log"

    def config_path(self, cell: Cell) -> Path:
        """The cell's resolved config as a file `memp run` reads (written on first use)."""
        path = self.path / "configs" / f"{cell.name}.yaml"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_config(cell.config), encoding="utf-8")
        return path

    def started(self, cell: Cell) -> bool:
        """A run directory exists: `memp run --resume` continues it."""
        return (self.run_path(cell) / CONFIG).is_file()

    def finished(self) -> set[str]:
        return {e.cell for e in read_jsonl(self.path / EVENTS, CellEvent) if e.event == "finished"}

    def record(self, event: CellEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.events.close()


def planned_tasks(cell: Cell) -> int | None:
    """How many tasks the cell's run has (None: an endless split without max_tasks)."""
    env = cell.config.env
    if env.split == "endless" and not env.tasks_file:
        return env.max_tasks
    return sum(1 for _ in task_stream(get_suite(env), env))


def recorded_tasks(run_path: Path) -> int:
    """Distinct tasks with a recorded trajectory."""
    path = run_path / TRAJECTORIES
    if not path.is_file():
        return 0
    from pipeline.types import Trajectory

    return len({t.task.id for t in read_jsonl(path, Trajectory)})


def next_cells(cells: list[Cell], done: set[str], running: set[str], failed: set[str],
               max_parallel: int) -> list[Cell]:  # fmt: skip
    """Cells to start now, in plan order: free slots, build stage (if any) finished."""
    free = max_parallel - len(running)
    out = []
    for cell in cells:
        if free <= 0:
            break
        if cell.name in done | running | failed:
            continue
        if cell.build is not None and cell.build not in done:
            continue
        out.append(cell)
        free -= 1
    return out
