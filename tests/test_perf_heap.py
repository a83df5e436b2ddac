"""The soak's heap probe: off unless asked, object counts by type, allocation sites when traced."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from pipeline.perf.heap import HEAP_DIR_ENV, HEAP_TRACE_ENV, HeapProbe


class _Held:
    """An object the collector tracks (so the type counts see it)."""


def test_unset_the_probe_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HEAP_DIR_ENV, raising=False)
    probe = HeapProbe("writer", every=1)
    probe.tick()
    assert probe.dump() is None and probe.ticks == 0


def test_a_traced_probe_dumps_types_and_sites_every_n_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HEAP_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(HEAP_TRACE_ENV, "other,writer")
    was_tracing = tracemalloc.is_tracing()
    try:
        probe = HeapProbe("writer", every=2)
        kept = [_Held() for _ in range(50)]  # noqa: F841 (live while the dump runs)
        probe.tick()
        assert not list(tmp_path.iterdir())
        probe.tick()
        (dump,) = tmp_path.iterdir()
        report = json.loads(dump.read_text())
        assert report["ticks"] == 2 and report["types"]["_Held"] >= 50
        assert report["sites"] and all(site["where"] for site in report["sites"])
    finally:
        if not was_tracing:
            tracemalloc.stop()


def test_an_untraced_probe_counts_types_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(HEAP_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(HEAP_TRACE_ENV, raising=False)
    path = HeapProbe("rollout0", every=1).dump()
    assert path is not None and "sites" not in json.loads(path.read_text())
