"""The sim's own reading of a written plan against the request: which checks it can see fail."""

from __future__ import annotations

import math

from pipeline.envs.travelplanner.entries import (
    attraction_list,
    filled,
    name_city,
    transport_mode,
)
from pipeline.envs.travelplanner.plan import PlanDay
from pipeline.envs.travelplanner.schema import room_type_matches
from pipeline.envs.travelplanner.sim.catalog import Catalog, Food, Stay
from pipeline.envs.travelplanner.sim.request import Request

MEALS = ("breakfast", "lunch", "dinner")


def _food(cat: Catalog, entry: str) -> Food | None:
    nc = name_city(entry)
    if nc is None:
        return None
    return next((f for f in cat.foods.get(nc[1], []) if f.name == nc[0]), None)


def _stay(cat: Catalog, entry: str) -> Stay | None:
    nc = name_city(entry)
    if nc is None:
        return None
    return next((s for s in cat.stays.get(nc[1], []) if s.name == nc[0]), None)


def _cost(plan: list[PlanDay], req: Request, cat: Catalog) -> float | None:
    """The plan's cost from the prices it has seen; None when something is not priced."""
    total = 0.0
    for d in plan:
        t = d.transportation or "-"
        mode = transport_mode(t)
        if mode == "flight":
            fare = next((f for f in cat.fares if f.number in t), None)
            if fare is None:
                return None
            total += fare.price * req.people
        elif mode is not None:
            drive = next(
                (x for x in cat.drives if x.mode == mode and f"from {x.org} to {x.dest}" in t), None
            )
            if drive is None:
                return None
            total += drive.cost * math.ceil(req.people / (5 if mode == "self-driving" else 4))
        for meal in MEALS:
            value = getattr(d, meal)
            if filled(value):
                food = _food(cat, value or "")
                if food is None:
                    return None
                total += food.cost * req.people
        if filled(d.accommodation):
            stay = _stay(cat, d.accommodation or "")
            if stay is None:
                return None
            total += stay.price * math.ceil(req.people / stay.occupancy)
    return total


def audit(plan: list[PlanDay] | None, req: Request, cat: Catalog) -> dict[str, bool | None]:
    """check -> True (holds), False (visibly broken) or None (cannot tell / not asked for)."""
    if plan is None:
        return {"days": False}
    meals = [getattr(d, m) for d in plan for m in MEALS if filled(getattr(d, m))]
    sights = [a for d in plan for a in attraction_list(d.attraction)]
    travel = [d for d in plan if (d.current_city or "").startswith("from ")]
    stays = [
        s for d in plan if filled(d.accommodation) for s in [_stay(cat, d.accommodation or "")]
    ]
    out: dict[str, bool | None] = {
        "days": len(plan) == req.days and [d.days for d in plan] == list(range(1, req.days + 1)),
        "diversity": len(set(meals)) == len(meals) and len(set(sights)) == len(sights),
        "route": bool(plan)
        and (plan[0].current_city or "").startswith(f"from {req.org} ")
        and (plan[-1].current_city or "").endswith(f"to {req.org}"),
        "transport": all(filled(d.transportation) for d in travel),
        "room": None,
        "cuisine": None,
        "transport_rule": None,
        "budget": None,
    }
    if req.room_rule and stays and all(stays):
        out["room"] = all(
            (not req.room_type or room_type_matches(req.room_type, s.room_type))
            and not (req.house_rule and f"No {req.house_rule}" in s.house_rules)
            for s in stays
            if s is not None
        )
    if req.cuisines:
        foods = [f for f in (_food(cat, m or "") for m in meals) if f is not None]
        out["cuisine"] = all(any(c in f.cuisines for f in foods) for c in req.cuisines)
    if req.transport_rule:
        modes = {transport_mode(d.transportation) for d in plan}
        out["transport_rule"] = not (
            (req.no_flight and "flight" in modes) or (req.no_drive and "self-driving" in modes)
        )
    cost = _cost(plan, req, cat) if req.budget is not None else None
    if cost is not None and req.budget is not None:
        out["budget"] = cost <= req.budget
    return out
