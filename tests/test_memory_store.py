"""The procedure store on a real local Qdrant: idempotent ops, history, discard, dedup, capacity."""

from __future__ import annotations

import anyio
import pytest

from pipeline.config import DiscardConfig, MemoryConfig
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.schema import MemoryStoreError
from pipeline.memory.store import ProcedureStore
from pipeline.types import MemoryOp, Procedure, ProcedureStats, stable_id

GOALS = [
    ("put a clean mug in cabinet.", "pick_clean_then_place_in_recep"),
    ("heat some egg and put it in countertop.", "pick_heat_then_place_in_recep"),
    ("put two pencil in drawer.", "pick_two_obj_and_place"),
    ("look at book under the desklamp.", "look_at_obj_in_light"),
]


def proc(goal: str, task_type: str, tag: str = "t1", **extra) -> Procedure:
    pid = stable_id("household", "procedure", "script", tag, goal)
    return Procedure(
        id=pid,
        namespace="household",
        task_text=goal,
        task_type=task_type,
        keywords=[w for w in goal.rstrip(".").split() if len(w) > 3][:4],
        script=f"1. do {goal}",
        trajectory=["> go to cabinet 1\nYou arrive at cabinet 1."],
        granularity="proceduralization",
        source_trajectory_ids=[tag],
        created_at=1000.0,
        updated_at=1000.0,
        **extra,
    )


def add(p: Procedure) -> MemoryOp:
    return MemoryOp(op_id=stable_id("add", p.id), kind="add", procedure_id=p.id, procedure=p)


def stat(pid: str, traj: str, ok: bool) -> MemoryOp:
    delta = ProcedureStats(retrieved=1, succeeded=int(ok), failed=int(not ok))
    return MemoryOp(
        op_id=stable_id("stat", pid, traj), kind="stat", procedure_id=pid, stats_delta=delta
    )


def cfg(**kw) -> MemoryConfig:
    return MemoryConfig(embed_dim=256, **kw)


async def open_store(path, **kw) -> ProcedureStore:
    return await ProcedureStore.open(cfg(**kw), path, HashEmbedder(256))


def run(fn):
    return anyio.run(fn)


