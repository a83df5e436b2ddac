"""One streaming pass over a run's logs: every figure of summary.json and the console table.

Memory stays flat however long the run was: trajectories and commit records are read one at a
time, and only tallies (per task type, per group) and the not-yet-committed ids are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from pipeline.runlog import MemoryCommit
from pipeline.summary import ExactSum, GroupFigures, RunSummary, Tally, group_row, summary_of
from pipeline.types import Trajectory, Usage

# Ids already met in a commit and kept to place a repeat (a batch retried after the writer died
# past its commit record commits its ids again, a few records later).
RECENT_IDS = 65_536
# An async run's learning curve runs over completion order and grows with it (50,000 rows per
# million episodes at group 20): past this many rows, rows merge pairwise (twice the episodes).
MAX_GROUP_ROWS = 2048


V = TypeVar("V")
_UNREAD = object()


def in_step(trajectories: Iterable[Trajectory], commits: Iterable[MemoryCommit],
            read: Callable[[Trajectory], V]) -> Iterator[tuple[MemoryCommit, list[V]]]:  # fmt: skip
    """Both logs read once, in step: `read` turns each trajectory (in log order) into what the
    caller keeps of it; each commit comes with that of its ids. Trailing trajectories are read too.

    Held: trajectories read but not yet committed (a commit follows its trajectories' records),
    and the last RECENT_IDS committed ids.
    """
    trajs: Iterator[Trajectory] = iter(trajectories)
    pending: dict[str, V] = {}  # read, not yet in a commit
    recent: dict[str, V] = {}
    for commit in commits:
        found: list[V] = []
        for tid in commit.trajectory_ids:
            value: Any = pending.pop(tid, _UNREAD)
            if value is _UNREAD:
                value = recent.get(tid, _UNREAD)
            while value is _UNREAD:
                traj = next(trajs, None)
                if traj is None:
                    break  # no such trajectory recorded: it counts nowhere
                kept = read(traj)
                if traj.id == tid:
                    value = kept
                else:
                    pending[traj.id] = kept
            if value is _UNREAD:
                continue
            recent[tid] = value
            if len(recent) > RECENT_IDS:
                del recent[next(iter(recent))]
            found.append(value)
        yield commit, found
    for traj in trajs:
        read(traj)


class Positions(Protocol):
    def __getitem__(self, task_id: str) -> int: ...


class GroupSums:
    """A learning-curve row in the making: a Tally's group figures only (a run has many groups)."""

    __slots__ = ("cost", "episodes", "steps", "successes", "tokens")

    def __init__(self) -> None:
        self.episodes = self.successes = self.steps = self.tokens = 0
        self.cost = ExactSum()

    def add(self, traj: Trajectory) -> None:
        self.episodes += 1
        self.successes += int(traj.success)
        self.steps += traj.n_steps
        self.tokens += traj.usage.prompt_tokens + traj.usage.completion_tokens
        self.cost.add(traj.usage.cost_usd)

    def merge(self, other: GroupSums) -> None:
        self.episodes += other.episodes
        self.successes += other.successes
        self.steps += other.steps
        self.tokens += other.tokens
        self.cost.merge(other.cost)

    def row(self, group: int, memory_size: int) -> GroupFigures:
        t = Tally(episodes=self.episodes, successes=self.successes, steps=self.steps,
                  prompt_tokens=self.tokens, cost_usd=self.cost.total())  # fmt: skip
        return group_row(group, t, memory_size)


class SummaryPass:
    """Fed one trajectory and commit at a time; sums are exact, so finish order does not count.

    Groups of `group_size` run over task positions (sync mode: `positions` maps a task id to its
    stream position) or, without positions, over completion order (async mode), where the rows
    widen (double) whenever there would be more than `max_rows` of them.
    """

    def __init__(self, group_size: int, positions: Positions | None = None,
                 max_rows: int = MAX_GROUP_ROWS) -> None:  # fmt: skip
        self.group_size = group_size
        self.width = group_size  # episodes per row
        self.max_rows = max_rows if positions is None else None  # sync: the suite's groups
        self.positions = positions
        self.task_types: dict[str, Tally] = {}
        self.groups: dict[int, GroupSums] = {}
        self.memory_size: dict[int, int] = {}  # group -> the largest size of its commits
        self.episodes = 0
        self._usage: dict[str, tuple[Usage, ExactSum]] = {}  # commits' usage; cost kept exact

    def add(self, traj: Trajectory) -> int:
        """Count one trajectory; returns its place (stream position or completion index)."""
        place = self.episodes if self.positions is None else self.positions[traj.task.id]
        self.episodes += 1
        self.task_types.setdefault(traj.task.task_type, Tally()).add(traj)
        self.groups.setdefault(place // self.width, GroupSums()).add(traj)
        if self.max_rows is not None and len(self.groups) > self.max_rows:
            self._widen()
        return place

    def _widen(self) -> None:
        """Twice the episodes per row: rows 2g and 2g+1 become row g (sums stay exact)."""
        self.width *= 2
        groups, self.groups = self.groups, {}
        for g, sums in groups.items():
            self.groups.setdefault(g // 2, GroupSums()).merge(sums)
        sizes, self.memory_size = self.memory_size, {}
        for g, size in sizes.items():
            self.memory_size[g // 2] = max(self.memory_size.get(g // 2, 0), size)

    def feed(self, trajectories: Iterable[Trajectory], commits: Iterable[MemoryCommit]) -> None:
        """Both logs, each read once and in step: a commit follows its trajectories' records."""
        for commit, places in in_step(trajectories, commits, self.add):
            self._add_usage(commit.usage)
            for group in {place // self.width for place in places}:
                self.memory_size[group] = max(self.memory_size.get(group, 0), commit.size)

    def _add_usage(self, usage: dict[str, Usage]) -> None:
        for role, u in usage.items():
            seen, cost = self._usage.get(role, (Usage(), ExactSum()))
            cost.add(u.cost_usd)
            self._usage[role] = (seen + u, cost)

    def commit_usage(self) -> dict[str, Usage]:
        """LLM usage by role summed over the commit records (cost exactly)."""
        return {
            role: u.model_copy(update={"cost_usd": cost.total()})
            for role, (u, cost) in sorted(self._usage.items())
        }

    def group_figures(self) -> list[GroupFigures]:
        """Learning curve rows; a group's memory size: the size at its trajectories' last commit."""
        return [t.row(g, self.memory_size.get(g, 0)) for g, t in sorted(self.groups.items())]

    def summary(self, **figures: Any) -> RunSummary:
        """summary_of() with this pass's tallies and groups; `figures` as summarize() takes them."""
        types = dict(sorted(self.task_types.items()))
        widened = self.width if self.width != self.group_size else None
        return summary_of(types, groups=self.group_figures(), group_episodes=widened, **figures)
