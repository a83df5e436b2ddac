"""Memory store benchmark: write throughput through store.apply and retrieval latency by size."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.config import MemoryConfig
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.schema import FACTS_VECTOR, QUERY_VECTOR
from pipeline.memory.store import ProcedureStore
from pipeline.types import MemoryOp, Procedure, stable_id

OBJECTS = ["mug", "apple", "egg", "pencil", "book", "cd", "plate", "potato", "tomato", "knife",
           "spoon", "bowl", "cup", "lettuce", "bread", "vase", "keychain", "watch"]  # fmt: skip
RECEPS = ["cabinet", "countertop", "drawer", "fridge", "shelf", "desk", "sidetable", "bed",
          "diningtable", "coffeetable", "garbagecan", "microwave", "sinkbasin", "sofa"]  # fmt: skip
TEMPLATES = [
    ("pick_and_place_simple", "put a {o} in {r}.", ["{o}", "{r}"]),
    ("pick_clean_then_place_in_recep", "put a clean {o} in {r}.", ["clean", "{o}", "{r}"]),
    ("pick_heat_then_place_in_recep", "heat some {o} and put it in {r}.", ["heat", "{o}", "{r}"]),
    ("pick_cool_then_place_in_recep", "cool some {o} and put it in {r}.", ["cool", "{o}", "{r}"]),
    ("pick_two_obj_and_place", "put two {o} in {r}.", ["two", "{o}", "{r}"]),
    ("look_at_obj_in_light", "look at {o} under the desklamp.", ["look", "{o}", "desklamp"]),
]
BATCH = 500


def synthetic(rng: random.Random, n: int, namespace: str) -> Procedure:
    task_type, goal, keys = rng.choice(TEMPLATES)
    o, r = rng.choice(OBJECTS), rng.choice(RECEPS)
    text = goal.format(o=o, r=r)
    return Procedure(
        id=stable_id(namespace, "bench", str(n)),
        namespace=namespace,
        task_text=f"{text} #{n}",  # unique text: the bench measures inserts, not dedup merges
        task_type=task_type,
        keywords=[k.format(o=o, r=r) for k in keys],
        script=f"1. find the {o}\n2. take it\n3. go to the {r}\n4. put it there",
        trajectory=[f"> go to {r} 1\nYou arrive at {r} 1.", f"> move {o} 1 to {r} 1\nYou move."],
        granularity="proceduralization",
        source_trajectory_ids=[f"bench-{n}"],
        created_at=float(n),
        updated_at=float(n),
    )


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1e3, "p99_ms": p99 * 1e3}


async def _one_size(size: int, queries: int, path: Path, seed: int) -> dict[str, Any]:
    cfg = MemoryConfig(namespace=f"bench{size}", embed_dim=512)
    embedder = HashEmbedder(cfg.embed_dim)
    store = await ProcedureStore.open(cfg, path, embedder)
    rng = random.Random(seed)
    procs = [synthetic(rng, n, cfg.namespace) for n in range(size)]
    started = time.perf_counter()
    for start in range(0, size, BATCH):
        ops = [MemoryOp(op_id=stable_id("add", p.id), kind="add", procedure_id=p.id, procedure=p)
               for p in procs[start : start + BATCH]]  # fmt: skip
        await store.apply(ops)
    write_s = time.perf_counter() - started
    probes = [synthetic(rng, size + i, cfg.namespace) for i in range(queries)]
    latency: dict[str, list[float]] = {"query": [], "avefact": []}
    for probe in probes:
        t0 = time.perf_counter()
        rows, _ = await embedder.embed([probe.task_text])
        await store.search(rows[0], QUERY_VECTOR, 1)
        t1 = time.perf_counter()
        rows, _ = await embedder.embed(probe.keywords)
        await store.search(rows, FACTS_VECTOR, 1)
        latency["query"].append(t1 - t0)
        latency["avefact"].append(time.perf_counter() - t1)
    count = await store.count()
    await store.close()
    started = time.perf_counter()  # reopen: Qdrant loads its files, the embedded index rebuilds
    store = await ProcedureStore.open(cfg, path, embedder)
    open_s = time.perf_counter() - started
    await store.close()
    return {
        "size": count,
        "write_s": write_s,
        "writes_per_s": size / write_s,
        **{name: _ms(samples) for name, samples in latency.items()},
        "reopen_s": open_s,
        "index_build_s": getattr(store, "index_build_s", 0.0),
    }


async def bench_memory(
    sizes: tuple[int, ...] = (1000, 10000), queries: int = 200, path: str | Path | None = None
) -> dict[str, Any]:
    """Fill an embedded store per size via store.apply; writes/s, retrieval p50/p99, reopen time."""
    with tempfile.TemporaryDirectory(prefix="memp-bench-") as tmp:
        root = Path(path) if path is not None else Path(tmp)
        results = [await _one_size(n, queries, root / f"qdrant-{n}", seed=n) for n in sizes]
    return {"mode": "embedded", "embedder": "hash", "dim": 512, "batch": BATCH, "sizes": results}
