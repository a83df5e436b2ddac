"""One run directory as the viewer sees it: re-read when its files change, never written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from pipeline.prompts import render_memory
from pipeline.runlog import (
    CONFIG,
    MANIFEST,
    MEMORY_COMMITS,
    MEMORY_OPS,
    SUMMARY,
    TRAJECTORIES,
    MemoryCommit,
    RunDirError,
)
from pipeline.summary import RunSummary
from pipeline.types import MemoryOp, Procedure, Trajectory
from pipeline.view.episodes import EpisodeRow, episode_row
from pipeline.view.figures import RunFigures, run_figures
from pipeline.view.index import JsonlIndex
from pipeline.view.lives import MemoryReplay
from pipeline.view.records import RecordError, parse_tolerant

RUN_MARKERS = (TRAJECTORIES, CONFIG, MANIFEST)
T = TypeVar("T")


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in RUN_MARKERS)


class Parsed(BaseModel):
    """A record line parsed tolerantly: the record, fields this memp does not know, or why not."""

    n: int
    record: Any = None
    extras: dict[str, Any] = {}
    error: str | None = None


def _parser(model: type[BaseModel]):
    def parse(n: int, line: bytes) -> Parsed:
        try:
            record, extras = parse_tolerant(model, line)
        except RecordError as err:
            return Parsed(n=n, error=str(err))
        return Parsed(n=n, record=record, extras=extras)

    return parse


class MemoryGiven(BaseModel):
    """The memory slot of an episode's prompt and where its text comes from."""

    text: str | None
    source: str  # "recorded" | "reconstructed" | "none"
    note: str = ""
    procedures: list[tuple[str, Procedure | None]] = []


class Facets(BaseModel):
    types: list[str]
    statuses: list[str]
    groups: list[int]


class Divergence(BaseModel):
    version: int
    replayed: int
    recorded: int


