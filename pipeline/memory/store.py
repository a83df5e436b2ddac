"""The procedure store: one async Qdrant implementation for embedded (path) and server mode.

Embedded mode keeps only active procedures in the local collection (which local Qdrant holds in
RAM) and moves frozen ones, applied op ids and the version to an sqlite archive beside it
(archive.py); a server holds them all itself, as the namespace's record shared by its writers.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm

from pipeline.config import MemoryConfig
from pipeline.memory.archive import FrozenArchive, newer
from pipeline.memory.compact import compact_local, release_free_heap
from pipeline.memory.embed import Embedder, embedder_dim
from pipeline.memory.index import ActiveIndex, load_index
from pipeline.memory.reads import StoreReads, status_filter
from pipeline.memory.schema import (
    FACTS_VECTOR,
    INDEXED_FIELDS,
    QUERY_VECTOR,
    STATE_POINT,
    ApplyResult,
    MemoryStoreError,
    batch_point,
    collection_names,
)
from pipeline.memory.writer import BatchWriter  # the write path lives in its own module
from pipeline.types import MemoryOp

__all__ = ["ProcedureStore", "status_filter"]

_META_VECTOR = "m"  # meta points need some vector in every Qdrant version; one float is enough
_BATCHES = qm.Filter(must=[qm.FieldCondition(key="kind", match=qm.MatchValue(value="batch"))])
# Local Qdrant only marks a deleted point (its payload and vector rows stay in RAM): drop them
# (compact.py) once this many points left since, and at least as many as are live.
_COMPACT_AFTER = 256
ARCHIVE_SUFFIX = ".archive.sqlite"


def procedure_vectors(dim: int) -> dict[str, qm.VectorParams]:
    """A procedure collection's vectors: the task text, and one row per keyword (MaxSim)."""
    multi = qm.MultiVectorConfig(comparator=qm.MultiVectorComparator.MAX_SIM)
    return {
        QUERY_VECTOR: qm.VectorParams(size=dim, distance=qm.Distance.COSINE),
        FACTS_VECTOR: qm.VectorParams(
            size=dim, distance=qm.Distance.COSINE, multivector_config=multi
        ),
    }


