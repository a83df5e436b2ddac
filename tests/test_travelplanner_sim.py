"""The TravelPlanner sim policy over tpdata's synthetic database and the real env and language.

The sim is a scripted stand-in for an LLM: these tests check its machinery (mistake knobs, memory
checks, roles), not anything about real models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline import prompts as shared
from pipeline.envs.travelplanner import prompts as tp_prompts
from pipeline.envs.travelplanner.evaluate import aggregate
from pipeline.envs.travelplanner.sim.checks import stated_checks
from pipeline.envs.travelplanner.sim.knobs import MISTAKE_CHECK, TravelPlannerSimKnobs
from pipeline.envs.travelplanner.sim.policy import respond, role_of
from pipeline.envs.travelplanner.sim.request import read_request
from pipeline.envs.travelplanner.sim.writer import check_line
from pipeline.envs.travelplanner.suite import TravelPlannerSettings, TravelPlannerSuite
from pipeline.types import Task

# Seconds per test (whole engines, databases or splits): not in `make test-fast`.
pytestmark = pytest.mark.slow

ZERO = {k: 0.0 for k in MISTAKE_CHECK} | {"notebook_skip": 0.0}
SEEDS = (1, 2, 3)
# mistake -> the per-episode score it breaks
BROKEN_BY = {
    "budget_overrun": "hc_budget",
    "repeat": "commonsense_macro",
    "missing_day": "cs_complete_information",
    "wrong_room": "hard_macro",
    "open_route": "cs_reasonable_city_route",
    "missing_transport": "cs_complete_information",
    "cuisine_miss": "hc_cuisine",
    "transport_rule_miss": "hc_transportation",
}


class _EnvConfig:
    """The env contract's `config.settings(model, name)`, for building suites in one process."""

    def __init__(self, mode: str, cache: Path) -> None:
        self.mode, self.cache = mode, cache

    def settings(self, model: type, name: str) -> TravelPlannerSettings:
        return TravelPlannerSettings(mode=self.mode, cache_dir=str(self.cache))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tp-cache")


@pytest.fixture(scope="module")
def sole(cache: Path) -> TravelPlannerSuite:
    return TravelPlannerSuite(_EnvConfig("sole-planning", cache))


@pytest.fixture(scope="module")
def two_stage(cache: Path) -> TravelPlannerSuite:
    return TravelPlannerSuite(_EnvConfig("two-stage", cache))


def sim_config(**knobs: float) -> dict[str, Any]:
    return {"format_error_rate": 0.0, "memory_trust": 0.9, "travelplanner": knobs}


def run_episode(
    suite: TravelPlannerSuite, task: Task, cfg: dict, seed: int, memory: str | None = None
) -> tuple[dict[str, float], list[dict[str, str]]]:
    """One episode through the real env and language, the sim answering every turn."""
    env = suite.make()
    opening = env.reset(task)
    lang = suite.language
    messages = [
        {"role": "system", "content": lang.system_prompt(task)},
        {"role": "user", "content": shared.agent_first_message(opening, None, memory)},
    ]
    for _ in range(60):
        text = respond(cfg, seed, messages, lang.tools())
        messages.append({"role": "assistant", "content": text})
        action = lang.parse(text)
        if action.command is None:
            messages.append({"role": "user", "content": lang.format_hint})
            continue
        result = env.step(action.command)
        messages.append({"role": "user", "content": shared.OBSERVATION_PREFIX + result.observation})
        if result.done:
            break
    return env.last_scores or {"delivered": 0.0, "hard_count": 1.0}, messages


def run_split(
    suite: TravelPlannerSuite, cfg: dict, memory: str | None = None, limit: int = 45
) -> list[dict[str, float]]:
    tasks = list(suite.tasks("train"))[:limit]
    return [run_episode(suite, t, cfg, seed, memory)[0] for seed in SEEDS for t in tasks]


