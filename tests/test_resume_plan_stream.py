"""A long run's logs are read in one streaming pass: a resume's plan (the same as from the loaded
logs) and the report keep memory that does not grow with the trajectories recorded."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from actors.progress import Progress
from pipeline.config import RunConfig
from pipeline.envs import get_suite
from pipeline.orchestrate.plan import TaskPlan
from pipeline.orchestrate.scheduler import Scheduler
from pipeline.report import load_run, run_figures
from pipeline.runlog import MEMORY_COMMITS, JsonlLog, MemoryCommit, RunDir
from pipeline.task_source import task_stream
from pipeline.types import Step, Task, Trajectory
from pipeline.view.stats import mean_ci

BATCH = 10  # trajectories per commit record


def _cfg(n: int, sync: bool, memory: bool) -> RunConfig:
    return RunConfig.model_validate({
        "env": {"name": "household", "split": "endless", "max_tasks": n + 40},
        "pipeline": {"mode": "sync" if sync else "async", "group_size": BATCH},
        "memory": {"enabled": memory},
    })  # fmt: skip


def _traj(task: Task, steps: int = 2) -> Trajectory:
    step = Step(action="look", observation=f"You are in {task.goal}. " * 12)
    return Trajectory(id=f"e-{task.id}", task=task, model="sim/h", steps=[step] * steps)


def _record(tmp: Path, cfg: RunConfig, n: int, seed: int, steps: int = 2) -> tuple[RunDir, list]:
    """n tasks recorded in a shuffled finish order, committed in batches but for the last two."""
    tasks = list(task_stream(get_suite(cfg.env), cfg.env))[:n]
    rng = random.Random(seed)
    order = list(range(n))
    for i in range(0, n, BATCH):  # finish order differs from task order within a window
        window = order[i : i + BATCH * 2]
        rng.shuffle(window)
        order[i : i + BATCH * 2] = window
    rd = RunDir.create(tmp / "run", cfg)
    trajs = [_traj(tasks[i], steps) for i in order]
    rd.trajectories.append_many(trajs)
    commits = JsonlLog(tmp / "run" / MEMORY_COMMITS)
    batches = [trajs[i : i + BATCH] for i in range(0, n, BATCH)][:-2]
    commits.append_many(
        MemoryCommit(version=v + 1, size=v, trajectory_ids=[t.id for t in b])
        for v, b in enumerate(batches)
    )
    commits.close()
    rd.close()
    return RunDir.resume(tmp / "run"), trajs


def _state(plan: TaskPlan) -> tuple:
    ahead = []
    while (nxt := plan.peek()) is not None:
        ahead.append((nxt[0], plan.pop().id))
    return sorted(plan.recorded), plan.watermark, sorted(plan._retired), ahead


@pytest.mark.parametrize(("sync", "memory"), [(True, True), (False, True), (False, False)])
def test_the_streamed_plan_equals_the_plan_from_loaded_logs(tmp_path: Path, sync, memory) -> None:
    cfg = _cfg(120, sync, memory)
    rd, trajs = _record(tmp_path, cfg, 95, seed=4)
    suite = get_suite(cfg.env)
    committed = {tid for c in rd.recorded_commits() for tid in c.trajectory_ids}
    loaded = TaskPlan(task_stream(suite, cfg.env), BATCH, rd.recorded_trajectories())
    Scheduler(loaded, sync=sync, memory_on=memory, max_in_flight=4, committed=committed)
    seen: list[str] = []
    streamed = TaskPlan.for_run(suite, cfg, rd, seen=lambda t: seen.append(t.id))
    Scheduler(streamed, sync=sync, memory_on=memory, max_in_flight=4)
    assert seen == [t.id for t in trajs]  # every record, in log order (the progress tally)
    assert streamed.recorded == loaded.recorded
    assert len(streamed.recorded) == (len(trajs) - len(committed) if memory else 0)  # uncommitted
    assert _state(streamed) == _state(loaded)


def _plan(rd: RunDir, cfg: RunConfig) -> None:
    progress = Progress(Console(file=io.StringIO()), None, enabled=False)
    plan = TaskPlan.for_run(get_suite(cfg.env), cfg, rd, seen=progress.add)
    Scheduler(plan, sync=False, memory_on=True, max_in_flight=8)
    assert progress.tally.episodes == len(plan.recorded) + plan.watermark + plan.retired_count()


def _report(rd: RunDir, cfg: RunConfig) -> None:
    assert run_figures(load_run(rd.path)).total.episodes > 0


def _peaks(tmp: Path, read: Callable[[RunDir, RunConfig], None]) -> tuple[dict, dict]:
    """Peak traced memory of `read` over logs of 500 and 5,000 trajectories, and the log sizes."""
    sizes, peaks = {}, {}
    for n in (500, 5000):
        cfg = _cfg(n, sync=False, memory=True)
        rd, _ = _record(tmp / str(n), cfg, n, seed=n, steps=6)
        sizes[n] = (rd.path / "trajectories.jsonl").stat().st_size
        tracemalloc.start()
        read(rd, cfg)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return sizes, peaks


def test_resume_planning_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    sizes, peaks = _peaks(tmp_path, _plan)
    # A list of the trajectories would take several times the file; the pass keeps the
    # uncommitted ones, those read ahead of a commit and the last committed ids.
    assert peaks[5000] - peaks[500] < (sizes[5000] - sizes[500]) / 10, (peaks, sizes)
    assert peaks[5000] < sizes[500], (peaks, sizes)


def test_report_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    sizes, peaks = _peaks(tmp_path, _report)
    # Tallies, a row per group and per commit: not the records (a list takes ~3x the file).
    assert peaks[5000] - peaks[500] < (sizes[5000] - sizes[500]) / 10, (peaks, sizes)


def test_a_counted_mean_interval_equals_the_listed_one() -> None:
    rng = random.Random(7)
    values = [float(rng.choice([0, 1, 3, 30, 1e16, 0.1])) for _ in range(999)]
    assert mean_ci(Counter(values)) == mean_ci(values)
    assert mean_ci({}) == mean_ci([]) and mean_ci({2.5: 1}) == mean_ci([2.5])
