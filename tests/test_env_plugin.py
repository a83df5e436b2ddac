"""The env plug-in contract in one process: a toy env from tests/, tool calls, scores, memory."""

from __future__ import annotations

import json

import anyio
import pytest

from pipeline.agent import run_episode
from pipeline.config import AgentConfig, EnvConfig, MemoryConfig, SimConfig
from pipeline.envs import get_suite
from pipeline.llm import LLMClient
from pipeline.orchestrate.committer import Submission
from tests.memory_loop import MemoryLoop
from tests.openai_server import OpenAIServer
from tests.toy_env import OPENED, SHUT, ToyLanguage, code_of

TOY = EnvConfig(name="tests.toy_env:ToySuite", split="train", step_limit=10)


def toy_llm(text_every: int = 3) -> tuple[AgentConfig, LLMClient]:
    agent = AgentConfig(model="sim/toy", one_shot=False)
    sim = SimConfig.model_validate({"toy": {"text_every": text_every}})
    return agent, LLMClient(agent, sim, seed=0)


def test_tool_calls_and_text_answers_both_drive_the_env() -> None:
    suite = get_suite(TOY)
    task = next(iter(suite.tasks("train")))
    agent, llm = toy_llm(text_every=2)
    traj = anyio.run(lambda: run_episode(task, suite, llm, agent, TOY))
    assert traj.status == "ok", traj.error
    assert traj.success and traj.steps[-1].observation == OPENED
    assert traj.steps[-1].action == f"try {code_of(task.spec['colour'], 10)}"
    assert traj.n_steps >= 3  # this task's seeded search order needs a few tries
    # sim.toy.text_every=2: every second answer is text, the others tool calls
    assert [s.tool_call for s in traj.steps] == [i % 2 == 0 for i in range(traj.n_steps)]
    assert all(s.valid for s in traj.steps)
    assert traj.scores["tries"] == traj.n_steps
    assert traj.scores["efficiency"] == pytest.approx(1 - (traj.n_steps - 1) / 10)


def test_tool_messages_reach_the_server_in_openai_format(monkeypatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", "sk-x")
    suite = get_suite(TOY)
    task = next(iter(suite.tasks("train")))
    code = code_of(task.spec["colour"], 10)
    wrong = (code + 1) % 10
    answers = iter(
        [
            {"name": "try_code", "raw": "{not json"},  # malformed arguments: an invalid step
            {"name": "try_code", "arguments": {"digit": wrong}},
            f"Think: the other one.\nAction: try {code}",  # a text answer still works
        ]
    )
    with OpenAIServer(lambda msgs: next(answers)) as server:
        agent = AgentConfig(model="openai/test", api_base=server.base_url,
                            api_key_env="MEMP_TEST_KEY", one_shot=False)  # fmt: skip
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent), agent, TOY))
        requests = server.requests
    assert traj.success and traj.n_steps == 3
    first, second, third = traj.steps
    assert not first.valid and first.tool_call and first.observation == ToyLanguage.format_hint
    assert first.raw is not None and "{not json" in first.raw
    assert (second.action, second.observation, second.tool_call) == (f"try {wrong}", SHUT, True)
    assert (third.action, third.tool_call) == (f"try {code}", False)
    assert all(r["tools"][0]["function"]["name"] == "try_code" for r in requests)
    last = requests[-1]["messages"]
    calls = [m for m in last if m["role"] == "assistant" and m.get("tool_calls")]
    results = [m for m in last if m["role"] == "tool"]
    assert [c["tool_calls"][0]["id"] for c in calls] == [r["tool_call_id"] for r in results]
    assert json.loads(calls[1]["tool_calls"][0]["function"]["arguments"]) == {"digit": wrong}
    assert [r["content"] for r in results] == [ToyLanguage.format_hint, SHUT]


def test_memory_speaks_the_env_language(tmp_path) -> None:
    suite = get_suite(TOY)
    tasks = list(suite.tasks("train"))
    agent, llm = toy_llm()
    cfg = MemoryConfig(enabled=True, embed_dim=128, build="proceduralization", update="validation")

    async def body() -> tuple[list, list]:
        memory = await MemoryLoop.open(cfg, tmp_path, llm, suite.language)
        first = await run_episode(tasks[0], suite, llm, agent, TOY)
        ops = await memory.ops(first)
        await memory.committer.commit(Submission(ops, first.id))
        twin = next(t for t in tasks[1:] if t.spec == tasks[0].spec)
        got = await memory.retrieve(twin)
        second = await run_episode(
            twin, suite, llm, agent, TOY, memory_text=got.text, memory_ids=got.procedure_ids
        )
        await memory.close()
        return [first, second], [ops, got]

    (first, second), (ops, got) = anyio.run(body)
    (add,) = ops
    code = code_of(tasks[0].spec["colour"], 10)
    proc = add.procedure
    # Condensed by the toy's rule (the winning try only); scripted by the toy's own prompt.
    assert proc.trajectory == [f"> try {code}\n{OPENED}"]
    assert proc.script == f"1. Turn the dial to {code} first."
    assert proc.keywords == [tasks[0].spec["colour"]]
    assert got.procedure_ids == [proc.id]
    assert second.success and second.n_steps == 1 and second.memory_ids == [proc.id]
    assert first.n_steps > 1  # without memory the seeded search needed more than one try


def test_scores_reach_summary_console_and_prometheus() -> None:
    from rich.console import Console

    from pipeline.console import task_type_table
    from pipeline.metrics import Metrics
    from pipeline.summary import by_task_type, summarize

    suite = get_suite(TOY)
    agent, llm = toy_llm()
    tasks = list(suite.tasks("train"))[:4]

    async def play() -> list:
        return [await run_episode(t, suite, llm, agent, TOY) for t in tasks]

    trajs = anyio.run(play)
    trajs.append(trajs[0].model_copy(update={"id": "no-scores", "scores": {}, "success": False}))
    tries = [t.scores["tries"] for t in trajs[:4]]
    summary = summarize(trajs, model="sim/toy")
    assert summary.scores["tries"] == pytest.approx(sum(tries) / 4, abs=1e-4)  # 4 report it
    assert set(summary.scores) == {"efficiency", "tries"}

    console = Console(width=200, record=True)
    console.print(task_type_table(by_task_type(trajs), "toy"))
    text = console.export_text()
    assert "efficiency" in text and "tries" in text and f"{sum(tries) / 4:.3f}" in text

    metrics = Metrics()
    for t in trajs:
        metrics.observe_trajectory(t)
    labels = {"env": "toy", "score": "tries"}
    count = metrics.registry.get_sample_value("memp_episode_score_count", labels)
    total = metrics.registry.get_sample_value("memp_episode_score_sum", labels)
    assert (count, total) == (4.0, sum(tries))
