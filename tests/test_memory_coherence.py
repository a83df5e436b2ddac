"""Adjustment keeps procedures coherent: same-type revisions, credit, one adjust per commit."""

from __future__ import annotations

import anyio

from pipeline.config import DiscardConfig
from pipeline.memory.stack import MemoryStack
from pipeline.memory.store import ProcedureStore
from pipeline.memory.update import add_op
from pipeline.types import MemoryOp, stable_id
from tests.memory_loop import MemoryLoop
from tests.test_memory_policies import LANG, cfg, sim_llm, stack, task, traj

COOL = ("cool some potato and put it in microwave.", "pick_cool_then_place_in_recep")
HEAT = ("heat some egg and put it in countertop.", "pick_heat_then_place_in_recep")
COOL2 = ("cool some apple and put it in fridge.", "pick_cool_then_place_in_recep")


async def with_cool(tmp_path, **kw) -> tuple[MemoryLoop, str]:
    memory = await MemoryLoop.open(cfg(update="adjustment", **kw), tmp_path, sim_llm(), LANG)
    await memory.observe(traj(*COOL, 1))
    (proc,) = await memory.store.all("active")
    return memory, proc.id


def test_failure_of_another_type_derives_a_procedure_of_its_own_type(tmp_path):
    async def body():
        memory, cool_id = await with_cool(tmp_path)
        (before,) = await memory.store.get([cool_id])
        applied = await memory.observe(traj(*HEAT, 2, success=False, memory_ids=[cool_id]))
        assert applied.applied == {"add": 1, "stat": 1}
        (after,) = await memory.store.get([cool_id])
        # The cool procedure took the blame (stat) but its content was not revised by a heat run.
        assert after.model_copy(update={"stats": before.stats}) == before
        assert after.stats.failed == 1
        derived = next(p for p in await memory.store.all("active") if p.id != cool_id)
        assert derived.task_type == HEAT[1] and derived.task_text == HEAT[0]
        assert "egg" in derived.keywords and derived.trajectory == []
        assert derived.granularity == "script" and derived.script
        assert derived.source_trajectory_ids == ["traj-1", "traj-2"]
        # Retrievable for heat tasks by its own (heat) text.
        got = await memory.retrieve(task("heat some egg and put it in countertop.", HEAT[1], 3))
        assert got.procedure_ids[0] == derived.id
        await memory.close()

    anyio.run(body)


def test_same_type_failure_revises_and_keeps_text_and_trajectory(tmp_path):
    async def body():
        memory, cool_id = await with_cool(tmp_path)
        (before,) = await memory.store.get([cool_id])
        applied = await memory.observe(traj(*COOL2, 2, success=False, memory_ids=[cool_id]))
        assert applied.applied == {"adjust": 1, "stat": 1}
        (after,) = await memory.store.get([cool_id])
        assert after.version == 2 and after.task_type == before.task_type
        assert (after.task_text, after.keywords, after.trajectory) == (
            before.task_text, before.keywords, before.trajectory,
        )  # fmt: skip
        # The query vector still answers to its task text: a cool task retrieves it first.
        got = await memory.retrieve(task(COOL[0], COOL[1], 3))
        assert got.procedure_ids == [cool_id]
        await memory.close()

    anyio.run(body)


def test_adjust_similarity_lets_close_task_texts_of_another_type_revise():
    builder = stack(build="script").builder()
    strict = stack(build="script").updater()
    loose = stack(build="script", adjust_similarity=0.5).updater()
    proc_cool = anyio.run(builder.build, traj(*COOL, 1), "h")[0]
    near = traj("cool some potato and put it in microwave.", "other_type", 2, success=False)
    far = traj(*HEAT, 3, success=False)
    assert not strict.coherent(proc_cool, near) and not strict.coherent(proc_cool, far)
    assert loose.coherent(proc_cool, near) and not loose.coherent(proc_cool, far)


def test_credit_top1_blames_only_the_best_ranked_procedure():
    failed = traj(*COOL, 4, success=False, memory_ids=["p1", "p2", "p1"])
    top1 = MemoryStack(cfg(credit="top1"), language=LANG).decider()
    every = MemoryStack(cfg(credit="all"), language=LANG).decider()
    one, both = top1.decide(failed), every.decide(failed)
    assert [o.procedure_id for o in one.stat_ops] == ["p1"] and one.adjust_ids == ["p1"]
    assert [o.procedure_id for o in both.stat_ops] == ["p1", "p2"]
    assert both.adjust_ids == ["p1", "p2"]


def test_one_adjust_per_procedure_per_commit(tmp_path):
    async def body():
        memory, cool_id = await with_cool(tmp_path)
        failures = [traj(*COOL2, n, success=False, memory_ids=[cool_id]) for n in (2, 3)]
        applied = await memory.observe(*failures)  # both land in one commit
        assert applied.applied["adjust"] == 1
        (after,) = await memory.store.get([cool_id])
        assert after.version == 2 and after.stats.failed == 2
        assert [h.kind for h in await memory.store.history(cool_id)] == ["add", "adjust"]
        await memory.close()

    anyio.run(body)


def test_no_op_changes_a_discarded_procedure(tmp_path):
    async def body():
        rule = DiscardConfig(enabled=True, min_retrieved=1, min_success_ratio=0.5)
        store = await ProcedureStore.open(cfg(discard=rule), tmp_path / "q", embedder_for())
        builder = stack(build="script").builder()
        t = traj(*COOL, 1)
        proc, _ = await builder.build(t, "household")
        await store.apply([add_op(proc, t, "test")])
        await store.apply([stat_op(proc.id, "f1", ok=False)])  # the discard rule fires
        (gone,) = await store.get([proc.id])
        assert gone.status == "discarded" and gone.stats.retrieved == 1
        result = await store.apply([stat_op(proc.id, "f3", ok=True), add_op(proc, t, "again")])
        assert result.applied == []
        (still,) = await store.get([proc.id])
        assert still == gone
        await store.close()

    anyio.run(body)


def embedder_for():
    from pipeline.memory.embed import HashEmbedder

    return HashEmbedder(256)


def stat_op(pid: str, tid: str, ok: bool) -> MemoryOp:
    from pipeline.types import ProcedureStats

    delta = ProcedureStats(retrieved=1, succeeded=int(ok), failed=int(not ok))
    return MemoryOp(op_id=stable_id("stat", pid, tid), kind="stat", procedure_id=pid,
                    stats_delta=delta)  # fmt: skip


def test_viewer_replay_follows_the_same_rules() -> None:
    from pipeline.view.lives import MemoryReplay

    builder = stack(build="script").builder()
    t = traj(*COOL, 1)
    proc, _ = anyio.run(builder.build, t, "household")
    revise = [
        MemoryOp(
            op_id=f"adj-{n}",
            kind="adjust",
            procedure_id=proc.id,
            procedure=proc.model_copy(update={"script": f"1. step {n}"}),
        )
        for n in (1, 2, 3)
    ]
    replay = MemoryReplay()
    replay.begin_batch()
    for op in (add_op(proc, t, "x"), revise[0], revise[1]):  # one commit: the second is skipped
        replay.feed(op)
    assert replay.lives[proc.id].current.script == "1. step 1"
    replay.begin_batch()
    replay.feed(revise[2])
    discard = MemoryOp(op_id="d", kind="discard", procedure_id=proc.id)
    replay.feed(discard)
    replay.feed(stat_op(proc.id, "late", ok=True))
    life = replay.lives[proc.id].current
    assert (life.script, life.version, life.status) == ("1. step 3", 3, "discarded")
    assert life.stats.retrieved == 0  # the stat after the discard changed nothing
