"""The life of every procedure, replayed from memory_ops.jsonl and memory_commits.jsonl alone.

Mirrors the writer's fold (pipeline/memory/writer.py) without Qdrant: add, merge into a
near-duplicate (from the commit's `merged` map), adjust (version + 1), discard and usage stats.
Ops are fed in sequence order. The writer folds the ops the store derives itself (discard rule,
capacity) after the rest of their batch and logs them after it too, so log order is fold order.
"""

from __future__ import annotations

import bisect
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.types import MemoryOp, Procedure, ProcedureStats

RevisionKind = Literal["add", "merge", "adjust", "discard", "restore"]


class Revision(BaseModel):
    """One change to a procedure: the op behind it and the content right after it."""

    seq: int  # the op's sequence number in memory_ops.jsonl
    op_id: str
    kind: RevisionKind
    reason: str = ""
    trajectory_id: str | None = None
    version: int
    content: Procedure


class StatPoint(BaseModel):
    """A usage-stat op: who used the procedure, the outcome, the totals after it."""

    seq: int
    trajectory_id: str | None
    succeeded: bool
    totals: ProcedureStats


class ProcedureLife(BaseModel):
    id: str
    revisions: list[Revision] = Field(default_factory=list)
    stats: list[StatPoint] = Field(default_factory=list)
    current: Procedure

    @property
    def created_by(self) -> str | None:
        return self.revisions[0].trajectory_id if self.revisions else None

    @property
    def discard_reason(self) -> str | None:
        found = [r.reason for r in self.revisions if r.kind == "discard"]
        return found[-1] if found else None

    def at(self, seq: int) -> Procedure | None:
        """Content and status after every op up to `seq` (None: did not exist yet)."""
        keys = [r.seq for r in self.revisions]
        i = bisect.bisect_right(keys, seq)
        return self.revisions[i - 1].content if i else None


class MemoryReplay:
    """Procedure lives after the ops fed so far; `merged` maps add op ids to merge targets."""

    def __init__(self) -> None:
        self.lives: dict[str, ProcedureLife] = {}
        self.merged: dict[str, str] = {}
        self.ops_seen = 0
        self.last_seq = 0
        self.by_trajectory: dict[str, list[tuple[int, str, str]]] = {}  # -> (seq, kind, pid)
        self.adjusted: set[str] = set()  # procedures adjusted in the batch being fed

    def begin_batch(self) -> None:
        """A new writer batch (commit): as the writer, one adjust per procedure per batch."""
        self.adjusted.clear()

    def feed(self, op: MemoryOp) -> None:
        seq = op.seq if op.seq is not None else self.last_seq + 1
        self.last_seq = max(self.last_seq, seq)
        self.ops_seen += 1
        target = self.merged.get(op.op_id) if op.kind == "add" else None
        pid = target or op.procedure_id
        if op.source_trajectory_id:
            self.by_trajectory.setdefault(op.source_trajectory_id, []).append((seq, op.kind, pid))
        life = self.lives.get(pid)
        if op.kind == "add":
            self._add(op, seq, life, sum_stats=target is not None)
        elif op.kind == "adjust":
            self._adjust(op, seq, life)
        elif op.kind in ("discard", "restore"):
            self._status(op, seq, life)
        elif op.kind == "stat":
            self._stat(op, seq, life)

    def _revise(self, life: ProcedureLife, rev: Revision) -> None:
        life.revisions.append(rev)
        life.current = rev.content

    def _add(self, op: MemoryOp, seq: int, life: ProcedureLife | None, sum_stats: bool) -> None:
        if op.procedure is None:
            return
        proc = op.procedure.model_copy(update={"id": op.procedure_id})
        rev = dict(seq=seq, op_id=op.op_id, reason=op.reason, trajectory_id=op.source_trajectory_id)
        if life is None:
            life = self.lives[proc.id] = ProcedureLife(id=proc.id, current=proc)
            self._revise(life, Revision(kind="add", version=proc.version, content=proc, **rev))
            return
        cur = life.current
        if cur.status != "active":
            return
        new = cur.merged(proc, sum_stats)
        if new is None:
            return
        self._revise(life, Revision(kind="merge", version=new.version, content=new, **rev))

    def _adjust(self, op: MemoryOp, seq: int, life: ProcedureLife | None) -> None:
        new = op.procedure
        if life is None or new is None or life.current.status != "active":
            return
        if life.id in self.adjusted:
            return
        self.adjusted.add(life.id)
        prev = life.current
        content = prev.adjusted(new)
        self._revise(
            life,
            Revision(
                seq=seq, op_id=op.op_id, kind="adjust", reason=op.reason,
                trajectory_id=op.source_trajectory_id, version=content.version, content=content,
            ),
        )  # fmt: skip

    def _status(self, op: MemoryOp, seq: int, life: ProcedureLife | None) -> None:
        """discard freezes an active procedure; restore (only) unfreezes it, its record anew."""
        restore = op.kind == "restore"
        if life is None or (life.current.status == "active") == restore:
            return
        update: dict = {"status": "discarded"}
        if restore:
            update = {"status": "active", "quarantine_reason": None, "stats": ProcedureStats()}
        content = life.current.model_copy(update=update)
        self._revise(
            life,
            Revision(
                seq=seq, op_id=op.op_id, kind=op.kind, reason=op.reason,
                trajectory_id=op.source_trajectory_id, version=content.version, content=content,
            ),
        )  # fmt: skip

    def _stat(self, op: MemoryOp, seq: int, life: ProcedureLife | None) -> None:
        # As the writer: a discarded or quarantined procedure is frozen.
        if life is None or op.stats_delta is None or life.current.status != "active":
            return
        stats = life.current.stats + op.stats_delta
        life.current = life.current.model_copy(update={"stats": stats})
        life.stats.append(
            StatPoint(
                seq=seq,
                trajectory_id=op.source_trajectory_id,
                succeeded=op.stats_delta.succeeded > 0,
                totals=stats,
            )
        )

    def active(self) -> int:
        return sum(life.current.status == "active" for life in self.lives.values())


def utility(stats: ProcedureStats) -> float:
    """pipeline.memory.schema.utility (tested equal); importing it would load Qdrant and litellm."""
    return (stats.succeeded + 1) / (stats.succeeded + stats.failed + 2)
