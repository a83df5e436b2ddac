"""Reading a run config: a YAML file or preset name, `--set a.b=c` overrides, one-line errors.

Validation covers the plug-in subsections too (pipeline.plugin_config), which is why this module
sits above both config.py (the models) and plugin_config.py (the plug-in checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.config import ConfigError, RunConfig
from pipeline.presets import find, run_presets


def _parse_value(text: str) -> Any:
    # YAML scalars give the user ints, floats, bools and null without quoting rules of our own.
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _apply_override(tree: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. memory.top_k=3")
    key, _, raw = assignment.partition("=")
    set_key(tree, key.strip(), _parse_value(raw), label=f"--set {key}")


def set_key(tree: dict[str, Any], dotted: str, value: Any, *, label: str | None = None) -> None:
    """Set a dotted key in a config tree, making sections on the way; `label` names it in errors."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{label or dotted}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nxt = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nxt is None:
            return []
        model = nxt
    return sorted(model.model_fields)


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(p) for p in loc)
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(RunConfig, loc))
        return f"unknown config key {key!r}; allowed here: {allowed}"
    msg = first["msg"]
    extra = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"bad value for {key!r}: {msg}; got {first.get('input')!r}{extra}"


# Keys that moved: (section, key) -> where they live now.
MOVED_KEYS = {("env", "grammar"): "env.household.grammar"}


def _check_moved(tree: dict[str, Any]) -> None:
    for (section, key), new in MOVED_KEYS.items():
        node = tree.get(section)
        if isinstance(node, dict) and key in node:
            raise ConfigError(
                f"config key '{section}.{key}' moved to '{new}' (e.g. --set {new}={node[key]})"
            )


def build_config(tree: dict[str, Any]) -> RunConfig:
    """Validate a config tree, then the env and sim subsections against their plug-ins."""
    _check_moved(tree)
    try:
        cfg = RunConfig.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(_one_line(err)) from None
    from pipeline.plugin_config import check_plugins  # imports the env suite: not for workers

    check_plugins(cfg)
    return cfg


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML file or preset name (defaults when path is None); apply `a.b=c` overrides."""
    tree: dict[str, Any] = {}
    if path is not None:
        p = find(path, run_presets())
        if p is None:
            known = ", ".join(run_presets())
            raise ConfigError(f"config file not found: {path} (nor a preset name: {known})")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{p}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: top level must be a mapping of sections")
        tree = loaded
    for assignment in overrides:
        _apply_override(tree, assignment)
    return build_config(tree)
