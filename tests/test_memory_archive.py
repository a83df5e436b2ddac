"""The embedded store's on-disk archive (real local Qdrant, real sqlite, real run-directory WAL):
frozen procedures leave the live collection and stay readable, derived ops reach the WAL before
the store changes, a crash mid-move settles to the newer write, the server layout still works."""

from __future__ import annotations

import contextlib

import anyio
from qdrant_client import AsyncQdrantClient

from pipeline.config import DiscardConfig
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.schema import MemoryStoreError
from pipeline.memory.store import ProcedureStore
from pipeline.orchestrate.committer import MemoryCommitter, Submission
from pipeline.runlog import OpsWal, read_jsonl
from pipeline.types import MemoryOp, stable_id
from tests.test_memory_store import GOALS, add, cfg, open_store, proc, stat

RULE = DiscardConfig(enabled=True, min_retrieved=1, min_success_ratio=0.5)


def restore(pid: str) -> MemoryOp:
    return MemoryOp(op_id=stable_id("restore", pid), kind="restore", procedure_id=pid)


def many(n: int, tag: str = "t") -> list:
    return [proc(f"put {i} {GOALS[i % 4][0]}", GOALS[i % 4][1], tag=f"{tag}{i}") for i in range(n)]


def _live_ids(store: ProcedureStore) -> set[str]:
    coll = store.client._client.collections[store.collection]  # local Qdrant's own arrays
    return {str(pid) for pid, i in coll.ids.items() if not coll.deleted[i]}


def test_frozen_procedures_leave_the_live_collection_and_stay_readable(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", discard=RULE, capacity=3)
        procs = many(5)
        await store.apply([add(p) for p in procs])  # capacity 3: two are discarded
        loser = (await store.all("active"))[0].id
        await store.apply([stat(loser, "f", ok=False)])  # the rule discards another
        assert await store.count("active") == 2 and await store.count("discarded") == 3
        assert await store.count(None) == 5
        active = {p.id for p in await store.all("active")}
        assert _live_ids(store) == active  # local Qdrant (in RAM) holds the active ones only
        frozen = await store.all("discarded")
        assert {p.id for p in frozen} == {p.id for p in procs} - active
        assert len(await store.all()) == 5
        gone = frozen[0].id
        assert [h.kind for h in await store.history(gone)][-1] == "discard"
        (back,) = await store.get([gone])
        assert back.status == "discarded"
        await store.apply([restore(gone)])
        assert gone in _live_ids(store) and await store.count("discarded") == 2
        await store.close()
        again = await open_store(tmp_path / "q", discard=RULE, capacity=3)  # all on disk
        assert await again.count("discarded") == 2 and gone in {p.id for p in await again.all()}
        assert again.version == store.version and await again.applied_ids()
        await again.close()

    anyio.run(body)


def test_derived_ops_are_logged_before_the_store_changes(tmp_path):
    """Capacity and discard-rule ops are decided while applying; the writer may die right after."""
    seen: list[tuple[set[str], set[str]]] = []  # (WAL op ids, ids discarded) at each store write

    class Watched(ProcedureStore):
        async def upsert(self, points):
            logged = {op.op_id for op in read_jsonl(tmp_path / "memory_ops.jsonl", MemoryOp)}
            frozen = {str(p.id) for p in points if (p.payload or {})["status"] != "active"}
            seen.append((logged, frozen))
            if frozen:
                raise RuntimeError("killed between deciding the discard and logging it")
            await super().upsert(points)

    async def body():
        store = await Watched.open(cfg(discard=RULE, capacity=2), tmp_path / "qdrant",
                                   HashEmbedder(256))  # fmt: skip
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        procs = many(3)
        with contextlib.suppress(RuntimeError):
            await committer.commit(Submission([add(p) for p in procs], "e0"))
        await store.close()
        committer.wal.close()
        return procs

    procs = anyio.run(body)
    logged, frozen = seen[-1]
    assert len(frozen) == 1 and {stable_id("add", p.id) for p in procs} <= logged
    discards = [op for op in read_jsonl(tmp_path / "memory_ops.jsonl", MemoryOp)
                if op.kind == "discard"]  # fmt: skip
    assert [op.procedure_id for op in discards] == list(frozen)  # in the WAL before the write

    async def resume():  # the restarted writer replays the tail: the discard is applied once
        store = await open_store(tmp_path / "qdrant", discard=RULE, capacity=2)
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        out = await committer.replay()
        counts = await store.count("active"), await store.count("discarded")
        await store.close()
        committer.wal.close()
        return out, counts

    out, counts = anyio.run(resume)
    # The adds reached the store before the kill (their points carry their op ids): skipped.
    assert out is not None and out.applied == {"discard": 1} and counts == (2, 1)
    assert [op.kind for op in read_jsonl(tmp_path / "memory_ops.jsonl", MemoryOp)].count(
        "discard"
    ) == 1  # logged once, not again after the fact


def test_a_crash_mid_move_settles_to_the_newer_write(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", discard=RULE)
        a, b = many(2)
        await store.apply([add(a), add(b)])
        await store.apply([stat(a.id, "f", ok=False), stat(b.id, "f", ok=False)])  # both frozen
        await store.apply([restore(b.id)])
        # As if killed mid-move: a's old active point never left Qdrant, b's restore never
        # left the archive.
        assert store.archive is not None
        old = await open_store(tmp_path / "old", discard=RULE)
        await old.apply([add(a)])
        (point,) = await old.client.retrieve(old.collection, [a.id], with_payload=True,
                                             with_vectors=True)  # fmt: skip
        await old.close()
        await store.client.upsert(store.collection, [point])
        (frozen_b,) = [p for p in (await store.dump())["procedures"].values()
                       if p["payload"]["id"] == b.id]  # fmt: skip
        frozen_b = dict(frozen_b["payload"], status="discarded", mem_version=1)
        store.archive.put([(b.id, frozen_b)])
        await store.close()
        again = await open_store(tmp_path / "q", discard=RULE)
        (pa,) = await again.get([a.id])
        (pb,) = await again.get([b.id])
        assert pa.status == "discarded" and pb.status == "active"
        assert _live_ids(again) == {b.id} and await again.count("discarded") == 1
        await again.close()

    anyio.run(body)


def test_the_server_layout_keeps_frozen_points_and_looks_op_ids_up(tmp_path):
    """No archive (as against a server): the collection and batch records hold everything."""

    async def body():
        client = AsyncQdrantClient(path=str(tmp_path / "q"))
        store = ProcedureStore(client, cfg(discard=RULE), HashEmbedder(256))
        await store._prepare()
        a, b = many(2)
        ops = [add(a), add(b), stat(a.id, "f", ok=False)]
        first = await store.apply(ops)
        assert [o.kind for o in first.applied] == ["add", "add", "stat", "discard"]
        assert (await store.apply(ops)).applied == []  # op ids found in the batch records
        assert await store.applied([o.op_id for o in ops]) == {o.op_id for o in ops}
        assert await store.count("discarded") == 1 and a.id in _live_ids(store)
        (pa,) = await store.get([a.id])
        assert pa.status == "discarded"
        await client.close()
        reopened = ProcedureStore(AsyncQdrantClient(path=str(tmp_path / "q")), cfg(), None)
        await reopened._prepare()
        assert reopened.version == store.version == 1
        await reopened.client.close()

    anyio.run(body)


def test_a_read_only_open_of_a_missing_store_is_one_line(tmp_path):
    async def body():
        try:
            await ProcedureStore.open(cfg(), tmp_path / "none", None)
        except MemoryStoreError as err:
            return str(err)
        return ""

    assert "does not exist" in anyio.run(body)
