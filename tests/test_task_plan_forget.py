"""The driver's task plan lets go of trajectories once nothing needs them (bounded memory)."""

from __future__ import annotations

from actors.plan import TaskPlan
from pipeline.config import RunConfig
from pipeline.envs import get_suite
from pipeline.types import Trajectory


def test_forget_drops_recorded_trajectories_but_keeps_positions() -> None:
    cfg = RunConfig.model_validate({"env": {"split": "endless", "max_tasks": 50}})
    suite = get_suite(cfg.env)
    plan = TaskPlan(suite, cfg, [])
    tasks = [plan.pop() for _ in range(10)]
    for task in tasks:
        plan.record(Trajectory(id=f"t-{task.id}", task=task, model="sim/household"))
    plan.forget(t.id for t in tasks[:8])
    assert sorted(plan.recorded) == sorted(t.id for t in tasks[8:])
    assert plan.group_of(tasks[9].id) == 0 and plan.peek() is not None
    plan.forget(["never-recorded"])  # harmless
    assert len(plan.recorded) == 2


def test_a_forgotten_resumed_task_is_still_skipped() -> None:
    # On resume, a recorded task whose memory commits before the stream reaches it is not re-run.
    cfg = RunConfig.model_validate({"env": {"split": "endless", "max_tasks": 6}})
    suite = get_suite(cfg.env)
    first = TaskPlan(suite, cfg, [])
    tasks = [first.pop() for _ in range(6)]
    done = [Trajectory(id=f"t-{t.id}", task=t, model="sim/household") for t in tasks[2:5]]
    plan = TaskPlan(suite, cfg, done)
    plan.forget(t.task.id for t in done)
    left = []
    while plan.peek() is not None:
        left.append(plan.pop().id)
    assert left == [tasks[0].id, tasks[1].id, tasks[5].id]
