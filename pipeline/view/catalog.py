"""What `memp view` was pointed at: run directories and grid directories of cell runs."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.errors import MempError
from pipeline.view.run import RunView, is_run_dir

GRID_FILES = ("grid.md", "grid.csv")


class ViewError(MempError, ValueError):
    """A path `memp view` cannot show; the message is one line."""


class Grid(BaseModel):
    """A directory of cell run directories; cells are looked up again on every visit."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    key: str
    path: Path

    def cell_dirs(self) -> list[Path]:
        found = []
        for child in sorted(self.path.iterdir()):
            if is_run_dir(child):
                found.append(child)
            elif child.is_dir():  # cells may sit one level down (e.g. grid/cells/<name>)
                found.extend(c for c in sorted(child.iterdir()) if is_run_dir(c))
        return found

    def table_file(self) -> Path | None:
        return next((self.path / n for n in GRID_FILES if (self.path / n).is_file()), None)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


class Catalog:
    """Runs and grids by URL key; grid cells become runs keyed `<grid>.<cell>`."""

    def __init__(self, paths: list[Path]) -> None:
        self.runs: dict[str, RunView] = {}
        self.grids: dict[str, Grid] = {}
        self.top_runs: list[str] = []
        self._by_path: dict[Path, str] = {}
        for path in paths:
            if not path.exists():
                raise ViewError(f"{path}: no such directory")
            if not path.is_dir():
                raise ViewError(f"{path}: not a directory")
            if is_run_dir(path):
                self.top_runs.append(self._run(path, path.resolve().name).key)
                continue
            grid = Grid(key=self._unique(_slug(path.resolve().name), self.grids), path=path)
            if not grid.cell_dirs() and grid.table_file() is None:
                raise ViewError(
                    f"{path}: neither a run directory (no trajectories.jsonl, config.yaml or "
                    f"manifest.json) nor a grid directory (no cell run directories)"
                )
            self.grids[grid.key] = grid

    @staticmethod
    def _unique(base: str, taken: dict) -> str:
        key, n = base, 2
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        return key

    def _run(self, path: Path, name: str) -> RunView:
        real = path.resolve()
        if real in self._by_path:
            return self.runs[self._by_path[real]]
        run = RunView(path, self._unique(_slug(name), self.runs))
        self.runs[run.key] = run
        self._by_path[real] = run.key
        return run

    def cells(self, grid: Grid) -> list[RunView]:
        """The grid's cell runs, registering cells that appeared since the last visit."""
        return [self._run(d, f"{grid.key}.{d.relative_to(grid.path)}") for d in grid.cell_dirs()]
