"""The store's write path: a batch of MemoryOps applied serially, idempotently, with history."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from qdrant_client import models as qm

from pipeline.config import MemoryConfig
from pipeline.memory.embed import Embedder
from pipeline.memory.index import RankKey
from pipeline.memory.schema import (
    FACTS_VECTOR,
    LAST_OPS_KEY,
    QUERY_VECTOR,
    ApplyResult,
    HistoryEntry,
    HistoryKind,
    from_payload,
    history_of,
    to_payload,
)
from pipeline.types import MemoryOp, Procedure, ProcedureStats, stable_id


class WritableStore(Protocol):
    """What a batch needs of the store (ProcedureStore); declared here so neither imports the
    other's module at type-check time: store.py imports this module, never the reverse."""

    cfg: MemoryConfig
    version: int
    namespace: str
    embedder: Embedder | None

    async def applied(self, op_ids: Sequence[str]) -> set[str]: ...

    async def records(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], Any]]: ...

    async def count(self, status: Any = "active") -> int: ...

    async def capacity_ranking(self) -> list[RankKey]: ...

    async def nearest(self, vectors: np.ndarray, limit: int, *args: Any, **kw: Any) -> Any: ...

    async def upsert(self, points: list[qm.PointStruct]) -> None: ...

    async def record_batch(self, version: int, op_ids: list[str], applied: int) -> None: ...


@dataclass
class _Entry:
    """A procedure as the batch sees it: stored state plus this batch's changes."""

    proc: Procedure
    history: list[HistoryEntry]
    stored_ops: frozenset[str]  # ops already folded into the stored point (crash replay guard)
    vectors: dict[str, Any] | None = None  # stored vectors, reused when content did not change
    batch_ops: list[str] = field(default_factory=list)
    dirty: bool = False
    reembed: bool = False


def _life(entry: _Entry) -> list[str]:
    """What a rule's discard op id is keyed by: a restored procedure can be discarded again."""
    restores = sum(h.kind == "restore" for h in entry.history)
    return [entry.proc.id, str(entry.proc.version), *([f"restore-{restores}"] if restores else [])]


