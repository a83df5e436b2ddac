"""The embedded store's numpy index: ranking parity with local Qdrant, and a consistent mirror."""

from __future__ import annotations

import random

import anyio
import numpy as np

from pipeline.config import MemoryConfig
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.index import ActiveIndex, load_index
from pipeline.memory.schema import FACTS_VECTOR, QUERY_VECTOR
from pipeline.memory.store import ProcedureStore, status_filter
from pipeline.perf.memory import synthetic
from pipeline.types import MemoryOp, ProcedureStats, stable_id

TOL = 1e-6


def add(p) -> MemoryOp:
    return MemoryOp(op_id=stable_id("add", p.id), kind="add", procedure_id=p.id, procedure=p)


def discard(pid: str) -> MemoryOp:
    return MemoryOp(op_id=stable_id("discard", pid), kind="discard", procedure_id=pid)


def adjust(p, keywords: list[str]) -> MemoryOp:
    new = p.model_copy(update={"keywords": keywords, "script": "1. revised"})
    return MemoryOp(op_id=stable_id("adj", p.id, *keywords), kind="adjust", procedure_id=p.id,
                    procedure=new)  # fmt: skip


def stat(pid: str, n: int, ok: bool) -> MemoryOp:
    delta = ProcedureStats(retrieved=1, succeeded=int(ok), failed=int(not ok))
    return MemoryOp(op_id=stable_id("stat", pid, str(n)), kind="stat", procedure_id=pid,
                    stats_delta=delta)  # fmt: skip


async def open_store(path, **kw) -> ProcedureStore:
    cfg = MemoryConfig(embed_dim=128, **kw)
    return await ProcedureStore.open(cfg, path, HashEmbedder(128))


def snapshot(index: ActiveIndex) -> dict:
    """What the index says, independent of slot layout."""
    live = {}
    names = {code: name for name, code in index.type_code.items()}
    for pid, slot in index.slot_of.items():
        start, length = index.f_start[slot], index.f_len[slot]
        live[pid] = (
            index.q[slot].copy() if index.has_q[slot] else None,
            index.u[index.f[start : start + length]] if index.has_f[slot] else None,
            names[int(index.types[slot])],
        )
    return {"status": dict(index.status), "rank": dict(index.rank), "live": live}


def assert_same(a: dict, b: dict) -> None:
    assert a["status"] == b["status"] and a["rank"] == b["rank"]
    assert a["live"].keys() == b["live"].keys()
    for pid, (q1, f1, t1) in a["live"].items():
        q2, f2, t2 = b["live"][pid]
        assert t1 == t2
        for x, y in ((q1, q2), (f1, f2)):
            assert (x is None) == (y is None)
            if x is not None:
                assert x.shape == y.shape and np.allclose(x, y, atol=TOL)


async def assert_mirrors_qdrant(store: ProcedureStore) -> None:
    live = snapshot(store.index)
    await store._build_index()  # a fresh index from the stored points, as at open
    assert_same(live, snapshot(store.index))
    # The fast path reads local-mode internals; the public scroll must give the same index.
    assert_same(live, snapshot(await load_index(store.client, store.collection, 128, fast=False)))
    assert store.index.count("active") == (await store.client.count(
        store.collection, count_filter=status_filter("active"))).count  # fmt: skip
    assert store.index.count(None) == (await store.client.count(store.collection)).count


