"""The non-agent roles: script writing, reflection/adjustment, keywords, and a generic fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.envs.household.language import HouseholdLanguage
from pipeline.sim.goal import RIGHT_APPLIANCES, Goal, kind_of, parse_goal

_TASK = re.compile(r"^\s*Task:\s*(.+)$", re.M)
_PROC = re.compile(r"Procedure that was followed:\n(.*?)\n\s*Failed trajectory:", re.S)
_CMD = re.compile(r"^(?:>\s*|Action:\s*)(.+)$")
_TAKE = re.compile(r"^take ([a-z]+ \d+) from ([a-z]+ \d+)$")
_GO = re.compile(r"^go to ([a-z]+ \d+)$")
_TRANSFORM = re.compile(r"^(heat|cool|clean) ([a-z]+ \d+) with ([a-z]+ \d+)$")
_USE = re.compile(r"^use ([a-z]+ \d+)$")
_DONE = re.compile(r"You (heat|cool|clean) the [a-z]+ \d+ using the ([a-z]+ \d+)\.")
_WORDS = re.compile(r"[a-z]+")
# ALFWorld receptacle kinds (alfworld/gen/constants.py): reflection reads them out of free text.
RECEPTACLE_KINDS = frozenset(
    {
        *("armchair", "bathtubbasin", "bed", "cabinet", "cart", "coffeemachine", "coffeetable"),
        *("countertop", "desk", "diningtable", "drawer", "dresser", "fridge", "garbagecan"),
        *("handtowelholder", "laundryhamper", "microwave", "ottoman", "safe", "shelf", "sidetable"),
        *("sinkbasin", "sofa", "stoveburner", "toaster", "toilet", "toiletpaperhanger"),
        *("towelholder", "tvstand", "box"),
    }
)
_STOP = HouseholdLanguage.stop_words
_SKIP_LINE = frozenset({"heat", "cool", "clean", "put", "move", "place", "use"})
_TYPE_WORDS = {
    "pick_and_place_simple": ("place",),
    "look_at_obj_in_light": ("look", "light"),
    "pick_clean_then_place_in_recep": ("clean",),
    "pick_heat_then_place_in_recep": ("heat",),
    "pick_cool_then_place_in_recep": ("cool",),
    "pick_two_obj_and_place": ("two",),
}


@dataclass(slots=True)
class Digest:
    """The facts a writer needs from a trajectory: where it searched, found, transformed, placed."""

    searched: list[str] = field(default_factory=list)  # receptacle kinds visited before the take
    found: str | None = None  # receptacle kind the object was taken from
    appliance: str | None = None  # appliance kind that worked
    failed_appliances: list[str] = field(default_factory=list)
    lamp_place: str | None = None


def _pairs(text: str) -> list[tuple[str, str]]:
    """(command, observation) pairs from "> cmd" / "Action:" lines or "cmd -> obs" lines."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        m = _CMD.match(line)
        if m:
            cmd, _, obs = m.group(1).partition(" -> ")
            pairs.append((cmd.strip().lower(), obs.strip()))
        elif " -> " in line:
            cmd, _, obs = line.partition(" -> ")
            pairs.append((cmd.strip().lower(), obs.strip()))
        elif pairs and line:
            cmd, obs = pairs[-1]
            pairs[-1] = (cmd, (obs + " " + line).strip())
    return pairs


def digest(text: str, goal: Goal) -> Digest:
    """Summarise a rendered trajectory for the writer roles."""
    d = Digest()
    here = None
    for cmd, obs in _pairs(text):
        failed = obs.startswith("Nothing happens") or obs.startswith("Observation: Nothing happens")
        m = _GO.match(cmd)
        if m and not failed:
            here = m.group(1)
            if d.found is None:
                d.searched.append(kind_of(here))
            if goal.lamp and goal.lamp in obs and d.lamp_place is None:
                d.lamp_place = kind_of(here)
            continue
        m = _TAKE.match(cmd)
        if m and not failed and kind_of(m.group(1)) == goal.obj and d.found is None:
            d.found = kind_of(m.group(2))
            continue
        m = _TRANSFORM.match(cmd)
        if m:
            app = kind_of(m.group(3))
            if failed:
                d.failed_appliances.append(app)
            elif _DONE.search(obs) or d.appliance is None:
                d.appliance = app
            continue
        m = _USE.match(cmd)
        if m and not failed and here:
            d.lamp_place = kind_of(here)
    return d


