"""The soak benchmark's sampling: a process tree read from /proc, growth per 1,000 episodes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.perf.soak import (
    Sample,
    descendants,
    growth,
    process_kind,
    render,
    sample,
    soak_command,
)

pytestmark = pytest.mark.heavy  # Ray / subprocess: not in `make test-fast`


def test_sample_finds_children_and_names_the_driver() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in set(descendants(os.getpid()))
        assert process_kind(os.getpid(), os.getpid()) == "driver"
        assert process_kind(child.pid, os.getpid()) is None  # not a Ray process
        got = sample(os.getpid(), 42)
        assert got.episodes == 42 and list(got.rss_mb) == ["driver"]
        assert got.rss_mb["driver"][0] > 5
    finally:
        child.kill()
        child.wait()


def test_growth_is_per_process_and_per_1000_episodes() -> None:
    first = Sample(episodes=1000, rss_mb={"driver": [100.0], "rollout": [50.0, 60.0], "gcs": [9.0]})
    last = Sample(episodes=5000, rss_mb={"driver": [104.0], "rollout": [50.0, 68.0]})
    rows = {r.process: r.mb_per_1000 for r in growth(first, last)}
    assert rows == {"driver": 1.0, "rollout#0": 0.0, "rollout#1": 2.0}  # gcs gone: not reported


def test_soak_command_is_an_async_endless_run() -> None:
    cmd = " ".join(soak_command("c.yaml", "r", 10_000, ["agent.concurrency=64"]))  # type: ignore[arg-type]
    for part in ("pipeline.mode=async", "env.split=endless", "env.max_tasks=10000",
                 "agent.concurrency=64"):  # fmt: skip
        assert part in cmd


def test_the_growth_table_fits_80_columns() -> None:
    first = Sample(episodes=1000, rss_mb={"driver": [300.0], "rolloutworker": [437.4, 445.9]})
    last = Sample(episodes=11000, rss_mb={"driver": [305.0], "rolloutworker": [440.3, 1445.9]})
    text = render(growth(first, last), first, last)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "rolloutworker#1" in text and "+100.00  over target" in text
    assert "driver" in text and "+0.50" in text and "1,000 -> 11,000" in text
