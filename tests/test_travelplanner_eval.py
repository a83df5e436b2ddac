"""TravelPlanner evaluation: every constraint passes on a good plan and fails on a bad one."""

from __future__ import annotations

import json

import pytest

from pipeline.envs.travelplanner.commonsense import COMMONSENSE
from pipeline.envs.travelplanner.evaluate import aggregate, evaluate_plan
from pipeline.envs.travelplanner.hard import total_cost
from pipeline.envs.travelplanner.plan import parse_plan, render_plan
from pipeline.envs.travelplanner.sandbox import resolve
from tests.travelplanner_tiny_db import VALID_PLAN, VALID_PLAN_COST, TinyDB, plan_text, query

# Seconds per test (whole engines, databases or splits): not in `make test-fast`.
pytestmark = pytest.mark.slow

DB = TinyDB()
ALL_LOCAL = {
    "house rule": "parties",
    "cuisine": ["Chinese", "French"],
    "room type": "entire room",
    "transportation": "no self-driving",
}


def cs_failures(scores: dict[str, float]) -> set[str]:
    return {k for k in COMMONSENSE if scores[f"cs_{k}"] == 0.0}


def test_valid_plan_passes_everything() -> None:
    scores = evaluate_plan(query(local_constraint=ALL_LOCAL, level="hard"), plan_text(), DB)
    assert scores["delivered"] == 1.0
    assert cs_failures(scores) == set()
    for key in ("budget", "room_rule", "room_type", "cuisine", "transportation"):
        assert scores[f"hc_{key}"] == 1.0, key
    assert scores["commonsense_micro"] == scores["hard_micro"] == 1.0
    assert scores["commonsense_macro"] == scores["hard_macro"] == scores["final_pass"] == 1.0
    assert scores["hard_count"] == 5.0 and scores["hard_checked"] == 1.0


def test_cost_adds_fares_meals_and_rooms() -> None:
    plan = parse_plan(plan_text())
    assert plan is not None
    assert total_cost(query(), resolve(plan, query(), DB)) == VALID_PLAN_COST


TAXI_BACK = "Taxi, from Charlotte to Ithaca, Duration: 9 hours, Distance: 900 km, Cost: 900"
DRIVE_BACK = "Self-driving, from Charlotte to Ithaca, Duration: 9 hours, Distance: 900 km, Cost: 45"

# constraint -> a plan that breaks it (and, where the definitions allow, nothing else).
BREAKERS: dict[str, dict] = {
    "within_sandbox": {"edits": {(1, "lunch"): "Ghost Diner, Charlotte"}},
    "complete_information": {"edits": {(1, "lunch"): "-"}},
    "within_current_city": {"edits": {(1, "lunch"): "Capital Grill, Raleigh"}},
    "reasonable_city_route": {  # never flies home: not a closed route
        "edits": {
            (1, "attraction"): "Romare Bearden Park, Charlotte;",
            (2, "current_city"): "Charlotte",
            (2, "transportation"): "-",
            (2, "attraction"): "Discovery Place, Charlotte;",
            (2, "lunch"): "Queen Burger, Charlotte",
            (2, "dinner"): "Noda Noodles, Charlotte",
        }
    },
    "diverse_restaurants": {"edits": {(1, "dinner"): "Olive Tree Cafe, Charlotte"}},
    "diverse_attractions": {"edits": {(1, "attraction"): "The Mint Museum, Charlotte;"}},
    "non_conflicting_transportation": {"edits": {(2, "transportation"): DRIVE_BACK}},
    "minimum_nights": {
        "edits": {
            (0, "accommodation"): "Long Stay Suites, Charlotte",
            (1, "accommodation"): "Long Stay Suites, Charlotte",
        }
    },
}


@pytest.mark.parametrize("name", COMMONSENSE)
def test_each_commonsense_constraint_fails_on_its_breaker(name: str) -> None:
    scores = evaluate_plan(query(), plan_text(**BREAKERS[name]), DB)
    assert scores["delivered"] == 1.0
    assert name in cs_failures(scores)
    assert scores["commonsense_macro"] == 0.0 and scores["final_pass"] == 0.0
    if name not in ("complete_information",):
        assert cs_failures(scores) == {name}, cs_failures(scores)