def _places(d: Digest) -> list[str]:
    kinds = ([d.found] if d.found else []) + [k for k in d.searched if k != d.found]
    return list(dict.fromkeys(kinds))[:4]


def render_script(goal: Goal, d: Digest, note: str = "") -> str:
    """Numbered critical steps in kinds (no instance numbers), in the sim's own wording."""
    obj, target = goal.obj or "object", goal.target or "target"
    places = _places(d)
    steps = []
    if places and d.found:
        rest = f" (also check the {', '.join(places[1:])})" if len(places) > 1 else ""
        steps.append(f"Look for a {obj} at the {d.found}{rest}, opening closed ones.")
    elif places:
        steps.append(
            f"Search for a {obj} at the {', '.join(places)} and elsewhere, opening closed ones."
        )
    else:
        steps.append(f"Search the receptacles one by one for a {obj}, opening closed ones.")
    steps.append(f"Take the {obj} from where it is.")
    if goal.verb:
        app = d.appliance or RIGHT_APPLIANCES[goal.verb][0]
        steps.append(f"Go to the {app} and {goal.verb} the {obj} with the {app}.{note}")
    if goal.task_type == "look_at_obj_in_light":
        lamp = goal.lamp or "desklamp"
        where = f" (it is on a {d.lamp_place})" if d.lamp_place else ""
        steps.append(f"Holding the {obj}, go to the {lamp}{where} and use the {lamp}.")
    else:
        steps.append(
            f"Go to the {target}, open it if it is closed, and put the {obj} in/on the {target}."
        )
    if goal.count == 2:
        steps.append(f"Find a second {obj} the same way and put it in/on the {target} too.")
    return "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def _goal(user: str) -> Goal:
    m = _TASK.search(user)
    return parse_goal(m.group(1) if m else user.splitlines()[0] if user else "")


def write_script(user: str) -> str:
    """SCRIPT role: abstract the successful trajectory into critical steps."""
    goal = _goal(user)
    _, _, traj = user.partition("trajectory:")
    return render_script(goal, digest(traj, goal))


def _procedure_places(text: str) -> list[str]:
    """Receptacle kinds named in search lines (not in transformation or placement lines)."""
    out = []
    for line in text.lower().splitlines():
        words = _WORDS.findall(line)
        if _SKIP_LINE.intersection(words):
            continue
        for w in words:
            for k in (w, w[:-1], w[:-2]):
                if k in RECEPTACLE_KINDS:
                    out.append(k)
                    break
    return out


def adjust_script(user: str) -> str:
    """ADJUST role: rewrite the procedure: right task type, right appliance, places that worked."""
    goal = _goal(user)
    m = _PROC.search(user)
    procedure = m.group(1) if m else ""
    _, _, traj = user.partition("Failed trajectory:")
    d = digest(traj, goal)
    note = ""
    if goal.verb:
        right = RIGHT_APPLIANCES[goal.verb]
        wrong = [a for a in (*d.failed_appliances, *_procedure_places(procedure)) if a not in right]
        if d.appliance not in right:
            d.appliance = right[0]
        tried = [a for a in d.failed_appliances if a not in right]
        if tried:
            note = f" The {tried[0]} does not {goal.verb}."
        elif wrong and any(w in {"microwave", "fridge", "sinkbasin", "stoveburner"} for w in wrong):
            note = f" Do not skip this step; only the {d.appliance} can {goal.verb} it."
        else:
            note = " Do not skip this step."
    if d.found is None:
        # Not found: keep the procedure's places that the failed run did not already search in vain.
        searched = set(d.searched)
        d.searched = [
            k for k in _procedure_places(procedure) if k not in searched and k != goal.target
        ]
        d.searched += sorted(searched - {goal.target})
    return render_script(goal, d, note)


def keywords(user: str) -> str:
    """KEYWORDS role: task type words, object, target; comma-separated and lowercase."""
    goal = _goal(user)
    if goal.task_type:
        words = [*_TYPE_WORDS[goal.task_type], goal.obj, goal.lamp or goal.target]
    else:
        words = [w for w in _WORDS.findall(goal.text) if w not in _STOP][:4] or ["task"]
    return ", ".join(dict.fromkeys(w for w in words if w))


def generic(user: str) -> str:
    """Any other role: a short, harmless answer."""
    return "I can only help with household tasks." if user else "OK."
