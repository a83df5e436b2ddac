"""Readers for the values of a plan day: "Name, City", "from A to B", transport modes."""

from __future__ import annotations

import re
from typing import Literal

from pipeline.envs.travelplanner.plan import EMPTY

Mode = Literal["flight", "self-driving", "taxi"]

_FROM_TO = re.compile(r"from\s+(.+?)\s+to\s+([^,]+?)\s*(?:,|$)", re.I)
_PAREN = re.compile(r"\s*\([^)]*\)\s*")
_FLIGHT_NO = re.compile(r"flight\s*number\s*:?\s*([A-Za-z]*\d+)", re.I)
_TRAILING = " .;:"


def strip_state(city: str) -> str:
    """'Charlotte(North Carolina)' -> 'Charlotte'."""
    return _PAREN.sub(" ", city).strip(_TRAILING + " ")


def filled(value: str | None) -> bool:
    return value is not None and value.strip() not in EMPTY


def name_city(entry: str) -> tuple[str, str] | None:
    """'Name, City' split at the last comma (names may hold commas); None if there is no comma."""
    name, sep, city = entry.strip().strip(";").rpartition(",")
    name, city = name.strip(), strip_state(city)
    if not sep or not name or not city:
        return None
    return name, city


def from_to(text: str) -> tuple[str, str] | None:
    """('A', 'B') from '... from A to B, ...' or None."""
    m = _FROM_TO.search(text)
    if not m:
        return None
    org, dest = strip_state(m.group(1)), strip_state(m.group(2))
    return (org, dest) if org and dest else None


def is_travel_day(current_city: str | None) -> bool:
    return current_city is not None and from_to(current_city) is not None


def day_cities(current_city: str | None) -> list[str]:
    """The cities a day is spent in: [A, B] for 'from A to B', else [C]."""
    if not filled(current_city):
        return []
    assert current_city is not None
    pair = from_to(current_city)
    return list(pair) if pair else [strip_state(current_city)]


def transport_mode(text: str | None) -> Mode | None:
    """The mode a transportation entry names, in the official order of precedence."""
    if not filled(text):
        return None
    assert text is not None
    low = text.lower()
    if "taxi" in low:
        return "taxi"
    if "self-driving" in low or "self driving" in low:
        return "self-driving"
    if "flight" in low:
        return "flight"
    return None


def flight_number(text: str) -> str | None:
    m = _FLIGHT_NO.search(text)
    return m.group(1) if m else None


def attraction_list(text: str | None) -> list[str]:
    """';'-separated attractions; empty pieces and a trailing '.' dropped."""
    if not filled(text):
        return []
    assert text is not None
    return [p.strip().rstrip(".").strip() for p in text.split(";") if p.strip(" .")]


def same(a: str, b: str) -> bool:
    """Names compared as a reader would: case and inner whitespace do not matter."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
