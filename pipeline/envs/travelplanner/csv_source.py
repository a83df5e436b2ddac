"""Import the official TravelPlanner database directory (its CSV layout) into our sqlite schema.

Rows with an empty selected column are skipped, as the official tools' `dropna()` does.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipeline.envs.travelplanner.database import DatabaseError, insert_rows

IMPORT_VERSION = 1
# (table, file under the database directory, official columns in our column order)
FILES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "flights",
        "flights/clean_Flights_2022.csv",
        (
            "Flight Number",
            "Price",
            "DepTime",
            "ArrTime",
            "ActualElapsedTime",
            "FlightDate",
            "OriginCityName",
            "DestCityName",
            "Distance",
        ),
    ),
    (
        "accommodations",
        "accommodations/clean_accommodations_2022.csv",
        (
            "NAME",
            "price",
            "room type",
            "house_rules",
            "minimum nights",
            "maximum occupancy",
            "review rate number",
            "city",
        ),
    ),
    (
        "restaurants",
        "restaurants/clean_restaurant_2022.csv",
        ("Name", "Average Cost", "Cuisines", "Aggregate Rating", "City"),
    ),
    (
        "attractions",
        "attractions/attractions.csv",
        ("Name", "Latitude", "Longitude", "Address", "Phone", "Website", "City"),
    ),
    (
        "distances",
        "googleDistanceMatrix/distance.csv",
        ("origin", "destination", "duration", "distance"),
    ),
)
CITY_FILE = "background/citySet_with_states.txt"
_INT = {"Price", "price", "minimum nights", "maximum occupancy", "Average Cost"}
_FLOAT = {"Distance", "review rate number", "Aggregate Rating", "Latitude", "Longitude"}


def source_key(directory: Path) -> str:
    """Identifies the directory's content by path, sizes and mtimes (cheap, no full read)."""
    h = hashlib.sha256(f"{IMPORT_VERSION}|{directory.resolve()}".encode())
    for rel in [f for _, f, _ in FILES] + [CITY_FILE]:
        st = (directory / rel).stat()
        h.update(f"|{rel}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def check_layout(directory: Path) -> None:
    if not directory.is_dir():
        raise DatabaseError(f"env.travelplanner.database: not a directory: {directory}")
    for rel in [f for _, f, _ in FILES] + [CITY_FILE]:
        if not (directory / rel).is_file():
            raise DatabaseError(f"env.travelplanner.database: missing {directory / rel}")


def fill_from_csv(conn: sqlite3.Connection, directory: Path) -> None:
    cities = []
    lines = (directory / CITY_FILE).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DatabaseError(f"{directory / CITY_FILE}:{n}: expected 'city<TAB>state'")
        cities.append((parts[0].strip(), parts[1].strip(), len(cities)))
    insert_rows(conn, "cities", cities)
    for table, rel, columns in FILES:
        insert_rows(conn, table, list(_rows(directory / rel, columns, table == "distances")))
    meta = {"source": "csv", "directory": str(directory.resolve())}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))


def _rows(path: Path, columns: tuple[str, ...], distances: bool) -> Iterator[tuple]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DatabaseError(f"{path}: missing column(s) {', '.join(missing)}")
        for n, rec in enumerate(reader, 2):
            values = [(rec.get(c) or "").strip() for c in columns]
            if any(v == "" or v.lower() == "nan" for v in values):
                continue
            try:
                row = [_convert(c, v) for c, v in zip(columns, values, strict=True)]
            except ValueError as err:
                raise DatabaseError(f"{path}:{n}: {err}") from None
            if distances:
                row.append(_km(row[3]))
                if row[-1] is None:
                    continue
            yield tuple(row)


def _convert(column: str, value: str) -> object:
    if column in _INT:
        return int(float(value))
    if column in _FLOAT:
        return float(value)
    return value


def _km(text: str) -> float | None:
    """'1,234 km' -> 1234.0 (the official cost rule reads the number before 'km')."""
    m = re.match(r"^\s*([\d,]+(?:\.\d+)?)\s*km", text)
    return float(m.group(1).replace(",", "")) if m else None
