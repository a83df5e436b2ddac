"""A hand-made sandbox database and a valid 3-day plan over it, for the evaluator tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from pipeline.envs.travelplanner.schema import (
    Accommodation,
    Attraction,
    DistanceEntry,
    Flight,
    LocalConstraint,
    Query,
    Restaurant,
)

STATES = {
    "Ithaca": "New York",
    "Syracuse": "New York",
    "Charlotte": "North Carolina",
    "Raleigh": "North Carolina",
    "Asheville": "North Carolina",
}


def _flight(number: str, org: str, dest: str, date: str, price: int) -> Flight:
    return Flight(
        flight_number=number,
        price=price,
        dep_time="08:00",
        arr_time="10:00",
        actual_elapsed_time="2 hours 0 minutes",
        flight_date=date,
        origin_city_name=org,
        dest_city_name=dest,
        distance=500.0,
    )


def _stay(
    name: str, city: str, room: str, rules: str, price: int, nights: int = 1
) -> Accommodation:
    return Accommodation(
        name=name,
        price=price,
        room_type=room,
        house_rules=rules,
        minimum_nights=nights,
        maximum_occupancy=2,
        review_rate_number=4.0,
        city=city,
    )


def _food(name: str, city: str, cuisines: str, cost: int) -> Restaurant:
    return Restaurant(
        name=name, average_cost=cost, cuisines=cuisines, aggregate_rating=4.0, city=city
    )


def _sight(name: str, city: str) -> Attraction:
    return Attraction(
        name=name, latitude=0.0, longitude=0.0, address="-", phone="-", website="-", city=city
    )


class TinyDB:
    """Exact-match lookups over a few rows, shaped like tpdata's Database."""

    def __init__(self) -> None:
        self.flights_ = [
            _flight("F100", "Ithaca", "Charlotte", "2022-03-08", 200),
            _flight("F101", "Charlotte", "Ithaca", "2022-03-10", 210),
            _flight("F102", "Charlotte", "Ithaca", "2022-03-11", 190),
            _flight("F200", "Ithaca", "Raleigh", "2022-03-08", 150),
            _flight("F201", "Raleigh", "Ithaca", "2022-03-10", 150),
        ]
        self.stays = [
            _stay("Queen City Loft", "Charlotte", "Entire home/apt", "No smoking", 120),
            _stay("Uptown Spare Room", "Charlotte", "Private room", "No pets", 60),
            _stay("Long Stay Suites", "Charlotte", "Entire home/apt", "", 80, nights=3),
            _stay("Oak City Bunk", "Raleigh", "Shared room", "", 30),
        ]
        self.foods = [
            _food("Olive Tree Cafe", "Charlotte", "Mediterranean, Cafe", 20),
            _food("Bombay Vada Pav", "Charlotte", "Indian, Fast Food", 15),
            _food("Dragon Bowl", "Charlotte", "Chinese", 18),
            _food("Little Roma", "Charlotte", "Italian, Pizza", 25),
            _food("Smoky Pit", "Charlotte", "American, BBQ", 30),
            _food("Le Petit", "Charlotte", "French, Bakery", 22),
            _food("Queen Burger", "Charlotte", "American", 16),
            _food("Noda Noodles", "Charlotte", "Chinese, Thai", 17),
            _food("Cafe Ithaca", "Ithaca", "Mexican, Cafe", 10),
            _food("Capital Grill", "Raleigh", "American", 28),
            _food("Raleigh Noodles", "Raleigh", "Chinese", 14),
            _food("Triangle Tacos", "Raleigh", "Mexican", 12),
            _food("Oak Bakery", "Raleigh", "French, Bakery", 11),
        ]
        self.sights = [
            _sight("The Mint Museum", "Charlotte"),
            _sight("Romare Bearden Park", "Charlotte"),
            _sight("Discovery Place", "Charlotte"),
            _sight("NC Museum of Art", "Raleigh"),
            _sight("Pullen Park", "Raleigh"),
        ]
        self.drives = [
            DistanceEntry(
                origin=a,
                destination=b,
                mode=mode,
                duration="9 hours 30 mins",
                distance="900 km",
                distance_km=900.0,
                cost=45 if mode == "self-driving" else 900,
            )
            for a, b in (("Ithaca", "Charlotte"), ("Charlotte", "Ithaca"))
            for mode in ("self-driving", "taxi")
        ]

    def flights_by_number(self, number: str) -> Flight | None:
        return next((f for f in self.flights_ if f.flight_number == number), None)

    def flights(self, org: str, dest: str, date: str) -> list[Flight]:
        return [
            f
            for f in self.flights_
            if (f.origin_city_name, f.dest_city_name, f.flight_date) == (org, dest, date)
        ]

    def distance(self, org: str, dest: str, mode: str) -> DistanceEntry | None:
        return next(
            (d for d in self.drives if (d.origin, d.destination, d.mode) == (org, dest, mode)), None
        )

    def accommodation(self, name: str, city: str) -> Accommodation | None:
        return next((a for a in self.stays if (a.name, a.city) == (name, city)), None)

    def accommodations(self, city: str) -> list[Accommodation]:
        return [a for a in self.stays if a.city == city]

    def restaurant(self, name: str, city: str) -> Restaurant | None:
        return next((r for r in self.foods if (r.name, r.city) == (name, city)), None)

    def restaurants(self, city: str) -> list[Restaurant]:
        return [r for r in self.foods if r.city == city]

    def attraction(self, name: str, city: str) -> Attraction | None:
        return next((a for a in self.sights if (a.name, a.city) == (name, city)), None)

    def attractions(self, city: str) -> list[Attraction]:
        return [a for a in self.sights if a.city == city]

    def cities(self, state: str) -> list[str]:
        return [c for c, s in STATES.items() if s == state]

    def state_of(self, city: str) -> str | None:
        return STATES.get(city)

    def all_cities(self) -> list[str]:
        return list(STATES)


