"""A cheap feasible plan for a query: the proof that a query can be met, and the reference plan.

The plan has the standard shape (two nights per visited city, travel on days 1, 3, 5 and the last)
and meets every commonsense and hard constraint by construction. The search is sound, not
complete: a returned plan is valid, a None only says this search found none within budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise, permutations

from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.schema import (
    SELF_DRIVING_SEATS,
    TAXI_SEATS,
    Accommodation,
    Attraction,
    Query,
    Restaurant,
    room_type_matches,
)

NIGHTS_PER_CITY = 2
PLAN_KEYS = (
    "days", "current_city", "transportation", "breakfast", "attraction", "lunch", "dinner",
    "accommodation",
)  # fmt: skip
_MAX_CANDIDATE_CITIES = 6  # route search over the cheapest few cities of the state


@dataclass
class Leg:
    text: str
    cost: int
    kind: str  # "Flight" | "Self-driving" | "Taxi"


@dataclass
class Solution:
    route: list[str]
    plan: list[dict[str, str]]
    cost: int
    text: str = ""
    breakdown: dict[str, int] = field(default_factory=dict)


def candidate_cities(query: Query, db: Database) -> list[str]:
    if query.days == 3:
        return [query.dest] if db.state_of(query.dest) else []
    return [c for c in db.cities(query.dest) if c != query.org]


def cheapest_plan(query: Query, db: Database) -> Solution | None:
    """The cheapest plan this search finds, ignoring the budget; None if none meets the rest."""
    n = query.visiting_city_number
    stays = {c: _stay(query, db, c) for c in candidate_cities(query, db)}
    usable = sorted((c for c in stays if stays[c] is not None), key=lambda c: stays[c][1])
    usable = usable[:_MAX_CANDIDATE_CITIES]
    best: Solution | None = None
    for route in permutations(usable, n):
        sol = _plan_for_route(query, db, list(route), stays)
        if sol is not None and (best is None or sol.cost < best.cost):
            best = sol
    return best


def solve(query: Query, db: Database) -> Solution | None:
    """A plan meeting every constraint within the query's budget, or None."""
    sol = cheapest_plan(query, db)
    return sol if sol is not None and sol.cost <= query.budget else None


def _stay(query: Query, db: Database, city: str) -> tuple[Accommodation, int] | None:
    lc = query.local_constraint
    best = None
    for a in db.accommodations(city):
        if a.minimum_nights > NIGHTS_PER_CITY:
            continue
        if lc.house_rule and not a.allows(lc.house_rule):
            continue
        if lc.room_type and not room_type_matches(lc.room_type, a.room_type):
            continue
        cost = a.price * math.ceil(query.people_number / a.maximum_occupancy) * NIGHTS_PER_CITY
        if best is None or cost < best[1]:
            best = (a, cost)
    return best


def _legs(query: Query, db: Database, route: list[str]) -> list[Leg] | None:
    """Cheapest transport for every leg without mixing self-driving with flights or taxis."""
    stops = [query.org, *route, query.org]
    dates = [query.date[2 * i] for i in range(len(route))] + [query.date[-1]]
    people = query.people_number
    banned = query.local_constraint.transportation
    families: list[list[Leg]] = []
    if banned != "no self-driving":
        drive = [_drive(db, a, b, "self-driving", people) for a, b in pairwise(stops)]
        if all(drive):
            families.append(drive)  # type: ignore[arg-type]
    other: list[Leg] = []
    for (a, b), day in zip(pairwise(stops), dates, strict=True):
        options = [leg for leg in (_drive(db, a, b, "taxi", people),) if leg]
        if banned != "no flight":
            flights = db.flights(a, b, day)
            if flights:
                f = min(flights, key=lambda f: f.price)
                options.append(Leg(
                    f"Flight Number: {f.flight_number}, from {a} to {b}, "
                    f"Departure Time: {f.dep_time}, Arrival Time: {f.arr_time}",
                    f.price * people, "Flight",
                ))  # fmt: skip
        if not options:
            other = []
            break
        other.append(min(options, key=lambda leg: leg.cost))
    if len(other) == len(stops) - 1:
        families.append(other)
    return min(families, key=lambda legs: sum(leg.cost for leg in legs)) if families else None


def _drive(db: Database, a: str, b: str, mode: str, people: int) -> Leg | None:
    entry = db.distance(a, b, mode)
    if entry is None:
        return None
    seats = SELF_DRIVING_SEATS if mode == "self-driving" else TAXI_SEATS
    label = "Self-driving" if mode == "self-driving" else "Taxi"
    text = (
        f"{label}, from {a} to {b}, Duration: {entry.duration}, Distance: {entry.distance}, "
        f"Cost: {entry.cost}"
    )
    return Leg(text, entry.cost * math.ceil(people / seats), label)


