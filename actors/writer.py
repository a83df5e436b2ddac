"""MemoryWriter: the one actor that changes memory. WAL first, then Qdrant, then the commit record.

Concurrent commit() calls are group-committed: while one batch is applied the next ones queue and
are applied together, so upserts are batched and the version bumps once per batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import ray

from actors.messages import CommitResult, DistillResult, MemoryTotals
from actors.telemetry import pending_rows, recorder
from pipeline.config import RunConfig
from pipeline.metrics import CallRow
from pipeline.runlog import MemoryCommit, OpsWal
from pipeline.types import Procedure, Task

if TYPE_CHECKING:  # heavy (qdrant, litellm): imported in the actor, never in the driver
    from pipeline.memory.retrieve import Retrieval, RetrievePolicy
    from pipeline.memory.store import ProcedureStore


class _Waiter:
    def __init__(self, results: tuple[DistillResult, ...], group: int | None) -> None:
        self.results = results
        self.group = group
        self.outcome: CommitResult | None = None


class MemoryWriterImpl:
    def __init__(self, config: dict[str, Any], run_path: str) -> None:
        self.cfg = RunConfig.model_validate(config)
        self.run_path = Path(run_path)
        self.store: ProcedureStore | None = None
        self.retriever: RetrievePolicy | None = None
        self.wal: OpsWal | None = None
        self._queue: list[_Waiter] = []
        self._open_lock: anyio.Lock | None = None
        self._apply_lock: anyio.Lock | None = None
        # Telemetry not yet reported to the driver: ops applied, LLM calls (distillers' and ours).
        self._new_ops: Counter[str] = Counter()
        self._calls: list[CallRow] = []

    async def _ready(self) -> ProcedureStore:
        """Open the store and replay the WAL tail (ops logged before a crash, maybe unapplied)."""
        if self._open_lock is None:
            self._open_lock, self._apply_lock = anyio.Lock(), anyio.Lock()
        async with self._open_lock:
            if self.store is None:
                from pipeline.memory.embed import make_embedder
                from pipeline.memory.pack import import_ops, read_pack
                from pipeline.memory.retrieve import make_retriever
                from pipeline.memory.store import ProcedureStore

                mem = self.cfg.memory
                if mem.embedder.startswith("litellm:"):
                    recorder()  # embedding calls are shipped on commit results
                path = None if mem.qdrant.url else self.run_path / "qdrant"
                store = await ProcedureStore.open(mem, path, make_embedder(mem))
                self.wal = OpsWal(self.run_path)
                if self.wal.uncommitted:
                    await store.apply(self.wal.uncommitted)
                from pipeline.envs import get_suite  # the env's retrieval key, in this process

                language = get_suite(self.cfg.env).language
                self.retriever = make_retriever(
                    mem, store, self._keywords(language), self.cfg.run.seed, language=language
                )
                self.store = store
                if mem.seed_pack:
                    pack = DistillResult(
                        trajectory_id="", task_id="",
                        ops=import_ops(read_pack(mem.seed_pack), mem.namespace),
                    )  # fmt: skip
                    await self._run_batch([_Waiter((pack,), None)])
        return self.store

    def _keywords(self, language: Any) -> Any:
        """Only avefact retrieval asks a model (for keywords); others keep litellm out of here."""
        if self.cfg.memory.retrieve != "avefact":
            return None
        from pipeline.llm import LLMClient
        from pipeline.memory.build import KeywordExtractor

        recorder()  # retrieval keyword calls are shipped on commit results
        llm = LLMClient(self.cfg.agent, self.cfg.sim, seed=self.cfg.run.seed)
        return KeywordExtractor(llm, language)

    async def commit(self, *results: DistillResult, group: int | None = None) -> CommitResult:
        """Log, apply and commit the ops of these trajectories (a commit record even for none)."""
        await self._ready()
        waiter = _Waiter(results, group)
        self._queue.append(waiter)
        assert self._apply_lock is not None
        async with self._apply_lock:
            if waiter.outcome is None:
                batch, self._queue = self._queue, []
                await self._run_batch(batch)
        assert waiter.outcome is not None
        return self._report(waiter.outcome)

    def _report(self, outcome: CommitResult) -> CommitResult:
        """The first result leaving after a batch carries everything unreported (exactly once)."""
        calls = self.calls()
        if not self._new_ops and not calls:
            return outcome
        new_ops, self._new_ops = dict(self._new_ops), Counter()
        return outcome.model_copy(update={"new_ops": new_ops, "calls": calls})

    def calls(self) -> list[CallRow]:
        """LLM calls not reported yet (also the driver's final pull)."""
        calls, self._calls = [*self._calls, *pending_rows()], []
        return calls

    def _collect(self, results: Iterable[DistillResult]) -> None:
        for r in results:
            self._calls.extend(r.calls)

    async def _run_batch(self, batch: list[_Waiter]) -> None:
        assert self.store is not None and self.wal is not None
        ops = [op for w in batch for r in w.results for op in r.ops]
        logged = self.wal.log(ops)  # durable before Qdrant sees them
        result = await self.store.apply(logged)
        submitted = {op.op_id for op in logged}
        # Ops the store derived (discard rule, capacity) go to the log too, after the fact.
        derived = self.wal.log([op for op in result.applied if op.op_id not in submitted])
        seqs = [op.seq for op in [*logged, *derived] if op.seq is not None]
        kinds = dict(Counter(op.kind for op in result.applied))
        self._new_ops.update(kinds)
        self._collect(r for w in batch for r in w.results)
        size = await self.store.count("active")
        discarded = await self.store.count("discarded")
        traj_ids = [r.trajectory_id for w in batch for r in w.results if r.trajectory_id]
        groups = [w.group for w in batch if w.group is not None]
        self.wal.commit(
            MemoryCommit(
                version=self.store.version,
                first_seq=min(seqs, default=None),
                last_seq=max(seqs, default=None),
                trajectory_ids=traj_ids,
                applied=kinds,
                skipped=len(result.skipped),
                merged=result.merged,
                size=size,
                group=max(groups, default=None),
            )
        )
        for w in batch:
            w.outcome = CommitResult(
                version=self.store.version,
                size=size,
                discarded=discarded,
                applied=kinds,
                trajectory_ids=[r.trajectory_id for r in w.results],
            )

    async def retrieve(self, task: Task) -> Retrieval:
        await self._ready()
        assert self.retriever is not None
        return await self.retriever.retrieve(task)

    async def get(self, ids: list[str]) -> list[Procedure]:
        return await (await self._ready()).get(ids)

    async def version(self) -> int:
        return (await self._ready()).version

    async def totals(self) -> MemoryTotals:
        store = await self._ready()
        assert self.wal is not None
        kinds: Counter[str] = Counter()
        for c in self.wal.committed:
            kinds.update(c.applied)
        return MemoryTotals(
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
            if self.wal is not None:
                self.wal.close()
                self.wal = None


def memory_writer_cls() -> Any:
    return ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000)(
        MemoryWriterImpl
    )