def query(**changes: Any) -> Query:
    base: dict[str, Any] = {
        "org": "Ithaca",
        "dest": "Charlotte",
        "days": 3,
        "visiting_city_number": 1,
        "date": ["2022-03-08", "2022-03-09", "2022-03-10"],
        "people_number": 2,
        "local_constraint": LocalConstraint(),
        "budget": 5000,
        "level": "easy",
        "query": "A 3-day trip for 2 from Ithaca to Charlotte, March 8th to 10th 2022.",
    }
    lc = changes.pop("local_constraint", None)
    if lc is not None:
        base["local_constraint"] = LocalConstraint.model_validate(lc)
    return Query(**(base | changes))


VALID_PLAN: list[dict[str, Any]] = [
    {
        "days": 1,
        "current_city": "from Ithaca to Charlotte",
        "transportation": "Flight Number: F100, from Ithaca to Charlotte, Departure Time: 08:00, "
        "Arrival Time: 10:00",
        "breakfast": "-",
        "attraction": "The Mint Museum, Charlotte;",
        "lunch": "Olive Tree Cafe, Charlotte",
        "dinner": "Bombay Vada Pav, Charlotte",
        "accommodation": "Queen City Loft, Charlotte",
    },
    {
        "days": 2,
        "current_city": "Charlotte",
        "transportation": "-",
        "breakfast": "Dragon Bowl, Charlotte",
        "attraction": "Romare Bearden Park, Charlotte;Discovery Place, Charlotte;",
        "lunch": "Little Roma, Charlotte",
        "dinner": "Smoky Pit, Charlotte",
        "accommodation": "Queen City Loft, Charlotte",
    },
    {
        "days": 3,
        "current_city": "from Charlotte to Ithaca",
        "transportation": "Flight Number: F101, from Charlotte to Ithaca, Departure Time: 08:00, "
        "Arrival Time: 10:00",
        "breakfast": "Le Petit, Charlotte",
        "attraction": "-",
        "lunch": "-",
        "dinner": "-",
        "accommodation": "-",
    },
]
# Flights 2 x (200 + 210), meals 2 x (20 + 15 + 18 + 25 + 30 + 22), rooms 2 nights x 120.
VALID_PLAN_COST = 820 + 260 + 240


def plan_text(edits: dict[tuple[int, str], str] | None = None, drop_day: int | None = None) -> str:
    """VALID_PLAN as JSON with (day index, field) -> value edits applied."""
    plan = copy.deepcopy(VALID_PLAN)
    for (day, field), value in (edits or {}).items():
        plan[day][field] = value
    if drop_day is not None:
        del plan[drop_day]
    return json.dumps(plan)
