"""Pydantic records that cross a boundary: tasks, steps, trajectories, procedures, memory ops."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

# Fixed namespace so every id derived from content is stable across processes and runs.
MEMP_NAMESPACE = uuid.UUID("6f1c3a52-4f7e-5d1e-9a57-0c6b7a4f2e11")


def stable_id(*parts: str) -> str:
    """uuid5 over the joined parts: the same content always yields the same id."""
    return str(uuid.uuid5(MEMP_NAMESPACE, "\x1f".join(parts)))


class Record(BaseModel):
    """Base for JSONL/actor records: strict on unknown fields, immutable by convention."""

    model_config = ConfigDict(extra="forbid")


class Task(Record):
    id: str  # e.g. "household/valid_unseen/0007": unique within a run
    env: str
    split: str
    task_type: str
    goal: str  # the natural-language goal line shown to the agent
    seed: int
    # Env-specific, enough to rebuild the episode.
    spec: dict[str, Any] = Field(default_factory=dict)


class Usage(Record):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ToolCall(Record):
    """A model's tool call as litellm returned it, arguments parsed from their JSON."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str = ""
    bad_arguments: str | None = None  # the raw text when the arguments were not a JSON object


# How the step's answer was asked for and read: ReAct text, a tool call, or a JSON object
# constrained by the env's action schema (agent.constrained).
AnswerMode = Literal["text", "tool_call", "json_schema"]


class Step(Record):
    thought: str = ""
    action: str  # the command sent to the env; "" when the answer had no parsable action
    observation: str
    valid: bool = True  # False: malformed answer or a command the env rejected
    tool_call: bool = False  # the action came from a tool call, not from the answer's text
    mode: AnswerMode = "text"
    raw: str | None = None  # the model's raw answer, kept only when it could not be parsed
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


TrajectoryStatus = Literal["ok", "error", "timeout"]


class Trajectory(Record):
    id: str
    task: Task
    steps: list[Step] = Field(default_factory=list)
    success: bool = False
    scores: dict[str, float] = Field(default_factory=dict)  # the env's per-episode scores
    status: TrajectoryStatus = "ok"
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    model: str
    memory_ids: list[str] = Field(default_factory=list)
    memory_version: int = 0
    retrieval_latency_s: float = 0.0
    started_at: float = Field(default_factory=time.time)
    wall_s: float = 0.0

    @property
    def n_steps(self) -> int:
        return len(self.steps)


Granularity = Literal["trajectory", "script", "proceduralization"]
ProcedureStatus = Literal["active", "discarded", "quarantined"]


class ProcedureStats(Record):
    retrieved: int = 0
    succeeded: int = 0
    failed: int = 0

    def __add__(self, other: ProcedureStats) -> ProcedureStats:
        return ProcedureStats(
            retrieved=self.retrieved + other.retrieved,
            succeeded=self.succeeded + other.succeeded,
            failed=self.failed + other.failed,
        )

    @property
    def success_ratio(self) -> float:
        done = self.succeeded + self.failed
        return self.succeeded / done if done else 0.0


class Procedure(Record):
    id: str
    namespace: str
    task_text: str
    task_type: str
    keywords: list[str] = Field(default_factory=list)
    script: str | None = None
    trajectory: list[str] = Field(default_factory=list)  # condensed "action -> observation" lines
    granularity: Granularity
    source_trajectory_ids: list[str] = Field(default_factory=list)
    build_model: str = ""
    version: int = 1
    status: ProcedureStatus = "active"
    quarantine_reason: str | None = None  # why the injection detector kept it out of retrieval
    stats: ProcedureStats = Field(default_factory=ProcedureStats)
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    def merged(self, new: Procedure, sum_stats: bool) -> Procedure | None:
        """This procedure once an add of `new` merged into it (same id again, or a near-duplicate
        when `sum_stats`); None when that changes nothing. Writer and viewer share the rule."""
        sources = list(dict.fromkeys([*self.source_trajectory_ids, *new.source_trajectory_ids]))
        stats = self.stats + new.stats if sum_stats else self.stats
        if sources == self.source_trajectory_ids and stats == self.stats:
            return None
        return self.model_copy(update={"source_trajectory_ids": sources, "stats": stats})

    def adjusted(self, new: Procedure, **extra: Any) -> Procedure:
        """The next version an adjust op makes: new content, sources joined, version + 1.

        The writer applies it and the viewer replays it, so the rule lives here once."""
        sources = list(dict.fromkeys([*self.source_trajectory_ids, *new.source_trajectory_ids]))
        return self.model_copy(
            update={
                "script": new.script,
                "trajectory": list(new.trajectory),
                "keywords": list(new.keywords) or self.keywords,
                "granularity": new.granularity,
                "build_model": new.build_model or self.build_model,
                "source_trajectory_ids": sources,
                "version": self.version + 1,  # from the stored copy, not the distiller's
                **extra,
            }
        )


MemoryOpKind = Literal["add", "adjust", "discard", "stat", "restore"]
OP_KINDS: tuple[MemoryOpKind, ...] = get_args(MemoryOpKind)


class MemoryOp(Record):
    """One change to the memory base; policies emit these, only the writer applies them."""

    op_id: str  # deterministic: replaying the same op is a no-op
    kind: MemoryOpKind
    procedure_id: str
    procedure: Procedure | None = None  # new content for add/adjust
    stats_delta: ProcedureStats | None = None  # for stat
    reason: str = ""
    source_trajectory_id: str | None = None
    seq: int | None = None  # assigned by the writer when logged
    usage: dict[str, Usage] | None = None  # by role: the LLM calls that made this op
