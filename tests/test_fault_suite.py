"""Fault suite, memory actors (real Ray, sync mode, sim model): kill -9 the validator's, a
distiller's or the writer's process while a group's memory work is in flight; the actor restarts,
the work is retried (idempotent by op id) and summary.json and the memory equal an uninterrupted
run's. Memory work that keeps failing is counted (memory.failed), shown, and exits 4."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest
import ray
from rich.console import Console

from actors.driver import Driver
from actors.fleet import Fleet
from pipeline.config_load import load_config
from pipeline.memory.store import ProcedureStore
from pipeline.runlog import RunDir
from tests.pipeline_checks import check_memory, task_ids
from tests.test_pipeline_ray import PRESET, ROOT, _env, _memp, ray_address  # noqa: F401

pytestmark = pytest.mark.heavy  # Ray actors and subprocesses: not in `make test-fast`

QUIET = Console(quiet=True)
SETS = [
    "metrics.enabled=false", "env.max_tasks=12", "pipeline.group_size=6", "env.step_limit=20",
    "sim.latency.kind=fixed", "sim.latency.mean_s=0.05", "pipeline.episodes_per_worker=3",
    "pipeline.rollout_workers=2",
]  # fmt: skip


async def _memory(run_dir: Path) -> list[dict]:
    cfg = RunDir.resume(run_dir).config
    store = await ProcedureStore.open(cfg.memory, run_dir / "qdrant", None)
    try:  # wall-clock stamps differ between any two runs
        return [p.model_dump(exclude={"created_at", "updated_at"}) for p in await store.all()]
    finally:
        await store.close()


def _run(path: Path, fault=None) -> tuple[dict, list[dict], Driver, dict]:
    cfg = load_config(PRESET, SETS)
    rd = RunDir.create(path, cfg)
    fleet = Fleet.start(cfg, rd)
    driver = Driver(cfg, rd, fleet, QUIET, show_progress=False)
    seen: dict = {}
    killer = threading.Thread(target=fault, args=(driver, fleet, seen), daemon=True)
    if fault is not None:
        killer.start()
    try:
        summary = driver.run()
        if fault is not None:
            killer.join(timeout=60)
            seen["pid_after"] = _pid(seen["actor"])
    finally:
        fleet.close()
        rd.close()
    ids = task_ids(path)
    assert len(ids) == len(set(ids)) == 12  # none lost, none ran twice
    check_memory(path)  # every logged op applied once, none twice
    return summary.model_dump(exclude={"wall_s"}), anyio.run(_memory, path), driver, seen


def _pid(actor) -> int:
    """The actor's process id, once it answers (Ray may still be restarting it)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            return ray.get(actor.ready.remote())
        except ray.exceptions.RayActorError:
            assert time.monotonic() < deadline, "the actor never came back"
            time.sleep(0.5)


def _until(cond, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "the fault point never came"
        time.sleep(0.005)


def _in_flight(driver: Driver) -> list:
    try:
        return list(driver.memory.values())
    except RuntimeError:  # changed while copied (the driver's thread): look again
        return []


def _distilled(driver: Driver) -> bool:
    """A batch's distills are done: its commit is running in the writer (or about to)."""
    for mem in _in_flight(driver):
        refs = [d for _, d in mem.chains]
        if refs and len(ray.wait(refs, num_returns=len(refs), timeout=0)[0]) == len(refs):
            return True
    return False


def _kill(pick, when):
    def fault(driver: Driver, fleet: Fleet, seen: dict) -> None:
        actor = seen["actor"] = pick(fleet)
        seen["pid"] = _pid(actor)
        _until(lambda: when(driver))
        os.kill(seen["pid"], signal.SIGKILL)

    return fault


def _kill_writer_mid_commit(driver: Driver, fleet: Fleet, seen: dict) -> None:
    """A commit takes milliseconds, too short to hit by polling: freeze the writer while a
    batch is distilled, give the driver time to push that batch's commit to it, then kill it."""
    actor = seen["actor"] = fleet.writer
    seen["pid"] = _pid(actor)
    _until(lambda: bool(_in_flight(driver)))  # its distills still run: no commit can finish
    os.kill(seen["pid"], signal.SIGSTOP)
    _until(lambda: _distilled(driver))
    time.sleep(1.0)  # the commit's arguments are resolved: the driver pushes it to the writer
    os.kill(seen["pid"], signal.SIGKILL)


FAULTS = {
    "validator": _kill(lambda f: f.validator, lambda d: bool(_in_flight(d))),
    "distiller": _kill(lambda f: f.distillers[0], lambda d: bool(_in_flight(d))),
    "writer": _kill_writer_mid_commit,
}


@pytest.fixture(scope="module")
def reference(ray_address, tmp_path_factory):  # noqa: F811
    summary, memory, _, _ = _run(tmp_path_factory.mktemp("ref") / "run")
    assert summary["memory"]["size"] > 0 and summary["memory"]["failed"] == 0
    return summary, memory


@pytest.mark.parametrize("kind", list(FAULTS))
def test_killed_memory_actor_loses_and_doubles_nothing(reference, tmp_path, kind):
    summary, memory, driver, seen = _run(tmp_path / "run", FAULTS[kind])
    assert seen["pid_after"] != seen["pid"], "the actor was not restarted"
    if kind != "validator":  # Ray itself re-runs a validator call (max_task_retries=-1)
        assert driver.sched.memory_retries >= 1, "the killed work was never retried"
    assert summary["memory"]["failed"] == 0
    want_summary, want_memory = reference
    assert summary == want_summary
    assert memory == want_memory


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def test_memory_work_that_keeps_failing_is_counted_shown_and_exits_4(ray_address, tmp_path):  # noqa: F811
    run_dir = tmp_path / "run"
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    sets = [*SETS, "memory.builder.model=openai/builder", f"memory.builder.api_base={down}",
            "memory.builder.max_retries=0", "env.max_tasks=6", "memory.update=vanilla"]  # fmt: skip
    args = [a for kv in sets for a in ("--set", kv)]
    cmd = _memp(str(PRESET), *args, "--run-dir", str(run_dir), "--address", ray_address,
                "--no-progress", "--no-preflight")  # fmt: skip
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 4, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "memory work of" in errors[0], done.stderr[-2000:]
    assert "pipeline.allow_memory_failures" in errors[0]
    assert "failed after every retry" in done.stdout  # the console line, with the last error
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = summary["memory"]["failed"]
    assert failed > 0 and summary["episodes"] == 6
    trajs = RunDir.resume(run_dir).recorded_trajectories()
    committed = Counter(t for c in RunDir.resume(run_dir).recorded_commits()
                        for t in c.trajectory_ids)  # fmt: skip
    assert failed == sum(1 for t in trajs if t.id not in committed)
