"""Write ALFWorld games of our own: a household scene as a PDDL problem in alfworld's domain.

Laid out as the official release (`json_2.1.1/<split>/<task>/<trial>/game.tw-pddl` with
`traj_data.json` beside it), so tests and users get playable games without the download. Ids are
chosen so alfworld's demangler prints the household names ("cabinet 2", "sinkbasin 1", "loc 6").
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from pipeline.envs.alfworld import logic
from pipeline.envs.household import catalog
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Scene, build_scene
from pipeline.envs.household.tasks import goal_of, split_tasks
from pipeline.types import Task

# The domain names three receptacle types in its actions; every other type name is ours.
_RTYPE = {"sinkbasin": "SinkBasinType", "microwave": "MicrowaveType", "fridge": "FridgeType"}


def _ids(names: list[str]) -> dict[str, str]:
    """PDDL id per "kind n" name; the demangler numbers sorted ids from the highest down."""
    counts = Counter(name.rsplit(" ", 1)[0] for name in names)
    out = {}
    for name in names:
        kind, n = name.rsplit(" ", 1)
        rank = counts[kind] - int(n)  # sorted position that receives number n
        stem = kind.removesuffix("basin")
        tail = "_bar_basin" if kind.endswith("basin") else ""
        out[name] = f"{stem}_bar_{rank:03d}{tail}"
    return out


def rtype(kind: str) -> str:
    return _RTYPE.get(kind, f"{kind}RType")


def otype(kind: str) -> str:
    return f"{kind}OType"


def problem(scene: Scene, goal: Goal, name: str = "memp") -> str:
    """The PDDL problem text of one scene and goal."""
    lay = scene.layout
    recs = list(lay.names)
    objs = list(scene.obj_names)
    homes = list(scene.obj_start)
    if lay.lamp is not None:
        objs.append(lay.lamp)
        homes.append(lay.lamp_at)
    start = max(lay.locs, default=0) + 1  # the agent's spot mid-room: a loc of no receptacle
    locs = [f"loc {n}" for n in lay.locs] + [f"loc {start}"]  # shared spots repeat
    unique_locs = list(dict.fromkeys(locs))
    rid, oid, lid = _ids(recs), _ids(objs), _ids(unique_locs)
    okinds = [o.rsplit(" ", 1)[0] for o in objs]
    rtypes = sorted({rtype(k) for k in lay.kinds} | ({rtype(goal.recep)} if goal.recep else set()))
    otypes = sorted({otype(k) for k in okinds} | {otype(goal.obj)})
    decl = ["agent1 - agent"]
    decl += [f"{t} - rtype" for t in rtypes] + [f"{t} - otype" for t in otypes]
    decl += [f"{rid[r]} - receptacle" for r in recs] + [f"{oid[o]} - object" for o in objs]
    decl += [f"{lid[loc]} - location" for loc in unique_locs]
    init = [f"(atLocation agent1 {lid[locs[-1]]})"]
    for i, r in enumerate(recs):
        init.append(f"(receptacleType {rid[r]} {rtype(lay.kinds[i])})")
        init.append(f"(receptacleAtLocation {rid[r]} {lid[locs[i]]})")
        if lay.kinds[i] in catalog.OPENABLE:
            init.append(f"(openable {rid[r]})")
    for o, kind, home in zip(objs, okinds, homes, strict=True):
        init.append(f"(objectType {oid[o]} {otype(kind)})")
        init.append(f"(inReceptacle {oid[o]} {rid[recs[home]]})")
        init.append(f"(objectAtLocation {oid[o]} {lid[locs[home]]})")
        if kind in catalog.TOGGLEABLE:
            init.append(f"(toggleable {oid[o]})")
            continue
        init.append(f"(pickupable {oid[o]})")
        for verb, able in catalog.VERB_ABLE.items():
            if kind in able:
                init.append(f"({verb}able {oid[o]})")
    pairs = {(lay.kinds[i], k) for i in range(len(recs)) for k in okinds}
    for rk, ok in sorted(pairs):
        if ok not in catalog.TOGGLEABLE and catalog.can_hold(rk, ok):
            init.append(f"(canContain {rtype(rk)} {otype(ok)})")
    return (
        f"(define (problem {name})\n(:domain alfred)\n(:objects\n  "
        + "\n  ".join(decl)
        + "\n)\n(:init\n  "
        + "\n  ".join(init)
        + f"\n)\n(:goal\n{goal_pddl(goal)}\n)\n)\n"
    )


def goal_pddl(goal: Goal) -> str:
    """ALFWorld's success condition of each task type, over our type names."""
    ot = otype(goal.obj)
    if goal.task_type == "look_at_obj_in_light":
        lamp = otype(str(goal.lamp))
        return (
            "(and (exists (?ot - object ?r - receptacle ?a - agent ?l - location)"
            f" (and (objectType ?ot {lamp}) (toggleable ?ot) (isToggled ?ot)"
            " (receptacleAtLocation ?r ?l) (atLocation ?a ?l) (inReceptacle ?ot ?r)))"
            f" (exists (?o - object ?a - agent) (and (objectType ?o {ot}) (holds ?a ?o))))"
        )
    rt = rtype(str(goal.recep))
    if goal.task_type == "pick_two_obj_and_place":
        return (
            "(exists (?r - receptacle ?o1 - object ?o2 - object)"
            f" (and (receptacleType ?r {rt}) (objectType ?o1 {ot}) (objectType ?o2 {ot})"
            " (not (= ?o1 ?o2)) (inReceptacle ?o1 ?r) (inReceptacle ?o2 ?r)))"
        )
    state = {"clean": " (isClean ?o)", "heat": " (isHot ?o)", "cool": " (isCool ?o)"}
    extra = state.get(goal.transform or "", "")
    return (
        "(exists (?r - receptacle ?o - object)"
        f" (and (receptacleType ?r {rt}) (objectType ?o {ot}) (inReceptacle ?o ?r){extra}))"
    )


