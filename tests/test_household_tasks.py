"""Splits, determinism, held-out kinds and layouts, the suite protocol and one-shot examples."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipeline.config import EnvConfig
from pipeline.envs import Environment, get_suite
from pipeline.envs.household import HouseholdEnv, HouseholdSuite, catalog
from pipeline.envs.household.language import one_shot_example
from pipeline.envs.household.scene import build_scene
from pipeline.envs.household.tasks import UnknownSplitError, make_task, split_tasks
from pipeline.types import Task

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]


def all_tasks(split: str) -> list[Task]:
    return list(split_tasks(split))


def test_split_sizes_and_type_counts() -> None:
    for split, size in (("valid_seen", 140), ("valid_unseen", 134), ("train", 3553)):
        tasks = all_tasks(split)
        assert len(tasks) == size
        assert Counter(t.task_type for t in tasks) == Counter(catalog.SPLIT_TYPE_COUNTS[split])
        assert len({t.id for t in tasks}) == size
        assert len({t.seed for t in tasks}) == size
    assert make_task("valid_unseen", 7).id == "household/valid_unseen/0007"


def test_rooms_follow_goals_valid() -> None:
    for task in itertools.chain(all_tasks("train"), all_tasks("valid_unseen")):
        assert task.spec["room"] in catalog.GOALS_VALID[task.task_type]


def scene_kinds(task: Task) -> set[str]:
    return set(build_scene(task.spec, task.seed).obj_kinds)


def test_unseen_kinds_and_layouts_are_held_out() -> None:
    seen = all_tasks("train") + all_tasks("valid_seen")
    for task in seen:
        assert task.spec["layout"] in catalog.SEEN_LAYOUTS
        assert not scene_kinds(task) & catalog.UNSEEN_OBJECTS, task.id
        assert task.spec["obj"] not in catalog.UNSEEN_OBJECTS
    unseen = all_tasks("valid_unseen")
    assert all(t.spec["layout"] in catalog.UNSEEN_LAYOUTS for t in unseen)
    novel_goals = sum(t.spec["obj"] in catalog.UNSEEN_OBJECTS for t in unseen)
    assert novel_goals >= 20  # the held-out kinds are actually asked for, not just present


def test_goal_object_never_starts_in_goal_receptacle() -> None:
    for task in all_tasks("valid_seen") + all_tasks("valid_unseen"):
        scene = build_scene(task.spec, task.seed)
        count = scene.obj_kinds.count(task.spec["obj"])
        assert count >= (2 if task.task_type == "pick_two_obj_and_place" else 1)
        if task.spec["recep"] is None:
            continue
        for kind, at in zip(scene.obj_kinds, scene.obj_start, strict=True):
            if kind == task.spec["obj"]:
                assert scene.layout.kinds[at] != task.spec["recep"]


def test_determinism_in_process() -> None:
    a, b = make_task("train", 123), make_task("train", 123)
    assert a == b
    env1, env2 = HouseholdEnv(), HouseholdEnv()
    assert env1.reset(a) == env2.reset(b)
    for command in env1.admissible_commands():
        assert env1.clone().step(command) == env2.clone().step(command)


def _fingerprint() -> str:
    task = make_task("valid_unseen", 5)
    env = HouseholdEnv()
    lines = [task.model_dump_json(), env.reset(task)]
    lines += [env.clone().step(c).observation for c in env.admissible_commands()]
    return json.dumps(lines)


def test_determinism_across_processes() -> None:
    code = (
        "from tests.test_household_tasks import _fingerprint; import sys; "
        "sys.stdout.write(_fingerprint())"
    )
    outs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        outs.add(run.stdout)
    assert outs == {_fingerprint()}


def test_endless_split() -> None:
    first = list(itertools.islice(split_tasks("endless"), 300))
    assert len({t.id for t in first}) == 300
    assert first[0] == make_task("endless", 0)
    assert {t.task_type for t in first} == set(catalog.TASK_TYPES)
    with pytest.raises(UnknownSplitError):
        split_tasks("test")


def test_suite_protocol_and_registry() -> None:
    suite = get_suite(EnvConfig.model_validate({"household": {"grammar": "2.1.1"}}))
    assert isinstance(suite, HouseholdSuite)
    assert suite.name == "household"
    assert suite.splits() == ["train", "valid_seen", "valid_unseen", "endless"]
    env = suite.make()
    assert isinstance(env, Environment)
    task = next(iter(suite.tasks("valid_seen")))
    assert env.reset(task).endswith(f"Your task is to: {task.goal}")
    assert "loc " in env.step(env.admissible_commands()[0].replace("examine", "go to")).observation


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_one_shot_examples(grammar: str) -> None:
    language = HouseholdSuite(
        EnvConfig.model_validate({"household": {"grammar": grammar}})
    ).language
    place = "move " if grammar == "2.1.2" else "put "
    for task_type in catalog.TASK_TYPES:
        task = next(t for t in split_tasks("valid_seen") if t.task_type == task_type)
        example = language.one_shot_example(task)
        assert example is not None
        assert example.startswith("-= Welcome to TextWorld, ALFRED! =-")
        assert "Your task is to: " in example and "\n> go to " in example
        assert "Nothing happens." not in example
        if task_type != "look_at_obj_in_light":
            assert f"\n> {place}" in example
        assert example == language.one_shot_example(task)
    assert one_shot_example("no_such_type", grammar) is None
