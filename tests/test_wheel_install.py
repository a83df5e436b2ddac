"""The built wheel works from any directory: presets by name, perf_config, a 5-task run from /."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)  # type: ignore
    assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-4000:])
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; its dependencies are this venv's (offline, no index)."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    # --no-build-isolation: the build backend (setuptools) is already here; no index is asked.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(dist), str(ROOT)])  # fmt: skip
    wheel = next(dist.glob("memp-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())  # fmt: skip
    # A path line after the venv's own site-packages: the deps resolve, the wheel's copy wins, and
    # the .pth files in there (this checkout's editable install) are not processed.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall",
          str(wheel)])  # fmt: skip
    return py


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    return {**env, "COLUMNS": "200"}


def test_the_wheel_is_imported_not_the_source_tree(installed: Path) -> None:
    out = _run([str(installed), "-c", "import pipeline, actors; print(pipeline.__file__)"],
               cwd="/", env=_env()).stdout  # fmt: skip
    assert str(ROOT) not in out
    assert out.startswith(str(installed.parent.parent))  # the fresh venv's own copy


def test_presets_and_perf_config_work_from_the_wheel(installed: Path) -> None:
    code = (
        "from pipeline.perf.pipeline import perf_config\n"
        "from pipeline.presets import grid_presets, run_presets\n"
        "cfg = perf_config(8, 2, 0.5, 0.5)\n"
        "print(cfg.agent.concurrency, sorted(run_presets()), sorted(grid_presets()))\n"
    )
    out = _run([str(installed), "-c", code], cwd="/", env=_env()).stdout
    assert out.startswith("4 ")
    assert "household-sim" in out and "cluster" in out and "paper-build" in out
    listing = _run([str(installed.parent / "memp"), "presets"], cwd="/", env=_env()).stdout
    assert "household-sim" in listing and "paper-update" in listing


def test_a_five_task_job_runs_from_root(installed: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    sets = ["env.max_tasks=5", "metrics.enabled=false", "pipeline.rollout_workers=1"]
    args = [arg for s in sets for arg in ("--set", s)]
    proc = _run([str(installed.parent / "memp"), "run", "household-sim", *args, "--run-dir",
                 str(run_dir), "--no-progress", "--no-preflight"], cwd="/", env=_env())  # fmt: skip
    assert "household" in proc.stdout
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    assert len({json.loads(line)["task"]["id"] for line in lines}) == 5
