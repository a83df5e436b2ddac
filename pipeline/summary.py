"""Figures over trajectories: per-task-type tables, per-group learning curves, run summaries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from pydantic import Field

from pipeline.types import Record, Trajectory, Usage


class Tally(Record):
    """Success, steps and cost over a set of episodes."""

    episodes: int = 0
    successes: int = 0
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    score_sums: dict[str, float] = Field(default_factory=dict)  # env scores, per key
    score_counts: dict[str, int] = Field(default_factory=dict)  # episodes reporting each key

    def add(self, traj: Trajectory) -> None:
        self.episodes += 1
        self.successes += int(traj.success)
        self.steps += traj.n_steps
        self.prompt_tokens += traj.usage.prompt_tokens
        self.completion_tokens += traj.usage.completion_tokens
        self.cost_usd += traj.usage.cost_usd
        for key, value in traj.scores.items():
            self.score_sums[key] = self.score_sums.get(key, 0.0) + value
            self.score_counts[key] = self.score_counts.get(key, 0) + 1

    @property
    def scores(self) -> dict[str, float]:
        """Mean of each env score over the episodes that report it."""
        return {k: self.score_sums[k] / n for k, n in sorted(self.score_counts.items())}

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
    wall_s: float = 0.0
    status: dict[str, int] = Field(default_factory=dict)
    model: str = ""
    sim_note: str | None = None


SIM_NOTE = (
    "model 'sim/*' is a scripted offline stand-in for an LLM; its numbers measure the memory "
    "machinery, not any real model"
)


def summarize(
    trajectories: Sequence[Trajectory],
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
    total = tally(trajectories)
    by_role = {"agent": sum((t.usage for t in trajectories), Usage())}
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
        wall_s=round(wall_s, 3),
        status=dict(Counter(t.status for t in trajectories)),
        model=model,
        sim_note=SIM_NOTE if model.startswith("sim/") else None,
    )


def group_figures(group: int, trajectories: Sequence[Trajectory], memory_size: int) -> GroupFigures:
    t = tally(trajectories)
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
