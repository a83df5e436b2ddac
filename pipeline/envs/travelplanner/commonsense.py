"""TravelPlanner's eight commonsense constraints over a resolved plan (True = pass)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from pipeline.envs.travelplanner.entries import filled
from pipeline.envs.travelplanner.plan import FIELDS, PLACEHOLDER
from pipeline.envs.travelplanner.sandbox import MEALS, DayView, Entry, SandboxLookups
from pipeline.envs.travelplanner.schema import Query

COMMONSENSE = (
    "within_sandbox",
    "complete_information",
    "within_current_city",
    "reasonable_city_route",
    "diverse_restaurants",
    "diverse_attractions",
    "non_conflicting_transportation",
    "minimum_nights",
)
_INFO_FIELDS = tuple(f for f in FIELDS if f != "current_city")


def within_sandbox(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """Every flight, drive, restaurant, attraction and stay named exists in the database."""
    for v in views:
        leg = v.leg
        if leg is not None and leg.mode == "flight":
            f = leg.flight
            if f is None or leg.route is None:
                return False
            if (f.origin_city_name, f.dest_city_name) != leg.route:
                return False
            # Deliberate: the flight must fly on this day's date (the official script ignores it).
            if v.index < len(query.date) and f.flight_date != query.date[v.index]:
                return False
        elif leg is not None and leg.mode is not None and leg.drive is None:
            return False
        entries: list[Entry] = [*v.meals.values(), *v.attractions]
        if v.stay is not None:
            entries.append(v.stay)
        if any(e.row is None for e in entries):
            return False
    return True


def _city_count_ok(query: Query, views: list[DayView]) -> bool:
    cities: set[str] = set()
    for v in views:
        if v.index == 0 and v.travel and v.cities[0] != query.org:
            return False
        cities.update(v.cities)
    cities.discard(query.org)
    return len(cities) == query.visiting_city_number


def complete_information(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """All days planned, the requested number of cities, no needed field left empty."""
    planned = sum(
        1 for v in views if filled(v.day.current_city) and v.day.current_city != PLACEHOLDER
    )
    if planned != query.days or not _city_count_ok(query, views):
        return False
    present = 0
    for v in views:
        d = v.day
        if any(getattr(d, f) is None for f in FIELDS):
            return False
        if v.travel and not d.filled("transportation"):
            return False
        if not v.travel and not d.filled("attraction"):
            return False
        if v.index != query.days - 1 and not d.filled("accommodation"):
            return False
        if not v.travel and not all(d.filled(m) for m in MEALS):
            return False
        present += sum(d.filled(f) for f in _INFO_FIELDS)
    # Deliberate: the official ratio also counts the `days` and `current_city` keys as information.
    return present / (len(_INFO_FIELDS) * query.days) >= 0.5


def _in_cities(entry: Entry, cities: list[str]) -> bool:
    if entry.city is not None:
        return entry.city in cities
    return any(c in entry.text for c in cities)


def within_current_city(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """Meals and sights are in the day's cities, the stay in the city the day ends in."""
    for v in views:
        if not v.cities:
            continue
        if v.leg is not None and not all(c in v.leg.text for c in v.cities):
            return False
        if not all(_in_cities(e, v.cities) for e in (*v.meals.values(), *v.attractions)):
            return False
        if v.stay is not None and not _in_cities(v.stay, v.cities[-1:]):
            return False
    return True


def _valid_sequence(cities: list[str]) -> bool:
    """Each visited city is one consecutive stretch; only the origin may come back (at the end)."""
    if len(cities) < 3:
        return False
    seen: set[str] = set()
    start = 0
    for city, run in itertools.groupby(cities):
        length = len(list(run))
        inside = 0 < start < len(cities) - 1
        if city in seen and inside:
            return False
        if length == 1 and inside:
            return False  # arrived and left on the same day: no stay in that city
        seen.add(city)
        start += length
    return True


def _in_destination(city: str, query: Query, db: SandboxLookups) -> bool:
    if db.cities(query.dest):  # a state: 5- and 7-day trips
        return db.state_of(city) == query.dest
    return city == query.dest  # Deliberate: the official script does not check 3-day trips.


def reasonable_city_route(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """A closed route from the origin through real cities of the destination and back."""
    route: list[str] = []
    for v in views:
        if v.index == 0 and v.travel and v.cities[0] != query.org:
            return False
        route += v.cities
    if not route or route[0] != route[-1] or not _valid_sequence(route):
        return False
    last = len(route) - 1
    return all(
        db.state_of(c) is not None and (i in (0, last) or _in_destination(c, query, db))
        for i, c in enumerate(route)
    )


def _no_repeats(entries: list[Entry]) -> bool:
    keys = [e.key() for e in entries]
    return len(keys) == len(set(keys))


def diverse_restaurants(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    return _no_repeats([e for v in views for e in v.meals.values()])


def diverse_attractions(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    return _no_repeats([e for v in views for e in v.attractions])


def non_conflicting_transportation(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """Day 1 has transportation; no self-driving mixed with flights or taxis."""
    if not views or views[0].leg is None:
        return False
    modes = {v.leg.mode for v in views if v.leg is not None}
    return "self-driving" not in modes or not ({"flight", "taxi"} & modes)


def minimum_nights(query: Query, views: list[DayView], db: SandboxLookups) -> bool:
    """Each stay lasts at least the accommodation's minimum nights."""
    stays = [(v.stay.key() if v.stay else "", v.stay) for v in views]
    for key, run in itertools.groupby(stays, key=lambda s: s[0]):
        nights = list(run)
        stay = nights[0][1]
        if (
            key
            and stay is not None
            and stay.row is not None
            and len(nights) < stay.row.minimum_nights
        ):
            return False
    return True


CHECKS: dict[str, Callable[[Query, list[DayView], SandboxLookups], bool]] = {
    "within_sandbox": within_sandbox,
    "complete_information": complete_information,
    "within_current_city": within_current_city,
    "reasonable_city_route": reasonable_city_route,
    "diverse_restaurants": diverse_restaurants,
    "diverse_attractions": diverse_attractions,
    "non_conflicting_transportation": non_conflicting_transportation,
    "minimum_nights": minimum_nights,
}
