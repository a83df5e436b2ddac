"""`memp run` of the TravelPlanner preset on real Ray with memory on: plans are delivered and
scored, memory is built from travel-planning trajectories and later groups retrieve it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.runlog import RunDir
from tests.travelplanner_data import CACHE

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "configs" / "travelplanner-sim.yaml"
HEADLINE = ("delivered", "commonsense_micro", "commonsense_macro", "hard_micro", "hard_macro",
            "final_pass")  # fmt: skip


def test_travelplanner_preset_runs_with_memory_on_ray(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    sets = ["env.max_tasks=12", "pipeline.group_size=6", "metrics.enabled=false",
            f"env.travelplanner.cache_dir={CACHE}"]  # fmt: skip
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(PRESET), "--run-dir", str(run_dir),
           "--no-progress", *[a for kv in sets for a in ("--set", kv)]]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "#CS micro" in done.stdout and "#HC macro" in done.stdout

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"] == 12
    for key in HEADLINE:
        assert 0.0 <= summary["scores"][key] <= 1.0, key
    assert summary["scores"]["delivered"] > 0.5
    assert summary["scores"]["final_pass"] == summary["success_rate"]
    trajs = RunDir.resume(run_dir).recorded_trajectories()
    assert all(t.status == "ok" for t in trajs), [t.error for t in trajs if t.error]
    assert {t.task.env for t in trajs} == {"travelplanner"}
    # Memory: procedures were built and the second group's episodes were given some.
    assert summary["memory"]["added"] > 0
    second = [t for t in trajs if int(t.task.id.rsplit("/", 1)[1]) >= 6]
    assert any(t.memory_ids for t in second), "group 2 retrieved nothing"
