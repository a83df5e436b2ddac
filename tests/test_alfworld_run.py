"""`memp run --set env.name=alfworld` on real Ray with memory on, over games we generate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.envs.alfworld.export import export_games
from pipeline.envs.household.catalog import TASK_TYPES
from pipeline.runlog import RunDir

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

pytest.importorskip("textworld")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_memp_run_plays_generated_alfworld_games(
    tmp_path: Path, grammar: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "alfdata"
    export_games(data, per_type=1)
    monkeypatch.setenv("ALFWORLD_DATA", str(data))  # reading the run back validates its config
    env = {**os.environ, "ALFWORLD_DATA": str(data), "COLUMNS": "200"}
    env.pop("RAY_ADDRESS", None)
    run_dir = tmp_path / "run"
    sets = [
        "env.name=alfworld", "env.split=valid_seen", "env.step_limit=20",
        f"env.alfworld.grammar={grammar}", "agent.model=sim/household",
        "memory.enabled=true", "memory.namespace=alfworld", "memory.embed_dim=128",
        "pipeline.group_size=3", "pipeline.rollout_workers=2", "pipeline.episodes_per_worker=4",
        "metrics.enabled=false",
    ]  # fmt: skip
    args = [arg for s in sets for arg in ("--set", s)]
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "configs/alfworld-sim.yaml", *args,
         "--run-dir", str(run_dir), "--no-progress"],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"] == 6 and summary["status"] == {"ok": 6}, summary["status"]
    trajs = RunDir.resume(run_dir).recorded_trajectories()
    assert sorted(t.task.task_type for t in trajs) == sorted(TASK_TYPES)
    assert all(t.task.env == "alfworld" and t.steps for t in trajs)
    # The engine's own text came back: its arrival line for this grammar, its rejections.
    observations = [s.observation for t in trajs for s in t.steps]
    assert any(o.startswith("You arrive at") for o in observations)
    if grammar == "2.1.1":
        assert any(o.startswith("You arrive at loc ") for o in observations)
    steps = [s for t in trajs for s in t.steps]
    assert all(s.valid == (s.observation != "Nothing happens.") for s in steps if s.action)
    # The sim (a stand-in for an LLM) wins some within 20 steps on 2.1.2. On 2.1.1 it loops between
    # receptacles on this engine's text (known sim issue, see README), so only the text is checked.
    if grammar == "2.1.2":
        assert summary["success_rate"] > 0
        assert any(s.valid and s.action.startswith("take ") for s in steps)
    wins = [t for t in trajs if t.success]
    assert all(t.steps[-1].valid for t in wins)
    if grammar == "2.1.2":  # memory is built from successes
        assert summary["memory"]["added"] >= 1
