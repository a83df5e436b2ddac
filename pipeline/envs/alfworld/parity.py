"""Household vs alfworld: the same command sequences played in both backends, differences listed.

`python -m pipeline.envs.alfworld.parity [N] [--grammar 2.1.1]` prints the agreement figures.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.envs.alfworld.env import AlfworldEnv, ThreadLimit
from pipeline.envs.alfworld.export import export_task
from pipeline.envs.alfworld.games import read_task
from pipeline.envs.household import HouseholdEnv, SolverError, solve
from pipeline.envs.household.tasks import make_task
from pipeline.types import Task

INVALID = ("jump", "take unicorn 1 from cabinet 1", "go to cabinet 99", "open", "look around")
_WALK_STEPS = 12


@dataclass
class Difference:
    task_id: str
    command: str
    what: str  # "feedback" | "admissible" | "won"
    household: str
    alfworld: str
    reason: str


@dataclass
class Report:
    compared: int = 0
    identical: int = 0
    differences: list[Difference] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"commands compared / identical: {self.compared} / {self.identical}"]
        for d in self.differences:
            out.append(
                f"- {d.task_id} `{d.command}` {d.what} ({d.reason}): "
                f"household={d.household[:160]!r} alfworld={d.alfworld[:160]!r}"
            )
        return out


_LIST = re.compile(r"(you see )(.*?)(\.(?:\n|$))", re.S)


def _sorted_lists(text: str) -> str:
    """The text with every "you see a, b, and c." list put in sorted order."""

    def _sort(m: re.Match[str]) -> str:
        items = m.group(2).replace(", and ", ", ").split(", ")
        return m.group(1) + ", ".join(sorted(items)) + m.group(3)

    return _LIST.sub(_sort, text)


def reason(household: str, alfworld: str) -> str:
    """Why two feedback texts differ, as far as a rule can tell."""
    if _sorted_lists(household) == _sorted_lists(alfworld):
        return "list order: the engine lists by PDDL id, household by placement"
    return "unexplained"


def _admissible_reason(only_h: set[str], only_a: set[str], at: str | None) -> str:
    reasons = []
    if only_a == {"help"}:
        reasons.append("help: alfworld's 2.1.2 domain admits it, household does not")
    elif only_a:
        return "unexplained"
    if only_h == {f"go to {at}"}:
        reasons.append("go to the receptacle the agent is at: household admits it, alfworld not")
    elif only_h:
        return "unexplained"
    return "; ".join(reasons)


def sequences(env: HouseholdEnv, task: Task, rng: random.Random) -> list[list[str]]:
    """Solver walkthrough, a random admissible walk, and invalid commands, all from reset."""
    env.reset(task)
    try:
        walkthrough = [cmd for cmd, _ in solve(env, task.goal)]
    except SolverError:
        walkthrough = []
    env.reset(task)
    walk = []
    for _ in range(_WALK_STEPS):
        cmd = rng.choice(env.admissible_commands())
        walk.append(cmd)
        if env.step(cmd).done:
            break
    return [walkthrough, walk, list(INVALID)]


def compare_task(task: Task, root: Path, index: int, grammar: str, rng: random.Random) -> Report:
    report = Report()
    game = export_task(task, root, "train", index, grammar)
    a_task = read_task(root, "train", index, game)
    house, alf = HouseholdEnv(grammar), AlfworldEnv(grammar, ThreadLimit(1))
    try:
        for seq in sequences(HouseholdEnv(grammar), task, rng):
            _compare(report, task.id, house.reset(task), alf.reset(a_task), "(reset)", "feedback")
            at: str | None = None  # the receptacle the agent stands at
            for cmd in seq:
                h, a = house.step(cmd), alf.step(cmd)
                why = _step_reason(cmd, at)
                if h.valid and cmd.startswith("go to "):
                    at = cmd.removeprefix("go to ")
                _compare(report, task.id, h.observation, a.observation, cmd, "feedback", why=why)
                _compare(report, task.id, str(h.done), str(a.done), cmd, "won", count=False)
                hs, as_ = set(house.admissible_commands()), set(alf.admissible_commands())
                if hs != as_:
                    report.differences.append(
                        Difference(
                            task.id, cmd, "admissible", str(sorted(hs - as_)),
                            str(sorted(as_ - hs)), _admissible_reason(hs - as_, as_ - hs, at),
                        )
                    )  # fmt: skip
                if h.done or a.done:
                    break
    finally:
        alf.close()
    return report


def _step_reason(cmd: str, at: str | None) -> str | None:
    if at is not None and cmd == f"go to {at}":
        return "go to the receptacle the agent is at: household arrives again, alfworld rejects it"
    if at is None and cmd == "look":
        return (
            "look in the middle of the room: alfworld's rule lists receptacles at that spot (none)"
        )
    return None


def _compare(
    report: Report,
    tid: str,
    h: str,
    a: str,
    cmd: str,
    what: str,
    count: bool = True,
    why: str | None = None,
) -> None:
    if count:
        report.compared += 1
    if h == a:
        report.identical += count
        return
    if what != "feedback":
        why = "win detection differs"
    elif why is None or reason(h, a) != "unexplained":
        why = reason(h, a)
    report.differences.append(Difference(tid, cmd, what, h, a, why))


def household_sample(n: int) -> list[Task]:
    """The first train task of each type, then further train tasks, up to n."""
    picked: list[Task] = []
    seen: set[str] = set()
    rest: list[Task] = []
    for i in range(200):
        task = make_task("train", i)
        (rest if task.task_type in seen else picked).append(task)
        seen.add(task.task_type)
    return (picked + rest)[:n]


def run(n: int, grammar: str, seed: int = 0) -> Report:
    total = Report()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        for index, task in enumerate(household_sample(n)):
            part = compare_task(task, Path(tmp), index, grammar, rng)
            total.compared += part.compared
            total.identical += part.identical
            total.differences += part.differences
    return total


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv and argv[0].isdigit() else 6
    grammar = argv[argv.index("--grammar") + 1] if "--grammar" in argv else "2.1.2"
    print("\n".join(run(n, grammar).lines()))


if __name__ == "__main__":
    main(sys.argv[1:])
