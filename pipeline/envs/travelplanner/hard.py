"""TravelPlanner's five hard constraints (the query's own demands) over a resolved plan."""

from __future__ import annotations

import math

from pipeline.envs.travelplanner.sandbox import DayView
from pipeline.envs.travelplanner.schema import (
    SELF_DRIVING_SEATS,
    TAXI_SEATS,
    Query,
    room_type_matches,
)

HARD = ("budget", "room_rule", "room_type", "cuisine", "transportation")


def applicable(query: Query) -> list[str]:
    """The hard constraints this query carries: budget always, the rest when set."""
    lc = query.local_constraint
    present = {
        "room_rule": lc.house_rule is not None,
        "room_type": lc.room_type is not None,
        "cuisine": bool(lc.cuisine),
        "transportation": lc.transportation is not None,
    }
    return ["budget", *(name for name in HARD[1:] if present[name])]


def total_cost(query: Query, views: list[DayView]) -> float:
    """What the group pays: fares per person, cars and rooms per vehicle/room, meals per person."""
    people = query.people_number
    cost = 0.0
    for v in views:
        leg = v.leg
        if leg is not None and leg.flight is not None:
            cost += leg.flight.price * people
        elif leg is not None and leg.drive is not None:
            seats = SELF_DRIVING_SEATS if leg.mode == "self-driving" else TAXI_SEATS
            cost += leg.drive.cost * math.ceil(people / seats)
        cost += sum(e.row.average_cost * people for e in v.meals.values() if e.row is not None)
        if v.stay is not None and v.stay.row is not None:
            cost += v.stay.row.price * math.ceil(people / max(1, v.stay.row.maximum_occupancy))
    return cost


def _stays(views: list[DayView]) -> list:
    return [v.stay.row for v in views if v.stay is not None and v.stay.row is not None]


def check(name: str, query: Query, views: list[DayView]) -> bool:
    """One hard constraint (assumes the plan is complete and within the sandbox)."""
    lc = query.local_constraint
    if name == "budget":
        return total_cost(query, views) <= query.budget
    if name == "room_rule":
        return all(a.allows(lc.house_rule) for a in _stays(views))
    if name == "room_type":
        return all(room_type_matches(lc.room_type or "", a.room_type) for a in _stays(views))
    if name == "cuisine":
        served = {
            c
            for v in views
            for e in v.meals.values()
            # Meals in the origin city do not count (deliberate: per meal, not per day as the
            # official script's early `continue` does).
            if e.row is not None and e.city != query.org
            for c in lc.cuisine or ()
            if e.row.serves(c)
        }
        return served >= set(lc.cuisine or ())
    if name == "transportation":
        banned = {"no flight": "flight", "no self-driving": "self-driving"}.get(
            lc.transportation or ""
        )
        if banned is None:
            return True
        return not any(v.leg is not None and v.leg.mode == banned for v in views)
    raise ValueError(f"unknown hard constraint {name!r}")
