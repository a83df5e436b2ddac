"""Splits and task generation: fixed seed lists for train/valid_seen/valid_unseen, plus endless."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from pipeline.envs.household import catalog
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Layout, layout, object_pool
from pipeline.errors import MempError
from pipeline.types import Task

ENV_NAME = "household"
SPLITS: tuple[str, ...] = ("train", "valid_seen", "valid_unseen", "endless")
# Disjoint seed ranges, so a task seed alone says which split it came from.
_SEED_BASE = {"train": 0, "valid_seen": 1_000_000, "valid_unseen": 2_000_000, "endless": 10_000_000}
_UNSEEN_GOAL_BIAS = 0.5  # valid_unseen: chance the goal object is a held-out kind when one fits


class UnknownSplitError(MempError, ValueError):
    pass


def split_size(split: str) -> int | None:
    """Number of tasks in a fixed split; None for the endless one."""
    if split == "endless":
        return None
    _check(split)
    return sum(catalog.SPLIT_TYPE_COUNTS[split].values())


@lru_cache(maxsize=8)
def _type_order(split: str) -> tuple[str, ...]:
    order = [t for t, n in catalog.SPLIT_TYPE_COUNTS[split].items() for _ in range(n)]
    random.Random(f"types/{split}").shuffle(order)
    return tuple(order)


def _check(split: str) -> None:
    if split not in SPLITS:
        raise UnknownSplitError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")


def _targets(lay: Layout, obj: str, exclude: str | None) -> list[str]:
    # A target must hold the object and leave another place for it to start in.
    present = sorted(lay.kinds_present())
    homes = [r for r in present if catalog.can_hold(r, obj)]
    return [r for r in homes if r != exclude and len(homes) > 1]


def sample_goal(rng: random.Random, lay: Layout, task_type: str, held_out: bool) -> Goal | None:
    """A goal of this type that the layout supports, or None when it supports none."""
    pool = object_pool(lay, held_out)
    variant = rng.randrange(2)
    if task_type == "look_at_obj_in_light":
        if lay.lamp_kind is None or not pool:
            return None
        return Goal(task_type, _pick_obj(rng, pool, held_out), lamp=lay.lamp_kind, variant=variant)
    appliance = None
    if task_type in catalog.TRANSFORM:
        verb, appliance = catalog.TRANSFORM[task_type]
        if appliance not in lay.kinds_present():
            return None
        pool = [k for k in pool if k in catalog.VERB_ABLE[verb]]
    pool = [k for k in pool if _targets(lay, k, appliance)]
    if not pool:
        return None
    obj = _pick_obj(rng, pool, held_out)
    return Goal(task_type, obj, recep=rng.choice(_targets(lay, obj, appliance)), variant=variant)


def _pick_obj(rng: random.Random, pool: list[str], held_out: bool) -> str:
    novel = [k for k in pool if k in catalog.UNSEEN_OBJECTS]
    if held_out and novel and rng.random() < _UNSEEN_GOAL_BIAS:
        return rng.choice(novel)
    return rng.choice(pool)


def make_task(split: str, index: int) -> Task:
    """Task `index` of a split; a pure function of its arguments."""
    _check(split)
    rng = random.Random(f"task/{split}/{index}")
    if split == "endless":
        counts = catalog.SPLIT_TYPE_COUNTS["train"]
        task_type = rng.choices(list(counts), list(counts.values()))[0]
    else:
        task_type = _type_order(split)[index]
    held_out = split == "valid_unseen"
    layouts = catalog.UNSEEN_LAYOUTS if held_out else catalog.SEEN_LAYOUTS
    goal: Goal | None = None
    while goal is None:  # terminates: every room type has layouts supporting its task types
        room = rng.choice(catalog.GOALS_VALID[task_type])
        lay = layout(room, rng.choice(layouts))
        goal = sample_goal(rng, lay, task_type, held_out)
    spec: dict[str, Any] = {
        "room": lay.room,
        "layout": lay.layout_id,
        "task_type": task_type,
        "obj": goal.obj,
        "recep": goal.recep,
        "lamp": goal.lamp,
        "variant": goal.variant,
        "held_out": held_out,
    }
    return Task(
        id=f"{ENV_NAME}/{split}/{index:04d}",
        env=ENV_NAME,
        split=split,
        task_type=task_type,
        goal=goal.text(),
        seed=_SEED_BASE[split] + index,
        spec=spec,
    )


def goal_of(task: Task) -> Goal:
    """The Goal a task's spec describes."""
    spec = task.spec
    return Goal(
        spec["task_type"], spec["obj"], spec.get("recep"), spec.get("lamp"), spec["variant"]
    )


def split_tasks(split: str) -> Iterator[Task]:
    """Tasks of a split in a fixed order; `endless` never stops. Unknown splits fail eagerly."""
    size = split_size(split)
    indices = itertools.count() if size is None else range(size)
    return (make_task(split, index) for index in indices)
