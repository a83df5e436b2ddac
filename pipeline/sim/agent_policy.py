"""The agent role: per-episode decisions, then the next command (search, take, transform, place)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.config import SimConfig
from pipeline.sim.belief import Belief, at, objects_of_kind
from pipeline.sim.goal import RIGHT_APPLIANCES, STATE_OF_VERB, WRONG_APPLIANCES, kind_of
from pipeline.sim.memory_hints import MemoryHints


@dataclass(frozen=True, slots=True)
class Plan:
    """Decisions fixed for a whole episode (drawn from the run seed and the first user message)."""

    order: tuple[str, ...]  # receptacles in the order it will search them
    appliances: tuple[str, ...]  # appliance instances it will try for the transformation, in order
    skip: bool  # forgets the transformation
    trust: bool  # follows the memory slot
    invalid_rate: float
    move_2_1_1: bool  # grammar 2.1.1: "put {o} in/on {r}"
    distraction: float  # chance a search step revisits a known place instead of a new one
    lamp_kinds: tuple[str, ...] = ()  # receptacle kinds memory says the lamp stands at


def _instances(receptacles: list[str], kind: str) -> list[str]:
    return [r for r in receptacles if kind_of(r) == kind]


def plan_episode(
    rng: random.Random, b: Belief, hints: MemoryHints, cfg: SimConfig, grammar_old: bool
) -> Plan:
    """Draw the episode's knobs: trust, skill, skip, search order and appliance order."""
    goal = b.goal
    trust = (not hints.empty) and rng.random() < cfg.memory_trust
    knows = rng.random() < cfg.skill
    skip_rate, invalid = cfg.skip_rate, cfg.invalid_rate
    # Skill also sets how systematically it searches: weak models loop back to places already seen.
    distraction = min(0.85, 1.1 * (1.0 - cfg.skill))
    if trust and hints.type_match and hints.covers_transform:
        skip_rate, invalid = (
            skip_rate * 0.2,
            invalid * 0.5,
        )  # a matching procedure keeps it on track
        distraction *= 0.5
    elif trust and hints.lacks_transform:
        skip_rate = (
            skip_rate + (1.0 - skip_rate) * 0.5
        )  # steps without the transformation mislead it
    skip = rng.random() < skip_rate
    order = list(b.receptacles)
    rng.shuffle(order)  # no prior about where objects usually are: a uniform random search
    if trust:
        rank = {k: i for i, k in enumerate(hints.kinds)}
        first = [r for r in hints.exact if r in order]
        rest = sorted(
            (r for r in order if r not in first), key=lambda r: rank.get(kind_of(r), len(rank))
        )
        order = first + rest
    kinds: list[str] = []
    verb = goal.verb if goal else None
    if verb:
        right = [k for k in RIGHT_APPLIANCES[verb] if _instances(b.receptacles, k)] or list(
            RIGHT_APPLIANCES[verb]
        )
        wrong = [k for k in WRONG_APPLIANCES[verb] if _instances(b.receptacles, k)]
        rng.shuffle(wrong)
        if trust and hints.appliance:
            kinds.append(hints.appliance)
        elif trust and hints.other_appliance:
            kinds.append(
                hints.other_appliance
            )  # a procedure for another transformation misleads it
        if not knows:
            kinds.extend(wrong[: rng.randint(1, 2)])
        kinds.extend(right)
        kinds.extend(wrong)
    appliances = []
    for k in dict.fromkeys(kinds):
        appliances.extend(_instances(b.receptacles, k)[:1] or [f"{k} 1"])
    lamp_kinds = hints.lamp_kinds if trust else ()
    return Plan(
        tuple(order), tuple(appliances), skip, trust, invalid, grammar_old, distraction, lamp_kinds
    )


