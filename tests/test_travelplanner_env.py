"""The TravelPlanner environment and suite: both modes' openings, episodes, plan delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import EnvConfig
from pipeline.envs.travelplanner import TravelPlannerSettings, TravelPlannerSuite
from pipeline.envs.travelplanner.env import SOLE_NO_TOOLS, TravelPlannerEnv
from pipeline.envs.travelplanner.language import TravelPlannerLanguage
from pipeline.envs.travelplanner.solver import cheapest_plan
from tests.travelplanner_data import CACHE


class StandInEvaluator:
    """A trivial local stand-in for tpeval's evaluate_plan (this test file only)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, query, plan_text, db):
        self.calls.append((query.query, plan_text))
        return {"delivered": 1.0, "final_pass": 1.0 if "Day 1:" in plan_text else 0.0}


def Config(**travelplanner) -> EnvConfig:
    """An env config with the `env.travelplanner` subsection."""
    sub = {"cache_dir": str(CACHE), **travelplanner}
    return EnvConfig.model_validate({"name": "travelplanner", "travelplanner": sub})


def _suite(mode: str = "two-stage") -> tuple[TravelPlannerSuite, StandInEvaluator]:
    evaluator = StandInEvaluator()
    return TravelPlannerSuite(Config(mode=mode), evaluator=evaluator), evaluator


def test_suite_splits_tasks_and_settings():
    suite, _ = _suite()
    assert suite.splits() == ["train", "validation", "test"]
    assert [suite.split_size(s) for s in suite.splits()] == [45, 180, 1000]
    tasks = list(suite.tasks("train"))
    assert len(tasks) == 45 and tasks == list(suite.tasks("train"))
    t = tasks[0]
    assert t.id == "travelplanner/train/0000" and t.env == "travelplanner"
    assert t.task_type in ("easy", "medium", "hard") and t.goal == t.spec["query"]["query"]
    assert "house rule" in t.spec["query"]["local_constraint"]  # official keys in the spec
    with pytest.raises(ValueError, match="mode"):
        TravelPlannerSettings.model_validate({"mode": "three-stage"})
    with pytest.raises(ValueError, match="extra"):
        TravelPlannerSettings.model_validate({"modes": "two-stage"})


def test_official_query_files_replace_the_synthetic_split(tmp_path: Path):
    suite, _ = _suite()
    q = suite.queries("train")[0]
    (tmp_path / "validation.jsonl").write_text(q.model_dump_json(by_alias=True) + "\n")
    official = TravelPlannerSuite(Config(queries=str(tmp_path)))
    assert official.split_size("validation") == 1
    (task,) = official.tasks("validation")
    assert task.goal == q.query and task.spec["source"] == "official"
    assert official.split_size("train") == 45  # no official file: synthetic


def test_two_stage_episode_gathers_into_the_notebook_then_plans():
    suite, evaluator = _suite()
    task = next(iter(suite.tasks("train")))
    env = suite.make()
    opening = env.reset(task)
    assert opening == f"Query: {task.goal}"
    assert env.admissible_commands() is None
    q = env.query
    first = env.step(f"AccommodationSearch[{q.dest}]")
    assert first.valid and not first.done and "NAME" in first.observation
    assert env.step("NotebookWrite[Accommodations]").valid
    bad = env.step("Teleport[somewhere]")
    assert not bad.valid and bad.observation.startswith("Invalid Action.")
    brief = env.step(f"Planner[{q.query}]")
    assert brief.valid and not brief.done
    assert "Given information:" in brief.observation and "[0] Description: Accommodations" in (
        brief.observation
    )
    plan = cheapest_plan(q, suite.db).text
    action = suite.language.parse(plan)
    assert action.command.startswith("Finish[Day 1:")
    end = env.step(action.command)
    assert end.done and end.success and end.valid
    assert evaluator.calls == [(q.query, plan)]
    assert env.last_scores == {"delivered": 1.0, "final_pass": 1.0}
    assert not env.step("CitySearch[Texas]").valid  # nothing after delivery


def test_planner_with_a_plan_in_its_argument_delivers_it():
    suite, evaluator = _suite()
    env = suite.make()
    env.reset(list(suite.tasks("train"))[1])
    text = cheapest_plan(env.query, suite.db).text
    r = env.step(f"Planner[{text}]")
    assert r.done and evaluator.calls[0][1] == text


def test_sole_planning_opening_carries_the_reference_information():
    suite, evaluator = _suite("sole-planning")
    task = list(suite.tasks("train"))[30]
    env = suite.make()
    opening = env.reset(task)
    q = env.query
    sol = cheapest_plan(q, suite.db)
    assert opening.startswith("Given information:") and opening.endswith("Travel Plan:")
    assert f"Query: {q.query}" in opening
    for city in sol.route:
        assert f"Description: Accommodations in {city}" in opening
        assert f"Description: Restaurants in {city}" in opening
    assert f"Description: Flight from {q.org} to {sol.route[0]} on {q.date[0]}" in opening
    # everything the reference plan uses is in the given information
    for day in sol.plan:
        for key in ("breakfast", "lunch", "dinner", "accommodation"):
            if day[key] != "-":
                assert day[key].rsplit(", ", 1)[0] in opening
    tool = env.step(f"AccommodationSearch[{sol.route[0]}]")
    assert not tool.valid and tool.observation == SOLE_NO_TOOLS
    lang = suite.language
    assert lang.tools() is None and "Day 1:" in lang.one_shot_example(task)
    assert lang.system_prompt(task) != TravelPlannerLanguage("two-stage").system_prompt(task)
    assert env.step(lang.parse(f"Here is the plan:\n{sol.text}").command).success
    assert len(evaluator.calls) == 1


def test_language_parses_answers_tolerantly():
    lang = TravelPlannerLanguage()
    assert lang.parse("Thought 2: next\nAction 2: CitySearch[Texas]").command == "CitySearch[Texas]"
    assert lang.parse("**Action:** RestaurantSearch[Cove]").command == "RestaurantSearch[Cove]"
    assert lang.parse("I will search.\nAttractionSearch[Cove]").command == "AttractionSearch[Cove]"
    assert lang.parse("Action: Teleport[Cove]").command == "Teleport[Cove]"
    assert lang.parse("I am not sure what to do.").command is None
    wrapped = lang.parse("Action: Finish[Day 1:\nCurrent City: from A to B\nTransportation: -]")
    assert wrapped.command == "Finish[Day 1:\nCurrent City: from A to B\nTransportation: -]"
    assert lang.parse("Day 1: a nice day").command is None  # no plan fields: not a plan


def test_memory_success_follows_the_settings():
    class Traj:
        def __init__(self, score: float) -> None:
            self.success = False
            self.scores = {"commonsense_micro": score}

    final, _ = _suite()
    scored = TravelPlannerSuite(Config(success="score", success_threshold=0.8))
    assert final.language.memory_success(Traj(0.9)) is False
    assert scored.language.memory_success(Traj(0.9)) is True
    assert scored.language.memory_success(Traj(0.8)) is False


def test_env_needs_reset_first():
    suite, _ = _suite()
    env = TravelPlannerEnv(suite.db, "two-stage")
    with pytest.raises(RuntimeError):
        env.step("CitySearch[Texas]")
