"""Two Ray nodes on one machine (a head and a second node, as `ray start` makes them), one run.

The run joins the cluster through RAY_ADDRESS (as under Ray Jobs or in deploy/compose.yaml), its
rollout workers land on both nodes, the writer stays on the driver's node, and nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.pipeline_checks import check_memory, summary, task_ids

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "configs" / "household-sim.yaml"
# The `ray` CLI of the interpreter running the tests (the venv), not whichever is on PATH.
RAY = Path(sys.executable).with_name("ray")
TASKS = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {
        **env,
        # Ray >= 2.5x turns token auth on when it finds ~/.ray/auth_token; every node and the
        # driver must agree (see deploy/compose.yaml).
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_worker_niceness": "0",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


class Cluster:
    """`ray start` processes, each in its own session, so teardown kills exactly what they made."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sessions: list[int] = []
        self.port = _free_port()
        self.dashboard_port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dashboard = f"http://127.0.0.1:{self.dashboard_port}"

    def _start(self, name: str, *args: str) -> None:
        cmd = [
            str(RAY), "start", "--node-ip-address=127.0.0.1", "--num-cpus=1",
            f"--resources={json.dumps({name: 1})}", f"--temp-dir={self.tmp / name}",
            "--disable-usage-stats", *args,
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, text=True,
        )  # fmt: skip
        self.sessions.append(proc.pid)  # its session id: every Ray process it starts inherits it
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"ray start ({name}) failed:\n{out[-3000:]}"

    def start(self) -> None:
        # The dashboard serves the state API (list_actors) used to see where the actors ran.
        self._start(
            "node_head", "--head", f"--port={self.port}", "--include-dashboard=true",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
        )  # fmt: skip
        self._start("node_b", f"--address={self.address}")

    def processes(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) in self.sessions:
                    found[proc.pid] = proc
                    found.update((c.pid, c) for c in proc.children(recursive=True))
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        return list(found.values())

    def stop(self) -> None:
        """No `ray stop`: it would stop every Ray on the machine, other sessions' too."""
        procs = self.processes()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)


@pytest.fixture
def cluster():
    # Short and our own: Ray's unix socket paths live under it (about 107 characters at most).
    tmp = Path(tempfile.mkdtemp(prefix="memp-mn-", dir="/tmp"))
    nodes = Cluster(tmp)
    try:
        nodes.start()
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
        cmd, env=_env(RAY_ADDRESS=cluster.address), cwd=ROOT, capture_output=True, text=True,
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
