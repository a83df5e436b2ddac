"""A run directory before the run is accepted: read-only checks, the lock, torn lines left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import RunConfig
from pipeline.orchestrate.plan import check_inputs
from pipeline.runlog import TRAJECTORIES, RunDir, RunDirError
from pipeline.task_source import TaskSourceError
from pipeline.types import Task, Trajectory


def _cfg(**env: object) -> RunConfig:
    return RunConfig.model_validate({"env": {"name": "household", "split": "valid_unseen", **env}})


def _traj(task_id: str) -> Trajectory:
    task = Task(id=task_id, env="household", split="valid_unseen", task_type="x", goal="g", seed=0)
    return Trajectory(id=f"e-{task_id}", task=task, model="sim")


def test_a_second_lock_on_the_same_directory_is_refused_until_released(tmp_path: Path) -> None:
    first = RunDir.create(tmp_path / "run", _cfg())
    first.lock()
    second = RunDir.resume(tmp_path / "run")
    with pytest.raises(RunDirError, match=r"in use by another memp run \(pid \d+\)"):
        second.lock()
    first.close()  # as when the process ends: the kernel drops the flock
    second.lock()
    second.close()


def test_a_torn_last_line_is_cut_only_at_the_first_append(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path / "run", _cfg())
    rd.close()
    log = tmp_path / "run" / TRAJECTORIES
    whole = _traj("t1").model_dump_json() + "\n"
    log.write_text(whole + '{"id": "e-t2", "ta')
    before = log.read_bytes()
    rd = RunDir.resume(tmp_path / "run")
    assert log.read_bytes() == before  # opened, nothing written: untouched
    third = _traj("t3")
    rd.record(third)
    rd.close()
    assert log.read_text() == whole + third.model_dump_json() + "\n"


def test_check_inputs_reads_every_task_of_a_tasks_file(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    good = _traj("a").task.model_dump_json()
    tasks.write_text(good + "\n" + good + "\n" + '{"id": 3}\n')
    with pytest.raises(TaskSourceError, match=r"tasks.jsonl:3: bad task record"):
        check_inputs(_cfg(tasks_file=str(tasks)))


def test_check_inputs_refuses_a_corrupt_log_without_changing_it(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path / "run", _cfg())
    rd.close()
    log = tmp_path / "run" / TRAJECTORIES
    log.write_text("not json\n" + _traj("t1").model_dump_json() + "\n" + '{"torn')
    before = log.read_bytes()
    rd = RunDir.resume(tmp_path / "run")
    with pytest.raises(RunDirError, match=r"trajectories.jsonl:1: not a valid Trajectory"):
        check_inputs(rd.config, rd)
    rd.close()
    assert log.read_bytes() == before


def test_check_inputs_refuses_recorded_tasks_the_stream_does_not_hold(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path / "run", _cfg())
    rd.record(_traj("no-such-task"))
    rd.close()
    rd = RunDir.resume(tmp_path / "run")
    with pytest.raises(RunDirError, match="not in this run's task stream"):
        check_inputs(rd.config, rd)
    rd.close()
