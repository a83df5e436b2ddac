"""`memp view` on paths it cannot show: one line on stderr naming the path, exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent


def _view(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pipeline.cli", "view", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_missing_empty_and_busy(tmp_path: Path) -> None:
    missing = _view(str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope'}: no such directory"
    empty = _view(str(tmp_path))
    assert empty.returncode == 2
    assert empty.stderr.startswith(f"error: {tmp_path}: neither a run directory")
    assert len(empty.stderr.strip().splitlines()) == 1
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("run: {}\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = _view(str(tmp_path / "run"), "--port", str(port))
    assert taken.returncode == 2
    assert taken.stderr.strip().startswith(f"error: cannot listen on 127.0.0.1:{port} (")
