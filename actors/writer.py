"""MemoryWriter: the one actor that changes memory; it hosts the MemoryCommitter (WAL first,
then Qdrant, then the commit record) and serves reads in embedded mode.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import ray

from actors.messages import CommitResult, DistillResult
from actors.telemetry import pending_rows, recorder
from pipeline.config import RunConfig
from pipeline.metrics import CallRow
from pipeline.orchestrate.committer import MemoryCommitter, Outcome, Submission
from pipeline.perf.heap import HeapProbe
from pipeline.runlog import OpsWal
from pipeline.summary import MemoryFigures
from pipeline.types import Procedure, Task

if TYPE_CHECKING:  # heavy (qdrant, litellm): imported in the actor, never in the driver
    from pipeline.memory.retrieve import Retrieval, RetrievePolicy
    from pipeline.memory.store import ProcedureStore


class MemoryWriterImpl:
    def __init__(self, config: dict[str, Any], run_path: str, rebuild: bool = False) -> None:
        self.cfg = RunConfig.model_validate(config)
        self.run_path = Path(run_path)
        self.rebuild = rebuild  # server mode: a stale collection may be rebuilt from the op log
        self.store: ProcedureStore | None = None
        self.retriever: RetrievePolicy | None = None
        self.committer: MemoryCommitter | None = None
        self._open_lock: anyio.Lock | None = None
        # Telemetry not yet reported to the driver: ops applied, LLM calls (distillers' and ours).
        self._new_ops: Counter[str] = Counter()
        self._calls: list[CallRow] = []  # the distillers' (their usage is in commit records)
        self._heap = HeapProbe("writer")  # MEMP_HEAP_DIR: what grows over a soak

    async def _ready(self) -> ProcedureStore:
        """Open the store and replay the WAL tail (ops logged before a crash, maybe unapplied)."""
        if self._open_lock is None:
            self._open_lock = anyio.Lock()
        async with self._open_lock:
            if self.store is None:
                from pipeline.memory.pack import import_ops, read_pack
                from pipeline.memory.stack import MemoryStack

                stack = MemoryStack.from_config(self.cfg)
                mem = self.cfg.memory
                if mem.embedder.startswith("litellm:") or stack.retrieve_policy.roles:
                    recorder()  # embedding and retrieval keyword calls ship on commit results
                wal = OpsWal(self.run_path)  # checked against its commit records first
                store = await stack.open_store(self.run_path)
                self.committer = MemoryCommitter(store, wal)
                try:
                    await self.committer.reconcile(self.rebuild)
                except BaseException:
                    await store.close()
                    raise
                await self.committer.replay()
                self.retriever = stack.retriever(store)
                self.store = store
                if mem.seed_pack:
                    ops = import_ops(read_pack(mem.seed_pack), mem.namespace)
                    self._count(await self.committer.commit(Submission(ops)))
        return self.store

    async def commit(self, *results: DistillResult, group: int | None = None) -> CommitResult:
        """Log, apply and commit the ops of these trajectories (a commit record even for none)."""
        await self._ready()
        assert self.committer is not None
        self._collect(results)
        subs = [Submission(r.ops, r.trajectory_id, group) for r in results]
        outcome = await self.committer.commit(*subs)
        self._heap.tick()
        if outcome.lead:  # once per batch: sums over results stay exact
            self._count(outcome)
        result = CommitResult(
            version=outcome.version,
            size=outcome.size,
            discarded=outcome.discarded,
            applied=outcome.applied,
            trajectory_ids=[r.trajectory_id for r in results],
        )
        return self._report(result)

    def _count(self, outcome: Outcome) -> None:
        self._new_ops.update(outcome.applied)

    def _report(self, outcome: CommitResult) -> CommitResult:
        """The first result leaving after a batch carries everything unreported (exactly once)."""
        calls, distilled = pending_rows(), self.distill_calls()
        if not self._new_ops and not calls and not distilled:
            return outcome
        new_ops, self._new_ops = dict(self._new_ops), Counter()
        update = {"new_ops": new_ops, "calls": calls, "distill_calls": distilled}
        return outcome.model_copy(update=update)

    def calls(self) -> list[CallRow]:
        """This process's LLM calls not reported yet (the driver's pull)."""
        return pending_rows()

    def distill_calls(self) -> list[CallRow]:
        """The distillers' calls that rode in with their results, not reported yet."""
        calls, self._calls = self._calls, []
        return calls

    def _collect(self, results: Iterable[DistillResult]) -> None:
        for r in results:
            self._calls.extend(r.calls)

    async def retrieve(self, task: Task) -> Retrieval:
        await self._ready()
        assert self.retriever is not None
        return await self.retriever.retrieve(task)

    async def get(self, ids: list[str]) -> list[Procedure]:
        return await (await self._ready()).get(ids)

    def ready(self) -> int:
        return os.getpid()

    async def version(self) -> int:
        return (await self._ready()).version

    async def totals(self) -> MemoryFigures:
        """Figures over the whole run (resumes included), for the summary."""
        store = await self._ready()
        assert self.committer is not None
        kinds = self.committer.totals()
        return MemoryFigures(
            size=await store.count("active"),
            version=store.version,
            added=kinds["add"],
            adjusted=kinds["adjust"],
            discarded=kinds["discard"],
        )

    async def close(self) -> None:
        async with self._open_lock or anyio.Lock():
            if self.store is not None:
                await self.store.close()
                self.store = None
            if self.committer is not None:
                self.committer.wal.close()
                self.committer = None


def memory_writer_cls() -> Any:
    return ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000)(
        MemoryWriterImpl
    )