class ProcedureStore(StoreReads):
    """Procedures of one memory namespace in Qdrant; the single writer applies MemoryOps."""

    def __init__(
        self,
        client: AsyncQdrantClient,
        cfg: MemoryConfig,
        embedder: Embedder | None,
        path: Path | None = None,
    ):
        self.client = client
        self.path = path  # embedded on disk: where the client reopens
        self.cfg = cfg
        self.embedder = embedder
        self.namespace = cfg.namespace
        self.collection, self.meta = collection_names(cfg.qdrant.collection_prefix, cfg.namespace)
        self.server = cfg.qdrant.url is not None
        self.version = 0
        self._lock = anyio.Lock()  # apply is serial even when callers are concurrent coroutines
        self._active_ids: tuple[int, list[str]] | None = None  # (version, ids) cache for random
        self._counts: dict[tuple[int, str | None], int] = {}
        self.dim = 0
        # Embedded mode only: this process owns the files, so a numpy mirror answers searches,
        # counts and capacity ranking; the server is shared with other writers and searches itself.
        self.index: ActiveIndex | None = None
        self.index_build_s = 0.0
        self.archive: FrozenArchive | None = None  # embedded only: frozen points, op ids
        self._left = 0  # points deleted from the local collection since it was last compacted

    @classmethod
    async def open(
        cls, cfg: MemoryConfig, path: str | Path | None = None, embedder: Embedder | None = None
    ) -> ProcedureStore:
        """Connect (server if memory.qdrant.url, else local files at `path`), create or check."""
        if cfg.qdrant.url:
            key = os.environ.get(cfg.qdrant.api_key_env) if cfg.qdrant.api_key_env else None
            if cfg.qdrant.api_key_env and not key:
                raise MemoryStoreError(f"env var {cfg.qdrant.api_key_env} is not set")
            client = AsyncQdrantClient(url=cfg.qdrant.url, api_key=key)
        elif path is None:
            client = AsyncQdrantClient(location=":memory:")
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
            try:
                client = AsyncQdrantClient(path=str(path))
            except RuntimeError as err:  # the local file lock: one client per path
                raise MemoryStoreError(f"memory store {path} is in use by another process") from err
        store = cls(client, cfg, embedder, None if path is None else Path(path))
        if not store.server:
            name = ":memory:" if path is None else Path(path) / (store.collection + ARCHIVE_SUFFIX)
            store.archive = FrozenArchive(name)
        try:
            await store._prepare()
            store._tune_local_storage()
        except BaseException:
            await store.close()
            raise
        return store

    async def _prepare(self) -> None:
        exists = await self.client.collection_exists(self.collection)
        if exists:
            await self._check_embedder()
        elif self.embedder is None:
            raise MemoryStoreError(f"memory collection {self.collection} does not exist")
        else:
            await self._create()
        if self.archive is None:
            await self._load_version()
        else:
            await self._migrate()
            self.version = self.archive.version()
            await self._build_index()

    async def reset(self) -> None:
        """Drop this namespace's collections and start empty (a rebuild from the op log follows)."""
        for name in (self.collection, self.meta):
            await self.client.delete_collection(name)  # no error when it is not there
        if self.archive is not None:
            self.archive.reset()
        self.version, self._active_ids, self._counts = 0, None, {}
        await self._prepare()  # creates them again (needs the embedder)
        self._tune_local_storage()

    async def _migrate(self) -> None:
        """Embedded: settle a procedure a crash while archiving left in both places (newer write
        wins); move to the archive what older stores kept in Qdrant (frozen points, batches)."""
        assert self.archive is not None
        frozen: list[tuple[str, dict[str, Any]]] = []
        async for p in self._scroll(self.collection, None):
            if p.get("status", "active") != "active":
                frozen.append((p["id"], p))
        self.archive.put(frozen)
        stale = [pid for pid, _ in frozen]
        live = [p async for p in self._scroll(self.collection, status_filter("active"))]
        archived = self.archive.get([p["id"] for p in live])
        stale += [p["id"] for p in live if p["id"] in archived and newer(archived[p["id"]], p)]
        back = [pid for pid in archived if pid not in stale]  # restored: the live one is newer
        if stale:
            await self.client.delete(self.collection, points_selector=stale)
        self.archive.delete(back)
        batches = []
        async for p in self._scroll(self.meta, _BATCHES):
            self.archive.record_batch(int(p["version"]), p["op_ids"])
            batches.append(batch_point(int(p["version"]), p["op_ids"][0]))
        if batches:
            await self.client.delete(self.meta, points_selector=batches)

    async def _build_index(self) -> None:
        """Rebuild the in-memory index from the stored points (Qdrant is the source of truth)."""
        started = time.perf_counter()
        self.index = await load_index(self.client, self.collection, self.dim)
        self.index_build_s = time.perf_counter() - started

    def _tune_local_storage(self) -> None:
        """WAL journal + synchronous=NORMAL for local-mode sqlite files (private client internals).

        qdrant-client commits each point with a full fsync; NORMAL in WAL mode stays safe against
        process crashes, and a power cut can only lose the newest batches, which the run's
        ops.jsonl replays idempotently. Skipped silently if the internals ever change.
        """
        collections = getattr(getattr(self.client, "_client", None), "collections", None)
        if not isinstance(collections, dict):
            return
        for name in (self.collection, self.meta):
            conn = getattr(getattr(collections.get(name), "storage", None), "storage", None)
            if isinstance(conn, sqlite3.Connection):
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")

    async def _check_embedder(self) -> None:
        info = await self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dim = vectors[QUERY_VECTOR].size if isinstance(vectors, dict) else vectors.size
        self.dim = dim
        state = await self._state()
        if self.embedder is None:
            return
        mine = await embedder_dim(self.embedder)
        built_with = state.get("embedder", self.embedder.name)
        if dim != mine:
            raise MemoryStoreError(
                f"memory collection {self.collection} has dim {dim} but embedder "
                f"{self.embedder.name!r} gives {mine}; use a new namespace or "
                f"--set memory.embed_dim={dim}"
            )
        if built_with != self.embedder.name:
            raise MemoryStoreError(
                f"memory collection {self.collection} was built with embedder {built_with!r}, "
                f"not {self.embedder.name!r}; use a new namespace or the same embedder"
            )

    async def _create(self) -> None:
        assert self.embedder is not None
        dim = self.dim = await embedder_dim(self.embedder)
        await self.client.create_collection(self.collection, vectors_config=procedure_vectors(dim))
        if not await self.client.collection_exists(self.meta):
            await self.client.create_collection(
                self.meta, vectors_config={_META_VECTOR: qm.VectorParams(size=1, distance="Dot")}
            )
        if self.server:  # local mode has no payload indexes (and warns), the server needs them
            for field in INDEXED_FIELDS:
                await self.client.create_payload_index(
                    self.collection, field, field_schema=qm.PayloadSchemaType.KEYWORD
                )
            for field in ("kind", "op_ids"):  # op_ids: applied() looks ops up on the server
                await self.client.create_payload_index(
                    self.meta, field, field_schema=qm.PayloadSchemaType.KEYWORD
                )
        state = {"kind": "state", "embedder": self.embedder.name, "dim": dim}
        await self.write_meta([(STATE_POINT, {**state, "namespace": self.namespace})])

    async def _state(self) -> dict[str, Any]:
        if not await self.client.collection_exists(self.meta):
            return {}
        found = await self.client.retrieve(self.meta, [STATE_POINT], with_payload=True)
        return dict(found[0].payload or {}) if found else {}

    async def _load_version(self) -> None:
        """Server: the memory version is the newest of the meta collection's batch records."""
        async for payload in self._scroll(self.meta, _BATCHES, ["version"]):
            self.version = max(self.version, int(payload["version"]))

    async def applied(self, op_ids: Sequence[str]) -> set[str]:
        """Which of these op ids a recorded batch holds (looked up, never all held in RAM)."""
        if not op_ids:
            return set()
        if self.archive is not None:
            return self.archive.applied(op_ids)
        hits = qm.FieldCondition(key="op_ids", match=qm.MatchAny(any=list(op_ids)))
        found: set[str] = set()
        async for p in self._scroll(self.meta, qm.Filter(must=[hits]), ["op_ids"]):
            found.update(p["op_ids"])
        return found & set(op_ids)

    async def applied_ids(self) -> list[str]:
        """Every applied op id, sorted (comparisons and tests; reads them all)."""
        if self.archive is not None:
            return self.archive.all_applied()
        return sorted({i async for p in self._scroll(self.meta, _BATCHES, ["op_ids"])
                       for i in p["op_ids"]})  # fmt: skip

    async def write_meta(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        points = [qm.PointStruct(id=i, vector={_META_VECTOR: [1.0]}, payload=p) for i, p in items]
        await self.client.upsert(self.meta, points)

    async def close(self) -> None:
        await self.client.close()
        if self.archive is not None:
            self.archive.close()

    # ---- writes ----

    async def apply(
        self,
        ops: Sequence[MemoryOp],
        before_write: Callable[[list[MemoryOp]], None] | None = None,
        applied: set[str] | None = None,
    ) -> ApplyResult:
        """Apply ops serially and idempotently (by op id); bumps the version once per batch.
        `before_write` gets the ops the batch derives (discard rule, capacity) before any
        change reaches the store: the committer logs them there. `applied`: which of the ops'
        ids the store holds, if the caller just asked (and nothing applied since)."""
        if self.embedder is None:
            raise MemoryStoreError("memory store opened read-only (no embedder); cannot apply ops")
        async with self._lock:
            self._counts = {}  # the writer counts mid-batch, before the version moves
            try:
                return await BatchWriter(self, before_write).run(list(ops), applied)
            finally:
                self._active_ids, self._counts = None, {}

    async def upsert(self, points: list[qm.PointStruct]) -> None:
        if not points:
            return
        if self.archive is None:  # server: frozen points stay, without vectors
            await self.client.upsert(self.collection, points)
            return
        live, gone = [], []
        for p in points:
            (live if (p.payload or {}).get("status", "active") == "active" else gone).append(p)
        frozen = [str(p.id) for p in gone]
        # Archive first, then the live side: a crash between leaves a point in both places,
        # and the next open keeps the newer write (_migrate).
        self.archive.put((str(p.id), p.payload or {}) for p in gone)
        if live:
            await self.client.upsert(self.collection, live)
        if frozen:
            await self.client.delete(self.collection, points_selector=frozen)
            self._left += len(frozen)
        self.archive.delete([str(p.id) for p in live])  # restored ones leave the archive
        if self.index is not None:  # same path as the write: the mirror cannot drift
            self.index.apply((str(p.id), p.payload or {}, p.vector, True) for p in live)  # type: ignore[misc]
            self.index.forget(frozen)
        if self._left >= max(_COMPACT_AFTER, self.index.count("active") if self.index else 0):
            await self._drop_deleted()

    async def _drop_deleted(self) -> None:
        """Free deleted points' payloads and vectors: in place, else by reopening the client (the
        local client never suspends inside a call, so no coroutine sees it half closed)."""
        if not compact_local(self.client, self.collection) and self.path is not None:
            await self.client.close()
            self.client = AsyncQdrantClient(path=str(self.path))
            self._tune_local_storage()
        self._left = 0
        release_free_heap()  # the dropped rows were thousands of small objects: give pages back

    async def record_batch(self, version: int, op_ids: list[str], applied: int) -> None:
        """Remember a batch's op ids; the record is the commit point that makes replays no-ops."""
        if self.archive is not None:
            self.archive.record_batch(version, op_ids)
            self.version = max(self.version, version)
            return
        payload = {
            "kind": "batch",
            "version": version,
            "op_ids": op_ids,
            "applied": applied,
            "at": time.time(),
        }
        await self.write_meta([(batch_point(version, op_ids[0]), payload)])
        self.version = max(self.version, version)
