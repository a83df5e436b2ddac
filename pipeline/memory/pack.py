"""Memory packs: JSONL, one Procedure per line, so one run's memory can seed another's."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from pipeline.memory.schema import ApplyResult, MemoryStoreError
from pipeline.memory.store import ProcedureStore
from pipeline.types import MemoryOp, Procedure, ProcedureStatus, stable_id

IMPORT_BATCH = 256


async def export_pack(
    store: ProcedureStore, path: str | Path, status: ProcedureStatus | None = None
) -> int:
    """Write every procedure (or those of one status) to `path`; returns how many."""
    procs = await store.all(status)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w") as fh:
        for proc in procs:
            fh.write(proc.model_dump_json() + "\n")
    tmp.replace(target)  # a half-written pack never replaces a good one
    return len(procs)


def read_pack(path: str | Path) -> list[Procedure]:
    """Validated procedures of a pack; a bad line fails with its line number."""
    source = Path(path)
    if not source.is_file():
        raise MemoryStoreError(f"memory pack not found: {source}")
    procs = []
    for number, line in enumerate(source.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            procs.append(Procedure.model_validate_json(line))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise MemoryStoreError(f"{source}:{number}: {where}: {first['msg']}") from None
    return procs


def _point_id(proc_id: str, namespace: str) -> str:
    try:
        return str(uuid.UUID(proc_id))
    except ValueError:  # Qdrant point ids are UUIDs; foreign packs may use other ids
        return stable_id(namespace, "imported", proc_id)


def import_ops(procs: Iterable[Procedure], namespace: str) -> list[MemoryOp]:
    """Add ops whose ids hash the content: importing the same pack twice is a no-op."""
    ops = []
    for proc in procs:
        pid = _point_id(proc.id, namespace)
        content = hashlib.sha1(proc.model_dump_json().encode()).hexdigest()
        ops.append(
            MemoryOp(
                op_id=stable_id("import", pid, content),
                kind="add",
                procedure_id=pid,
                procedure=proc.model_copy(update={"id": pid, "namespace": namespace}),
                reason="import",
            )
        )
    return ops


async def import_pack(store: ProcedureStore, path: str | Path) -> ApplyResult:
    """Apply a pack's procedures as add ops in batches; totals over all batches."""
    total = ApplyResult(version=store.version)
    ops = import_ops(read_pack(path), store.namespace)
    for start in range(0, len(ops), IMPORT_BATCH):
        result = await store.apply(ops[start : start + IMPORT_BATCH])
        total.applied.extend(result.applied)
        total.skipped.extend(result.skipped)
        total.merged.update(result.merged)
        total.version = result.version
    return total