def test_route_to_a_city_other_than_the_destination_is_unreasonable() -> None:
    # Deliberate difference: the official script never checks a 3-day trip's city against dest.
    edits = {
        (0, "current_city"): "from Ithaca to Raleigh",
        (0, "transportation"): "Flight Number: F200, from Ithaca to Raleigh",
        (0, "attraction"): "NC Museum of Art, Raleigh;",
        (0, "lunch"): "Capital Grill, Raleigh",
        (0, "dinner"): "Raleigh Noodles, Raleigh",
        (0, "accommodation"): "Oak City Bunk, Raleigh",
        (1, "current_city"): "Raleigh",
        (1, "breakfast"): "Triangle Tacos, Raleigh",
        (1, "attraction"): "Pullen Park, Raleigh;",
        (1, "lunch"): "Oak Bakery, Raleigh",
        (1, "dinner"): "-",
        (1, "accommodation"): "Oak City Bunk, Raleigh",
        (2, "current_city"): "from Raleigh to Ithaca",
        (2, "transportation"): "Flight Number: F201, from Raleigh to Ithaca",
        (2, "breakfast"): "-",
    }
    scores = evaluate_plan(query(), plan_text(edits), DB)
    assert "reasonable_city_route" in cs_failures(scores)
    assert scores["cs_within_sandbox"] == scores["cs_within_current_city"] == 1.0


def test_flight_on_another_date_is_outside_the_sandbox() -> None:
    edits = {(2, "transportation"): "Flight Number: F102, from Charlotte to Ithaca"}
    assert cs_failures(evaluate_plan(query(), plan_text(edits), DB)) == {"within_sandbox"}


def test_taxi_and_self_driving_conflict_but_taxi_and_flight_do_not() -> None:
    taxi = evaluate_plan(query(), plan_text({(2, "transportation"): TAXI_BACK}), DB)
    assert taxi["cs_non_conflicting_transportation"] == 1.0
    drive = "Self-driving, from Ithaca to Charlotte, Duration: 9 hours, Cost: 45"
    both = evaluate_plan(
        query(),
        plan_text({(0, "transportation"): drive, (2, "transportation"): TAXI_BACK}),
        DB,
    )
    assert both["cs_non_conflicting_transportation"] == 0.0


def test_missing_day_fails_complete_information() -> None:
    scores = evaluate_plan(query(), plan_text(drop_day=1), DB)
    assert scores["cs_complete_information"] == 0.0


def test_missing_field_fails_complete_information() -> None:
    plan = json.loads(plan_text())
    del plan[1]["dinner"]
    assert evaluate_plan(query(), json.dumps(plan), DB)["cs_complete_information"] == 0.0


HARD_CASES = {
    # constraint: (local constraint, plan edits that break it)
    "budget": ({}, None),
    "room_rule": ({"house rule": "smoking"}, None),
    "room_type": (
        {"room type": "entire room"},
        {
            (0, "accommodation"): "Uptown Spare Room, Charlotte",
            (1, "accommodation"): "Uptown Spare Room, Charlotte",
        },
    ),
    "cuisine": ({"cuisine": ["Mexican"]}, {(1, "lunch"): "Little Roma, Charlotte"}),
    "transportation": ({"transportation": "no flight"}, None),
}


@pytest.mark.parametrize("name", list(HARD_CASES))
def test_each_hard_constraint_passes_and_fails(name: str) -> None:
    local, edits = HARD_CASES[name]
    good_q = query(local_constraint=ALL_LOCAL) if name != "budget" else query()
    good = evaluate_plan(good_q, plan_text(), DB)
    assert good[f"hc_{name}"] == 1.0
    budget = VALID_PLAN_COST - 1 if name == "budget" else 5000
    bad = evaluate_plan(query(local_constraint=local, budget=budget), plan_text(edits), DB)
    assert bad["hard_checked"] == 1.0
    assert bad[f"hc_{name}"] == 0.0
    assert bad["hard_macro"] == 0.0 and bad["final_pass"] == 0.0
    assert bad["commonsense_macro"] == 1.0  # a hard failure leaves commonsense untouched


