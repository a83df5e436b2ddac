"""Grid outputs from recorded run directories: tables, CSV, plots, HTML, manifest."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from pipeline.grid.expand import expand
from pipeline.grid.outputs import write_outputs
from pipeline.grid.spec import parse_spec
from pipeline.runlog import RunDir
from pipeline.summary import summarize
from pipeline.types import Step, Task, Trajectory, Usage

N = 30


def _traj(i: int, success: bool, steps: int, model: str) -> Trajectory:
    kind = "pick" if i % 2 else "heat"
    task = Task(id=f"household/valid_seen/{i:04d}", env="household", split="valid_seen",
                task_type=kind, goal="g", seed=i)  # fmt: skip
    return Trajectory(id=f"e{i}", task=task, success=success, model=model,
                      steps=[Step(action="look", observation="ok")] * steps,
                      usage=Usage(calls=steps, prompt_tokens=100 * steps, completion_tokens=10,
                                  cost_usd=0.001 * steps))  # fmt: skip


def _record(grid_dir: Path, cell, outcomes: list[bool], steps: list[int]) -> None:
    rd = RunDir.create(grid_dir / "cells" / cell.name, cell.config)
    trajs = [_traj(i, ok, s, cell.config.agent.model)
             for i, (ok, s) in enumerate(zip(outcomes, steps, strict=True))]  # fmt: skip
    for t in trajs:
        rd.record(t)
    rd.write_summary(summarize(trajs, model=cell.config.agent.model))
    rd.close()


def test_outputs_pair_memory_rows_with_the_control(tmp_path: Path) -> None:
    spec = parse_spec({"base": "household-sim", "name": "t",
                       "axes": {"memory.build": ["trajectory", "script"]}})  # fmt: skip
    cells = {c.name: c for c in expand(spec, tmp_path)}
    control = [i % 2 == 0 for i in range(N)]  # 15/30
    _record(tmp_path, cells["control"], control, [20] * N)
    _record(tmp_path, cells["build-trajectory"], [True] * N, [12] * N)  # +15 tasks, p < 0.001
    # script: 1 more, 1 fewer: no difference, and it loses the "pick" (odd) tasks it gains
    script = list(control)
    script[0], script[1] = False, True
    _record(tmp_path, cells["build-script"], script, [20] * N)
    files = write_outputs(spec, list(cells.values()), tmp_path)

    md = files.markdown.read_text()
    assert "scripted offline stand-in" in md  # sim runs say what the sim is
    main = md.split("### By task type")[0].splitlines()
    lines = {line.split(" | ")[1]: line for line in main if line.startswith("| sim/")}
    traj = lines["trajectory/query/adjustment k=1"]
    assert "100.0%" in traj and "+50.0 [" in traj and "<0.001" in traj and "significant" in traj
    assert "not significant" in lines["script/query/adjustment k=1"]
    assert "control" in lines["no memory"]
    assert "memory hurts" in md  # script on heat tasks: 0 of ... vs 1
    table = list(csv.DictReader(io.StringIO(files.csv.read_text())))
    by_policy = {r["policy"]: r for r in table}
    assert float(by_policy["trajectory/query/adjustment k=1"]["success_diff"]) == 0.5
    assert float(by_policy["trajectory/query/adjustment k=1"]["steps_diff"]) == -8
    assert float(by_policy["no memory"]["success_mean"]) == 0.5
    page = files.html.read_text()
    assert page.count("data:image/png;base64,") == len(files.images) == 2  # no top-k sweep
    assert "src='http" not in page and 'src="http' not in page
    manifest = json.loads(files.manifest.read_text())
    assert manifest["models"] == ["sim/household"] and manifest["seeds"] == [0]
    assert {c["name"] for c in manifest["cells"]} == set(cells)
    assert manifest["cells"][0]["config"]["memory"]["build"] == "trajectory"
    # outputs are a function of the run directories: written twice, the same tables
    assert write_outputs(spec, list(cells.values()), tmp_path).table == files.table


def test_seeds_pool_into_one_row_with_spread_and_topk_sweep(tmp_path: Path) -> None:
    spec = parse_spec({"base": "household-sim",
                       "axes": {"memory.top_k": [1, 3], "run.seed": [0, 1]}})  # fmt: skip
    cells = expand(spec, tmp_path)
    for cell in cells:
        k = cell.config.memory.top_k if cell.kind == "memory" else 0
        wins = 10 + 5 * k + cell.config.run.seed * 2
        _record(tmp_path, cell, [i < wins for i in range(N)], [10] * N)
    files = write_outputs(spec, cells, tmp_path)
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text())))
    assert len(rows) == 3  # k=1, k=3, control: seeds pooled
    k3 = next(r for r in rows if r["policy"].endswith("k=3"))
    assert k3["seeds"] == "2" and float(k3["success_mean"]) == pytest.approx(
        (25 / 30 + 27 / 30) / 2
    )
    assert float(k3["success_sd"]) > 0
    assert float(k3["success_diff"]) == pytest.approx(15 / 30)  # pooled (seed, task) pairs
    assert any(p.name == "topk_sweep.png" for p in files.images)
    assert "± " in files.table
