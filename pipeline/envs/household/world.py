"""The text engine: parses one command, applies ALFWorld's preconditions and effects, answers."""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable

from pipeline.envs.household import catalog, text
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Scene

HELD = -1  # object location: in the agent's hand
ROOM = -1  # agent location: the middle of the room, before the first "go to"
CLEAN, HOT, COOL = 1, 2, 4

Outcome = tuple[str, bool]  # (observation, valid)


def sort_key(name: str) -> tuple[str, int]:
    """ALFWorld's list order: kind name, then instance number descending."""
    kind, _, number = name.rpartition(" ")
    return kind, -int(number)


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
        self.r_sorted = tuple(sorted(lay.names, key=sort_key))
        # Receptacles standing at each location, in list order.
        at: dict[int, list[int]] = {}
        for r in sorted(range(len(lay.names)), key=lambda i: sort_key(lay.names[i])):
            at.setdefault(lay.locs[r], []).append(r)
        self.at_loc = {loc: tuple(rs) for loc, rs in at.items()}
        # The "go to" commands offered from each spot (all but the spot's own receptacles).
        self.go_from = {
            loc: [f"go to {n}" for i, n in enumerate(lay.names) if lay.locs[i] != loc]
            for loc in (ROOM, *self.at_loc)
        }
        names = list(scene.obj_names)
        kinds = list(scene.obj_kinds)
        self.lamp = len(names) if lay.lamp else -1  # the lamp is the last object id
        self.lamp_at = lay.lamp_at
        if lay.lamp:
            names.append(lay.lamp)
            kinds.append(str(lay.lamp_kind))
        self.o_names = tuple(names)
        self.o_kinds = tuple(kinds)
        self.o_index = {n: i for i, n in enumerate(names)}
        order = sorted(range(len(names)), key=lambda i: sort_key(names[i]))
        self.o_rank = [0] * len(names)
        for rank, o in enumerate(order):
            self.o_rank[o] = rank
        self.goal_objs = frozenset(i for i, k in enumerate(kinds) if k == goal.obj)
        # State bits the placed object must carry: none for plain placing.
        self.need = {"clean": CLEAN, "heat": HOT, "cool": COOL}.get(goal.transform or "", 0)


