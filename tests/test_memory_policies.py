"""Build, retrieve and update policies against a real local Qdrant and the sim model via litellm."""

from __future__ import annotations

import anyio
import pytest

from pipeline.config import MemoryConfig, ModelConfig, SimConfig
from pipeline.envs.base import EnvLanguage
from pipeline.envs.household.language import HouseholdLanguage
from pipeline.llm import LLMClient
from pipeline.memory.build import parse_keywords
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.stack import MemoryStack
from pipeline.memory.store import ProcedureStore
from pipeline.memory.update import add_op
from pipeline.types import Step, Task, Trajectory
from tests.memory_loop import MemoryLoop

CLEAN = [
    ("go to countertop 1", "You arrive at countertop 1. On the countertop 1, you see a mug 2."),
    ("think: I need a mug", "OK."),
    ("take mug 2 from countertop 1", "You pick up the mug 2 from the countertop 1."),
    ("open mug 2", "Nothing happens."),
    ("go to sinkbasin 1", "You arrive at sinkbasin 1. On the sinkbasin 1, you see nothing."),
    ("clean mug 2 with sinkbasin 1", "You clean the mug 2 using the sinkbasin 1."),
    ("go to cabinet 1", "You arrive at cabinet 1. The cabinet 1 is open."),
    ("move mug 2 to cabinet 1", "You move the mug 2 to the cabinet 1."),
]
TASKS = [
    ("put a clean mug in cabinet.", "pick_clean_then_place_in_recep"),
    ("heat some egg and put it in countertop.", "pick_heat_then_place_in_recep"),
    ("put two pencil in drawer.", "pick_two_obj_and_place"),
    ("look at book under the desklamp.", "look_at_obj_in_light"),
    ("cool some apple and put it in fridge.", "pick_cool_then_place_in_recep"),
]


def task(goal: str, task_type: str, n: int = 0) -> Task:
    return Task(id=f"household/test/{n:04d}", env="household", split="test",
                task_type=task_type, goal=goal, seed=n)  # fmt: skip


def traj(goal: str, task_type: str, n: int, success: bool = True, memory_ids=()) -> Trajectory:
    steps = [Step(action=a, observation=o) for a, o in CLEAN]
    steps.append(Step(action="", observation="", valid=False, raw="garbage"))
    return Trajectory(
        id=f"traj-{n}",
        task=task(goal, task_type, n),
        steps=steps,
        success=success,
        model="sim/household",
        memory_ids=list(memory_ids),
        started_at=100.0 + n,
    )


LANG = HouseholdLanguage()  # the household sim tells memory roles apart by this wording


def sim_llm() -> LLMClient:
    return LLMClient(ModelConfig(model="sim/household"), SimConfig(), seed=0)


def cfg(**kw) -> MemoryConfig:
    return MemoryConfig(enabled=True, embed_dim=256, **kw)


def stack(memory: MemoryConfig | None = None, language: EnvLanguage = LANG, **kw) -> MemoryStack:
    """The memory pieces of `memory` (or cfg(**kw)) on the household sim model."""
    return MemoryStack(memory or cfg(**kw), language=language, llm=sim_llm())


def test_condense_drops_noise():
    pairs = LANG.condense(traj(*TASKS[0], 0))
    actions = [a for a, _ in pairs]
    assert "think: I need a mug" not in actions and "open mug 2" not in actions
    assert actions[0] == "go to countertop 1" and actions[-1] == "move mug 2 to cabinet 1"
    assert len(pairs) == 6
    # The generic rule keeps every valid step: "Nothing happens." is household's own word.
    assert len(EnvLanguage().condense(traj(*TASKS[0], 0))) == len(CLEAN)


def test_parse_keywords():
    assert parse_keywords("Clean, mug, cabinet.", "x") == ["clean", "mug", "cabinet"]
    goal = "put a clean mug in cabinet."
    assert parse_keywords("", goal, LANG.stop_words) == ["clean", "mug", "cabinet"]
    assert parse_keywords("", goal) == ["put", "clean", "mug", "cabinet"]


