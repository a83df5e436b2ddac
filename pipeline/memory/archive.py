"""On-disk half of an embedded store: frozen procedures, applied op ids and the memory version.

Local-mode Qdrant keeps every point of a collection in Python RAM, so an endless run would hold
every procedure it ever discarded and one batch record per commit. Frozen (discarded, quarantined)
procedures never take part in search, and op ids are only looked up, so both live here, in one
sqlite file beside the collections, read on demand through sqlite's bounded page cache.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.memory.schema import HISTORY_KEY, MEM_VERSION_KEY

_SCHEMA = """
CREATE TABLE IF NOT EXISTS frozen (id TEXT PRIMARY KEY, status TEXT NOT NULL, payload TEXT);
CREATE INDEX IF NOT EXISTS frozen_status ON frozen (status);
CREATE TABLE IF NOT EXISTS applied (op_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_IN_CHUNK = 500  # ids per `IN (...)`: under sqlite's default variable limit


def newer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Is payload `a` a later write of a procedure than `b`? (a crash mid-move leaves both)."""

    def key(p: dict[str, Any]) -> tuple[int, int]:
        return int(p.get(MEM_VERSION_KEY, 0)), len(p.get(HISTORY_KEY, []))

    return key(a) > key(b)


class FrozenArchive:
    """Frozen procedures' payloads by id, the set of applied op ids, and the memory version."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
        # WAL + NORMAL: safe against process crashes; a power cut loses at most the newest
        # batches, which the run's memory_ops.jsonl replays idempotently (as for the collections).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # sqlite's default page cache (2 MB) fills as the file grows: a slow RSS climb over a
        # soak. Lookups touch a few B-tree pages each; 256 KB keeps the hot inner ones.
        self.db.execute("PRAGMA cache_size=-256")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def reset(self) -> None:
        with self.db:
            self.db.execute("BEGIN")
            for table in ("frozen", "applied", "state"):
                self.db.execute(f"DELETE FROM {table}")

    # ---- procedures ----

    def put(self, payloads: Iterable[tuple[str, dict[str, Any]]]) -> None:
        rows = [(pid, p.get("status", "discarded"), json.dumps(p)) for pid, p in payloads]
        if rows:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT OR REPLACE INTO frozen VALUES (?, ?, ?)", rows)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self.db:
                self.db.execute("BEGIN")
                self._in("DELETE FROM frozen WHERE id IN ({})", ids)

    def get(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self._in("SELECT id, payload FROM frozen WHERE id IN ({})", ids)
        return {pid: json.loads(p) for pid, p in rows}

    def scan(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Payloads of one status (None: all), read row by row."""
        if status is None:
            cursor = self.db.execute("SELECT payload FROM frozen ORDER BY id")
        else:
            sql = "SELECT payload FROM frozen WHERE status = ? ORDER BY id"
            cursor = self.db.execute(sql, (status,))
        for (payload,) in cursor:
            yield json.loads(payload)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM frozen").fetchone()[0]
        sql = "SELECT COUNT(*) FROM frozen WHERE status = ?"
        return self.db.execute(sql, (status,)).fetchone()[0]

    # ---- batches ----

    def applied(self, op_ids: Sequence[str]) -> set[str]:
        """Which of these op ids a recorded batch holds."""
        rows = self._in("SELECT op_id FROM applied WHERE op_id IN ({})", op_ids)
        return {op_id for (op_id,) in rows}

    def all_applied(self) -> list[str]:
        return [op_id for (op_id,) in self.db.execute("SELECT op_id FROM applied ORDER BY op_id")]

    def record_batch(self, version: int, op_ids: Sequence[str]) -> None:
        """The batch's commit point: its op ids and the version, in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR IGNORE INTO applied VALUES (?)", [(i,) for i in op_ids])
            self.db.execute(
                "INSERT INTO state VALUES ('version', ?) ON CONFLICT(key) "
                "DO UPDATE SET value = max(value, excluded.value)",
                (version,),
            )

    def version(self) -> int:
        row = self.db.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
        return int(row[0]) if row else 0

    def _in(self, sql: str, ids: Sequence[str]) -> list[Any]:
        """Rows of `sql`, its `IN ({})` filled with these ids in chunks (sqlite's variable cap)."""
        items, rows = list(ids), []
        for i in range(0, len(items), _IN_CHUNK):
            chunk = items[i : i + _IN_CHUNK]
            rows += self.db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows
