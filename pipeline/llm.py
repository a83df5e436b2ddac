"""The one door to models: litellm calls with usage, cost, retries and a concurrency limit."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Callable
from typing import Any

import anyio
import litellm
from pydantic import Field

from pipeline import llm_route
from pipeline.config import ModelConfig, SimConfig
from pipeline.limiter import AdaptiveLimiter, loop_lag_s
from pipeline.llm_errors import RETRYABLE, LLMError, backoff_s, classify, one_line, retry_after_s
from pipeline.types import Record, ToolCall, Usage

log = logging.getLogger(__name__)

litellm.suppress_debug_info = True
litellm.drop_params = True  # a real provider that lacks `seed` etc. should not fail the call
logging.getLogger("LiteLLM").setLevel(logging.WARNING)


class LLMResult(Record):
    text: str
    tool_calls: list[ToolCall] = Field(default_factory=list)  # when the model called tools
    usage: Usage
    latency_s: float
    model: str
    role: str


class CallEvent(Record):
    """What observers (metrics) learn about each attempt; never carries prompts or keys."""

    role: str
    model: str
    usage: Usage
    latency_s: float
    error: str | None = None  # ErrorKind of a failed attempt, or "cancelled"
    retried: bool = False  # a failed attempt that another attempt follows (an exact retry count)


CallObserver = Callable[[CallEvent], None]
_observers: list[CallObserver] = []


def add_observer(observer: CallObserver) -> None:
    _observers.append(observer)


def remove_observer(observer: CallObserver) -> None:
    _observers.remove(observer)


def _emit(event: CallEvent) -> None:
    for observer in list(_observers):
        try:
            observer(event)
        except Exception:  # an observer must never break a model call
            log.exception("LLM call observer failed")


# One limiter per endpoint in this process: every client aimed at the same server shares it.
_endpoint_limiters: dict[str, AdaptiveLimiter] = {}


def endpoint_limiter(cfg: ModelConfig) -> AdaptiveLimiter:
    key = cfg.endpoint
    if key not in _endpoint_limiters:
        _endpoint_limiters[key] = AdaptiveLimiter(cfg.concurrency)
    return _endpoint_limiters[key]


def is_sim(model: str) -> bool:
    return model.startswith("sim/")


def supports_json_schema(cfg: ModelConfig) -> bool:
    """Whether the endpoint takes a json_schema response_format (agent.constrained=auto).

    A self-hosted OpenAI-compatible server (api_base: llama.cpp, vLLM, Ollama) does; a hosted
    model does when litellm's model map says so; the offline sim answers in text only."""
    if is_sim(cfg.model):
        return False
    if cfg.api_base:
        return True
    try:
        return bool(litellm.supports_response_schema(model=cfg.model))
    except Exception:  # a model litellm does not know
        return False