@pytest.mark.parametrize("policy", ["trajectory", "script", "proceduralization"])
def test_build_policies(policy):
    async def body():
        builder = stack(build=policy).builder()
        proc, usage = await builder.build(traj(*TASKS[0], 0), "household")
        assert proc.granularity == policy and proc.task_text == TASKS[0][0]
        assert "mug" in proc.keywords and usage.calls >= 1
        assert bool(proc.trajectory) == (policy != "script")
        assert bool(proc.script) == (policy != "trajectory")
        if proc.trajectory:
            assert proc.trajectory[0] == "> go to countertop 1\n" + CLEAN[0][1]
            assert not any("Nothing happens." in line for line in proc.trajectory)
        if proc.script:
            assert "sinkbasin" in proc.script and proc.build_model == "sim/household"
        again, _ = await builder.build(traj(*TASKS[0], 0), "household")
        assert again.id == proc.id  # deterministic point id

    anyio.run(body)


async def filled(tmp_path, **kw) -> tuple[ProcedureStore, dict[str, str]]:
    store = await ProcedureStore.open(cfg(**kw), tmp_path / "q", HashEmbedder(256))
    builder = stack(build="proceduralization").builder()
    ids = {}
    for n, (goal, tt) in enumerate(TASKS):
        t = traj(goal, tt, n)
        proc, _ = await builder.build(t, "household")
        ids[tt] = proc.id
        await store.apply([add_op(proc, t, "test")])
    return store, ids


@pytest.mark.parametrize("policy", ["query", "avefact"])
def test_similarity_retrieval_ranks_relevant_first(tmp_path, policy):
    async def body():
        store, ids = await filled(tmp_path, retrieve=policy, top_k=3)
        retriever = stack(store.cfg).retriever(store)
        probes = [
            ("put a clean cup in cabinet.", "pick_clean_then_place_in_recep"),
            ("heat some potato and put it in countertop.", "pick_heat_then_place_in_recep"),
            ("put two pen in drawer.", "pick_two_obj_and_place"),
            ("look at cd under the desklamp.", "look_at_obj_in_light"),
        ]
        for n, (goal, tt) in enumerate(probes):
            got = await retriever.retrieve(task(goal, tt, 100 + n))
            assert got.procedure_ids[0] == ids[tt], (policy, goal, got.scores)
            assert got.scores == sorted(got.scores, reverse=True) and len(got.procedures) == 3
            assert got.latency_s > 0 and got.text.startswith("Procedure 1 (from the task:")
            assert 0 < got.scores[0] <= 1.0 + 1e-6
        if policy == "avefact":
            assert got.keywords and got.usage.calls >= 1
        await store.close()

    anyio.run(body)


def test_score_threshold_and_granularity_rendering(tmp_path):
    async def body():
        store, ids = await filled(tmp_path, top_k=5, score_threshold=0.5)
        retriever = stack(store.cfg).retriever(store, granularity="script")
        got = await retriever.retrieve(task("put a clean mug in cabinet.", "x", 9))
        assert got.procedure_ids == [ids["pick_clean_then_place_in_recep"]]
        assert "Script:" in got.text and "Trajectory:" not in got.text
        none = await retriever.retrieve(task("zzz qqq", "x", 10))
        assert none.procedures == [] and none.text is None
        await store.close()

    anyio.run(body)


def test_random_retrieval_is_seeded(tmp_path):
    async def body():
        store, _ = await filled(tmp_path, retrieve="random", top_k=2)
        a = MemoryStack(store.cfg, seed=1).retriever(store)
        b = MemoryStack(store.cfg, seed=2).retriever(store)
        tasks = [task("put a clean mug in cabinet.", "x", n) for n in range(8)]
        picks_a = [(await a.retrieve(t)).procedure_ids for t in tasks]
        picks_a2 = [(await a.retrieve(t)).procedure_ids for t in tasks]
        picks_b = [(await b.retrieve(t)).procedure_ids for t in tasks]
        assert picks_a == picks_a2 and picks_a != picks_b
        assert len({tuple(p) for p in picks_a}) > 1  # not one fixed answer for every task
        await store.close()

    anyio.run(body)


