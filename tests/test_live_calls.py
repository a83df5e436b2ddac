"""Every model attempt reaches Prometheus within seconds, before its episode ends, and a call cut
off by the episode timeout is counted as cancelled in summary.json (Ray, real HTTP and litellm)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.openai_server import OpenAIServer

pytestmark = pytest.mark.heavy  # Ray / subprocess: not in `make test-fast`

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"metrics: (http://\S+/metrics)")
REPLY_S = 0.4


def _slow_reply(messages: list[dict]) -> str:
    time.sleep(REPLY_S)
    return "Think: look again.\nAction: look"


def _value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_calls_are_live_in_prometheus_and_cancelled_attempts_counted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with OpenAIServer(_slow_reply) as server:
        sets = [
            "agent.model=openai/slow-model", f"agent.api_base={server.base_url}",
            "agent.episode_timeout_s=8", "env.step_limit=200", "env.max_tasks=1",
            "pipeline.rollout_workers=1", "metrics.port=0", "metrics.final_scrape_s=0",
        ]  # fmt: skip
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "configs/household-sim.yaml",
               "--no-preflight", "--run-dir", str(run_dir)]  # fmt: skip
        for s in sets:
            cmd += ["--set", s]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-unused"}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, cwd=ROOT)  # fmt: skip
        assert proc.stdout is not None
        out: list[str] = []
        url = None
        for line in proc.stdout:
            out.append(line)
            if (m := URL.search(line)) is not None:
                url = m.group(1)
                break
        assert url, "".join(out)
        live = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            calls = _value(text, "memp_llm_calls_total", role="agent")
            if calls >= 3 and _value(text, "memp_episodes_total") == 0:
                live = calls  # answered calls visible while the only episode still runs
                break
            time.sleep(0.5)
        rest, _ = proc.communicate(timeout=300)
        out.append(rest)
    assert proc.returncode in (0, 3), "".join(out)  # the one episode timed out: error ratio 1
    assert live is not None, "".join(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == {"timeout": 1}
    assert summary["llm_errors"]["agent"] == {"cancelled": 1}
    traj = json.loads((run_dir / "trajectories.jsonl").read_text().splitlines()[0])
    # Every answered call is in the trajectory; the cut-off one reached the server unanswered.
    assert len(server.requests) == len(traj["steps"]) + 1
    assert summary["tokens_by_role"]["agent"]["prompt"] == traj["usage"]["prompt_tokens"]
