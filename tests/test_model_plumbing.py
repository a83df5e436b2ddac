"""Real-model plumbing: configured prices over HTTP in any process, manifest, version, preset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from pipeline.config import ConfigError, RunConfig
from pipeline.config_load import build_config
from pipeline.llm import LLMClient
from pipeline.presets import DEFAULT_PRESET
from pipeline.runlog import MANIFEST, TRAJECTORIES, RunDir
from tests.openai_server import OpenAIServer

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-plumbing-secret-5678"
PRICE = {"input_per_mtok": 2.0, "output_per_mtok": 8.0}


def memp(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)  # fmt: skip


# A fresh interpreter, as a Ray actor is: it only sees the config dict the driver ships.
ACTOR = """
import json, sys, anyio
from pipeline.config import RunConfig
from pipeline.llm import LLMClient
cfg = RunConfig.model_validate(json.loads(sys.argv[1]))
client = LLMClient(cfg.agent)
result = anyio.run(client.complete, [{"role": "user", "content": "hello there"}], "agent")
print(json.dumps(result.usage.model_dump()))
"""


def _config(server: OpenAIServer, model: str = "openai/qwen-local") -> RunConfig:
    return build_config(
        {
            "agent": {"model": model, "api_base": server.base_url, "api_key_env": "MEMP_PK"},
            "prices": {model: PRICE},
        }
    )


def test_configured_prices_cost_calls_in_this_and_a_fresh_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMP_PK", KEY)
    with OpenAIServer(lambda msgs: "Think: ok\nAction: look") as server:
        cfg = _config(server)
        result = anyio.run(LLMClient(cfg.agent).complete, [{"role": "user", "content": "hi"}], "a")
        usage = result.usage
        expected = (usage.prompt_tokens * 2.0 + usage.completion_tokens * 8.0) / 1e6
        assert usage.prompt_tokens > 0 and usage.cost_usd == pytest.approx(expected)
        # Unpriced model on the same server: litellm has no price for it, so it costs 0.
        bare = build_config(
            {
                "agent": {
                    "model": "openai/unpriced-local",
                    "api_base": server.base_url,
                    "api_key_env": "MEMP_PK",
                }
            }
        )
        other = anyio.run(LLMClient(bare.agent).complete, [{"role": "user", "content": "x"}], "a")
        assert other.usage.cost_usd == 0.0  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-c", ACTOR, json.dumps(_config(server, "openai/qwen-fresh")
                                                      .model_dump(mode="json"))],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fresh = json.loads(proc.stdout.strip().splitlines()[-1])
    want = (fresh["prompt_tokens"] * 2.0 + fresh["completion_tokens"] * 8.0) / 1e6
    assert fresh["cost_usd"] == pytest.approx(want) and want > 0


def test_bad_price_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"prices\.m\.output_per_mtok"):
        build_config({"prices": {"m": {"input_per_mtok": 1.0, "output_per_mtok": -1}}})
    with pytest.raises(ConfigError, match=r"unknown config key 'prices\.m\.per_call'"):
        build_config({"prices": {"m": {"input_per_mtok": 1, "output_per_mtok": 1, "per_call": 1}}})


def test_manifest_names_every_model_and_no_key(tmp_path: Path) -> None:
    cfg = build_config(
        {
            "agent": {"model": "openai/actor", "api_base": "http://127.0.0.1:9/v1",
                      "api_key_env": "MEMP_PK"},
            "memory": {"enabled": True, "embedder": "litellm:openai/embedder-x",
                       "builder": {"model": "openai/builder-y"}},
            "prices": {"openai/actor": PRICE},
        }
    )  # fmt: skip
    RunDir.create(tmp_path / "r", cfg).close()
    text = (tmp_path / "r" / MANIFEST).read_text()
    models = json.loads(text)["models"]
    assert (models["agent"], models["builder"], models["embedder"]) == (
        "openai/actor", "openai/builder-y", "openai/embedder-x")  # fmt: skip
    assert models["endpoints"]["agent"] == "http://127.0.0.1:9/v1"
    assert models["prices"] == {"openai/actor": PRICE}
    assert "sk-" not in text


def test_version_and_default_preset_are_announced(tmp_path: Path) -> None:
    res = memp("--version")
    assert res.returncode == 0 and res.stdout.strip().startswith("memp "), res.stderr
    assert res.stdout.split()[1][0].isdigit() or "not installed" in res.stdout
    # A run directory that already holds a run stops memp run before Ray starts.
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / TRAJECTORIES).write_text("")
    res = memp("run", "--run-dir", str(busy))
    assert f"no config given: using the default preset {DEFAULT_PRESET}" in res.stdout
    assert res.returncode == 2 and "already holds a run" in res.stderr
    assert DEFAULT_PRESET.name == "household-sim.yaml" and DEFAULT_PRESET.is_file()
