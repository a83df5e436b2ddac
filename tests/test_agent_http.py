"""A real episode through litellm over HTTP against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import itertools

import anyio
import pytest

from pipeline.agent import run_episode
from pipeline.config import AgentConfig, EnvConfig
from pipeline.envs import get_suite
from pipeline.envs.household.solver import solve
from pipeline.llm import LLMClient
from tests.openai_server import OpenAIServer

KEY = "sk-episode-secret-5678"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", KEY)


def test_episode_over_http_with_rate_limit_and_malformed_answer() -> None:
    env_cfg = EnvConfig(split="valid_seen")
    suite = get_suite(env_cfg)
    task = next(t for t in suite.tasks("valid_seen") if t.task_type.startswith("pick_clean"))
    probe = suite.make()
    probe.reset(task)
    plan = [action for action, _ in solve(probe, task.goal)]
    # The model's answers: one malformed answer first, then the solver's plan in ReAct format.
    answers = itertools.chain(
        ["I am not sure what to do here."],
        (f"Think: step {i} of the plan.\nAction: {a}" for i, a in enumerate(plan)),
    )
    with OpenAIServer(lambda msgs: next(answers)) as server:
        server.fail_next(429, {"Retry-After": "0.1"})
        agent = AgentConfig(
            model="openai/test-model",
            api_base=server.base_url,
            api_key_env="MEMP_TEST_KEY",
            one_shot=True,
        )
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent, seed=0), agent, env_cfg))
        first_prompt = server.requests[0]["messages"]
    assert traj.status == "ok", traj.error
    assert traj.success
    assert traj.n_steps == len(plan) + 1
    assert not traj.steps[0].valid and traj.steps[0].action == ""
    assert traj.steps[0].raw == "I am not sure what to do here."
    assert [s.action for s in traj.steps[1:]] == plan
    assert all(s.valid for s in traj.steps[1:])
    assert traj.usage.calls == len(plan) + 1
    assert traj.usage.prompt_tokens > 0 and traj.usage.completion_tokens > 0
    assert len(server.requests) == len(plan) + 2  # one extra: the 429
    # The prompt carries the system instructions, the worked example and the task.
    assert first_prompt[0]["role"] == "system" and "Action:" in first_prompt[0]["content"]
    assert "Here is an example" in first_prompt[1]["content"]
    assert f"Your task is to: {task.goal}" in first_prompt[1]["content"]
    assert KEY not in traj.model_dump_json()


def test_server_failure_becomes_error_trajectory() -> None:
    env_cfg = EnvConfig(split="valid_seen", step_limit=5)
    suite = get_suite(env_cfg)
    task = next(iter(suite.tasks("valid_seen")))
    with OpenAIServer(lambda msgs: "Think: x\nAction: look") as server:
        server.fail_next(400)
        agent = AgentConfig(
            model="openai/test-model", api_base=server.base_url, api_key_env="MEMP_TEST_KEY"
        )
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent, seed=0), agent, env_cfg))
    assert traj.status == "error"
    assert traj.error and traj.error.startswith("llm bad_request")
    assert not traj.success and traj.n_steps == 0