class World:
    """Mutable episode state over a shared `_Static`; `clone()` is cheap for look-ahead search."""

    __slots__ = ("contents", "flags", "held", "lamp_on", "loc", "opened", "s", "taken_from")

    def __init__(self, scene: Scene, goal: Goal, grammar: str = "2.1.2") -> None:
        self.s = _Static(scene, goal, grammar)
        self.loc = ROOM
        self.held = HELD
        self.lamp_on = False
        self.opened = [False] * len(self.s.r_names)
        self.flags = [0] * len(self.s.o_names)
        # Per object, a bit per receptacle it was taken from and not put back in: TextWorld keeps
        # that not_inreceptacle fact, and its `look` lists such objects as "next to" a receptacle.
        self.taken_from = [0] * len(self.s.o_names)
        self.contents: list[list[int]] = [[] for _ in self.s.r_names]
        rank = self.s.o_rank.__getitem__
        starts = list(scene.obj_start)
        if self.s.lamp >= 0:
            starts.append(self.s.lamp_at)
        for obj, recep in enumerate(starts):
            insort(self.contents[recep], obj, key=rank)

    def clone(self) -> World:
        twin = object.__new__(World)
        twin.s = self.s
        twin.loc, twin.held, twin.lamp_on = self.loc, self.held, self.lamp_on
        twin.opened = self.opened[:]
        twin.flags = self.flags[:]
        twin.taken_from = self.taken_from[:]
        twin.contents = [c[:] for c in self.contents]
        return twin

    def intro(self) -> str:
        return text.intro(self.s.r_sorted, self.s.goal_text)

    # -- commands ---------------------------------------------------------------------------

    def step(self, command: str) -> Outcome:
        """Apply one command (surrounding whitespace stripped, as TextWorld does); else exact."""
        command = command.strip()
        head, sep, rest = command.partition(" ")
        if not sep:
            if head == "look":
                return self._look(), True
            if head == "inventory":
                held = None if self.held == HELD else self.s.o_names[self.held]
                return text.inventory(held), True
            if head == "help" and self.s.grammar == "2.1.2":
                return text.HELP, True
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
        s = self.s
        if self.loc == ROOM:
            return text.look_around(())  # the start spot has no receptacle
        here = s.at_loc[self.loc]
        floor = []
        for o in sorted((o for r in here for o in self.contents[r]), key=s.o_rank.__getitem__):
            floor += [s.o_names[o] for r in here if self.taken_from[o] >> r & 1]
        return text.look_facing([s.r_names[r] for r in here], floor)

    def _go(self, rest: str) -> Outcome:
        if not rest.startswith("to "):
            return text.NOTHING, False
        r = self.s.r_index.get(rest[3:])
        if r is None or self.s.r_locs[r] == self.loc:
            return text.NOTHING, False
        s = self.s
        self.loc = s.r_locs[r]
        return text.arrival(s.grammar, s.r_names[r], self.loc, self._view(r)), True

    def _here(self, name: str) -> int:
        """Index of the named receptacle when it stands where the agent is, else -1."""
        r = self.s.r_index.get(name, -1)
        return r if r >= 0 and self.s.r_locs[r] == self.loc else -1

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
        self.taken_from[o] |= 1 << r
        self.held = o
        return text.picked(o_name, r_name), True

    def _place(self, o_name: str, r_name: str) -> Outcome:
        r = self._here(r_name)
        o = self.s.o_index.get(o_name, -1)
        if r < 0 or o < 0 or o != self.held or not self._reachable(r):
            return text.NOTHING, False
        if self.s.o_kinds[o] not in self.s.r_holds[r]:
            return text.NOTHING, False
        insort(self.contents[r], o, key=self.s.o_rank.__getitem__)
        self.taken_from[o] &= ~(1 << r)
        self.held = HELD
        return text.placed(self.s.grammar, o_name, r_name), True

    def _move(self, rest: str) -> Outcome:
        # Grammar 2.1.2 places with "move X to Y" only; 2.1.1 with the literal "put X in/on Y".
        o_name, sep, r_name = rest.partition(" to ")
        if not sep or self.s.grammar != "2.1.2":
            return text.NOTHING, False
        return self._place(o_name, r_name)

    def _put(self, rest: str) -> Outcome:
        o_name, sep, r_name = rest.partition(" in/on ")
        if not sep or self.s.grammar != "2.1.1":
            return text.NOTHING, False
        return self._place(o_name, r_name)

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

    def _lamp_here(self) -> bool:
        s = self.s
        return s.lamp >= 0 and s.r_locs[s.lamp_at] == self.loc

    def _use(self, rest: str) -> Outcome:
        if not self._lamp_here() or rest != self.s.o_names[self.s.lamp]:
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
                and self._lamp_here()
                and s.o_kinds[s.lamp] == s.goal.lamp
            )
        # Two distinct objects must share one receptacle instance for pick_two.
        needed = 2 if s.goal.task_type == "pick_two_obj_and_place" else 1
        for r, items in enumerate(self.contents):
            if s.r_kinds[r] != s.goal.recep:
                continue
            ready = [o for o in items if o in s.goal_objs and self.flags[o] & s.need == s.need]
            if len(ready) >= needed:
                return True
        return False

    def admissible(self) -> list[str]:
        """Every command that would not answer "Nothing happens." in the current state."""
        s = self.s
        here = s.at_loc.get(self.loc, ())
        cmds = ["look", "inventory", *s.go_from[self.loc]]
        if s.grammar == "2.1.2":
            cmds.append("help")
        held = self.held
        if held != HELD:
            cmds.append(f"examine {s.o_names[held]}")
        if here and self._lamp_here():
            cmds.append(f"use {s.o_names[s.lamp]}")
        for r in here:
            name = s.r_names[r]
            cmds.append(f"examine {name}")
            if s.r_openable[r]:
                cmds.append(f"close {name}" if self.opened[r] else f"open {name}")
            reachable = self._reachable(r)
            if reachable and held == HELD:
                cmds += [
                    f"take {s.o_names[o]} from {name}" for o in self.contents[r] if o != s.lamp
                ]
            if held != HELD:
                o_name, kind = s.o_names[held], s.o_kinds[held]
                if reachable and kind in s.r_holds[r]:
                    if s.grammar == "2.1.2":
                        cmds.append(f"move {o_name} to {name}")
                    else:
                        cmds.append(f"put {o_name} in/on {name}")
                for verb, appliance in _VERB_APPLIANCE:
                    if s.r_kinds[r] == appliance and kind in catalog.VERB_ABLE[verb]:
                        cmds.append(f"{verb} {o_name} with {name}")
        return sorted(cmds)  # no duplicates: each command names a distinct (verb, arguments)


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
