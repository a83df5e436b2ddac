"""TravelPlanner's eight tools over the sandbox database, as ReAct text actions `Tool[args]`.

Results and error texts follow the official tools: tables as a pandas frame prints them, "There is
no flight from A to B on D.", "X is not valid city in [...].", "Illegal Flight Search. Please try
again." and so on. A rejected call is an invalid step; a search that finds nothing is a valid one.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.table import render_table

FLIGHT_COLUMNS = (
    "Flight Number", "Price", "DepTime", "ArrTime", "ActualElapsedTime", "FlightDate",
    "OriginCityName", "DestCityName", "Distance",
)  # fmt: skip
ACCOMMODATION_COLUMNS = (
    "NAME", "price", "room type", "house_rules", "minimum nights", "maximum occupancy",
    "review rate number", "city",
)  # fmt: skip
RESTAURANT_COLUMNS = ("Name", "Average Cost", "Cuisines", "Aggregate Rating", "City")
ATTRACTION_COLUMNS = ("Name", "Latitude", "Longitude", "Address", "Phone", "Website", "City")

# name -> (argument names in order, one-line description); the text form is Name[arg, arg]
TOOL_SIGNATURES: dict[str, tuple[tuple[str, ...], str]] = {
    "FlightSearch": (
        ("Departure City", "Destination City", "Date"),
        "Flights between two cities on a date (YYYY-MM-DD).",
    ),
    "GoogleDistanceMatrix": (
        ("Origin", "Destination", "Mode"),
        "Driving distance, time and cost between two cities; Mode is 'self-driving' or 'taxi'.",
    ),
    "AccommodationSearch": (("City",), "Accommodations in a city."),
    "RestaurantSearch": (("City",), "Restaurants in a city."),
    "AttractionSearch": (("City",), "Attractions in a city."),
    "CitySearch": (("State",), "Cities of a state."),
    "NotebookWrite": (
        ("Short Description",),
        "Store the last search result in the Notebook under a short description; "
        "only Notebook data reaches the Planner.",
    ),
    "Planner": (
        ("Query",),
        "Write the travel plan for the query from the Notebook's data (ends information "
        "gathering).",
    ),
}
INVALID_ACTION = (
    "Invalid Action. Valid Actions are  FlightSearch[Departure City, Destination City, Date] / "
    "AccommodationSearch[City] /  RestaurantSearch[City] / NotebookWrite[Short Description] / "
    "AttractionSearch[City] / CitySearch[State] / GoogleDistanceMatrix[Origin, Destination, Mode] "
    "and Planner[Query]."
)
NOTHING_TO_WRITE = "There is no search result to write: search with a tool first."
_ACTION = re.compile(r"^\s*(\w+)\s*\[(.*)\]\s*$", re.S)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MODES = {"self-driving": "self-driving", "driving": "self-driving", "taxi": "taxi"}
_ILLEGAL = {
    "FlightSearch": "Illegal Flight Search. Please try again.",
    "AccommodationSearch": "Illegal Accommodation Search. Please try again.",
    "RestaurantSearch": "Illegal Restaurant Search. Please try again.",
    "AttractionSearch": "Illegal Attraction Search. Please try again.",
    "CitySearch": "Illegal City Search. Please try again.",
    "GoogleDistanceMatrix": "Illegal GoogleDistanceMatrix. Please try again.",
    "NotebookWrite": "Illegal Notebook Write. Please try again.",
    "Planner": "Illegal Planner call. Please try again.",
}


class ToolResult(BaseModel):
    observation: str
    valid: bool
    planner_query: str | None = None  # set by Planner[Query]: information gathering is over


def parse_action(command: str) -> tuple[str, str] | None:
    """`Tool[args]` -> (tool, args); None when the text is not of that form."""
    m = _ACTION.match(command)
    return (m.group(1), m.group(2).strip()) if m else None


def split_args(args: str) -> list[str]:
    return [a.strip().strip("'\"").strip() for a in args.split(",")]


class Notebook:
    """The per-episode store of search results that the Planner (and only it) reads."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def write(self, description: str, content: str) -> str:
        self.entries.append((description, content))
        return (
            f"The information has been recorded in Notebook, and its index is "
            f"{len(self.entries) - 1}."
        )

    def render(self) -> str:
        return render_information(self.entries)


def render_information(entries: list[tuple[str, str]]) -> str:
    """Notebook / reference information as the planner reads it: description, then content."""
    blocks = [
        f"[{i}] Description: {desc}\nContent:\n{content}"
        for i, (desc, content) in enumerate(entries)
    ]
    return "\n\n".join(blocks)