async def fill(store: ProcedureStore, n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    procs = [synthetic(rng, i, store.namespace) for i in range(n)]
    for start in range(0, n, 100):
        await store.apply([add(p) for p in procs[start : start + 100]])
    return procs


def test_index_mirrors_store_through_ops_and_reopen(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", capacity=150)
        procs = await fill(store, 120)
        await assert_mirrors_qdrant(store)
        ops = [discard(p.id) for p in procs[:10]]
        ops += [adjust(procs[20], ["alpha", "beta", "gamma", "delta"]), adjust(procs[21], [])]
        ops += [stat(p.id, i, i % 3 == 0) for i, p in enumerate(procs[30:60])]
        await store.apply(ops)
        assert await store.count() == 110 and await store.count("discarded") == 10
        await assert_mirrors_qdrant(store)
        more = [synthetic(random.Random(1), 1000 + i, store.namespace) for i in range(60)]
        result = await store.apply([add(p) for p in more])  # crosses the capacity: evictions
        assert sum(o.reason == "capacity" for o in result.applied) == 20
        assert await store.count() == 150
        await assert_mirrors_qdrant(store)
        assert await store.active_ids() == sorted(p.id for p in await store.all("active"))
        before = snapshot(store.index)
        await store.close()
        again = await open_store(tmp_path / "q", capacity=150)
        assert_same(before, snapshot(again.index))
        await again.close()

    anyio.run(body)


def test_compaction_keeps_index_consistent():
    index = ActiveIndex(4)
    rng = np.random.default_rng(0)

    def point(i: int, status: str = "active", k: int = 2):
        vecs = {
            QUERY_VECTOR: rng.normal(size=4).tolist(),
            FACTS_VECTOR: rng.normal(size=(k, 4)).tolist(),
        }
        return (f"id-{i:05d}", {"status": status, "task_type": f"t{i % 3}"}, vecs, True)

    index.apply(point(i) for i in range(3000))
    index.apply(point(i, k=3) for i in range(0, 3000, 2))  # new facts length: new slots
    index.apply(point(i, "discarded") for i in range(0, 3000, 3))
    assert index.dead < 1024 or index.dead <= index.n - index.dead  # compacted on the way
    assert index.count("active") == 2000 and len(index.slot_of) == 2000
    for pid, slot in index.slot_of.items():
        assert index.ids[slot] == pid and index.alive[slot]
        assert index.f_len[slot] == (3 if int(pid[3:]) % 2 == 0 else 2)
    starts = index.f_start[: index.n]
    assert (np.diff(starts) == index.f_len[: index.n - 1]).all()  # contiguous segments


async def qdrant_hits(store, vector, using, limit, threshold, task_type) -> dict[str, float]:
    response = await store.client.query_points(
        store.collection, query=np.asarray(vector).tolist(), using=using, limit=limit,
        query_filter=status_filter("active", task_type), score_threshold=threshold,
    )  # fmt: skip
    return {str(p.id): p.score for p in response.points}


def assert_parity(mine: list[tuple[str, float]], theirs: dict[str, float], limit: int) -> None:
    """Same scores in the same order; ids may differ only inside a tie."""
    ranked = sorted(theirs.values(), reverse=True)[:limit]
    assert len(mine) == len(ranked)
    for (pid, score), expected in zip(mine, ranked, strict=True):
        assert abs(score - expected) < TOL
        assert pid in theirs and abs(theirs[pid] - score) < TOL


def test_ranking_parity_with_qdrant(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        procs = await fill(store, 400, seed=7)
        await store.apply([discard(p.id) for p in procs[::7]])
        rng = random.Random(3)
        probes = [synthetic(rng, 5000 + i, store.namespace) for i in range(40)]
        types = [None, "pick_and_place_simple", "look_at_obj_in_light", "no-such-type"]
        embed = store.embedder.encode
        for i, probe in enumerate(probes):
            task_type, limit = types[i % 4], 1 + i % 5
            threshold = [None, 0.3, 0.6][i % 3]
            qv = embed([probe.task_text])[0]
            fv = embed(probe.keywords)
            for vec, using, thr in ((qv, QUERY_VECTOR, threshold),
                                    (fv, FACTS_VECTOR, None if threshold is None
                                     else threshold * len(fv))):  # fmt: skip
                mine = store.index.search(vec, using, limit, thr, task_type)
                theirs = await qdrant_hits(store, vec, using, limit + 50, thr, task_type)
                assert_parity(mine, theirs, limit)
                hits = await store.search(vec, using, limit, thr, task_type)
                assert [(p.id, s) for p, s in hits] == mine
        many = np.stack([embed([p.task_text])[0] for p in probes])
        batch = store.index.search_many(many, 3, 0.5, [p.task_type for p in probes])
        for probe, vec, hits in zip(probes, many, batch, strict=True):
            assert hits == store.index.search(vec, QUERY_VECTOR, 3, 0.5, probe.task_type)
        await store.close()

    anyio.run(body)


def test_exact_ties_rank_by_id(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        # Same template and objects (same seed), so the same keywords; the task texts differ.
        twins = [synthetic(random.Random(0), i, store.namespace) for i in range(6)]
        base = twins[0]
        assert all(p.keywords == base.keywords for p in twins)
        await store.apply([add(p) for p in twins])
        vec = store.embedder.encode(base.keywords)
        hits = store.index.search(vec, FACTS_VECTOR, 6)
        assert [pid for pid, _ in hits] == sorted(p.id for p in twins)
        assert len({score for _, score in hits}) == 1
        theirs = await qdrant_hits(store, vec, FACTS_VECTOR, 6, None, None)
        assert_parity(hits, theirs, 6)
        await store.close()

    anyio.run(body)


def test_server_code_path_agrees_with_index(tmp_path):
    """Without the index the store asks Qdrant itself (the server path); answers must agree."""

    async def body():
        store = await open_store(tmp_path / "q")
        procs = await fill(store, 200, seed=5)
        await store.apply([discard(p.id) for p in procs[::5]])
        await store.apply([stat(p.id, i, i % 2 == 0) for i, p in enumerate(procs[1:40])])
        rng = random.Random(9)
        probes = [synthetic(rng, 7000 + i, store.namespace) for i in range(12)]
        vecs = store.embedder.encode([p.task_text for p in probes])
        types = [p.task_type for p in probes]
        index, answers = store.index, []
        for use_index in (True, False):
            store.index = index if use_index else None
            store._counts, store._active_ids = {}, None
            answers.append({
                "count": [await store.count(s) for s in ("active", "discarded", None)],
                "ids": await store.active_ids(),
                "rank": await store.capacity_ranking(),
                "near": await store.nearest(vecs, 3, 0.2, types),
                "search": [[(p.id, s) for p, s in await store.search(v, QUERY_VECTOR, 3)]
                           for v in vecs],
            })  # fmt: skip
        mine, theirs = answers
        assert mine["count"] == theirs["count"] == [160, 40, 200]
        assert mine["ids"] == theirs["ids"] and mine["rank"] == theirs["rank"]
        for key in ("near", "search"):
            assert any(mine[key])
            for a, b in zip(mine[key], theirs[key], strict=True):
                assert len(a) == len(b)
                assert_parity(a, dict(b), len(a))
        store.index = index
        await store.close()

    anyio.run(body)
