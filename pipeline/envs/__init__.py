"""Environment registry: built-ins by name, "pkg.mod:Class" targets, the `memp.envs` entry points.

`get_suite(config)` is called inside every process that needs the env (driver, rollout workers,
validator, distillers, writer); a "pkg.mod:Class" name or an entry point resolves the same way in
each of them. `register()` is per process: code that runs only in the driver cannot reach Ray
workers, so a third-party env is named by target or entry point (README "Adding an environment").
"""

from __future__ import annotations

from typing import Any

from pipeline.config import EnvConfig
from pipeline.envs.base import (
    Action,
    Environment,
    EnvLanguage,
    EnvSuite,
    ReactLanguage,
    StepResult,
    ToolCall,
    UnknownEnvError,
)
from pipeline.errors import MempError
from pipeline.plugins import PluginError, group, is_target, load_target

ENTRY_POINT_GROUP = "memp.envs"
# Imported only when asked for: importing pipeline.envs must not import an env's dependencies.
BUILTIN: dict[str, str] = {
    "household": "pipeline.envs.household:HouseholdSuite",
    "alfworld": "pipeline.envs.alfworld:AlfworldSuite",
    "travelplanner": "pipeline.envs.travelplanner:TravelPlannerSuite",
}
_REGISTRY: dict[str, str | type] = {}
_LOADED: dict[str, type] = {}


class DuplicateEnvError(MempError, ValueError):
    pass


def _entry_points() -> dict[str, Any]:
    eps = group(ENTRY_POINT_GROUP)
    clash = sorted(n for n in eps if n in BUILTIN or n in _REGISTRY)
    if clash:
        raise DuplicateEnvError(
            f"env {clash[0]!r} is registered twice (entry point {eps[clash[0]].value} "
            "and a built-in or register() call)"
        )
    return dict(eps)


def register(name: str, suite: str | type) -> None:
    """Register a suite class (or its "pkg.mod:Class" target) under a name, in this process."""
    if name in BUILTIN or name in _REGISTRY or name in group(ENTRY_POINT_GROUP):
        raise DuplicateEnvError(f"env {name!r} is already registered")
    if is_target(name):
        raise ValueError(f"env name {name!r} must not look like a 'package.module:Class' target")
    _REGISTRY[name] = suite


def registered() -> list[str]:
    """Every env name: built-ins, this process's registrations and installed entry points."""
    return sorted({*BUILTIN, *_REGISTRY, *_entry_points()})


def suite_class(name: str) -> type:
    """The suite class for an env name or a "pkg.mod:Class" target (imported on first use)."""
    if name in _LOADED:
        return _LOADED[name]
    try:
        if is_target(name):
            cls = load_target(name, "env.name")
        elif name in BUILTIN or name in _REGISTRY:
            entry = BUILTIN.get(name) or _REGISTRY[name]
            cls = load_target(entry, f"env {name!r}") if isinstance(entry, str) else entry
        else:
            eps = _entry_points()
            if name not in eps:
                raise UnknownEnvError(
                    f"unknown env {name!r}; registered: {', '.join(registered())} "
                    "(or name one as 'package.module:SuiteClass')"
                )
            cls = eps[name].load()
    except PluginError as err:
        raise UnknownEnvError(str(err)) from None
    if not isinstance(cls, type):
        raise UnknownEnvError(f"env {name!r} resolves to {cls!r}, not a suite class")
    _LOADED[name] = cls
    return cls


def get_suite(config: EnvConfig) -> EnvSuite:
    """A suite built from the run's env config, in this process."""
    suite: Any = suite_class(config.name)(config)
    return suite


__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "Action",
    "DuplicateEnvError",
    "EnvLanguage",
    "EnvSuite",
    "Environment",
    "ReactLanguage",
    "StepResult",
    "ToolCall",
    "UnknownEnvError",
    "get_suite",
    "register",
    "registered",
    "suite_class",
]
