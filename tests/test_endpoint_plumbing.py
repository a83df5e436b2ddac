"""Memory model endpoints against an OpenAI-compatible server on 127.0.0.1 (chat + embeddings)."""

from __future__ import annotations

import anyio
import numpy as np
import pytest

from pipeline.config import RunConfig
from pipeline.config_load import load_config
from pipeline.llm import LLMClient, LLMError
from pipeline.memory.embed import make_embedder
from tests.openai_server import OpenAIServer

AGENT_KEY = "sk-agent-secret-1111"
EMBED_KEY = "sk-embed-secret-2222"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_AGENT_KEY", AGENT_KEY)
    monkeypatch.setenv("MEMP_EMBED_KEY", EMBED_KEY)


def test_embedder_calls_its_configured_server_with_its_own_key() -> None:
    with OpenAIServer(lambda msgs: "unused", dim=24) as server:
        cfg = load_config(
            None,
            [
                "memory.embedder=litellm:openai/test-embed",
                f"memory.embedder_api_base={server.base_url}",
                "memory.embedder_api_key_env=MEMP_EMBED_KEY",
            ],
        )
        embedder = make_embedder(cfg.memory)
        rows, usage = anyio.run(embedder.embed, ["take apple", "heat mug", "take apple"])
        bodies, auth = list(server.requests), list(server.auth_headers)
    assert rows.shape == (3, 24) and embedder.dim == 24
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    assert np.array_equal(rows[0], rows[2])  # cached by text: one request carried two texts
    assert [b["input"] for b in bodies] == [["take apple", "heat mug"]]
    assert auth == [f"Bearer {EMBED_KEY}"]
    assert usage.calls == 1 and usage.prompt_tokens == 4


def test_embedder_key_env_unset_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMP_EMBED_KEY")
    cfg = load_config(
        None,
        ["memory.embedder=litellm:openai/e", "memory.embedder_api_key_env=MEMP_EMBED_KEY"],
    )
    with pytest.raises(LLMError, match="MEMP_EMBED_KEY"):
        make_embedder(cfg.memory)


def test_builder_inherits_the_agents_unset_endpoint_and_reaches_its_server() -> None:
    with OpenAIServer(lambda msgs: "1. find the mug\n2. heat it") as server:
        cfg = load_config(
            None,
            [
                "agent.model=openai/agent-a",
                f"agent.api_base={server.base_url}",
                "agent.api_key_env=MEMP_AGENT_KEY",
                "memory.builder.model=openai/builder-b",  # no endpoint of its own
            ],
        )
        builder = cfg.memory.builder
        assert builder is not None
        assert (builder.api_base, builder.api_key_env) == (server.base_url, "MEMP_AGENT_KEY")
        # Actors rebuild the config from its dump: the inherited endpoint survives.
        again = RunConfig.model_validate(cfg.model_dump(mode="json")).memory.builder
        assert again == builder
        messages = [{"role": "user", "content": "script"}]
        result = anyio.run(lambda: LLMClient(builder).complete(messages, "build"))
        bodies, auth = list(server.requests), list(server.auth_headers)
    assert result.text.startswith("1. find the mug") and result.role == "build"
    assert [b["model"] for b in bodies] == ["builder-b"]
    assert auth == [f"Bearer {AGENT_KEY}"]


def test_builder_keeps_its_own_endpoint_and_an_explicit_null() -> None:
    own = load_config(
        None,
        [
            "agent.api_base=http://127.0.0.1:9/v1",
            "agent.api_key_env=MEMP_AGENT_KEY",
            "memory.builder.model=openai/b",
            "memory.builder.api_base=http://127.0.0.1:8/v1",
        ],
    ).memory.builder
    assert own is not None
    assert (own.api_base, own.api_key_env) == ("http://127.0.0.1:8/v1", "MEMP_AGENT_KEY")
    hosted = load_config(
        None,
        [
            "agent.api_base=http://127.0.0.1:9/v1",
            "memory.builder.model=openai/gpt-4o-mini",
            "memory.builder.api_base=null",  # a hosted builder next to a local agent
        ],
    ).memory.builder
    assert hosted is not None and hosted.api_base is None
