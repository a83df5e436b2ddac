"""env alfworld on games we generate (no official data): all six types, both grammars, parity."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from pipeline.config import ConfigError
from pipeline.config_load import build_config
from pipeline.envs import get_suite
from pipeline.envs.alfworld import parity
from pipeline.envs.alfworld.export import export_games
from pipeline.envs.household import HouseholdEnv, solve
from pipeline.envs.household.catalog import TASK_TYPES

# Seconds per test (whole engines, databases or splits): not in `make test-fast`.
pytestmark = pytest.mark.slow

pytest.importorskip("textworld")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alfdata")
    export_games(root, per_type=1)
    return root


def _suite(data_dir: Path, grammar: str):
    cfg = build_config(
        {"env": {"name": "alfworld", "alfworld": {"data_dir": str(data_dir), "grammar": grammar}}}
    )
    return get_suite(cfg.env)


def test_missing_data_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    with pytest.raises(ConfigError) as err:
        build_config({"env": {"name": "alfworld"}})
    text = str(err.value)
    assert "\n" not in text and "ALFWORLD_DATA" in text and "alfworld-download" in text


def test_splits_are_read_in_a_fixed_order_with_types_and_goals(data_dir: Path) -> None:
    suite = _suite(data_dir, "2.1.2")
    assert suite.splits() == ["train", "valid_seen", "valid_unseen"]
    for split in suite.splits():
        tasks = list(suite.tasks(split))
        assert [t.id for t in tasks] == [t.id for t in suite.tasks(split)]
        assert suite.split_size(split) == len(tasks) == 6
        assert sorted(t.task_type for t in tasks) == sorted(TASK_TYPES)
        assert all(t.goal.endswith(".") and t.env == "alfworld" for t in tasks)


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_household_walkthroughs_win_on_the_engine(data_dir: Path, grammar: str) -> None:
    suite = _suite(data_dir, grammar)
    import json

    for task in suite.tasks("valid_seen"):
        traj = json.loads((Path(task.spec["game_file"]).parent / "traj_data.json").read_text())
        from pipeline.types import Task

        house_task = Task.model_validate(traj["memp"]["household_task"])
        house = HouseholdEnv(grammar)
        house.reset(house_task)
        commands = [cmd for cmd, _ in solve(house, house_task.goal)]
        env = suite.make()
        try:
            opening = env.reset(task)
            assert opening.startswith("-= Welcome to TextWorld, ALFRED! =-")
            assert opening.endswith(f"Your task is to: {task.goal}")
            assert ("help" in env.admissible_commands()) == (grammar == "2.1.2")
            results = []
            for cmd in commands:
                assert cmd in env.admissible_commands(), (task.task_type, cmd)
                results.append(env.step(cmd))
            assert results[-1].done and results[-1].success, task.task_type
            assert not any(r.done for r in results[:-1])
            placed = [r.observation for r in results if r.observation.startswith("You put")]
            moved = [r.observation for r in results if r.observation.startswith("You move")]
            assert (bool(moved), bool(placed)) == (
                (grammar == "2.1.2", grammar == "2.1.1")
                if task.task_type != "look_at_obj_in_light"
                else (False, False)
            )
            invalid = env.step("jump")
            assert invalid.observation == "Nothing happens." and not invalid.valid
        finally:
            env.close()


def test_engine_steps_run_off_the_event_loop(data_dir: Path) -> None:
    suite = _suite(data_dir, "2.1.2")
    task = next(iter(suite.tasks("train")))
    env = suite.make()
    gaps: list[float] = []

    async def ticker(stop: anyio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await anyio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def main() -> float:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker, stop)
            started = time.perf_counter()
            await env.areset(task)
            for cmd in env.admissible_commands()[:3]:
                await env.astep(cmd)
            took = time.perf_counter() - started
            stop.set()
        return took

    try:
        took = anyio.run(main)
    finally:
        env.close()
    # The loop kept ticking while the engine worked: many ticks, none as long as the engine call.
    assert len(gaps) >= 5 and max(gaps) < took / 2, (took, max(gaps), len(gaps))


def test_parity_with_household(capsys: pytest.CaptureFixture[str]) -> None:
    report = parity.run(6, "2.1.2")
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.compared > 100 and report.identical > report.compared / 2
    assert not [d for d in report.differences if d.what == "won"]
