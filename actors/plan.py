"""The driver's bookkeeping without Ray: task order and groups, resume state, figures."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.config import RunConfig
from pipeline.envs import EnvSuite
from pipeline.runlog import MemoryCommit
from pipeline.summary import GroupFigures, group_figures
from pipeline.task_source import task_stream
from pipeline.types import Task, Trajectory


def planned_total(suite: EnvSuite, cfg: RunConfig) -> int | None:
    """How many tasks the run has, when that is finite and cheap to know."""
    if cfg.env.split == "endless" and not cfg.env.tasks_file:
        return cfg.env.max_tasks
    return sum(1 for _ in task_stream(suite, cfg.env))


class TaskPlan:
    """The task stream in order with positions; tasks already recorded are skipped, not re-run."""

    def __init__(self, suite: EnvSuite, cfg: RunConfig, recorded: list[Trajectory]) -> None:
        self.group_size = cfg.pipeline.group_size
        self.recorded: dict[str, Trajectory] = {t.task.id: t for t in recorded}
        self.position: dict[str, int] = {}
        self.forgotten: set[str] = set()  # recorded, trajectory dropped: still never re-run
        self._stream: Iterator[Task] = iter(task_stream(suite, cfg.env))
        self._next: tuple[int, Task] | None = None
        self._count = 0
        self.exhausted = False
        self._advance()

    def _advance(self) -> None:
        """Move to the next task not recorded yet, noting positions of recorded ones on the way."""
        for task in self._stream:
            index = self._count
            self._count += 1
            self.position[task.id] = index
            if task.id not in self.recorded and task.id not in self.forgotten:
                self._next = (index, task)
                return
        self._next = None
        self.exhausted = True

    def group_of(self, task_id: str) -> int:
        return self.position.get(task_id, 0) // self.group_size

    def peek(self) -> tuple[int, Task] | None:
        return self._next

    def pop(self) -> Task:
        assert self._next is not None
        task = self._next[1]
        self._advance()
        return task

    def seen_through(self, group: int) -> bool:
        """Every task of `group` has left the stream (dispatched or found recorded)."""
        return self.exhausted or (
            self._next is not None and self._next[0] // self.group_size > group
        )

    def record(self, traj: Trajectory) -> None:
        self.recorded[traj.task.id] = traj

    def forget(self, task_ids: Iterable[str]) -> None:
        """Drop trajectories nothing needs any more (memory committed, or memory off).

        An endless run must not hold every episode: the run directory has them on disk."""
        for task_id in task_ids:
            if self.recorded.pop(task_id, None) is not None:
                self.forgotten.add(task_id)

    def in_group(self, group: int) -> list[Trajectory]:
        """Recorded trajectories of a sync group, in task order (the order memory sees them)."""
        found = [t for t in self.recorded.values() if self.group_of(t.task.id) == group]
        return sorted(found, key=lambda t: self.position.get(t.task.id, 0))


def figures_by_group(
    trajectories: list[Trajectory],
    group_of: dict[str, int],
    commits: list[MemoryCommit],
) -> list[GroupFigures]:
    """Learning curve rows; a group's memory size is the size at its trajectories' last commit."""
    size_after: dict[str, int] = {}
    for c in commits:
        for tid in c.trajectory_ids:
            size_after[tid] = max(size_after.get(tid, 0), c.size)
    groups: dict[int, list[Trajectory]] = {}
    for t in trajectories:
        groups.setdefault(group_of[t.id], []).append(t)
    return [
        group_figures(g, trajs, max((size_after.get(t.id, 0) for t in trajs), default=0))
        for g, trajs in sorted(groups.items())
    ]
