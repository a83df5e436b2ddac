"""What the transcript's tool results (or the given information) show: the sim's only data."""

from __future__ import annotations

import ast
import contextlib
import re
from dataclasses import dataclass, field

from pipeline.envs.travelplanner.table import parse_table
from pipeline.envs.travelplanner.tools import (
    ACCOMMODATION_COLUMNS,
    ATTRACTION_COLUMNS,
    FLIGHT_COLUMNS,
    RESTAURANT_COLUMNS,
)

_DRIVE = re.compile(
    r"(self-driving|taxi), from (.+?) to (.+?), duration: (.+?), distance: (.+?), cost: (\d+)", re.I
)
_CITY_SEARCH = re.compile(r"CitySearch\[\s*([^\]]+?)\s*\]|Description: Cities in (.+)")
_CITY_LIST = re.compile(r"(\[(?:\s*(?:'[^']*'|\"[^\"]*\")\s*,?)+\])")
_KINDS = {
    "flight": FLIGHT_COLUMNS,
    "stay": ACCOMMODATION_COLUMNS,
    "food": RESTAURANT_COLUMNS,
    "sight": ATTRACTION_COLUMNS,
}


@dataclass(frozen=True, slots=True)
class Fare:
    number: str
    price: int
    dep: str
    arr: str
    date: str
    org: str
    dest: str


@dataclass(frozen=True, slots=True)
class Stay:
    name: str
    city: str
    price: int
    room_type: str
    house_rules: str
    minimum_nights: int
    occupancy: int


@dataclass(frozen=True, slots=True)
class Food:
    name: str
    city: str
    cost: int
    cuisines: str


@dataclass(frozen=True, slots=True)
class Drive:
    mode: str
    org: str
    dest: str
    duration: str
    distance: str
    cost: int


@dataclass(slots=True)
class Catalog:
    fares: list[Fare] = field(default_factory=list)
    stays: dict[str, list[Stay]] = field(default_factory=dict)
    foods: dict[str, list[Food]] = field(default_factory=dict)
    sights: dict[str, list[str]] = field(default_factory=dict)
    drives: list[Drive] = field(default_factory=list)
    state_cities: dict[str, list[str]] = field(default_factory=dict)

    def fares_on(self, org: str, dest: str, day: str) -> list[Fare]:
        return sorted(
            (f for f in self.fares if (f.org, f.dest, f.date) == (org, dest, day)),
            key=lambda f: f.price,
        )

    def drive(self, org: str, dest: str, mode: str) -> Drive | None:
        return next((d for d in self.drives if (d.org, d.dest, d.mode) == (org, dest, mode)), None)


def _int(text: str, default: int = 0) -> int:
    digits = re.sub(r"[^\d.]", "", text)
    try:
        return int(float(digits))
    except ValueError:
        return default


def _table_chunks(text: str) -> list[tuple[str, str]]:
    """(kind, table text) for every result table in the text: a header line and its rows."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        kind = next((k for k, cols in _KINDS.items() if all(c in lines[i] for c in cols)), None)
        if kind is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and not lines[j].lstrip().startswith("["):
            j += 1
        header = lines[i]
        if j > i + 1:
            # Rows are as wide as the header; anything longer is a prefix ("Observation: ").
            extra = len(header) - max(len(ln) for ln in lines[i + 1 : j])
            header = header[extra:] if extra > 0 else header
        out.append((kind, "\n".join([header, *lines[i + 1 : j]])))
        i = j
    return out


def _add(cat: Catalog, kind: str, row: dict[str, str]) -> None:
    if kind == "flight":
        cat.fares.append(
            Fare(
                number=row["Flight Number"],
                price=_int(row["Price"]),
                dep=row["DepTime"],
                arr=row["ArrTime"],
                date=row["FlightDate"],
                org=row["OriginCityName"],
                dest=row["DestCityName"],
            )
        )
    elif kind == "stay":
        stay = Stay(
            name=row["NAME"],
            city=row["city"],
            price=_int(row["price"]),
            room_type=row["room type"],
            house_rules=row["house_rules"],
            minimum_nights=_int(row["minimum nights"], 1),
            occupancy=max(1, _int(row["maximum occupancy"], 1)),
        )
        cat.stays.setdefault(stay.city, []).append(stay)
    elif kind == "food":
        food = Food(
            name=row["Name"],
            city=row["City"],
            cost=_int(row["Average Cost"]),
            cuisines=row["Cuisines"],
        )
        cat.foods.setdefault(food.city, []).append(food)
    elif kind == "sight":
        cat.sights.setdefault(row["City"], []).append(row["Name"])


def read_catalog(texts: list[str]) -> Catalog:
    """Everything the given texts (observations, notebook, reference information) show."""
    cat = Catalog()
    seen: set[tuple[str, str]] = set()
    pending_state: str | None = None
    for text in texts:
        for kind, chunk in _table_chunks(text):
            if (kind, chunk) in seen:
                continue
            seen.add((kind, chunk))
            try:
                rows = parse_table(chunk, _KINDS[kind])
            except (ValueError, KeyError):
                continue
            for row in rows:
                try:
                    _add(cat, kind, row)
                except KeyError:
                    continue
        for m in _DRIVE.finditer(text):
            d = Drive(
                m.group(1).lower(), m.group(2), m.group(3), m.group(4), m.group(5), int(m.group(6))
            )
            if d not in cat.drives:
                cat.drives.append(d)
        for m in _CITY_SEARCH.finditer(text):
            pending_state = (m.group(1) or m.group(2)).strip()
        listed = _CITY_LIST.search(text)
        if listed and pending_state:
            with contextlib.suppress(ValueError, SyntaxError):
                names = ast.literal_eval(listed.group(1))
                cat.state_cities[pending_state] = [str(c) for c in names]
            pending_state = None
    for city in cat.foods:
        cat.foods[city] = list(dict.fromkeys(cat.foods[city]))
    for city in cat.stays:
        cat.stays[city] = list(dict.fromkeys(cat.stays[city]))
    for city in cat.sights:
        cat.sights[city] = list(dict.fromkeys(cat.sights[city]))
    cat.fares = list(dict.fromkeys(cat.fares))
    return cat
