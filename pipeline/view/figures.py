"""Run figures with 95% intervals, per run, per group and per task type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from pipeline.view.episodes import EpisodeRow
from pipeline.view.stats import Interval, mean_ci, wilson


class Figures(BaseModel):
    """Success (Wilson), steps, tokens and cost per episode (t intervals) over some episodes."""

    episodes: int
    success: Interval
    steps: Interval
    tokens: Interval
    cost: Interval
    tokens_total: int
    cost_total: float
    retrieved: int  # episodes that were given memory


def figures(rows: Iterable[EpisodeRow]) -> Figures:
    """Episodes that ended in error or timeout count as failures, as in summary.json."""
    rows = [r for r in rows if r.unreadable is None]
    return Figures(
        episodes=len(rows),
        success=wilson(sum(r.success for r in rows), len(rows)),
        steps=mean_ci([r.steps for r in rows]),
        tokens=mean_ci([r.tokens for r in rows]),
        cost=mean_ci([r.cost_usd for r in rows]),
        tokens_total=sum(r.tokens for r in rows),
        cost_total=sum(r.cost_usd for r in rows),
        retrieved=sum(r.retrieved for r in rows),
    )


class ErrorLine(BaseModel):
    message: str
    count: int
    first: str  # trajectory id of its first episode


class RunFigures(BaseModel):
    total: Figures
    by_type: dict[str, Figures]
    by_group: dict[int, Figures]
    status: dict[str, int]
    errors: list[ErrorLine] = Field(default_factory=list)


def run_figures(rows: list[EpisodeRow], groups: list[int | None]) -> RunFigures:
    by_type: dict[str, list[EpisodeRow]] = {}
    by_group: dict[int, list[EpisodeRow]] = {}
    errors: dict[str, ErrorLine] = {}
    for row, group in zip(rows, groups, strict=True):
        by_type.setdefault(row.task_type or "?", []).append(row)
        if group is not None:
            by_group.setdefault(group, []).append(row)
        if row.status != "ok":
            message = (row.error or row.unreadable or row.status)[:200]
            line = errors.setdefault(message, ErrorLine(message=message, count=0, first=row.id))
            line.count += 1
    return RunFigures(
        total=figures(rows),
        by_type={k: figures(v) for k, v in sorted(by_type.items())},
        by_group={k: figures(v) for k, v in sorted(by_group.items())},
        status=dict(sorted(Counter(r.status for r in rows).items())),
        errors=sorted(errors.values(), key=lambda e: -e.count),
    )
