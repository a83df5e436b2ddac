"""`memp run` on real Ray with an env defined in tests/ (not pipeline/) and memory on.

This is the plug-in path of issue #9: the driver found a registered env but the rollout workers
did not. Here every process that needs the env (driver, rollout workers, validator, distiller,
memory writer) resolves `env.name: "tests.toy_env:ToySuite"` itself, and the test checks that each
of them built the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.runlog import RunDir
from tests.pipeline_checks import check_memory
from tests.toy_env import MARKS_ENV

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "run": {"name": "toy", "seed": 0},
    "env": {"name": "tests.toy_env:ToySuite", "split": "train", "step_limit": 10,
            "toy": {"digits": 10}},
    "agent": {"model": "sim/toy", "one_shot": False},
    "sim": {"toy": {"text_every": 3}},
    "memory": {"enabled": True, "namespace": "toy", "build": "proceduralization",
               "retrieve": "query", "update": "adjustment", "embed_dim": 128},
    "pipeline": {"mode": "sync", "group_size": 5, "rollout_workers": 2,
                 "episodes_per_worker": 4, "distillers": 1},
    "metrics": {"enabled": False},
}  # fmt: skip


def _roles(marks: Path) -> dict[str, str]:
    """pid -> process title, as each suite-building process recorded it."""
    out = {}
    for line in marks.read_text().splitlines():
        pid, _, title = line.partition(" ")
        out[pid] = title
    return out


def test_memp_run_with_a_toy_env_from_a_test_module(tmp_path: Path) -> None:
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    marks = tmp_path / "marks"
    env = {**os.environ, MARKS_ENV: str(marks), "COLUMNS": "200"}
    env.pop("RAY_ADDRESS", None)
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(config), "--run-dir", str(run_dir),
         "--no-progress"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"] == 20 and summary["status"] == {"ok": 20}
    assert summary["success_rate"] == 1.0  # ten digits, ten steps: the search always ends
    assert set(summary["scores"]) == {"efficiency", "tries"}
    assert summary["memory"]["added"] >= 5
    # Memory was built from group 0 and retrieved later: same-colour tasks open at once.
    groups = summary["groups"]
    assert groups[0]["mean_steps"] > groups[-1]["mean_steps"] == 1.0, groups

    trajs = RunDir.resume(run_dir).recorded_trajectories()
    later = [t for t in trajs if t.task.id >= "toy/train/005"]
    assert later and all(t.memory_ids for t in later)
    assert {s.tool_call for t in trajs for s in t.steps} == {True, False}
    procs = check_memory(run_dir)
    assert all(p.trajectory and p.script and p.script.startswith("1. Turn the dial") for p in procs)

    # Every role built the suite in its own process.
    titles = _roles(marks).values()
    for actor in ("RolloutWorkerImpl", "ValidatorImpl", "DistillerImpl", "MemoryWriter"):
        assert any(actor in t for t in titles), (actor, sorted(titles))
    assert sum("RolloutWorkerImpl" in t for t in titles) == 2
    assert "efficiency" in proc.stdout and "tries" in proc.stdout, proc.stdout  # console table
