"""Preflight: a missing key, dead endpoint or bad model string: one line, exit 2, no run dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config_load import build_config
from pipeline.preflight import PreflightError, check, planned
from tests.openai_server import OpenAIServer

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-preflight-secret-0042"


def memp(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "60", "MEMP_PF_KEY": KEY}
    env.pop("MEMP_PF_MISSING", None)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=180)  # fmt: skip


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _agent(base: str, key_env: str = "MEMP_PF_KEY", model: str = "openai/pf-model") -> list[str]:
    return ["--set", f"agent.model={model}", "--set", f"agent.api_base={base}",
            "--set", f"agent.api_key_env={key_env}", "--set", "agent.max_retries=0"]  # fmt: skip


def _cases(server: OpenAIServer) -> list[tuple[list[str], str]]:
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    return [
        (_agent(server.base_url, "MEMP_PF_MISSING"), "env var MEMP_PF_MISSING"),
        (_agent(dead), f"agent model 'openai/pf-model' at {dead} failed: server"),
        (_agent(server.base_url, model="nosuchprovider/x"), "agent model 'nosuchprovider/x'"),
        (
            [
                *_agent(server.base_url),
                "--set",
                "memory.enabled=true",
                "--set",
                "memory.builder.model=openai/builder-b",
                "--set",
                f"memory.builder.api_base={dead}",
            ],
            "builder model 'openai/builder-b'",
        ),
    ]


def test_bad_models_fail_before_the_run_with_one_line(tmp_path: Path) -> None:
    with OpenAIServer(lambda msgs: "OK") as server:
        for i, (args, needle) in enumerate(_cases(server)):
            run_dir = tmp_path / f"r{i}"
            res = memp("run", "configs/household-sim.yaml", "--run-dir", str(run_dir), *args)
            assert res.returncode == 2, res.stdout + res.stderr
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and needle in lines[0], res.stderr
            assert "preflight" in lines[0] and "--no-preflight" in lines[0]
            assert "Traceback" not in res.stderr and KEY not in res.stderr + res.stdout
            assert not run_dir.exists()  # nothing left behind
            assert "starting Ray" not in res.stdout


def test_probes_pass_against_a_live_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_PF_KEY", KEY)
    with OpenAIServer(lambda msgs: "OK") as server:
        # The embedder has no endpoint config of its own yet (issue 17): litellm's env vars.
        monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        cfg = build_config({
            "agent": {"model": "openai/pf-model", "api_base": server.base_url,
                      "api_key_env": "MEMP_PF_KEY"},
            "memory": {"enabled": True, "embedder": "litellm:openai/pf-embed",
                       "builder": {"model": "openai/pf-builder", "api_base": server.base_url,
                                   "api_key_env": "MEMP_PF_KEY"}},
        })  # fmt: skip
        probes = check(cfg)
        roles = [(p.role, p.ok) for p in probes]
        assert roles == [("agent", True), ("builder", True), ("embedder", True)]
        assert len(server.requests) == 3  # one call per model
        assert server.auth_headers == [f"Bearer {KEY}"] * 3
        for _ in range(6):  # every probe throttled twice (a try and its one retry)
            server.fail_next(429, {"Retry-After": "0"})
        assert all(
            p.ok for p in check(cfg)
        )  # throttled but reachable with a working key: not a failure
        server.fail_next(401)
        server.fail_next(401)
        server.fail_next(401)
        with pytest.raises(PreflightError, match="failed: auth: AuthenticationError"):
            check(cfg)
    # sim models run in-process: nothing to probe
    assert planned(build_config({"memory": {"enabled": True}})) == []
