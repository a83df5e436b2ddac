"""Token counting with litellm's counter (cached per message) and registered prices."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import litellm  # pipeline/__init__.py has set LITELLM_LOCAL_MODEL_COST_MAP: no network fetch

from pipeline.config import SimConfig

_COUNT_MODEL = "gpt-4o-mini"  # a bundled tiktoken encoding: offline and close to real chat models
_PER_MESSAGE = 3  # litellm's per-message overhead; a whole list adds 3 more for the reply priming
# Keyed by the message's hash, not its text: a finished episode's messages are freed with it
# (an endless run's rollout worker grew ~5 MB per 1,000 episodes holding them until the cap).
# 8,192 keys hold 32 episodes in flight per worker many times over and fill in a few hundred
# episodes; at 65,536 (~10 MB) a soak's worker was still filling it after 4,800 episodes.
# A 64-bit hash collision among 8,192 live keys (~1e-12) would only misprice a sim call.
# LRU: a running episode's earlier messages are counted again at each of its steps.
_cache: OrderedDict[int, int] = OrderedDict()
_CACHE_MAX = 8192
MESSAGES_PER_EPISODE = 32  # held per episode in flight (a step adds two messages)


def size_for(episodes_in_flight: int) -> None:
    """Hold every in-flight episode's messages: past the cap each step recounts its history."""
    global _CACHE_MAX
    _CACHE_MAX = max(8192, MESSAGES_PER_EPISODE * episodes_in_flight)


def _message_tokens(role: str, content: str) -> int:
    key = hash((role, content))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    n = litellm.token_counter(model=_COUNT_MODEL, messages=[{"role": role, "content": content}])
    _cache[key] = n
    if len(_cache) > _CACHE_MAX:
        _cache.popitem(last=False)
    return n


def _text(message: dict[str, Any]) -> str:
    # An assistant tool call has no content; its call is what the model wrote.
    return str(message.get("content") or message.get("tool_calls") or "")


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Equals litellm.token_counter(messages=...) but counts each distinct message only once."""
    total = _PER_MESSAGE
    for m in messages:
        total += _message_tokens(str(m.get("role", "user")), _text(m)) - _PER_MESSAGE
    return total


def completion_tokens(text: str) -> int:
    return litellm.token_counter(model=_COUNT_MODEL, text=text, count_response_tokens=True)


def register_prices(sim: SimConfig, models: tuple[str, ...]) -> None:
    """Register per-token prices so litellm.completion_cost and response_cost are non-zero."""
    entry = {
        "input_cost_per_token": sim.price_in_per_mtok / 1e6,
        "output_cost_per_token": sim.price_out_per_mtok / 1e6,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
        "litellm_provider": "sim",
        "mode": "chat",
        "max_tokens": 4096,
        "max_input_tokens": 128000,
        "max_output_tokens": 4096,
    }
    litellm.register_model({m: dict(entry) for m in models})
