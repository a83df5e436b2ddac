"""The offline scripted model `sim/*` as a litellm custom provider (a stand-in, not evidence)."""

from __future__ import annotations

from typing import Any

from pipeline.config import SimConfig
from pipeline.sim import pricing
from pipeline.sim.provider import CONFIG_KWARG, SEED_KWARG, SimLLM
from pipeline.sim.roles import respond

__all__ = ["PROVIDER", "SimLLM", "call_kwargs", "handler", "register", "respond"]

PROVIDER = "sim"
DEFAULT_MODELS = ("sim/household",)
_handler: SimLLM | None = None


def handler() -> SimLLM:
    """The one registered provider instance."""
    global _handler
    if _handler is None:
        _handler = SimLLM()
    return _handler


def register(sim: SimConfig, models: tuple[str, ...] = DEFAULT_MODELS) -> None:
    """Register the "sim" provider with litellm (once) and the prices of `models` (idempotent)."""
    import litellm

    h = handler()
    h.default = sim  # calls without call_kwargs use the last registered config
    entries = list(litellm.custom_provider_map or [])
    if not any(e.get("provider") == PROVIDER and e.get("custom_handler") is h for e in entries):
        entries = [e for e in entries if e.get("provider") != PROVIDER]
        entries.append({"provider": PROVIDER, "custom_handler": h})
        litellm.custom_provider_map = entries
        from litellm.utils import custom_llm_setup

        custom_llm_setup()  # so get_llm_provider/cost lookups know "sim" before the first call
    pricing.register_prices(sim, models)


def call_kwargs(sim: SimConfig, seed: int) -> dict[str, Any]:
    """Extra litellm.acompletion kwargs that deliver the config and run seed to the provider."""
    return {CONFIG_KWARG: sim.model_dump(mode="json"), SEED_KWARG: int(seed)}
