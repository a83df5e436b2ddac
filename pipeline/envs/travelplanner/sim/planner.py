"""The sim's plan writing: a day-by-day plan from what it read, with its drawn mistakes."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from pipeline.envs.travelplanner.plan import PlanDay, render_plan
from pipeline.envs.travelplanner.schema import SELF_DRIVING_SEATS, TAXI_SEATS, room_type_matches
from pipeline.envs.travelplanner.sim.catalog import Catalog, Drive, Food, Stay
from pipeline.envs.travelplanner.sim.request import Request


@dataclass(frozen=True, slots=True)
class Route:
    stops: list[str]  # org, the visited cities, org
    travel_days: list[int]  # day index of each leg

    def city_of(self, day: int) -> str:
        """Where a day without travel is spent: the stop reached by the last leg before it."""
        return self.stops[min(sum(1 for t in self.travel_days if t < day), len(self.stops) - 2)]


def choose_cities(req: Request, cat: Catalog) -> list[str]:
    """The visited cities: the destination, or the first cities of the state it gathered."""
    if not req.dest_is_state:
        return [req.dest]
    listed = cat.state_cities.get(req.dest, [])
    known = [c for c in cat.stays if c != req.org]  # in the order it searched them
    pool = [c for c in known if not listed or c in listed] or known
    pool = pool or [c for c in listed if c != req.org] or [req.dest]
    return pool[: max(1, req.cities)]


def make_route(req: Request, cities: list[str]) -> Route:
    stops = [req.org, *cities, req.org]
    legs = len(stops) - 1
    travel = [min(2 * i, req.days - 1) for i in range(legs - 1)] + [req.days - 1]
    return Route(stops=stops, travel_days=travel)


def _drive_text(mode: str, d) -> str:
    label = "Self-driving" if mode == "self-driving" else "Taxi"
    return (
        f"{label}, from {d.org} to {d.dest}, Duration: {d.duration}, Distance: {d.distance}, "
        f"Cost: {d.cost}"
    )


def _flight_text(f) -> str:
    return (
        f"Flight Number: {f.number}, from {f.org} to {f.dest}, Departure Time: {f.dep}, "
        f"Arrival Time: {f.arr}"
    )


def _drives(cat: Catalog, legs: list[tuple[str, str]], mode: str) -> list[Drive | None]:
    return [cat.drive(a, b, mode) for a, b in legs]


def _options(
    req: Request, cat: Catalog, legs: list[tuple[str, str]], dates: list[str], ignore_rule: bool
) -> list[tuple[list[str], float]]:
    """Whole-trip transportation options it knows of (modes never mixed badly) with their cost."""
    people = req.people
    allow_flight = not req.no_flight or ignore_rule
    allow_drive = not req.no_drive or ignore_rule
    out: list[tuple[list[str], float]] = []
    if allow_flight:
        texts, cost = [], 0.0
        for (a, b), day in zip(legs, dates, strict=True):
            fares = cat.fares_on(a, b, day)
            taxi = cat.drive(a, b, "taxi")
            if fares:
                texts.append(_flight_text(fares[0]))
                cost += fares[0].price * people
            elif taxi:
                texts.append(_drive_text("taxi", taxi))
                cost += taxi.cost * math.ceil(people / TAXI_SEATS)
            else:
                texts.append("-")
                cost += math.inf
        out.append((texts, cost))
    for mode, seats, allowed in (
        ("self-driving", SELF_DRIVING_SEATS, allow_drive),
        ("taxi", TAXI_SEATS, True),
    ):
        drives = _drives(cat, legs, mode)
        if allowed and all(drives):
            cost = sum(d.cost * math.ceil(people / seats) for d in drives if d)
            out.append(([_drive_text(mode, d) for d in drives if d], cost))
    return out


def transport(
    req: Request, cat: Catalog, route: Route, ignore_rule: bool, careless: bool
) -> list[str]:
    """One entry per leg: the cheapest known option, or (careless) the first one that comes up."""
    legs = list(itertools.pairwise(route.stops))
    dates = [req.dates[d] if d < len(req.dates) else "" for d in route.travel_days]
    if req.no_drive and ignore_rule:
        drives = _drives(cat, legs, "self-driving")  # drives anyway: the cheapest way
        if all(drives):
            return [_drive_text("self-driving", d) for d in drives if d]
    options = _options(req, cat, legs, dates, ignore_rule)
    if not options:
        return ["-"] * len(legs)
    if careless or (req.no_flight and ignore_rule and options[0][1] < math.inf):
        return options[0][0]  # the first way that comes up: flights where there are any
    return min(options, key=lambda o: o[1])[0]


def pick_stay(
    req: Request, stays: list[Stay], nights: int, careless_room: bool, lavish: bool
) -> Stay | None:
    def fits(s: Stay) -> bool:
        if s.minimum_nights > nights:
            return False
        if careless_room:
            return True
        if req.room_type and not room_type_matches(req.room_type, s.room_type):
            return False
        return not (req.house_rule and f"No {req.house_rule}" in s.house_rules)

    def group_cost(s: Stay) -> int:
        return s.price * math.ceil(req.people / s.occupancy)

    ok = [s for s in stays if fits(s)] or stays
    if not ok:
        return None
    if careless_room and req.room_rule:
        wrong = [s for s in ok if not _room_ok(req, s)]
        ok = wrong or ok
    return max(ok, key=group_cost) if lavish else min(ok, key=group_cost)


def _room_ok(req: Request, s: Stay) -> bool:
    if req.room_type and not room_type_matches(req.room_type, s.room_type):
        return False
    return not (req.house_rule and f"No {req.house_rule}" in s.house_rules)


def _meal_slots(req: Request, route: Route) -> list[list[tuple[str, str | None]]]:
    """Per day: (meal, city or None for '-')."""
    out = []
    for d in range(req.days):
        if d == 0:
            city = route.stops[1]
            out.append([("breakfast", None), ("lunch", city), ("dinner", city)])
        elif d == req.days - 1:
            city = route.stops[-2]
            out.append([("breakfast", city), ("lunch", city), ("dinner", None)])
        elif d in route.travel_days:
            i = route.travel_days.index(d)
            a, b = route.stops[i], route.stops[i + 1]
            out.append([("breakfast", a), ("lunch", b), ("dinner", b)])
        else:
            city = route.city_of(d)
            out.append([("breakfast", city), ("lunch", city), ("dinner", city)])
    return out


def pick_meals(
    req: Request, cat: Catalog, route: Route, want_cuisines: bool, lavish: bool, rng: random.Random
) -> list[dict[str, str]]:
    slots = _meal_slots(req, route)
    used: set[tuple[str, str]] = set()
    pending = list(req.cuisines) if want_cuisines else list(req.cuisines[:-1])
    # The careless reader drops the last cuisine named and keeps to what it remembers.
    forgotten = req.cuisines[-1] if req.cuisines and not want_cuisines else None
    days: list[dict[str, str]] = []
    for day in slots:
        chosen: dict[str, str] = {}
        for meal, city in day:
            if city is None:
                chosen[meal] = "-"
                continue
            free = [f for f in cat.foods.get(city, []) if (f.name, f.city) not in used]
            if forgotten:
                free = [f for f in free if forgotten not in f.cuisines] or free
            if not free:
                chosen[meal] = "-"
                continue
            pick = _pick_food(free, pending, lavish, rng)
            pending = [c for c in pending if c not in pick.cuisines]
            used.add((pick.name, pick.city))
            chosen[meal] = f"{pick.name}, {pick.city}"
        days.append(chosen)
    return days


def _pick_food(free: list[Food], pending: list[str], lavish: bool, rng: random.Random) -> Food:
    covering = [f for f in free if any(c in f.cuisines for c in pending)]
    pool = covering or free
    if lavish:
        return rng.choice(sorted(pool, key=lambda f: -f.cost)[:3])
    return min(pool, key=lambda f: f.cost)


def write_plan(
    req: Request, cat: Catalog, mistakes: frozenset[str], rng: random.Random
) -> list[PlanDay]:
    """The plan the sim delivers for this request, given what it knows and its mistakes."""
    base = rng.getrandbits(64)  # the mistakes' own streams: one mistake never shifts another
    route = make_route(req, choose_cities(req, cat))
    lavish = "budget_overrun" in mistakes
    legs = transport(req, cat, route, "transport_rule_miss" in mistakes, careless=lavish)
    meals = pick_meals(req, cat, route, "cuisine_miss" not in mistakes, lavish, rng)
    stays: dict[str, Stay | None] = {}
    seen_sights: set[str] = set()
    plan: list[PlanDay] = []
    for d in range(req.days):
        leg = route.travel_days.index(d) if d in route.travel_days else None
        if leg is not None:
            a, b = route.stops[leg], route.stops[leg + 1]
            current, sleep_in, sight_city, transport_text = f"from {a} to {b}", b, b, legs[leg]
        else:
            city = route.city_of(d)
            current, sleep_in, sight_city, transport_text = city, city, city, "-"
        if d == req.days - 1:
            sleep_in, sight_city = "", route.stops[-2]
        if sleep_in and sleep_in not in stays:
            nights = sum(1 for x in range(req.days - 1) if _sleeps_in(route, x, req) == sleep_in)
            stays[sleep_in] = pick_stay(
                req, cat.stays.get(sleep_in, []), nights, "wrong_room" in mistakes, lavish
            )
        stay = stays.get(sleep_in) if sleep_in else None
        count = 1 if leg is not None else 2
        sights = [s for s in cat.sights.get(sight_city, []) if s not in seen_sights][:count]
        seen_sights.update(sights)
        plan.append(
            PlanDay(
                days=d + 1,
                current_city=current,
                transportation=transport_text,
                attraction=";".join(f"{s}, {sight_city}" for s in sights) + ";" if sights else "-",
                accommodation=f"{stay.name}, {stay.city}" if stay else "-",
                **meals[d],
            )
        )
    return _with_mistakes(plan, mistakes, base)


def _sleeps_in(route: Route, day: int, req: Request) -> str:
    if day in route.travel_days:
        i = route.travel_days.index(day)
        return route.stops[i + 1]
    return route.city_of(day)


def _with_mistakes(plan: list[PlanDay], mistakes: frozenset[str], base: int) -> list[PlanDay]:
    plan = [d.model_copy() for d in plan]

    def rng_for(name: str) -> random.Random:
        return random.Random(f"{base}-{name}")

    if "repeat" in mistakes and len(plan) > 1:
        rng = rng_for("repeat")
        first = plan[0]
        later = plan[rng.randrange(1, len(plan))]
        if rng.random() < 0.5 and first.dinner not in (None, "-"):
            target = "lunch" if later.lunch not in (None, "-") else "breakfast"
            setattr(later, target, first.dinner)
        elif first.attraction not in (None, "-"):
            later.attraction = first.attraction
    if "missing_transport" in mistakes:
        travel = [d for d in plan if d.current_city and d.current_city.startswith("from ")]
        if travel:
            rng_for("missing_transport").choice(travel).transportation = "-"
    if "open_route" in mistakes and len(plan) > 1:
        last, before = plan[-1], plan[-2]
        city = (before.current_city or "").split(" to ")[-1]
        last.current_city, last.transportation = city, "-"
        last.dinner = "-"
    if "missing_day" in mistakes and len(plan) > 2:
        del plan[rng_for("missing_day").randrange(1, len(plan) - 1)]
    return plan


def plan_answer(plan: list[PlanDay]) -> str:
    return render_plan(plan)
