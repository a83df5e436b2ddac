"""The store's read side: live Qdrant points plus, in embedded mode, the on-disk frozen archive."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np
from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm

from pipeline.memory.archive import FrozenArchive
from pipeline.memory.index import ActiveIndex, RankKey
from pipeline.memory.schema import (
    QUERY_VECTOR,
    HistoryEntry,
    from_payload,
    history_of,
    utility,
)
from pipeline.types import Procedure, ProcedureStats, ProcedureStatus

SCROLL_PAGE = 1024


def status_filter(status: ProcedureStatus | None = "active", task_type: str | None = None):
    must: list[Any] = []
    if status is not None:
        must.append(qm.FieldCondition(key="status", match=qm.MatchValue(value=status)))
    if task_type is not None:
        must.append(qm.FieldCondition(key="task_type", match=qm.MatchValue(value=task_type)))
    return qm.Filter(must=must) if must else None


class StoreReads:
    """Reads of ProcedureStore. Embedded: the collection holds active procedures only and the
    archive the frozen ones; server: the collection holds every procedure."""

    client: AsyncQdrantClient
    collection: str
    meta: str
    version: int
    index: ActiveIndex | None
    archive: FrozenArchive | None
    _active_ids: tuple[int, list[str]] | None
    _counts: dict[tuple[int, str | None], int]

    async def _scroll(
        self, collection: str, flt: Any, with_payload: Any = True
    ) -> AsyncIterator[dict[str, Any]]:
        offset = None
        while True:
            points, offset = await self.client.scroll(
                collection, scroll_filter=flt, limit=SCROLL_PAGE, offset=offset,
                with_payload=with_payload,
            )  # fmt: skip
            for point in points:
                yield point.payload or {}
            if offset is None:
                return

    async def _payloads(self, ids: Sequence[str], **kw: Any) -> dict[str, tuple[dict, Any]]:
        """(payload, vectors) by id, live points first, then the archive (frozen: no vectors)."""
        if not ids:
            return {}
        found = await self.client.retrieve(self.collection, list(ids), with_payload=True, **kw)
        out = {str(p.id): (dict(p.payload or {}), p.vector or {}) for p in found}
        if self.archive is not None:
            rest = [i for i in ids if i not in out]
            out.update((pid, (p, {})) for pid, p in self.archive.get(rest).items())
        return out

    async def get(self, ids: Sequence[str]) -> list[Procedure]:
        """Procedures by id in the order asked, skipping unknown ids."""
        by_id = {pid: from_payload(p) for pid, (p, _) in (await self._payloads(ids)).items()}
        return [by_id[i] for i in ids if i in by_id]

    async def records(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], Any]]:
        """Raw (payload, vectors) by id: what the writer needs to rewrite a point."""
        return await self._payloads(ids, with_vectors=True)

    async def all(self, status: ProcedureStatus | None = None) -> list[Procedure]:
        """Every procedure (optionally of one status), sorted by creation time then id."""
        procs = [
            from_payload(p) async for p in self._scroll(self.collection, status_filter(status))
        ]
        if self.archive is not None and status != "active":
            procs += [from_payload(p) for p in self.archive.scan(status)]
        return sorted(procs, key=lambda p: (p.created_at, p.id))

    async def count(self, status: ProcedureStatus | None = "active") -> int:
        """Procedures of a status: live ones from the index (embedded) or Qdrant (cached per
        memory version), plus the archive's frozen ones."""
        if self.archive is not None and status is not None and status != "active":
            return self.archive.count(status)  # the live collection holds active ones only
        frozen = 0 if self.archive is None or status is not None else self.archive.count()
        return frozen + await self._live_count(status)

    async def _live_count(self, status: ProcedureStatus | None) -> int:
        if self.index is not None:
            return self.index.count(status)
        key = (self.version, status)
        if key not in self._counts:
            found = await self.client.count(self.collection, count_filter=status_filter(status))
            self._counts = {k: v for k, v in self._counts.items() if k[0] == self.version}
            self._counts[key] = found.count
        return self._counts[key]

    async def scan_active(self, fields: list[str]) -> AsyncIterator[dict[str, Any]]:
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
        found = await self._payloads([procedure_id])
        return history_of(found[procedure_id][0]) if procedure_id in found else []

    async def active_ids(self) -> list[str]:
        """Sorted ids of active procedures (random retrieval samples these)."""
        if self.index is not None:
            return self.index.active_ids()
        if self._active_ids is None or self._active_ids[0] != self.version:
            ids: list[str] = []
            offset = None
            while True:
                points, offset = await self.client.scroll(
                    self.collection, scroll_filter=status_filter("active"), limit=SCROLL_PAGE,
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
        """Full state (payloads, vectors, batch records, applied op ids) for comparisons."""
        out: dict[str, Any] = {"version": self.version, "procedures": {}, "meta": {}}
        for name, key in ((self.collection, "procedures"), (self.meta, "meta")):
            offset = None
            while True:
                points, offset = await self.client.scroll(
                    name, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=True
                )
                for p in points:
                    out[key][str(p.id)] = {"payload": p.payload, "vector": p.vector}
                if offset is None:
                    break
        if self.archive is not None:
            for p in self.archive.scan():
                out["procedures"][p["id"]] = {"payload": p, "vector": {}}
            out["applied"] = self.archive.all_applied()
        return out