def fail_rate(runs: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return 1.0 - sum(values) / len(values)


def procedure(*lines: str) -> str:
    body = "\n".join(f"{i}. {ln}" for i, ln in enumerate(lines, 1))
    return f"Procedure 1 (from the task: a trip planned before)\nScript:\n{body}"


def test_sim_without_mistakes_passes_every_sole_planning_query(sole: TravelPlannerSuite) -> None:
    agg = aggregate(run_split(sole, sim_config(**ZERO)))
    assert agg["delivery_rate"] == 1.0
    assert agg["final_pass_rate"] == 1.0, agg


@pytest.mark.parametrize("mistake", list(MISTAKE_CHECK))
def test_each_mistake_knob_breaks_its_constraint(sole: TravelPlannerSuite, mistake: str) -> None:
    runs = run_split(sole, sim_config(**(ZERO | {mistake: 1.0})))
    key = BROKEN_BY[mistake]
    relevant = [r for r in runs if key in r]
    if mistake == "wrong_room":
        lc = [t.spec["query"]["local_constraint"] for t in sole.tasks("train")]
        has_room = [bool(c.get("room type") or c.get("house rule")) for c in lc] * len(SEEDS)
        relevant = [r for r, flag in zip(runs, has_room, strict=True) if flag]
    assert relevant, f"no train query exercises {key}"
    assert fail_rate(relevant, key) >= 0.5, (mistake, fail_rate(relevant, key))


@pytest.mark.parametrize("mistake", ["budget_overrun", "repeat", "open_route", "cuisine_miss"])
def test_a_procedure_stating_the_check_lowers_that_mistake(
    sole: TravelPlannerSuite, mistake: str
) -> None:
    cfg = sim_config(**(ZERO | {mistake: 1.0}))
    req = read_request("a trip with Chinese cuisine")
    stating = procedure("Search flights first.", check_line(MISTAKE_CHECK[mistake], req))
    unrelated = procedure("Search flights first.", "Write each result to the Notebook.")
    key = BROKEN_BY[mistake]
    base, told, other = (run_split(sole, cfg, m) for m in (None, stating, unrelated))
    assert fail_rate(told, key) <= fail_rate(base, key) - 0.3, (fail_rate(base, key), told)
    assert other == base  # a procedure that says nothing about the check changes nothing


def test_budget_procedure_helps_at_default_knobs(sole: TravelPlannerSuite) -> None:
    cfg = sim_config()
    budget = procedure(check_line("budget", read_request("")))
    base, told = run_split(sole, cfg), run_split(sole, cfg, budget)
    assert fail_rate(told, "hc_budget") < fail_rate(base, "hc_budget") - 0.05
    # Only the budget mistake moved: the route and diversity outcomes stay as they were.
    for key in ("cs_reasonable_city_route", "cs_diverse_attractions"):
        assert [r[key] for r in told] == [r[key] for r in base]


def test_two_stage_episode_searches_notes_and_plans(two_stage: TravelPlannerSuite) -> None:
    runs = []
    for task in list(two_stage.tasks("train"))[:12]:
        scores, messages = run_episode(two_stage, task, sim_config(**ZERO), seed=5)
        runs.append(scores)
        actions = [m["content"] for m in messages if m["role"] == "assistant"]
        assert any("Action: AccommodationSearch[" in a for a in actions)
        assert any("Action: NotebookWrite[" in a for a in actions)
        planner = [i for i, a in enumerate(actions) if "Action: Planner[" in a]
        assert planner and planner[0] == len(actions) - 2  # then the plan itself
        assert actions[-1].startswith("Day 1:")
    agg = aggregate(runs)
    assert agg["delivery_rate"] == 1.0
    assert agg["commonsense_micro"] >= 0.8


def test_sim_is_deterministic_per_seed(sole: TravelPlannerSuite) -> None:
    tasks = list(sole.tasks("train"))[:10]
    first = [run_episode(sole, t, sim_config(), seed=9)[1] for t in tasks]
    again = [run_episode(sole, t, sim_config(), seed=9)[1] for t in tasks]
    other = [run_episode(sole, t, sim_config(), seed=10)[1] for t in tasks]
    assert first == again
    assert first != other


def test_roles_follow_tpdatas_system_prompts() -> None:
    def role(system: str) -> str:
        return role_of([{"role": "system", "content": system}, {"role": "user", "content": "x"}])

    assert role(tp_prompts.SCRIPT_SYSTEM) == "script"
    assert role(tp_prompts.ADJUST_SYSTEM) == "adjust"
    assert role(tp_prompts.KEYWORDS_SYSTEM) == "keywords"
    assert role(tp_prompts.GATHER_SYSTEM) == "agent"
    assert role(tp_prompts.SOLE_SYSTEM) == "agent"


ROOM_QUERY = (
    "Please plan a 3-day trip for a group of 2 from Ashford to Millbrook, from March 8th to "
    "March 10th, 2022. The budget is $2,000. We want entire homes or apartments to ourselves."
)
GOOD_PLAN = """Day 1:
Current City: from Ashford to Millbrook
Transportation: Flight Number: F1, from Ashford to Millbrook, Departure Time: 08:00, Arrival: 9
Breakfast: -
Attraction: Old Mill, Millbrook;
Lunch: Cafe A, Millbrook
Dinner: Cafe B, Millbrook
Accommodation: Loft, Millbrook

Day 2:
Current City: Millbrook
Transportation: -
Breakfast: Cafe C, Millbrook
Attraction: Park, Millbrook;Museum, Millbrook;
Lunch: Cafe D, Millbrook
Dinner: Cafe E, Millbrook
Accommodation: Loft, Millbrook

Day 3:
Current City: from Millbrook to Ashford
Transportation: Flight Number: F2, from Millbrook to Ashford, Departure Time: 18:00, Arrival: 19
Breakfast: Cafe F, Millbrook
Attraction: Tower, Millbrook;
Lunch: Cafe G, Millbrook
Dinner: -
Accommodation: -"""


def _script_request(query: str, trajectory: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": tp_prompts.SCRIPT_SYSTEM},
        {"role": "user", "content": shared.script_request(query, trajectory)},
    ]


def test_script_role_states_the_checks_the_request_needs() -> None:
    script = respond(sim_config(), 0, _script_request(ROOM_QUERY, f"> Finish[{GOOD_PLAN}]"))
    lines = script.splitlines()
    assert lines and all(ln.split(".", 1)[0].isdigit() for ln in lines)
    assert {"budget", "diversity", "days", "route", "room"} <= stated_checks(procedure(script))
    plain = ROOM_QUERY.replace(" We want entire homes or apartments to ourselves.", "")
    no_room = respond(sim_config(), 0, _script_request(plain, f"> Finish[{GOOD_PLAN}]"))
    assert "room" not in stated_checks(procedure(no_room))


def test_adjust_role_adds_the_check_the_failed_plan_broke() -> None:
    repeated = GOOD_PLAN.replace("Lunch: Cafe D, Millbrook", "Lunch: Cafe A, Millbrook")
    old = "1. Search flights first.\n2. Write each result to the Notebook."
    messages = [
        {"role": "system", "content": tp_prompts.ADJUST_SYSTEM},
        {
            "role": "user",
            "content": shared.adjust_request(ROOM_QUERY, old, f"> Finish[{repeated}]"),
        },
    ]
    fixed = respond(sim_config(), 0, messages)
    assert "Search flights first." in fixed
    assert "diversity" in stated_checks(procedure(fixed))
    assert "diversity" not in stated_checks(procedure(old))


def test_keywords_role() -> None:
    messages = [
        {"role": "system", "content": tp_prompts.KEYWORDS_SYSTEM},
        {"role": "user", "content": shared.keywords_request(ROOM_QUERY)},
    ]
    words = [w.strip() for w in respond(sim_config(), 0, messages).split(",")]
    assert 2 <= len(words) <= 6 and "3-day trip" in words and "entire room" in words


def test_memory_check_reading_ignores_tables_and_task_headers() -> None:
    table = "   NAME price       room type house_rules\n  Loft   120 Entire home/apt  No pets"
    header = "Procedure 1 (from the task: We want entire homes; stay within the budget)"
    assert stated_checks(f"{header}\nTrajectory:\n> AccommodationSearch[X]\n{table}") == frozenset()


def test_knobs_reject_unknown_keys_and_are_found_on_the_policy() -> None:
    assert respond.settings_model is TravelPlannerSimKnobs  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        TravelPlannerSimKnobs.model_validate({"budget_overun": 0.1})


def test_catalog_reads_tables_behind_an_observation_prefix() -> None:
    from pipeline.envs.travelplanner.sim.catalog import read_catalog
    from pipeline.envs.travelplanner.table import render_table
    from pipeline.envs.travelplanner.tools import FLIGHT_COLUMNS

    rows = [("F0012345", 120, "08:05", "10:15", "2 hours 10 minutes", "2022-03-08", "Ashford",
             "Millbrook Falls", 310.0)]  # fmt: skip
    table = render_table(FLIGHT_COLUMNS, rows)
    for text in (table, shared.OBSERVATION_PREFIX + table):
        fares = read_catalog([text]).fares_on("Ashford", "Millbrook Falls", "2022-03-08")
        assert [(f.number, f.price, f.dep) for f in fares] == [("F0012345", 120, "08:05")]
