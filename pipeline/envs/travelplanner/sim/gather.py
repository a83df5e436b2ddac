"""The sim's information gathering (two-stage): the next tool call, from what it has seen."""

from __future__ import annotations

import random
from itertools import pairwise

from pipeline.envs.travelplanner.sim.catalog import Catalog
from pipeline.envs.travelplanner.sim.request import Request


def _cities(req: Request, cat: Catalog, rng: random.Random) -> list[str]:
    if not req.dest_is_state:
        return [req.dest] if req.dest else []
    listed = [c for c in cat.state_cities.get(req.dest, []) if c != req.org]
    return rng.sample(listed, min(len(listed), max(1, req.cities)))


def _drive_searches(
    cat: Catalog, a: str, b: str, mode: str, also_taxi: bool
) -> list[tuple[str, str]]:
    """A drive for one leg; a taxi too when the drive failed or flights elsewhere rule it out."""
    out = [(f"GoogleDistanceMatrix[{a}, {b}, {mode}]", f"{mode.capitalize()} from {a} to {b}")]
    if mode == "self-driving" and (also_taxi or cat.drive(a, b, mode) is None):
        out.append((f"GoogleDistanceMatrix[{a}, {b}, taxi]", f"Taxi from {a} to {b}"))
    return out


def wanted_actions(
    req: Request, cat: Catalog, done: list[str], rng: random.Random, ignore_rule: bool, skip: float
) -> list[str]:
    """The tool calls it means to make, in order, as far as what it has seen lets it plan.

    Flights first unless the request rules them out; a leg without a flight gets a drive and a
    taxi searched (a taxi mixes with flights elsewhere, self-driving does not).
    """
    actions: list[str] = []

    def search(action: str, note: str) -> bool:
        actions.append(action)
        if rng.random() >= skip:
            actions.append(f"NotebookWrite[{note}]")
        return action in done

    if req.dest_is_state:
        if not search(f"CitySearch[{req.dest}]", f"Cities in {req.dest}"):
            return actions[:1]
        if actions[-1].startswith("NotebookWrite"):
            actions.pop()  # CitySearch's list is not a result NotebookWrite stores
    cities = _cities(req, cat, rng)
    stops = [req.org, *cities, req.org]
    dates = req.dates or [""] * req.days
    leg_days = [min(2 * i, req.days - 1) for i in range(len(stops) - 2)] + [req.days - 1]
    drive_mode = "taxi" if req.no_drive and not ignore_rule else "self-driving"
    driving = (req.no_flight and not ignore_rule) or (req.no_drive and ignore_rule)
    for (a, b), d in zip(pairwise(stops), leg_days, strict=True):
        day = dates[min(d, len(dates) - 1)]
        if not driving:
            flight = f"FlightSearch[{a}, {b}, {day}]"
            if not search(flight, f"Flights from {a} to {b} on {day}"):
                return actions
            if cat.fares_on(a, b, day):
                continue
            if actions[-1].startswith("NotebookWrite"):
                actions.pop()  # nothing worth noting
        for action, note in _drive_searches(cat, a, b, drive_mode, also_taxi=not driving):
            if not search(action, note):
                return actions
            mode = "taxi" if action.endswith("taxi]") else "self-driving"
            if cat.drive(a, b, mode) is None and actions[-1].startswith("NotebookWrite"):
                actions.pop()  # "no valid information" is not worth a note
    for city in cities:
        for tool, what in (
            ("AccommodationSearch", "Accommodations"),
            ("RestaurantSearch", "Restaurants"),
            ("AttractionSearch", "Attractions"),
        ):
            search(f"{tool}[{city}]", f"{what} in {city}")
    actions.append(f"Planner[{req.text}]")
    return actions


def next_action(wanted: list[str], done: list[str]) -> str | None:
    """The first wanted call not made yet (each call is made once)."""
    remaining = list(done)
    for action in wanted:
        if action in remaining:
            remaining.remove(action)
        else:
            return action
    return None


def thought_for(action: str) -> str:
    tool = action.split("[", 1)[0]
    return {
        "CitySearch": "First I need the cities of the destination state.",
        "FlightSearch": "I need a flight for this leg of the trip.",
        "GoogleDistanceMatrix": "I check the drive for this leg.",
        "AccommodationSearch": "Now a place to stay in this city.",
        "RestaurantSearch": "I look for restaurants in this city.",
        "AttractionSearch": "And the attractions of this city.",
        "NotebookWrite": "I store this result in the Notebook for the Planner.",
        "Planner": "The Notebook holds everything the plan needs.",
    }.get(tool, "Next step.")
