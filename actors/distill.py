"""Distiller: turns a validator decision into MemoryOps with the (builder) LLM."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import ray

from actors.messages import DistillResult
from actors.telemetry import recorder
from pipeline.config import RunConfig
from pipeline.memory.build import KeywordExtractor, make_builder
from pipeline.memory.update import Decision, make_updater
from pipeline.metrics import CallRow
from pipeline.types import Usage

if TYPE_CHECKING:
    from actors.reader import MemoryReader

MAX_CONCURRENT_DISTILLS = 64  # LLM-bound coroutines per distiller process


class DistillerImpl:
    def __init__(self, config: dict[str, Any], writer: str | None) -> None:
        from pipeline.envs import get_suite  # the env's memory wording, resolved in this process
        from pipeline.llm import LLMClient  # not at module level: the driver imports this module

        self.cfg = RunConfig.model_validate(config)
        mem = self.cfg.memory
        self.language = get_suite(self.cfg.env).language
        self.llm = LLMClient(mem.builder or self.cfg.agent, self.cfg.sim, seed=self.cfg.run.seed)
        builder = make_builder(mem.build, self.llm, KeywordExtractor(self.llm, self.language))
        self.policy = make_updater(mem.update, builder, self.llm, mem.namespace, cfg=mem)
        self.writer = writer
        self.reader: MemoryReader | None = None
        recorder()  # build/adjust/keywords calls ride on each DistillResult to the writer

    async def distill(self, decision: Decision) -> DistillResult:
        """Stat ops plus built or adjusted procedures; procedures to adjust are read fresh."""
        if self.reader is None:
            from actors.reader import MemoryReader

            self.reader = await MemoryReader.open(self.cfg, self.writer, self.llm, self.language)
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

    def usage(self) -> Usage:
        """LLM usage of this process's distills so far (build, adjust, keywords)."""
        return self.policy.usage


def distiller_cls() -> Any:
    return ray.remote(
        num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=MAX_CONCURRENT_DISTILLS
    )(DistillerImpl)
