"""Shared checks of a run directory for the pipeline tests (real files, real Qdrant)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import anyio

from pipeline.memory.embed import make_embedder
from pipeline.memory.store import ProcedureStore
from pipeline.runlog import RunDir
from pipeline.types import Procedure


def task_ids(run_dir: Path) -> list[str]:
    return [t.task.id for t in RunDir.resume(run_dir).recorded_trajectories()]


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


async def _store_state(run_dir: Path) -> tuple[set[str], list[str], list[Procedure]]:
    cfg = RunDir.resume(run_dir).config
    store = await ProcedureStore.open(cfg.memory, run_dir / "qdrant", make_embedder(cfg.memory))
    try:
        procs = await store.all()
        history = [h.op_id for p in procs for h in await store.history(p.id)]
        return set(await store.applied_ids()), history, procs
    finally:
        await store.close()


def check_memory(run_dir: Path) -> list[Procedure]:
    """The WAL and Qdrant agree: every logged op went through the store once, none twice."""
    rd = RunDir.resume(run_dir)
    ops = rd.recorded_ops()
    ids = [op.op_id for op in ops]
    assert len(ids) == len(set(ids)), "an op was logged twice"
    seqs = [op.seq for op in ops]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "WAL sequence numbers broken"
    applied, history, procs = anyio.run(_store_state, run_dir)
    assert set(ids) <= applied, "a logged op never reached the store"
    repeated = [op for op, n in Counter(history).items() if n > 1]
    assert not repeated, f"ops applied twice: {repeated[:3]}"
    assert set(history) <= set(ids), "the store holds changes the WAL does not know"
    added = {op.procedure_id for op in ops if op.kind == "add"}
    assert {p.id for p in procs} <= added | {p.id for p in procs if p.source_trajectory_ids}
    return procs
