"""The TravelPlanner sandbox database: read-only lookups over one sqlite file.

The file is built once (from the seeded synthetic generator or the official CSV directory) into a
cache directory keyed by what it was built from, so every process of a run opens the same file.
Records are the frozen models of `schema.py`; matches are exact on stripped strings.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pipeline.envs.travelplanner.schema import (
    Accommodation,
    Attraction,
    DistanceEntry,
    Flight,
    Restaurant,
)
from pipeline.errors import MempError

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cities (city TEXT PRIMARY KEY, state TEXT NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE flights (flight_number TEXT, price INTEGER, dep_time TEXT, arr_time TEXT,
  actual_elapsed_time TEXT, flight_date TEXT, origin_city_name TEXT, dest_city_name TEXT,
  distance REAL);
CREATE TABLE accommodations (name TEXT, price INTEGER, room_type TEXT, house_rules TEXT,
  minimum_nights INTEGER, maximum_occupancy INTEGER, review_rate_number REAL, city TEXT);
CREATE TABLE restaurants (name TEXT, average_cost INTEGER, cuisines TEXT, aggregate_rating REAL,
  city TEXT);
CREATE TABLE attractions (name TEXT, latitude REAL, longitude REAL, address TEXT, phone TEXT,
  website TEXT, city TEXT);
CREATE TABLE distances (origin TEXT, destination TEXT, duration TEXT, distance TEXT,
  distance_km REAL);
"""
INDEXES = """
CREATE INDEX flights_route ON flights (origin_city_name, dest_city_name, flight_date);
CREATE INDEX flights_number ON flights (flight_number);
CREATE INDEX accommodations_city ON accommodations (city);
CREATE INDEX restaurants_city ON restaurants (city);
CREATE INDEX attractions_city ON attractions (city);
CREATE INDEX distances_pair ON distances (origin, destination);
CREATE INDEX cities_state ON cities (state, ord);
"""
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "flights": tuple(Flight.model_fields),
    "accommodations": tuple(Accommodation.model_fields),
    "restaurants": tuple(Restaurant.model_fields),
    "attractions": tuple(Attraction.model_fields),
    "distances": ("origin", "destination", "duration", "distance", "distance_km"),
    "cities": ("city", "state", "ord"),
}
# Official cost rule (GoogleDistanceMatrix tool): per car, from the distance in km.
_COST_PER_KM = {"self-driving": 0.05, "taxi": 1.0}


class DatabaseError(MempError, ValueError):
    """The database cannot be built or opened; the message names the file or setting."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "memp" / "travelplanner"


def build_once(path: Path, fill: Callable[[sqlite3.Connection], None]) -> Path:
    """Create the sqlite file at `path` with `fill` unless it exists; one builder at a time."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other processes wait, then find the file built
        if path.exists():
            return path
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(SCHEMA)
            fill(conn)
            conn.executescript(INDEXES)
            conn.commit()
        except BaseException:
            conn.close()
            tmp.unlink(missing_ok=True)
            raise
        conn.close()
        os.replace(tmp, path)
    return path


def insert_rows(conn: sqlite3.Connection, table: str, rows: list[tuple]) -> None:
    cols = TABLE_COLUMNS[table]
    marks = ", ".join("?" * len(cols))
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)


class Database:
    """Lookups over a built database file (`sources.open_database` builds or finds it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DatabaseError(f"travelplanner database file not found: {self.path}")
        # Read-only and shared across threads: lookups never write.
        self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        rows = self._conn.execute("SELECT city, state FROM cities ORDER BY ord").fetchall()
        self._state_of = {city: state for city, state in rows}
        self._by_state: dict[str, list[str]] = {}
        for city, state in rows:
            self._by_state.setdefault(state, []).append(city)
        self.meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        self._lock = threading.Lock()  # one connection shared by a process's episode threads

    def close(self) -> None:
        self._conn.close()

    # cities
    def cities(self, state: str) -> list[str]:
        return list(self._by_state.get(state.strip(), []))

    def state_of(self, city: str) -> str | None:
        return self._state_of.get(city.strip())

    def all_cities(self) -> list[str]:
        return list(self._state_of)

    def states(self) -> list[str]:
        return list(self._by_state)

    # flights
    def flights_by_number(self, number: str) -> Flight | None:
        rows = self._select("flights", "flight_number = ?", number.strip())
        return Flight(**rows[0]) if rows else None

    def flights(self, org: str, dest: str, date: str) -> list[Flight]:
        return list(self._flight_records(org.strip(), dest.strip(), date.strip()))

    # per-city tables
    def accommodations(self, city: str) -> list[Accommodation]:
        return list(self._city_records(Accommodation, "accommodations", city.strip()))

    def accommodation(self, name: str, city: str) -> Accommodation | None:
        return _named(self.accommodations(city), name)

    def restaurants(self, city: str) -> list[Restaurant]:
        return list(self._city_records(Restaurant, "restaurants", city.strip()))

    def restaurant(self, name: str, city: str) -> Restaurant | None:
        return _named(self.restaurants(city), name)

    def attractions(self, city: str) -> list[Attraction]:
        return list(self._city_records(Attraction, "attractions", city.strip()))

    def attraction(self, name: str, city: str) -> Attraction | None:
        return _named(self.attractions(city), name)

    # distance matrix
    def distance(self, org: str, dest: str, mode: str) -> DistanceEntry | None:
        if mode not in _COST_PER_KM:
            raise ValueError(f"mode must be 'self-driving' or 'taxi', got {mode!r}")
        row = self._distance_row(org.strip(), dest.strip())
        if row is None or "day" in row["duration"]:
            return None
        km = row["distance_km"]
        return DistanceEntry(
            origin=row["origin"],
            destination=row["destination"],
            mode=mode,  # type: ignore[arg-type]
            duration=row["duration"],
            distance=row["distance"],
            distance_km=km,
            cost=int(km * _COST_PER_KM[mode]),
        )

    def distance_row(self, org: str, dest: str) -> dict | None:
        """The raw matrix entry, including ones too long to drive (durations in days)."""
        return self._distance_row(org.strip(), dest.strip())

    # internals; the lru caches key on self too (one Database per source per process)
    def _select(self, table: str, where: str, *args: object) -> list[dict]:
        cols = TABLE_COLUMNS[table]
        sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {where}"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # Records are frozen, so cached tuples are shared safely; callers get fresh lists.
    @lru_cache(maxsize=4096)  # noqa: B019 - the database lives as long as the process
    def _flight_records(self, org: str, dest: str, date: str) -> tuple[Flight, ...]:
        where = "origin_city_name = ? AND dest_city_name = ? AND flight_date = ? ORDER BY dep_time"
        return tuple(Flight(**r) for r in self._select("flights", where, org, dest, date))

    @lru_cache(maxsize=2048)  # noqa: B019
    def _city_records(self, model: type, table: str, city: str) -> tuple:
        return tuple(model(**r) for r in self._select(table, "city = ? ORDER BY rowid", city))

    @lru_cache(maxsize=8192)  # noqa: B019
    def _distance_row(self, org: str, dest: str) -> dict | None:
        rows = self._select("distances", "origin = ? AND destination = ?", org, dest)
        return rows[0] if rows else None


_Named = TypeVar("_Named", Accommodation, Restaurant, Attraction)


def _named(rows: list[_Named], name: str) -> _Named | None:
    name = name.strip()
    return next((r for r in rows if r.name == name), None)
