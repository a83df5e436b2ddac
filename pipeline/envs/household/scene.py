"""Procedural scenes: a room layout from (room, layout id), objects placed from the task seed."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.envs.household import catalog

# Instance counts of an object kind: mostly one, sometimes a few same-kind distractors.
_COUNTS = (1, 1, 1, 2, 2, 3)
_KIND_PRESENCE = 0.6  # chance a non-goal kind of the room is in the scene at all


@dataclass(frozen=True)
class Layout:
    """The fixed furniture of one floor plan: receptacles, their 2.1.1 loc numbers, the lamp."""

    room: str
    layout_id: int
    names: tuple[str, ...]  # "cabinet 1", ... in the order the room overview lists them
    kinds: tuple[str, ...]
    locs: tuple[int, ...]  # navigation spot numbers shown by grammar 2.1.1; shared spots repeat
    lamp: str | None  # "desklamp 1" / "floorlamp 1" in living rooms and bedrooms, else None
    lamp_at: int  # index of the receptacle whose contents list the lamp; -1: no lamp

    @property
    def lamp_kind(self) -> str | None:
        return self.lamp.split(" ", 1)[0] if self.lamp else None

    def kinds_present(self) -> frozenset[str]:
        return frozenset(self.kinds)


@lru_cache(maxsize=512)
def layout(room: str, layout_id: int) -> Layout:
    """The floor plan `layout_id` of a room kind; pure function of its arguments."""
    rng = random.Random(f"layout/{room}/{layout_id}")
    specs = list(catalog.ROOM_RECEPTACLES[room])
    rng.shuffle(specs)
    names: list[str] = []
    kinds: list[str] = []
    for kind, lo, hi, chance in specs:
        if rng.random() >= chance:
            continue
        for n in range(1, rng.randint(lo, hi) + 1):
            names.append(f"{kind} {n}")
            kinds.append(kind)
    spot = _spots(rng, kinds)
    # Loc numbers of the spots: one number is the agent's start spot, which has no receptacle.
    numbers = list(range(1, max(spot) + 3))
    rng.shuffle(numbers)
    locs = [numbers[s] for s in spot]
    lamp: str | None = None
    lamp_at = -1
    if room in catalog.LAMP_ROOMS:
        desk = [i for i, k in enumerate(kinds) if k in catalog.DESKLAMP_HOSTS]
        floor = [i for i, k in enumerate(kinds) if k in catalog.FLOORLAMP_HOSTS]
        if desk and (rng.random() < 0.7 or not floor):
            lamp, lamp_at = "desklamp 1", rng.choice(desk)
        elif floor:
            lamp, lamp_at = "floorlamp 1", rng.choice(floor)
    return Layout(room, layout_id, tuple(names), tuple(kinds), tuple(locs), lamp, lamp_at)


def _spots(rng: random.Random, kinds: list[str]) -> list[int]:
    """Spot index per receptacle; a guest kind sometimes shares a host's spot (no chains)."""
    guest_of: dict[int, int] = {}
    hosting: set[int] = set()
    for i, kind in enumerate(kinds):
        if i in hosting:
            continue
        hosts = [
            j
            for j, k in enumerate(kinds)
            if k in catalog.SHARED_SPOT.get(kind, ()) and j not in hosting and j not in guest_of
        ]
        if hosts and rng.random() < catalog.SHARE_CHANCE:
            host = rng.choice(hosts)
            guest_of[i] = host
            hosting.add(host)
    own = [i for i in range(len(kinds)) if i not in guest_of]
    spot = {i: n for n, i in enumerate(own)}
    return [spot[guest_of.get(i, i)] for i in range(len(kinds))]


@dataclass(frozen=True)
class Scene:
    """One episode's starting state: the layout plus every portable object and where it starts."""

    layout: Layout
    obj_names: tuple[str, ...]
    obj_kinds: tuple[str, ...]
    obj_start: tuple[int, ...]  # receptacle index per object, in listing order within a receptacle


def object_pool(lay: Layout, held_out: bool) -> list[str]:
    """Object kinds that may appear in this layout (held-out kinds only in unseen scenes)."""
    present = lay.kinds_present()
    pool = []
    for kind in catalog.ROOM_OBJECTS[lay.room]:
        if kind in catalog.UNSEEN_OBJECTS and not held_out:
            continue
        if any(catalog.can_hold(r, kind) for r in present):
            pool.append(kind)
    return pool


def _pick_receptacle(
    rng: random.Random, lay: Layout, kind: str, avoid: str | None, by_kind: dict[str, list[int]]
) -> int:
    # Two stages: the receptacle kind by affinity, then an instance uniformly, so a kitchen with
    # thirteen cabinets does not pull every mug into a cabinet.
    homes = catalog.HOMES.get(kind, {})
    options = [r for r in by_kind if r != avoid and catalog.can_hold(r, kind)]
    weights = [homes.get(r, catalog.BASE_WEIGHT) for r in options]
    chosen = rng.choices(options, weights)[0]
    return rng.choice(by_kind[chosen])


def build_scene(spec: Mapping[str, Any], seed: int) -> Scene:
    """Place objects for one task: the goal object never starts inside the goal receptacle kind."""
    lay = layout(str(spec["room"]), int(spec["layout"]))
    goal_obj = str(spec["obj"])
    task_type = str(spec["task_type"])
    target = None if task_type == "look_at_obj_in_light" else str(spec["recep"])
    rng = random.Random(f"scene/{seed}/{lay.room}/{lay.layout_id}/{goal_obj}/{target}")
    by_kind: dict[str, list[int]] = {}
    for i, k in enumerate(lay.kinds):
        by_kind.setdefault(k, []).append(i)

    counts: dict[str, int] = {}
    for kind in object_pool(lay, bool(spec.get("held_out", False))):
        if kind == goal_obj:
            pick_two = task_type == "pick_two_obj_and_place"
            counts[kind] = rng.randint(2, 3) if pick_two else rng.choice(_COUNTS)
        elif rng.random() < _KIND_PRESENCE:
            counts[kind] = rng.choice(_COUNTS)
    counts.setdefault(goal_obj, 2 if task_type == "pick_two_obj_and_place" else 1)

    instances = [(kind, n) for kind, c in counts.items() for n in range(1, c + 1)]
    rng.shuffle(instances)  # interleave kinds so a receptacle's list is not grouped by kind
    names, kinds, starts = [], [], []
    for kind, n in instances:
        avoid = target if kind == goal_obj else None
        starts.append(_pick_receptacle(rng, lay, kind, avoid, by_kind))
        names.append(f"{kind} {n}")
        kinds.append(kind)
    return Scene(lay, tuple(names), tuple(kinds), tuple(starts))
