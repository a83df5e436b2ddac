"""Two Ray nodes on one machine (a head and a second node, as `ray start` makes them), one run.

The run joins the cluster through RAY_ADDRESS (as under Ray Jobs or in deploy/compose.yaml), its
rollout workers land on both nodes, the writer stays on the driver's node, and nothing is lost.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from actors.local_cluster import LocalCluster, node_env
from tests.pipeline_checks import check_memory, summary, task_ids

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "configs" / "household-sim.yaml"
TASKS = 12


@pytest.fixture
def cluster():
    # Short and our own: Ray's unix socket paths live under it (about 107 characters at most).
    tmp = Path(tempfile.mkdtemp(prefix="memp-mn-", dir="/tmp"))
    nodes = LocalCluster(tmp)
    try:
        nodes.start_node("node_head", head=True)
        nodes.start_node("node_b")
        yield nodes
    finally:
        nodes.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    left = nodes.processes()
    assert not left, f"Ray processes left behind: {[p.pid for p in left]}"


def test_rollout_workers_run_on_both_nodes(cluster, tmp_path, monkeypatch):
    from ray.util.state import list_actors, list_nodes

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # for our own state API calls
    started = time.monotonic()
    nodes = {
        name: n.node_id
        for n in list_nodes(address=cluster.dashboard)
        for name in ("node_head", "node_b")
        if n.state == "ALIVE" and name in n.resources_total
    }
    assert len(nodes) == 2, nodes

    run_dir = tmp_path / "run"
    sets = (
        f"env.max_tasks={TASKS}", "pipeline.rollout_workers=2", "pipeline.episodes_per_worker=4",
        "pipeline.group_size=6", "metrics.enabled=false", "env.step_limit=30",
        "sim.latency.kind=fixed", "sim.latency.mean_s=0.02",
    )  # fmt: skip
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(PRESET), "--run-dir", str(run_dir)]
    cmd += [arg for kv in sets for arg in ("--set", kv)] + ["--no-progress"]
    # No --address: memp run joins the cluster RAY_ADDRESS names, as a Ray Job's driver does.
    done = subprocess.run(
        cmd, env=node_env(RAY_ADDRESS=cluster.address), cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    ids = task_ids(run_dir)
    assert len(ids) == TASKS and Counter(ids).most_common(1)[0][1] == 1
    assert summary(run_dir)["episodes"] == TASKS
    check_memory(run_dir)

    # Actors are dead after the run; the state API still lists them, with their node.
    actors = list_actors(address=cluster.dashboard, limit=1000, raise_on_missing_output=False)
    placed: dict[str, list[str]] = {}
    for actor in actors:
        placed.setdefault(actor.class_name, []).append(actor.node_id)
    workers = placed.get("RolloutWorkerImpl", [])
    assert len(workers) == 2, placed
    assert set(workers) == set(nodes.values()), f"rollout workers on {workers}, nodes {nodes}"
    # The driver joins the head's raylet (Ray prefers the head among nodes on one host); the writer
    # owns the run directory's embedded Qdrant, so it runs there.
    assert placed.get("MemoryWriterImpl") == [nodes["node_head"]], placed
    print(f"multi-node run: {time.monotonic() - started:.0f}s after the nodes were up")


def test_perf_nodes_places_workers_on_the_second_node_while_it_is_up():
    """`memp perf nodes`: head only, then both nodes, then head only again; each run measured."""
    cmd = [sys.executable, "-m", "pipeline.cli", "perf", "nodes", "--concurrency", "64",
           "--latency", "0.05", "--warmup", "2", "--window", "3"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{\n") :])
    runs = report["runs"]
    assert [r["name"] for r in runs] == ["one node", "two nodes", "one node again"]
    assert [r["nodes"] for r in runs] == [1, 2, 1]
    assert all(r["steps_per_s"] > 0 for r in runs)
    assert report["two_over_one"] > 0
