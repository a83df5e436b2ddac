"""The task stream in run order: positions, sync groups, what a resume has already recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from pipeline.config import RunConfig
from pipeline.envs import EnvSuite, get_suite
from pipeline.runlog import RunDir, RunDirError
from pipeline.summary_pass import in_step
from pipeline.task_source import task_stream
from pipeline.types import Task, Trajectory


def planned_total(suite: EnvSuite, cfg: RunConfig) -> int | None:
    """How many tasks the run has, when that is finite and cheap to know."""
    if cfg.env.split == "endless" and not cfg.env.tasks_file:
        return cfg.env.max_tasks
    return sum(1 for _ in task_stream(suite, cfg.env))


class TaskPlan:
    """The task stream in order with positions; tasks already recorded are skipped, not re-run.

    Every recorded task gets its stream position at once (the stream is read ahead past it), so
    a recorded trajectory's group never depends on how far the resumed run has dispatched.
    Bounded for endless runs: a task whose work is done (recorded, memory committed) is retired;
    positions below `watermark` are all retired, and only retired positions above it are kept.
    """

    def __init__(self, tasks: Iterator[Task] | list[Task], group_size: int,
                 recorded: Iterable[Trajectory] = ()) -> None:  # fmt: skip
        self.group_size = group_size
        self.recorded: dict[str, Trajectory] = {}  # not retired
        self.position: dict[str, int] = {}  # tasks read from the stream and not retired
        self.watermark = 0  # every position below it is retired
        self._retired: set[int] = set()  # retired positions at or above the watermark
        self._stream: Iterator[Task] = iter(tasks)
        self._ahead: deque[tuple[int, Task]] = deque()  # read past, not recorded, not dispatched
        self._passed: dict[str, tuple[int, Task]] = {}  # read past while locating, by id
        self._count = 0
        self.exhausted = False
        for traj in recorded:
            self.locate(traj)
        self.located()

    @classmethod
    def for_run(cls, suite: EnvSuite, cfg: RunConfig, run_dir: RunDir,
                seen: Callable[[Trajectory], None] | None = None) -> TaskPlan:  # fmt: skip
        """A resumed run's plan from its logs, read once and in step; `seen` gets every record.

        Recorded work that needs nothing more (memory off, or its commit recorded) is retired as
        it is read, so only the uncommitted trajectories are kept, never the whole log.
        """
        plan = cls(task_stream(suite, cfg.env), cfg.pipeline.group_size)
        memory_on = cfg.memory.enabled

        def read(traj: Trajectory) -> str:
            if seen is not None:
                seen(traj)
            plan.locate(traj)
            if not memory_on:
                plan.retire(traj.task.id)
            return traj.task.id

        for _, task_ids in in_step(run_dir.stream_trajectories(), run_dir.stream_commits(), read):
            for task_id in task_ids:
                plan.retire(task_id)
        plan.located()
        return plan

    def _read(self) -> tuple[int, Task] | None:
        for task in self._stream:
            index = self._count
            self._count += 1
            self.position[task.id] = index
            return index, task
        return None

    def locate(self, traj: Trajectory) -> None:
        """A recorded trajectory: read the stream past its task (a resume), so it has a position."""
        task_id = traj.task.id
        if task_id not in self.recorded and self._passed.pop(task_id, None) is None:
            while (item := self._read()) is None or item[1].id != task_id:
                if item is None:
                    raise RunDirError(
                        f"recorded task {task_id} is not in this run's task stream; "
                        "was the tasks file changed?"
                    )
                self._passed[item[1].id] = item
        self.recorded[task_id] = traj

    def located(self) -> None:
        """Every recorded trajectory is located: tasks read past them are the next to dispatch."""
        self._ahead.extend(self._passed.values())  # in stream order
        self._passed = {}

    def _fill(self) -> None:
        """Make `_ahead[0]` the next task to dispatch, if any is left."""
        while not self._ahead:
            item = self._read()
            if item is None:
                self.exhausted = True
                return
            if item[1].id not in self.recorded:
                self._ahead.append(item)

    def group_of(self, task_id: str) -> int:
        return self.position[task_id] // self.group_size

    def peek(self) -> tuple[int, Task] | None:
        self._fill()
        return self._ahead[0] if self._ahead else None

    def pop(self) -> Task:
        nxt = self.peek()
        assert nxt is not None
        self._ahead.popleft()
        return nxt[1]

    def seen_through(self, group: int) -> bool:
        """Every task of `group` has left the stream (dispatched or found recorded)."""
        nxt = self.peek()
        return nxt is None or nxt[0] // self.group_size > group

    def last_group(self) -> int:
        return max(self._count - 1, 0) // self.group_size

    def record(self, traj: Trajectory) -> None:
        self.recorded[traj.task.id] = traj

    def retire(self, task_id: str) -> None:
        """The task's work is done: forget its trajectory and position (endless runs stay small)."""
        self.recorded.pop(task_id, None)
        pos = self.position.pop(task_id, None)
        if pos is None or pos < self.watermark:
            return
        self._retired.add(pos)
        while self.watermark in self._retired:
            self._retired.discard(self.watermark)
            self.watermark += 1

    def retired_count(self) -> int:
        """Retired tasks still tracked above the watermark (out of order): stays small."""
        return len(self._retired)

    def in_group(self, group: int) -> list[Trajectory]:
        """Recorded, unretired trajectories of a sync group, in task order (as memory sees them)."""
        found = [t for t in self.recorded.values() if self.group_of(t.task.id) == group]
        return sorted(found, key=lambda t: self.position[t.task.id])

    def group_complete(self, group: int) -> bool:
        """Every task of `group` is recorded (nothing of it is left to run)."""
        if not self.seen_through(group):
            return False
        first = group * self.group_size
        last = min(first + self.group_size, self._count)
        retired = sum(1 for p in range(first, last) if p < self.watermark or p in self._retired)
        return retired + len(self.in_group(group)) == last - first


class StreamPositions:
    """Stream positions of task ids, reading the stream only as far as the ids asked for."""

    def __init__(self, tasks: Iterator[Task] | list[Task]) -> None:
        self._stream = iter(tasks)
        self._read = 0
        self._found: dict[str, int] = {}  # a sync run's suite is finite: a map over it is small

    def __getitem__(self, task_id: str) -> int:
        while task_id not in self._found:
            task = next(self._stream, None)
            if task is None:
                raise RunDirError(f"recorded task {task_id} is not in this run's task stream")
            self._found.setdefault(task.id, self._read)
            self._read += 1
        return self._found[task_id]


def check_inputs(cfg: RunConfig, run_dir: RunDir | None = None) -> None:
    """Before Ray starts: the tasks read, and a resumed run directory's logs parse and fit them.

    Reads only (no torn line is cut, nothing is written), so a refused resume changes nothing.
    """
    suite = get_suite(cfg.env)
    stream = task_stream(suite, cfg.env)  # an unknown split fails here
    if cfg.env.split != "endless" or cfg.env.tasks_file:
        for _ in stream:  # every line of a tasks file parses, not only the first ones
            pass
    if run_dir is None:
        return
    for _ in run_dir.stream_ops():
        pass
    TaskPlan.for_run(suite, cfg, run_dir)  # the logs parse; recorded tasks are in the stream
