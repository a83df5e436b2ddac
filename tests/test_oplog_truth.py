"""The op log is the source of truth (real local Qdrant, one process): a missing or stale store
is rebuilt from memory_ops.jsonl batch by batch; a log that lost committed ops is refused as is."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from pipeline.config import DiscardConfig
from pipeline.memory.schema import MemoryStoreError
from pipeline.orchestrate.committer import MemoryCommitter, Submission
from pipeline.runlog import MEMORY_COMMITS, MEMORY_OPS, OpsWal, RunDirError, check_memory_log
from pipeline.types import MemoryOp, stable_id
from tests.test_memory_store import GOALS, add, open_store, proc, stat

RULE = DiscardConfig(enabled=True, min_retrieved=2, min_success_ratio=0.5)


def adjust(p, tag: str) -> MemoryOp:
    new = p.model_copy(update={"script": f"1. revised by {tag}"})
    return MemoryOp(op_id=stable_id("adjust", p.id, tag), kind="adjust", procedure_id=p.id,
                    procedure=new, reason=tag)  # fmt: skip


def batches() -> list[list[MemoryOp]]:
    """Adds, a same-goal duplicate (merged), stats that fire the discard rule, an adjust, and a
    capacity eviction: every op the store derives, in several commits."""
    a, b, c, d = (proc(g, t) for g, t in GOALS)
    dup = proc(*GOALS[0], tag="t2")
    return [
        [add(a), add(b)],
        [add(dup), stat(a.id, "x1", True), stat(b.id, "x1", False)],
        [stat(b.id, "x2", False), adjust(a, "f1"), add(c)],  # b is discarded by the rule
        [add(d), stat(c.id, "x3", True)],  # capacity 3: the lowest-utility one goes
    ]


async def _fill(run: Path) -> dict:
    store = await open_store(run / "qdrant", discard=RULE, capacity=3)
    committer = MemoryCommitter(store, OpsWal(run))
    for ops in batches():
        await committer.commit(Submission(ops, trajectory_id=f"traj-{len(ops)}"))
    state = await _state(store)
    committer.wal.close()
    await store.close()
    return state


async def _state(store) -> dict:
    """Everything but wall-clock stamps: procedures with history, the version, applied ops."""
    procs = {}
    for p in await store.all():
        history = [h.model_dump(exclude={"at", "previous"}) for h in await store.history(p.id)]
        procs[p.id] = (p.model_dump(exclude={"updated_at"}), history)
    return {"version": store.version, "procs": procs, "applied": await store.applied_ids()}


async def _reopen(run: Path, **kw) -> tuple[dict, bool]:
    store = await open_store(run / "qdrant", discard=RULE, capacity=3)
    committer = MemoryCommitter(store, OpsWal(run))
    rebuilt = await committer.reconcile(**kw)
    state = await _state(store)
    committer.wal.close()
    await store.close()
    return state, rebuilt


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.glob("*.jsonl"))}


def test_a_deleted_store_is_rebuilt_from_the_log_identically(tmp_path):
    want = anyio.run(_fill, tmp_path)
    kinds = {op.kind for op in OpsWal(tmp_path).logged_ops()}
    assert {"add", "stat", "adjust", "discard"} <= kinds  # derived discards are in the log
    same, rebuilt = anyio.run(_reopen, tmp_path)
    assert not rebuilt and same == want
    shutil.rmtree(tmp_path / "qdrant")
    got, rebuilt = anyio.run(_reopen, tmp_path)
    assert rebuilt and got == want


def test_a_stale_store_is_rebuilt(tmp_path):
    """A store copied back from before the last commits (a restored backup) is behind the log."""

    async def fill_two() -> None:
        store = await open_store(tmp_path / "qdrant", discard=RULE, capacity=3)
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        for ops in batches()[:2]:
            await committer.commit(Submission(ops))
        committer.wal.close()
        await store.close()

    anyio.run(fill_two)
    shutil.copytree(tmp_path / "qdrant", tmp_path / "old")
    shutil.rmtree(tmp_path / "qdrant")
    for name in (MEMORY_OPS, MEMORY_COMMITS):
        (tmp_path / name).unlink()
    want = anyio.run(_fill, tmp_path)
    shutil.rmtree(tmp_path / "qdrant")
    shutil.copytree(tmp_path / "old", tmp_path / "qdrant")
    got, rebuilt = anyio.run(_reopen, tmp_path)
    assert rebuilt and got == want


def _cut(path: Path, keep_lines: int, extra: int = 0) -> None:
    """Keep `keep_lines` whole lines and `extra` bytes of the next one."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:keep_lines]) + lines[keep_lines][:extra])


@pytest.mark.parametrize("extra", [0, 40])  # at a line boundary, inside a line
def test_a_log_cut_in_the_middle_is_refused_unchanged(tmp_path, extra):
    anyio.run(_fill, tmp_path)
    _cut(tmp_path / MEMORY_OPS, 3, extra)
    before = _files(tmp_path)
    with pytest.raises(RunDirError) as err:
        OpsWal(tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / MEMORY_OPS) in message
    assert "last good sequence number is 3" in message
    with pytest.raises(RunDirError):
        anyio.run(_reopen, tmp_path)
    assert _files(tmp_path) == before


def test_a_damaged_line_the_commits_cover_is_refused(tmp_path):
    anyio.run(_fill, tmp_path)
    path = tmp_path / MEMORY_OPS
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1][:20] + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(RunDirError, match=r"line 2 is damaged.*last good sequence number is 1"):
        check_memory_log(tmp_path)


def test_a_torn_tail_after_the_last_commit_is_dropped(tmp_path):
    anyio.run(_fill, tmp_path)
    path = tmp_path / MEMORY_OPS
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_id": "half-writ')  # a crash mid-append: no commit covers it
    check = check_memory_log(tmp_path)
    assert check.torn and check.last_seq == check.covered
    assert path.read_bytes().endswith(b"half-writ")  # reading changes nothing
    wal = OpsWal(tmp_path)
    assert wal.uncommitted == []
    wal.log([stat(proc(*GOALS[2]).id, "late", True)])
    wal.close()
    assert path.read_bytes().startswith(whole) and b"half-writ" not in path.read_bytes()


def test_server_mode_refuses_a_stale_store_unless_asked_to_rebuild(tmp_path):
    """The rule as the committer applies it; the store is a real one flagged as a server's."""
    want = anyio.run(_fill, tmp_path)
    shutil.rmtree(tmp_path / "qdrant")
    before = _files(tmp_path)

    async def reopen(rebuild: bool) -> dict:
        store = await open_store(tmp_path / "qdrant", discard=RULE, capacity=3)
        store.server = True  # a shared collection: the run may not drop it unasked
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        try:
            assert await committer.reconcile(rebuild)
            return await _state(store)
        finally:
            committer.wal.close()
            await store.close()

    with pytest.raises(MemoryStoreError) as err:
        anyio.run(reopen, False)
    assert "\n" not in str(err.value) and "--rebuild-memory" in str(err.value)
    assert "version 0" in str(err.value) and f"version {want['version']}" in str(err.value)
    assert _files(tmp_path) == before
    assert anyio.run(reopen, True) == want
