"""The writer actor's memory path in one process, from the real pieces: MemoryStack (store,
retriever, decider, updater) and the MemoryCommitter over a run directory's WAL."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import MemoryConfig
from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import ChatModel
from pipeline.memory.retrieve import Retrieval
from pipeline.memory.stack import MemoryStack
from pipeline.orchestrate.committer import MemoryCommitter, Outcome, Submission
from pipeline.runlog import OpsWal
from pipeline.types import MemoryOp, Task, Trajectory


class MemoryLoop:
    """retrieve, observe (decide -> read -> distill -> one commit), close."""

    def __init__(self, stack: MemoryStack, committer: MemoryCommitter) -> None:
        self.stack = stack
        self.committer = committer
        self.store = committer.store
        self.retriever = stack.retriever(self.store)
        self.decider = stack.decider()
        self.updater = stack.updater()

    @classmethod
    async def open(
        cls, cfg: MemoryConfig, run_dir: Path, llm: ChatModel, language: EnvLanguage
    ) -> MemoryLoop:
        stack = MemoryStack(cfg, language=language, llm=llm)
        store = await stack.open_store(run_dir)
        return cls(stack, MemoryCommitter(store, OpsWal(run_dir)))

    async def retrieve(self, task: Task) -> Retrieval:
        return await self.retriever.retrieve(task)

    async def ops(self, trajectory: Trajectory) -> list[MemoryOp]:
        """What the validator and a distiller send the writer for one trajectory."""
        decision = self.decider.decide(trajectory)
        current = await self.store.get(decision.adjust_ids)
        return [*decision.stat_ops, *await self.updater.distill(decision, current)]

    async def observe(self, *trajectories: Trajectory) -> Outcome:
        """The trajectories' ops in one commit (as a sync group or an update_every batch is)."""
        subs = [Submission(await self.ops(t), t.id) for t in trajectories]
        return await self.committer.commit(*subs)

    async def close(self) -> None:
        self.committer.wal.close()
        await self.store.close()
