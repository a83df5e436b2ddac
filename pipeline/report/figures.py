"""Per-run figures for the report: totals, per-group curves and the memory timeline."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.report.load import RunData
from pipeline.summary import GroupFigures, MemoryFigures, Tally
from pipeline.types import OP_KINDS
from pipeline.view.stats import Interval, mean_ci, wilson

MemoryState = Literal["enabled", "disabled", "no-ops"]


class MemorySeries(BaseModel):
    """Memory over op sequence: cumulative ops by kind and active procedure count."""

    seq: list[int] = Field(default_factory=list)
    cumulative: dict[str, list[int]] = Field(default_factory=dict)
    active_seq: list[int] = Field(default_factory=list)
    active: list[int] = Field(default_factory=list)
    active_source: Literal["commits", "ops"] = "ops"


class MemoryCurve(BaseModel):
    """Memory after each writer commit, over task groups (sync) or minutes (async)."""

    axis: Literal["group", "minutes", "commit", "seq"]
    x: list[float] = Field(default_factory=list)
    active: list[int] = Field(default_factory=list)
    cumulative: dict[str, list[int]] = Field(default_factory=dict)


class RunFigures(BaseModel):
    """What the plots and tables show for one run."""

    name: str
    label: str
    meta_model: str
    policy: str
    total: Tally
    groups: list[GroupFigures]
    groups_source: Literal["summary", "trajectories"]
    by_type: dict[str, Tally]
    memory: MemoryFigures
    memory_state: MemoryState
    series: MemorySeries
    wall_s: float
    wall_estimated: bool
    status: dict[str, int]
    is_sim: bool
    has_summary: bool
    curve: MemoryCurve
    success_ci: Interval
    steps_ci: Interval
    group_cis: list[Interval]
    errored: int  # episodes with status error or timeout
    tokens_by_role: dict[str, int]  # prompt + completion; agent only without summary.json
    cost_by_role: dict[str, float]
    llm_errors: dict[str, dict[str, int]]  # failed attempts by role and kind (summary.json)
    llm_retries: int
    scores: dict[str, float]  # env score means, headline keys first when the env is known
    score_labels: dict[str, str]

    @property
    def all_errored(self) -> bool:
        """Every episode errored: its 0% success measures the failure, not the agent."""
        return self.total.episodes > 0 and self.errored == self.total.episodes


def per_success(amount: float, successes: int) -> float | None:
    """Amount spent per successful episode; None when nothing succeeded."""
    return amount / successes if successes else None


def group_successes(g: GroupFigures) -> int:
    """Successes in a group, recovered from its (rounded) success rate."""
    return round(g.success_rate * g.episodes)


def _groups(run: RunData) -> tuple[list[GroupFigures], Literal["summary", "trajectories"]]:
    if run.summary is not None and run.summary.groups:
        return run.summary.groups, "summary"
    sizes = {c.group: c.size for c in run.commits if c.group is not None}
    chunks = run.episodes.chunks  # of meta.group_size, in file order
    return [chunk.row(i, sizes.get(i, 0)) for i, chunk in enumerate(chunks)], ("trajectories")


def memory_series(run: RunData) -> MemorySeries:
    """Cumulative op counts in seq order; active size from commits, else estimated from ops."""
    out = MemorySeries(cumulative={k: [] for k in OP_KINDS})
    counts: Counter[str] = Counter()
    active: set[str] = set()
    est_active: list[int] = []
    for i, op in enumerate(run.ops, 1):
        counts[op.kind] += 1
        if op.kind == "add":
            active.add(op.procedure_id)
        elif op.kind == "discard":
            active.discard(op.procedure_id)
        out.seq.append(op.seq if op.seq is not None else i)
        est_active.append(len(active))
        for kind in OP_KINDS:
            out.cumulative[kind].append(counts[kind])
    commits = [c for c in run.commits if c.last_seq is not None]
    if commits:
        out.active_seq = [0, *(c.last_seq or 0 for c in commits)]
        out.active = [0, *(c.size for c in commits)]
        out.active_source = "commits"
    else:
        out.active_seq, out.active = list(out.seq), est_active
    return out


def memory_curve(run: RunData, series: MemorySeries) -> MemoryCurve:
    """From the commit log: x = groups closed (sync) or minutes since the run began."""
    commits = sorted(run.commits, key=lambda c: c.version)
    if not commits:  # an old run without a commit log: only the op order is known
        kinds = {k: list(v) for k, v in series.cumulative.items()}
        x = [float(v) for v in series.seq]
        return MemoryCurve(axis="seq", x=x, active=series.active, cumulative=kinds)
    by_group = all(c.group is not None for c in commits)
    timed = all("at" in c.model_fields_set for c in commits)  # older runs did not record it
    axis = "group" if by_group else "minutes" if timed else "commit"
    start = min([run.episodes.start] + [c.at for c in commits if timed])
    curve = MemoryCurve(axis=axis, x=[0.0], active=[0])
    curve.cumulative = {k: [0] for k in OP_KINDS}
    totals: Counter[str] = Counter()
    for c in commits:
        totals.update(c.applied)
        if axis == "group":
            curve.x.append(float((c.group or 0) + 1))
        else:
            minutes = (c.at - start) / 60
            curve.x.append(minutes if axis == "minutes" else float(len(curve.x)))
        curve.active.append(c.size)
        for kind in OP_KINDS:
            curve.cumulative[kind].append(totals[kind])
    return curve


def headline_labels(env: str) -> dict[str, str]:
    """The env's headline score keys and labels; {} when the env cannot be resolved here."""
    from pipeline.config import EnvConfig
    from pipeline.envs import get_suite

    try:
        return dict(get_suite(EnvConfig(name=env)).language.headline_scores)
    except Exception:  # a report must not need the env to be importable: show every key
        return {}


