"""One small row per recorded episode: what lists, filters and figures need, nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _TaskPart(_Lenient):
    id: str = ""
    task_type: str = ""


class _StepPart(_Lenient):
    valid: bool = True


class _UsagePart(_Lenient):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class _RowSource(_Lenient):
    """The fields of a Trajectory a row keeps; anything else (new fields included) is skipped."""

    id: str
    task: _TaskPart = Field(default_factory=_TaskPart)
    steps: list[_StepPart] = Field(default_factory=list)
    success: bool = False
    status: str = "ok"
    error: str | None = None
    usage: _UsagePart = Field(default_factory=_UsagePart)
    memory_ids: list[str] = Field(default_factory=list)
    memory_version: int = 0
    started_at: float = 0.0
    wall_s: float = 0.0


@dataclass(slots=True)
class EpisodeRow:
    n: int  # line position in trajectories.jsonl (0-based)
    id: str
    task_id: str
    task_type: str
    status: str
    success: bool
    steps: int
    invalid: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    memory_ids: tuple[str, ...]
    memory_version: int
    started_at: float
    wall_s: float
    error: str | None
    unreadable: str | None = None  # why the line could not be read (shown, never fatal)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def retrieved(self) -> bool:
        return bool(self.memory_ids)


def episode_row(n: int, line: bytes) -> EpisodeRow:
    try:
        t = _RowSource.model_validate_json(line)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        return EpisodeRow(
            n=n, id=f"line-{n + 1}", task_id="", task_type="", status="unreadable",
            success=False, steps=0, invalid=0, prompt_tokens=0, completion_tokens=0,
            cost_usd=0.0, memory_ids=(), memory_version=0, started_at=0.0, wall_s=0.0,
            error=None, unreadable=f"{where}: {first['msg']}",
        )  # fmt: skip
    return EpisodeRow(
        n=n,
        id=t.id,
        task_id=t.task.id,
        task_type=t.task.task_type,
        status=t.status,
        success=t.success,
        steps=len(t.steps),
        invalid=sum(not s.valid for s in t.steps),
        prompt_tokens=t.usage.prompt_tokens,
        completion_tokens=t.usage.completion_tokens,
        cost_usd=t.usage.cost_usd,
        memory_ids=tuple(t.memory_ids),
        memory_version=t.memory_version,
        started_at=t.started_at,
        wall_s=t.wall_s,
        error=t.error,
    )


class EpisodeFilter(BaseModel):
    """Query-string filters of the episode list; empty means any."""

    model_config = ConfigDict(extra="ignore")

    status: str = ""
    success: str = ""  # "yes" | "no"
    task_type: str = ""
    group: str = ""  # a group number, or "none"
    retrieved: str = ""  # "yes" | "no"
    procedure: str = ""  # episodes given this procedure id

    def matches(self, row: EpisodeRow, group: int | None) -> bool:
        if self.status and row.status != self.status:
            return False
        if self.success and row.success != (self.success == "yes"):
            return False
        if self.task_type and row.task_type != self.task_type:
            return False
        if self.group and (str(group) if group is not None else "none") != self.group:
            return False
        if self.retrieved and row.retrieved != (self.retrieved == "yes"):
            return False
        return not (self.procedure and self.procedure not in row.memory_ids)

    def query(self, **change: str) -> str:
        """This filter as a query string, with some fields changed."""
        fields = {**self.model_dump(), **change}
        return urlencode({k: v for k, v in fields.items() if v})
