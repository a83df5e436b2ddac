"""The run's live view: a rich progress bar on a terminal, timestamped plain lines elsewhere."""

from __future__ import annotations

import io
import re

from rich.console import Console

from actors.progress import Progress
from pipeline.types import Task, Trajectory


def _traj(i: int, ok: bool, status: str = "ok") -> Trajectory:
    task = Task(id=f"t/{i}", env="household", split="t", task_type="x", goal="g", seed=i)
    return Trajectory(id=f"e{i}", task=task, model="sim/household", success=ok, status=status)  # type: ignore[arg-type]


def _feed(progress: Progress) -> None:
    progress.errors = {"agent": {"rate_limit": 3, "server": 1, "auth": 1}}
    progress.retries = {"agent": 3, "build": 1}  # what the client reported as retried
    progress.set_group(0)
    progress.add(_traj(0, True))
    progress.add(_traj(1, False, "error"))
    progress.set_group(1)
    progress.add(_traj(2, True))
    progress.memory_size, progress.memory_version, progress.in_flight = 7, 3, 5


def test_terminal_shows_a_bar_with_eta_group_errors_memory() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=200, color_system=None)
    with Progress(console, total=10) as progress:
        _feed(progress)
        progress.draw(force=True)
    text = buf.getvalue()
    assert "3/10" in text and "ETA" in text
    assert "group 1 100% of 1" in text and "success 66.7%" in text
    assert "errored 1" in text and "llm errors 5 (429s 3, retries 4)" in text
    assert "memory 7 (v3)" in text and "in flight 5" in text


def test_not_a_terminal_prints_timestamped_lines_every_n_seconds() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=80)
    with Progress(console, total=10, every_s=3600) as progress:
        _feed(progress)
        progress.draw()  # within every_s of the start: nothing yet
        assert buf.getvalue() == ""
        progress.every_s = 0.0
        progress.draw()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2  # the periodic line and the closing one, never wrapped at 80 columns
    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d tasks 3/10  elapsed 0:00:0\d eta 0:00:\d\d  "
    assert all(re.match(stamp, line) for line in lines), lines
    assert "errored 1" in lines[-1] and "\x1b[" not in buf.getvalue()
