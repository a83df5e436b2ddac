"""The Scheduler in one process: sync barrier, async version lag, update_every, lost episodes,
stops and resume from every kind of partial state (no Ray)."""

from __future__ import annotations

import random

import pytest

from pipeline.orchestrate.plan import TaskPlan
from pipeline.orchestrate.scheduler import MemoryBatch, Scheduler
from pipeline.runlog import RunDirError
from pipeline.types import Task, Trajectory


def _tasks(n: int) -> list[Task]:
    return [
        Task(id=f"t{i:03d}", env="toy", split="s", task_type="x", goal=f"g{i}", seed=i)
        for i in range(n)
    ]


def _traj(task: Task) -> Trajectory:
    return Trajectory(id=f"e-{task.id}", task=task, model="sim")


def _sched(n: int, recorded: list[Trajectory] = (), committed: set[str] = (), **kw) -> Scheduler:
    opts = {"sync": True, "memory_on": True, "max_in_flight": 100, "group_size": 4} | kw
    plan = TaskPlan(_tasks(n), opts.pop("group_size"), list(recorded))
    return Scheduler(plan, committed=set(committed), **opts)


class Sim:
    """Drives a Scheduler like the driver does; finishes work in a seeded random order."""

    def __init__(self, sched: Scheduler, seed: int = 0, stop_after: int | None = None) -> None:
        self.s = sched
        self.rng = random.Random(seed)
        self.running: list[Task] = []
        self.batches: list[MemoryBatch] = []
        self.commits: list[MemoryBatch] = []
        self.recorded: list[Trajectory] = []
        self.max_lag_seen = 0
        self.stop_after = stop_after

    def _dispatch(self) -> None:
        behind = self.s.outstanding  # versions a new episode's memory view misses
        started = [d.task for d in self.s.next_dispatch()]
        if started:
            self.max_lag_seen = max(self.max_lag_seen, behind)
        self.running += started

    def run(self) -> None:
        self.batches += self.s.resume()
        while True:
            self._dispatch()
            self.batches += self.s.barrier()
            self._dispatch()
            if not self.running and not self.batches:
                assert not self.s.stalled()
                last = self.s.finish()
                if not last:
                    return
                self.batches += last
            if self.batches and (not self.running or self.rng.random() < 0.3):
                batch = self.batches.pop(self.rng.randrange(len(self.batches)))
                self.commits.append(batch)
                self.s.on_committed(batch)
            elif self.running:
                task = self.running.pop(self.rng.randrange(len(self.running)))
                traj = _traj(task)
                self.recorded.append(traj)
                self.batches += self.s.on_recorded(traj)
                if self.stop_after is not None and len(self.recorded) == self.stop_after:
                    self.s.stop()


def _groups(commits: list[MemoryBatch]) -> list[list[str]]:
    return [[t.task.id for t in b.trajectories] for b in commits]


def test_sync_commits_whole_groups_in_task_order_whatever_the_finish_order():
    for seed in range(5):
        sim = Sim(_sched(10, group_size=4), seed)
        sim.run()
        assert _groups(sim.commits) == [
            ["t000", "t001", "t002", "t003"],
            ["t004", "t005", "t006", "t007"],
            ["t008", "t009"],
        ]
        assert [b.group for b in sim.commits] == [0, 1, 2]


def test_sync_group_waits_for_the_previous_groups_commit():
    s = _sched(8, group_size=4)
    first = s.next_dispatch()
    assert [d.task.id for d in first] == ["t000", "t001", "t002", "t003"]
    batches = [b for d in first for b in s.on_recorded(_traj(d.task))]
    assert batches == [] and s.next_dispatch() == []
    (batch,) = s.barrier()
    assert s.next_dispatch() == []  # committing: group 1 must see group 0's memory
    s.on_committed(batch)
    assert s.barrier() == []
    assert [d.task.id for d in s.next_dispatch()] == ["t004", "t005", "t006", "t007"]


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_async_max_version_lag_bounds_outstanding_commits(lag):
    sim = Sim(_sched(40, sync=False, max_version_lag=lag, max_in_flight=8), seed=lag)
    sim.run()
    assert sim.max_lag_seen == lag  # reached, never passed
    s = _sched(10, sync=False, max_version_lag=lag, max_in_flight=8)
    started = s.next_dispatch()
    for d in started[: lag + 1]:
        s.on_recorded(_traj(d.task))
    assert s.outstanding == lag + 1
    assert s.next_dispatch() == []  # lag + 1 versions behind: nothing new starts
    assert sorted(t.id for b in sim.commits for t in b.trajectories) == sorted(
        t.id for t in sim.recorded
    )


def test_async_update_every_batches_commits_and_flushes_the_rest():
    sim = Sim(_sched(11, sync=False, update_every=4, max_version_lag=1, max_in_flight=3), seed=1)
    sim.run()
    assert [len(b.trajectories) for b in sim.commits] == [4, 4, 3]
    assert len({t.id for b in sim.commits for t in b.trajectories}) == 11


def test_update_every_larger_than_the_lag_does_not_stall():
    sim = Sim(_sched(9, sync=False, update_every=5, max_version_lag=0, max_in_flight=2), seed=2)
    sim.run()
    assert [len(b.trajectories) for b in sim.commits] == [5, 4]


def test_lost_episode_runs_once_more_then_is_recorded_failed():
    s = _sched(2, sync=False, memory_on=False)
    first, second = s.next_dispatch()
    assert s.on_lost(first) is True
    (again,) = s.next_dispatch()
    assert again.task == first.task and again.attempt == 1
    assert s.on_lost(again) is False  # second death: the driver records a failure
    s.on_recorded(_traj(first.task))
    s.on_recorded(_traj(second.task))
    assert s.idle() and s.next_dispatch() == [] and s.finish() == []


