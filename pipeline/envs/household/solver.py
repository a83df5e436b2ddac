"""A look-ahead solver: probes cloned envs, then acts; uses only admissible commands and texts.

It proves each generated task solvable within the step limit and writes the one-shot examples.
It reads nothing but the goal line, observations and admissible_commands() (on the live env and
on clones of it), so it cannot lean on engine internals an agent would not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.envs.household.env import HouseholdEnv
from pipeline.envs.household.goals import Goal, parse_goal

Trace = list[tuple[str, str]]  # (action, observation) pairs actually played


class SolverError(RuntimeError):
    pass


def kind_of(name: str) -> str:
    """'cabinet 3' -> 'cabinet'."""
    return name.rsplit(" ", 1)[0]


def seen_items(observation: str) -> list[str]:
    """Names listed after "you see" in an observation ("a mug 1, and a apple 2." -> names)."""
    start = observation.rfind("you see ")
    if start < 0:
        return []
    listing = observation[start + len("you see ") :].rstrip(".")
    if listing == "nothing":
        return []
    return [item.removeprefix("and ").removeprefix("a ") for item in listing.split(", ")]


@dataclass
class Survey:
    """What probing every receptacle revealed: contents, which need opening, where a lamp is."""

    contents: dict[str, list[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    lamps: dict[str, str] = field(default_factory=dict)  # lamp name -> receptacle it is used at

    def where(self, kind: str) -> list[tuple[str, str]]:
        return [(o, r) for r, items in self.contents.items() for o in items if kind_of(o) == kind]


def survey(env: HouseholdEnv) -> Survey:
    """Visit (and open) each receptacle in a throwaway clone and record what it shows."""
    found = Survey()
    for cmd in env.admissible_commands():
        if not cmd.startswith("go to "):
            continue
        recep = cmd[len("go to ") :]
        probe = env.clone()
        obs = probe.step(cmd).observation
        if obs.endswith(f"The {recep} is closed."):
            found.closed.add(recep)
            obs = probe.step(f"open {recep}").observation
        found.contents[recep] = seen_items(obs)
        for option in probe.admissible_commands():
            if option.startswith("use "):
                found.lamps[option[len("use ") :]] = recep
    return found


class _Runner:
    """Plays commands on the live env, refusing any that is not admissible."""

    def __init__(self, env: HouseholdEnv, max_steps: int, receptacles: list[str]) -> None:
        self.env = env
        self.max_steps = max_steps
        self.receptacles = receptacles
        self.trace: Trace = []
        self.here: set[str] = set()  # receptacles at the agent's spot (several may share one)
        self.opened: set[str] = set()

    def act(self, cmd: str) -> str:
        if cmd not in self.env.admissible_commands():
            raise SolverError(f"not admissible: {cmd!r}")
        if len(self.trace) >= self.max_steps:
            raise SolverError("step budget exhausted")
        obs = self.env.step(cmd).observation
        self.trace.append((cmd, obs))
        return obs

    def go(self, recep: str, closed: set[str] | None = None) -> None:
        if recep not in self.here:
            self.act(f"go to {recep}")
            # Where it now stands, "go to" is not offered for any receptacle of the same spot.
            offered = set(self.env.admissible_commands())
            self.here = {r for r in self.receptacles if f"go to {r}" not in offered}
        if closed and recep in closed and recep not in self.opened:
            self.act(f"open {recep}")
            self.opened.add(recep)

    def place(self, obj: str, recep: str) -> None:
        for cmd in self.env.admissible_commands():
            if cmd in (f"move {obj} to {recep}", f"put {obj} in/on {recep}"):
                self.act(cmd)
                return
        raise SolverError(f"cannot place {obj} in {recep}")


def _cost(runner: _Runner, recep: str, closed: set[str]) -> int:
    return (recep not in runner.here) + (recep in closed and recep not in runner.opened)


def _appliance(env: HouseholdEnv, verb: str, obj: str) -> str:
    """The receptacle whose admissible commands offer `verb obj with it` (found by probing)."""
    offer = f"{verb} {obj} with "
    for cmd in env.admissible_commands():
        if cmd.startswith(offer):
            return cmd[len(offer) :]
    for cmd in env.admissible_commands():
        if cmd.startswith("go to "):
            recep = cmd[len("go to ") :]
            probe = env.clone()
            probe.step(cmd)
            if f"{verb} {obj} with {recep}" in probe.admissible_commands():
                return recep
    raise SolverError(f"nothing can {verb} {obj}")


def solve(env: HouseholdEnv, goal_text: str, max_steps: int = 50) -> Trace:
    """Reach the goal on `env` (just reset) and return the steps played; raises SolverError."""
    goal = parse_goal(goal_text)
    if goal is None:
        raise SolverError(f"unparsable goal: {goal_text!r}")
    found = survey(env)
    runner = _Runner(env, max_steps, list(found.contents))
    if goal.task_type == "look_at_obj_in_light":
        _solve_light(runner, found, goal)
    else:
        _solve_place(runner, found, goal)
    if not env.won:
        raise SolverError("plan finished without reaching the goal")
    return runner.trace


def _solve_light(runner: _Runner, found: Survey, goal: Goal) -> None:
    lamps = [(lamp, r) for lamp, r in found.lamps.items() if kind_of(lamp) == goal.lamp]
    candidates = found.where(goal.obj)
    if not lamps or not candidates:
        raise SolverError("no lamp or no object to look at")
    lamp, lamp_at = lamps[0]
    obj, src = min(candidates, key=lambda c: _cost(runner, c[1], found.closed))
    runner.go(src, found.closed)
    runner.act(f"take {obj} from {src}")
    runner.go(lamp_at, found.closed)
    runner.act(f"use {lamp}")


def _solve_place(runner: _Runner, found: Survey, goal: Goal) -> None:
    targets = [r for r in found.contents if kind_of(r) == goal.recep]
    if not targets:
        raise SolverError(f"no {goal.recep} in the room")
    # Prefer a target that needs no opening; ties go to listing order, which is stable.
    target = min(targets, key=lambda r: r in found.closed)
    remaining = [c for c in found.where(goal.obj) if c[1] != target]
    rounds = 2 if goal.task_type == "pick_two_obj_and_place" else 1
    for _ in range(rounds):
        if not remaining:
            raise SolverError(f"not enough {goal.obj}")
        obj, src = min(remaining, key=lambda c: _cost(runner, c[1], found.closed))
        remaining.remove((obj, src))
        runner.go(src, found.closed)
        runner.act(f"take {obj} from {src}")
        if goal.transform:
            appliance = _appliance(runner.env, goal.transform, obj)
            runner.go(appliance)
            runner.act(f"{goal.transform} {obj} with {appliance}")
        runner.go(target, found.closed)
        runner.place(obj, target)
