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