def test_memory_failure_is_retried_then_counted_failed():
    s = _sched(4, group_size=4, memory_attempts=2)
    for d in s.next_dispatch():
        s.on_recorded(_traj(d.task))
    (batch,) = s.barrier()
    (retry,) = s.on_commit_failed(batch)
    assert retry.attempt == 1 and retry.ids == batch.ids
    assert s.on_commit_failed(retry) == []
    assert s.failed == batch.ids and s.idle()
    assert s.barrier() == [] and s.finish() == []


def test_second_stop_inside_a_group_commits_nothing_of_it():
    s = _sched(8, group_size=4)
    for d in s.next_dispatch():
        s.on_recorded(_traj(d.task))
    s.on_committed(s.barrier()[0])
    assert s.barrier() == []  # opens group 1
    started = s.next_dispatch()
    s.on_recorded(_traj(started[0].task))
    s.stop()
    s.stop()
    for _ in started[1:]:
        s.on_cancelled()
    assert s.hard_stop and s.idle()
    assert s.barrier() == [] and s.finish() == []


def test_first_stop_commits_the_group_once_it_is_whole():
    sim = Sim(_sched(12, group_size=4), seed=3, stop_after=6)
    sim.run()
    assert len(sim.recorded) == 8  # group 1 finished its in-flight tasks
    assert _groups(sim.commits) == [[f"t{i:03d}" for i in range(4)],
                                    [f"t{i:03d}" for i in range(4, 8)]]  # fmt: skip


def _uninterrupted(n: int, **kw) -> list[list[str]]:
    sim = Sim(_sched(n, **kw), seed=0)
    sim.run()
    return _groups(sim.commits)


@pytest.mark.parametrize("recorded_ids", [
    [],  # nothing recorded
    [0, 1, 2, 3],  # group 0 recorded whole, not committed
    [0, 1, 2, 3, 5, 7],  # group 0 whole, group 1 half (not a prefix)
    [0, 2, 3, 6],  # group 0 half, one task of group 1 beyond it
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],  # everything recorded, nothing committed
])  # fmt: skip
@pytest.mark.parametrize("committed_groups", [0, 1])
def test_sync_resume_from_partial_state_commits_like_an_uninterrupted_run(
    recorded_ids, committed_groups
):
    tasks = _tasks(10)
    recorded = [_traj(tasks[i]) for i in recorded_ids]
    committed = {t.id for t in recorded if t.task.id < f"t{4 * committed_groups:03d}"}
    if committed_groups and not set(range(4)) <= set(recorded_ids):
        return  # a group is committed only whole: no such state
    sim = Sim(_sched(10, recorded, committed, group_size=4), seed=5)
    sim.run()
    assert _groups(sim.commits) == _uninterrupted(10, group_size=4)[committed_groups:]
    assert {t.task.id for t in sim.recorded}.isdisjoint(recorded_ids)  # nothing ran twice


def test_resume_places_recorded_tasks_in_their_own_group():
    tasks = _tasks(8)
    plan = TaskPlan(tasks, 4, [_traj(tasks[i]) for i in (0, 1, 2, 3, 5, 6)])
    assert plan.group_of("t005") == 1 and plan.group_of("t006") == 1
    assert [t.task.id for t in plan.in_group(0)] == ["t000", "t001", "t002", "t003"]
    assert not plan.group_complete(1)
    assert plan.pop().id == "t004" and plan.pop().id == "t007" and plan.peek() is None


def test_async_resume_refeeds_recorded_uncommitted_in_task_order():
    tasks = _tasks(6)
    recorded = [_traj(tasks[i]) for i in (4, 0, 1, 3)]
    s = _sched(6, recorded, {"e-t000"}, sync=False, update_every=2)
    batches = s.resume()
    assert _groups(batches) == [["t001", "t003"], ["t004"]]
    assert [d.task.id for d in s.next_dispatch()] == []  # lag 0 by default, 2 outstanding
    for b in batches:
        s.on_committed(b)
    assert [d.task.id for d in s.next_dispatch()] == ["t002", "t005"]


def test_recorded_task_missing_from_the_stream_is_refused():
    with pytest.raises(RunDirError, match="not in this run's task stream"):
        TaskPlan(_tasks(3), 2, [_traj(_tasks(5)[4])])


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize("memory_on", [True, False])
def test_state_stays_bounded_over_a_long_stream(sync: bool, memory_on: bool):
    # An endless run must not keep every task: the plan holds only unfinished ones, and finished
    # ones out of order above the watermark.
    n, in_flight = 3000, 16
    s = _sched(n, sync=sync, memory_on=memory_on, max_in_flight=in_flight, group_size=8,
               update_every=3, max_version_lag=2)  # fmt: skip
    sim = Sim(s, seed=3)
    held = out_of_order = 0
    dispatch = sim._dispatch

    def watched() -> None:
        nonlocal held, out_of_order
        dispatch()
        held = max(held, len(s.plan.position), len(s.plan.recorded))
        out_of_order = max(out_of_order, s.plan.retired_count())

    sim._dispatch = watched  # type: ignore[method-assign]
    sim.run()
    assert len(sim.recorded) == n
    assert held <= 3 * in_flight, held  # in flight, recorded awaiting memory, read ahead
    # finished behind a slow task (the random finish order makes some very slow): ids, no records
    assert out_of_order < n / 10, out_of_order
    assert not s.plan.position and not s.plan.recorded and s.plan.watermark == n
