"""Query splits: synthetic ones drawn like TravelPlanner's and proven feasible, or official JSONL.

Synthetic draws follow the paper's recipe: equal cells of level x days; easy = one person and a
budget only, medium = one of house rule / cuisine (2) / room type, hard = three of house rule,
cuisine (4), room type, transportation (weights .3/.1/.3/.3); March 2022 dates; the budget from
typical prices x the official multipliers, tightened x0.75 (medium) and x0.5 (hard) per person.
A draw is kept only when the solver finds a plan within that budget.
"""

from __future__ import annotations

import ast
import json
import random
from datetime import date, timedelta
from pathlib import Path

from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.schema import (
    CUISINES,
    HOUSE_RULES,
    LocalConstraint,
    Query,
    room_type_matches,
)
from pipeline.envs.travelplanner.solver import cheapest_plan
from pipeline.errors import MempError

QUERY_VERSION = 1
SPLIT_SIZES = {"train": 45, "validation": 180, "test": 1000}
LEVELS = ("easy", "medium", "hard")
DAYS = (3, 5, 7)
VISITING = {3: 1, 5: 2, 7: 3}
_MULTIPLIERS = {3: (2, 3, 9), 5: (3, 5, 15), 7: (4, 7, 21)}  # flight, hotel, restaurant
_TIGHTEN = {"easy": 1.0, "medium": 0.75, "hard": 0.5}
_HARD_KINDS = (("house rule", 0.3), ("cuisine", 0.1), ("room type", 0.3), ("transportation", 0.3))
_MAX_DRAWS = 400  # per query; far above the observed rejection rate


class QueryError(MempError, ValueError):
    pass