def _needs(b: Belief, obj: str, plan: Plan) -> str | None:
    """The state the held object still lacks ("hot", ...), or None when it is ready to place."""
    verb = b.goal.verb if b.goal else None
    if not verb or plan.skip:
        return None
    state = STATE_OF_VERB[verb]
    return None if state in b.states.get(obj, ()) else state


def _go_or(b: Belief, recep: str, then: str, why: str) -> tuple[str, str]:
    if not at(b, recep):
        return f"{why} I go to {recep}.", f"go to {recep}"
    if recep in b.closed:
        return f"The {recep} is closed, so I open it.", f"open {recep}"
    return why, then


def _placed_done(b: Belief) -> int:
    goal = b.goal
    assert goal is not None
    return sum(
        1 for o, r in b.placed.items() if kind_of(o) == goal.obj and kind_of(r) == goal.target
    )


def _next_unvisited(b: Belief, plan: Plan) -> str | None:
    for r in plan.order:
        if r not in b.visited:
            return r
        if r in b.closed and f"open {r}" not in b.failed:
            return r  # seen from outside only: still has to be opened
    return None


def _wander(b: Belief, rng: random.Random, plan: Plan) -> tuple[str, str]:
    """After it believes it is done (or searched everything): plausible aimless moves."""
    roll = rng.random()
    if roll < 0.15:
        return "I think the task is done; let me check.", "look"
    if roll < 0.25:
        return "Let me check what I am carrying.", "inventory"
    choices = [r for r in plan.order if not at(b, r)] or list(plan.order) or ["room"]
    r = choices[rng.randrange(len(choices))]
    return f"Maybe I missed something at {r}.", f"go to {r}"


def _search(b: Belief, plan: Plan, what: str, rng: random.Random) -> tuple[str, str]:
    r = _next_unvisited(b, plan)
    if r is None:
        return _wander(b, rng, plan)
    if b.visited and rng.random() < plan.distraction:
        seen = sorted(v for v in b.visited if not at(b, v))
        if seen:
            back = seen[rng.randrange(len(seen))]
            return f"Maybe the {what} is at {back}; let me look again.", f"go to {back}"
    if at(b, r) and r in b.closed:
        return f"The {r} is closed; the {what} may be inside.", f"open {r}"
    if at(b, r) and r not in b.visited:
        return f"The {r} stands right here; I look at it.", f"examine {r}"
    return f"I need to find a {what}. I have not checked {r} yet.", f"go to {r}"


def _find_and_take(b: Belief, plan: Plan, rng: random.Random) -> tuple[str, str]:
    goal = b.goal
    assert goal is not None
    for o, r in objects_of_kind(b, goal.obj):
        if o in b.placed and kind_of(b.placed[o]) == goal.target:
            continue
        cmd = f"take {o} from {r}"
        if cmd in b.failed:
            continue
        return _go_or(b, r, cmd, f"I saw a {o} at {r}; I take it.")
    return _search(b, plan, goal.obj, rng)


def _transform(b: Belief, plan: Plan, obj: str, rng: random.Random) -> tuple[str, str]:
    goal = b.goal
    assert goal is not None and goal.verb is not None
    for app in plan.appliances:
        cmd = f"{goal.verb} {obj} with {app}"
        if cmd in b.failed:
            continue
        if not at(b, app):
            return (
                f"I need to {goal.verb} the {obj}; the {kind_of(app)} should do it.",
                f"go to {app}",
            )
        return f"I {goal.verb} the {obj} with the {app}.", cmd
    return _wander(b, rng, plan)


def _place(b: Belief, plan: Plan, obj: str, rng: random.Random) -> tuple[str, str]:
    goal = b.goal
    assert goal is not None
    targets = [r for r in plan.order if kind_of(r) == goal.target] or [f"{goal.target} 1"]
    for r in targets:
        cmd = f"put {obj} in/on {r}" if plan.move_2_1_1 else f"move {obj} to {r}"
        if cmd in b.failed:
            continue
        return _go_or(b, r, cmd, f"Now I put the {obj} in/on the {r}.")
    return _wander(b, rng, plan)


