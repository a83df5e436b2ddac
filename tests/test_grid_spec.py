"""Grid files: parsing, expansion to named cells, controls, build stages, concurrency shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.grid.expand import FROZEN_GROUP, expand, split_concurrency
from pipeline.grid.spec import GridError, load_spec, parse_spec

GRID_DIR = Path("/tmp/memp-grid-test")


def _cells(tree: dict) -> dict:
    return {c.name: c for c in expand(parse_spec(tree), GRID_DIR)}


def test_axes_product_with_one_control_per_seed() -> None:
    cells = _cells(
        {
            "base": "household-sim",
            "axes": {"memory.build": ["trajectory", "script"], "run.seed": [0, 1]},
        }
    )
    assert sorted(cells) == sorted(
        [
            "build-trajectory_seed-0",
            "build-trajectory_seed-1",
            "build-script_seed-0",
            "build-script_seed-1",
            "control_seed-0",
            "control_seed-1",
        ]
    )
    script1 = cells["build-script_seed-1"]
    assert script1.config.memory.build == "script" and script1.config.run.seed == 1
    assert script1.control == "control_seed-1"
    control = cells["control_seed-1"]
    assert control.kind == "control" and not control.config.memory.enabled
    assert control.config.run.seed == 1 and control.config.agent == script1.config.agent
    assert all(c.config.run.name == n for n, c in cells.items())


def test_names_are_stable_and_one_group_has_a_plain_control() -> None:
    tree = {"base": "household-sim", "axes": {"memory.top_k": [1, 3]}}
    first, second = _cells(tree), _cells(tree)
    assert list(first) == list(second) == ["top_k-1", "top_k-3", "control"]


def test_explicit_memory_off_cell_is_the_control_and_none_is_added() -> None:
    cells = _cells(
        {
            "base": "household-sim",
            "cells": [
                {"name": "none", "set": {"memory.enabled": False}},
                {"name": "traj", "set": {"memory.build": "trajectory"}},
            ],
        }
    )
    assert list(cells) == ["none", "traj"]
    assert cells["traj"].control == "none"


def test_cells_crossed_with_axes_and_same_leaf_names_disambiguated() -> None:
    cells = _cells(
        {
            "base": "household-sim",
            "axes": {"agent.model": ["sim/household"], "memory.builder.model": ["sim/household"]},
            "cells": [{"name": "a"}, {"name": "b", "set": {"memory.top_k": 2}}],
        }
    )
    assert "a_agent_model-sim-household_memory_builder_model-sim-household" in cells
    assert (
        cells["b_agent_model-sim-household_memory_builder_model-sim-household"].config.memory.top_k
        == 2
    )


def test_different_agents_get_different_controls() -> None:
    cells = _cells({"base": "household-sim", "axes": {"sim.skill": [0.3, 0.8]}})
    assert cells["skill-0.3"].control == "control_skill-0.3"
    assert cells["control_skill-0.8"].config.sim.skill == 0.8


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (
            {"base": "household-sim", "axes": {"memory.build": ["steps"]}},
            "cell build-steps: bad value for 'memory.build'",
        ),
        (
            {"base": "household-sim", "axes": {"memory.nope": [1]}},
            "cell nope-1: unknown config key 'memory.nope'",
        ),
        ({"base": "household-sim", "axez": {}}, "unknown grid key 'axez'"),
        ({"base": "no-such-preset"}, "base config 'no-such-preset': no such file or preset"),
        ({"base": "household-sim", "axes": {"memory.top_k": []}}, "axis 'memory.top_k' has no"),
        ({"base": "household-sim", "protocol": "transfer"}, "transfer needs build.set"),
        (
            {"base": "household-sim", "grid": {"max_parallel_cells": 0}},
            "bad value for 'grid.max_parallel_cells'",
        ),
    ],
)
def test_bad_grids_fail_in_one_line_naming_cell_and_key(tree: dict, message: str) -> None:
    with pytest.raises(GridError) as info:
        expand(parse_spec(tree), GRID_DIR)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_offline_build_stage_is_shared_by_cells_that_differ_in_retrieval_only() -> None:
    cells = _cells(
        {
            "base": "household-sim",
            "protocol": "offline",
            "set": {"env.split": "valid_seen"},
            "build": {"split": "train", "max_tasks": 30},
            "axes": {
                "memory.retrieve": ["random", "query"],
                "memory.build": ["trajectory", "script"],
            },
        }
    )
    builds = [c for c in cells.values() if c.kind == "build"]
    assert sorted(b.name for b in builds) == ["build_script", "build_trajectory"]
    assert list(cells)[:2] == [b.name for b in builds]  # build stages run first
    b = cells["build_script"]
    assert b.config.env.split == "train" and b.config.env.max_tasks == 30
    assert b.config.pipeline.group_size == FROZEN_GROUP and b.config.memory.seed_pack is None
    ev = cells["retrieve-random_build-script"]
    assert ev.build == "build_script" and ev.config.env.split == "valid_seen"
    assert ev.config.memory.seed_pack == str(GRID_DIR.resolve() / "cells/build_script/pack.jsonl")
    assert ev.config.pipeline.group_size == FROZEN_GROUP  # frozen: one group, no updates seen
    assert cells["control"].config.env.split == "valid_seen"
    assert cells["retrieve-query_build-script"].build == "build_script"


def test_transfer_builds_with_another_model_and_pairs_with_the_eval_model() -> None:
    cells = _cells(
        {
            "base": "household-sim",
            "protocol": "transfer",
            "build": {"split": "train", "max_tasks": 20, "set": {"sim.skill": 0.9}},
            "axes": {"memory.build": ["trajectory"]},
        }
    )
    build = cells["build_trajectory"]
    assert build.config.sim.skill == 0.9
    ev = cells["build-trajectory"]
    assert ev.config.sim.skill == 0.5 and cells["control"].config.sim.skill == 0.5


def test_concurrency_is_split_among_running_cells() -> None:
    cells = expand(
        parse_spec({"base": "household-sim", "axes": {"memory.top_k": [1, 2, 3]}}), GRID_DIR
    )
    split_concurrency(cells, max_parallel=2, totals={"sim": 80})
    # 2 running cells x (2 workers + 1 distiller + 1 writer) processes share 80 calls: 10 each
    assert {c.config.agent.concurrency for c in cells} == {10}


def test_presets_expand(tmp_path: Path) -> None:
    presets = sorted(Path("configs/grids").glob("*.yaml"))
    assert {p.stem for p in presets} >= {
        "paper-build",
        "paper-retrieve",
        "paper-update",
        "paper-topk",
        "paper-transfer",
    }
    for path in presets:
        cells = expand(load_spec(path), tmp_path, path)
        assert any(c.kind == "control" for c in cells), path


def test_one_build_stage_for_a_retrieval_only_sweep_is_called_build() -> None:
    cells = _cells(
        {"base": "household-sim", "protocol": "offline", "axes": {"memory.top_k": [1, 2, 3]}}
    )
    assert [c.name for c in cells.values() if c.kind == "build"] == ["build"]
    assert {c.build for c in cells.values() if c.kind == "memory"} == {"build"}
