"""TravelPlanner episodes through litellm over HTTP, against an OpenAI-style server on 127.0.0.1."""

from __future__ import annotations

import itertools

import anyio
import pytest

from pipeline.agent import run_episode
from pipeline.config import AgentConfig, EnvConfig
from pipeline.envs.travelplanner import TravelPlannerSuite
from pipeline.envs.travelplanner.solver import cheapest_plan
from pipeline.llm import LLMClient
from tests.openai_server import OpenAIServer
from tests.travelplanner_data import CACHE

KEY = "sk-travel-secret-9012"


def stand_in_evaluator(query, plan_text, db):
    """A trivial local stand-in for tpeval's evaluate_plan (this test file only)."""
    return {"delivered": 1.0, "final_pass": float(plan_text.startswith("Day 1:"))}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", KEY)


def _run(mode: str, answers, split: str = "train", index: int = 0):
    env_cfg = EnvConfig.model_validate(
        {"name": "travelplanner", "split": split, "step_limit": 30,
         "travelplanner": {"mode": mode, "cache_dir": str(CACHE)}}
    )  # fmt: skip
    suite = TravelPlannerSuite(env_cfg, evaluator=stand_in_evaluator)
    task = list(suite.tasks(split))[index]
    with OpenAIServer(lambda msgs: next(answers(suite, task))) as server:
        agent = AgentConfig(model="openai/test-model", api_base=server.base_url,
                            api_key_env="MEMP_TEST_KEY", max_tokens=2048)  # fmt: skip
        traj = anyio.run(lambda: run_episode(task, suite, LLMClient(agent, seed=0), agent, env_cfg))
    return traj, server.requests


def test_two_stage_episode_over_http():
    script: dict[str, object] = {}

    def answers(suite, task):
        if "it" not in script:
            q = suite.queries("train")[0]
            city = q.dest
            plan = cheapest_plan(q, suite.db).text
            script["it"] = iter([
                f"Thought: where to stay\nAction: AccommodationSearch[{city}]",
                "Thought: keep it\nAction: NotebookWrite[Accommodations]",
                "Thought: a typo\nAction: AccommodationSearch[Atlantis]",
                "I do not know.",
                f"Thought: plan now\nAction: Planner[{task.goal}]",
                plan,
            ])  # fmt: skip
        return script["it"]

    traj, requests = _run("two-stage", answers)
    assert traj.status == "ok", traj.error
    assert traj.success and traj.scores == {"delivered": 1.0, "final_pass": 1.0}
    assert [s.valid for s in traj.steps] == [True, True, False, False, True, True]
    assert traj.steps[-1].action.startswith("Finish[Day 1:")
    assert requests[0]["messages"][0]["content"].startswith("You collect the information")
    assert {t["function"]["name"] for t in requests[0]["tools"]} >= {"FlightSearch", "Planner"}
    planner_obs = requests[-1]["messages"][-1]["content"]
    assert "Given information:" in planner_obs and "[0] Description: Accommodations" in planner_obs
    assert KEY not in traj.model_dump_json()


def test_sole_planning_episode_over_http():
    def answers(suite, task):
        q = suite.queries("validation")[5]
        return itertools.repeat(cheapest_plan(q, suite.db).text)

    traj, requests = _run("sole-planning", answers, "validation", 5)
    assert traj.status == "ok", traj.error
    assert traj.success and traj.n_steps == 1
    first = requests[0]["messages"]
    assert "tools" not in requests[0] or not requests[0]["tools"]
    assert "Given information:" in first[1]["content"] and "Day 1:" in first[1]["content"]
