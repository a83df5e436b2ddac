"""Grid spec -> cells: the axes product, memory-off controls, shared build stages, stable names."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from pipeline import config_load
from pipeline.config import ConfigError, RunConfig
from pipeline.config_load import build_config
from pipeline.grid.spec import GridError, GridSpec, resolve_base

CellKind = Literal["memory", "control", "build"]
# Eval-side keys: a build stage plays every task against empty memory, so these cannot change it.
EVAL_ONLY = ("memory.retrieve", "memory.top_k", "memory.score_threshold")
# A frozen evaluation is one sync group: every task sees the memory it started with.
FROZEN_GROUP = 1_000_000
PACK = "pack.jsonl"


class Cell(BaseModel):
    """One run of the grid, with what sets it apart and what it is compared with."""

    name: str
    kind: CellKind
    labels: dict[str, Any]  # the distinguishing settings (axis values, cell name)
    config: RunConfig
    control: str | None = None  # memory cells: the control on the same model, tasks and seed
    build: str | None = None  # offline/transfer evaluations: the build stage they seed from
    pairing: str  # cells with the same pairing key face the same tasks under the same agent


def set_key(tree: dict[str, Any], dotted: str, value: Any) -> None:
    # a copy: one axis value lands in many cells' trees, which must not share it
    config_load.set_key(tree, dotted, copy.deepcopy(value))


def get_key(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _slug(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:40] or "x"


def _short_names(keys: list[str]) -> dict[str, str]:
    """Last key component, or the whole key when two axes end the same way."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {
        k: (s if last.count(s) == 1 else k.replace(".", "_"))
        for k, s in zip(keys, last, strict=True)
    }


def _config(tree: dict[str, Any], overrides: dict[str, Any], cell: str) -> RunConfig:
    tree = copy.deepcopy(tree)
    try:
        for key, value in overrides.items():
            set_key(tree, key, value)
        return build_config(tree)
    except ConfigError as err:
        raise GridError(f"cell {cell}: {err}") from None


def _pairing(cfg: RunConfig) -> str:
    """Same agent, tasks and seed: what a memory-off control must share with a memory cell."""
    agent = cfg.agent.model_dump(mode="json", exclude={"concurrency"})
    key = {"agent": agent, "env": cfg.env.model_dump(mode="json"), "seed": cfg.run.seed,
           "sim": cfg.sim.model_dump(mode="json")}  # fmt: skip
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _base_tree(spec: GridSpec, grid_file: Path | None) -> dict[str, Any]:
    path = resolve_base(spec.base, grid_file.parent if grid_file else None)
    tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(tree, dict):
        raise GridError(f"base config {path}: top level must be a mapping of sections")
    for key, value in spec.set.items():
        set_key(tree, key, value)
    return tree


