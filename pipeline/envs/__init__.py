"""Environment registry: `get_suite(config)` returns the suite registered under `config.name`."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import EnvConfig
from pipeline.envs.base import Environment, EnvSuite, StepResult, UnknownEnvError

_REGISTRY: dict[str, Callable[[EnvConfig], EnvSuite]] = {}


def register(name: str, factory: Callable[[EnvConfig], EnvSuite]) -> None:
    _REGISTRY[name] = factory


def _load_builtin() -> None:
    # Imported lazily so `pipeline.envs` stays cheap to import and free of cycles.
    if "household" not in _REGISTRY:
        from pipeline.envs.household import HouseholdSuite

        register("household", HouseholdSuite)


def registered() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_suite(config: EnvConfig) -> EnvSuite:
    _load_builtin()
    try:
        factory = _REGISTRY[config.name]
    except KeyError:
        raise UnknownEnvError(
            f"unknown env {config.name!r}; registered: {', '.join(registered())}"
        ) from None
    return factory(config)


__all__ = [
    "EnvSuite",
    "Environment",
    "StepResult",
    "UnknownEnvError",
    "get_suite",
    "register",
    "registered",
]
