"""Pydantic messages that cross actor boundaries (Ray pickles them; the schema is the contract)."""

from __future__ import annotations

from pydantic import Field

from pipeline.metrics import CallRow
from pipeline.types import MemoryOp, Record, Task, Trajectory


class EpisodeRequest(Record):
    """Driver -> RolloutWorker: play one task (attempt > 0 after a worker died under it)."""

    task: Task
    attempt: int = 0
    writer_version: int = 0  # the applied memory version the driver knew when it dispatched


class EpisodeResult(Record):
    """RolloutWorker -> driver: the trajectory plus what the worker's process looks like now."""

    trajectory: Trajectory
    worker: int
    llm_limit: int  # current AdaptiveLimiter capacity of this worker process (shrinks on 429s)
    retrieved: bool = False  # memory was asked (trajectory.retrieval_latency_s is a measurement)
    calls: list[CallRow] = Field(default_factory=list)  # LLM calls of this process since last time


class WorkerStats(Record):
    worker: int
    pid: int
    in_flight: int
    started: int  # episodes that entered `run` since the process began
    agent_calls: int  # cumulative agent steps of this process
    llm_limit: int
    cpu_s: float  # process CPU time (user + system), for CPU-per-step figures
    clock_s: float  # time.monotonic() read with the counters: rates from the worker's own clock


class DistillResult(Record):
    """Distiller -> writer: every op one trajectory's memory work produced (stats included)."""

    trajectory_id: str
    task_id: str
    ops: list[MemoryOp] = Field(default_factory=list)
    calls: list[CallRow] = Field(default_factory=list)  # the distiller process's LLM calls


class CommitResult(Record):
    """Writer -> driver: one commit call's outcome."""

    version: int
    size: int
    applied: dict[str, int] = Field(default_factory=dict)  # the whole batch's, on every caller
    trajectory_ids: list[str] = Field(default_factory=list)
    discarded: int = 0  # procedures with status discarded after this commit
    # Telemetry, reported once: ops applied and LLM calls (distillers' and the writer's own) since
    # the writer's previous report, on one caller of a batch only, so sums over results are exact.
    new_ops: dict[str, int] = Field(default_factory=dict)
    calls: list[CallRow] = Field(default_factory=list)  # the writer's own
    distill_calls: list[CallRow] = Field(default_factory=list)  # summed from commit records
