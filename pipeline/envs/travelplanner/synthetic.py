"""The seeded synthetic sandbox: invented cities in real US states, flights, stays, food, sights.

Deterministic from the seed (one `random.Random`, fixed iteration order). Sizes follow the official
sandbox's shape: ~300 cities in 30 states, flights per route and date in March 2022, tens of
accommodations, restaurants and attractions per city, a road distance matrix over every city pair.
"""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import date, timedelta

from pipeline.envs.travelplanner.database import insert_rows

GENERATOR_VERSION = 1


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_DATE = date(2022, 3, 1)
N_DATES = 31  # March 2022, the official query window
# Approximate geographic centres (lat, lon) of the states used: public facts.
STATES: dict[str, tuple[float, float]] = {
    "Alabama": (32.8, -86.8),
    "Arizona": (34.2, -111.7),
    "Arkansas": (34.9, -92.4),
    "California": (37.2, -119.5),
    "Colorado": (39.0, -105.5),
    "Florida": (28.6, -82.4),
    "Georgia": (32.7, -83.4),
    "Illinois": (40.0, -89.2),
    "Iowa": (42.1, -93.5),
    "Kansas": (38.5, -98.4),
    "Kentucky": (37.5, -85.3),
    "Louisiana": (31.0, -92.0),
    "Michigan": (44.3, -85.4),
    "Minnesota": (46.3, -94.3),
    "Missouri": (38.4, -92.5),
    "Montana": (47.0, -109.6),
    "Nebraska": (41.5, -99.8),
    "Nevada": (39.3, -116.6),
    "New Mexico": (34.4, -106.1),
    "New York": (42.9, -75.5),
    "North Carolina": (35.5, -79.4),
    "Ohio": (40.3, -82.8),
    "Oklahoma": (35.6, -97.5),
    "Oregon": (43.9, -120.6),
    "Pennsylvania": (40.9, -77.8),
    "Tennessee": (35.9, -86.4),
    "Texas": (31.5, -99.3),
    "Utah": (39.3, -111.7),
    "Virginia": (37.5, -78.8),
    "Washington": (47.4, -120.5),
}
_PREFIXES = _words(
    "Ash Bel Bram Cedar Clear Crest Dun East Elm Fair Glen Green Hart High Holly Iron Kings Lake "
    "Lin Maple Mar Mill North Oak Pine Red River Rock Rose Silver Spring Stone Sun West Whit Wil "
    "Wood Amber Birch Copper Falcon Fox Golden Hazel Juniper Laurel Meadow Moss Orchard Quarry "
    "Raven Sage Thorn Willow"
)
_SUFFIXES = (
    *_words("ford ville field ton burg port dale wood bridge view haven mont ridge brook crest"),
    *_words("water land shire stead by worth"),
    *(" Falls", " Springs", " Harbor", " Junction", " Heights"),
)
_CUISINES = _words(
    "Chinese American Italian Mexican Indian Mediterranean French Tea Cafe Bakery Desserts Pizza "
    "BBQ Seafood Japanese Thai"
)
_EXTRA_CUISINES = ("Fast Food",)
_RULES = ("parties", "smoking", "children under 10", "visitors", "pets")
_STAY_ADJ = _words(
    "Cozy Sunny Spacious Quiet Modern Charming Bright Rustic Elegant Stylish Airy Classic Serene "
    "Comfy Lovely Peaceful Private Renovated Historic Artsy"
)
_STAY_KIND = {
    "Entire home/apt": ("Loft", "Apartment", "Townhouse", "Cottage", "Bungalow", "Studio Home"),
    "Private room": ("Bedroom", "Guest Room", "Room", "Suite"),
    "Shared room": ("Shared Room", "Bunk Bed", "Shared Loft"),
}
_STAY_PLACE = (
    "near Downtown",
    "by the Park",
    "with Garden View",
    "close to the River",
    "in Old Town",
    "near the University",
    "with Patio",
    "on Main Street",
    "by the Lake",
    "near the Station",
    "with Skyline View",
    "in the Arts District",
)
_FOOD_WORDS = _words(
    "Golden Blue Olive Copper Silver Little Happy Lucky Green Red Rustic Urban Royal Wild Salty "
    "Smoky Sweet Spicy Jade Coral Amber Velvet Iron Maple"
)
_FOOD_NOUNS = _words(
    "Spoon Table Kitchen Bistro Grill Diner Cafe Oven Garden House Tavern Eatery Pantry Corner "
    "Plate Wok Taqueria Trattoria Brasserie Canteen"
)
_SIGHT_KINDS = (
    "Museum of History",
    "Art Museum",
    "Botanical Garden",
    "Riverfront Park",
    "Science Center",
    "Zoo",
    "Aquarium",
    "Historic District",
    "Memorial Park",
    "Observation Tower",
    "Nature Preserve",
    "Children's Museum",
    "Old Lighthouse",
    "Sculpture Garden",
    "Heritage Village",
    "Lake Trail",
    "Opera House",
    "Farmers Market",
    "Railroad Museum",
    "Arboretum",
)
_STREETS = ("Main St", "Oak Ave", "Park Blvd", "River Rd", "Elm St", "Lake Dr", "Hill Rd", "1st St")


