"""The grid file: a base config, axes of values, named cells, a protocol; validated up front."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import ConfigError
from pipeline.presets import PRESET_DIR, find, grid_presets

Protocol = Literal["online", "offline", "transfer"]
CELL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"


class GridError(ConfigError):
    """A grid file or grid directory that cannot be used; the message is one line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CellSpec(Strict):
    """A named override set; crossed with the axes when both are given."""

    name: str = Field(pattern=CELL_NAME)
    set: dict[str, Any] = Field(default_factory=dict)


class BuildStage(Strict):
    """offline/transfer: where memory is built before it is frozen and evaluated."""

    split: str = "train"
    max_tasks: int | None = Field(100, ge=1)
    set: dict[str, Any] = Field(default_factory=dict)  # build-only overrides (transfer: the model)


class GridOptions(Strict):
    max_parallel_cells: int = Field(2, ge=1, le=64)
    # Whole-grid in-flight LLM calls per endpoint (key: api_base or provider prefix); default:
    # the cells' own `concurrency`, which the grid then splits among concurrently running cells.
    endpoint_concurrency: dict[str, int] = Field(default_factory=dict)
    # The grid's one exporter (cells serve theirs on 127.0.0.1, port 0, to it); 0: any free port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535)
    metrics: bool = True


class GridSpec(Strict):
    name: str = Field("grid", pattern=CELL_NAME)
    base: str  # a preset name (configs/<name>.yaml) or a path to a run config
    protocol: Protocol = "online"
    set: dict[str, Any] = Field(default_factory=dict)  # overrides for every cell
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    cells: list[CellSpec] = Field(default_factory=list)
    control: bool = True  # add a memory-off control per group of comparable cells
    build: BuildStage | None = None
    grid: GridOptions = Field(default_factory=GridOptions)


def _one_line(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "top level"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(GridSpec.model_fields))
        return f"{source}: unknown grid key {key!r} (top level allows: {allowed})"
    return f"{source}: bad value for {key!r}: {first['msg']}; got {first.get('input')!r}"


def parse_spec(tree: Any, source: str = "grid") -> GridSpec:
    if not isinstance(tree, dict):
        raise GridError(f"{source}: top level must be a mapping")
    try:
        spec = GridSpec.model_validate(tree)
    except ValidationError as err:
        raise GridError(_one_line(err, source)) from None
    for key, values in spec.axes.items():
        if not values:
            raise GridError(f"{source}: axis {key!r} has no values")
        if len({repr(v) for v in values}) != len(values):
            raise GridError(f"{source}: axis {key!r} repeats a value")
    names = [c.name for c in spec.cells]
    if len(set(names)) != len(names):
        raise GridError(f"{source}: two cells share a name")
    if spec.protocol != "online" and spec.build is None:
        spec.build = BuildStage()
    if spec.protocol == "transfer" and not _changes_model(spec.build):
        raise GridError(
            f"{source}: protocol transfer needs build.set to name the build model "
            "(an agent.*, sim.* or memory.builder.* key)"
        )
    return spec


def _changes_model(build: BuildStage | None) -> bool:
    keys = build.set if build is not None else {}
    return any(k.startswith(("agent.", "sim.", "memory.builder")) for k in keys)


def find_grid(ref: Path) -> Path:
    """A grid YAML path or a grid preset name (`memp presets`)."""
    path = find(ref, grid_presets())
    if path is None:
        known = ", ".join(grid_presets())
        raise GridError(f"grid file not found: {ref} (nor a grid preset name: {known})")
    return path


def load_spec(path: Path) -> GridSpec:
    path = find_grid(path)
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise GridError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_spec(tree, str(path))


def resolve_base(base: str, relative_to: Path | None = None) -> Path:
    """A path (as given, or next to the grid file) or a preset name under configs/."""
    candidates = [Path(base)]
    if relative_to is not None:
        candidates.append(relative_to / base)
    candidates += [PRESET_DIR / base, PRESET_DIR / f"{base}.yaml"]  # a run preset
    for path in candidates:
        if path.is_file():
            return path.resolve()
    raise GridError(f"base config {base!r}: no such file or preset (presets: {PRESET_DIR})")