class Toolbox:
    """One episode's tools: the database, the notebook and the last search result."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.notebook = Notebook()
        self.last_result: str | None = None
        self._city_list = str(db.all_cities())

    def run(self, command: str) -> ToolResult:
        parsed = parse_action(command)
        if parsed is None or parsed[0] not in TOOL_SIGNATURES:
            return ToolResult(observation=INVALID_ACTION, valid=False)
        tool, args = parsed
        if not args:
            return ToolResult(observation=_ILLEGAL[tool], valid=False)
        return getattr(self, f"_{tool}")(args)

    def _bad_city(self, city: str) -> ToolResult | None:
        if self.db.state_of(city) is None:
            return ToolResult(observation=f"{city} is not valid city in {self._city_list}.",
                              valid=False)  # fmt: skip
        return None

    def _found(self, text: str) -> ToolResult:
        self.last_result = text
        return ToolResult(observation=text, valid=True)

    def _FlightSearch(self, args: str) -> ToolResult:
        parts = split_args(args)
        if len(parts) != 3:
            return ToolResult(observation=_ILLEGAL["FlightSearch"], valid=False)
        org, dest, day = parts
        if not _DATE.match(day):
            return ToolResult(observation=f"'{day}' is not in the format YYYY-MM-DD", valid=False)
        bad = self._bad_city(org) or self._bad_city(dest)
        if bad:
            return bad
        flights = self.db.flights(org, dest, day)
        if not flights:
            return self._found(f"There is no flight from {org} to {dest} on {day}.")
        rows = [tuple(f.model_dump().values()) for f in flights]
        return self._found(render_table(FLIGHT_COLUMNS, rows))

    def _GoogleDistanceMatrix(self, args: str) -> ToolResult:
        parts = split_args(args)
        mode = _MODES.get(parts[-1].lower()) if len(parts) == 3 else None
        if mode is None:
            return ToolResult(observation=_ILLEGAL["GoogleDistanceMatrix"], valid=False)
        org, dest = parts[0], parts[1]
        known = self.db.state_of(org) is not None and self.db.state_of(dest) is not None
        entry = self.db.distance(org, dest, mode)
        if entry is not None:
            return self._found(
                f"{mode}, from {org} to {dest}, duration: {entry.duration}, "
                f"distance: {entry.distance}, cost: {entry.cost}"
            )
        if self.db.distance_row(org, dest) is not None:
            return self._found("No valid information.")  # the official text for a multi-day drive
        result = self._found(f"{mode}, from {org} to {dest}, no valid information.")
        return result if known else ToolResult(observation=result.observation, valid=False)

    def _city_table(self, tool: str, args: str, columns: tuple[str, ...], empty: str) -> ToolResult:
        parts = split_args(args)
        city = parts[0] if len(parts) == 1 else ""
        if not city:
            return ToolResult(observation=_ILLEGAL[tool], valid=False)
        bad = self._bad_city(city)
        if bad:
            return bad
        lookup = {
            "AccommodationSearch": self.db.accommodations,
            "RestaurantSearch": self.db.restaurants,
            "AttractionSearch": self.db.attractions,
        }[tool]
        records = lookup(city)
        if not records:
            return self._found(empty)
        return self._found(render_table(columns, [tuple(r.model_dump().values()) for r in records]))

    def _AccommodationSearch(self, args: str) -> ToolResult:
        return self._city_table(
            "AccommodationSearch", args, ACCOMMODATION_COLUMNS,
            "There is no accommodation in this city.",
        )  # fmt: skip

    def _RestaurantSearch(self, args: str) -> ToolResult:
        return self._city_table(
            "RestaurantSearch", args, RESTAURANT_COLUMNS, "There is no restaurant in this city."
        )

    def _AttractionSearch(self, args: str) -> ToolResult:
        return self._city_table(
            "AttractionSearch", args, ATTRACTION_COLUMNS, "There is no attraction in this city."
        )

    def _CitySearch(self, args: str) -> ToolResult:
        state = args.strip().strip("'\"").strip()
        cities = self.db.cities(state)
        if not cities:
            return ToolResult(observation="Invalid State", valid=False)
        # The official tool prints the list and does not make it the data NotebookWrite stores.
        return ToolResult(observation=str(cities), valid=True)

    def _NotebookWrite(self, args: str) -> ToolResult:
        if self.last_result is None:
            return ToolResult(observation=NOTHING_TO_WRITE, valid=False)
        return ToolResult(observation=self.notebook.write(args, self.last_result), valid=True)

    def _Planner(self, args: str) -> ToolResult:
        return ToolResult(observation="", valid=True, planner_query=args)


def function_tools() -> list[dict[str, Any]]:
    """The tools as OpenAI function-tool JSON schemas (litellm `tools=`)."""
    out = []
    for name, (params, description) in TOOL_SIGNATURES.items():
        props: dict[str, Any] = {}
        for p in params:
            key = p.lower().replace(" ", "_")
            props[key] = {"type": "string", "description": _PARAM_HELP.get(p, p)}
            if p == "Mode":
                props[key]["enum"] = ["self-driving", "taxi"]
        out.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": description,
                    "parameters": {
                        "type": "object",
                        "properties": props,
                        "required": list(props),
                    },
                },
            }
        )
    return out


def argument_order(tool: str) -> list[str]:
    """JSON argument keys of a tool in the order of its text form."""
    params = TOOL_SIGNATURES.get(tool, ((), ""))[0]
    return [p.lower().replace(" ", "_") for p in params]


_PARAM_HELP = {
    "Departure City": "The city to fly out from.",
    "Destination City": "The city to fly to.",
    "Date": "The travel date, YYYY-MM-DD.",
    "Origin": "The city the journey starts from.",
    "Destination": "The city the journey ends in.",
    "Mode": "'self-driving' or 'taxi'.",
    "City": "The city's name.",
    "State": "The state's name.",
    "Short Description": "A short label for the stored search result.",
    "Query": "The user's query.",
}
