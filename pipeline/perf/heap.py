"""Soak debugging: allocation sites and object counts of one process, written on request.

With MEMP_HEAP_DIR set, a process whose hot path calls `HeapProbe.tick()` writes every `every`
ticks <dir>/<name>-<pid>-<ticks>.json: live objects by type, and live bytes by allocation site
when MEMP_HEAP_TRACE names the probe (tracemalloc slows a process several times: trace one kind).
Two dumps of one process show what grows. Unset, a tick costs nothing.
"""

from __future__ import annotations

import gc
import json
import os
import tracemalloc
from collections import Counter
from pathlib import Path

HEAP_DIR_ENV = "MEMP_HEAP_DIR"
HEAP_TRACE_ENV = "MEMP_HEAP_TRACE"  # comma-separated probe names, e.g. writer,rollout0
FRAMES = 6  # allocation-site depth: enough to tell which caller of a shared helper grows
TOP = 40


class HeapProbe:
    """Counts ticks of one process's hot path; dumps the heap every `every` ticks when enabled."""

    def __init__(self, name: str, every: int = 500) -> None:
        where = os.environ.get(HEAP_DIR_ENV)
        self.dir = Path(where) if where else None
        self.name = name
        self.every = every
        self.ticks = 0
        traced = name in os.environ.get(HEAP_TRACE_ENV, "").split(",")
        if self.dir is not None and traced and not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)

    def tick(self) -> None:
        if self.dir is None:
            return
        self.ticks += 1
        if self.ticks % self.every == 0:
            self.dump()

    def dump(self) -> Path | None:
        if self.dir is None:
            return None
        gc.collect()
        types = Counter(type(o).__name__ for o in gc.get_objects())
        report: dict[str, object] = {"ticks": self.ticks, "types": dict(types.most_common())}
        if tracemalloc.is_tracing():
            sites = tracemalloc.take_snapshot().statistics("traceback")[:TOP]
            report["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
            report["sites"] = [
                {"kb": s.size / 1024, "count": s.count, "where": [str(f) for f in s.traceback]}
                for s in sites
            ]
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{self.name}-{os.getpid()}-{self.ticks}.json"
        path.write_text(json.dumps(report, indent=1))
        return path
