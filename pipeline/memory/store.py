"""The procedure store: one async Qdrant implementation for embedded (path) and server mode."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm

from pipeline.config import MemoryConfig
from pipeline.memory.embed import Embedder, embedder_dim
from pipeline.memory.index import ActiveIndex, RankKey, load_index
from pipeline.memory.schema import (
    FACTS_VECTOR,
    INDEXED_FIELDS,
    QUERY_VECTOR,
    STATE_POINT,
    ApplyResult,
    HistoryEntry,
    MemoryStoreError,
    batch_point,
    collection_names,
    from_payload,
    history_of,
    utility,
)
from pipeline.memory.writer import BatchWriter  # the write path lives in its own module
from pipeline.types import MemoryOp, Procedure, ProcedureStats, ProcedureStatus

_META_VECTOR = "m"  # meta points need some vector in every Qdrant version; one float is enough
_SCROLL_PAGE = 1024


def status_filter(status: ProcedureStatus | None = "active", task_type: str | None = None):
    must: list[Any] = []
    if status is not None:
        must.append(qm.FieldCondition(key="status", match=qm.MatchValue(value=status)))
    if task_type is not None:
        must.append(qm.FieldCondition(key="task_type", match=qm.MatchValue(value=task_type)))
    return qm.Filter(must=must) if must else None


class ProcedureStore:
    """Procedures of one memory namespace in Qdrant; the single writer applies MemoryOps."""

    def __init__(self, client: AsyncQdrantClient, cfg: MemoryConfig, embedder: Embedder | None):
        self.client = client
        self.cfg = cfg
        self.embedder = embedder
        self.namespace = cfg.namespace
        self.collection, self.meta = collection_names(cfg.qdrant.collection_prefix, cfg.namespace)
        self.server = cfg.qdrant.url is not None
        self.version = 0
        self.applied_ops: set[str] = set()
        self._lock = anyio.Lock()  # apply is serial even when callers are concurrent coroutines
        self._active_ids: tuple[int, list[str]] | None = None  # (version, ids) cache for random
        self._counts: dict[tuple[int, str | None], int] = {}
        self.dim = 0
        # Embedded mode only: this process owns the files, so a numpy mirror answers searches,
        # counts and capacity ranking; the server is shared with other writers and searches itself.
        self.index: ActiveIndex | None = None
        self.index_build_s = 0.0

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
        store = cls(client, cfg, embedder)
        try:
            await store._prepare()
            store._tune_local_storage()
        except BaseException:
            await client.close()
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
        await self._load_batches()
        if not self.server:
            await self._build_index()

    async def reset(self) -> None:
        """Drop this namespace's collections and start empty (a rebuild from the op log follows)."""
        for name in (self.collection, self.meta):
            await self.client.delete_collection(name)  # no error when it is not there
        self.version, self.applied_ops, self._active_ids, self._counts = 0, set(), None, {}
        await self._prepare()  # creates them again (needs the embedder)
        self._tune_local_storage()

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
        await self.client.create_collection(
            self.collection,
            vectors_config={
                QUERY_VECTOR: qm.VectorParams(size=dim, distance=qm.Distance.COSINE),
                FACTS_VECTOR: qm.VectorParams(
                    size=dim,
                    distance=qm.Distance.COSINE,
                    multivector_config=qm.MultiVectorConfig(
                        comparator=qm.MultiVectorComparator.MAX_SIM
                    ),
                ),
            },
        )
        if not await self.client.collection_exists(self.meta):
            await self.client.create_collection(
                self.meta, vectors_config={_META_VECTOR: qm.VectorParams(size=1, distance="Dot")}
            )
        if self.server:  # local mode has no payload indexes (and warns), the server needs them
            for field in INDEXED_FIELDS:
                await self.client.create_payload_index(
                    self.collection, field, field_schema=qm.PayloadSchemaType.KEYWORD
                )
            await self.client.create_payload_index(
                self.meta, "kind", field_schema=qm.PayloadSchemaType.KEYWORD
            )
        state = {"kind": "state", "embedder": self.embedder.name, "dim": dim}
        await self.write_meta([(STATE_POINT, {**state, "namespace": self.namespace})])

    async def _state(self) -> dict[str, Any]:
        if not await self.client.collection_exists(self.meta):
            return {}
        found = await self.client.retrieve(self.meta, [STATE_POINT], with_payload=True)
        return dict(found[0].payload or {}) if found else {}

    async def _load_batches(self) -> None:
        """Applied op ids and the memory version come from the meta collection's batch records."""
        flt = qm.Filter(must=[qm.FieldCondition(key="kind", match=qm.MatchValue(value="batch"))])
        async for payload in self._scroll(self.meta, flt):
            self.version = max(self.version, int(payload["version"]))
            self.applied_ops.update(payload["op_ids"])

    async def write_meta(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        points = [qm.PointStruct(id=i, vector={_META_VECTOR: [1.0]}, payload=p) for i, p in items]
        await self.client.upsert(self.meta, points)

    async def close(self) -> None:
        await self.client.close()

    async def _scroll(self, collection: str, flt: Any, with_payload: Any = True):
        offset = None
        while True:
            points, offset = await self.client.scroll(
                collection, scroll_filter=flt, limit=_SCROLL_PAGE, offset=offset,
                with_payload=with_payload,
            )  # fmt: skip
            for point in points:
                yield point.payload or {}
            if offset is None:
                return

    # ---- reads ----

    async def get(self, ids: Sequence[str]) -> list[Procedure]:
        """Procedures by id in the order asked, skipping unknown ids."""
        if not ids:
            return []
        found = await self.client.retrieve(self.collection, list(ids), with_payload=True)
        by_id = {str(p.id): from_payload(p.payload or {}) for p in found}
        return [by_id[i] for i in ids if i in by_id]

    async def records(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], Any]]:
        """Raw (payload, vectors) by id: what the writer needs to rewrite a point."""
        if not ids:
            return {}
        found = await self.client.retrieve(
            self.collection, list(ids), with_payload=True, with_vectors=True
        )
        return {str(p.id): (dict(p.payload or {}), p.vector) for p in found}

    async def all(self, status: ProcedureStatus | None = None) -> list[Procedure]:
        """Every procedure (optionally of one status), sorted by creation time then id."""
        procs = [
            from_payload(p) async for p in self._scroll(self.collection, status_filter(status))
        ]
        return sorted(procs, key=lambda p: (p.created_at, p.id))

    async def count(self, status: ProcedureStatus | None = "active") -> int:
        """Procedures of a status: from the index when embedded, else cached per memory version."""
        if self.index is not None:
            return self.index.count(status)
        key = (self.version, status)
        if key not in self._counts:
            found = await self.client.count(self.collection, count_filter=status_filter(status))
            self._counts = {k: v for k, v in self._counts.items() if k[0] == self.version}
            self._counts[key] = found.count
        return self._counts[key]

    async def scan_active(self, fields: list[str]):
        """Selected payload fields of every active procedure (the capacity rule ranks these)."""
        async for payload in self._scroll(self.collection, status_filter("active"), fields):
            yield payload

    async def capacity_ranking(self) -> list[RankKey]:
        """(utility, created_at, id, version) of active procedures, in eviction order."""
        if self.index is not None:
            return self.index.ranking()
        ranked: list[RankKey] = []
        async for p in self.scan_active(["id", "stats", "created_at", "version"]):
            stats = ProcedureStats.model_validate(p["stats"])
            ranked.append((utility(stats), p["created_at"], p["id"], p["version"]))
        return sorted(ranked)  # lowest utility first, then oldest, then id: deterministic

    async def history(self, procedure_id: str) -> list[HistoryEntry]:
        found = await self.client.retrieve(self.collection, [procedure_id], with_payload=True)
        return history_of(found[0].payload or {}) if found else []

    async def active_ids(self) -> list[str]:
        """Sorted ids of active procedures (random retrieval samples these)."""
        if self.index is not None:
            return self.index.active_ids()
        if self._active_ids is None or self._active_ids[0] != self.version:
            ids: list[str] = []
            offset = None
            while True:
                points, offset = await self.client.scroll(
                    self.collection, scroll_filter=status_filter("active"), limit=_SCROLL_PAGE,
                    offset=offset, with_payload=False,
                )  # fmt: skip
                ids.extend(str(p.id) for p in points)
                if offset is None:
                    break
            self._active_ids = (self.version, sorted(ids))
        return self._active_ids[1]

    async def sample(self, k: int, rng: random.Random) -> list[Procedure]:
        ids = await self.active_ids()
        return await self.get(rng.sample(ids, min(k, len(ids))))

    async def search(
        self,
        vector: np.ndarray,
        using: str,
        limit: int,
        threshold: float | None = None,
        task_type: str | None = None,
    ) -> list[tuple[Procedure, float]]:
        """Active procedures nearest to a dense vector (`query`) or a keyword matrix (`facts`)."""
        exclude = qm.PayloadSelectorExclude(exclude=["history", "last_ops"])
        if self.index is not None:
            hits = self.index.search(vector, using, limit, threshold, task_type)
            found = await self.client.retrieve(
                self.collection, [pid for pid, _ in hits], with_payload=exclude
            )
            by_id = {str(p.id): from_payload(p.payload or {}) for p in found}
            return [(by_id[pid], score) for pid, score in hits if pid in by_id]
        # Discarded points have no vectors, so only active ones can match.
        response = await self.client.query_points(
            self.collection,
            query=vector.tolist(),
            using=using,
            query_filter=status_filter("active", task_type),
            limit=limit,
            score_threshold=threshold,
            with_payload=exclude,
        )
        return [(from_payload(p.payload or {}), float(p.score)) for p in response.points]

    async def nearest(
        self,
        vectors: np.ndarray,
        limit: int,
        threshold: float | None,
        task_types: Sequence[str | None],
    ) -> list[list[tuple[str, float]]]:
        """(id, score) of the active procedures nearest to each `query` vector: one round trip."""
        if len(vectors) == 0:
            return []
        if self.index is not None:
            return self.index.search_many(vectors, limit, threshold, task_types)
        requests = [
            qm.QueryRequest(query=v.tolist(), using=QUERY_VECTOR, limit=limit,
                            filter=status_filter("active", t), score_threshold=threshold)
            for v, t in zip(vectors, task_types, strict=True)
        ]  # fmt: skip
        responses = await self.client.query_batch_points(self.collection, requests)
        return [[(str(p.id), float(p.score)) for p in r.points] for r in responses]

    async def dump(self) -> dict[str, Any]:
        """Full state (payloads, vectors, batch records) for comparisons and debugging."""
        out: dict[str, Any] = {"version": self.version, "procedures": {}, "meta": {}}
        for name, key in ((self.collection, "procedures"), (self.meta, "meta")):
            offset = None
            while True:
                points, offset = await self.client.scroll(
                    name, limit=_SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=True
                )
                for p in points:
                    out[key][str(p.id)] = {"payload": p.payload, "vector": p.vector}
                if offset is None:
                    break
        return out

    # ---- writes ----

    async def apply(self, ops: Sequence[MemoryOp]) -> ApplyResult:
        """Apply ops serially and idempotently (by op id); bumps the version once per batch."""
        if self.embedder is None:
            raise MemoryStoreError("memory store opened read-only (no embedder); cannot apply ops")
        async with self._lock:
            self._counts = {}  # the writer counts mid-batch, before the version moves
            try:
                return await BatchWriter(self).run(list(ops))
            finally:
                self._active_ids, self._counts = None, {}

    async def upsert(self, points: list[qm.PointStruct]) -> None:
        if points:
            await self.client.upsert(self.collection, points)
            if self.index is not None:  # same path as the write: the mirror cannot drift
                self.index.apply((str(p.id), p.payload or {}, p.vector, True) for p in points)  # type: ignore[misc]

    async def record_batch(self, version: int, op_ids: list[str], applied: int) -> None:
        """Remember a batch's op ids; the record is the commit point that makes replays no-ops."""
        payload = {
            "kind": "batch",
            "version": version,
            "op_ids": op_ids,
            "applied": applied,
            "at": time.time(),
        }
        await self.write_meta([(batch_point(version, op_ids[0]), payload)])
        self.version = max(self.version, version)
        self.applied_ops.update(op_ids)