def test_cuisine_counts_meals_outside_the_origin_only() -> None:
    q = query(local_constraint={"cuisine": ["Mexican"]})
    at_home = plan_text({(0, "lunch"): "Cafe Ithaca, Ithaca"})  # Mexican, but in the origin
    assert evaluate_plan(q, at_home, DB)["hc_cuisine"] == 0.0


def test_budget_counts_rooms_and_cars_per_occupancy() -> None:
    plan = parse_plan(plan_text({(2, "transportation"): TAXI_BACK}))
    assert plan is not None
    for people, cars, rooms in ((2, 1, 1), (5, 2, 3)):
        q = query(people_number=people)
        meals = 130 * people
        expected = 200 * people + 900 * cars + meals + 2 * 120 * rooms
        assert total_cost(q, resolve(plan, q, DB)) == expected


def test_absent_local_constraints_have_no_key() -> None:
    scores = evaluate_plan(query(local_constraint={"room type": "entire room"}), plan_text(), DB)
    assert "hc_room_type" in scores and "hc_budget" in scores
    assert not {"hc_room_rule", "hc_cuisine", "hc_transportation"} & scores.keys()
    assert scores["hard_count"] == 2.0


@pytest.mark.parametrize("breaker", ["within_sandbox", "complete_information"])
def test_hard_constraints_are_skipped_when_incomplete_or_outside_sandbox(breaker: str) -> None:
    q = query(budget=1, local_constraint={"room type": "entire room"})
    scores = evaluate_plan(q, plan_text(**BREAKERS[breaker]), DB)
    assert scores["hard_checked"] == 0.0
    assert scores["hc_budget"] == scores["hc_room_type"] == 0.0  # not checked counts as failed
    assert scores["hard_micro"] == scores["hard_macro"] == 0.0


def test_hard_constraints_are_checked_despite_other_commonsense_failures() -> None:
    q = query(local_constraint={"room type": "entire room"})
    scores = evaluate_plan(q, plan_text(**BREAKERS["diverse_restaurants"]), DB)
    assert scores["hard_checked"] == 1.0 and scores["hard_macro"] == 1.0
    assert scores["final_pass"] == 0.0


@pytest.mark.parametrize("answer", ["", "I cannot plan this trip.", "[1, 2]", "{'days': ", None])
def test_undelivered_plan_fails_every_constraint_without_raising(answer: str | None) -> None:
    scores = evaluate_plan(query(local_constraint={"cuisine": ["Chinese"]}), answer, DB)
    assert scores["delivered"] == 0.0
    assert scores["commonsense_micro"] == scores["hard_micro"] == scores["final_pass"] == 0.0
    assert all(scores[f"cs_{k}"] == 0.0 for k in COMMONSENSE)
    assert scores["hc_budget"] == scores["hc_cuisine"] == 0.0


def test_odd_entries_do_not_raise() -> None:
    weird = {
        (0, "transportation"): "Flight Number: , from to",
        (1, "breakfast"): "no comma here",
        (1, "attraction"): ";;;.",
        (2, "current_city"): "from  to ",
    }
    scores = evaluate_plan(query(), plan_text(weird), DB)
    assert scores["delivered"] == 1.0 and scores["cs_within_sandbox"] == 0.0


