"""TravelPlanner's records: database rows (official CSV columns in snake_case) and the query.

Flight: flight_number, price (USD per person), dep_time, arr_time ("HH:MM"),
  actual_elapsed_time ("2 hours 8 minutes"), flight_date ("YYYY-MM-DD"), origin_city_name,
  dest_city_name, distance (miles).
Accommodation: name, price (USD per night per room), room_type ("Entire home/apt" | "Private room" |
  "Shared room"), house_rules ("No parties & No smoking", "" when none), minimum_nights,
  maximum_occupancy (people per room), review_rate_number, city.
Restaurant: name, average_cost (USD per person per meal), cuisines ("Chinese, Cafe, ..."),
  aggregate_rating, city.
Attraction: name, latitude, longitude, address, phone, website, city.
DistanceEntry: origin, destination, mode ("self-driving" | "taxi"), duration ("5 hours 3 mins"),
  distance ("321 km"), distance_km, cost (USD per car: self-driving 5 people a car, taxi 4).
Query: org, dest (a city for 3 days, a state for 5/7), days, visiting_city_number, date,
  people_number, local_constraint, budget, level, query (the natural-language request).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoomType = Literal["Entire home/apt", "Private room", "Shared room"]
Mode = Literal["self-driving", "taxi"]
Level = Literal["easy", "medium", "hard"]

HOUSE_RULES = ("parties", "smoking", "children under 10", "visitors", "pets")
CUISINES = ("Chinese", "American", "Italian", "Mexican", "Indian", "Mediterranean", "French")
ROOM_TYPE_CONSTRAINTS = ("shared room", "not shared room", "private room", "entire room")
TRANSPORTATION_CONSTRAINTS = ("no flight", "no self-driving")
SELF_DRIVING_SEATS = 5
TAXI_SEATS = 4


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flight(_Row):
    flight_number: str
    price: int
    dep_time: str
    arr_time: str
    actual_elapsed_time: str
    flight_date: str
    origin_city_name: str
    dest_city_name: str
    distance: float


class Accommodation(_Row):
    name: str
    price: int
    room_type: str
    house_rules: str
    minimum_nights: int
    maximum_occupancy: int
    review_rate_number: float
    city: str

    def allows(self, rule: str) -> bool:
        """True unless the house rules say "No <rule>" (TravelPlanner's room-rule reading)."""
        return f"No {rule}" not in self.house_rules


class Restaurant(_Row):
    name: str
    average_cost: int
    cuisines: str
    aggregate_rating: float
    city: str

    def serves(self, cuisine: str) -> bool:
        return cuisine in self.cuisines


class Attraction(_Row):
    name: str
    latitude: float
    longitude: float
    address: str
    phone: str
    website: str
    city: str


class DistanceEntry(_Row):
    origin: str
    destination: str
    mode: Mode
    duration: str
    distance: str
    distance_km: float
    cost: int


def room_type_matches(constraint: str, room_type: str) -> bool:
    """TravelPlanner's room-type rule: the query's wording against the database's room type."""
    if constraint == "not shared room":
        return room_type != "Shared room"
    wanted = {
        "shared room": "Shared room",
        "private room": "Private room",
        "entire room": "Entire home/apt",
    }
    return wanted.get(constraint) == room_type


class LocalConstraint(BaseModel):
    """The query's hard constraints; None means unconstrained. Official keys contain spaces."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    house_rule: str | None = Field(None, alias="house rule")
    cuisine: list[str] | None = None
    room_type: str | None = Field(None, alias="room type")
    transportation: str | None = None

    def count(self) -> int:
        return sum(
            v is not None
            for v in (self.house_rule, self.cuisine, self.room_type, self.transportation)
        )


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    org: str
    dest: str
    days: int
    visiting_city_number: int
    date: list[str]
    people_number: int
    local_constraint: LocalConstraint = Field(default_factory=LocalConstraint)
    budget: int
    level: Level
    query: str
    reference_information: str | None = None  # sole-planning's given information, when provided
