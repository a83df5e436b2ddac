"""Plug-in targets: import a "pkg.module:Attr" string, list a Python entry-point group."""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pipeline.errors import MempError


class PluginError(MempError, ValueError):
    """A plug-in target that cannot be imported; the message is one line."""


def is_target(text: str) -> bool:
    """True for "pkg.module:Attr" (a module path, a colon, an attribute path)."""
    module, sep, attr = text.partition(":")
    return bool(sep and module and attr) and " " not in text


def load_target(target: str, what: str) -> Any:
    """The object named by "pkg.module:Attr"; `what` names the config key in errors."""
    if not is_target(target):
        raise PluginError(f"{what} {target!r}: expected 'package.module:Name'")
    module_name, _, attr_path = target.partition(":")
    # As `python -m` would: a module in the working directory is importable from `memp` too.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise PluginError(f"{what} {target!r}: cannot import {module_name!r} ({err})") from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"{what} {target!r}: {module_name!r} has no {attr_path!r}") from None
    return obj


def group(name: str) -> dict[str, EntryPoint]:
    """Installed entry points of a group by name; a name declared twice is an error."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=name):
        if ep.name in found and found[ep.name].value != ep.value:
            raise PluginError(
                f"entry point {ep.name!r} of group {name!r} is declared twice "
                f"({found[ep.name].value} and {ep.value})"
            )
        found[ep.name] = ep
    return found
