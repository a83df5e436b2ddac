"""Sim policies by name: `sim/<policy>` picks the callable that answers every role for one env.

A policy is `respond(sim_config, seed, messages, tools) -> str | dict` (a dict is one tool call,
`{"name": ..., "arguments": {...}}`). It reads only what it is sent, never an env's hidden state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from pipeline.errors import MempError
from pipeline.plugins import PluginError, group, load_target

ENTRY_POINT_GROUP = "memp.sim_policies"
SimPolicy = Callable[[Any, int, list[dict[str, Any]], list[dict[str, Any]] | None], Any]
BUILTIN: dict[str, str] = {
    "household": "pipeline.sim.roles:respond",
    "travelplanner": "pipeline.envs.travelplanner.sim.policy:respond",
}
_REGISTRY: dict[str, str | SimPolicy] = {}
_SETTINGS: dict[str, str | type[BaseModel]] = {}
_LOADED: dict[str, SimPolicy] = {}


class UnknownPolicyError(MempError, ValueError):
    pass


def register_policy(
    name: str, policy: str | SimPolicy, settings_model: str | type[BaseModel] | None = None
) -> None:
    """Register a policy (callable or "pkg.mod:callable") in this process; `settings_model`
    validates its `sim.<name>` config subsection."""
    if name in BUILTIN or name in group(ENTRY_POINT_GROUP):
        raise ValueError(f"sim policy {name!r} is already registered")
    if name in _REGISTRY and _REGISTRY[name] != policy:
        raise ValueError(f"sim policy {name!r} is already registered")
    _REGISTRY[name] = policy
    if settings_model is not None:
        _SETTINGS[name] = settings_model


def registered_policies() -> list[str]:
    return sorted({*BUILTIN, *_REGISTRY, *group(ENTRY_POINT_GROUP)})


def get_policy(name: str) -> SimPolicy:
    if name in _LOADED:
        return _LOADED[name]
    entry = BUILTIN.get(name) or _REGISTRY.get(name)
    try:
        if entry is None:
            eps = group(ENTRY_POINT_GROUP)
            if name not in eps:
                raise UnknownPolicyError(
                    f"no sim policy {name!r}; registered: {', '.join(registered_policies())}"
                )
            policy = eps[name].load()
        else:
            policy = load_target(entry, f"sim policy {name!r}") if isinstance(entry, str) else entry
    except PluginError as err:
        raise UnknownPolicyError(str(err)) from None
    _LOADED[name] = policy
    return policy


def settings_model(name: str) -> type[BaseModel] | None:
    """The model of a policy's `sim.<name>` subsection (registered, or the policy's attribute)."""
    entry = _SETTINGS.get(name)
    if isinstance(entry, str):
        return load_target(entry, f"sim policy {name!r} settings")
    if entry is not None:
        return entry
    return getattr(get_policy(name), "settings_model", None)
