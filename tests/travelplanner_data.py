"""Shared TravelPlanner test data: the synthetic database built once per machine, a tiny CSV one."""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path

from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.schema import Query, room_type_matches
from pipeline.envs.travelplanner.sources import synthetic_database

# Keyed by generator version inside, so a stale file is never reused.
CACHE = Path(tempfile.gettempdir()) / f"memp-tests-travelplanner-{os.getuid()}"


def shared_db(seed: int = 0) -> Database:
    return synthetic_database(seed, CACHE)


TINY_CITIES = [("Alder", "Avalon"), ("Brook", "Avalon"), ("Cove", "Borealis"), ("Dune", "Borealis")]


def write_tiny_csv_db(root: Path) -> Path:
    """An official-layout database directory: two states, four cities, a few rows per table."""
    (root / "background").mkdir(parents=True)
    lines = "\n".join(f"{c}\t{s}" for c, s in TINY_CITIES)
    (root / "background" / "citySet_with_states.txt").write_text(lines + "\n")
    _csv(root / "flights" / "clean_Flights_2022.csv",
         ["", "Flight Number", "Price", "DepTime", "ArrTime", "ActualElapsedTime", "FlightDate",
          "OriginCityName", "DestCityName", "Distance"],
         [[0, "F0000001", 120, "08:00", "10:05", "2 hours 5 minutes", "2022-03-01", "Alder",
           "Cove", 800.0],
          [1, "F0000002", 95, "18:30", "20:35", "2 hours 5 minutes", "2022-03-03", "Cove",
           "Alder", 800.0],
          [2, "F0000003", 300, "07:00", "09:05", "2 hours 5 minutes", "2022-03-01", "Alder",
           "Cove", 800.0],
          [3, "F0000004", "", "07:00", "09:05", "2 hours 5 minutes", "2022-03-01", "Alder",
           "Cove", 800.0]])  # fmt: skip
    _csv(root / "accommodations" / "clean_accommodations_2022.csv",
         ["NAME", "price", "room type", "house_rules", "minimum nights", "maximum occupancy",
          "review rate number", "city"],
         [["Harbor Loft", 200.0, "Entire home/apt", "No smoking", 1.0, 4, 4.0, "Cove"],
          ["Quiet Room", 80.0, "Private room", "No parties & No pets", 2.0, 2, 5.0, "Cove"],
          ["Bunk Spot", 30.0, "Shared room", "No visitors", 3.0, 1, 3.0, "Cove"],
          ["Pine Cabin", 150.0, "Entire home/apt", "No children under 10", 1.0, 5, 4.0,
           "Dune"]])  # fmt: skip
    _csv(root / "restaurants" / "clean_restaurant_2022.csv",
         ["Unnamed: 0", "Name", "Average Cost", "Cuisines", "Aggregate Rating", "City"],
         [[i, f"Eatery {i}", 10 + i, cuisine, 4.0, city]
          for i, (cuisine, city) in enumerate(
              [("Chinese, Tea", "Cove"), ("Italian", "Cove"), ("Mexican, Cafe", "Cove"),
               ("American", "Cove"), ("Indian", "Cove"), ("French", "Cove"),
               ("Pizza", "Cove"), ("BBQ", "Cove"), ("Mediterranean", "Cove"),
               ("Bakery", "Cove"), ("Seafood", "Dune")])])  # fmt: skip
    _csv(root / "attractions" / "attractions.csv",
         ["Name", "Latitude", "Longitude", "Address", "Phone", "Website", "City"],
         [[f"Sight {i}", 40.0 + i / 10, -70.0, f"{i} Main St, Cove", "(555) 000-0000",
           f"https://sight{i}.example", "Cove"] for i in range(4)])  # fmt: skip
    _csv(root / "googleDistanceMatrix" / "distance.csv",
         ["origin", "destination", "cost", "duration", "distance"],
         [["Alder", "Cove", "", "14 hours 30 mins", "1,290 km"],
          ["Cove", "Alder", "", "14 hours 31 mins", "1,291 km"],
          ["Alder", "Dune", "", "1 day 3 hours", "2,600 km"],
          ["Cove", "Dune", "", "45 mins", "60 km"]])  # fmt: skip
    return root


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def plan_problems(query: Query, plan: list[dict[str, str]], db: Database) -> list[str]:
    """An independent check of a solver plan against the rules it must meet (test oracle)."""
    problems: list[str] = []
    lc, people = query.local_constraint, query.people_number
    if len(plan) != query.days:
        problems.append("day count")
    seen_food: set[str] = set()
    seen_sights: set[str] = set()
    kinds: set[str] = set()
    cuisines: set[str] = set()
    cost = 0
    stays: list[str] = []
    for day in plan:
        cur = day["current_city"]
        cities = cur.removeprefix("from ").split(" to ") if cur.startswith("from ") else [cur]
        t = day["transportation"]
        if t != "-":
            if not all(c in t for c in cities):
                problems.append(f"transport cities: {t}")
            kind = t.split(",")[0].split(":")[0]
            kinds.add(kind)
            if kind == "Flight Number":
                f = db.flights_by_number(t.split(": ")[1].split(",")[0])
                if f is None or (f.origin_city_name, f.dest_city_name) != tuple(cities):
                    problems.append(f"flight: {t}")
                else:
                    cost += f.price * people
            else:
                mode = "self-driving" if kind == "Self-driving" else "taxi"
                e = db.distance(cities[0], cities[1], mode)
                seats = 5 if mode == "self-driving" else 4
                cost += e.cost * math.ceil(people / seats) if e else 0
                problems += [] if e else [f"drive: {t}"]
        for meal in ("breakfast", "lunch", "dinner"):
            name, city = day[meal].rsplit(", ", 1)
            r = db.restaurant(name, city)
            if r is None or city not in cities or day[meal] in seen_food:
                problems.append(f"{meal}: {day[meal]}")
                continue
            seen_food.add(day[meal])
            cost += r.average_cost * people
            cuisines |= {c for c in (lc.cuisine or []) if r.serves(c)}
        for sight in filter(None, day["attraction"].split(";")):
            name, city = sight.rsplit(", ", 1)
            if db.attraction(name, city) is None or city not in cities or sight in seen_sights:
                problems.append(f"attraction: {sight}")
            seen_sights.add(sight)
        stays.append(day["accommodation"])
        if day["accommodation"] != "-":
            name, city = day["accommodation"].rsplit(", ", 1)
            a = db.accommodation(name, city)
            if a is None or city != cities[-1]:
                problems.append(f"stay: {day['accommodation']}")
                continue
            cost += a.price * math.ceil(people / a.maximum_occupancy)
            if lc.house_rule and not a.allows(lc.house_rule):
                problems.append("house rule")
            if lc.room_type and not room_type_matches(lc.room_type, a.room_type):
                problems.append("room type")
    for stay in set(stays) - {"-"}:
        a = db.accommodation(*stay.rsplit(", ", 1))
        if a and stays.count(stay) < a.minimum_nights:
            problems.append("minimum nights")
    if "Self-driving" in kinds and len(kinds) > 1:
        problems.append("conflicting transportation")
    if lc.transportation == "no flight" and "Flight Number" in kinds:
        problems.append("flight used")
    if lc.transportation == "no self-driving" and "Self-driving" in kinds:
        problems.append("self-driving used")
    if lc.cuisine and cuisines != set(lc.cuisine):
        problems.append("cuisine")
    if cost > query.budget:
        problems.append(f"cost {cost} > budget {query.budget}")
    return problems
