"""`memp memory` and `memp trajectory` via a subprocess: read-only, readable, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from pipeline.config import dump_config
from pipeline.config_load import build_config
from pipeline.memory.embed import HashEmbedder
from pipeline.memory.store import ProcedureStore
from pipeline.runlog import CONFIG, MEMORY_OPS, TRAJECTORIES
from pipeline.types import MemoryOp, Step, Task, Trajectory
from tests.test_memory_store import GOALS, add, proc, stat

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]


def memp(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def _config(run: Path, enabled: bool) -> None:
    cfg = build_config({"memory": {"enabled": enabled, "embed_dim": 512}})
    (run / CONFIG).write_text(dump_config(cfg))


def _trajectory(tid: str) -> Trajectory:
    task = Task(id="household/t/0001", env="household", split="t", task_type="pick_clean_then_"
                "place_in_recep", goal="put a clean mug in cabinet.", seed=1)  # fmt: skip
    steps = [
        Step(thought="find the mug", action="go to countertop 1", observation="You see a mug 1."),
        Step(action="", observation="Nothing happens.", valid=False, raw="[bad] answer"),
    ]
    return Trajectory(id=tid, task=task, steps=steps, model="sim/household", success=False)


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, str]:
    """A run with memory on: an added, adjusted (by traj-fail-7) and a second procedure."""
    run = tmp_path / "run"
    run.mkdir()
    _config(run, enabled=True)
    first = proc(*GOALS[0])
    revised = first.model_copy(update={"script": "1. find a mug\n2. clean it in sinkbasin 1\n"
                                       "3. put it in cabinet 1"})  # fmt: skip
    adjust = MemoryOp(op_id="adjust-op-1", kind="adjust", procedure_id=first.id, procedure=revised,
                      reason="failed while following it in traj-fail-7",
                      source_trajectory_id="traj-fail-7")  # fmt: skip
    ops = [add(first), add(proc(*GOALS[1])), stat(first.id, "x", True), adjust]
    for seq, op in enumerate(ops, 1):
        op.seq = seq

    async def fill() -> None:
        store = await ProcedureStore.open(
            build_config({}).memory.model_copy(update={"embed_dim": 512}),
            run / "qdrant",
            HashEmbedder(512),
        )
        for op in ops:
            await store.apply([op])
        await store.close()

    anyio.run(fill)
    (run / MEMORY_OPS).write_text("".join(op.model_dump_json() + "\n" for op in ops))
    (run / TRAJECTORIES).write_text(_trajectory("traj-fail-7").model_dump_json() + "\n")
    return run, first.id


def _tree(path: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*"))


def _one_line_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("cmd", [["ls"], ["stats"], ["show", "abc"], ["history", "abc"]])
def test_memory_off_and_not_a_run_dir_create_nothing(tmp_path: Path, cmd: list[str]) -> None:
    off = tmp_path / "off-run-with-a-rather-long-name-so-a-narrow-terminal-would-wrap-it"
    off.mkdir()
    _config(off, enabled=False)
    (off / TRAJECTORIES).write_text("")
    before = _tree(off)
    res = memp("memory", *cmd, "--run-dir", str(off), columns=40)
    _one_line_error(res, f"{off}: memory was off in this run")
    assert _tree(off) == before  # no qdrant/ made

    stray = tmp_path / "not-a-run"
    stray.mkdir()
    res = memp("memory", *cmd, "--run-dir", str(stray), columns=40)
    _one_line_error(res, f"{stray}: not a run directory (no config.yaml)")
    assert list(stray.iterdir()) == []

    res = memp("memory", *cmd, "--run-dir", str(tmp_path / "nope"))
    _one_line_error(res, "no such run directory")
    assert not (tmp_path / "nope").exists()


def test_show_is_readable_with_human_times(run: tuple[Path, str]) -> None:
    path, pid = run
    res = memp("memory", "show", pid[:8], "--run-dir", str(path))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "{" not in out.splitlines()[0] and '"status"' not in out  # not raw JSON
    assert f"procedure {pid}" in out and "status:      active (version 2)" in out
    assert "created:     1970-01-01" in out and "ago)" in out  # proc() sets created_at=1000
    assert "script:\n  1. find a mug\n  2. clean it in sinkbasin 1" in out
    assert "retrieved 1, succeeded 1, failed 0 (utility 0.67)" in out
    res = memp("memory", "show", "zzz", "--run-dir", str(path))
    _one_line_error(res, "no procedure with id 'zzz'")


def test_history_shows_scripts_diff_and_source(run: tuple[Path, str]) -> None:
    path, pid = run
    res = memp("memory", "history", pid, "--run-dir", str(path))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "== version 1: add" in out and "== version 2: adjust" in out
    v2 = out[out.index("== version 2") :]
    assert "source trajectory: traj-fail-7" in v2
    assert f"open it: memp trajectory {path} traj-fail-7" in v2
    assert "    1. find a mug" in v2  # the new script in full
    assert "-  1. do put a clean mug in cabinet." in v2  # diff against version 1
    assert "+  2. clean it in sinkbasin 1" in v2
    assert "--- version 1" in v2 and "+++ version 2" in v2
    # The command it prints opens the transcript.
    res = memp("trajectory", str(path), "traj-fail")
    assert res.returncode == 0, res.stderr
    assert "trajectory traj-fail-7" in res.stdout and "goal:    put a clean mug" in res.stdout
    assert "-- step 2  [invalid]" in res.stdout and "raw:   [bad] answer" in res.stdout
    assert "think: find the mug" in res.stdout
    res = memp("trajectory", str(path), "nope")
    _one_line_error(res, "no trajectory with id 'nope'")


def test_ls_filters_and_sorts(run: tuple[Path, str]) -> None:
    path, pid = run
    res = memp("memory", "ls", "--run-dir", str(path), "--sort", "retrieved")
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if "pick_" in line]
    assert len(rows) == 2 and pid[:8] in rows[0]  # retrieved once, the other never
    heat = "pick_heat_then_place_in_recep"
    res = memp("memory", "ls", "--run-dir", str(path), "--task-type", heat)
    assert "heat some egg" in res.stdout and "clean mug" not in res.stdout
    res = memp("memory", "ls", "--run-dir", str(path), "--status", "discarded")
    assert res.returncode == 0 and "procedures (0" in res.stdout
    res = memp("memory", "ls", "--run-dir", str(path), "--sort", "size")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_import_goes_through_the_op_log_and_commits(run: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = run
    pack = tmp_path / "pack.jsonl"
    pack.write_text(proc(*GOALS[2]).model_dump_json() + "\n")
    before = (path / MEMORY_OPS).read_text().splitlines()
    res = memp("memory", "import", str(pack), "--run-dir", str(path))
    assert res.returncode == 0, res.stderr
    assert '"applied": 1' in res.stdout
    lines = (path / MEMORY_OPS).read_text().splitlines()
    assert lines[: len(before)] == before and len(lines) == len(before) + 1
    logged = MemoryOp.model_validate_json(lines[-1])
    assert logged.kind == "add" and logged.seq == len(before) + 1
    commits = (path / "memory_commits.jsonl").read_text().splitlines()
    assert json.loads(commits[-1])["last_seq"] == logged.seq
    again = memp("memory", "import", str(pack), "--run-dir", str(path))
    assert '"applied": 0' in again.stdout  # idempotent, and nothing logged twice
    assert len((path / MEMORY_OPS).read_text().splitlines()) == len(lines)


def test_restore_is_the_op_that_reactivates_a_discarded_procedure(run: tuple[Path, str]) -> None:
    path, pid = run
    res = memp("memory", "restore", pid[:8], "--run-dir", str(path))
    _one_line_error(res, "is active")
    discard = MemoryOp(op_id="discard-op-1", kind="discard", procedure_id=pid, reason="test")

    async def drop() -> None:
        cfg = build_config({"memory": {"embed_dim": 512}}).memory
        store = await ProcedureStore.open(cfg, path / "qdrant", HashEmbedder(512))
        await store.apply([discard])
        await store.close()

    anyio.run(drop)
    res = memp("memory", "restore", pid[:8], "--run-dir", str(path), "--reason", "a false alarm")
    assert res.returncode == 0, res.stderr
    assert f"restored {pid} (was discarded)" in res.stdout
    logged = MemoryOp.model_validate_json((path / MEMORY_OPS).read_text().splitlines()[-1])
    assert (logged.kind, logged.procedure_id, logged.reason) == ("restore", pid, "a false alarm")
    listed = memp("memory", "ls", "--run-dir", str(path), "--status", "active")
    assert pid[:8] in listed.stdout
    shown = memp("memory", "history", pid[:8], "--run-dir", str(path))
    assert "restore" in shown.stdout and "a false alarm" in shown.stdout