def test_add_retrieve_and_version_persist(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        procs = [proc(g, t) for g, t in GOALS]
        result = await store.apply([add(p) for p in procs])
        assert [o.procedure_id for o in result.applied] == [p.id for p in procs]
        assert result.version == 1 and store.version == 1
        got = await store.get([procs[1].id])
        assert got[0].task_text == GOALS[1][0] and got[0].stats.retrieved == 0
        assert await store.count() == 4
        await store.close()
        again = await open_store(tmp_path / "q")  # version and applied op ids survive a restart
        assert again.version == 1
        replay = await again.apply([add(p) for p in procs])
        assert replay.applied == [] and len(replay.skipped) == 4 and replay.version == 1
        await again.close()

    run(body)


def test_replaying_ops_leaves_store_identical(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        p = proc(*GOALS[0])
        ops = [add(p), stat(p.id, "a", True), stat(p.id, "b", False)]
        await store.apply(ops)
        first = await store.dump()
        assert (await store.get([p.id]))[0].stats == ProcedureStats(
            retrieved=2, succeeded=1, failed=1
        )
        await store.apply(ops)
        await store.apply(list(reversed(ops)))
        assert await store.dump() == first
        await store.close()

    run(body)


def test_crash_after_points_before_batch_record_is_replay_safe(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        p = proc(*GOALS[0])
        await store.apply([add(p)])
        ops = [stat(p.id, "a", True), stat(p.id, "b", True)]
        await store.apply(ops)
        # Simulate a writer that died before recording the batch: forget the op ids.
        assert store.archive is not None
        marks = ",".join("?" * len(ops))
        store.archive.db.execute(f"DELETE FROM applied WHERE op_id IN ({marks})",
                                 [o.op_id for o in ops])  # fmt: skip
        result = await store.apply(ops)
        assert result.applied == []
        assert (await store.get([p.id]))[0].stats.retrieved == 2
        await store.close()

    run(body)


def test_discard_rule_hides_but_keeps_history(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        p = proc(*GOALS[0])
        await store.apply([add(p)])
        vec = (await store.embedder.embed([p.task_text]))[0][0]
        assert (await store.search(vec, "query", 1))[0][0].id == p.id
        outcomes = [("a", True), ("b", False), ("c", False)]
        result = await store.apply([stat(p.id, t, ok) for t, ok in outcomes])
        kinds = [o.kind for o in result.applied]
        assert kinds == ["stat", "stat", "stat", "discard"]
        assert "discard rule" in result.applied[-1].reason
        assert await store.search(vec, "query", 1) == []
        assert await store.count() == 0 and await store.count(None) == 1
        history = await store.history(p.id)
        assert [h.kind for h in history] == ["add", "discard"]
        assert history[-1].previous is not None and history[-1].previous.status == "active"
        await store.close()

    run(body)


def test_discard_rule_respects_config(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", discard=DiscardConfig(enabled=False))
        p = proc(*GOALS[0])
        await store.apply([add(p), *[stat(p.id, t, False) for t in "abcd"]])
        assert await store.count() == 1
        await store.close()

    run(body)


def test_adjust_bumps_version_and_keeps_previous(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        p = proc(*GOALS[0])
        await store.apply([add(p), stat(p.id, "x", False)])
        revised = p.model_copy(update={"script": "1. clean the mug first"})
        op = MemoryOp(op_id="adj-1", kind="adjust", procedure_id=p.id, procedure=revised)
        result = await store.apply([op])
        assert [o.kind for o in result.applied] == ["adjust"]
        now = (await store.get([p.id]))[0]
        assert now.version == 2 and now.script == "1. clean the mug first"
        assert now.stats.failed == 1  # stats come from the store, not the distiller's copy
        history = await store.history(p.id)
        assert history[-1].kind == "adjust" and history[-1].previous.script == p.script
        await store.close()

    run(body)


def test_dimension_mismatch_fails_clearly(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        await store.close()
        with pytest.raises(MemoryStoreError) as err:
            await ProcedureStore.open(
                MemoryConfig(embed_dim=128), tmp_path / "q", HashEmbedder(128)
            )
        msg = str(err.value)
        assert "\n" not in msg
        assert "memp_default has dim 256 but embedder 'hash' gives 128" in msg
        assert "--set memory.embed_dim=256" in msg

    run(body)


def test_second_client_on_same_path_fails_clearly(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        with pytest.raises(MemoryStoreError, match="in use"):
            await open_store(tmp_path / "q")
        await store.close()

    run(body)


def test_near_duplicates_merge(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        a = proc(*GOALS[0], tag="t1")
        b = proc(*GOALS[0], tag="t2")  # same task text, another trajectory
        c = proc("put a clean mug in cabinet.", "pick_and_place_simple", tag="t3")  # other type
        r1 = await store.apply([add(a)])
        r2 = await store.apply([add(b), add(c)])
        assert r1.merged == {} and r2.merged == {add(b).op_id: a.id}
        assert await store.count() == 2
        merged = (await store.get([a.id]))[0]
        assert merged.source_trajectory_ids == ["t1", "t2"]
        assert await store.get([b.id]) == []
        # Within one batch too.
        d, e = proc(*GOALS[1], tag="t4"), proc(*GOALS[1], tag="t5")
        r3 = await store.apply([add(d), add(e)])
        assert r3.merged == {add(e).op_id: d.id}
        await store.close()

    run(body)


def test_capacity_evicts_lowest_utility(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q", capacity=3)
        procs = [proc(g, t) for g, t in GOALS[:3]]
        await store.apply([add(p) for p in procs])
        await store.apply([stat(procs[0].id, "a", True), stat(procs[1].id, "b", False),
                           stat(procs[2].id, "c", True)])  # fmt: skip
        newcomer = proc(*GOALS[3])
        result = await store.apply([add(newcomer)])
        evicted = [o for o in result.applied if o.kind == "discard"]
        assert [o.procedure_id for o in evicted] == [procs[1].id]
        assert evicted[0].reason == "capacity"
        assert await store.count() == 3
        assert (await store.get([procs[1].id]))[0].status == "discarded"
        await store.close()

    run(body)


def test_ops_on_unknown_procedures_are_noops(tmp_path):
    async def body():
        store = await open_store(tmp_path / "q")
        result = await store.apply([stat("00000000-0000-0000-0000-000000000001", "a", True)])
        assert result.applied == [] and result.version == 0
        await store.close()

    run(body)
