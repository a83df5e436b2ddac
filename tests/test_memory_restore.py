"""The restore op: the one op that changes a discarded or quarantined procedure (real Qdrant)."""

from __future__ import annotations

import anyio
import numpy as np

from pipeline.config import DiscardConfig
from pipeline.memory.schema import QUERY_VECTOR
from pipeline.orchestrate.committer import MemoryCommitter, Submission
from pipeline.runlog import OpsWal
from pipeline.types import MemoryOp, stable_id
from tests.test_memory_store import GOALS, add, open_store, proc, stat

RULE = DiscardConfig(enabled=True, min_retrieved=1, min_success_ratio=0.5)


def restore(pid: str, n: int = 0) -> MemoryOp:
    return MemoryOp(op_id=stable_id("restore", pid, str(n)), kind="restore", procedure_id=pid,
                    reason="restored by user")  # fmt: skip


async def _search(store, text: str) -> list[str]:
    (vec,), _ = await store.embedder.embed([text])
    return [p.id for p, _ in await store.search(np.asarray(vec), QUERY_VECTOR, 3)]


def test_restore_reactivates_a_discarded_procedure_through_the_op_log(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", discard=RULE)
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        p = proc(*GOALS[0])
        await committer.commit(Submission([add(p)]))
        await committer.commit(Submission([stat(p.id, "f1", ok=False)]))  # the rule discards it
        (gone,) = await store.get([p.id])
        assert gone.status == "discarded"
        assert await _search(store, p.task_text) == []
        # Frozen: a stat or a re-add changes nothing.
        out = await committer.commit(Submission([stat(p.id, "f2", ok=True), add(p)]))
        assert out.applied == {}
        out = await committer.commit(Submission([restore(p.id)]))
        assert out.applied == {"restore": 1}
        (back,) = await store.get([p.id])
        assert back.status == "active" and back.stats.retrieved == 0  # its record starts anew
        assert back.script == gone.script and back.version == gone.version
        assert await _search(store, p.task_text) == [p.id]  # vectors are back
        assert [h.kind for h in await store.history(p.id)] == ["add", "discard", "restore"]
        # Replaying the restore is a no-op; restoring an active one does nothing.
        assert (await committer.commit(Submission([restore(p.id)]))).applied == {}
        assert (await committer.commit(Submission([restore(p.id, 9)]))).applied == {}
        # The discard rule can judge it again (a new op id, not the first discard's).
        out = await committer.commit(Submission([stat(p.id, "f3", ok=False)]))
        assert out.applied == {"stat": 1, "discard": 1}
        (again,) = await store.get([p.id])
        assert again.status == "discarded"
        committer.wal.close()
        await store.close()

    anyio.run(body)
    logged = [line for line in (tmp_path / "memory_ops.jsonl").read_text().splitlines()]
    assert sum('"kind":"restore"' in line for line in logged) == 2  # the 2nd was a no-op
    assert sum('"kind":"discard"' in line for line in logged) == 2


def test_restore_reactivates_a_quarantined_procedure(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        p = proc(*GOALS[1], status="quarantined", quarantine_reason="matched 'you are now'")
        await store.apply([add(p)])
        assert await store.count("active") == 0
        await store.apply([restore(p.id)])
        (back,) = await store.get([p.id])
        assert back.status == "active" and back.quarantine_reason is None
        assert await _search(store, p.task_text) == [p.id]
        await store.close()

    anyio.run(body)
