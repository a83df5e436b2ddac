"""The offline scripted model `sim/<policy>`, a litellm custom provider (a stand-in, not evidence).

Importing this package is cheap (the policy registry only); litellm loads with `register()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.config import SimConfig
from pipeline.sim.policies import (
    get_policy,
    register_policy,
    registered_policies,
    settings_model,
)

if TYPE_CHECKING:
    from pipeline.sim.provider import SimLLM

__all__ = [
    "PROVIDER",
    "call_kwargs",
    "get_policy",
    "handler",
    "policy_of",
    "register",
    "register_policy",
    "registered_policies",
    "settings_model",
    "size_caches",
]

PROVIDER = "sim"
DEFAULT_MODELS = ("sim/household",)
_handler: SimLLM | None = None


def policy_of(model: str) -> str:
    """The policy name in a model string: 'sim/household' -> 'household'."""
    return model.split("/", 1)[1] if model.startswith(f"{PROVIDER}/") else model


def handler() -> SimLLM:
    """The one registered provider instance."""
    global _handler
    if _handler is None:
        from pipeline.sim.provider import SimLLM

        _handler = SimLLM()
    return _handler


def register(sim: SimConfig, models: tuple[str, ...] = DEFAULT_MODELS) -> None:
    """Register the "sim" provider with litellm (once) and the prices of `models` (idempotent)."""
    import litellm

    from pipeline.sim import pricing

    h = handler()
    h.default = sim  # calls without call_kwargs use the last registered config
    entries = list(litellm.custom_provider_map or [])
    if not any(e.get("provider") == PROVIDER and e.get("custom_handler") is h for e in entries):
        entries = [e for e in entries if e.get("provider") != PROVIDER]
        entries.append({"provider": PROVIDER, "custom_handler": h})
        litellm.custom_provider_map = entries
        from litellm.utils import custom_llm_setup

        custom_llm_setup()  # so get_llm_provider/cost lookups know "sim" before the first call
    pricing.register_prices(sim, tuple(dict.fromkeys((*DEFAULT_MODELS, *models))))


def size_caches(episodes_in_flight: int) -> None:
    """Size this process's per-episode caches (plans, token counts) for its episodes in flight.

    The defaults fit 32 per worker; at thousands per worker every step missed them and the
    stand-in's own recounting, not memp, capped throughput (perf pipeline at 8,192 in flight)."""
    from pipeline.sim import pricing, roles

    pricing.size_for(episodes_in_flight)
    roles.size_for(episodes_in_flight)


def call_kwargs(sim: SimConfig, seed: int) -> dict[str, Any]:
    """Extra litellm.acompletion kwargs that deliver the config and run seed to the provider."""
    from pipeline.sim.provider import CONFIG_KWARG, SEED_KWARG

    return {CONFIG_KWARG: sim.model_dump(mode="json"), SEED_KWARG: int(seed)}
