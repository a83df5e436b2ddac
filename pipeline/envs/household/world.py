"""The text engine: parses one command, applies ALFWorld's preconditions and effects, answers."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.envs.household import catalog, text
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Scene

HELD = -1  # object location: in the agent's hand
ROOM = -1  # agent location: the middle of the room, before the first "go to"
CLEAN, HOT, COOL = 1, 2, 4

Outcome = tuple[str, bool]  # (observation, valid)


class _Static:
    """Everything about an episode that never changes; shared by a world and its clones."""

    def __init__(self, scene: Scene, goal: Goal, grammar: str) -> None:
        lay = scene.layout
        self.grammar = grammar
        self.goal = goal
        self.goal_text = goal.text()
        self.r_names = lay.names
        self.r_kinds = lay.kinds
        self.r_locs = lay.locs
        self.r_index = {n: i for i, n in enumerate(lay.names)}
        self.r_openable = tuple(k in catalog.OPENABLE for k in lay.kinds)
        self.r_holds = tuple(catalog.CAN_HOLD.get(k, frozenset()) for k in lay.kinds)
        names = list(scene.obj_names)
        kinds = list(scene.obj_kinds)
        self.lamp = len(names) if lay.lamp else -1  # the lamp is the last object id
        self.lamp_at = lay.lamp_at
        self.floor_lamp = lay.lamp_kind == "floorlamp"
        if lay.lamp:
            names.append(lay.lamp)
            kinds.append(str(lay.lamp_kind))
        self.o_names = tuple(names)
        self.o_kinds = tuple(kinds)
        self.o_index = {n: i for i, n in enumerate(names)}
        self.goal_objs = tuple(i for i, k in enumerate(kinds) if k == goal.obj)
        # State bits the placed object must carry: none for plain placing.
        self.need = {"clean": CLEAN, "heat": HOT, "cool": COOL}.get(goal.transform or "", 0)


class World:
    """Mutable episode state over a shared `_Static`; `clone()` is cheap for look-ahead search."""

    __slots__ = ("contents", "flags", "held", "lamp_on", "loc", "opened", "s")

    def __init__(self, scene: Scene, goal: Goal, grammar: str = "2.1.2") -> None:
        self.s = _Static(scene, goal, grammar)
        self.loc = ROOM
        self.held = HELD
        self.lamp_on = False
        self.opened = [False] * len(self.s.r_names)
        self.flags = [0] * len(self.s.o_names)
        self.contents: list[list[int]] = [[] for _ in self.s.r_names]
        for obj, recep in enumerate(scene.obj_start):
            self.contents[recep].append(obj)
        if self.s.lamp >= 0 and not self.s.floor_lamp:
            self.contents[self.s.lamp_at].append(self.s.lamp)

    def clone(self) -> World:
        twin = object.__new__(World)
        twin.s = self.s
        twin.loc, twin.held, twin.lamp_on = self.loc, self.held, self.lamp_on
        twin.opened = self.opened[:]
        twin.flags = self.flags[:]
        twin.contents = [c[:] for c in self.contents]
        return twin

    def intro(self) -> str:
        return text.intro(self.s.r_names, self.s.goal_text)

    # -- commands ---------------------------------------------------------------------------

    def step(self, command: str) -> Outcome:
        """Apply one command exactly as typed; anything inapplicable is "Nothing happens."."""
        head, sep, rest = command.partition(" ")
        if not sep:
            if head == "look":
                return self._look(), True
            if head == "inventory":
                held = None if self.held == HELD else self.s.o_names[self.held]
                return text.inventory(held), True
            return text.NOTHING, False
        handler = _HANDLERS.get(head)
        if handler is None:
            return text.NOTHING, False
        return handler(self, rest)

    def _view(self, r: int) -> str:
        names = self.s.o_names
        return text.receptacle_view(
            self.s.r_names[r],
            self.s.r_openable[r],
            self.opened[r],
            [names[o] for o in self.contents[r]],
        )

    def _look(self) -> str:
        if self.loc == ROOM:
            return text.look_around(self.s.r_names)
        floor = [self.s.o_names[self.s.lamp]] if self._floor_lamp_here() else []
        return text.look_facing(self.s.r_names[self.loc], floor)

    def _floor_lamp_here(self) -> bool:
        return self.s.floor_lamp and self.s.lamp_at == self.loc

    def _go(self, rest: str) -> Outcome:
        if not rest.startswith("to "):
            return text.NOTHING, False
        r = self.s.r_index.get(rest[3:])
        if r is None:
            return text.NOTHING, False
        self.loc = r
        s = self.s
        return text.arrival(s.grammar, s.r_names[r], s.r_locs[r], self._view(r)), True

    def _here(self, name: str) -> int:
        """Index of the named receptacle when the agent stands at it, else -1."""
        r = self.s.r_index.get(name, -1)
        return r if r == self.loc else -1

    def _open(self, rest: str) -> Outcome:
        r = self._here(rest)
        if r < 0 or not self.s.r_openable[r] or self.opened[r]:
            return text.NOTHING, False
        self.opened[r] = True
        return text.opened(rest, self._view(r)), True

    def _close(self, rest: str) -> Outcome:
        r = self._here(rest)
        if r < 0 or not self.s.r_openable[r] or not self.opened[r]:
            return text.NOTHING, False
        self.opened[r] = False
        return text.closed(rest), True

    def _reachable(self, r: int) -> bool:
        return not self.s.r_openable[r] or self.opened[r]

    def _take(self, rest: str) -> Outcome:
        o_name, sep, r_name = rest.partition(" from ")
        r = self._here(r_name)
        o = self.s.o_index.get(o_name, -1)
        if not sep or r < 0 or o < 0 or o == self.s.lamp or self.held != HELD:
            return text.NOTHING, False
        if not self._reachable(r) or o not in self.contents[r]:
            return text.NOTHING, False
        self.contents[r].remove(o)
        self.held = o
        return text.picked(o_name, r_name), True

    def _place(self, o_name: str, r_name: str) -> Outcome:
        r = self._here(r_name)
        o = self.s.o_index.get(o_name, -1)
        if r < 0 or o < 0 or o != self.held or not self._reachable(r):
            return text.NOTHING, False
        if self.s.o_kinds[o] not in self.s.r_holds[r]:
            return text.NOTHING, False
        self.contents[r].append(o)
        self.held = HELD
        return text.placed(self.s.grammar, o_name, r_name), True

    def _move(self, rest: str) -> Outcome:
        # "move X to Y" exists only in grammar 2.1.2; 2.1.1 knows just "put".
        o_name, sep, r_name = rest.partition(" to ")
        if not sep or self.s.grammar != "2.1.2":
            return text.NOTHING, False
        return self._place(o_name, r_name)

    def _put(self, rest: str) -> Outcome:
        for sep in (" in/on ", " in ", " on "):
            o_name, found, r_name = rest.partition(sep)
            if found:
                return self._place(o_name, r_name)
        return text.NOTHING, False

    def _transform(self, verb: str, rest: str) -> Outcome:
        o_name, sep, r_name = rest.partition(" with ")
        r = self._here(r_name)
        o = self.s.o_index.get(o_name, -1)
        if not sep or r < 0 or o < 0 or o != self.held:
            return text.NOTHING, False
        if self.s.r_kinds[r] != catalog.VERB_APPLIANCE[verb]:
            return text.NOTHING, False
        if self.s.o_kinds[o] not in catalog.VERB_ABLE[verb]:
            return text.NOTHING, False
        if verb == "clean":
            self.flags[o] |= CLEAN
        elif verb == "heat":
            self.flags[o] = (self.flags[o] | HOT) & ~COOL
        else:
            self.flags[o] = (self.flags[o] | COOL) & ~HOT
        return text.transformed(verb, o_name, r_name), True

    def _use(self, rest: str) -> Outcome:
        lamp = self.s.lamp
        if lamp < 0 or rest != self.s.o_names[lamp] or self.loc != self.s.lamp_at:
            return text.NOTHING, False
        self.lamp_on = True  # ALFWorld's isToggled is sticky, and its feedback always says "on"
        return text.turned_on(rest), True

    def _examine(self, rest: str) -> Outcome:
        r = self._here(rest)
        if r >= 0:
            return self._view(r), True
        o = self.s.o_index.get(rest, -1)
        if o < 0 or o != self.held:
            return text.NOTHING, False
        f = self.flags[o]
        return text.examine_object(rest, bool(f & CLEAN), bool(f & HOT), bool(f & COOL)), True

    # -- goal and admissible commands ---------------------------------------------------------

    def won(self) -> bool:
        """ALFWorld's PDDL goal condition, evaluated on the current state."""
        s = self.s
        if s.goal.task_type == "look_at_obj_in_light":
            return (
                self.held in s.goal_objs
                and self.lamp_on
                and self.loc == s.lamp_at
                and s.o_kinds[s.lamp] == s.goal.lamp
            )
        placed = 0
        for r, items in enumerate(self.contents):
            if s.r_kinds[r] != s.goal.recep:
                continue
            for o in items:
                if o in s.goal_objs and (self.flags[o] & s.need) == s.need:
                    placed += 1
        return placed >= (2 if s.goal.task_type == "pick_two_obj_and_place" else 1)

    def admissible(self) -> list[str]:
        """Every command that would not answer "Nothing happens." in the current state."""
        s = self.s
        cmds = ["look", "inventory"] + [f"go to {n}" for n in s.r_names]
        r = self.loc
        held = self.held
        if held != HELD:
            cmds.append(f"examine {s.o_names[held]}")
        if r != ROOM:
            name = s.r_names[r]
            cmds.append(f"examine {name}")
            if s.r_openable[r]:
                cmds.append(f"close {name}" if self.opened[r] else f"open {name}")
            if s.lamp >= 0 and s.lamp_at == r:
                cmds.append(f"use {s.o_names[s.lamp]}")
            if self._reachable(r) and held == HELD:
                cmds += [
                    f"take {s.o_names[o]} from {name}" for o in self.contents[r] if o != s.lamp
                ]
            if held != HELD:
                o_name, kind = s.o_names[held], s.o_kinds[held]
                if self._reachable(r) and kind in s.r_holds[r]:
                    if s.grammar == "2.1.2":
                        cmds.append(f"move {o_name} to {name}")
                    else:
                        cmds.append(f"put {o_name} in/on {name}")
                for verb, appliance in _VERB_APPLIANCE:
                    if s.r_kinds[r] == appliance and kind in catalog.VERB_ABLE[verb]:
                        cmds.append(f"{verb} {o_name} with {name}")
        return sorted(cmds)


_VERB_APPLIANCE = tuple(catalog.VERB_APPLIANCE.items())

_HANDLERS: dict[str, Callable[[World, str], Outcome]] = {
    "go": World._go,
    "open": World._open,
    "close": World._close,
    "take": World._take,
    "move": World._move,
    "put": World._put,
    "examine": World._examine,
    "use": World._use,
    "heat": lambda w, rest: w._transform("heat", rest),
    "cool": lambda w, rest: w._transform("cool", rest),
    "clean": lambda w, rest: w._transform("clean", rest),
}
