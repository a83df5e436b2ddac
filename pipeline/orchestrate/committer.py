"""MemoryCommitter: the one write path to memory. WAL append, apply, derived ops, commit record.

Concurrent `commit()` calls are group-committed: while one batch is applied the next ones queue
and are applied together, so upserts are batched and the version bumps once per batch. Every
caller (the writer actor, `memp memory import`) goes through here, so memory_ops.jsonl holds
every op that ever changed the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import anyio

from pipeline.memory.schema import ApplyResult, MemoryStoreError
from pipeline.runlog import MemoryCommit, OpsWal
from pipeline.types import MemoryOp, ProcedureStatus, Usage


class OpStore(Protocol):
    """What the committer needs of a procedure store."""

    version: int
    server: bool

    async def apply(
        self,
        ops: list[MemoryOp],
        before_write: Callable[[list[MemoryOp]], None] | None = None,
        applied: set[str] | None = None,
    ) -> ApplyResult: ...

    async def applied(self, op_ids: Sequence[str]) -> set[str]: ...

    async def count(self, status: ProcedureStatus | None = "active") -> int: ...

    async def reset(self) -> None: ...


@dataclass
class Submission:
    """One caller's ops: one trajectory's memory work, a pack import, a seed pack."""

    ops: list[MemoryOp]
    trajectory_id: str = ""
    group: int | None = None  # sync mode: the group this commit closes


@dataclass
class Outcome:
    """What the batch a submission rode in did."""

    version: int
    size: int
    discarded: int
    applied: dict[str, int] = field(default_factory=dict)  # op kind -> ops that changed memory
    skipped: int = 0
    commit: MemoryCommit | None = None
    lead: bool = True  # the batch's first caller: the one that reports the batch's figures once


class _Waiter:
    def __init__(self, subs: list[Submission]) -> None:
        self.subs = subs
        self.outcome: Outcome | None = None


class MemoryCommitter:
    """Owns the WAL of one run directory and applies its ops to one store, in log order."""

    def __init__(self, store: OpStore, wal: OpsWal) -> None:
        self.store = store
        self.wal = wal
        self._queue: list[_Waiter] = []
        self._lock = anyio.Lock()

    async def reconcile(self, rebuild: bool = False) -> bool:
        """The op log is the source of truth: a store behind the commit records (missing, stale)
        is rebuilt from it in embedded mode, or with `rebuild` (server mode refuses without).
        True: it was rebuilt."""
        want = self.wal.check.version
        if self.store.version >= want:
            return False
        if self.store.server and not rebuild:
            raise MemoryStoreError(
                f"the memory collection is at version {self.store.version} but "
                f"{self.wal.commits.path.name} records version {want}; rebuild it from "
                f"{self.wal.ops.path.name} with memp run --resume DIR --rebuild-memory"
            )
        await self.store.reset()
        by_seq = {op.seq: op for op in self.wal.logged_ops()}
        for c in self.wal.commit_records():  # batch by batch, as they were first applied
            if c.first_seq is not None and c.last_seq is not None:
                seqs = range(c.first_seq, c.last_seq + 1)
                await self.store.apply([by_seq[s] for s in seqs if s in by_seq])
        return True

    async def replay(self) -> Outcome | None:
        """Apply ops logged before a crash but not committed, and commit them (None: no tail).

        The replay has its own commit record, so totals count its ops once; the trajectories
        they came from are re-fed by the driver, find their ops applied, and commit no-ops.
        """
        if not self.wal.uncommitted:
            return None
        tail, self.wal.uncommitted = self.wal.uncommitted, []
        async with self._lock:
            return await self._apply(tail, [])

    async def commit(self, *subs: Submission) -> Outcome:
        """Log, apply and commit these submissions' ops (a commit record even for none)."""
        waiter = _Waiter(list(subs))
        self._queue.append(waiter)
        async with self._lock:
            if waiter.outcome is None:
                batch, self._queue = self._queue, []
                await self._run(batch)
        assert waiter.outcome is not None
        return waiter.outcome

    async def _run(self, batch: list[_Waiter]) -> None:
        subs = [s for w in batch for s in w.subs]
        outcome = await self._apply([op for s in subs for op in s.ops], subs)
        for i, w in enumerate(batch):
            w.outcome = outcome if i == 0 else replace(outcome, lead=False)

    async def _apply(self, ops: list[MemoryOp], subs: list[Submission]) -> Outcome:
        unique = list({op.op_id: op for op in ops}.values())
        # Durable before the store sees them; ops the store holds were logged when committed.
        held = await self.store.applied([op.op_id for op in unique])  # under the lock: stays true
        logged = self.wal.log(unique, held)
        derived: list[MemoryOp] = []

        def log_derived(found: list[MemoryOp]) -> None:
            # Ops the store derives (discard rule, capacity) reach the log before their change.
            derived.extend(self.wal.log(found))

        # All of them, not only the fresh: the store skips what it holds (by op id), and an op
        # logged before a crash must not be lost because the log already has it.
        result = await self.store.apply(unique, log_derived, held)
        covered = [op.op_id for op in unique] + [op.op_id for op in derived]
        seqs = [self.wal.pending[i] for i in covered if i in self.wal.pending]
        kinds = dict(Counter(op.kind for op in result.applied))
        size = await self.store.count("active")
        discarded = await self.store.count("discarded")
        groups = [s.group for s in subs if s.group is not None]
        record = MemoryCommit(
            version=self.store.version,
            first_seq=min(seqs, default=None),
            last_seq=max(seqs, default=None),
            trajectory_ids=[s.trajectory_id for s in subs if s.trajectory_id],
            applied=kinds,
            skipped=len(result.skipped),
            merged=result.merged,
            size=size,
            group=max(groups, default=None),
            usage=self._usage([*(op for op in ops if op.seq is not None), *logged]),  # replay: tail
        )
        self.wal.commit(record, covered)
        return Outcome(self.store.version, size, discarded, kinds, len(result.skipped), record)

    @staticmethod
    def _usage(logged: list[MemoryOp]) -> dict[str, Usage]:
        """By role, of the LLM calls that made the ops this commit logged first (an op is logged
        once by id, so work redone after a crash or a retry is counted once)."""
        out: dict[str, Usage] = {}
        for op in logged:
            for role, u in (op.usage or {}).items():
                out[role] = out.get(role, Usage()) + u
        return out

    def totals(self) -> Counter[str]:
        """Op kinds that changed memory over every commit of the run (resumes included)."""
        return Counter(self.wal.applied_totals)
