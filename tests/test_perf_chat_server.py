"""The perf chat server: a real OpenAI-compatible HTTP server in its own process, via litellm."""

from __future__ import annotations

import anyio
import pytest

from pipeline.config import ModelConfig
from pipeline.llm import LLMClient
from pipeline.perf.chat_server import server_process
from pipeline.perf.pipeline import proc_cpu_s

pytestmark = pytest.mark.heavy  # a server process: not in `make test-fast`


def test_server_answers_from_the_sim_policy_with_usage_and_latency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMP_PERF_TEST_KEY", "unused")
    messages = [
        {"role": "system", "content": "You are in a house. Answer with Think: and Action:."},
        {"role": "user", "content": "Your task is to: put a clean mug in the cabinet."},
    ]
    with server_process(latency_s=0.2, sigma=0.01) as (url, pid):
        cfg = ModelConfig(model="openai/household", api_base=url,
                          api_key_env="MEMP_PERF_TEST_KEY", timeout_s=20)  # fmt: skip
        result = anyio.run(LLMClient(cfg, seed=0).complete, messages, "agent")
        assert proc_cpu_s(pid) > 0.0, "the server's CPU is measurable apart from ours"
    assert result.text or result.tool_calls
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.latency_s >= 0.15, "the server's sampled latency was not applied"
    assert proc_cpu_s(pid) == 0.0, "the server process outlived its context"
