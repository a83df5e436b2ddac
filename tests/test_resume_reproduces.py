"""Fault suite: kill -9 a real `memp run` (sync, sim model) inside a group, resume, and compare
summary.json and the exported memory with an uninterrupted run of the same seed: identical."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.pipeline_checks import check_memory, task_ids
from tests.test_pipeline_ray import PRESET, ROOT, _env, _memp, _wait_lines, ray_address  # noqa: F401

pytestmark = pytest.mark.heavy  # memp run subprocesses on Ray: not in `make test-fast`

TASKS, GROUP = 12, 6
SETS = [
    arg
    for kv in (
        "metrics.enabled=false", f"env.max_tasks={TASKS}", f"pipeline.group_size={GROUP}",
        "env.step_limit=20", "sim.latency.kind=fixed", "sim.latency.mean_s=0.05",
        "pipeline.episodes_per_worker=3", "pipeline.rollout_workers=2",
    )
    for arg in ("--set", kv)
]  # fmt: skip
# Wall-clock figures, and memory-role LLM usage (shipped by the actors of the last invocation).
TIMINGS = {"wall_s"}


def _run(args: list[str], address: str) -> subprocess.CompletedProcess:
    cmd = [*_memp(*args, "--address", address, "--no-progress", "--no-preflight")]
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _export(run_dir: Path) -> list[dict]:
    out = run_dir.parent / f"{run_dir.name}-pack.jsonl"
    cmd = [*_memp()[:-1], "memory", "export", "--run-dir", str(run_dir), "-o", str(out)]
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    procs = [json.loads(line) for line in out.read_text().splitlines()]
    for p in procs:  # wall-clock stamps differ between any two runs
        p.pop("created_at", None)
        p.pop("updated_at", None)
    return sorted(procs, key=lambda p: p["id"])


def _summary(run_dir: Path) -> dict:
    data = json.loads((run_dir / "summary.json").read_text())
    return {k: v for k, v in data.items() if k not in TIMINGS}


@pytest.fixture(scope="module")
def reference(ray_address, tmp_path_factory):  # noqa: F811
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    _run([str(PRESET), *SETS, "--run-dir", str(run_dir)], ray_address)
    return _summary(run_dir), _export(run_dir)


@pytest.mark.parametrize("kill_after", [2, GROUP + 2])  # inside group 0, inside group 1
def test_kill_9_inside_a_group_then_resume_reproduces(
    ray_address,  # noqa: F811
    reference,
    tmp_path,
    kill_after,
):
    run_dir = tmp_path / "run"
    cmd = _memp(str(PRESET), *SETS, "--run-dir", str(run_dir), "--address", ray_address,
                "--no-preflight")  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL)
    _wait_lines(run_dir / "trajectories.jsonl", kill_after, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = task_ids(run_dir)
    assert kill_after <= len(before) < TASKS
    _run(["--resume", str(run_dir)], ray_address)
    assert sorted(task_ids(run_dir)) == sorted({*task_ids(run_dir)})  # none ran twice
    check_memory(run_dir)
    want_summary, want_memory = reference
    assert _summary(run_dir) == want_summary
    assert _export(run_dir) == want_memory
