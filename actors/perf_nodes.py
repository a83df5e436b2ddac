"""`memp perf nodes`: streaming throughput on one local Ray node, then two, then one again."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import ray

from actors.local_cluster import LocalCluster
from actors.perf import bench_pipeline
from pipeline.errors import StartupError
from pipeline.perf.pipeline import PerfPoint

HEAD, SECOND = "node_head", "node_b"


def _alive_nodes() -> int:
    return sum(1 for n in ray.nodes() if n.get("Alive"))


def _wait_nodes(count: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _alive_nodes() != count:
        if time.monotonic() > deadline:
            raise StartupError(
                f"the local cluster did not reach {count} live nodes in {timeout_s}s"
            )
        time.sleep(0.5)


def bench_nodes(concurrency: int, window_s: float, warmup_s: float, latency_s: float,
                server: bool = False) -> list[tuple[str, PerfPoint]]:  # fmt: skip
    """The same level three times: head only, head + a second node, head only again.

    With two or more cores the head (and this driver) take core 0 and the second node core 1,
    so the second node adds a core as a second host would; the sandwich shows drift."""
    cores = os.sched_getaffinity(0)
    split = len(cores) >= 2
    first, second = ({min(cores)}, cores - {min(cores)}) if split else (None, None)
    tmp = Path(tempfile.mkdtemp(prefix="memp-pn-", dir="/tmp"))
    cluster = LocalCluster(tmp)
    if first:
        os.sched_setaffinity(0, first)  # this driver shares the head's core
    os.environ["RAY_AUTH_MODE"] = "disabled"  # as the nodes: see local_cluster.node_env

    def level() -> PerfPoint:
        return bench_pipeline([concurrency], latency_s=latency_s, warmup_s=warmup_s,
                              window_s=window_s, lockstep_at=[], address=cluster.address,
                              server=server, profile=False)[0]  # fmt: skip

    try:
        cluster.start_node(HEAD, first, head=True)
        points = [("one node", level())]
        cluster.start_node(SECOND, second)
        _wait_nodes(2)
        points.append(("two nodes", level()))
        cluster.stop([SECOND])
        _wait_nodes(1)
        points.append(("one node again", level()))
        return points
    finally:
        ray.shutdown()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        os.sched_setaffinity(0, cores)
