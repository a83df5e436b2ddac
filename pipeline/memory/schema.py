"""Payload layout of the procedure store (what a Qdrant point holds) and what apply returns."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from pipeline.errors import MempError
from pipeline.types import MemoryOp, Procedure, ProcedureStats, Record, stable_id

QUERY_VECTOR = "query"
FACTS_VECTOR = "facts"
# Payload keys the store adds next to the Procedure fields.
HISTORY_KEY = "history"
LAST_OPS_KEY = "last_ops"
MEM_VERSION_KEY = "mem_version"
STORE_KEYS = (HISTORY_KEY, LAST_OPS_KEY, MEM_VERSION_KEY)
INDEXED_FIELDS = ("status", "task_type", "namespace")
STATE_POINT = stable_id("memp-meta", "state")

HistoryKind = Literal["add", "adjust", "discard", "merge", "restore"]


class MemoryStoreError(MempError, RuntimeError):
    """A user-facing store problem; the message is one line."""


class HistoryEntry(Record):
    """One change to a procedure; `previous` is its content before the change (None for add)."""

    op_id: str
    kind: HistoryKind
    reason: str = ""
    at: float = Field(default_factory=time.time)
    memory_version: int
    version: int  # procedure version after the change
    previous: Procedure | None = None


class ApplyResult(Record):
    """What one writer batch did: ops that changed the store, ops skipped, the new version."""

    applied: list[MemoryOp] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # op ids already applied or with no effect
    merged: dict[str, str] = Field(default_factory=dict)  # add op id -> existing procedure id
    version: int = 0


def collection_names(prefix: str, namespace: str) -> tuple[str, str]:
    """(procedures, meta) collection names of a memory namespace."""
    base = f"{prefix}_{namespace}"
    return base, f"{base}_meta"


def batch_point(version: int, first_op_id: str) -> str:
    # Keyed by the first op too: a batch whose ops all had no effect keeps the current version.
    return stable_id("memp-meta", "batch", str(version), first_op_id)


def utility(stats: ProcedureStats) -> float:
    """Laplace-smoothed success ratio: untried procedures sit at 0.5, between winners and losers."""
    return (stats.succeeded + 1) / (stats.succeeded + stats.failed + 2)


def to_payload(
    proc: Procedure, history: list[HistoryEntry], last_ops: list[str], mem_version: int
) -> dict[str, Any]:
    payload = proc.model_dump(mode="json")
    payload[HISTORY_KEY] = [h.model_dump(mode="json") for h in history]
    payload[LAST_OPS_KEY] = list(last_ops)
    payload[MEM_VERSION_KEY] = mem_version
    return payload


def from_payload(payload: dict[str, Any]) -> Procedure:
    return Procedure.model_validate({k: v for k, v in payload.items() if k not in STORE_KEYS})


def history_of(payload: dict[str, Any]) -> list[HistoryEntry]:
    return [HistoryEntry.model_validate(h) for h in payload.get(HISTORY_KEY, [])]
