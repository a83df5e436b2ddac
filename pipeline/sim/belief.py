"""The agent's belief about this scene, rebuilt from the transcript only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.prompts import EXAMPLE_HEADER, MEMORY_HEADER, OBSERVATION_PREFIX, TURN_HEADER
from pipeline.sim.goal import Goal, find_goal, kind_of, split_list

_ACTION = re.compile(r"^\s*Action:\s*(.+?)\s*$", re.M)
_SEE_ROOM = re.compile(r"Looking quickly around you, you see (.+?)\.\s*(?:\n|$)")
_ON_THE = re.compile(r"On the ([a-z]+(?: [a-z]+)? \d+), you see (.+?)\.(?:\s|$)")
_OPENED = re.compile(r"You open the ([a-z]+(?: [a-z]+)? \d+)\.")
_OPEN_IN = re.compile(r"The ([a-z]+(?: [a-z]+)? \d+) is open\. In it, you see (.+?)\.(?:\s|$)")
_CLOSED = re.compile(r"The ([a-z]+(?: [a-z]+)? \d+) is closed\.")
_CLOSE = re.compile(r"You close the ([a-z]+(?: [a-z]+)? \d+)\.")
_PICK = re.compile(r"You pick up the ([a-z]+(?: [a-z]+)? \d+) from the ([a-z]+(?: [a-z]+)? \d+)\.")
_PLACE = re.compile(
    r"You (?:move|put) the ([a-z]+(?: [a-z]+)? \d+) (?:to|in|on|in/on) "
    r"the ([a-z]+(?: [a-z]+)? \d+)\."
)
_TRANSFORM = re.compile(
    r"You (clean|heat|cool) the ([a-z]+(?: [a-z]+)? \d+) using the ([a-z]+(?: [a-z]+)? \d+)\."
)
_TURN_ON = re.compile(r"You turn on the ([a-z]+(?: [a-z]+)? \d+)\.")
_CARRY = re.compile(r"You are carrying: (?:a |an )?([a-z]+(?: [a-z]+)? \d+)\.")
_ARRIVE_AT = re.compile(r"You arrive at ([a-z]+(?: [a-z]+)? \d+)\.")
_FACING = re.compile(r"You are facing the (.+?)\. Next to it")
_GO_TO = re.compile(r"^go to (.+)$")


@dataclass(slots=True)
class Belief:
    """Everything the sim knows about the current episode, all of it read from messages."""

    goal: Goal | None = None
    receptacles: list[str] = field(default_factory=list)  # from the opening text, in order
    contents: dict[str, list[str]] = field(default_factory=dict)  # seen receptacle -> objects
    visited: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    location: str | None = None
    here: set[str] = field(default_factory=set)  # receptacles known to share the agent's spot
    held: str | None = None
    states: dict[str, set[str]] = field(default_factory=dict)  # object -> {"clean","hot","cool"}
    placed: dict[str, str] = field(default_factory=dict)  # object -> receptacle it was put in/on
    failed: set[str] = field(default_factory=set)  # exact commands answered "Nothing happens."
    failed_at: set[tuple[str, str | None]] = field(
        default_factory=set
    )  # (command, where it failed)
    lamp_on: bool = False
    actions: list[str] = field(default_factory=list)
    nothing_count: int = 0
    format_misses: int = 0

    def where_is(self, obj: str) -> str | None:
        for recep, items in self.contents.items():
            if obj in items:
                return recep
        return None


def split_first_message(text: str) -> tuple[str, str, str]:
    """(example, memory, task) sections of the first user turn; missing sections are ""."""
    task = text
    example = memory = ""
    if TURN_HEADER in text:
        head, _, task = text.rpartition(TURN_HEADER)
    else:
        head = ""
    if MEMORY_HEADER in head:
        head, _, memory = head.partition(MEMORY_HEADER)
    if EXAMPLE_HEADER in head:
        _, _, example = head.partition(EXAMPLE_HEADER)
    return example.strip(), memory.strip(), task.strip()


def parse_action(answer: str) -> str | None:
    """The command of an assistant answer ("Action: ..." line, or a bare "> cmd"/single line)."""
    hits = _ACTION.findall(answer)
    if hits:
        return hits[-1].strip().rstrip(".").lower()
    return None


def start_belief(task_text: str) -> Belief:
    """The belief right after the opening observation: the goal and the receptacles around."""
    b = Belief(goal=find_goal(task_text))
    m = _SEE_ROOM.search(task_text)
    if m:
        b.receptacles = split_list(m.group(1))
    return b


def apply_step(b: Belief, action: str | None, observation: str) -> None:
    """Update the belief with one (action, observation) pair from the transcript."""
    if action is None:
        b.format_misses += 1
        return
    b.actions.append(action)
    obs = observation.strip()
    if obs.startswith(OBSERVATION_PREFIX):
        obs = obs[len(OBSERVATION_PREFIX) :]
    if obs.startswith("Nothing happens"):
        b.failed.add(action)
        b.failed_at.add((action, b.location))
        b.nothing_count += 1
        m = _GO_TO.match(action)
        if m and b.location is not None and m.group(1) in b.receptacles:
            b.here.add(m.group(1))  # "go to" a real receptacle fails only where it already stands
        return
    if obs.startswith("You arrive at"):
        m = _GO_TO.match(action)
        dest = m.group(1) if m else None
        if dest is None:
            m2 = _ARRIVE_AT.match(obs)
            dest = m2.group(1) if m2 else None
        if dest:
            b.location = dest
            b.here = {dest}
            b.visited.add(dest)
            b.contents.setdefault(dest, [])
    m = _FACING.match(obs)
    if m and b.location is not None:
        b.here = set(split_names(m.group(1)))
    for m in _ON_THE.finditer(obs):
        b.contents[m.group(1)] = split_list(m.group(2))
        b.visited.add(m.group(1))
    m = _OPENED.search(obs)
    if m:
        b.closed.discard(m.group(1))
        b.opened.add(m.group(1))
        b.contents.setdefault(m.group(1), [])
    for m in _OPEN_IN.finditer(obs):
        b.closed.discard(m.group(1))
        b.opened.add(m.group(1))
        b.contents[m.group(1)] = split_list(m.group(2))
    for m in _CLOSED.finditer(obs):
        b.closed.add(m.group(1))
        b.opened.discard(m.group(1))
        b.visited.add(m.group(1))  # seen from outside; it still has to be opened
    m = _CLOSE.search(obs)
    if m:
        b.closed.add(m.group(1))
        b.opened.discard(m.group(1))
    m = _PICK.search(obs)
    if m:
        obj, recep = m.group(1), m.group(2)
        b.held = obj
        b.placed.pop(obj, None)
        items = b.contents.get(recep)
        if items and obj in items:
            items.remove(obj)
        return
    m = _PLACE.search(obs)
    if m:
        obj, recep = m.group(1), m.group(2)
        b.held = None
        b.placed[obj] = recep
        b.contents.setdefault(recep, []).append(obj)
        return
    m = _TRANSFORM.search(obs)
    if m:
        state = {"clean": "clean", "heat": "hot", "cool": "cool"}[m.group(1)]
        b.states.setdefault(m.group(2), set()).add(state)
        return
    if _TURN_ON.search(obs):
        b.lamp_on = True
        return
    m = _CARRY.search(obs)
    if m:
        b.held = m.group(1)
    elif obs.startswith("You are not carrying anything"):
        b.held = None


def split_names(listing: str) -> list[str]:
    """Names of a bare TextWorld list ("cabinet 2, and countertop 1")."""
    return [n.removeprefix("and ").strip() for n in listing.split(", ") if n.strip()]


def at(b: Belief, recep: str) -> bool:
    """True when the belief puts the agent at this receptacle's spot."""
    return recep == b.location or recep in b.here


def rebuild(messages: list[dict[str, str]], task_text: str, after: int) -> Belief:
    """Replay the assistant/observation pairs after index `after` (the first user turn)."""
    b = start_belief(task_text)
    pending: str | None = None
    have_pending = False
    for msg in messages[after + 1 :]:
        role = msg.get("role")
        content = msg.get("content") or ""
        if role == "assistant":
            pending = parse_action(content)
            have_pending = True
        elif role == "user" and have_pending:
            apply_step(b, pending, content)
            have_pending = False
    return b


def lamp_kinds(b: Belief) -> str:
    """The lamp kind the goal names (desklamp/floorlamp), defaulting to any lamp."""
    return b.goal.lamp if b.goal and b.goal.lamp else "lamp"


def objects_of_kind(b: Belief, kind: str) -> list[tuple[str, str]]:
    """(object, receptacle) pairs of a kind seen so far, in order of first sighting."""
    return [(o, r) for r, items in b.contents.items() for o in items if kind_of(o) == kind]