def test_decide_per_policy():
    """The decision is pure: no model, no store (the validator's process holds neither)."""
    ok, bad = traj(*TASKS[0], 1), traj(*TASKS[0], 2, success=False)
    used = traj(*TASKS[0], 3, success=False, memory_ids=["p1"])
    err = traj(*TASKS[0], 4, memory_ids=["p1"]).model_copy(update={"status": "error"})
    table = {
        "vanilla": ["build", "build", "build", "drop"],
        "validation": ["build", "drop", "drop", "drop"],
        "adjustment": ["build", "drop", "adjust", "drop"],
    }
    for name, expected in table.items():
        policy = MemoryStack(cfg(update=name), language=LANG).decider()
        decisions = [policy.decide(t) for t in (ok, bad, used, err)]
        assert [d.action for d in decisions] == expected, name
        stats = decisions[2].stat_ops
        assert [(o.kind, o.procedure_id, o.stats_delta.failed) for o in stats] == [
            ("stat", "p1", 1)
        ]
        assert decisions[3].stat_ops == []  # infra errors say nothing about a procedure
    assert policy.decide(used).adjust_ids == ["p1"]


class ScoreThreshold(EnvLanguage):
    """Memory success from a per-episode score, as TravelPlanner's golden-trajectory rule."""

    def memory_success(self, trajectory: Trajectory) -> bool:
        return trajectory.scores.get("pass_rate", 0.0) > 0.8


def test_decide_uses_the_env_success_signal():
    language = ScoreThreshold()
    policy = MemoryStack(cfg(update="validation"), language=language).decider()
    failed_but_good = traj(*TASKS[0], 1, success=False, memory_ids=["p1"])
    failed_but_good.scores = {"pass_rate": 0.9}
    won_but_poor = traj(*TASKS[0], 2, memory_ids=["p1"])
    won_but_poor.scores = {"pass_rate": 0.5}
    good, poor = policy.decide(failed_but_good), policy.decide(won_but_poor)
    assert (good.action, poor.action) == ("build", "drop")
    assert good.stat_ops[0].stats_delta.succeeded == 1
    assert poor.stat_ops[0].stats_delta.failed == 1


def test_memory_loop_adjustment_round(tmp_path):
    async def body():
        memory = await MemoryLoop.open(cfg(update="adjustment"), tmp_path, sim_llm(), LANG)
        applied = await memory.observe(traj(*TASKS[0], 1))
        assert applied.applied == {"add": 1}
        got = await memory.retrieve(task("put a clean mug in cabinet.", TASKS[0][1], 2))
        (pid,) = got.procedure_ids
        original = got.procedures[0]
        fail = traj(*TASKS[0], 2, success=False, memory_ids=[pid])
        applied = await memory.observe(fail)
        assert applied.applied == {"adjust": 1, "stat": 1}
        (now,) = await memory.store.get([pid])
        assert now.version == 2 and now.stats.failed == 1 and "traj-2" in now.source_trajectory_ids
        history = await memory.store.history(pid)
        assert [h.kind for h in history] == ["add", "adjust"]
        previous = history[-1].previous
        assert previous.stats.failed == 1  # the stat op of the same batch came first
        assert previous.model_copy(update={"stats": original.stats}) == original
        totals = memory.committer.totals()
        assert (applied.size, totals["add"], totals["adjust"]) == (1, 1, 1)
        assert memory.updater.usage.calls >= 3  # build, keywords, adjust
        await memory.close()

    anyio.run(body)


def test_one_commit_applies_a_batch_of_trajectories(tmp_path):
    async def body():
        memory = await MemoryLoop.open(
            cfg(update="vanilla", build="trajectory"), tmp_path, sim_llm(), LANG
        )
        outcome = await memory.observe(*(traj(g, tt, n) for n, (g, tt) in enumerate(TASKS[:3])))
        assert outcome.applied == {"add": 3}
        assert memory.store.version == 1 and outcome.size == 3
        await memory.close()

    anyio.run(body)
