"""The TravelPlanner sandbox: synthetic (deterministic, realistic sizes) and official CSV."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from pipeline.envs.travelplanner import synthetic
from pipeline.envs.travelplanner.database import SCHEMA, DatabaseError
from pipeline.envs.travelplanner.sources import csv_database, open_database
from pipeline.envs.travelplanner.synthetic import fill_synthetic
from tests.travelplanner_data import CACHE, shared_db, write_tiny_csv_db

# Seconds per test (whole engines, databases or splits): not in `make test-fast`.
pytestmark = pytest.mark.slow

TABLES = ("cities", "flights", "accommodations", "restaurants", "attractions", "distances")


def _digest(conn: sqlite3.Connection) -> str:
    h = hashlib.sha256()
    for table in TABLES:
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(row).encode())
    return h.hexdigest()


def _generate(seed: int) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    fill_synthetic(conn, seed)
    return conn


def test_synthetic_database_is_deterministic_from_its_seed():
    cached = sqlite3.connect(shared_db(0).path)
    assert _digest(_generate(0)) == _digest(cached)
    # another seed draws other cities (generating a whole second database would take long)
    assert synthetic._cities(synthetic._rng(1)) != synthetic._cities(synthetic._rng(0))


def test_synthetic_database_has_realistic_sizes():
    db = shared_db(0)
    assert len(db.states()) >= 25
    assert 250 <= len(db.all_cities()) <= 400
    conn = sqlite3.connect(db.path)
    per_city = {
        t: Counter(c for (c,) in conn.execute(f"SELECT city FROM {t}"))
        for t in ("accommodations", "restaurants", "attractions")
    }
    for table, counts in per_city.items():
        assert set(counts) == set(db.all_cities()), table
        assert min(counts.values()) >= 8, table
        assert 10 <= sum(counts.values()) / len(counts) <= 40, table
    n_flights = conn.execute("SELECT count(*) FROM flights").fetchone()[0]
    routes = conn.execute(
        "SELECT count(DISTINCT origin_city_name || '>' || dest_city_name) FROM flights"
    ).fetchone()[0]
    dates = {d for (d,) in conn.execute("SELECT DISTINCT flight_date FROM flights")}
    assert n_flights > 100_000 and routes > 2000
    assert min(dates) == "2022-03-01" and max(dates) == "2022-03-31"
    n = len(db.all_cities())
    assert conn.execute("SELECT count(*) FROM distances").fetchone()[0] == n * (n - 1)


def test_synthetic_lookups_return_consistent_records():
    db = shared_db(0)
    row = (
        sqlite3.connect(db.path)
        .execute("SELECT origin_city_name, dest_city_name, flight_date, flight_number FROM flights")
        .fetchone()
    )
    flights = db.flights(row[0], row[1], row[2])
    assert flights and all(f.origin_city_name == row[0] for f in flights)
    assert [f.dep_time for f in flights] == sorted(f.dep_time for f in flights)
    assert db.flights_by_number(row[3]).flight_number == row[3]
    assert db.flights_by_number("F0") is None
    city = db.all_cities()[0]
    state = db.state_of(city)
    assert city in db.cities(state) and db.state_of("Atlantis") is None
    for lookup, one in ((db.accommodations, db.accommodation), (db.restaurants, db.restaurant),
                        (db.attractions, db.attraction)):  # fmt: skip
        first = lookup(city)[0]
        assert one(first.name, city) == first and one(first.name, "Atlantis") is None
    other = db.all_cities()[1]
    drive, taxi = db.distance(city, other, "self-driving"), db.distance(city, other, "taxi")
    raw = db.distance_row(city, other)
    if "day" in raw["duration"]:
        assert drive is None and taxi is None
    else:
        assert drive.cost == int(drive.distance_km * 0.05) and taxi.cost == int(taxi.distance_km)
    with pytest.raises(ValueError, match="self-driving"):
        db.distance(city, other, "walking")


def test_official_csv_layout_is_imported(tmp_path: Path):
    src = write_tiny_csv_db(tmp_path / "database")
    db = csv_database(src, tmp_path / "cache")
    assert db.meta["source"] == "csv"
    assert db.cities("Avalon") == ["Alder", "Brook"] and db.state_of("Dune") == "Borealis"
    # the row with an empty price is skipped, as the official dropna() does
    assert [f.flight_number for f in db.flights("Alder", "Cove", "2022-03-01")] == [
        "F0000003", "F0000001"]  # fmt: skip
    f = db.flights_by_number("F0000002")
    assert (f.price, f.dep_time, f.distance, f.actual_elapsed_time) == (
        95, "18:30", 800.0, "2 hours 5 minutes")  # fmt: skip
    quiet = db.accommodation("Quiet Room", "Cove")
    assert (quiet.price, quiet.minimum_nights, quiet.maximum_occupancy) == (80, 2, 2)
    assert not quiet.allows("pets") and quiet.allows("smoking")
    assert db.restaurant("Eatery 0", "Cove").serves("Chinese")
    assert len(db.restaurants("Cove")) == 10 and len(db.attractions("Cove")) == 4
    taxi = db.distance("Alder", "Cove", "taxi")
    assert (taxi.distance_km, taxi.cost, taxi.duration) == (1290.0, 1290, "14 hours 30 mins")
    assert db.distance("Alder", "Cove", "self-driving").cost == 64
    assert db.distance("Alder", "Dune", "taxi") is None  # a drive of more than a day
    assert db.distance("Dune", "Alder", "taxi") is None  # no entry
    # imported once: a second open reuses the cached file
    assert csv_database(src, tmp_path / "cache").path == db.path


def test_open_database_picks_the_source(tmp_path: Path):
    src = write_tiny_csv_db(tmp_path / "database")
    assert open_database(str(src), 0, str(tmp_path / "cache")).meta["source"] == "csv"
    synthetic_db = open_database(None, 0, str(CACHE))
    assert synthetic_db.meta == {"source": "synthetic", "seed": "0", "generator": "1"}
    assert open_database(None, 0, str(CACHE)) is synthetic_db  # one per source per process


def test_csv_layout_errors_name_the_missing_file(tmp_path: Path):
    src = write_tiny_csv_db(tmp_path / "database")
    (src / "restaurants" / "clean_restaurant_2022.csv").unlink()
    with pytest.raises(DatabaseError, match=r"clean_restaurant_2022\.csv"):
        csv_database(src, tmp_path / "cache")
    with pytest.raises(DatabaseError, match="not a directory"):
        csv_database(tmp_path / "nowhere", tmp_path / "cache")