def fill_synthetic(conn: sqlite3.Connection, seed: int) -> None:
    """Generate every table into an empty database (schema already created)."""
    rng = _rng(seed)
    cities = _cities(rng)
    insert_rows(conn, "cities", [(c, s, i) for i, (c, s, _, _) in enumerate(cities)])
    coords = {c: (lat, lon) for c, _, lat, lon in cities}
    insert_rows(conn, "distances", _distances(rng, coords))
    insert_rows(conn, "flights", _flights(rng, cities, coords))
    stays, food, sights = [], [], []
    for city, state, lat, lon in cities:
        stays += _accommodations(rng, city)
        food += _restaurants(rng, city)
        sights += _attractions(rng, city, state, lat, lon)
    insert_rows(conn, "accommodations", stays)
    insert_rows(conn, "restaurants", food)
    insert_rows(conn, "attractions", sights)
    meta = {"source": "synthetic", "seed": str(seed), "generator": str(GENERATOR_VERSION)}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))


def _rng(seed: int) -> random.Random:
    return random.Random(f"travelplanner-synthetic-{GENERATOR_VERSION}-{seed}")


def _cities(rng: random.Random) -> list[tuple[str, str, float, float]]:
    names = [p + s for p in _PREFIXES for s in _SUFFIXES]
    rng.shuffle(names)
    # No name inside another: TravelPlanner's city checks are substring tests.
    picked: list[str] = []
    for name in names:
        if not any(name in other or other in name for other in picked):
            picked.append(name)
    out: list[tuple[str, str, float, float]] = []
    for state, (lat0, lon0) in STATES.items():
        for _ in range(rng.randint(5, 15)):
            name = picked.pop()
            lat = round(lat0 + rng.gauss(0, 1.3), 4)
            lon = round(lon0 + rng.gauss(0, 1.8), 4)
            out.append((name, state, lat, lon))
    return out


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _duration(minutes: int) -> str:
    """Google Distance Matrix wording: '1 day 3 hours', '5 hours 3 mins', '47 mins'."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' * (days > 1)} {hours} hour{'s' * (hours != 1)}"
    if hours:
        return f"{hours} hour{'s' * (hours != 1)} {mins} min{'s' * (mins != 1)}"
    return f"{mins} min{'s' * (mins != 1)}"


def _distances(rng: random.Random, coords: dict[str, tuple[float, float]]) -> list[tuple]:
    names = list(coords)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            road = _km(coords[a], coords[b]) * rng.uniform(1.15, 1.4) + 5
            speed = rng.uniform(78, 98)  # km/h
            for org, dest in ((a, b), (b, a)):
                km = round(road * rng.uniform(0.99, 1.01))
                minutes = round(km / speed * 60)
                rows.append((org, dest, _duration(minutes), f"{km:,} km", float(km)))
    return rows


def _flights(
    rng: random.Random, cities: list[tuple[str, str, float, float]], coords: dict
) -> list[tuple]:
    hubs = {c for i, (c, s, _, _) in enumerate(cities) if i == 0 or cities[i - 1][1] != s}
    airports = [c for c, _, _, _ in cities if c in hubs or rng.random() < 0.6]
    routes = []
    for i, a in enumerate(airports):
        for b in airports[i + 1 :]:
            km = _km(coords[a], coords[b])
            p = 0.45 if (a in hubs or b in hubs) else 0.12
            if km > 180 and rng.random() < p:
                routes += [(a, b, km), (b, a, km)]
    numbers = iter(rng.sample(range(100_000, 10_000_000), len(routes) * N_DATES * 5))
    rows = []
    for org, dest, km in routes:
        miles = round(km * 0.621371)
        base = 45 + 0.11 * miles
        minutes = round(miles / 7.6) + 30  # ~460 mph cruise plus taxiing
        for d in range(N_DATES):
            day = (FIRST_DATE + timedelta(days=d)).isoformat()
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
                dep = rng.randint(5 * 60, 22 * 60 + 30)
                arr = (dep + minutes) % (24 * 60)
                elapsed = f"{minutes // 60} hours {minutes % 60} minutes"
                price = round(base * rng.uniform(0.6, 1.7))
                rows.append(
                    (
                        f"F{next(numbers):07d}",
                        price,
                        _hhmm(dep),
                        _hhmm(arr),
                        elapsed,
                        day,
                        org,
                        dest,
                        float(miles),
                    )
                )
    return rows


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _unique_names(rng: random.Random, make, count: int) -> list[str]:
    names: list[str] = []
    for _ in range(count * 20):
        if len(names) == count:
            break
        name = make()
        if not any(name in n or n in name for n in names):
            names.append(name)
    return names


def _accommodations(rng: random.Random, city: str) -> list[tuple]:
    rows = []
    types = rng.choices(list(_STAY_KIND), weights=(50, 42, 8), k=rng.randint(18, 34))

    for kind in types:
        for _ in range(20):
            name = " ".join(
                (rng.choice(_STAY_ADJ), rng.choice(_STAY_KIND[kind]), rng.choice(_STAY_PLACE))
            )
            if not any(name in r[0] or r[0] in name for r in rows):
                break
        else:
            continue
        if kind == "Entire home/apt":
            occ, price = rng.randint(2, 8), rng.randint(140, 1100)
        elif kind == "Private room":
            occ, price = rng.randint(1, 3), rng.randint(55, 600)
        else:
            occ, price = rng.randint(1, 2), rng.randint(30, 280)
        rules = " & ".join(f"No {r}" for r in _RULES if rng.random() < 0.3)
        nights = rng.choice((1, 1, 1, 1, 2, 2, 2, 3, 4, 5, 7, 10, 30))
        rating = float(rng.randint(1, 5))
        rows.append((name, price, kind, rules, nights, occ, rating, city))
    return rows


def _restaurants(rng: random.Random, city: str) -> list[tuple]:
    names = _unique_names(
        rng, lambda: f"{rng.choice(_FOOD_WORDS)} {rng.choice(_FOOD_NOUNS)}", rng.randint(20, 38)
    )
    rows = []
    for name in names:
        cuisines = rng.sample((*_CUISINES, *_EXTRA_CUISINES), rng.randint(1, 4))
        cost = rng.randint(10, 100)
        rating = round(rng.choice((0.0, *(x / 10 for x in range(25, 50)))), 1)
        rows.append((name, cost, ", ".join(cuisines), rating, city))
    return rows


def _attractions(rng: random.Random, city: str, state: str, lat: float, lon: float) -> list:
    kinds = rng.sample(_SIGHT_KINDS, rng.randint(8, 18))
    rows = []
    for kind in kinds:
        name = f"{city} {kind}" if rng.random() < 0.5 else f"{rng.choice(_FOOD_WORDS)} {kind}"
        if any(name in r[0] or r[0] in name for r in rows):
            name = f"{city} {kind}"
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}"
        address = f"{street}, {city}, {state} {rng.randint(10000, 99999)}, USA"
        phone = f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        rows.append(
            (
                name,
                round(lat + rng.gauss(0, 0.03), 6),
                round(lon + rng.gauss(0, 0.03), 6),
                address,
                phone,
                f"https://www.{slug}.com",
                city,
            )
        )
    return rows
