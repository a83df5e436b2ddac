"""memp's lean litellm routes (the sim's CustomLLM handler, litellm's HTTP handler for an openai/
api_base server, called directly) answer exactly as litellm.acompletion does: same text, tool
calls, usage, cost and mapped errors (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import time

import anyio
import litellm
import pytest

from pipeline import llm_route, sim
from pipeline.config import ModelConfig, SimConfig
from pipeline.llm import LLMClient, LLMError
from pipeline.llm_errors import classify, one_line, retry_after_s
from pipeline.sim.provider import SimLLM
from tests.openai_server import OpenAIServer
from tests.test_sim_provider import agent_messages

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "look",
            "description": "look around",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


def _both(messages, seed: int, **kw):
    """(lean route's response, litellm.acompletion's response) for one identical request."""
    cfg = SimConfig(price_in_per_mtok=1.0, price_out_per_mtok=2.0)
    sim.register(cfg)
    kwargs = {"model": "sim/household", "messages": messages, "temperature": 0.0,
              "max_tokens": 64, "timeout": 10.0, "num_retries": 0,
              **sim.call_kwargs(cfg, seed), **kw}  # fmt: skip
    call = llm_route.route("sim/household", None)
    assert call is not llm_route.via_acompletion, "the sim should take the direct handler route"

    async def main():
        return await call(dict(kwargs)), await litellm.acompletion(**kwargs)

    return anyio.run(main)


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_same_text_usage_and_cost(seed: int) -> None:
    lean, full = _both(agent_messages(), seed)
    assert lean.choices[0].message.content == full.choices[0].message.content
    assert lean.choices[0].finish_reason == full.choices[0].finish_reason
    assert lean.model == full.model == "sim/household"
    assert lean.usage.prompt_tokens == full.usage.prompt_tokens > 0
    assert lean.usage.completion_tokens == full.usage.completion_tokens > 0
    assert lean._hidden_params["response_cost"] == full._hidden_params["response_cost"] > 0


def test_same_tool_calls() -> None:
    lean, full = _both(agent_messages(), 0, tools=TOOLS)
    a, b = lean.choices[0].message, full.choices[0].message
    assert (a.content, a.tool_calls is None) == (b.content, b.tool_calls is None)
    if a.tool_calls:
        assert [(c.function.name, c.function.arguments) for c in a.tool_calls] == [
            (c.function.name, c.function.arguments) for c in b.tool_calls
        ]


class _Failing(SimLLM):
    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    async def acompletion(self, *args, **kwargs):  # type: ignore[override]
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [
        litellm.RateLimitError("slow down", llm_provider="sim", model="household"),
        TimeoutError("took too long"),
        ValueError("a bug in a handler"),
    ],
    ids=["rate_limit", "timeout", "other"],
)
def test_same_mapped_errors(exc: Exception) -> None:
    failing = _Failing(exc)
    entries = list(litellm.custom_provider_map)
    litellm.custom_provider_map = [e for e in entries if e["provider"] != "sim"] + [
        {"provider": "sim", "custom_handler": failing}
    ]
    kwargs = {"model": "sim/household", "messages": agent_messages(), "num_retries": 0}
    errors = []
    try:
        for door in (llm_route.custom_call("sim/household", failing), llm_route.via_acompletion):
            with pytest.raises(Exception) as info:
                anyio.run(door, dict(kwargs))
            errors.append(info.value)
    finally:
        litellm.custom_provider_map = entries
    lean, full = errors
    assert type(lean) is type(full)
    assert classify(lean) == classify(full)


def test_client_takes_the_lean_route_and_keeps_cost() -> None:
    cfg = SimConfig(price_in_per_mtok=1.0, price_out_per_mtok=2.0)
    client = LLMClient(ModelConfig(model="sim/household"), cfg, seed=2)
    result = anyio.run(client.complete, agent_messages(), "agent")
    usage = result.usage
    want = (usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6
    assert usage.calls == 1 and usage.prompt_tokens > 0 and abs(usage.cost_usd - want) < 1e-12


def test_callbacks_send_every_call_through_acompletion(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    class Spy(litellm.integrations.custom_logger.CustomLogger):
        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            seen.append(kwargs["model"])

    spy = Spy()
    for name in (
        "success_callback",
        "failure_callback",
        "input_callback",
        "_async_success_callback",
        "_async_failure_callback",
        "_async_input_callback",
    ):
        monkeypatch.setattr(litellm, name, [])  # litellm copies callbacks into these lists
    monkeypatch.setattr(litellm, "callbacks", [spy])
    assert llm_route.route("sim/household", None) is llm_route.via_acompletion
    client = LLMClient(ModelConfig(model="sim/household"), SimConfig(), seed=2)

    async def main():
        await client.complete(agent_messages(), "agent")
        await anyio.sleep(0.5)  # litellm logs success from a task of its own

    anyio.run(main)
    assert seen, "a registered callback must see the call"


def test_unknown_model_still_raises_a_mapped_error() -> None:
    client = LLMClient(ModelConfig(model="nosuchprovider/x", max_retries=0))
    with pytest.raises(LLMError):
        anyio.run(client.complete, [{"role": "user", "content": "hi"}], "agent")


# --- the openai/ route to an api_base server: litellm's HTTP handler directly vs acompletion ---


def _http_kwargs(server: OpenAIServer, **kw: object) -> dict:
    return {"model": "openai/test-model", "messages": [{"role": "user", "content": "hi there"}],
            "api_base": server.base_url, "api_key": "sk-route-test-123456", "timeout": 5.0,
            "num_retries": 0, "temperature": 0.0, "max_tokens": 64, **kw}  # fmt: skip


def _http_both(server: OpenAIServer, **kw: object) -> list:
    """Each door's answer (or raised error) to the same request, the lean route first."""
    lean = llm_route.route("openai/test-model", server.base_url)
    assert lean is not llm_route.via_acompletion, "an api_base openai/ model takes the HTTP route"
    out = []
    for door in (lean, llm_route.via_acompletion):
        try:
            out.append(anyio.run(door, _http_kwargs(server, **kw)))
        except Exception as exc:  # the error is what is compared
            out.append(exc)
    return out


