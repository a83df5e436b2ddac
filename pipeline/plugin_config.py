"""Config checks that need the plug-ins: the env subsection, `sim/<policy>` models, sim knobs,
memory policy names (their registries).

Run by build_config (the driver, before Ray starts): a config that passes here resolves the same
way in every Ray process.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.config import ConfigError, EnvConfig, MemoryConfig, RunConfig, SimConfig


def _sub_error(prefix: str, model: type[BaseModel], err: ValidationError) -> ConfigError:
    first = err.errors()[0]
    key = ".".join([prefix, *(str(p) for p in first["loc"])])
    if first["type"] == "extra_forbidden":
        return ConfigError(
            f"unknown config key {key!r}; allowed here: {', '.join(sorted(model.model_fields))}"
        )
    return ConfigError(f"bad value for {key!r}: {first['msg']}; got {first.get('input')!r}")


def _subsections(section: str, extra: dict[str, Any], allowed: list[str], base: list[str]) -> None:
    for key in extra:
        if key not in allowed:
            keys = ", ".join([*sorted(base), *allowed])
            raise ConfigError(f"unknown config key '{section}.{key}'; allowed here: {keys}")


def check_env(env: EnvConfig) -> Any:
    """The env's suite class, after checking `env.<name>` against its settings_model."""
    from pipeline.envs import UnknownEnvError, suite_class

    try:
        cls = suite_class(env.name)
    except UnknownEnvError as err:
        raise ConfigError(str(err)) from None
    name = getattr(cls, "name", env.name)
    model = getattr(cls, "settings_model", None)
    extra = dict(env.model_extra or {})
    _subsections("env", extra, [name] if model is not None else [], list(EnvConfig.model_fields))
    if model is not None:
        try:
            model.model_validate(extra.get(name) or {})
        except ValidationError as err:
            raise _sub_error(f"env.{name}", model, err) from None
    return cls


def _check_model(key: str, model: str, env_name: str, env_policy: str | None) -> None:
    from pipeline.sim import policy_of, registered_policies

    if not model.startswith("sim/"):
        return
    policy = policy_of(model)
    if env_policy is None:
        raise ConfigError(
            f"{key} {model!r}: env {env_name!r} has no sim policy; use a real model for it"
        )
    if policy not in registered_policies():
        raise ConfigError(
            f"{key} {model!r}: no sim policy {policy!r} is registered; env {env_name!r} "
            f"is played by 'sim/{env_policy}'"
        )
    if policy != env_policy:
        raise ConfigError(
            f"{key} {model!r}: sim policy {policy!r} does not play env {env_name!r}; "
            f"use 'sim/{env_policy}'"
        )


def check_sim(cfg: RunConfig, env_name: str, env_policy: str | None) -> None:
    """`sim/<policy>` models fit the env; `sim.<policy>` subsections fit their policy's model."""
    from pipeline.sim import registered_policies, settings_model

    _check_model("agent.model", cfg.agent.model, env_name, env_policy)
    if cfg.memory.builder is not None:
        _check_model("memory.builder.model", cfg.memory.builder.model, env_name, env_policy)
    extra = dict(cfg.sim.model_extra or {})
    with_model = [p for p in registered_policies() if p in extra and settings_model(p)]
    _subsections("sim", extra, with_model, list(SimConfig.model_fields))
    for policy in with_model:
        model = settings_model(policy)
        assert model is not None
        try:
            model.model_validate(extra[policy] or {})
        except ValidationError as err:
            raise _sub_error(f"sim.{policy}", model, err) from None


def check_memory(mem: MemoryConfig) -> None:
    """memory.build, retrieve and update name registered policies (else a one-line ConfigError)."""
    from pipeline.memory.build import BUILDERS
    from pipeline.memory.retrieve import RETRIEVERS
    from pipeline.memory.update import UPDATERS

    BUILDERS.get(mem.build)
    RETRIEVERS.get(mem.retrieve)
    UPDATERS.get(mem.update)


def check_plugins(cfg: RunConfig) -> None:
    check_memory(cfg.memory)
    cls = check_env(cfg.env)
    check_sim(cfg, getattr(cls, "name", cfg.env.name), getattr(cls, "sim_policy", None))
