"""`memp trajectory RUN_DIR ID`: find one recorded episode and render its transcript as text."""

from __future__ import annotations

from pathlib import Path

from pipeline.runlog import CONFIG, TRAJECTORIES, RunDirError, read_jsonl
from pipeline.types import Trajectory


def find_trajectory(run_dir: Path, ident: str) -> Trajectory:
    """The recorded trajectory with this id (or unique id prefix); RunDirError otherwise."""
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    log = run_dir / TRAJECTORIES
    if not log.is_file():
        what = CONFIG if not (run_dir / CONFIG).is_file() else TRAJECTORIES
        raise RunDirError(f"{run_dir}: not a run directory (no {what})")
    found = [t for t in read_jsonl(log, Trajectory) if t.id == ident or t.id.startswith(ident)]
    exact = [t for t in found if t.id == ident]
    if exact:
        return exact[-1]  # a resumed run may record a re-dispatched id again: the last one counts
    if len({t.id for t in found}) != 1:
        what = "no trajectory" if not found else f"{len({t.id for t in found})} trajectories"
        raise RunDirError(f"{run_dir}: {what} with id {ident!r}")
    return found[-1]


def transcript_lines(t: Trajectory) -> list[str]:
    """Header (task, outcome, usage, memory) then every step: thought, action, observation."""
    outcome = "success" if t.success else "failure"
    lines = [
        f"trajectory {t.id}",
        f"  task:    {t.task.id} ({t.task.task_type})",
        f"  goal:    {t.task.goal}",
        f"  model:   {t.model}",
        f"  outcome: {outcome}, status {t.status}" + (f": {t.error}" if t.error else ""),
        f"  steps:   {len(t.steps)} ({sum(not s.valid for s in t.steps)} invalid)",
        f"  usage:   {t.usage.calls} calls, {t.usage.prompt_tokens} prompt + "
        f"{t.usage.completion_tokens} completion tokens, ${t.usage.cost_usd:.4f}",
        f"  memory:  version {t.memory_version}, procedures "
        + (", ".join(t.memory_ids) or "(none)"),
    ]
    if t.scores:
        lines.append("  scores:  " + ", ".join(f"{k}={v:.3g}" for k, v in sorted(t.scores.items())))
    for i, step in enumerate(t.steps, 1):
        mark = "" if step.valid else "  [invalid]"
        lines.append(f"-- step {i}{mark}")
        if step.thought:
            lines += [f"  think: {line}" for line in step.thought.splitlines()]
        lines.append(f"  act:   {step.action or '(no parsable action)'}")
        if step.raw is not None:
            lines += [f"  raw:   {line}" for line in step.raw.splitlines()]
        lines += [f"  obs:   {line}" for line in step.observation.splitlines()]
    return lines