def test_aggregate_micro_and_macro_on_a_hand_made_set() -> None:
    # Three queries carrying 1 + 2 + 4 = 7 hard constraints.
    easy = query()
    medium = query(local_constraint={"room type": "entire room"}, level="medium")
    hard_q = query(local_constraint=ALL_LOCAL | {"transportation": None}, level="hard")
    runs = [
        evaluate_plan(easy, plan_text(), DB),  # passes all 8 + 1/1
        evaluate_plan(medium, plan_text(**BREAKERS["diverse_restaurants"]), DB),  # 7/8, 2/2
        evaluate_plan(hard_q, None, DB),  # undelivered: 0/8, 0/4
    ]
    agg = aggregate(runs)
    assert agg["delivery_rate"] == pytest.approx(2 / 3)
    assert agg["commonsense_micro"] == pytest.approx((8 + 7 + 0) / 24)
    assert agg["commonsense_macro"] == pytest.approx(1 / 3)
    assert agg["hard_micro"] == pytest.approx((1 + 2 + 0) / 7)  # not the mean of 1, 1, 0
    assert agg["hard_macro"] == pytest.approx(2 / 3)
    assert agg["final_pass_rate"] == pytest.approx(1 / 3)
    assert agg["cs_diverse_restaurants"] == pytest.approx(1 / 3)
    assert agg["hc_room_type"] == pytest.approx(1 / 2)  # over the two queries that carry it
    assert aggregate([])["delivery_rate"] == 0.0


# ---- the plan parser ----

TEXT_PLAN = render_plan(parse_plan(plan_text()) or [])


@pytest.mark.parametrize(
    "answer",
    [
        plan_text(),
        "```json\n" + plan_text() + "\n```",
        "Here is the plan:\n" + repr(VALID_PLAN) + "\nEnjoy!",  # Python literal
        TEXT_PLAN,
        "Travel Plan:\n" + TEXT_PLAN.replace("Current City", "**Current City**"),
        "Thought: done.\nAction: Finish[" + TEXT_PLAN + "]",
        json.dumps({"plan": VALID_PLAN}),
        "```\n" + TEXT_PLAN.replace("\n", "\n- ") + "\n```",
    ],
    ids=["json", "fenced", "python", "text", "bold", "finish", "object", "bullets"],
)
def test_parser_reads_every_form(answer: str) -> None:
    plan = parse_plan(answer)
    assert plan is not None and len(plan) == 3
    assert plan[0].current_city == "from Ithaca to Charlotte"
    assert (
        plan[1].attraction == VALID_PLAN[1]["attraction"].rstrip(";")
        or plan[1].attraction == (VALID_PLAN[1]["attraction"])
    )
    assert plan[2].accommodation == "-"
    assert evaluate_plan(query(), answer, DB)["final_pass"] == 1.0


def test_parser_keeps_absent_and_empty_apart() -> None:
    plan = parse_plan('[{"day": "Day 1", "Current City": "Charlotte", "breakfast": null}]')
    assert plan is not None
    assert plan[0].days == 1 and plan[0].breakfast == "" and plan[0].lunch is None


def test_parser_joins_attractions_listed_per_line() -> None:
    plan = parse_plan(
        "Day 1:\nCurrent City: Charlotte\nAttraction:\n- A, Charlotte\n- B, Charlotte\n"
    )
    assert plan is not None and plan[0].attraction == "A, Charlotte;B, Charlotte"


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "no plan", "[]", "[1, 2, 3]", "{not json", "[{]", "Day one: fun", "[" * 3000],
)
def test_parser_returns_none_on_garbage(garbage: str) -> None:
    assert parse_plan(garbage) is None


def test_solver_plans_pass_every_constraint_on_the_synthetic_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # tpdata's feasibility solver and this evaluator are written apart: they must agree.
    from pipeline.envs.travelplanner.queries import split_queries
    from pipeline.envs.travelplanner.solver import cheapest_plan
    from pipeline.envs.travelplanner.sources import synthetic_database

    cache = tmp_path_factory.mktemp("tp-eval-cache")
    db = synthetic_database(0, cache)
    queries = split_queries(db, "train", 0, cache)
    runs = []
    for q in queries:
        sol = cheapest_plan(q, db)
        assert sol is not None
        runs.append(evaluate_plan(q, sol.text, db))
        over = q.model_copy(update={"budget": int(sol.cost) - 1})
        assert evaluate_plan(over, sol.text, db)["hc_budget"] == 0.0  # the cost agrees too
    agg = aggregate(runs)
    assert agg["final_pass_rate"] == 1.0 and agg["hard_micro"] == 1.0
