"""Distiller: turns a validator decision into MemoryOps with the (builder) LLM."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import ray

from actors.messages import DistillResult
from actors.telemetry import recorder
from pipeline.config import RunConfig
from pipeline.memory.stack import MemoryStack
from pipeline.memory.update import Decision
from pipeline.metrics import CallRow

if TYPE_CHECKING:
    from actors.reader import MemoryReader

MAX_CONCURRENT_DISTILLS = 64  # LLM-bound coroutines per distiller process


class DistillerImpl:
    def __init__(self, config: dict[str, Any], writer: str | None) -> None:
        self.cfg = RunConfig.model_validate(config)
        self.stack = MemoryStack.from_config(self.cfg)
        self.policy = self.stack.updater()
        self.writer = writer
        self.reader: MemoryReader | None = None
        recorder()  # build/adjust/keywords calls ride on each DistillResult to the writer

    async def distill(self, decision: Decision) -> DistillResult:
        """Stat ops plus built or adjusted procedures; procedures to adjust are read fresh."""
        if self.reader is None:
            from actors.reader import MemoryReader

            self.reader = await MemoryReader.open(self.stack, self.writer)
        current = await self.reader.get(decision.adjust_ids)
        ops = [*decision.stat_ops, *await self.policy.distill(decision, current)]
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
