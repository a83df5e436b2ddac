"""User errors: one stderr line, exit 2; any other exception is a bug: traceback, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import ConfigError
from pipeline.config_load import load_config
from pipeline.errors import MempError
from pipeline.memory.schema import MemoryStoreError
from pipeline.runlog import RunDirError

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent


def _memp(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # COLUMNS=30: a wrapping console would split the message over several lines.
    env = {**os.environ, "COLUMNS": "30", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _one_line_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error" not in proc.stdout


def test_user_error_classes_share_one_base() -> None:
    for cls in (ConfigError, RunDirError, MemoryStoreError):
        assert issubclass(cls, MempError)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("run", "no-such-preset.yaml", "--no-preflight"), "no-such-preset"),
        (("run", "--set", "memory.top_k=many", "--no-preflight"), "memory.top_k"),
        (("run", "--set", "memory.nope=1", "--no-preflight"), "unknown config key"),
        (("run", "--resume", "/no/such/run"), "/no/such/run"),
        (("trajectory", "/no/such/run", "abc"), "/no/such/run"),
        (("memory", "ls", "--run-dir", "/no/such/run"), "/no/such/run"),
        (("memory", "stats", "--run-dir", "/no/such/run"), "no such run directory"),
        (("report", "/no/such/run", "-o", "/tmp/memp-report-never"), "/no/such/run"),
        (("run", "--bogus"), "No such option: --bogus; see memp run --help"),
        (("nosuch",), "No such command 'nosuch'; see memp --help"),
        (("perf", "soak", "--episodes", "many"), "Invalid value for '--episodes'"),
    ],
)
def test_user_errors_are_one_stderr_line_exit_2(args: tuple[str, ...], fragment: str) -> None:
    _one_line_error(_memp(*args), fragment)


def test_bad_config_file_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("memory: [1, 2\n")
    _one_line_error(_memp("run", str(bad), "--no-preflight"), "not valid YAML")


def test_a_bug_shows_its_traceback_and_exits_1() -> None:
    # A ValueError that is not a MempError is a bug, not bad input: it must not become "error: ...".
    code = (
        "import pipeline.cli as cli\n"
        "@cli.app.command('boom')\n"
        "def boom() -> None:\n"
        "    raise ValueError('internal invariant broken')\n"
        "cli.main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_TYPER_STANDARD_TRACEBACK": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, "boom"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "internal invariant broken" in proc.stderr
    assert not proc.stderr.startswith("error:")


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _refused_before_ray(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    _one_line_error(proc, fragment)
    assert "starting Ray" not in proc.stdout, proc.stdout  # refused before Ray, in seconds


def test_a_bad_tasks_file_is_refused_before_ray_and_leaves_no_run_dir(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    good = '{"id": "a", "env": "household", "split": "s", "task_type": "x", "goal": "g", "seed": 0}'
    tasks.write_text(good + "\n" + '{"id": "b"}\n')
    run = tmp_path / "run"
    proc = _memp("run", "--no-preflight", "--run-dir", str(run), "--set",
                 f"env.tasks_file={tasks}")  # fmt: skip
    _refused_before_ray(proc, "tasks.jsonl:2: bad task record")
    assert not run.exists()


def test_a_corrupt_run_dir_is_refused_before_ray_and_left_unchanged(tmp_path: Path) -> None:
    from pipeline.runlog import RunDir

    run = tmp_path / "run"
    RunDir.create(run, load_config("household-sim", ["env.max_tasks=4"])).close()
    (run / "memory_ops.jsonl").write_text('{"op_id": 1}\n{"torn')  # a bad record, a torn tail
    (run / "trajectories.jsonl").write_text('{"id": "e1", "ta')  # torn only: acceptable alone
    before = _files(run)
    _refused_before_ray(_memp("run", "--resume", str(run)), "memory_ops.jsonl is damaged (line 1")
    assert _files(run) == before  # the torn lines are not cut, no lock file is made


def test_a_second_run_of_one_directory_is_refused_with_one_line(tmp_path: Path) -> None:
    from pipeline.runlog import RunDir

    run = tmp_path / "run"
    RunDir.create(run, load_config("household-sim", ["env.max_tasks=4"])).close()
    holder = RunDir.resume(run)
    holder.lock()  # as a live `memp run --resume` of it holds it
    try:
        proc = _memp("run", "--resume", str(run), "--no-preflight")
        _refused_before_ray(proc, f"is in use by another memp run (pid {os.getpid()})")
    finally:
        holder.close()
