"""Tolerant reading of run-directory records through the pipeline's own pydantic models.

The models forbid unknown fields (right for writers); a viewer must still show a record written by
a newer memp. Unknown fields are set aside, kept for display, and the rest is validated as usual.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.errors import MempError

M = TypeVar("M", bound=BaseModel)
MAX_PASSES = 8  # an unknown field nested in an unknown field needs one pass per level at most


class RecordError(MempError, ValueError):
    """A record that does not parse even with unknown fields set aside; one line."""


def _pop(tree: Any, loc: tuple[Any, ...]) -> Any:
    node = tree
    for key in loc[:-1]:
        node = node[key]
    return node.pop(loc[-1])


def parse_tolerant(model: type[M], raw: str | bytes | dict[str, Any]) -> tuple[M, dict[str, Any]]:
    """(record, unknown fields by dotted path); RecordError names the first real problem."""
    if not isinstance(raw, dict):
        try:
            return model.model_validate_json(raw), {}
        except ValidationError:
            pass
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise RecordError(f"not JSON ({err})") from None
        if not isinstance(raw, dict):
            raise RecordError("not a JSON object")
    tree = raw
    extras: dict[str, Any] = {}
    for _ in range(MAX_PASSES):
        try:
            return model.model_validate(tree), extras
        except ValidationError as err:
            errors = err.errors()
            unknown = [e for e in errors if e["type"] == "extra_forbidden"]
            if len(unknown) != len(errors):
                first = next(e for e in errors if e["type"] != "extra_forbidden")
                where = ".".join(str(p) for p in first["loc"]) or "top level"
                raise RecordError(f"{model.__name__}: {where}: {first['msg']}") from None
            for e in sorted(unknown, key=lambda e: len(e["loc"]), reverse=True):
                extras[".".join(str(p) for p in e["loc"])] = _pop(tree, tuple(e["loc"]))
    raise RecordError(f"{model.__name__}: too deeply nested unknown fields")
