"""Sole-planning's given information: the tool results a diligent agent would have noted."""

from __future__ import annotations

from itertools import pairwise

from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.schema import Query
from pipeline.envs.travelplanner.solver import candidate_cities, cheapest_plan
from pipeline.envs.travelplanner.tools import Toolbox, render_information


def reference_information(query: Query, db: Database) -> str:
    """Flights and drives for each leg, then stays, restaurants and sights of each city.

    The cities are the solver's route plus, for multi-city trips, one more city of the state, so
    the planner still has a choice to make.
    """
    if query.reference_information:
        return query.reference_information
    sol = cheapest_plan(query, db)
    route = list(sol.route) if sol else candidate_cities(query, db)[: query.visiting_city_number]
    if query.days > 3:
        spare = [c for c in candidate_cities(query, db) if c not in route]
        route_cities = [*route, *spare[:1]]
    else:
        route_cities = route
    tools = Toolbox(db)
    entries: list[tuple[str, str]] = []

    def note(description: str, command: str) -> None:
        entries.append((description, tools.run(command).observation))

    if query.days > 3:
        note(f"Cities in {query.dest}", f"CitySearch[{query.dest}]")
    stops = [query.org, *route, query.org]
    dates = [query.date[2 * i] for i in range(len(route))] + [query.date[-1]]
    for (a, b), day in zip(pairwise(stops), dates, strict=True):
        note(f"Flight from {a} to {b} on {day}", f"FlightSearch[{a}, {b}, {day}]")
        note(f"Self-driving from {a} to {b}", f"GoogleDistanceMatrix[{a}, {b}, self-driving]")
        note(f"Taxi from {a} to {b}", f"GoogleDistanceMatrix[{a}, {b}, taxi]")
    for city in route_cities:
        note(f"Attractions in {city}", f"AttractionSearch[{city}]")
        note(f"Restaurants in {city}", f"RestaurantSearch[{city}]")
        note(f"Accommodations in {city}", f"AccommodationSearch[{city}]")
    return render_information(entries)
