"""`memp grid` on a real local Ray: 2 memory cells + the control, kill -9 of the grid, --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import ray
import yaml

from actors.session import start_ray
from tests.pipeline_checks import task_ids

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
TASKS = 6
GRID = {
    "name": "tiny",
    "base": "household-sim",
    "set": {"env.split": "valid_seen", "env.max_tasks": TASKS, "env.step_limit": 30,
            "pipeline.group_size": 3, "pipeline.rollout_workers": 1,
            "pipeline.episodes_per_worker": 2,
            # a little sim latency keeps a cell part-done long enough to be killed mid-way
            "sim.latency": {"kind": "fixed", "mean_s": 0.03}},
    "axes": {"memory.build": ["trajectory", "script"]},
    "grid": {"max_parallel_cells": 2, "metrics_port": 0},
}  # fmt: skip
CELLS = ["build-trajectory", "build-script", "control"]


@pytest.fixture(scope="module")
def ray_address():
    """One small local Ray; the grids join it (as `memp grid --address` on a cluster does)."""
    start_ray(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _grid(args: list[str], address: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "pipeline.cli", "grid", *args, "--address", address,
           "--no-progress"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def _events(grid_dir: Path) -> list[dict]:
    path = grid_dir / "events.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _recorded(grid_dir: Path, cell: str) -> int:
    path = grid_dir / "cells" / cell / "trajectories.jsonl"
    return path.read_text().count("\n") if path.is_file() else 0


def _finished_and_partial(grid_dir: Path) -> bool:
    """One cell finished, another has recorded some of its tasks: the moment to kill."""
    done = {e["cell"] for e in _events(grid_dir) if e["event"] == "finished"}
    partial = [c for c in CELLS if c not in done and 0 < _recorded(grid_dir, c) < TASKS]
    return bool(done) and bool(partial)


def _cell_processes(grid_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(grid_dir) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_grid_kill9_and_resume_runs_nothing_twice_and_matches(ray_address, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(GRID))

    whole = tmp_path / "whole"
    proc = _grid([str(spec), "--grid-dir", str(whole)], ray_address)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    assert "Memory vs the paired no-memory control" in out and "McNemar p" in out

    cut = tmp_path / "cut"
    proc = _grid([str(spec), "--grid-dir", str(cut)], ray_address)
    deadline = time.monotonic() + 900
    while not _finished_and_partial(cut):
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "never saw a finished cell beside a partial one"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    deadline = time.monotonic() + 30
    while _cell_processes(cut):  # cell processes die with the grid (PR_SET_PDEATHSIG)
        assert time.monotonic() < deadline, "cell processes outlived the grid"
        time.sleep(0.2)
    done_before = {e["cell"] for e in _events(cut) if e["event"] == "finished"}
    partial = {c for c in CELLS if c not in done_before and _recorded(cut, c) > 0}
    recorded = {c: len(task_ids(cut / "cells" / c)) for c in partial}
    before = len(_events(cut))
    assert not (cut / "grid.csv").exists()

    proc = _grid(["--resume", str(cut)], ray_address)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    after = _events(cut)[before:]
    started = {e["cell"]: e for e in after if e["event"] == "started"}
    assert not done_before & set(started), "a finished cell ran again"
    assert set(started) == set(CELLS) - done_before
    for cell in partial:
        assert started[cell]["resumed"], f"{cell} started over instead of resuming"
    for cell in CELLS:
        ids = task_ids(cut / "cells" / cell)
        assert len(ids) == len(set(ids)) == TASKS, f"{cell}: a task ran twice or is missing"
    print(f"\nfinished before kill: {sorted(done_before)}; partial: {recorded}")
    assert any(0 < n < TASKS for n in recorded.values())
    assert (cut / "grid.csv").read_text() == (whole / "grid.csv").read_text()
    strip = [ln for ln in (whole / "grid.md").read_text().splitlines() if ln.startswith("| sim")]
    assert strip == [ln for ln in (cut / "grid.md").read_text().splitlines()
                     if ln.startswith("| sim")]  # fmt: skip
    manifest = json.loads((cut / "manifest.json").read_text())
    packs = {c["name"]: c["memory_pack_procedures"] for c in manifest["cells"]}
    assert packs["control"] is None and packs["build-trajectory"] > 0 and packs["build-script"] > 0
