"""TravelPlanner's tools over a tiny official-layout database: results, errors, both call forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.envs.travelplanner.language import TravelPlannerLanguage
from pipeline.envs.travelplanner.sources import csv_database
from pipeline.envs.travelplanner.table import parse_table
from pipeline.envs.travelplanner.tools import (
    ACCOMMODATION_COLUMNS,
    FLIGHT_COLUMNS,
    INVALID_ACTION,
    NOTHING_TO_WRITE,
    Toolbox,
    function_tools,
)
from pipeline.types import ToolCall
from tests.travelplanner_data import write_tiny_csv_db


@pytest.fixture
def tools(tmp_path: Path) -> Toolbox:
    return Toolbox(csv_database(write_tiny_csv_db(tmp_path / "db"), tmp_path / "cache"))


def test_flight_search_prints_the_official_table_and_messages(tools: Toolbox):
    r = tools.run("FlightSearch[Alder, Cove, 2022-03-01]")
    assert r.valid
    rows = parse_table(r.observation, FLIGHT_COLUMNS)
    assert [row["Flight Number"] for row in rows] == ["F0000003", "F0000001"]
    assert rows[1]["Price"] == "120" and rows[1]["ActualElapsedTime"] == "2 hours 5 minutes"
    assert r.observation.splitlines()[0].split() == [
        "Flight", "Number", "Price", "DepTime", "ArrTime", "ActualElapsedTime", "FlightDate",
        "OriginCityName", "DestCityName", "Distance"]  # fmt: skip
    empty = tools.run("FlightSearch[Alder, Dune, 2022-03-01]")
    assert (
        empty.valid and empty.observation == "There is no flight from Alder to Dune on 2022-03-01."
    )
    bad_date = tools.run("FlightSearch[Alder, Cove, March 1]")
    assert (
        not bad_date.valid and bad_date.observation == "'March 1' is not in the format YYYY-MM-DD"
    )
    bad_city = tools.run("FlightSearch[Atlantis, Cove, 2022-03-01]")
    assert not bad_city.valid
    assert bad_city.observation.startswith("Atlantis is not valid city in ['Alder', 'Brook'")
    wrong = tools.run("FlightSearch[Alder, Cove]")
    assert not wrong.valid and wrong.observation == "Illegal Flight Search. Please try again."


def test_distance_matrix_modes_costs_and_errors(tools: Toolbox):
    r = tools.run("GoogleDistanceMatrix[Alder, Cove, self-driving]")
    assert r.valid and r.observation == (
        "self-driving, from Alder to Cove, duration: 14 hours 30 mins, distance: 1,290 km, cost: 64"
    )
    assert tools.run("GoogleDistanceMatrix[Alder, Cove, taxi]").observation.endswith("cost: 1290")
    assert tools.run("GoogleDistanceMatrix[Alder, Dune, taxi]").observation == (
        "No valid information."
    )
    missing = tools.run("GoogleDistanceMatrix[Dune, Alder, taxi]")
    assert (
        missing.valid and missing.observation == "taxi, from Dune to Alder, no valid information."
    )
    assert not tools.run("GoogleDistanceMatrix[Atlantis, Alder, taxi]").valid
    for bad in ("GoogleDistanceMatrix[Alder, Cove, walking]", "GoogleDistanceMatrix[Alder, Cove]"):
        r = tools.run(bad)
        assert not r.valid and r.observation == "Illegal GoogleDistanceMatrix. Please try again."


def test_city_tables_and_city_search(tools: Toolbox):
    acc = tools.run("AccommodationSearch[Cove]")
    rows = parse_table(acc.observation, ACCOMMODATION_COLUMNS)
    assert acc.valid and [r["NAME"] for r in rows] == ["Harbor Loft", "Quiet Room", "Bunk Spot"]
    assert (
        rows[1]["house_rules"] == "No parties & No pets" and rows[1]["room type"] == "Private room"
    )
    assert "Eatery 0" in tools.run("RestaurantSearch[Cove]").observation
    assert "Sight 3" in tools.run("AttractionSearch[Cove]").observation
    none = tools.run("AttractionSearch[Alder]")
    assert none.valid and none.observation == "There is no attraction in this city."
    assert tools.run("AccommodationSearch[Alder]").observation == (
        "There is no accommodation in this city."
    )
    assert not tools.run("RestaurantSearch[Atlantis]").valid
    assert not tools.run("RestaurantSearch[Cove, Dune]").valid
    assert tools.run("CitySearch[Borealis]").observation == "['Cove', 'Dune']"
    bad = tools.run("CitySearch[Atlantis]")
    assert not bad.valid and bad.observation == "Invalid State"


def test_notebook_records_the_last_search_and_planner_ends_gathering(tools: Toolbox):
    first = tools.run("NotebookWrite[too early]")
    assert not first.valid and first.observation == NOTHING_TO_WRITE
    tools.run("AccommodationSearch[Cove]")
    tools.run("CitySearch[Borealis]")  # printed only, not notebook data (as the official tool)
    w = tools.run("NotebookWrite[Accommodations in Cove]")
    assert w.valid and w.observation.endswith("its index is 0.")
    tools.run("FlightSearch[Alder, Cove, 2022-03-01]")
    assert tools.run("NotebookWrite[Flights]").observation.endswith("its index is 1.")
    notebook = tools.notebook.render()
    assert "[0] Description: Accommodations in Cove" in notebook and "F0000001" in notebook
    p = tools.run("Planner[Plan my trip]")
    assert p.valid and p.planner_query == "Plan my trip"
    for bad in ("Teleport[Cove]", "FlightSearch Alder", "AccommodationSearch[]"):
        r = tools.run(bad)
        assert not r.valid
    assert tools.run("Teleport[Cove]").observation == INVALID_ACTION


def test_function_tools_and_tool_calls_give_the_same_commands(tools: Toolbox):
    schemas = {t["function"]["name"]: t["function"] for t in function_tools()}
    assert set(schemas) == {
        "FlightSearch", "GoogleDistanceMatrix", "AccommodationSearch", "RestaurantSearch",
        "AttractionSearch", "CitySearch", "NotebookWrite", "Planner"}  # fmt: skip
    flight = schemas["FlightSearch"]["parameters"]
    assert flight["required"] == ["departure_city", "destination_city", "date"]
    assert schemas["GoogleDistanceMatrix"]["parameters"]["properties"]["mode"]["enum"] == [
        "self-driving", "taxi"]  # fmt: skip
    lang = TravelPlannerLanguage()
    # argument order follows the schema, whatever order the model sent them in
    call = ToolCall(name="FlightSearch", arguments={
        "date": "2022-03-01", "destination_city": "Cove", "departure_city": "Alder"})  # fmt: skip
    action = lang.parse_tool_call(call, "")
    assert action.command == "FlightSearch[Alder, Cove, 2022-03-01]"
    text = lang.parse("Thought: flights first\nAction: FlightSearch[Alder, Cove, 2022-03-01]")
    assert text.command == action.command and text.thought == "flights first"
    assert tools.run(action.command).observation == tools.run(text.command).observation
    bad = ToolCall(name="FlightSearch", bad_arguments="{not json")
    assert lang.parse_tool_call(bad, "").command is None
    assert (
        lang.tools() == function_tools() and TravelPlannerLanguage("sole-planning").tools() is None
    )


@pytest.mark.parametrize(
    "command",
    ["", "[]", "FlightSearch[]", "FlightSearch[,,]", "FlightSearch[a, b, c, d]", "Planner[",
     "NotebookWrite[]", "CitySearch[]", "GoogleDistanceMatrix[, , taxi]", "AttractionSearch[,]",
     "FlightSearch[Alder, Cove, 2022-13-45]", "RestaurantSearch[Cove]]", "\u00e9t\u00e9[\u2603]",
     "Finish[Day 1:]", "x" * 5000],
)  # fmt: skip
def test_malformed_commands_are_answered_never_raised(tools: Toolbox, command: str):
    r = tools.run(command)
    assert isinstance(r.observation, str)
    if command == "FlightSearch[Alder, Cove, 2022-13-45]":  # the official check is the format only
        assert r.valid and r.observation.startswith("There is no flight")
    else:
        assert not r.valid and r.planner_query is None
