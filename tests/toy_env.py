"""A toy environment plugged in from outside `pipeline/`: `env.name: "tests.toy_env:ToySuite"`.

The task is to open a coloured lock; each colour's code is one digit, fixed by a hash. The agent
tries digits with a tool call (`try_code`) or a text answer ("Action: try 4"). Its sim policy
(`sim/toy`) reads only the prompt: without memory it tries digits in a seeded order; with a
retrieved procedure for the same colour it tries the remembered digit first. It is a stand-in for
an LLM, there to exercise the plug-in path end to end, not to measure anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import EnvConfig, SimConfig
from pipeline.envs.base import Action, EnvLanguage, StepResult
from pipeline.sim import register_policy
from pipeline.types import Task, ToolCall, Trajectory

COLOURS = ("red", "blue", "green", "amber", "violet")
SPLITS = {"train": 20, "test": 10}
OPENED = "The lock clicks open."
SHUT = "The dial turns back. The lock stays shut."
# Each process that builds the suite appends a line here: the test checks every Ray role did.
MARKS_ENV = "MEMP_TOY_MARKS"


def code_of(colour: str, digits: int) -> int:
    return int.from_bytes(hashlib.blake2b(colour.encode(), digest_size=2).digest()) % digits


class ToySettings(BaseModel):
    """The `env.toy` config subsection."""

    model_config = ConfigDict(extra="forbid")

    digits: int = Field(10, ge=2, le=10)  # the dial's size


class ToySimSettings(BaseModel):
    """The `sim.toy` config subsection."""

    model_config = ConfigDict(extra="forbid")

    text_every: int = Field(3, ge=0)  # every n-th answer is text, not a tool call (0: never)


class LockEnv:
    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.code: int | None = None
        self.tries = 0

    def reset(self, task: Task) -> str:
        colour = task.spec["colour"]
        self.code, self.tries = code_of(colour, self.digits), 0
        return (
            f"You face a {colour} lock with one dial (digits 0-{self.digits - 1}).\n"
            f"Your task is to: {task.goal}"
        )

    def step(self, command: str) -> StepResult:
        match = re.fullmatch(r"try (\d)", command.strip())
        if match is None or int(match.group(1)) >= self.digits:
            return StepResult(observation="That is not a dial setting.", done=False,
                              success=False, valid=False)  # fmt: skip
        self.tries += 1
        if int(match.group(1)) != self.code:
            return StepResult(observation=SHUT, done=False, success=False, valid=True)
        efficiency = 1.0 - (self.tries - 1) / self.digits
        scores = {"efficiency": efficiency, "tries": float(self.tries)}
        return StepResult(observation=OPENED, done=True, success=True, valid=True, scores=scores)

    def admissible_commands(self) -> list[str]:
        return [f"try {d}" for d in range(self.digits)]


class ToyLanguage(EnvLanguage):
    """Lock wording, a `try_code` tool, and trajectory memory that keeps only the winning try."""

    command_prefixes = ("try ",)
    format_hint = "Invalid answer. Call try_code, or reply 'Action: try <digit>'."
    script_system = "You write lock-opening notes for an agent.\nAnswer with numbered lines only."
    adjust_system = "You correct lock-opening notes for an agent.\nAnswer with numbered lines only."
    keywords_system = "You name the lock colour of a task.\nAnswer with the colour only."

    def system_prompt(self, task: Task) -> str:
        return (
            "You open locks. Each turn call the tool try_code with one digit, or answer\n"
            "Think: <reasoning>\nAction: try <digit>"
        )

    def tools(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "function": {
                    "name": "try_code",
                    "description": "Turn the dial to one digit and pull the lock.",
                    "parameters": {
                        "type": "object",
                        "properties": {"digit": {"type": "integer", "minimum": 0, "maximum": 9}},
                        "required": ["digit"],
                    },
                },
            }
        ]

    def parse_tool_call(self, call: ToolCall, text: str) -> Action:
        digit = call.arguments.get("digit")
        if call.name != "try_code" or not isinstance(digit, int):
            return Action(thought=text, command=None)
        return Action(thought=text, command=f"try {digit}")

    def condense(self, trajectory: Trajectory) -> list[tuple[str, str]]:
        return [(s.action, s.observation) for s in trajectory.steps if s.observation == OPENED]


class ToySuite:
    name = "toy"
    settings_model = ToySettings
    sim_policy = "toy"

    def __init__(self, config: EnvConfig) -> None:
        self.settings = config.settings(ToySettings)
        self.language = ToyLanguage()
        marks = os.environ.get(MARKS_ENV)
        if marks:  # "<pid> <process title>": Ray titles an actor's process "ray::<Class>"
            title = Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode()
            with Path(marks).open("a") as fh:
                fh.write(f"{os.getpid()} {title.strip()}\n")

    def splits(self) -> list[str]:
        return list(SPLITS)

    def split_size(self, split: str) -> int | None:
        return SPLITS[split]

    def tasks(self, split: str) -> Iterator[Task]:
        for i in range(SPLITS[split]):
            colour = COLOURS[(i * 3 + len(split)) % len(COLOURS)]
            goal = f"open the {colour} lock."
            yield Task(id=f"toy/{split}/{i:03d}", env="toy", split=split, task_type=colour,
                       goal=goal, seed=i, spec={"colour": colour})  # fmt: skip

    def make(self) -> LockEnv:
        return LockEnv(self.settings.digits)


# ---- the sim policy: reads only the messages (and tools) it is sent ----

_TASK = re.compile(r"Your task is to: open the (\w+) lock", re.I)
_PROC = re.compile(r"from the task: open the (\w+) lock\.\)(.*?)(?=\nProcedure \d|\Z)", re.S)
_TRIED = re.compile(r"try (\d)")


def _system(messages: list[dict[str, Any]]) -> str:
    return next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")


def _agent(cfg: SimConfig, seed: int, messages: list[dict[str, Any]], tools: Any) -> Any:
    first = next(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    found = _TASK.search(first)
    if found is None:
        return "Think: there is no lock here.\nAction: try 0"
    colour = found.group(1)
    remembered = [
        int(d)
        for c, body in _PROC.findall(first)
        if c == colour
        for d in re.findall(r"> try (\d)\n" + re.escape(OPENED), body)
    ]
    order = list(range(10))
    random.Random(f"{seed}/{colour}").shuffle(order)
    tried: set[int] = set()
    for m in messages:
        if m.get("role") != "assistant":
            continue
        for call in m.get("tool_calls") or []:
            tried.add(int(json.loads(call["function"]["arguments"])["digit"]))
        tried.update(int(d) for d in _TRIED.findall(str(m.get("content") or "")))
    digit = next(d for d in [*remembered, *order] if d not in tried)
    turn = sum(m.get("role") == "assistant" for m in messages) + 1
    text_every = cfg.settings(ToySimSettings, "toy").text_every
    if not tools or (text_every and turn % text_every == 0):
        return f"Think: the {colour} lock, digit {digit}.\nAction: try {digit}"
    return {"name": "try_code", "arguments": {"digit": digit}}


def respond(cfg: SimConfig, seed: int, messages: list[dict[str, Any]], tools: Any = None) -> Any:
    system = _system(messages)
    user = next((str(m.get("content") or "") for m in reversed(messages)
                 if m.get("role") == "user"), "")  # fmt: skip
    language = ToyLanguage()
    if system == language.script_system or system == language.adjust_system:
        wins = re.findall(r"> try (\d)\n" + re.escape(OPENED), user)
        return f"1. Turn the dial to {wins[-1]} first." if wins else "1. Try the digits in turn."
    if system == language.keywords_system:
        found = re.search(r"open the (\w+) lock", user)
        return found.group(1) if found else "lock"
    return _agent(cfg, seed, messages, tools)


register_policy("toy", respond, ToySimSettings)