def _combos(spec: GridSpec) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, labels, overrides) for the axes product, crossed with the named cells if any."""
    keys = list(spec.axes)
    short = _short_names(keys)
    products = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*spec.axes.values())
    ]
    named = spec.cells or [None]
    out = []
    for cell in named:
        for combo in products:
            parts = [f"{short[k]}-{_slug(v)}" for k, v in combo.items()]
            labels: dict[str, Any] = dict(combo)
            overrides: dict[str, Any] = {}
            if cell is not None:
                parts.insert(0, cell.name)
                labels = {"cell": cell.name, **labels}
                overrides.update(cell.set)
            overrides.update(combo)
            out.append(("_".join(parts) or "base", labels, overrides))
    return out


def expand(spec: GridSpec, grid_dir: Path, grid_file: Path | None = None) -> list[Cell]:
    """Every cell in run order (build stages first), each config validated; names are stable."""
    base = _base_tree(spec, grid_file)
    cells: list[Cell] = []
    for name, labels, overrides in _combos(spec):
        cfg = _config(base, overrides, name)
        kind: CellKind = "memory" if cfg.memory.enabled else "control"
        cells.append(Cell(name=name, kind=kind, labels=labels, config=cfg, pairing=""))
    builds: list[Cell] = []
    if spec.protocol != "online":
        builds = _stage(spec, cells, grid_dir)
    for cell in cells:
        cell.pairing = _pairing(cell.config)
    if spec.control:
        cells += _controls(cells)
    _link_controls(cells)
    ordered = builds + cells
    names = [c.name for c in ordered]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise GridError(f"two cells would share the name {dupes[0]!r}; give cells distinct names")
    for cell in ordered:
        cell.config.run.name = cell.name
        cell.config.run.run_dir = None
        if cell.config.memory.qdrant.url:  # a shared server: each cell its own collections
            cell.config.memory.qdrant.collection_prefix += f"-{spec.name}-{cell.name}"
    return ordered


def _stage(spec: GridSpec, cells: list[Cell], grid_dir: Path) -> list[Cell]:
    """offline/transfer: one build stage per distinct build setting; evaluations become frozen."""
    assert spec.build is not None
    b = spec.build
    defaults = RunConfig().model_dump(mode="json")
    builds: dict[str, Cell] = {}
    build_of: dict[str, str] = {}  # eval cell name -> build key
    for cell in cells:
        if cell.kind != "memory":
            continue
        tree = cell.config.model_dump(mode="json")
        for key in EVAL_ONLY:  # defaults: not part of what is built
            set_key(tree, key, get_key(defaults, key))
        overrides = {"env.split": b.split, "env.max_tasks": b.max_tasks,
                     "pipeline.group_size": FROZEN_GROUP, "memory.seed_pack": None,
                     **b.set}  # fmt: skip
        cfg = _config(tree, overrides, f"build of {cell.name}")
        key = hashlib.sha1(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode())
        key_s = key.hexdigest()[:8]
        labels = {k: v for k, v in cell.labels.items() if k not in EVAL_ONLY}
        name = "_".join(["build", *(_slug(v) for v in labels.values())])
        builds.setdefault(key_s, Cell(name=name, kind="build", labels=labels, config=cfg,
                                      pairing=key_s))  # fmt: skip
        build_of[cell.name] = key_s
    names = [c.name for c in builds.values()]
    for key_s, c in builds.items():  # same labels, different build settings: add the hash
        if names.count(c.name) > 1:
            c.name = f"{c.name}_{key_s}"
    for cell in cells:
        cell.config.pipeline.group_size = FROZEN_GROUP
        if cell.name in build_of:
            stage = builds[build_of[cell.name]]
            cell.build = stage.name
            cell.config.memory.seed_pack = str((grid_dir / "cells" / stage.name / PACK).resolve())
    return list(builds.values())


def _controls(cells: list[Cell]) -> list[Cell]:
    """One memory-off cell per pairing group that has memory cells but no control yet."""
    have = {c.pairing for c in cells if c.kind == "control"}
    groups: dict[str, list[Cell]] = {}
    for c in cells:
        if c.kind == "memory" and c.pairing not in have:
            groups.setdefault(c.pairing, []).append(c)
    many = len(groups) > 1
    out = []
    for pairing, members in groups.items():
        first = members[0]
        common = {k: v for k, v in first.labels.items() if not k.startswith("memory.")}
        common = {k: v for k, v in common.items() if all(m.labels.get(k) == v for m in members)}
        short = _short_names(list(common))
        parts = [f"{short[k]}-{_slug(v)}" for k, v in common.items() if k != "cell"]
        name = "control" + ("_" + "_".join(parts) if many and parts else "")
        if many and not parts:
            name = f"control_{pairing}"
        tree = first.config.model_dump(mode="json")
        tree["memory"] = {"enabled": False}
        cfg = _config(tree, {}, name)
        out.append(Cell(name=name, kind="control", labels={**common, "memory": "none"},
                        config=cfg, pairing=pairing))  # fmt: skip
    return out


def _link_controls(cells: list[Cell]) -> None:
    control = {}
    for c in cells:
        if c.kind == "control":
            control.setdefault(c.pairing, c.name)
    for c in cells:
        if c.kind == "memory":
            c.control = control.get(c.pairing)


def split_concurrency(cells: list[Cell], max_parallel: int, totals: dict[str, int]) -> None:
    """Give each cell's processes an equal share of each endpoint's whole-grid limit.

    Every process of a cell (rollout workers, distillers, the writer) has one limiter per
    endpoint, so at most max_parallel x processes x share calls reach an endpoint at once.
    """
    for cell in cells:
        cfg = cell.config
        procs = cfg.pipeline.rollout_workers + cfg.pipeline.distillers + 1
        slots = min(max_parallel, len(cells)) * procs
        for model in filter(None, (cfg.agent, cfg.memory.builder)):
            total = totals.get(model.endpoint, model.concurrency)
            model.concurrency = max(1, total // slots)