def test_http_same_text_and_usage() -> None:
    with OpenAIServer(lambda msgs: "Think: ok\nAction: look") as server:
        lean, full = _http_both(server)
        bodies = server.requests
    assert lean.choices[0].message.content == full.choices[0].message.content
    assert lean.choices[0].finish_reason == full.choices[0].finish_reason
    assert (lean.usage.prompt_tokens, lean.usage.completion_tokens) == (
        full.usage.prompt_tokens,
        full.usage.completion_tokens,
    )
    assert lean.usage.prompt_tokens > 0
    keys = [{k for k in b if k != "stream"} for b in bodies]
    assert keys[0] == keys[1], "both routes send the same request fields"


def test_http_same_tool_calls_and_response_format() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    with OpenAIServer(lambda msgs: {"name": "look", "arguments": {"x": 1}}) as server:
        lean, full = _http_both(server, tools=TOOLS, response_format=schema)
        sent = [b.get("response_format") for b in server.requests]
    a, b = lean.choices[0].message.tool_calls, full.choices[0].message.tool_calls
    assert [(c.function.name, c.function.arguments) for c in a] == [
        (c.function.name, c.function.arguments) for c in b
    ]
    assert sent[0] == sent[1] == schema


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (401, {}, None),
        (429, {"Retry-After": "0.3"}, None),
        (500, {}, None),
        (400, {}, None),
        (503, {}, b"upstream busy, plain text"),
    ],
)
def test_http_same_errors(status: int, headers: dict, body: bytes | None) -> None:
    with OpenAIServer(lambda msgs: "x") as server:
        server.fail_next(status, headers, body)
        server.fail_next(status, headers, body)
        lean, full = _http_both(server)
    assert isinstance(lean, Exception) and isinstance(full, Exception)
    assert type(lean) is type(full) and classify(lean) == classify(full)
    assert retry_after_s(lean) == retry_after_s(full)
    assert one_line(lean) == one_line(full)


def test_http_same_timeout() -> None:
    with OpenAIServer(lambda msgs: time.sleep(1.5) or "late") as server:
        lean, full = _http_both(server, timeout=0.3)
    assert classify(lean) == classify(full) == "timeout"
