"""In-memory numpy mirror of an embedded store: vector search, counts and capacity ranking.

Local-mode Qdrant scores every point in Python (MaxSim is a loop per point) and filters payloads
per point; one process owns an embedded store, so it can keep its active procedures in matrices
next to Qdrant, which stays the durable record the index is rebuilt from at open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from qdrant_client import AsyncQdrantClient

from pipeline.memory.schema import FACTS_VECTOR, QUERY_VECTOR, utility
from pipeline.types import ProcedureStats

EPSILON = 1.1920929e-7  # qdrant_client.local's zero-norm guard, for bit-equal stored vectors
_MARGIN = 1e-4  # float32 prefilter slack per query row; exact float64 scores decide the ranking
_CHUNK = 256  # slots rescored at once, to bound the float64 temporaries

_FIELDS = ["status", "task_type", "stats", "created_at", "version"]
RankKey = tuple[float, float, str, int]  # (utility, created_at, id, version): capacity order


def dense_as_qdrant(vector: Any) -> np.ndarray:
    """A `query` vector as local Qdrant stores it on a cosine collection (float32, unit norm)."""
    v = np.array(vector, dtype=np.float32)
    norm = np.linalg.norm(v)
    return v / norm if norm > EPSILON else v


def multi_as_qdrant(vectors: Any) -> np.ndarray:
    """A `facts` multivector as local Qdrant stores it (float32 rows, each of unit norm)."""
    m = np.array(vectors, dtype=np.float32)
    norm = np.linalg.norm(m, axis=-1)[:, np.newaxis]
    m /= np.where(norm != 0.0, norm, EPSILON)
    return m


def _unit64(rows: np.ndarray) -> np.ndarray:
    """The query side as local Qdrant scores it: float64, each row normalised."""
    q = np.array(rows, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    return q / np.where(norm != 0.0, norm, EPSILON)


def _local_points(client: AsyncQdrantClient, collection: str) -> list | None:
    """(id, payload, vectors) straight from local mode's arrays (private internals), or None.

    Scrolling turns every stored vector into a Python list and back: it doubled reopen time.
    Any mismatch with the expected layout returns None and the caller scrolls instead.
    """
    try:
        coll = client._client.collections[collection]  # type: ignore[attr-defined]
        n = len(coll.payload)
        dense, multi = coll.vectors[QUERY_VECTOR], coll.multivectors[FACTS_VECTOR]
        gone_q, gone_f = (
            coll.deleted_per_vector[QUERY_VECTOR],
            coll.deleted_per_vector[FACTS_VECTOR],
        )
        if not (len(coll.ids_inv) == len(coll.deleted) == n <= min(len(dense), len(multi))):
            return None
        points = []
        for i in range(n):
            if coll.deleted[i]:
                continue
            vectors = {} if gone_q[i] else {QUERY_VECTOR: dense[i]}
            if not gone_f[i]:
                vectors[FACTS_VECTOR] = multi[i]
            points.append((str(coll.ids_inv[i]), coll.payload[i], vectors, False))
        return points
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


async def load_index(
    client: AsyncQdrantClient, collection: str, dim: int, fast: bool = True
) -> ActiveIndex:
    """An index of every stored point of `collection`, read page by page."""
    index = ActiveIndex(dim)
    local = _local_points(client, collection) if fast else None
    if local is not None:
        index.apply(local)
        return index
    offset = None
    while True:
        points, offset = await client.scroll(
            collection, limit=1024, offset=offset, with_payload=_FIELDS, with_vectors=True
        )
        index.apply((str(p.id), p.payload or {}, p.vector or {}, False) for p in points)  # type: ignore[misc]
        if offset is None:
            return index


class ActiveIndex:
    """Active procedures' vectors (slots, facts as contiguous row segments) plus every status."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.status: dict[str, str] = {}  # every point, active or not: count() and active_ids()
        self.status_counts: Counter[str] = Counter()
        self.rank: dict[str, RankKey] = {}  # active points only
        self.slot_of: dict[str, int] = {}
        self.ids: list[str] = []
        self.type_code: dict[str, int] = {}
        self.n = 0  # slots in use, alive or dead
        self.rows = 0  # facts rows in use
        self.dead = 0
        # Distinct keyword vectors by vocabulary id; id 0 is the zero vector (slots without facts).
        self.u = np.zeros((64, dim), np.float32)
        self.vocab: dict[bytes, int] = {self.u[0].tobytes(): 0}
        self._alloc(64, 192)

    def _alloc(self, slots: int, rows: int) -> None:
        self.q = np.zeros((slots, self.dim), np.float32)
        self.alive = np.zeros(slots, bool)
        self.has_q = np.zeros(slots, bool)
        self.has_f = np.zeros(slots, bool)
        self.types = np.zeros(slots, np.int32)
        self.f_start = np.zeros(slots, np.int64)
        self.f_len = np.zeros(slots, np.int64)
        self.f = np.zeros(rows, np.int64)  # facts row -> its vector in the vocabulary
        self.id_arr = np.zeros(slots, dtype="<U64")

    def _grow(self, slots: int, rows: int) -> None:
        """Capacity doubling, so appends stay amortised O(1) per procedure."""
        if slots > len(self.alive):
            size = max(slots, 2 * len(self.alive))
            for name in ("q", "alive", "has_q", "has_f", "types", "f_start", "f_len", "id_arr"):
                old = getattr(self, name)
                new = np.zeros((size, *old.shape[1:]), old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        if rows > len(self.f):
            new = np.zeros(max(rows, 2 * len(self.f)), np.int64)
            new[: self.rows] = self.f[: self.rows]
            self.f = new

    def _vocab(self, rows: np.ndarray) -> np.ndarray:
        """Vocabulary ids of keyword vectors: keywords repeat a lot across procedures, so MaxSim
        scores each distinct vector once and gathers per facts row."""
        out = np.empty(len(rows), np.int64)
        for i, row in enumerate(rows):
            key = row.tobytes()
            vid = self.vocab.get(key)
            if vid is None:
                if len(self.vocab) == len(self.u):
                    self.u = np.concatenate([self.u, np.zeros_like(self.u)])
                vid = self.vocab[key] = len(self.vocab)
                self.u[vid] = row
            out[i] = vid
        return out

    # ---- updates ----

    def apply(self, points: Iterable[tuple[str, dict[str, Any], dict[str, Any], bool]]) -> None:
        """Mirror upserted points: (id, payload, vectors, raw); raw vectors get normalised."""
        for pid, payload, vectors, raw in points:
            self._set_status(pid, payload, vectors or {}, raw)
        if self.dead > 1024 and self.dead > self.n - self.dead:
            self._compact()

    def forget(self, ids: Iterable[str]) -> None:
        """Drop points that left the collection (frozen ones move to the archive)."""
        for pid in ids:
            old = self.status.pop(pid, None)
            if old is not None:
                self.status_counts[old] -= 1
            self.rank.pop(pid, None)
            self._kill(pid)
        if self.dead > 1024 and self.dead > self.n - self.dead:
            self._compact()

    def _set_status(self, pid: str, payload: dict[str, Any], vectors: dict, raw: bool) -> None:
        status = payload.get("status", "active")
        old = self.status.get(pid)
        if old is not None:
            self.status_counts[old] -= 1
        self.status[pid] = status
        self.status_counts[status] += 1
        if status != "active":
            self.rank.pop(pid, None)
            self._kill(pid)
            return
        stats = ProcedureStats.model_validate(payload.get("stats") or {})
        self.rank[pid] = (utility(stats), payload.get("created_at", 0.0), pid,
                          payload.get("version", 1))  # fmt: skip
        query, facts = vectors.get(QUERY_VECTOR), vectors.get(FACTS_VECTOR)
        if query is None and facts is None:
            self._kill(pid)  # no vector, no search hit: like a point Qdrant cannot score
            return
        qv = fv = None
        if query is not None:
            qv = dense_as_qdrant(query) if raw else np.asarray(query, np.float32)
        if facts is not None:
            fv = multi_as_qdrant(facts) if raw else np.asarray(facts, np.float32)
        self._put(pid, payload.get("task_type", ""), qv, fv)

    def _kill(self, pid: str) -> None:
        slot = self.slot_of.pop(pid, None)
        if slot is not None:
            self.alive[slot] = False
            self.dead += 1

    def _put(self, pid: str, task_type: str, qv: np.ndarray | None, fv: np.ndarray | None) -> None:
        code = self.type_code.setdefault(task_type, len(self.type_code))
        need = 1 if fv is None else len(fv)
        slot = self.slot_of.get(pid)
        if slot is not None and self.f_len[slot] != need:
            self._kill(pid)  # facts segments are contiguous: a new length needs a new slot
            slot = None
        if slot is None:
            self._grow(self.n + 1, self.rows + need)
            slot, self.n = self.n, self.n + 1
            self.f_start[slot], self.f_len[slot] = self.rows, need
            self.rows += need
            self.slot_of[pid] = slot
            if slot < len(self.ids):
                self.ids[slot] = pid
            else:
                self.ids.append(pid)
            self.id_arr[slot] = pid
        start = self.f_start[slot]
        self.alive[slot], self.types[slot] = True, code
        self.has_q[slot], self.has_f[slot] = qv is not None, fv is not None
        self.q[slot] = 0.0 if qv is None else qv
        self.f[start : start + need] = 0 if fv is None else self._vocab(fv)

    def _compact(self) -> None:
        """Drop dead slots and their facts rows (amortised: only when most slots are dead)."""
        keep = np.flatnonzero(self.alive[: self.n])
        lens = self.f_len[keep]
        starts = np.repeat(self.f_start[keep] - np.cumsum(lens) + lens, lens)
        rows = starts + np.arange(int(lens.sum()))
        old = {k: getattr(self, k)[keep] for k in ("q", "has_q", "has_f", "types", "id_arr")}
        facts = self.f[rows]
        self.n, self.rows, self.dead = len(keep), len(rows), 0
        self._alloc(max(64, 2 * self.n), max(192, 2 * self.rows))
        for name, values in old.items():
            getattr(self, name)[: self.n] = values
        self.f[: self.rows] = facts
        self.alive[: self.n] = True
        self.f_len[: self.n] = lens
        self.f_start[: self.n] = np.cumsum(lens) - lens
        self.ids = [self.ids[i] for i in keep]
        self.slot_of = {pid: i for i, pid in enumerate(self.ids)}

    # ---- reads ----

    def count(self, status: str | None) -> int:
        return len(self.status) if status is None else self.status_counts[status]

    def active_ids(self) -> list[str]:
        return sorted(self.rank)

    def ranking(self) -> list[RankKey]:
        """Active procedures, lowest utility first, then oldest, then id (capacity victims)."""
        return sorted(self.rank.values())

    def _mask(self, using: str, task_type: str | None) -> np.ndarray:
        mask = (
            self.alive[: self.n] & (self.has_q if using == QUERY_VECTOR else self.has_f)[: self.n]
        )
        if task_type is not None:
            code = self.type_code.get(task_type)
            if code is None:
                return np.zeros(self.n, bool)
            mask &= self.types[: self.n] == code
        return mask

    def search(
        self, vector: np.ndarray, using: str, limit: int, threshold: float | None = None,
        task_type: str | None = None,
    ) -> list[tuple[str, float]]:  # fmt: skip
        """(id, score) best first, as local Qdrant's query_points scores (ties: by id)."""
        if using == QUERY_VECTOR:
            return self.search_many(np.asarray(vector)[None], limit, threshold, [task_type])[0]
        q64 = _unit64(np.atleast_2d(vector))
        if self.n == 0:
            return []
        vocab = self.u[: len(self.vocab)] @ q64.astype(np.float32).T  # (distinct, n_query)
        sims = vocab[self.f[: self.rows]]  # (facts rows, n_query)
        approx = np.maximum.reduceat(sims, self.f_start[: self.n], axis=0).sum(axis=1)
        margin = _MARGIN * len(q64)
        return self._pick(approx, self._mask(using, task_type), limit, threshold, margin,
                          lambda slots: self._maxsim64(slots, q64))  # fmt: skip

    def search_many(
        self, vectors: np.ndarray, limit: int, threshold: float | None,
        task_types: Sequence[str | None],
    ) -> list[list[tuple[str, float]]]:  # fmt: skip
        """Dense `query` search for many vectors with one matrix product (the dedup check)."""
        q64 = _unit64(np.atleast_2d(vectors))
        if self.n == 0:
            return [[] for _ in q64]
        q32 = q64.astype(np.float32)
        if len(q32) == 1 and hasattr(np, "vecdot"):
            # One query (retrieval): numpy's single-threaded SIMD loop; multithreaded BLAS gemv
            # is no faster on this memory-bound product and has long tails on a busy machine.
            approx = np.vecdot(self.q[: self.n], q32[0])[:, None]
        else:
            approx = self.q[: self.n] @ q32.T  # (slots, n_vectors): one product for a batch
        masks = {t: self._mask(QUERY_VECTOR, t) for t in set(task_types)}
        # With a threshold (dedup) most vectors have no candidate at all: find those at once.
        open_cols = range(len(q64))
        if threshold is not None:
            open_cols = np.flatnonzero((approx > threshold - _MARGIN).any(axis=0)).tolist()
        out: list[list[tuple[str, float]]] = [[] for _ in q64]
        for col in open_cols:
            exact = lambda slots, q=q64[col]: self._dense64(slots, q)  # noqa: E731
            mask = masks[task_types[col]]
            out[col] = self._pick(approx[:, col], mask, limit, threshold, _MARGIN, exact)
        return out

    def _pick(self, approx, mask, limit, threshold, margin, exact) -> list[tuple[str, float]]:
        """Prefilter on float32 scores with a margin, then rank candidates on exact scores."""
        slots = np.flatnonzero(mask)
        scores = approx[slots]
        if threshold is not None:
            keep = scores > threshold - margin
            slots, scores = slots[keep], scores[keep]
        if len(slots) > limit:
            kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            slots = slots[scores >= kth - 2 * margin]
        if len(slots) == 0:
            return []
        final = np.concatenate([exact(slots[i : i + _CHUNK]) for i in range(0, len(slots), _CHUNK)])
        if threshold is not None:  # local Qdrant stops at score <= threshold: strictly greater
            keep = final > threshold
            slots, final = slots[keep], final[keep]
        order = np.lexsort((self.id_arr[slots], -final))[:limit]
        return [(self.ids[slots[i]], float(final[i])) for i in order]

    def _dense64(self, slots: np.ndarray, q: np.ndarray) -> np.ndarray:
        # Elementwise product + row sum, not BLAS: equal rows get equal scores, so ties are exact.
        return (self.q[slots].astype(np.float64) * q).sum(axis=1)

    def _maxsim64(self, slots: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Sum over query rows of the best match among each slot's facts rows (Qdrant MAX_SIM)."""
        lens = self.f_len[slots]
        firsts = np.cumsum(lens) - lens
        rows = np.repeat(self.f_start[slots] - firsts, lens) + np.arange(int(lens.sum()))
        vids, back = np.unique(self.f[rows], return_inverse=True)
        sims = (self.u[vids].astype(np.float64)[:, None, :] * q[None, :, :]).sum(axis=2)[back]
        return np.maximum.reduceat(sims, firsts, axis=0).sum(axis=1)
