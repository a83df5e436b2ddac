"""A run whose model server fails every call: loud in logs, summary.json and the exit code (Ray)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openai_server import OpenAIServer

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-failing-server-7777"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d tasks \d+/4  elapsed \d+:\d\d:\d\d")


def test_all_errored_run_exits_3_with_counts_and_plain_progress(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with OpenAIServer(lambda msgs: "Think: x\nAction: look") as server:
        for _ in range(400):
            server.fail_next(500)
        sets = [
            "agent.model=openai/down-model", f"agent.api_base={server.base_url}",
            "agent.api_key_env=MEMP_FAIL_KEY", "agent.max_retries=1", "env.max_tasks=4",
            "pipeline.rollout_workers=1", "pipeline.group_size=2", "metrics.enabled=false",
            "pipeline.progress_every_s=0.2",
        ]  # fmt: skip
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "configs/household-sim.yaml",
               "--no-preflight", "--run-dir", str(run_dir)]  # fmt: skip
        for s in sets:
            cmd += ["--set", s]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMP_FAIL_KEY": KEY, "COLUMNS": "80"}
        env.pop("RAY_ADDRESS", None)
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    out = res.stdout
    assert res.returncode == 3, out + res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "4 of 4 episodes errored (error 4)" in err[0], res.stderr
    assert "pipeline.max_error_ratio=0.5" in err[0]
    # start-up phases, then timestamped progress lines (stdout is a pipe, not a terminal)
    assert "starting Ray (a local Ray) ..." in out and "actors ready in" in out
    assert out.index("starting Ray") < out.index("actors ready")
    lines = [line for line in out.splitlines() if STAMP.match(line)]
    assert lines, out
    assert "errored 4" in lines[-1] and "llm errors" in lines[-1]
    assert "llm failed attempts: agent server" in out and "episodes errored 4 of 4" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == {"error": 4}
    server_errors = summary["llm_errors"]["agent"]["server"]
    assert server_errors == 8  # 4 episodes x (one try + one retry)
    assert summary["llm_retries"] == {"agent": 4}  # the retry's own failure is not retried
    assert KEY not in out + res.stderr + (run_dir / "summary.json").read_text()
