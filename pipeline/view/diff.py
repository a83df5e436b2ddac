"""Differences: config keys that differ between runs, unified diffs between procedure versions."""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel

from pipeline.types import Procedure

MISSING = "(absent)"


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values; lists are leaves."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


class ConfigDiff(BaseModel):
    """Keys whose values are not the same in every run; values in run order."""

    runs: list[str]
    rows: list[tuple[str, list[str]]]
    same: int  # keys equal everywhere


def _show(value: Any) -> str:
    if value is MISSING:
        return MISSING
    return json.dumps(value) if not isinstance(value, str) else value


def config_diff(configs: dict[str, dict[str, Any] | None]) -> ConfigDiff:
    flat = {name: flatten(tree or {}) for name, tree in configs.items()}
    keys = sorted({k for tree in flat.values() for k in tree})
    rows, same = [], 0
    for key in keys:
        values = [tree.get(key, MISSING) for tree in flat.values()]
        if all(v == values[0] for v in values):
            same += 1
            continue
        rows.append((key, [_show(v) for v in values]))
    return ConfigDiff(runs=list(configs), rows=rows, same=same)


def procedure_text(proc: Procedure) -> list[str]:
    """What a version of a procedure says, as lines: the parts an adjust or merge can change."""
    lines = [f"task: {proc.task_text}", f"granularity: {proc.granularity}"]
    lines.append(f"status: {proc.status}")
    if proc.keywords:
        lines.append("keywords: " + ", ".join(proc.keywords))
    if proc.build_model:
        lines.append(f"build model: {proc.build_model}")
    lines.append("script:")
    lines.extend(f"  {line}" for line in (proc.script or "(none)").splitlines())
    lines.append("trajectory:")
    lines.extend(
        f"  {line}" for entry in proc.trajectory or ["(none)"] for line in entry.splitlines()
    )
    lines.append("sources: " + ", ".join(proc.source_trajectory_ids))
    return lines


def unified(before: Procedure | None, after: Procedure, before_name: str, after_name: str) -> str:
    """A unified diff (all context lines kept: procedures are short)."""
    old = procedure_text(before) if before is not None else []
    new = procedure_text(after)
    return "\n".join(
        difflib.unified_diff(old, new, before_name, after_name, n=max(len(old), len(new)),
                             lineterm="")
    )  # fmt: skip