def _light(b: Belief, plan: Plan, obj: str, rng: random.Random) -> tuple[str, str]:
    goal = b.goal
    assert goal is not None
    lamp_kind = goal.lamp or "desklamp"
    lamps = [(o, r) for r, items in b.contents.items() for o in items if kind_of(o) == lamp_kind]
    lamps += [(r, r) for r in b.receptacles if kind_of(r) == lamp_kind]
    for lamp, where in lamps:
        cmd = f"use {lamp}"
        if (cmd, where) in b.failed_at:
            continue
        return _go_or(b, where, cmd, f"I hold the {obj}; I turn on the {lamp} to look at it.")
    # No lamp seen yet: it stands in some receptacle's contents; look where memory says first.
    rank = {k: i for i, k in enumerate(plan.lamp_kinds)}
    todo = sorted(
        (r for r in plan.order if r not in b.visited), key=lambda r: rank.get(kind_of(r), len(rank))
    )
    if not todo:
        return _wander(b, rng, plan)
    if at(b, todo[0]):
        return f"The {todo[0]} stands right here; I look at it.", f"examine {todo[0]}"
    return f"I look for the {lamp_kind} at {todo[0]}.", f"go to {todo[0]}"


def next_action(b: Belief, plan: Plan, rng: random.Random) -> tuple[str, str]:
    """(think, command) for the current belief; the command follows the system prompt's grammar."""
    goal = b.goal
    if goal is None or not goal.task_type:
        return _wander(b, rng, plan)
    held = b.held
    if goal.task_type == "look_at_obj_in_light":
        if b.lamp_on:
            return _wander(b, rng, plan)
        if held and kind_of(held) == goal.obj:
            return _light(b, plan, held, rng)
        if held:
            return _place_anywhere(b, plan, held)
        return _find_and_take(b, plan, rng)
    if held and kind_of(held) == goal.obj:
        if _needs(b, held, plan):
            return _transform(b, plan, held, rng)
        return _place(b, plan, held, rng)
    if held:
        return _place_anywhere(b, plan, held)
    if _placed_done(b) >= goal.count:
        return _wander(
            b, rng, plan
        )  # it believes the task is done (maybe without the transformation)
    return _find_and_take(b, plan, rng)


def _place_anywhere(b: Belief, plan: Plan, held: str) -> tuple[str, str]:
    where = b.location or (plan.order[0] if plan.order else "countertop 1")
    cmd = f"put {held} in/on {where}" if plan.move_2_1_1 else f"move {held} to {where}"
    return f"I am holding the wrong thing; I put the {held} down.", cmd


def malform(cmd: str, rng: random.Random) -> str:
    """A command an LLM gets slightly wrong: a missing instance number or a wrong preposition."""
    words = cmd.split()
    if words[0] == "move" and " to " in cmd:
        return cmd.replace(" to ", rng.choice((" in ", " into ", " on ")), 1)
    if words[0] == "put" and " in/on " in cmd:
        return cmd.replace(" in/on ", rng.choice((" in ", " on ", " to ")), 1)
    if words[0] == "take" and " from " in cmd and rng.random() < 0.5:
        return cmd.split(" from ")[0]
    if words[-1].isdigit() and len(words) > 2:
        return " ".join(words[:-1])  # "go to cabinet"
    return cmd + " please"


def answer(b: Belief, plan: Plan, rng: random.Random, format_error_rate: float) -> str:
    """The full reply: "Think: ...\nAction: ...", sometimes malformed or without an Action line."""
    think, cmd = next_action(b, plan, rng)
    roll = rng.random()
    if roll < format_error_rate:
        return f"Think: {think}" if rng.random() < 0.5 else f"{think} So: {cmd}."
    if rng.random() < plan.invalid_rate:
        cmd = malform(cmd, rng)
    return f"Think: {think}\nAction: {cmd}"
