"""Fault suite: kill -9 a real `memp run` (sync, sim model) inside a group, resume, and compare
summary.json and the exported memory with an uninterrupted run of the same seed: identical."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from pipeline.runlog import RunDir
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
        "memory.update=vanilla",  # every trajectory is memory: group 0 leaves ops to lose
    )
    for arg in ("--set", kv)
]  # fmt: skip
# Wall-clock figures only: memory-role LLM usage is summed from the commit records, so the
# build/adjust/keywords tokens and cost of a resumed run equal the uninterrupted run's.
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


def _kill_9_after(run_dir: Path, lines: int, address: str) -> None:
    cmd = _memp(str(PRESET), *SETS, "--run-dir", str(run_dir), "--address", address,
                "--no-preflight")  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL)
    _wait_lines(run_dir / "trajectories.jsonl", lines, proc, timeout=600)  # a busy machine
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize(
    ("kill_after", "lose_store"),
    [(2, False), (GROUP + 2, False), (GROUP + 2, True)],  # inside group 0 / 1; qdrant/ deleted
)
def test_kill_9_inside_a_group_then_resume_reproduces(
    ray_address,  # noqa: F811
    reference,
    tmp_path,
    kill_after,
    lose_store,
):
    run_dir = tmp_path / "run"
    _kill_9_after(run_dir, kill_after, ray_address)
    before = task_ids(run_dir)
    assert kill_after <= len(before) < TASKS
    if lose_store:  # group 0's memory exists only in the op log now: rebuilt from it
        assert RunDir.resume(run_dir).recorded_commits()
        shutil.rmtree(run_dir / "qdrant")
    _run(["--resume", str(run_dir)], ray_address)
    assert sorted(task_ids(run_dir)) == sorted({*task_ids(run_dir)})  # none ran twice
    check_memory(run_dir)
    want_summary, want_memory = reference
    assert _summary(run_dir) == want_summary
    assert _export(run_dir) == want_memory


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def test_an_op_log_cut_in_the_middle_refuses_the_resume_unchanged(ray_address, tmp_path):  # noqa: F811
    run_dir = tmp_path / "run"
    _kill_9_after(run_dir, GROUP + 2, ray_address)  # group 0 committed: its ops are covered
    ops = run_dir / "memory_ops.jsonl"
    lines = ops.read_bytes().splitlines(keepends=True)
    assert len(lines) > 4
    ops.write_bytes(b"".join(lines[:3]) + lines[3][:25])
    before = _files(run_dir)
    cmd = _memp("--resume", str(run_dir), "--address", ray_address, "--no-progress")
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and str(ops) in line
    assert "last good sequence number is 3" in line
    assert _files(run_dir) == before  # nothing was repaired, truncated or created