class BatchWriter:
    """One batch: load touched points, fold ops in order, upsert once, record the batch."""

    def __init__(
        self, store: WritableStore, before_write: Callable[[list[MemoryOp]], None] | None = None
    ) -> None:
        self.store = store
        self.before_write = before_write
        self.derived: list[MemoryOp] = []  # ops this batch decided, not yet handed to before_write
        self.cfg = store.cfg
        self.version = store.version + 1
        self.entries: dict[str, _Entry] = {}
        self.text_vecs: dict[str, np.ndarray] = {}
        self.result = ApplyResult(version=store.version)
        self.seen: list[str] = []
        self.new_ids: list[str] = []
        self.new_vecs = np.zeros((0, 0), np.float32)  # rows of new_ids; grown by doubling
        self.near_hits: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self.adjusted: set[str] = set()  # procedures revised in this batch: one adjust each

    async def run(self, ops: list[MemoryOp], done: set[str] | None = None) -> ApplyResult:
        fresh: list[MemoryOp] = []
        if done is None:  # the committer passes what it looked up for the log
            done = await self.store.applied([op.op_id for op in ops])
        for op in ops:
            if op.op_id in done or op.op_id in self.seen:
                self.result.skipped.append(op.op_id)
                continue
            self.seen.append(op.op_id)
            fresh.append(op)
        if not fresh:
            return self.result
        await self._load([op.procedure_id for op in fresh])
        await self._embed([op.procedure for op in fresh if op.procedure is not None])
        restored = {op.procedure_id for op in fresh if op.kind == "restore"}
        await self._embed([e.proc for pid, e in self.entries.items() if pid in restored])
        await self._prefetch_near(fresh)
        await self._fold(fresh)
        await self._flush()
        if self.cfg.capacity is not None:
            evictions = await self._capacity(self.cfg.capacity)
            self.seen.extend(op.op_id for op in evictions)
            self.derived.extend(evictions)
            await self._fold(evictions)
            await self._flush()
        if self.result.applied:
            self.result.version = self.version
        await self.store.record_batch(self.result.version, self.seen, len(self.result.applied))
        return self.result

    async def _load(self, ids: list[str]) -> None:
        missing = [i for i in dict.fromkeys(ids) if i not in self.entries]
        for pid, (payload, vectors) in (await self.store.records(missing)).items():
            self.entries[pid] = _Entry(
                proc=from_payload(payload),
                history=history_of(payload),
                stored_ops=frozenset(payload.get(LAST_OPS_KEY, [])),
                vectors=vectors,
            )

    async def _embed(self, procs: list[Procedure]) -> None:
        texts = {t for p in procs for t in (p.task_text, *p.keywords)} - set(self.text_vecs)
        if texts:
            ordered = sorted(texts)
            assert self.store.embedder is not None
            rows, _ = await self.store.embedder.embed(ordered)
            self.text_vecs.update(zip(ordered, rows, strict=True))

    async def _prefetch_near(self, ops: list[MemoryOp]) -> None:
        """Dedup candidates of every add in one search: the store does not change until _flush."""
        keys = list(dict.fromkeys(
            (op.procedure.task_text, op.procedure.task_type) for op in ops
            if op.kind == "add" and op.procedure is not None and op.procedure.status == "active"
        ))  # fmt: skip
        if keys:
            vecs = np.stack([self.text_vecs[text] for text, _ in keys])
            hits = await self.store.nearest(
                vecs, 3, self.cfg.dedup_threshold, [task_type for _, task_type in keys]
            )
            self.near_hits.update(zip(keys, hits, strict=True))

    async def _fold(self, ops: list[MemoryOp]) -> None:
        queue = deque(ops)
        while queue:
            op = queue.popleft()
            derived = await self._one(op)
            self.seen.extend(d.op_id for d in derived)
            self.derived.extend(derived)
            queue.extend(derived)

    async def _one(self, op: MemoryOp) -> list[MemoryOp]:
        entry = self.entries.get(op.procedure_id)
        if entry is not None and op.op_id in entry.stored_ops:
            self.result.skipped.append(op.op_id)  # folded in before a crash, batch not recorded
            return []
        handler = {
            "add": self._add,
            "adjust": self._adjust,
            "discard": self._discard,
            "stat": self._stat,
            "restore": self._restore,
        }[op.kind]
        changed, derived = await handler(op, entry)
        (self.result.applied.append(op) if changed else self.result.skipped.append(op.op_id))
        return derived

    def _touch(self, entry: _Entry, op: MemoryOp) -> None:
        entry.dirty = True
        entry.batch_ops.append(op.op_id)

    def _log(self, entry: _Entry, op: MemoryOp, kind: HistoryKind, prev: Procedure | None) -> None:
        entry.history.append(
            HistoryEntry(
                op_id=op.op_id,
                kind=kind,
                reason=op.reason,
                memory_version=self.version,
                version=entry.proc.version,
                previous=prev,
            )
        )

    async def _add(self, op: MemoryOp, entry: _Entry | None) -> tuple[bool, list[MemoryOp]]:
        if op.procedure is None:
            return False, []
        proc = op.procedure.model_copy(
            update={"id": op.procedure_id, "namespace": self.store.namespace}
        )
        if entry is not None and entry.proc.status != "active":
            return False, []  # frozen (see _stat)
        if entry is not None:  # same id again (a re-import, a re-distilled trajectory)
            return self._merge(entry, proc, op, sum_stats=False), []
        target = await self._near(proc) if proc.status == "active" else None
        if target is not None:
            if op.op_id in target.stored_ops:
                return False, []
            merged = self._merge(target, proc, op, sum_stats=True)
            if merged:
                self.result.merged[op.op_id] = target.proc.id
            return merged, []
        entry = _Entry(proc=proc, history=[], stored_ops=frozenset(), reembed=True)
        self.entries[proc.id] = entry
        vec = self.text_vecs[proc.task_text]
        if len(self.new_ids) == len(self.new_vecs):  # re-stacking per add was O(batch^2)
            grown = np.zeros((max(16, 2 * len(self.new_vecs)), len(vec)), vec.dtype)
            if self.new_ids:
                grown[: len(self.new_ids)] = self.new_vecs[: len(self.new_ids)]
            self.new_vecs = grown
        self.new_vecs[len(self.new_ids)] = vec
        self.new_ids.append(proc.id)
        self._log(entry, op, "add", None)
        self._touch(entry, op)
        return True, []

    def _merge(self, entry: _Entry, proc: Procedure, op: MemoryOp, sum_stats: bool) -> bool:
        merged = entry.proc.merged(proc, sum_stats)
        if merged is None:
            return False
        entry.proc = merged
        self._log(entry, op, "merge", None)
        self._touch(entry, op)
        return True

    async def _near(self, proc: Procedure) -> _Entry | None:
        """An active same-type procedure whose task vector is within the dedup threshold."""
        vec = self.text_vecs[proc.task_text]
        best: tuple[float, str] | None = None
        if self.new_ids:  # procedures added earlier in this batch are not searchable yet
            scores = self.new_vecs[: len(self.new_ids)] @ vec
            for i in np.flatnonzero(scores >= self.cfg.dedup_threshold):
                e = self.entries[self.new_ids[i]]
                same = e.proc.status == "active" and e.proc.task_type == proc.task_type
                if same and (best is None or scores[i] > best[0]):
                    best = (float(scores[i]), e.proc.id)
        key = (proc.task_text, proc.task_type)
        if key not in self.near_hits:
            found = await self.store.nearest(
                vec[None], 3, self.cfg.dedup_threshold, [proc.task_type]
            )
            self.near_hits[key] = found[0]
        for hit_id, score in self.near_hits[key]:
            if best is None or score > best[0]:
                await self._load([hit_id])
                if self.entries[hit_id].proc.status == "active":  # may be discarded in this batch
                    best = (score, hit_id)
        if best is None or best[0] < self.cfg.dedup_threshold:
            return None
        return self.entries[best[1]]

    async def _adjust(self, op: MemoryOp, entry: _Entry | None) -> tuple[bool, list[MemoryOp]]:
        new = op.procedure
        if entry is None or new is None or entry.proc.status != "active":
            return False, []
        if entry.proc.id in self.adjusted:  # a second revision in one commit would stack blindly
            return False, []
        self.adjusted.add(entry.proc.id)
        prev = entry.proc
        entry.proc = prev.adjusted(new, updated_at=time.time())
        entry.reembed = entry.reembed or entry.proc.keywords != prev.keywords
        self._log(entry, op, "adjust", prev)
        self._touch(entry, op)
        return True, []

    async def _discard(self, op: MemoryOp, entry: _Entry | None) -> tuple[bool, list[MemoryOp]]:
        if entry is None or entry.proc.status != "active":
            return False, []
        prev = entry.proc
        entry.proc = prev.model_copy(update={"status": "discarded", "updated_at": time.time()})
        self._log(entry, op, "discard", prev)
        self._touch(entry, op)
        return True, []

    async def _restore(self, op: MemoryOp, entry: _Entry | None) -> tuple[bool, list[MemoryOp]]:
        """The one op that unfreezes a procedure (`memp memory restore`); its record starts anew,
        or the discard rule would judge it on the figures that discarded it."""
        if entry is None or entry.proc.status == "active":
            return False, []
        prev = entry.proc
        entry.proc = prev.model_copy(
            update={"status": "active", "quarantine_reason": None, "stats": ProcedureStats(),
                    "updated_at": time.time()}
        )  # fmt: skip
        entry.reembed = True  # frozen points keep no vectors
        self._log(entry, op, "restore", prev)
        self._touch(entry, op)
        return True, []

    async def _stat(self, op: MemoryOp, entry: _Entry | None) -> tuple[bool, list[MemoryOp]]:
        # A discarded or quarantined procedure is frozen: only an explicit restore may change it.
        if entry is None or op.stats_delta is None or entry.proc.status != "active":
            return False, []
        entry.proc = entry.proc.model_copy(update={"stats": entry.proc.stats + op.stats_delta})
        self._touch(entry, op)
        rule = self.cfg.discard
        stats = entry.proc.stats
        if (
            rule.enabled
            and entry.proc.status == "active"
            and stats.retrieved >= rule.min_retrieved
            and stats.success_ratio < rule.min_success_ratio
        ):
            reason = f"discard rule: retrieved {stats.retrieved}, success {stats.success_ratio:.2f}"
            op_id = stable_id("discard-rule", *_life(entry))
            return True, [
                MemoryOp(op_id=op_id, kind="discard", procedure_id=entry.proc.id, reason=reason)
            ]
        return True, []

    async def _capacity(self, capacity: int) -> list[MemoryOp]:
        """Discard ops for the lowest-utility active procedures above the capacity."""
        active = await self.store.count("active")
        if active <= capacity:
            return []
        ranked = await self.store.capacity_ranking()  # lowest utility first, then oldest, then id
        victims = ranked[: active - capacity]
        await self._load([v[2] for v in victims])
        return [
            MemoryOp(
                op_id=stable_id("capacity", *_life(self.entries[pid])),
                kind="discard",
                procedure_id=pid,
                reason="capacity",
            )
            for _, _, pid, _ in victims
        ]

    def _vectors(self, entry: _Entry) -> dict[str, Any]:
        if entry.proc.status != "active":
            # Discarded points keep payload and history but no vectors: no search can return them,
            # and local mode needs no per-point payload filter (a Python loop there) to hide them.
            return {}
        if not entry.reembed and entry.vectors:
            return entry.vectors
        proc, stored = entry.proc, entry.vectors or {}
        texts = proc.keywords or [proc.task_text]
        out = dict(stored)
        if proc.task_text in self.text_vecs:
            out[QUERY_VECTOR] = self.text_vecs[proc.task_text].tolist()
        if all(t in self.text_vecs for t in texts):
            out[FACTS_VECTOR] = np.stack([self.text_vecs[t] for t in texts]).tolist()
        return out

    async def _flush(self) -> None:
        # Derived ops reach the WAL before the changes they make reach the store.
        derived, self.derived = self.derived, []
        if derived and self.before_write is not None:
            self.before_write(derived)
        points = []
        for pid, entry in self.entries.items():
            if not entry.dirty:
                continue
            payload = to_payload(entry.proc, entry.history, entry.batch_ops, self.version)
            points.append(qm.PointStruct(id=pid, vector=self._vectors(entry), payload=payload))
            entry.dirty = False
            entry.vectors = points[-1].vector  # type: ignore[assignment]
            entry.reembed = False
        await self.store.upsert(points)
