"""Drop deleted points from a local-mode Qdrant collection's RAM arrays, in place.

Local Qdrant's delete removes a point from its sqlite file but only marks it in RAM; a reopen
frees it by unpickling every stored point again, a ~30 MB transient that glibc keeps as a
fragmented high-water mark (the writer's RSS rose with each one). Keeping the live rows of the
arrays costs one copy of the live vectors. This touches private client internals: any layout it
does not expect returns False and the caller reopens the client instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np


def _collection(client: Any, name: str) -> Any | None:
    collections = getattr(getattr(client, "_client", None), "collections", None)
    return collections.get(name) if isinstance(collections, dict) else None


def compact_local(client: Any, name: str) -> bool:
    """Keep only the live points of local collection `name` in RAM; False if not applicable."""
    coll = _collection(client, name)
    try:
        n = len(coll.ids_inv)
        if coll.sparse_vectors or len(coll.payload) != n or len(coll.deleted) != n:
            return False  # sparse vectors carry idf state we do not rebuild
        per_vector = coll.deleted_per_vector
        names = [*coll.vectors, *coll.multivectors]
        if sorted(per_vector) != sorted(names) or any(len(per_vector[k]) != n for k in names):
            return False
        if any(len(coll.vectors[k]) < n for k in coll.vectors) or any(
            len(coll.multivectors[k]) != n for k in coll.multivectors
        ):
            return False
        keep = np.flatnonzero(~np.asarray(coll.deleted, bool))
        if len(keep) == n:
            return True
        rows = keep.tolist()
        # Build everything first, assign after: a failure above leaves the collection untouched.
        dense = {k: np.ascontiguousarray(v[keep]) for k, v in coll.vectors.items()}
        multi = {k: [v[i] for i in rows] for k, v in coll.multivectors.items()}
        gone = {k: np.ascontiguousarray(v[keep]) for k, v in per_vector.items()}
        ids_inv = [coll.ids_inv[i] for i in rows]
        payload = [coll.payload[i] for i in rows]
    except (AttributeError, KeyError, IndexError, TypeError):
        return False
    coll.vectors, coll.multivectors, coll.deleted_per_vector = dense, multi, gone
    coll.ids_inv, coll.payload = ids_inv, payload
    coll.ids = {pid: i for i, pid in enumerate(ids_inv)}
    coll.deleted = np.zeros(len(rows), bool)
    return True


_LIBC: Any = None


def release_free_heap() -> None:
    """glibc's malloc_trim(0): hand freed heap pages back to the OS (no-op elsewhere)."""
    global _LIBC
    if _LIBC is None:
        path = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(path) if path else False
        except OSError:
            _LIBC = False
    trim = getattr(_LIBC, "malloc_trim", None) if _LIBC else None
    if trim is not None:
        trim(0)