class RunView:
    """Indexes of the run's logs plus cached small files; `refresh` picks up what was appended."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self.episodes: JsonlIndex[EpisodeRow] = JsonlIndex(path / TRAJECTORIES, episode_row)
        self.ops: JsonlIndex[Parsed] = JsonlIndex(path / MEMORY_OPS, _parser(MemoryOp))
        self.commits: JsonlIndex[Parsed] = JsonlIndex(path / MEMORY_COMMITS, _parser(MemoryCommit))
        self._files: dict[str, tuple[tuple[int, int], Any]] = {}
        self.by_id: dict[str, int] = {}
        self.given_to: dict[str, list[int]] = {}  # procedure id -> rows it was retrieved for
        self._rows_seen = 0
        self.replay = MemoryReplay()
        self._fed = 0  # ops fed to the replay
        self._commits_seen = 0
        self._resets = (0, 0)
        self.trajectory_group: dict[str, int] = {}
        self.version_bound: dict[int, int] = {0: 0}  # memory version -> last op seq it covers
        self.divergence: list[Divergence] = []
        self._cache: dict[str, tuple[Any, Any]] = {}

    # ---- small files, re-read when (mtime, size) changes ----

    def _file(self, name: str, load) -> Any:
        path = self.path / name
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._files.pop(name, None)
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._files.get(name)
        if cached is None or cached[0] != stamp:
            try:
                value = load(path.read_bytes())
            except (ValueError, yaml.YAMLError, RecordError, UnicodeDecodeError) as err:
                value = RunDirError(f"{name}: {str(err).splitlines()[0] if str(err) else err}")
            cached = self._files[name] = (stamp, value)
        return cached[1]

    @property
    def config(self) -> dict[str, Any] | RunDirError | None:
        def load(data: bytes) -> Any:
            tree = yaml.safe_load(data) or {}
            if not isinstance(tree, dict):
                raise ValueError("top level is not a mapping")
            return tree

        return self._file(CONFIG, load)

    @property
    def manifest(self) -> dict[str, Any] | RunDirError | None:
        return self._file(MANIFEST, json.loads)

    @property
    def summary(self) -> tuple[RunSummary, dict[str, Any]] | RunDirError | None:
        return self._file(SUMMARY, lambda data: parse_tolerant(RunSummary, data))

    def setting(self, *keys: str, default: Any = None) -> Any:
        node: Any = self.config
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    @property
    def finished(self) -> bool:
        return isinstance(self.summary, tuple)

    # ---- logs ----

    def refresh(self) -> None:
        self.episodes.refresh()
        self.ops.refresh()
        self.commits.refresh()
        resets = (self.ops.resets, self.commits.resets)
        if resets != self._resets:  # a log was replaced: replay from scratch
            self._resets = resets
            self._restart_memory()
        if self.episodes.resets and self._rows_seen > len(self.episodes):
            self.by_id, self.given_to, self._rows_seen = {}, {}, 0
        for row in self.episodes.rows[self._rows_seen :]:
            self.by_id[row.id] = row.n
            for pid in dict.fromkeys(row.memory_ids):
                self.given_to.setdefault(pid, []).append(row.n)
        self._rows_seen = len(self.episodes.rows)
        self._feed_memory()

    def _restart_memory(self) -> None:
        self.replay = MemoryReplay()
        self._fed = self._commits_seen = 0
        self.trajectory_group, self.version_bound, self.divergence = {}, {0: 0}, []

    def _feed_memory(self) -> None:
        """Feed ops commit by commit: an op past the last commit may not be applied yet."""
        rows = self.commits.rows
        for parsed in rows[self._commits_seen :]:
            commit: MemoryCommit | None = parsed.record
            self._commits_seen += 1
            if commit is None:
                continue
            self.replay.merged.update(commit.merged)
            for tid in commit.trajectory_ids:
                if commit.group is not None:
                    self.trajectory_group[tid] = commit.group
            if commit.last_seq is not None:
                self.replay.begin_batch()
                self._feed_ops(commit.last_seq)
            bound = max(self.version_bound.get(commit.version, 0), commit.last_seq or 0)
            self.version_bound[commit.version] = max(bound, max(self.version_bound.values()))
            if self.replay.active() != commit.size:
                self.divergence.append(
                    Divergence(
                        version=commit.version, replayed=self.replay.active(),
                        recorded=commit.size,
                    )
                )  # fmt: skip

    def _feed_ops(self, last_seq: int) -> None:
        rows = self.ops.rows
        while self._fed < len(rows):
            op: MemoryOp | None = rows[self._fed].record
            if op is not None and (op.seq or 0) > last_seq:
                return
            if op is not None:
                self.replay.feed(op)
            self._fed += 1

    @property
    def uncommitted_ops(self) -> int:
        return len(self.ops) - self._fed

    def unreadable(self) -> list[str]:
        """Lines of the logs that could not be read, named by file and line."""
        out = [
            f"{TRAJECTORIES}:{r.n + 1}: {r.unreadable}" for r in self.episodes.rows if r.unreadable
        ]
        for name, index in ((MEMORY_OPS, self.ops), (MEMORY_COMMITS, self.commits)):
            out.extend(f"{name}:{p.n + 1}: {p.error}" for p in index.rows if p.error)
        return out

    # ---- episodes ----

    def _derived(self, name: str, build: Callable[[], T]) -> T:
        """Figures over all rows, rebuilt only when the logs or the config changed."""
        self.config  # noqa: B018 - re-stats config.yaml so its stamp below is current
        stamp = (self._files.get(CONFIG) or (None,))[0]
        key = (self.episodes.generation, self.commits.generation, stamp)
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            hit = self._cache[name] = (key, build())
        return hit[1]

    def groups(self) -> list[int | None]:
        """Each row's sync group: from the commit that closed it, else file order (sync mode)."""

        def build() -> list[int | None]:
            size = self.setting("pipeline", "group_size")
            sync = self.setting("pipeline", "mode", default="sync") == "sync"
            chunk = max(1, size) if sync and isinstance(size, int) else None
            found = self.trajectory_group
            return [found.get(r.id, r.n // chunk if chunk else None) for r in self.episodes.rows]

        return self._derived("groups", build)

    def group_of(self, row: EpisodeRow) -> int | None:
        return self.groups()[row.n]

    def figures(self) -> RunFigures:
        return self._derived("figures", lambda: run_figures(self.episodes.rows, self.groups()))

    def facets(self) -> Facets:
        """The values the episode filters offer."""

        def build() -> Facets:
            rows = self.episodes.rows
            return Facets(
                types=sorted({r.task_type for r in rows if r.task_type}),
                statuses=sorted({r.status for r in rows}),
                groups=sorted({g for g in self.groups() if g is not None}),
            )

        return self._derived("facets", build)

    def trajectory(self, n: int) -> tuple[Trajectory, dict[str, Any]]:
        return parse_tolerant(Trajectory, self.episodes.line(n))

    def memory_given(self, traj: Trajectory, extras: dict[str, Any]) -> MemoryGiven:
        """The recorded memory text if the trajectory carries one, else rebuilt from the op log."""
        recorded = getattr(traj, "memory_text", None) or extras.get("memory_text")
        if not traj.memory_ids:
            return MemoryGiven(text=recorded, source="recorded" if recorded else "none")
        bound = max((s for v, s in self.version_bound.items() if v <= traj.memory_version),
                    default=0)  # fmt: skip
        procs = [(pid, life.at(bound) if (life := self.replay.lives.get(pid)) else None)
                 for pid in traj.memory_ids]  # fmt: skip
        if recorded:
            return MemoryGiven(text=recorded, source="recorded", procedures=procs)
        known = [p for _, p in procs if p is not None]
        note = (
            f"reconstructed: the trajectory does not record its prompt's memory text, so this is "
            f"each procedure's content at memory version {traj.memory_version} (ops up to seq "
            f"{bound}), rendered as the retriever renders it"
        )
        if len(known) != len(procs):
            note += "; some procedures are not in the op log"
        if self.divergence:
            note += "; the replay does not match the writer's commits (see the procedures page)"
        return MemoryGiven(text=render_memory(known), source="reconstructed", note=note,
                           procedures=procs)  # fmt: skip
