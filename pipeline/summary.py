"""Figures over trajectories: per-task-type tables, per-group learning curves, run summaries."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from pydantic import Field, PrivateAttr

from pipeline.types import Record, Trajectory, Usage

_UNIT_BITS = 1074  # every finite float is a whole multiple of 2**-1074


class ExactSum:
    """A float sum kept exact, so it does not depend on the order of its terms (finish order)."""

    __slots__ = ("special", "units")

    def __init__(self) -> None:
        self.units = 0  # the sum of the finite terms, in units of 2**-1074
        self.special = 0.0  # inf/nan terms: their float sum does not depend on order either

    def add(self, x: float) -> None:
        if not math.isfinite(x):
            self.special += x
            return
        num, den = x.as_integer_ratio()  # den is a power of two, at most 2**1074
        self.units += num << (_UNIT_BITS + 1 - den.bit_length())

    def merge(self, other: ExactSum) -> None:
        self.units += other.units
        self.special += other.special

    def mean(self, n: int) -> float:
        """The sum over n, correctly rounded (int / int true division is)."""
        return self.units / (n << _UNIT_BITS) + self.special

    def total(self) -> float:
        """The sum, correctly rounded to a float."""
        return self.mean(1)


class Tally(Record):
    """Success, steps and cost over a set of episodes; float sums are exact (order-independent)."""

    episodes: int = 0
    successes: int = 0
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    score_sums: dict[str, float] = Field(default_factory=dict)  # env scores, per key
    score_counts: dict[str, int] = Field(default_factory=dict)  # episodes reporting each key
    status: dict[str, int] = Field(default_factory=dict)  # episodes by how they ended
    _cost: ExactSum = PrivateAttr(default_factory=ExactSum)  # what cost_usd rounds
    _scores: dict[str, ExactSum] = PrivateAttr(default_factory=dict)  # what score_sums round

    def add(self, traj: Trajectory) -> None:
        self.episodes += 1
        self.successes += int(traj.success)
        self.steps += traj.n_steps
        self.prompt_tokens += traj.usage.prompt_tokens
        self.completion_tokens += traj.usage.completion_tokens
        self.status[traj.status] = self.status.get(traj.status, 0) + 1
        self._cost.add(traj.usage.cost_usd)
        self.cost_usd = self._cost.total()
        for key, value in traj.scores.items():
            self._score(key).add(value)
            self.score_sums[key] = self._scores[key].total()
            self.score_counts[key] = self.score_counts.get(key, 0) + 1

    def model_post_init(self, context: object) -> None:
        self._cost.add(self.cost_usd)  # a Tally built from figures goes on from them
        for key, value in self.score_sums.items():
            self._score(key).add(value)

    def _score(self, key: str) -> ExactSum:
        return self._scores.setdefault(key, ExactSum())

    def merge(self, other: Tally) -> None:
        """Add another tally's episodes (exactly: the same as adding them one by one)."""
        for name in ("episodes", "successes", "steps", "prompt_tokens", "completion_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, n in other.status.items():
            self.status[kind] = self.status.get(kind, 0) + n
        self._cost.merge(other._cost)
        self.cost_usd = self._cost.total()
        for key, n in other.score_counts.items():
            self._score(key).merge(other._score(key))
            self.score_sums[key] = self._scores[key].total()
            self.score_counts[key] = self.score_counts.get(key, 0) + n

    @property
    def scores(self) -> dict[str, float]:
        """Mean of each env score over the episodes that report it."""
        return {k: self._score(k).mean(n) for k, n in sorted(self.score_counts.items())}

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    @property
    def mean_steps(self) -> float:
        return self.steps / self.episodes if self.episodes else 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def tally(trajectories: Iterable[Trajectory]) -> Tally:
    out = Tally()
    for traj in trajectories:
        out.add(traj)
    return out


def by_task_type(trajectories: Iterable[Trajectory]) -> dict[str, Tally]:
    groups: dict[str, Tally] = defaultdict(Tally)
    for traj in trajectories:
        groups[traj.task.task_type].add(traj)
    return dict(sorted(groups.items()))


class GroupFigures(Record):
    group: int
    episodes: int
    success_rate: float
    mean_steps: float
    tokens: int
    cost_usd: float
    memory_size: int = 0


class MemoryFigures(Record):
    size: int = 0
    added: int = 0
    adjusted: int = 0
    discarded: int = 0
    version: int = 0
    failed: int = 0  # trajectories whose memory work failed every attempt (a resume retries them)


def errored(status: dict[str, int]) -> int:
    """Episodes that did not end normally (status error or timeout)."""
    return sum(n for k, n in status.items() if k != "ok")


class RunSummary(Record):
    """The contents of summary.json.

    LLM usage covers every role: `agent` (the episodes' calls, from the recorded trajectories, so
    resumed runs included) and the memory pipeline's own calls - `build`, `adjust` and `keywords`
    by distillers (summed from the commit records, so resumes and actor restarts included, each
    committed distill once), `keywords` for avefact retrieval and `embed` for litellm embeddings
    (as shipped by the actors of this invocation).
    `tokens` and `cost_usd` are totals over all roles; the per-role split is in `tokens_by_role`
    and `cost_by_role`. Group figures (the learning curve) count agent calls only.
    """

    episodes: int
    success_rate: float
    mean_steps: float
    tokens: dict[str, int]
    cost_usd: float
    scores: dict[str, float] = Field(default_factory=dict)  # env score means (episodes with it)
    tokens_by_role: dict[str, dict[str, int]] = Field(default_factory=dict)
    cost_by_role: dict[str, float] = Field(default_factory=dict)
    # Failed LLM call attempts by role, then error kind (rate_limit = HTTP 429s), and by role the
    # failed attempts that another attempt followed (exact: the client says when it retries).
    llm_errors: dict[str, dict[str, int]] = Field(default_factory=dict)
    llm_retries: dict[str, int] = Field(default_factory=dict)
    memory: MemoryFigures = Field(default_factory=MemoryFigures)
    groups: list[GroupFigures] = Field(default_factory=list)
    # Episodes per row of `groups` when not pipeline.group_size: a long async run's rows widen
    # so that there are at most summary_pass.MAX_GROUP_ROWS of them.
    group_episodes: int | None = None
    wall_s: float = 0.0
    status: dict[str, int] = Field(default_factory=dict)
    model: str = ""
    sim_note: str | None = None
    # Per task type, for the console table of this process (not in summary.json).
    task_types: dict[str, Tally] = Field(default_factory=dict, exclude=True)


SIM_NOTE = (
    "model 'sim/*' is a scripted offline stand-in for an LLM; its numbers measure the memory "
    "machinery, not any real model"
)


def merged(tallies: Iterable[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        out.merge(t)
    return out


def summarize(
    trajectories: Iterable[Trajectory],
    *,
    groups: list[GroupFigures] | None = None,
    memory: MemoryFigures | None = None,
    wall_s: float = 0.0,
    model: str = "",
    role_usage: dict[str, Usage] | None = None,
    llm_errors: dict[str, dict[str, int]] | None = None,
    llm_retries: dict[str, int] | None = None,
) -> RunSummary:
    """role_usage: LLM usage of roles other than `agent` (the memory pipeline's own calls)."""
    return summary_of(
        by_task_type(trajectories), groups=groups, memory=memory, wall_s=wall_s, model=model,
        role_usage=role_usage, llm_errors=llm_errors, llm_retries=llm_retries,
    )  # fmt: skip


def summary_of(
    task_types: Mapping[str, Tally],
    *,
    groups: list[GroupFigures] | None = None,
    group_episodes: int | None = None,
    memory: MemoryFigures | None = None,
    wall_s: float = 0.0,
    model: str = "",
    role_usage: dict[str, Usage] | None = None,
    llm_errors: dict[str, dict[str, int]] | None = None,
    llm_retries: dict[str, int] | None = None,
) -> RunSummary:
    """summarize() over tallies already made (one pass over a run's trajectories)."""
    total = merged(task_types.values())
    agent = Usage(prompt_tokens=total.prompt_tokens, completion_tokens=total.completion_tokens,
                  cost_usd=total.cost_usd)  # fmt: skip
    by_role = {"agent": agent}
    by_role.update({r: u for r, u in sorted((role_usage or {}).items()) if r != "agent"})
    usage = sum(by_role.values(), Usage())
    return RunSummary(
        episodes=total.episodes,
        success_rate=round(total.success_rate, 4),
        mean_steps=round(total.mean_steps, 3),
        tokens={"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
        cost_usd=round(usage.cost_usd, 6),
        scores={k: round(v, 4) for k, v in total.scores.items()},
        tokens_by_role={
            r: {"prompt": u.prompt_tokens, "completion": u.completion_tokens}
            for r, u in by_role.items()
        },
        cost_by_role={r: round(u.cost_usd, 6) for r, u in by_role.items()},
        llm_errors={r: dict(sorted(k.items())) for r, k in sorted((llm_errors or {}).items())},
        llm_retries={r: n for r, n in sorted((llm_retries or {}).items()) if n},
        memory=memory or MemoryFigures(),
        groups=groups or [],
        group_episodes=group_episodes,
        wall_s=round(wall_s, 3),
        status=dict(sorted(total.status.items())),  # not first-seen order: that is finish order
        model=model,
        sim_note=SIM_NOTE if model.startswith("sim/") else None,
        task_types=dict(task_types),
    )


def group_figures(group: int, trajectories: Sequence[Trajectory], memory_size: int) -> GroupFigures:
    return group_row(group, tally(trajectories), memory_size)


def group_row(group: int, t: Tally, memory_size: int) -> GroupFigures:
    return GroupFigures(
        group=group,
        episodes=t.episodes,
        success_rate=round(t.success_rate, 4),
        mean_steps=round(t.mean_steps, 3),
        tokens=t.tokens,
        cost_usd=round(t.cost_usd, 6),
        memory_size=memory_size,
    )


def failures_line(summary: RunSummary) -> str:
    """'llm failed attempts: agent server 5, rate_limit 176; 429s 176, retries 176; ...'."""
    parts = [
        f"{role} " + ", ".join(f"{kind} {n}" for kind, n in kinds.items())
        for role, kinds in summary.llm_errors.items()
    ]
    rate_limited = sum(k.get("rate_limit", 0) for k in summary.llm_errors.values())
    retries = sum(summary.llm_retries.values())
    bad = errored(summary.status)
    return (
        f"llm failed attempts: {'; '.join(parts) or 'none'}; 429s {rate_limited}, "
        f"retries {retries}; episodes errored {bad} of {summary.episodes}"
    )


def memory_failures(summary: RunSummary) -> str | None:
    """The one-line account of memory work that failed every attempt, or None."""
    n = summary.memory.failed
    if not n:
        return None
    return (
        f"memory work of {n} trajectories failed after every retry (summary.json memory.failed); "
        f"their experience is not in memory; memp run --resume retries it"
    )


def error_budget(summary: RunSummary, max_ratio: float) -> str | None:
    """The one-line reason a run failed its error budget, or None when it is within it."""
    bad = errored(summary.status)
    if not summary.episodes or bad / summary.episodes <= max_ratio:
        return None
    first = ", ".join(f"{k} {n}" for k, n in sorted(summary.status.items()) if k != "ok")
    return (
        f"{bad} of {summary.episodes} episodes errored ({first}), more than "
        f"pipeline.max_error_ratio={max_ratio:g}; details in summary.json and trajectories.jsonl"
    )
