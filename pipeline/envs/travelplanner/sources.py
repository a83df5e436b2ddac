"""Where the database comes from: the seeded synthetic sandbox or the official CSV directory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pipeline.envs.travelplanner.csv_source import check_layout, fill_from_csv, source_key
from pipeline.envs.travelplanner.database import Database, build_once, default_cache_dir
from pipeline.envs.travelplanner.synthetic import GENERATOR_VERSION, fill_synthetic


def synthetic_database(seed: int = 0, cache_dir: str | Path | None = None) -> Database:
    """The synthetic database for `seed`, generated on first use and cached by seed and version."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    path = root / f"synthetic-v{GENERATOR_VERSION}-seed{seed}.sqlite"
    return Database(build_once(path, lambda conn: fill_synthetic(conn, seed)))


def csv_database(directory: str | Path, cache_dir: str | Path | None = None) -> Database:
    """The official CSV layout under `directory`, imported once into a cached sqlite file."""
    src = Path(directory).expanduser()
    check_layout(src)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    path = root / f"csv-{source_key(src)}.sqlite"
    return Database(build_once(path, lambda conn: fill_from_csv(conn, src)))


@lru_cache(maxsize=4)
def open_database(directory: str | None, seed: int = 0, cache_dir: str | None = None) -> Database:
    """One Database per source per process: the CSV directory if given, else the synthetic one."""
    if directory:
        return csv_database(directory, cache_dir)
    return synthetic_database(seed, cache_dir)
