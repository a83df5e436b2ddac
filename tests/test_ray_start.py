"""A Ray that cannot start is one line on stderr, after the one retry, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.heavy  # Ray / subprocess: not in `make test-fast`

ROOT = Path(__file__).resolve().parents[1]


def test_ray_start_failure_is_one_line(tmp_path: Path) -> None:
    # A real Ray start failure that is quick: its temp root is a file, so the session dir fails.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": str(blocker), "COLUMNS": "60"}
    env.pop("RAY_ADDRESS", None)
    res = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--run-dir", str(tmp_path / "run"),
         "--set", "env.max_tasks=2", "--set", "metrics.enabled=false"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: could not start a local Ray after 2 attempts:"), lines
    assert "Not a directory" in lines[0] and "Traceback" not in res.stdout + res.stderr
