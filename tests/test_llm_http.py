"""The LLM door over real HTTP: litellm -> OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import time

import anyio
import pytest

from pipeline.config import ModelConfig
from pipeline.llm import (
    CallEvent,
    LLMClient,
    LLMError,
    add_observer,
    endpoint_limiter,
    remove_observer,
)
from tests.openai_server import OpenAIServer

KEY = "sk-test-secret-do-not-log-1234"


def model_cfg(server: OpenAIServer, **kw: object) -> ModelConfig:
    return ModelConfig(
        model="openai/test-model",
        api_base=server.base_url,
        api_key_env="MEMP_TEST_KEY",
        timeout_s=10,
        **kw,
    )


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", KEY)


def test_rate_limit_then_success_honours_retry_after() -> None:
    with OpenAIServer(lambda msgs: "Think: ok\nAction: look") as server:
        server.fail_next(429, {"Retry-After": "0.3"})
        client = LLMClient(model_cfg(server, concurrency=8), seed=1)
        before = endpoint_limiter(client.cfg).current
        started = time.perf_counter()
        result = anyio.run(client.complete, [{"role": "user", "content": "hi there"}], "agent")
        elapsed = time.perf_counter() - started
    assert result.text == "Think: ok\nAction: look"
    assert len(server.requests) == 2
    assert elapsed >= 0.3, "the Retry-After wait was not honoured"
    assert result.usage.prompt_tokens == 2 and result.usage.completion_tokens == 4
    assert endpoint_limiter(client.cfg).current < before, "a 429 must shrink the endpoint limit"
    assert server.auth_headers[-1] == f"Bearer {KEY}"


def test_non_retryable_error_is_raised_as_llm_error() -> None:
    with OpenAIServer(lambda msgs: "x") as server:
        server.fail_next(401)
        client = LLMClient(model_cfg(server), seed=1)
        with pytest.raises(LLMError) as info:
            anyio.run(client.complete, [{"role": "user", "content": "hi"}], "agent")
    assert info.value.kind == "auth"
    assert len(server.requests) == 1
    assert KEY not in str(info.value)


def test_retries_exhausted_on_server_errors() -> None:
    with OpenAIServer(lambda msgs: "x") as server:
        for _ in range(3):
            server.fail_next(503, {"Retry-After": "0"})
        client = LLMClient(model_cfg(server, max_retries=2), seed=1)
        events: list[CallEvent] = []
        add_observer(events.append)
        try:
            with pytest.raises(LLMError) as info:
                anyio.run(client.complete, [{"role": "user", "content": "hi"}], "agent")
        finally:
            remove_observer(events.append)
    assert info.value.kind == "server"
    assert len(server.requests) == 3
    # three failed attempts, the first two retried: the retry count is exact, not a bound
    assert [(e.error, e.retried) for e in events] == [("server", True)] * 2 + [("server", False)]


def test_embeddings_over_http() -> None:
    with OpenAIServer(lambda msgs: "x", dim=8) as server:
        cfg = ModelConfig(
            model="openai/test-embed", api_base=server.base_url, api_key_env="MEMP_TEST_KEY"
        )
        vectors, usage = anyio.run(LLMClient(cfg).embed, ["a mug", "a hot mug"])
    assert len(vectors) == 2 and len(vectors[0]) == 8
    assert vectors[0] != vectors[1]
    assert usage.prompt_tokens == 5


def test_missing_key_env_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMP_TEST_KEY")
    with pytest.raises(LLMError, match="MEMP_TEST_KEY"):
        LLMClient(ModelConfig(model="openai/x", api_key_env="MEMP_TEST_KEY"))


def test_error_text_carries_status_and_body_excerpt_without_keys() -> None:
    # A plain-text 429 (as some gateways send) once left the text empty after "OpenAIException - ".
    body = f"Too many requests for key {KEY} (sk-abcdef1234567890), slow down".encode()
    with OpenAIServer(lambda msgs: "x") as server:
        for _ in range(3):
            server.fail_next(429, {"Retry-After": "0"}, body=body)
        client = LLMClient(model_cfg(server, max_retries=2), seed=1)
        with pytest.raises(LLMError) as info:
            anyio.run(client.complete, [{"role": "user", "content": "hi"}], "agent")
    text = str(info.value)
    assert info.value.kind == "rate_limit"
    assert "HTTP 429" in text and "Too many requests for key" in text
    assert KEY not in text and "sk-abcdef1234567890" not in text
    assert "\n" not in text and len(text) <= 300
