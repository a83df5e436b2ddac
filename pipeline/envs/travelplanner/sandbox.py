"""A plan resolved against the sandbox database: every entry paired with the row it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pipeline.envs.travelplanner.entries import (
    Mode,
    attraction_list,
    day_cities,
    filled,
    flight_number,
    from_to,
    is_travel_day,
    name_city,
    transport_mode,
)
from pipeline.envs.travelplanner.plan import PlanDay
from pipeline.envs.travelplanner.schema import (
    Accommodation,
    Attraction,
    DistanceEntry,
    Flight,
    Query,
    Restaurant,
)

MEALS = ("breakfast", "lunch", "dinner")
RowT = TypeVar("RowT")


class SandboxLookups(Protocol):
    """The database lookups the evaluator needs (tpdata's Database provides them)."""

    def flights_by_number(self, number: str) -> Flight | None: ...
    def distance(self, org: str, dest: str, mode: str) -> DistanceEntry | None: ...
    def accommodation(self, name: str, city: str) -> Accommodation | None: ...
    def restaurant(self, name: str, city: str) -> Restaurant | None: ...
    def attraction(self, name: str, city: str) -> Attraction | None: ...
    def cities(self, state: str) -> list[str]: ...
    def state_of(self, city: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Entry(Generic[RowT]):
    """One 'Name, City' value of the plan and the database row it names (None: not found)."""

    text: str
    name_city: tuple[str, str] | None
    row: RowT | None

    @property
    def city(self) -> str | None:
        return self.name_city[1] if self.name_city else None

    def key(self) -> str:
        """Identity for repetition checks: name and city, case and spacing folded."""
        parts = self.name_city or (self.text,)
        return "\x1f".join(" ".join(p.split()).casefold() for p in parts)


@dataclass(frozen=True, slots=True)
class Leg:
    """A day's transportation entry: its mode, route and the flight or distance row found."""

    text: str
    mode: Mode | None
    route: tuple[str, str] | None
    number: str | None = None
    flight: Flight | None = None
    drive: DistanceEntry | None = None


@dataclass(slots=True)
class DayView:
    index: int  # 0-based
    day: PlanDay
    cities: list[str]
    travel: bool
    leg: Leg | None = None
    meals: dict[str, Entry[Restaurant]] = field(default_factory=dict)
    attractions: list[Entry[Attraction]] = field(default_factory=list)
    stay: Entry[Accommodation] | None = None


def _entry(text: str, find: Callable[[str, str], RowT | None]) -> Entry[RowT]:
    nc = name_city(text)
    row = find(*nc) if nc else None
    return Entry(text=text, name_city=nc, row=row)


def _leg(day: PlanDay, db: SandboxLookups) -> Leg | None:
    text = day.transportation
    if not filled(text):
        return None
    assert text is not None
    mode = transport_mode(text)
    route = from_to(text) or (from_to(day.current_city) if day.current_city else None)
    if mode == "flight":
        number = flight_number(text)
        flight = db.flights_by_number(number) if number else None
        return Leg(text=text, mode=mode, route=route, number=number, flight=flight)
    if mode in ("self-driving", "taxi") and route:
        return Leg(text=text, mode=mode, route=route, drive=db.distance(*route, mode))
    return Leg(text=text, mode=mode, route=route)


def resolve(plan: list[PlanDay], query: Query, db: SandboxLookups) -> list[DayView]:
    """The first `query.days` days of the plan with every entry looked up once."""
    views = []
    for i, day in enumerate(plan[: query.days]):
        view = DayView(
            index=i,
            day=day,
            cities=day_cities(day.current_city),
            travel=is_travel_day(day.current_city),
        )
        view.leg = _leg(day, db)
        for meal in MEALS:
            text = getattr(day, meal)
            if filled(text):
                view.meals[meal] = _entry(text, db.restaurant)
        view.attractions = [_entry(a, db.attraction) for a in attraction_list(day.attraction)]
        if filled(day.accommodation):
            assert day.accommodation is not None
            view.stay = _entry(day.accommodation, db.accommodation)
        views.append(view)
    return views