class LLMClient:
    """Calls one configured model; every litellm call in memp goes through here."""

    def __init__(self, cfg: ModelConfig, sim: SimConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed
        self.limiter = endpoint_limiter(cfg)
        self._rng = random.Random(seed)
        self._extra: dict[str, Any] = {}
        if is_sim(cfg.model):
            from pipeline import sim as sim_provider

            sim_cfg = sim or SimConfig()
            sim_provider.register(sim_cfg, (cfg.model,))
            self._extra = sim_provider.call_kwargs(sim_cfg, seed)
        if cfg.api_base:
            self._extra["api_base"] = cfg.api_base
            if not cfg.api_key_env and not os.environ.get("OPENAI_API_KEY"):
                # A keyless local server (llama.cpp, vLLM): litellm's OpenAI client insists on
                # some key, and the server ignores it.
                self._extra["api_key"] = "no-key"
        if cfg.api_key_env:
            key = os.environ.get(cfg.api_key_env)
            if not key:
                missing = f"env var {cfg.api_key_env} (api_key_env of {cfg.model}) is not set"
                raise LLMError("auth", missing)
            self._extra["api_key"] = key

    @property
    def _secrets(self) -> tuple[str, ...]:
        """Values an error text must never carry (the configured key)."""
        return tuple(v for k, v in self._extra.items() if k == "api_key" and isinstance(v, str))

    async def complete(
        self,
        messages: list[dict[str, Any]],
        role: str,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> LLMResult:
        """One chat completion with retries; raises LLMError after the last attempt.

        `tools`: OpenAI function schemas passed through litellm; calls come back parsed.
        `response_format`: passed through as is (e.g. a json_schema for constrained answers)."""
        kwargs: dict[str, Any] = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
            "timeout": self.cfg.timeout_s,
            "num_retries": 0,  # retries are ours, so backoff and Retry-After are honoured once
            **self._extra,
        }
        if tools:
            kwargs["tools"] = tools
        if response_format is not None:
            kwargs["response_format"] = response_format
        call = llm_route.route(self.cfg.model, self.cfg.api_base)
        response = await self._with_retries(role, lambda: call(kwargs))
        message = response.choices[0].message
        return LLMResult(
            text=message.content or "",
            tool_calls=[_tool_call(c) for c in getattr(message, "tool_calls", None) or []],
            usage=self._usage(response),
            latency_s=response._memp_latency_s,
            model=self.cfg.model,
            role=role,
        )

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], Usage]:
        kwargs = {
            "model": self.cfg.model,
            "input": texts,
            "timeout": self.cfg.timeout_s,
            "num_retries": 0,
            **{k: v for k, v in self._extra.items() if k in ("api_base", "api_key")},
        }
        response = await self._with_retries(
            "embed", lambda: llm_route.quiet(litellm.aembedding, kwargs)
        )
        vectors = [list(item["embedding"]) for item in response.data]
        return vectors, self._usage(response)

    async def _with_retries(self, role: str, call: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            # A call waits its turn behind the loop's queue; a long wait means CPU past its knee.
            self.limiter.on_lag(await loop_lag_s())
            started = time.perf_counter()
            try:
                async with self.limiter.limiter:
                    response = await call()
            except anyio.get_cancelled_exc_class():
                # An episode timeout or shutdown hung up mid-call: the attempt still happened
                # (its tokens, billed or not, are unknown to a client that stopped listening).
                latency = time.perf_counter() - started
                _emit(CallEvent(role=role, model=self.cfg.model, usage=Usage(), latency_s=latency,
                                error="cancelled"))  # fmt: skip
                raise
            except Exception as exc:
                kind = classify(exc)
                latency = time.perf_counter() - started
                retry = kind in RETRYABLE and attempt < self.cfg.max_retries
                _emit(
                    CallEvent(
                        role=role,
                        model=self.cfg.model,
                        usage=Usage(),
                        latency_s=latency,
                        error=kind,
                        retried=retry,
                    )
                )
                if kind == "rate_limit":
                    self.limiter.on_rate_limit()
                if not retry:
                    raise LLMError(kind, one_line(exc, self._secrets)) from None
                wait = retry_after_s(exc)
                await anyio.sleep(wait if wait is not None else backoff_s(attempt, self._rng))
                attempt += 1
                continue
            latency = time.perf_counter() - started
            response._memp_latency_s = latency
            _emit(
                CallEvent(
                    role=role, model=self.cfg.model, usage=self._usage(response), latency_s=latency
                )
            )
            return response

    def _usage(self, response: Any) -> Usage:
        """Usage with cost, computed once per response (cached on it) from the server's counts."""
        cached = getattr(response, "_memp_usage", None)
        if cached is not None:
            return cached
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        hidden = getattr(response, "_hidden_params", None) or {}
        if hidden.get("response_cost") is not None:
            cost = float(hidden["response_cost"])
        else:
            unit = unit_prices(self.cfg.model, str(getattr(response, "model", "") or ""))
            cost = prompt * unit[0] + completion * unit[1] if unit else 0.0
        out = Usage(calls=1, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)
        # A response type without attribute assignment just recomputes later.
        with contextlib.suppress(AttributeError):
            response._memp_usage = out
        return out


# (configured model, answered model, size of litellm's map) -> per-token (input, output) USD, or
# None when unpriced: litellm.completion_cost raised on every call to an unpriced local server.
_unit_prices: dict[tuple[str, str, int], tuple[float, float] | None] = {}


def unit_prices(model: str, answered: str = "") -> tuple[float, float] | None:
    """Per-token prices from litellm's price map (with `prices:`/sim entries), cached per model."""
    key = (model, answered, len(litellm.model_cost))
    if key not in _unit_prices:
        found: tuple[float, float] | None = None
        for name in (model, model.partition("/")[2], answered):
            entry = litellm.model_cost.get(name) if name else None
            if entry and entry.get("input_cost_per_token") is not None:
                found = (
                    float(entry["input_cost_per_token"]),
                    float(entry.get("output_cost_per_token") or 0.0),
                )
                break
        _unit_prices[key] = found
    return _unit_prices[key]


def _tool_call(call: Any) -> ToolCall:
    """litellm's tool call -> ToolCall; arguments that are not a JSON object are kept as text."""
    function = getattr(call, "function", None)
    name = str(getattr(function, "name", "") or "")
    raw = getattr(function, "arguments", None) or "{}"
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        return ToolCall(
            name=name, id=str(getattr(call, "id", "") or ""), bad_arguments=str(raw)[:2000]
        )
    return ToolCall(name=name, arguments=args, id=str(getattr(call, "id", "") or ""))
