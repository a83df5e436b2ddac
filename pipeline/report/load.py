"""Load a recorded run directory (config, trajectories, memory ops, summary) for reporting."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import MempError
from pipeline.runlog import (
    CONFIG,
    MEMORY_COMMITS,
    MEMORY_OPS,
    SUMMARY,
    TRAJECTORIES,
    MemoryCommit,
    RunDirError,
    read_jsonl,
)
from pipeline.summary import RunSummary, Tally
from pipeline.summary_pass import GroupSums
from pipeline.types import MemoryOp, Trajectory

M = TypeVar("M", bound=BaseModel)


class ReportError(MempError, ValueError):
    """Input the report cannot use; the message is one line naming the file (and line)."""


class RunMeta(BaseModel):
    """What the report needs from config.yaml; tolerant of keys it does not know."""

    model: str = ""
    memory_enabled: bool = False
    build: str = ""
    retrieve: str = ""
    update: str = ""
    group_size: int = Field(20, ge=1)
    mode: str = "sync"
    env: str = ""
    split: str = ""


class Episodes:
    """What the report keeps of trajectories.jsonl, read once: tallies, never the records."""

    def __init__(self) -> None:
        self.total = Tally()
        self.by_type: dict[str, Tally] = {}
        self.steps: dict[int, int] = {}  # n_steps -> episodes
        self.chunks: list[GroupSums] = []  # groups of group_size in file order
        self.model = ""  # the first trajectory's
        self.start = math.inf  # the earliest started_at
        self.end = -math.inf  # the latest started_at + wall_s

    def add(self, traj: Trajectory, group_size: int) -> None:
        if not self.total.episodes:
            self.model = traj.model
        if self.total.episodes % group_size == 0:
            self.chunks.append(GroupSums())
        self.chunks[-1].add(traj)
        self.total.add(traj)
        self.by_type.setdefault(traj.task.task_type, Tally()).add(traj)
        self.steps[traj.n_steps] = self.steps.get(traj.n_steps, 0) + 1
        self.start = min(self.start, traj.started_at)
        self.end = max(self.end, traj.started_at + traj.wall_s)


class OpMark(NamedTuple):
    """What the memory timeline needs of an op (not its procedure)."""

    kind: str
    procedure_id: str
    seq: int | None


class RunData(BaseModel):
    """Everything recorded in one run directory, parsed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)  # Episodes: plain tallies

    path: Path
    name: str
    meta: RunMeta
    has_config: bool
    episodes: Episodes
    ops: list[OpMark] = Field(default_factory=list)
    has_ops_file: bool = False
    commits: list[MemoryCommit] = Field(default_factory=list)
    summary: RunSummary | None = None

    @property
    def memory_on(self) -> bool:
        return self.meta.memory_enabled or self.has_ops_file

    @property
    def is_sim(self) -> bool:
        return self.meta.model.startswith("sim/")

    @property
    def label(self) -> str:
        """Legend text: run dir name, model and memory policy."""
        if not self.memory_on:
            return f"{self.name} ({self.meta.model}, no memory)"
        policy = "/".join(p for p in (self.meta.build, self.meta.retrieve, self.meta.update) if p)
        return f"{self.name} ({self.meta.model}, {policy or 'memory'})"


def _section(tree: dict[str, Any], key: str) -> dict[str, Any]:
    value = tree.get(key)
    return value if isinstance(value, dict) else {}


def load_meta(path: Path) -> RunMeta:
    """Pick the report's fields out of config.yaml (unknown keys are ignored)."""
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ReportError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(tree, dict):
        raise ReportError(f"{path}: top level must be a mapping of sections")
    agent, memory = _section(tree, "agent"), _section(tree, "memory")
    env, pipe = _section(tree, "env"), _section(tree, "pipeline")
    fields = {
        "model": agent.get("model"),
        "memory_enabled": memory.get("enabled"),
        "build": memory.get("build"),
        "retrieve": memory.get("retrieve"),
        "update": memory.get("update"),
        "group_size": pipe.get("group_size"),
        "mode": pipe.get("mode"),
        "env": env.get("name"),
        "split": env.get("split"),
    }
    try:
        return RunMeta.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        raise ReportError(f"{path}: bad value for {first['loc'][0]!r} ({first['msg']})") from None


def _records(path: Path, model: type[M]) -> Iterator[M]:
    try:
        yield from read_jsonl(path, model)
    except RunDirError as err:
        raise ReportError(str(err)) from None
    except UnicodeDecodeError as err:
        raise ReportError(f"{path}: not UTF-8 text (byte {err.start})") from None


def load_summary(path: Path) -> RunSummary | None:
    """summary.json, or None when the run never wrote one (a crashed or running job)."""
    if not path.is_file():
        return None
    try:
        return RunSummary.model_validate_json(path.read_bytes())
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ReportError(f"{path}: not a valid run summary ({where}: {first['msg']})") from None


def load_run(path: Path, seen: Callable[[Trajectory], None] | None = None) -> RunData:
    """Parse one run directory; raise ReportError (one line) for anything unusable.
    `seen` gets every trajectory as it is read (the report itself keeps only tallies)."""
    if not path.exists():
        raise ReportError(f"{path}: no such run directory")
    if not path.is_dir():
        raise ReportError(f"{path}: not a directory")
    traj_path = path / TRAJECTORIES
    if not traj_path.is_file():
        raise ReportError(f"{path}: not a run directory (no {TRAJECTORIES})")
    config_path = path / CONFIG
    has_config = config_path.is_file()
    bad_config: ReportError | None = None
    try:  # its group size is wanted while reading; a bad log is still the first error shown
        meta = load_meta(config_path) if has_config else RunMeta()
    except ReportError as err:
        meta, bad_config = RunMeta(), err
    episodes = Episodes()
    for traj in _records(traj_path, Trajectory):
        episodes.add(traj, meta.group_size)
        if seen is not None:
            seen(traj)
    if not episodes.total.episodes:
        raise ReportError(f"{traj_path}: holds no trajectories yet")
    if bad_config is not None:
        raise bad_config
    summary = load_summary(path / SUMMARY)
    if not meta.model:
        meta.model = (summary.model if summary else "") or episodes.model
    ops_path = path / MEMORY_OPS
    ops = [OpMark(op.kind, op.procedure_id, op.seq) for op in _records(ops_path, MemoryOp)]
    ops.sort(key=lambda op: op.seq if op.seq is not None else 0)  # stable: file order for ties
    # A commit's trajectory ids and usage are not shown: dropped as read (a long run has many).
    commits = [
        c.model_copy(update={"trajectory_ids": [], "usage": {}})
        for c in _records(path / MEMORY_COMMITS, MemoryCommit)
    ]
    return RunData(
        path=path,
        name=path.resolve().name,
        meta=meta,
        has_config=has_config,
        episodes=episodes,
        ops=ops,
        has_ops_file=ops_path.is_file(),
        commits=commits,
        summary=summary,
    )


def load_runs(paths: list[Path]) -> list[RunData]:
    """Load every run; names are made unique (parent/name) when two dirs share a name."""
    runs = [load_run(p) for p in paths]
    names = [r.name for r in runs]
    for run in runs:
        if names.count(run.name) > 1:
            run.name = f"{run.path.resolve().parent.name}/{run.name}"
    return runs
