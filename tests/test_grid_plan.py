"""Grid directory, cell scheduling order, progress counts and the metrics relay (one process)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import yaml

from pipeline.grid.plan import CellEvent, GridDir, next_cells, planned_tasks
from pipeline.grid.progress import CellCount, GridProgress
from pipeline.grid.relay import CellRelay
from pipeline.grid.spec import GridError
from pipeline.metrics import Metrics

OFFLINE = {
    "name": "off", "base": "household-sim", "protocol": "offline",
    "set": {"env.split": "valid_seen", "env.max_tasks": 5},
    "build": {"split": "train", "max_tasks": 4},
    "axes": {"memory.build": ["trajectory", "script"], "memory.top_k": [1, 2]},
    "grid": {"max_parallel_cells": 2, "endpoint_concurrency": {"sim": 64}},
}  # fmt: skip


def _grid(tmp_path: Path) -> GridDir:
    spec = tmp_path / "g.yaml"
    spec.write_text(yaml.safe_dump(OFFLINE))
    return GridDir.create(tmp_path / "grid", spec)


def test_plan_is_frozen_and_resume_reads_it_back(tmp_path: Path) -> None:
    g = _grid(tmp_path)
    names = [c.name for c in g.cells]
    assert names[:2] == ["build_trajectory", "build_script"]
    cell = g.cells[2]
    assert cell.config.metrics.port == 0 and cell.config.metrics.host == "127.0.0.1"
    assert cell.config.agent.concurrency == 64 // (2 * 4)
    g.record(CellEvent(cell=names[0], event="finished"))
    g.record(CellEvent(cell=names[1], event="failed"))
    g.close()
    again = GridDir.resume(tmp_path / "grid")
    assert [c.name for c in again.cells] == names and again.cells[2] == cell
    assert again.finished() == {names[0]}
    again.close()
    with pytest.raises(GridError, match="already holds a grid"):
        _grid(tmp_path)
    with pytest.raises(GridError, match="not a grid directory"):
        GridDir.resume(tmp_path)
    assert planned_tasks(cell) == 5 and planned_tasks(g.cells[0]) == 4


def test_next_cells_waits_for_build_stages_and_free_slots(tmp_path: Path) -> None:
    g = _grid(tmp_path)
    cells = g.cells
    first = next_cells(cells, set(), set(), set(), 2)
    assert [c.name for c in first] == ["build_trajectory", "build_script"]
    # builds running: the only cell needing no build stage is the control
    assert [c.name for c in next_cells(cells, set(), {"build_trajectory", "build_script"},
                                       set(), 3)] == ["control"]  # fmt: skip
    after = next_cells(cells, {"build_trajectory"}, {"build_script"}, set(), 2)
    assert [c.build for c in after] == ["build_trajectory"]
    assert next_cells(cells, {c.name for c in cells}, set(), set(), 2) == []
    g.close()


def test_progress_counts_whole_lines_and_estimates(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    log = run / "trajectories.jsonl"
    log.write_text('{"success": true}\n{"success": false}\n{"succ')  # torn last line
    count = CellCount(run, planned=4)
    progress = GridProgress({"a": count, "b": CellCount(tmp_path / "none", planned=2)})
    assert (count.episodes, count.successes) == (2, 1)
    progress.state["a"] = "running"
    with log.open("a") as fh:
        fh.write('ess": true}\n')
    progress.refresh()
    assert (count.episodes, count.successes, progress.fresh) == (3, 2, 1)  # torn line, once whole
    assert progress.eta_s() is not None and progress.eta_s() > 0
    assert "running 1, queued 1" in progress.headline()
    assert "a 3/4 66.7%" in progress.line()


def test_relay_serves_every_cell_with_a_cell_label_and_keeps_the_last_scrape() -> None:
    cells = {}
    for name, episodes in (("a", 2), ("b", 5)):
        m = Metrics()
        m.episodes.labels(env="household", status="ok", outcome="success").inc(episodes)
        cells[name] = (m, f"http://127.0.0.1:{m.start('127.0.0.1', 0)}/metrics")
    relay = CellRelay()
    for name, (_m, url) in cells.items():
        assert relay.scrape(name, url)
    cells["b"][0].stop()
    assert not relay.scrape("b", cells["b"][1])  # gone: its last numbers stay
    relay.set_states({"a": "running", "b": "done"})
    port = relay.start("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as resp:
            text = resp.read().decode()
    finally:
        relay.stop()
        cells["a"][0].stop()
    assert 'memp_episodes_total{cell="a",env="household",outcome="success",status="ok"} 2.0' in text
    assert 'memp_episodes_total{cell="b",env="household",outcome="success",status="ok"} 5.0' in text
    assert 'memp_grid_cells{state="done"} 1.0' in text
    assert text.count("# TYPE memp_episodes_total counter") <= 1
