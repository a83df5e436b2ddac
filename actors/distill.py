"""Distiller: turns a validator decision into MemoryOps with the (builder) LLM."""

from __future__ import annotations

import os
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import ray

from actors.messages import DistillResult
from actors.telemetry import recorder
from pipeline.config import RunConfig
from pipeline.memory.stack import MemoryStack
from pipeline.memory.update import Decision
from pipeline.metrics import CallRow
from pipeline.types import Usage

if TYPE_CHECKING:
    from actors.reader import MemoryReader

MAX_CONCURRENT_DISTILLS = 64  # LLM-bound coroutines per distiller process

# The usage of the distill running in this context, by role: it rides on the distill's first op
# into the op log and the commit record, so summary totals count the work that reached memory
# once (an op is logged once by id: a distill redone after a crash counts once, a lost one never).
_scope: ContextVar[dict[str, Usage] | None] = ContextVar("memp_distill_usage", default=None)


def _tally(event: Any) -> None:
    scope = _scope.get()
    if scope is not None and event.error is None:
        scope[event.role] = scope.get(event.role, Usage()) + event.usage.model_copy(
            update={"calls": 1}
        )


class DistillerImpl:
    def __init__(self, config: dict[str, Any], writer: str | None) -> None:
        self.cfg = RunConfig.model_validate(config)
        self.stack = MemoryStack.from_config(self.cfg)
        self.policy = self.stack.updater()
        self.writer = writer
        self.reader: MemoryReader | None = None
        recorder()  # build/adjust/keywords calls ride on each DistillResult to the writer
        from pipeline.llm import add_observer

        add_observer(_tally)

    async def distill(self, decision: Decision) -> DistillResult:
        """Stat ops plus built or adjusted procedures; procedures to adjust are read fresh."""
        if self.reader is None:
            from actors.reader import MemoryReader

            self.reader = await MemoryReader.open(self.stack, self.writer)
        current = await self.reader.get(decision.adjust_ids)
        usage: dict[str, Usage] = {}
        token = _scope.set(usage)
        try:
            ops = [*decision.stat_ops, *await self.policy.distill(decision, current)]
        finally:
            _scope.reset(token)
        if usage and ops:  # logged once by op id: a redone distill's calls never count twice
            ops[0] = ops[0].model_copy(update={"usage": usage})
        traj = decision.trajectory
        return DistillResult(
            trajectory_id=traj.id, task_id=traj.task.id, ops=ops, calls=recorder().rows()
        )

    def calls(self) -> list[CallRow]:
        """LLM calls not shipped yet (the driver's final pull)."""
        return recorder().rows()

    def ready(self) -> int:
        return os.getpid()


def distiller_cls() -> Any:
    return ray.remote(
        num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=MAX_CONCURRENT_DISTILLS
    )(DistillerImpl)
