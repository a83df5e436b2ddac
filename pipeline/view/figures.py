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


MAX_POINTS = 50  # a learning curve of more groups merges neighbours into this many points
MIN_BIN = 10  # episodes per point when a run has no groups (async mode): order of finishing


class CurveBin(BaseModel):
    """One learning-curve point: a sync group, a run of neighbouring groups, or episodes."""

    label: str
    first: int  # group number, or episode position (0-based) when the run has no groups
    last: int
    figures: Figures


class RunFigures(BaseModel):
    total: Figures
    by_type: dict[str, Figures]
    curve: list[CurveBin]
    curve_of: str  # "group" | "episodes"
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
        curve=_curve(rows, by_group),
        curve_of="group" if by_group else "episodes",
        status=dict(sorted(Counter(r.status for r in rows).items())),
        errors=sorted(errors.values(), key=lambda e: -e.count),
    )


def _curve(rows: list[EpisodeRow], by_group: dict[int, list[EpisodeRow]]) -> list[CurveBin]:
    if not by_group:
        size = max(MIN_BIN, -(-len(rows) // MAX_POINTS))
        return [
            CurveBin(label=f"{i + 1}-{min(i + size, len(rows))}", first=i,
                     last=min(i + size, len(rows)) - 1, figures=figures(rows[i : i + size]))
            for i in range(0, len(rows), size)
        ]  # fmt: skip
    keys = sorted(by_group)
    per = -(-len(keys) // MAX_POINTS)
    out = []
    for i in range(0, len(keys), per):
        chunk = keys[i : i + per]
        label = str(chunk[0]) if len(chunk) == 1 else f"{chunk[0]}-{chunk[-1]}"
        members = [r for k in chunk for r in by_group[k]]
        out.append(CurveBin(label=label, first=chunk[0], last=chunk[-1], figures=figures(members)))
    return out
