"""Constrained answers (agent.constrained) over real litellm HTTP to a server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from pipeline.agent import constrained, run_episode
from pipeline.config import AgentConfig, EnvConfig
from pipeline.envs import get_suite
from pipeline.envs.household.solver import solve
from pipeline.envs.travelplanner.language import TravelPlannerLanguage
from pipeline.llm import LLMClient
from pipeline.types import Task
from tests.openai_server import OpenAIServer

KEY = "sk-constrained-secret-1234"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", KEY)


def _agent(server: OpenAIServer, mode: str) -> AgentConfig:
    return AgentConfig(
        model="openai/test-model",
        api_base=server.base_url,
        api_key_env="MEMP_TEST_KEY",
        constrained=mode,
    )


def test_json_schema_answers_play_an_episode_from_the_admissible_enum() -> None:
    env_cfg = EnvConfig(split="valid_seen")
    suite = get_suite(env_cfg)
    task = next(t for t in suite.tasks("valid_seen") if t.task_type.startswith("pick_and_place"))
    probe = suite.make()
    probe.reset(task)
    plan = [action for action, _ in solve(probe, task.goal)]
    answers = iter(
        ['{"thought": "no idea"'],  # truncated JSON: an invalid step, not a crash
    )
    steps = iter(plan)

    def reply(messages: list[dict[str, Any]]) -> str:
        first = next(answers, None)
        if first is not None:
            return first
        return "```json\n" + json.dumps({"thought": "next", "action": next(steps)}) + "\n```"

    with OpenAIServer(reply) as server:
        agent = _agent(server, "json_schema")
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent, seed=0), agent, env_cfg))
        bodies = list(server.requests)
    assert traj.status == "ok", traj.error
    assert traj.success
    assert [s.mode for s in traj.steps] == ["json_schema"] * (len(plan) + 1)
    assert not traj.steps[0].valid and traj.steps[0].raw == '{"thought": "no idea"'
    assert [s.action for s in traj.steps[1:]] == plan
    # Every request carried a json_schema whose action enum was the env's admissible commands.
    fresh = suite.make()
    fresh.reset(task)
    first = bodies[0]["response_format"]
    assert first["type"] == "json_schema"
    action = first["json_schema"]["schema"]["properties"]["action"]
    assert sorted(action["enum"]) == sorted(fresh.admissible_commands())
    assert all("response_format" in b and "tools" not in b for b in bodies)
    assert '"thought"' in bodies[0]["messages"][0]["content"]  # the system prompt says so


def test_off_and_sim_auto_send_no_response_format() -> None:
    env_cfg = EnvConfig(split="valid_seen", step_limit=2)
    suite = get_suite(env_cfg)
    task = next(iter(suite.tasks("valid_seen")))
    with OpenAIServer(lambda msgs: "Think: x\nAction: look") as server:
        agent = _agent(server, "off")
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent, seed=0), agent, env_cfg))
        assert all("response_format" not in b for b in server.requests)
        assert constrained(_agent(server, "auto"), LLMClient(_agent(server, "auto")))
    assert [s.mode for s in traj.steps] == ["text", "text"]
    assert traj.steps[0].action == "look"
    sim = AgentConfig(model="sim/household", constrained="auto")
    assert not constrained(sim, LLMClient(sim))


def test_travelplanner_schema_is_tool_shapes_and_parses_to_the_text_form() -> None:
    language = TravelPlannerLanguage(mode="two-stage")
    task = Task(id="t/0", env="travelplanner", split="x", task_type="t", goal="plan", seed=0)
    assert TravelPlannerLanguage(mode="sole-planning").action_schema(task, None) is None
    schema = language.action_schema(task, None)
    assert schema is not None
    shapes = schema["properties"]["action"]["anyOf"]
    names = {s["properties"]["tool"]["const"] for s in shapes}
    assert {"FlightSearch", "Planner"} <= names
    answer = {
        "thought": "fly first",
        "action": {
            "tool": "FlightSearch",
            "arguments": {"date": "2022-03-16", "departure_city": "A", "destination_city": "B"},
        },
    }
    action = language.parse_structured(json.dumps(answer))
    assert action.command == "FlightSearch[A, B, 2022-03-16]"
    assert action.thought == "fly first"
    assert language.parse_structured('{"thought": "x", "action": {"tool": "FlightSearch", '
                                     '"arguments": "oops"}}').command is None  # fmt: skip
