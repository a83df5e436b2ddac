"""Plain-text views of procedures for `memp memory show|history`: fields, versions, diffs."""

from __future__ import annotations

import datetime as dt
import time

from pipeline.memory.schema import HistoryEntry, utility
from pipeline.types import MemoryOp, Procedure
from pipeline.view.diff import unified


def when(ts: float, now: float | None = None) -> str:
    """Local time with its age, e.g. '2026-12-01 21:04:11 (3h ago)'."""
    stamp = dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    age = (time.time() if now is None else now) - ts
    if age < 0:
        return stamp
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if age >= size:
            return f"{stamp} ({int(age // size)}{unit} ago)"
    return f"{stamp} ({int(age)}s ago)"


def _indented(text: str) -> list[str]:
    return [f"  {line}" for line in text.splitlines()] or ["  (empty)"]


def procedure_lines(p: Procedure, now: float | None = None) -> list[str]:
    """A procedure as a readable block: identity, use, times, then script and trajectory."""
    s = p.stats
    lines = [
        f"procedure {p.id}",
        f"  status:      {p.status} (version {p.version})"
        + (f": {p.quarantine_reason}" if p.quarantine_reason else ""),
        f"  task type:   {p.task_type}",
        f"  task:        {p.task_text}",
        f"  granularity: {p.granularity}",
        f"  built by:    {p.build_model or '(not recorded)'}",
        f"  keywords:    {', '.join(p.keywords) or '(none)'}",
        f"  used:        retrieved {s.retrieved}, succeeded {s.succeeded}, failed {s.failed}"
        f" (utility {utility(s):.2f})",
        f"  created:     {when(p.created_at, now)}",
        f"  updated:     {when(p.updated_at, now)}",
        f"  sources:     {', '.join(p.source_trajectory_ids) or '(none)'}",
        "script:",
        *(_indented(p.script) if p.script else ["  (none)"]),
        "trajectory:",
    ]
    steps = [line for entry in p.trajectory for line in entry.splitlines()]
    lines.extend(_indented("\n".join(steps)) if steps else ["  (none)"])
    return lines


def versions(current: Procedure, entries: list[HistoryEntry]) -> list[Procedure]:
    """Content after each history entry: the next entry's `previous`, the current one last."""
    after = [e.previous for e in entries[1:]] + [current]
    return [a if a is not None else current for a in after]


def history_lines(
    current: Procedure,
    entries: list[HistoryEntry],
    ops: dict[str, MemoryOp],
    run_dir: str,
    now: float | None = None,
) -> list[str]:
    """Every version: what made it (op, reason, source trajectory), its script, a diff."""
    lines = [f"history of procedure {current.id} ({len(entries)} changes)"]
    contents = versions(current, entries)
    before: Procedure | None = entries[0].previous if entries else None
    for entry, content in zip(entries, contents, strict=True):
        op = ops.get(entry.op_id)
        source = op.source_trajectory_id if op else None
        if source is None and entry.kind == "add" and content.source_trajectory_ids:
            source = content.source_trajectory_ids[0]
        lines += [
            "",
            f"== version {entry.version}: {entry.kind} at {when(entry.at, now)}"
            f" (memory version {entry.memory_version})",
            f"  op:      {entry.op_id}" + (f" (seq {op.seq})" if op and op.seq is not None else ""),
            f"  reason:  {entry.reason or '(none given)'}",
        ]
        if source:
            lines += [
                f"  source trajectory: {source}",
                f"  open it: memp trajectory {run_dir} {source}",
            ]
        else:
            lines.append("  source trajectory: (not recorded)")
        lines += ["  script:", *(f"  {s}" for s in _indented(content.script or "(none)"))]
        if before is not None:
            diff = unified(before, content, f"version {before.version}", f"version {entry.version}")
            lines += ["  diff:", *(f"    {d}" for d in (diff.splitlines() or ["(no change)"]))]
        before = content
    return lines