def game_data(scene: Scene, goal: Goal, grammar: str, data_dir: Path | None = None) -> dict:
    """The game.tw-pddl content: domain, grammar with the goal filled in, problem."""
    domain, twl2 = logic.load_logic(data_dir, grammar)
    return {
        "pddl_domain": domain,
        "grammar": twl2.replace(logic.UNKNOWN_GOAL, goal.text().removesuffix(".")),
        "pddl_problem": problem(scene, goal),
        "solvable": True,
    }


def traj_data(task: Task, goal: Goal) -> dict:
    """The traj_data.json fields the env reads (task type, targets), as the release names them."""
    return {
        "task_type": task.task_type,
        "task_id": task.id,
        "pddl_params": {
            "object_target": goal.obj,
            "parent_target": goal.recep or "",
            "toggle_target": goal.lamp or "",
            "mrecep_target": "",
            "object_sliced": False,
        },
        "memp": {"household_task": task.model_dump(mode="json")},
    }


def export_task(task: Task, root: Path, split: str, index: int, grammar: str = "2.1.2") -> Path:
    """Write one household task as an ALFWorld game under `root`; returns the game file."""
    goal = goal_of(task)
    scene = build_scene(task.spec, task.seed)
    trial = root / "json_2.1.1" / split / f"{task.task_type}-memp-{index:04d}" / "trial_T0"
    trial.mkdir(parents=True, exist_ok=True)
    game = trial / "game.tw-pddl"
    game.write_text(json.dumps(game_data(scene, goal, grammar)))
    (trial / "traj_data.json").write_text(json.dumps(traj_data(task, goal), indent=1))
    return game


def export_games(root: Path, per_type: int = 1, grammar: str = "2.1.2") -> list[Path]:
    """`per_type` household tasks of each of the six types per split, written as ALFWorld games."""
    written = []
    for split in ("train", "valid_seen", "valid_unseen"):
        counts: Counter[str] = Counter()
        for index, task in enumerate(split_tasks(split)):
            if counts[task.task_type] < per_type:
                counts[task.task_type] += 1
                written.append(export_task(task, root, split, index, grammar))
            if len(counts) == len(catalog.TASK_TYPES) and min(counts.values()) >= per_type:
                break
    return written


def main(argv: list[str]) -> None:
    """`python -m pipeline.envs.alfworld.export DIR [PER_TYPE] [GRAMMAR]`: a small game set."""
    if not argv:
        raise SystemExit("usage: python -m pipeline.envs.alfworld.export DIR [PER_TYPE] [GRAMMAR]")
    per_type = int(argv[1]) if len(argv) > 1 else 1
    grammar = argv[2] if len(argv) > 2 else "2.1.2"
    games = export_games(Path(argv[0]), per_type, grammar)
    print(f"wrote {len(games)} games under {argv[0]}/json_2.1.1 (set ALFWORLD_DATA={argv[0]})")


if __name__ == "__main__":
    main(sys.argv[1:])
