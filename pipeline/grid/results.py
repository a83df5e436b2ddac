"""Finished cells' run directories -> the grid's rows: model x policy, paired with controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.grid.expand import Cell
from pipeline.grid.stats import Paired, Spread, paired, paired_by_type, spread
from pipeline.report.load import load_run
from pipeline.summary import GroupFigures, RunSummary, tally
from pipeline.types import Trajectory


class CellResult(BaseModel):
    cell: Cell
    trajectories: list[Trajectory]
    summary: RunSummary | None
    scores: dict[str, float] = {}  # summary.json `scores` (e.g. TravelPlanner #CS/#HC), if any

    @property
    def groups(self) -> list[GroupFigures]:
        return self.summary.groups if self.summary else []


class Row(BaseModel):
    """One line of the main table: a model x policy, its seeds pooled."""

    model: str
    policy: str
    cells: list[str]
    kind: str
    top_k: int | None
    episodes: int
    success: Spread
    steps: Spread
    tokens: float  # agent tokens per cell, mean over seeds
    cost_per_success: float | None
    scores: dict[str, float]
    vs_control: Paired | None  # pooled over seeds: pairs are (seed, task)
    by_type: dict[str, Paired]


def load_results(cells: list[Cell], grid_dir: Path) -> list[CellResult]:
    out = []
    for cell in cells:
        trajectories: list[Trajectory] = []  # pairs against the control need them
        run = load_run(grid_dir / "cells" / cell.name, seen=trajectories.append)
        raw: dict[str, Any] = {}
        summary_path = run.path / "summary.json"
        if summary_path.is_file():
            raw = json.loads(summary_path.read_text(encoding="utf-8"))
        scores = {k: float(v) for k, v in (raw.get("scores") or {}).items()}
        out.append(
            CellResult(cell=cell, trajectories=trajectories, summary=run.summary, scores=scores)
        )
    return out


def policy_of(cell: Cell) -> str:
    m = cell.config.memory
    if cell.kind == "control":
        return "no memory"
    text = f"{m.build}/{m.retrieve}/{m.update} k={m.top_k}"
    return f"build stage: {text}" if cell.kind == "build" else text


def model_of(cell: Cell, builds: dict[str, Cell]) -> str:
    model = cell.config.agent.model
    if model.startswith("sim/"):  # the stand-in's strength is its skill knob
        model = f"{model} (skill {cell.config.sim.skill:g})"
    stage = builds.get(cell.build or "")
    if stage is not None:
        built = model_of(stage, {})
        if built != model:
            return f"{built} -> {model}"
    return model


def _replicate_key(cell: Cell) -> str:
    labels = {k: v for k, v in cell.labels.items() if k != "run.seed"}
    return json.dumps([cell.kind, labels], sort_keys=True, default=str)


def rows(results: list[CellResult], seed: int = 0) -> list[Row]:
    """Main-table rows in cell order; cells differing only in run.seed form one row."""
    by_name = {r.cell.name: r for r in results}
    builds = {r.cell.name: r.cell for r in results if r.cell.kind == "build"}
    groups: dict[str, list[CellResult]] = {}
    for r in results:
        if r.cell.kind != "build":  # build stages only feed evaluations; no row of their own
            groups.setdefault(_replicate_key(r.cell), []).append(r)
    out = []
    for members in groups.values():
        first = members[0].cell
        mem: list[Trajectory] = []
        ctrl: list[Trajectory] = []
        for r in members:
            control = by_name.get(r.cell.control or "")
            if control is None:
                continue
            s = r.cell.config.run.seed
            mem += [_reseed(t, s) for t in r.trajectories]
            ctrl += [_reseed(t, s) for t in control.trajectories]
        totals = [tally(r.trajectories) for r in members]
        tokens = [_tokens(r) for r in members]
        cost = sum(_cost(r) for r in members)
        successes = sum(t.successes for t in totals)
        scores: dict[str, list[float]] = {}
        for r in members:
            for k, v in r.scores.items():
                scores.setdefault(k, []).append(v)
        out.append(
            Row(
                model=model_of(first, builds),
                policy=policy_of(first),
                cells=[r.cell.name for r in members],
                kind=first.kind,
                top_k=first.config.memory.top_k if first.kind == "memory" else None,
                episodes=sum(t.episodes for t in totals),
                success=spread([t.success_rate for t in totals]),
                steps=spread([t.mean_steps for t in totals]),
                tokens=sum(tokens) / len(tokens),
                cost_per_success=cost / successes if successes else None,
                scores={k: sum(v) / len(v) for k, v in scores.items()},
                vs_control=paired(mem, ctrl, seed) if mem and ctrl else None,
                by_type=paired_by_type(mem, ctrl, seed) if mem and ctrl else {},
            )
        )
    return out


def _reseed(traj: Trajectory, seed: int) -> Trajectory:
    """Task ids made unique per seed, so pooled pairs never cross seeds."""
    task = traj.task.model_copy(update={"id": f"{seed}:{traj.task.id}"})
    return traj.model_copy(update={"task": task})


def _tokens(r: CellResult) -> float:
    # From the trajectories, not summary.json: exact across resumes (a resumed run's summary
    # counts the memory roles' calls of its last part only).
    return float(tally(r.trajectories).tokens)


def _cost(r: CellResult) -> float:
    return tally(r.trajectories).cost_usd