def load_official(path: str | Path) -> list[Query]:
    """An official query file (JSONL; dict-valued fields may be Python reprs, as published)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            for key in ("local_constraint", "date"):
                if isinstance(rec.get(key), str):
                    rec[key] = ast.literal_eval(rec[key])
            if isinstance(rec.get("reference_information"), list | dict):
                rec["reference_information"] = str(rec["reference_information"])
            out.append(Query.model_validate(rec))
        except (ValueError, SyntaxError) as err:
            raise QueryError(f"{path}:{n}: not a TravelPlanner query: {err}") from None
    return out


def split_queries(
    db: Database, split: str, seed: int, cache_dir: Path | None = None
) -> list[Query]:
    """The synthetic split, generated once per database and seed and cached as JSONL."""
    if split not in SPLIT_SIZES:
        raise QueryError(f"unknown travelplanner split {split!r}; one of {', '.join(SPLIT_SIZES)}")
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"{db.path.stem}-queries-v{QUERY_VERSION}-seed{seed}-{split}.jsonl"
        if cache.is_file():
            return [Query.model_validate_json(x) for x in cache.read_text().splitlines() if x]
    queries = generate(db, split, seed)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text("".join(q.model_dump_json(by_alias=True) + "\n" for q in queries))
        tmp.replace(cache)
    return queries


def generate(db: Database, split: str, seed: int) -> list[Query]:
    rng = random.Random(f"travelplanner-queries-{QUERY_VERSION}-{seed}-{split}")
    cells = [(level, days) for level in LEVELS for days in DAYS]
    total = SPLIT_SIZES[split]
    counts = [total // len(cells) + (i < total % len(cells)) for i in range(len(cells))]
    out: list[Query] = []
    for (level, days), count in zip(cells, counts, strict=True):
        for _ in range(count):
            out.append(_draw_feasible(db, rng, level, days, out))
    return out


def _draw_feasible(
    db: Database, rng: random.Random, level: str, days: int, taken: list[Query]
) -> Query:
    for _ in range(_MAX_DRAWS):
        q = _draw(db, rng, level, days)
        if q is None or q in taken:
            continue
        sol = cheapest_plan(q, db)
        if sol is not None and sol.cost <= q.budget:
            return q
    raise QueryError(f"no feasible {level} {days}-day query in {_MAX_DRAWS} draws")


def _draw(db: Database, rng: random.Random, level: str, days: int) -> Query | None:
    start = rng.randint(0, 31 - days)
    dates = [(date(2022, 3, 1) + timedelta(days=start + i)).isoformat() for i in range(days)]
    cities = db.all_cities()
    org = rng.choice(cities)
    if days == 3:
        dest = rng.choice(cities)
        if db.state_of(dest) == db.state_of(org):
            return None
    else:
        dest = rng.choice(db.states())
        if dest == db.state_of(org) or len(db.cities(dest)) <= 3:
            return None
    people = 1 if level == "easy" else rng.choice(rng.choice([[2], [3, 4, 5, 6, 7, 8]]))
    lc = _constraints(rng, level, people)
    budget = _budget(db, org, dest, days, dates, people, lc, level)
    if budget is None:
        return None
    base = Query(org=org, dest=dest, days=days, visiting_city_number=VISITING[days], date=dates,
                 people_number=people, local_constraint=lc, budget=budget, level=level,
                 query="")  # fmt: skip
    return base.model_copy(update={"query": describe(base, rng)})


def _constraints(rng: random.Random, level: str, people: int) -> LocalConstraint:
    if level == "easy":
        return LocalConstraint()
    if level == "medium":
        kinds = [rng.choice(["house rule", "cuisine", "room type"])]
    else:
        pool = list(_HARD_KINDS)
        kinds = []
        for _ in range(3):
            pick = rng.choices(pool, weights=[w for _, w in pool])[0]
            pool.remove(pick)
            kinds.append(pick[0])
    values: dict[str, object] = {}
    for kind in kinds:
        if kind == "house rule":
            values["house rule"] = rng.choice(HOUSE_RULES)
        elif kind == "cuisine":
            values["cuisine"] = rng.sample(CUISINES, 2 if level == "medium" else 4)
        elif kind == "room type":
            shared_ok = people <= 2
            choices = ["shared room", "not shared room"] * shared_ok + [
                "private room",
                "entire room",
            ]
            values["room type"] = rng.choice(choices)
        else:
            values["transportation"] = rng.choice(["no flight", "no self-driving"])
    return LocalConstraint.model_validate(values)


def _budget(
    db: Database, org: str, dest: str, days: int, dates: list[str], people: int,
    lc: LocalConstraint, level: str,
) -> int | None:  # fmt: skip
    """Typical prices x the official multipliers (lowest/average/highest blend by trip length)."""
    targets = [dest] if days == 3 else db.cities(dest)
    flights = [f.price for c in targets for d in dates for f in db.flights(org, c, d)]
    hotels = [
        a.price for c in targets for a in db.accommodations(c)
        if a.maximum_occupancy >= people
        and (lc.house_rule is None or a.allows(lc.house_rule))
        and (lc.room_type is None or room_type_matches(lc.room_type, a.room_type))
    ]  # fmt: skip
    meals = [r.average_cost for c in targets for r in db.restaurants(c)]
    if not flights or not hotels or not meals:
        return None
    fm, hm, rm = _MULTIPLIERS[days]
    total = {
        mode: fm * pick(flights) + hm * pick(hotels) + rm * pick(meals)
        for mode, pick in (("lowest", min), ("highest", max), ("average", _mean))
    }
    if days == 3:
        typical = (total["average"] + total["lowest"]) / 2
    elif days == 5:
        typical = total["average"]
    else:
        typical = _hundreds((total["average"] + total["highest"]) / 2)
    scale = 1 if level == "easy" else people * _TIGHTEN[level]
    return int(_hundreds(typical * scale))


def _mean(xs: list[int]) -> float:
    return sum(xs) / len(xs)


def _hundreds(x: float) -> float:
    return round(x / 100) * 100


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _when(dates: list[str]) -> str:
    a, b = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    return f"from {a:%B} {_ordinal(a.day)} to {b:%B} {_ordinal(b.day)}, {b.year}"


_RULE_TEXT = {
    "parties": "The accommodation must allow parties.",
    "smoking": "We need accommodations where smoking is allowed.",
    "children under 10": "We are bringing children under 10, so the stay must welcome them.",
    "visitors": "Our accommodation should allow visitors.",
    "pets": "We travel with a pet, so the accommodation must allow pets.",
}
_ROOM_TEXT = {
    "shared room": "We are happy to stay in shared rooms.",
    "not shared room": "We do not want shared rooms.",
    "private room": "We would like private rooms.",
    "entire room": "We want entire homes or apartments to ourselves.",
}
_TRANSPORT_TEXT = {
    "no flight": "Please do not plan any flights.",
    "no self-driving": "We would rather not drive ourselves.",
}


def describe(q: Query, rng: random.Random) -> str:
    """The natural-language request for a query's fields."""
    who = "one person" if q.people_number == 1 else f"a group of {q.people_number}"
    if q.days == 3:
        where = f"from {q.org} to {q.dest}"
    else:
        where = f"from {q.org} visiting {q.visiting_city_number} cities in {q.dest}"
    openers = (
        f"Could you create a {q.days}-day travel plan for {who} {where}, {_when(q.date)}, "
        f"with a budget of ${q.budget:,}?",
        f"Please plan a {q.days}-day trip for {who} {where}, {_when(q.date)}. "
        f"The budget is ${q.budget:,}.",
    )
    parts = [rng.choice(openers)]
    lc = q.local_constraint
    if lc.house_rule:
        parts.append(_RULE_TEXT[lc.house_rule])
    if lc.room_type:
        parts.append(_ROOM_TEXT[lc.room_type])
    if lc.cuisine:
        names = ", ".join(lc.cuisine[:-1]) + f" and {lc.cuisine[-1]}"
        parts.append(f"We would like to try {names} cuisine during the trip.")
    if lc.transportation:
        parts.append(_TRANSPORT_TEXT[lc.transportation])
    return " ".join(parts)