def _meal_cities(route: list[str], days: int) -> list[list[str]]:
    """The city of each day's breakfast, lunch and dinner (travel days: leave after breakfast)."""
    out = []
    for d in range(days):
        here = route[min(d // 2, len(route) - 1)]
        if d % 2 == 0 and 0 < d < days - 1:  # from route[d//2 - 1] to route[d//2]
            out.append([route[d // 2 - 1], here, here])
        else:
            out.append([here, here, here])
    return out


def _meals(
    query: Query, db: Database, slots: list[list[str]]
) -> tuple[list[list[Restaurant]], int] | None:
    """Distinct restaurants for every slot, covering the wanted cuisines, cheaply (greedy)."""
    need: dict[str, int] = {}
    for day in slots:
        for city in day:
            need[city] = need.get(city, 0) + 1
    chosen: dict[str, list[Restaurant]] = {}
    for city, k in need.items():
        pool = sorted(db.restaurants(city), key=lambda r: (r.average_cost, r.name))
        if len(pool) < k:
            return None
        chosen[city] = pool[:k]
    for cuisine in query.local_constraint.cuisine or []:
        if any(r.serves(cuisine) for rs in chosen.values() for r in rs):
            continue
        swap = None  # (extra cost, city, index to replace, replacement)
        for city, rs in chosen.items():
            names = {r.name for r in rs}
            cands = [r for r in db.restaurants(city) if r.serves(cuisine) and r.name not in names]
            if not cands:
                continue
            new = min(cands, key=lambda r: r.average_cost)
            # Replace the dearest pick that no other wanted cuisine relies on alone.
            for i in sorted(range(len(rs)), key=lambda i: -rs[i].average_cost):
                if not _sole_cover(rs[i], chosen, query):
                    delta = new.average_cost - rs[i].average_cost
                    if swap is None or delta < swap[0]:
                        swap = (delta, city, i, new)
                    break
        if swap is None:
            return None
        chosen[swap[1]][swap[2]] = swap[3]
    queues = {city: list(rs) for city, rs in chosen.items()}
    picks = [[queues[city].pop(0) for city in day] for day in slots]
    cost = sum(r.average_cost for day in picks for r in day) * query.people_number
    return picks, cost


def _sole_cover(r: Restaurant, chosen: dict[str, list[Restaurant]], query: Query) -> bool:
    for cuisine in query.local_constraint.cuisine or []:
        if r.serves(cuisine) and sum(x.serves(cuisine) for rs in chosen.values() for x in rs) == 1:
            return True
    return False


def _plan_for_route(query: Query, db: Database, route: list[str], stays: dict) -> Solution | None:
    legs = _legs(query, db, route)
    slots = _meal_cities(route, query.days)
    meals = _meals(query, db, slots)
    sights = _sights(db, route, query.days)
    if legs is None or meals is None or sights is None:
        return None
    picks, meal_cost = meals
    plan = []
    leg_of_day = {0: 0, **{2 * i: i for i in range(1, len(route))}, query.days - 1: len(route)}
    for d in range(query.days):
        here = route[min(d // 2, len(route) - 1)]
        if d in leg_of_day:
            stops = [query.org, *route, query.org]
            i = leg_of_day[d]
            current, transport = f"from {stops[i]} to {stops[i + 1]}", legs[i].text
        else:
            current, transport = here, "-"
        stay = "-" if d == query.days - 1 else f"{stays[here][0].name}, {here}"
        b, lu, di = (f"{r.name}, {r.city}" for r in picks[d])
        plan.append({
            "days": str(d + 1), "current_city": current, "transportation": transport,
            "breakfast": b, "attraction": f"{sights[d].name}, {sights[d].city};", "lunch": lu,
            "dinner": di, "accommodation": stay,
        })  # fmt: skip
    breakdown = {
        "transportation": sum(leg.cost for leg in legs),
        "meals": meal_cost,
        "accommodation": sum(stays[c][1] for c in route),
    }
    return Solution(route, plan, sum(breakdown.values()), render_plan(plan), breakdown)


def _sights(db: Database, route: list[str], days: int) -> list[Attraction] | None:
    pools = {c: list(db.attractions(c)) for c in route}
    out = []
    for d in range(days):
        city = route[min(d // 2, len(route) - 1)]
        if not pools[city]:
            return None
        out.append(pools[city].pop(0))
    return out


def render_plan(plan: list[dict[str, str]]) -> str:
    """The official example's text form: 'Day 1:' then one 'Key: value' line per field."""
    labels = {k: k.replace("_", " ").title() for k in PLAN_KEYS[1:]}
    blocks = []
    for day in plan:
        lines = [f"Day {day['days']}:"] + [f"{labels[k]}: {day[k]}" for k in PLAN_KEYS[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
