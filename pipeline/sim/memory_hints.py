"""What the memory slot's free text says that applies here: places, appliance, steps."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.sim.goal import APPLIANCE_KINDS, Goal, find_goal, kind_of, parse_goal

_BLOCK_START = re.compile(r"^\s*(?:procedure|memory|experience)\s*\d+\b.*$", re.I | re.M)
_FROM_TASK = re.compile(r"\(from the task:\s*(.+?)\)\s*$", re.I | re.M)
_TASK_COLON = re.compile(r"^\s*task:\s*(.+)$", re.I | re.M)
_NAME = r"([a-z]+ \d+)"
_TAKE = re.compile(rf"\btake {_NAME} from {_NAME}")
_PICKED = re.compile(rf"you pick up the {_NAME} from the {_NAME}")
_ON_THE = re.compile(rf"on the {_NAME}, you see ([^\n]+)")
_OPEN_IN = re.compile(rf"the {_NAME} is open\. in it, you see ([^\n]+)")
_VERB_APPLIANCE = re.compile(r"\b(clean|heat|cool|wash|rinse|warm|chill)\w*\b([^\n.;]*)")
_WORD = re.compile(r"[a-z]+")
_GO = re.compile(rf"\bgo to {_NAME}")
_USE = re.compile(r"^(?:>\s*)?use ")
_VERB_NORMAL = {"wash": "clean", "rinse": "clean", "warm": "heat", "chill": "cool"}
_SYNONYMS = {
    "sink": "sinkbasin",
    "refrigerator": "fridge",
    "freezer": "fridge",
    "oven": "microwave",
    "bathtub": "bathtubbasin",
}
_SEARCH_WORDS = frozenset(
    {"search", "find", "look", "check", "locate", "found", "take", "pick", "get", "grab", "explore"}
)
_PLACE_WORDS = frozenset({"put", "move", "place", "placing", "putting", "drop"})


@dataclass(frozen=True, slots=True)
class Block:
    """One procedure of the memory slot: its source goal (if stated) and lowercase lines."""

    goal: Goal | None
    lines: tuple[str, ...]

    @property
    def task_type(self) -> str:
        return self.goal.task_type if self.goal else ""


@dataclass(frozen=True, slots=True)
class MemoryHints:
    """Hints for one goal in one scene; empty fields when the memory says nothing that applies."""

    exact: tuple[str, ...] = ()  # receptacles named in memory that also exist here, best first
    kinds: tuple[str, ...] = ()  # receptacle kinds where the object kind was seen/taken, best first
    appliance: str | None = None  # appliance kind memory uses for this task's transformation
    other_appliance: str | None = None  # appliance memory uses for a different transformation
    type_match: bool = False  # some procedure is about the same task type
    covers_transform: bool = False  # ... and it states the transformation
    has_steps: bool = False
    lacks_transform: bool = False  # trusted steps that never transform (bad for transform tasks)
    lamp_kinds: tuple[str, ...] = ()  # receptacle kinds where memory used the goal's lamp

    @property
    def empty(self) -> bool:
        return not (
            self.exact or self.kinds or self.appliance or self.other_appliance or self.has_steps
        )


def _infer_goal(text: str) -> Goal | None:
    m = _FROM_TASK.search(text) or _TASK_COLON.search(text)
    if m:
        g = parse_goal(m.group(1))
        return g if g.task_type else None
    return find_goal(text)


# Small caps: keys carry the retrieved memory text (KBs), and a bigger cache only filled for
# thousands of episodes of an endless run (growth, not speed: a retrieval repeats within episodes).
MEMORY_CACHE = 256


@lru_cache(maxsize=MEMORY_CACHE)
def parse_memory(text: str) -> tuple[Block, ...]:
    """Split the memory slot into procedures (tolerant: no markers means one block)."""
    low = text.lower()
    starts = [m.start() for m in _BLOCK_START.finditer(low)] or [0]
    if starts[0] != 0 and low[: starts[0]].strip():
        starts.insert(0, 0)
    starts.append(len(low))
    blocks = []
    for a, b in itertools.pairwise(starts):
        chunk = low[a:b]
        if chunk.strip():
            lines = tuple(ln.strip() for ln in chunk.splitlines() if ln.strip())
            blocks.append(Block(_infer_goal(chunk), lines))
    return tuple(blocks)


def _kind_word(word: str, scene_kinds: frozenset[str]) -> str | None:
    word = _SYNONYMS.get(word, word)
    if word in scene_kinds:
        return word
    for cut in ("es", "s"):
        if word.endswith(cut) and word[: -len(cut)] in scene_kinds:
            return word[: -len(cut)]
    if word == "shelves" and "shelf" in scene_kinds:
        return "shelf"
    return None


def _appliances(line: str) -> list[tuple[str, str]]:
    out = []
    for m in _VERB_APPLIANCE.finditer(line):
        verb = _VERB_NORMAL.get(m.group(1), m.group(1))
        for w in _WORD.findall(m.group(2)):
            w = _SYNONYMS.get(w, w)
            if w in APPLIANCE_KINDS:
                out.append((verb, w))
                break
    return out


def _mentions(line: str, obj: str) -> bool:
    return bool(obj) and re.search(rf"\b{re.escape(obj)}(?:s|es)?\b", line) is not None


@lru_cache(maxsize=MEMORY_CACHE)  # per episode (memory, goal, scene); its plan is cached anyway
def hints_for(memory: str, goal: Goal, receptacles: tuple[str, ...]) -> MemoryHints:
    """Read the memory slot against this goal and this scene's receptacles."""
    if not memory.strip():
        return MemoryHints()
    scene = frozenset(receptacles)
    scene_kinds = frozenset(kind_of(r) for r in receptacles)
    obj, verb = goal.obj, goal.verb
    exact: list[str] = []
    strong: list[str] = []
    weak: list[str] = []
    appliance = other = None
    type_match = covers = has_steps = False
    lamp_at: list[str] = []
    for block in parse_memory(memory):
        here: str | None = None
        same_type = bool(block.task_type) and block.task_type == goal.task_type
        about_obj = block.goal is not None and block.goal.obj == obj
        block_verbs: set[str] = set()
        has_steps = has_steps or len(block.lines) > 1
        for line in block.lines:
            go = _GO.search(line)
            if go:
                here = kind_of(go.group(1))
            if goal.lamp and goal.lamp in line:
                if _USE.search(line) and here:
                    lamp_at.append(here)
                words = (_kind_word(w, scene_kinds) for w in _WORD.findall(line))
                lamp_at.extend(k for k in words if k and k != goal.lamp)
            # The "(from the task: ...)" header names the target, not an appliance it used.
            line_apps = [] if _FROM_TASK.search(line) else _appliances(line)
            for v, app in line_apps:
                block_verbs.add(v)
                if v == verb and appliance is None and (same_type or not block.task_type):
                    appliance = app
                elif v != verb and other is None:
                    other = app
            for pat in (_TAKE, _PICKED):
                for o, r in pat.findall(line):
                    if kind_of(o) == obj:
                        exact.append(r)
                        strong.append(kind_of(r))
            for pat in (_ON_THE, _OPEN_IN):
                for r, items in pat.findall(line):
                    if re.search(rf"\b{re.escape(obj)} \d+", items):
                        exact.append(r)
                        weak.append(kind_of(r))
            words = _WORD.findall(line)
            mentions = _mentions(line, obj)
            searchy = mentions or (about_obj and bool(_SEARCH_WORDS.intersection(words)))
            if searchy and not _PLACE_WORDS.intersection(words):
                used = {app for _, app in line_apps}  # "clean it in the sinkbasin" is not a place
                for w in words:
                    k = _kind_word(w, scene_kinds)
                    if k and k not in used:
                        (strong if "found" in words or "take" in words else weak).append(k)
        if same_type:
            type_match = True
            covers = covers or (verb is None or verb in block_verbs)
    ordered_kinds = tuple(dict.fromkeys(k for k in (*strong, *weak) if k and k != goal.target))
    ordered_exact = tuple(dict.fromkeys(r for r in exact if r in scene))
    return MemoryHints(
        exact=ordered_exact,
        kinds=ordered_kinds,
        appliance=appliance,
        other_appliance=other if verb else None,
        type_match=type_match,
        covers_transform=covers,
        has_steps=has_steps,
        lacks_transform=bool(verb) and has_steps and appliance is None and other is None,
        lamp_kinds=tuple(dict.fromkeys(lamp_at)),
    )
