"""TravelPlanner queries: split sizes and mix, determinism, feasibility proofs, official JSONL."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pipeline.envs.travelplanner.queries import generate, load_official, split_queries
from pipeline.envs.travelplanner.schema import Query
from pipeline.envs.travelplanner.solver import cheapest_plan, solve
from pipeline.envs.travelplanner.sources import csv_database
from tests.travelplanner_data import CACHE, plan_problems, shared_db, write_tiny_csv_db


def _route_problems(q: Query, plan: list[dict[str, str]], db) -> list[str]:
    cities = []
    for day in plan:
        cur = day["current_city"]
        cities += cur.removeprefix("from ").split(" to ") if cur.startswith("from ") else [cur]
    visited = set(cities) - {q.org}
    out = []
    if cities[0] != q.org or cities[-1] != q.org:
        out.append("not a closed route")
    if len(visited) != q.visiting_city_number:
        out.append("visiting city number")
    if q.days > 3 and any(db.state_of(c) != q.dest for c in visited):
        out.append("city outside the state")
    return out


def test_validation_split_mix_follows_the_paper():
    db = shared_db(0)
    qs = split_queries(db, "validation", 0, CACHE)
    assert len(qs) == 180
    assert Counter((q.level, q.days) for q in qs) == {
        (lv, d): 20 for lv in ("easy", "medium", "hard") for d in (3, 5, 7)}  # fmt: skip
    for q in qs:
        n = q.local_constraint.count()
        assert n == {"easy": 0, "medium": 1, "hard": 3}[q.level]
        assert q.visiting_city_number == {3: 1, 5: 2, 7: 3}[q.days] and len(q.date) == q.days
        assert q.budget > 0 and q.budget % 100 == 0 and f"${q.budget:,}" in q.query
        if q.level == "easy":
            assert q.people_number == 1
        assert q.local_constraint.transportation is None or q.level == "hard"
        if q.local_constraint.cuisine:
            assert len(q.local_constraint.cuisine) == (2 if q.level == "medium" else 4)
        if q.days == 3:
            assert db.state_of(q.dest) not in (None, db.state_of(q.org))
        else:
            assert q.dest in db.states() and q.dest != db.state_of(q.org)
    assert len({q.query for q in qs}) == 180


def test_splits_are_deterministic_and_cached(tmp_path: Path):
    db = shared_db(0)
    train = generate(db, "train", 0)
    assert len(train) == 45 and train == generate(db, "train", 0)
    assert train != generate(db, "train", 1)
    assert split_queries(db, "train", 0, tmp_path) == train
    assert split_queries(db, "train", 0, tmp_path) == train  # read back from the JSONL cache
    assert list(tmp_path.glob("*train.jsonl"))


def test_every_query_has_a_plan_within_budget_meeting_every_constraint():
    db = shared_db(0)
    for q in split_queries(db, "validation", 0, CACHE):
        sol = solve(q, db)
        assert sol is not None, q.query
        assert plan_problems(q, sol.plan, db) == [], q.query
        assert _route_problems(q, sol.plan, db) == [], q.query
    text = sol.text.splitlines()
    assert text[0] == "Day 1:" and text[1].startswith("Current City: from ")
    assert {ln.split(":")[0] for ln in text[1:8]} == {
        "Current City", "Transportation", "Breakfast", "Attraction", "Lunch", "Dinner",
        "Accommodation"}  # fmt: skip


def test_an_infeasible_query_is_detected():
    db = shared_db(0)
    q = split_queries(db, "validation", 0, CACHE)[70]
    sol = cheapest_plan(q, db)
    assert solve(q, db) is not None
    too_poor = q.model_copy(update={"budget": sol.cost - 1})
    assert solve(too_poor, db) is None
    # shared rooms never fit 8 people within the room's occupancy rules here, but a room type
    # that no city has makes any budget infeasible
    lc = q.local_constraint.model_copy(update={"room_type": "shared room", "house_rule": "pets"})
    picky = q.model_copy(update={"local_constraint": lc, "budget": 10**9})
    has_room = any(
        a.room_type == "Shared room" and a.allows("pets") and a.minimum_nights <= 2
        for c in ([q.dest] if q.days == 3 else db.cities(q.dest)) for a in db.accommodations(c)
    )  # fmt: skip
    assert (solve(picky, db) is not None) == has_room


def test_solver_on_the_tiny_csv_database(tmp_path: Path):
    db = csv_database(write_tiny_csv_db(tmp_path / "db"), tmp_path / "cache")
    q = Query(org="Alder", dest="Cove", days=3, visiting_city_number=1,
              date=["2022-03-01", "2022-03-02", "2022-03-03"], people_number=2,
              local_constraint={"house rule": "smoking", "cuisine": ["Chinese", "French"],
                                "transportation": "no self-driving"},
              budget=2000, level="medium", query="q")  # fmt: skip
    sol = solve(q, db)
    assert sol is not None and plan_problems(q, sol.plan, db) == []
    # the only stay allowing smoking with minimum nights <= 2 is Quiet Room
    assert sol.plan[0]["accommodation"] == "Quiet Room, Cove"
    assert sol.plan[0]["transportation"].startswith("Flight Number: F0000001")
    assert sol.plan[2]["transportation"].startswith("Flight Number: F0000002")
    no_fly = q.model_copy(update={"local_constraint": q.local_constraint.model_copy(
        update={"transportation": "no flight"})})  # fmt: skip
    drive = solve(no_fly, db)
    assert drive is not None and drive.plan[0]["transportation"].startswith("Self-driving")
    assert solve(q.model_copy(update={"budget": sol.cost - 1}), db) is None


def test_official_query_files_load(tmp_path: Path):
    rec = {
        "org": "Alder", "dest": "Cove", "days": 3, "visiting_city_number": 1,
        "date": "['2022-03-01', '2022-03-02', '2022-03-03']", "people_number": 1,
        "local_constraint": "{'house rule': None, 'cuisine': ['Chinese'], 'room type': "
        "'not shared room', 'transportation': None}",
        "budget": 1900, "query": "Plan a trip.", "level": "medium",
        "annotated_plan": "ignored", "reference_information": [{"Description": "x"}],
    }  # fmt: skip
    path = tmp_path / "validation.jsonl"
    path.write_text(json.dumps(rec) + "\n\n")
    (q,) = load_official(path)
    assert q.local_constraint.room_type == "not shared room"
    assert q.local_constraint.cuisine == ["Chinese"] and q.date[-1] == "2022-03-03"
    assert "Description" in q.reference_information
