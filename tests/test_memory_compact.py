"""Dropping deleted points from local Qdrant's RAM arrays in place (real qdrant-client, local
mode): the collection answers exactly as before and as a fresh load from its files does."""

from __future__ import annotations

import anyio
import numpy as np
from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm

from pipeline.memory.compact import compact_local
from pipeline.memory.schema import FACTS_VECTOR, QUERY_VECTOR
from pipeline.memory.store import procedure_vectors
from tests.test_memory_archive import _live_ids, many, restore
from tests.test_memory_store import add, open_store

DIM = 8


async def _fill(client: AsyncQdrantClient, n: int) -> None:
    await client.create_collection("c", vectors_config=procedure_vectors(DIM))
    rng = np.random.default_rng(0)
    points = [
        qm.PointStruct(
            id=i,
            vector={
                QUERY_VECTOR: rng.normal(size=DIM).tolist(),
                **({FACTS_VECTOR: rng.normal(size=(1 + i % 3, DIM)).tolist()} if i % 4 else {}),
            },
            payload={"n": i, "kind": "even" if i % 2 == 0 else "odd"},
        )
        for i in range(n)
    ]
    await client.upsert("c", points)


async def _answers(client: AsyncQdrantClient, vectors: bool = True) -> list:
    q = np.random.default_rng(1).normal(size=(3, DIM))
    out: list = [(await client.count("c")).count]
    for using, query in ((QUERY_VECTOR, q[0].tolist()), (FACTS_VECTOR, q.tolist())):
        hits = await client.query_points("c", query=query, using=using, limit=50)
        out.append([(p.id, round(p.score, 6)) for p in hits.points])
    odd = qm.Filter(must=[qm.FieldCondition(key="kind", match=qm.MatchValue(value="odd"))])
    points, _ = await client.scroll("c", scroll_filter=odd, limit=100, with_vectors=vectors)
    out.append([(p.id, p.payload, p.vector) for p in points])
    return out


def test_compaction_keeps_every_answer_and_drops_the_deleted_rows(tmp_path):
    async def body():
        client = AsyncQdrantClient(path=str(tmp_path / "q"))
        await _fill(client, 40)
        await client.delete("c", points_selector=list(range(0, 40, 3)))
        before = await _answers(client)
        coll = client._client.collections["c"]
        assert len(coll.ids) == 40  # delete only marks
        assert compact_local(client, "c")
        assert len(coll.ids) == len(coll.payload) == 26 and not coll.deleted.any()
        assert await _answers(client) == before
        # Writes after a compaction: a new point, an update, and a deleted id coming back.
        # (Distinct vectors: local Qdrant orders equal scores by its internal row order.)
        more = [qm.PointStruct(id=i, vector={QUERY_VECTOR: [1.0 + i] + [1.0] * (DIM - 1)},
                payload={"n": i, "kind": "odd"}) for i in (3, 5, 41)]  # fmt: skip
        await client.upsert("c", more)
        await client.delete("c", points_selector=[7])
        after = await _answers(client, vectors=False)
        await client.close()
        # A load from the files (vectors aside: RAM holds them normalised, the files as given).
        fresh = AsyncQdrantClient(path=str(tmp_path / "q"))
        assert await _answers(fresh, vectors=False) == after
        await fresh.close()

    anyio.run(body)


def test_compaction_refuses_a_layout_it_does_not_know():
    assert compact_local(object(), "c") is False


def test_the_store_compacts_in_place_after_many_deletes_and_loses_nothing(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", capacity=5)
        client = store.client
        procs = many(300)
        for i in range(0, 300, 30):
            await store.apply([add(p) for p in procs[i : i + 30]])
        assert store.client is client  # in place: no reopen
        coll = store.client._client.collections[store.collection]
        assert len(coll.ids) < 300  # deleted slots left RAM
        assert await store.count("active") == 5 and await store.count("discarded") == 295
        assert _live_ids(store) == {p.id for p in await store.all("active")}
        back = procs[0].id
        store.cfg = store.cfg.model_copy(update={"capacity": None})  # or it evicts `back` again
        await store.apply([restore(back)])
        assert back in _live_ids(store) and await store.count("active") == 6
        query = (await store.embedder.embed([procs[0].task_text]))[0][0]
        hits = await store.search(query, QUERY_VECTOR, 3)
        active = await store.all("active")
        await store.close()
        again = await open_store(tmp_path / "q", capacity=5)
        assert await again.search(query, QUERY_VECTOR, 3) == hits
        assert {p.id for p in await again.all("active")} == {p.id for p in active}
        await again.close()

    anyio.run(body)
