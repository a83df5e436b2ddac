"""Goal lines and names: parse "Your task is to: ..." into a task type, object, target and lamp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# The transformation each task type needs and the appliance kinds that perform it (ALFWorld).
VERB_OF_TYPE = {
    "pick_clean_then_place_in_recep": "clean",
    "pick_heat_then_place_in_recep": "heat",
    "pick_cool_then_place_in_recep": "cool",
}
RIGHT_APPLIANCES = {
    "clean": ("sinkbasin", "bathtubbasin"),
    "heat": ("microwave",),
    "cool": ("fridge",),
}
# What a confused model reaches for instead; only kinds present in the scene are ever tried.
WRONG_APPLIANCES = {
    "clean": ("microwave", "fridge"),
    "heat": ("stoveburner", "toaster", "coffeemachine"),
    "cool": ("sinkbasin", "microwave"),
}
STATE_OF_VERB = {"clean": "clean", "heat": "hot", "cool": "cool"}
APPLIANCE_KINDS = frozenset(
    k for v in (*RIGHT_APPLIANCES.values(), *WRONG_APPLIANCES.values()) for k in v
)

_W = r"([a-z]+(?: [a-z]+)?)"  # object/receptacle kind words (ALFWorld kinds are one word)
_TARGET = r"(?:the )?([a-z]+(?: [a-z]+)?)"
_GOAL_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[int, int, int]], ...] = tuple(
    (re.compile(p), t, g)
    for p, t, g in (
        (
            rf"^look at (?:a |an |the |some )?{_W} under the {_W}\b",
            "look_at_obj_in_light",
            (1, 0, 2),
        ),
        (
            rf"^examine (?:a |an |the |some )?{_W} with the {_W}\b",
            "look_at_obj_in_light",
            (1, 0, 2),
        ),
        (rf"^put two {_W} (?:in|on|into|onto) {_TARGET}\b", "pick_two_obj_and_place", (1, 2, 0)),
        (
            rf"^find two {_W} and put them (?:in|on|into|onto) {_TARGET}\b",
            "pick_two_obj_and_place",
            (1, 2, 0),
        ),
        (
            rf"^put (?:a|an|some) clean {_W} (?:in|on) {_TARGET}\b",
            "pick_clean_then_place_in_recep",
            (1, 2, 0),
        ),
        (
            rf"^clean (?:a|an|some) {_W} and put it (?:in|on) {_TARGET}\b",
            "pick_clean_then_place_in_recep",
            (1, 2, 0),
        ),
        (
            rf"^put (?:a|an|some) hot {_W} (?:in|on) {_TARGET}\b",
            "pick_heat_then_place_in_recep",
            (1, 2, 0),
        ),
        (
            rf"^heat (?:a|an|some) {_W} and put it (?:in|on) {_TARGET}\b",
            "pick_heat_then_place_in_recep",
            (1, 2, 0),
        ),
        (
            rf"^put (?:a|an|some) (?:cool|cold) {_W} (?:in|on) {_TARGET}\b",
            "pick_cool_then_place_in_recep",
            (1, 2, 0),
        ),
        (
            rf"^cool (?:a|an|some) {_W} and put it (?:in|on) {_TARGET}\b",
            "pick_cool_then_place_in_recep",
            (1, 2, 0),
        ),
        (rf"^put (?:a|an|some) {_W} (?:in|on) {_TARGET}\b", "pick_and_place_simple", (1, 2, 0)),
    )
)
_TASK_LINE = re.compile(r"Your task is to:\s*(.+)")
_NUMBER = re.compile(r" \d+$")


@dataclass(frozen=True, slots=True)
class Goal:
    """What the task asks: its ALFWorld type, the object kind, the target kind and the lamp kind."""

    text: str
    task_type: str  # "" when the line could not be read
    obj: str
    target: str
    lamp: str

    @property
    def verb(self) -> str | None:
        return VERB_OF_TYPE.get(self.task_type)

    @property
    def count(self) -> int:
        return 2 if self.task_type == "pick_two_obj_and_place" else 1


# Per episode in flight: an endless split has more goals than any cap, and a cap of 4,096 (1,024)
# still filled in a soak after 3,000 (2,000) episodes per worker.
@lru_cache(maxsize=256)
def parse_goal(text: str) -> Goal:
    """Read a goal such as "put a clean mug in cabinet."; unknown wording gives task_type ""."""
    line = text.strip().lower().rstrip(".").strip()
    for pattern, task_type, (oi, ti, li) in _GOAL_PATTERNS:
        m = pattern.search(line)
        if m:
            obj = m.group(oi)
            target = m.group(ti) if ti else ""
            lamp = m.group(li) if li else ""
            return Goal(line, task_type, obj, target, lamp)
    return Goal(line, "", "", "", "")


def find_goal(text: str) -> Goal | None:
    """The goal of the last "Your task is to:" line in a text, if any."""
    hits = _TASK_LINE.findall(text)
    return parse_goal(hits[-1]) if hits else None


def kind_of(name: str) -> str:
    """ "cabinet 3" -> "cabinet"; names without a number are already kinds."""
    return _NUMBER.sub("", name.strip())


def split_list(text: str) -> list[str]:
    """ "a apple 1, a cup 2, and a mug 2" -> ["apple 1", "cup 2", "mug 2"]; "nothing" -> []."""
    text = text.strip().rstrip(".")
    if not text or text == "nothing":
        return []
    out = []
    for part in text.replace(" and ", ", ").split(","):
        part = part.strip()
        if part.startswith("and "):
            part = part[4:]
        if part.startswith("a "):
            part = part[2:]
        elif part.startswith("an "):
            part = part[3:]
        if part:
            out.append(part)
    return out