def _scores(run: RunData, total: Tally) -> tuple[dict[str, float], dict[str, str]]:
    scores = dict(run.summary.scores) if run.summary and run.summary.scores else total.scores
    if not scores:
        return {}, {}
    labels = headline_labels(run.meta.env) if run.meta.env else {}
    shown = [k for k in labels if k in scores] or sorted(scores)
    return {k: scores[k] for k in shown}, {k: labels.get(k, k) for k in shown}


def _roles(run: RunData, total: Tally) -> tuple[dict[str, int], dict[str, float]]:
    if run.summary is not None and run.summary.tokens_by_role:
        tokens = {r: sum(t.values()) for r, t in run.summary.tokens_by_role.items()}
        return tokens, dict(run.summary.cost_by_role)
    return {"agent": total.tokens}, {"agent": total.cost_usd}


def _memory(run: RunData, series: MemorySeries) -> MemoryFigures:
    if run.summary is not None and run.summary.memory.version:
        return run.summary.memory
    kinds: Counter[str] = Counter()
    if run.commits:
        for c in run.commits:
            kinds.update(c.applied)
    else:
        kinds.update(op.kind for op in run.ops)
    return MemoryFigures(
        size=series.active[-1] if series.active else 0,
        added=kinds["add"],
        adjusted=kinds["adjust"],
        discarded=kinds["discard"],
        version=max((c.version for c in run.commits), default=0),
    )


def _wall(run: RunData) -> tuple[float, bool]:
    if run.summary is not None and run.summary.wall_s:
        return run.summary.wall_s, False
    return run.episodes.end - run.episodes.start, True


def run_figures(run: RunData) -> RunFigures:
    """Compute one run's figures; totals always come from the recorded trajectories."""
    groups, source = _groups(run)
    series = memory_series(run)
    if not run.memory_on:
        state: MemoryState = "disabled"
    else:
        state = "enabled" if run.ops else "no-ops"
    wall, estimated = _wall(run)
    meta = run.meta
    policy = f"{meta.build}/{meta.retrieve}/{meta.update}" if run.memory_on else "off"
    total = run.episodes.total
    tokens, cost = _roles(run, total)
    scores, labels = _scores(run, total)
    return RunFigures(
        name=run.name,
        label=run.label,
        meta_model=meta.model,
        policy=policy if run.has_config or not run.memory_on else "?",
        total=total,
        groups=groups,
        groups_source=source,
        by_type=dict(sorted(run.episodes.by_type.items())),
        memory=_memory(run, series),
        memory_state=state,
        series=series,
        wall_s=wall,
        wall_estimated=estimated,
        status=dict(sorted(total.status.items())),
        is_sim=run.is_sim,
        has_summary=run.summary is not None,
        curve=memory_curve(run, series),
        success_ci=wilson(total.successes, total.episodes),
        steps_ci=mean_ci(run.episodes.steps),
        group_cis=[wilson(group_successes(g), g.episodes) for g in groups],
        errored=sum(n for status, n in total.status.items() if status != "ok"),
        tokens_by_role=tokens,
        cost_by_role=cost,
        llm_errors=run.summary.llm_errors if run.summary else {},
        llm_retries=sum(run.summary.llm_retries.values()) if run.summary else 0,
        scores=scores,
        score_labels=labels,
    )
