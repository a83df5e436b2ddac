"""Feedback strings, worded as ALFWorld's TextWorld grammar (alfred.twl2) prints them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

# ALFWorld's command grammar versions: 2.1.2 (`move X to Y`, `help`) and 2.1.1 (`put X in/on Y`).
Grammar = Literal["2.1.2", "2.1.1"]
GRAMMARS: tuple[str, ...] = get_args(Grammar)
NOTHING = "Nothing happens."
WELCOME = "-= Welcome to TextWorld, ALFRED! =-"
# Grammar 2.1.2's help text, as TextWorld prints it (the grammar's leading newline is dropped).
HELP = (
    "Available commands:\n"
    "  look:                             look around your current location\n"
    "  inventory:                        check your current inventory\n"
    "  go to (receptacle):               move to a receptacle\n"
    "  open (receptacle):                open a receptacle\n"
    "  close (receptacle):               close a receptacle\n"
    "  take (object) from (receptacle):  take an object from a receptacle\n"
    "  move (object) to (receptacle):  place an object in or on a receptacle\n"
    "  examine (something):              examine a receptacle or an object\n"
    "  use (object):                     use an object\n"
    "  heat (object) with (receptacle):  heat an object using a receptacle\n"
    "  clean (object) with (receptacle): clean an object using a receptacle\n"
    "  cool (object) with (receptacle):  cool an object using a receptacle\n"
    "  slice (object) with (object):     slice an object using a sharp object\n"
)


def bare_list(names: Sequence[str]) -> str:
    """TextWorld's list display: ", " between items, ", and " before the last (even of two)."""
    if not names:
        return "nothing"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", and " + names[-1]


def item_list(names: Sequence[str]) -> str:
    """A bare_list with the article "a" before every item (TextWorld never says "an")."""
    return bare_list(["a " + n for n in names])


def receptacle_view(name: str, openable: bool, opened: bool, contents: Sequence[str]) -> str:
    """What examining (or arriving at, or opening) a receptacle shows."""
    if openable:
        if opened:
            return f"The {name} is open. In it, you see {item_list(contents)}."
        return f"The {name} is closed."
    return f"On the {name}, you see {item_list(contents)}."


def arrival(grammar: str, name: str, loc: int, view: str) -> str:
    # 2.1.1 names the navigation point, not the receptacle; 2.1.2 names the receptacle.
    if grammar == "2.1.1":
        return f"You arrive at loc {loc}. {view}"
    return f"You arrive at {name}. {view}"


def opened(name: str, view: str) -> str:
    return f"You open the {name}. {view}"


def closed(name: str) -> str:
    return f"You close the {name}."


def picked(obj: str, recep: str) -> str:
    return f"You pick up the {obj} from the {recep}."


def placed(grammar: str, obj: str, recep: str) -> str:
    if grammar == "2.1.1":
        return f"You put the {obj} in/on the {recep}."
    return f"You move the {obj} to the {recep}."


def transformed(verb: str, obj: str, recep: str) -> str:
    return f"You {verb} the {obj} using the {recep}."


def turned_on(lamp: str) -> str:
    return f"You turn on the {lamp}."


def examine_object(name: str, clean: bool, hot: bool, cool: bool) -> str:
    """Held-object description; the precedence follows the grammar's rule order."""
    if clean and hot:
        return f"This is a hot and clean {name}."
    if clean and cool:
        return f"This is a cool and clean {name}."
    if hot:
        return f"This is a hot {name}."
    if clean:
        return f"This is a clean {name}."
    if cool:
        return f"This is a cold {name}."
    return f"There's nothing special about {name}."


def inventory(held: str | None) -> str:
    if held is None:
        return "You are not carrying anything."
    return f"You are carrying: a {held}."


def look_around(receptacles: Sequence[str]) -> str:
    return (
        "You are in the middle of a room. Looking quickly around you, "
        f"you see {item_list(receptacles)}."
    )


def look_facing(receps: Sequence[str], floor: Sequence[str]) -> str:
    """`look` at a spot: every receptacle standing there, then what TextWorld counts as beside."""
    return f"You are facing the {bare_list(receps)}. Next to it, you see {item_list(floor)}."


def intro(receptacles: Sequence[str], goal: str) -> str:
    """The opening observation: banner, the room overview, the goal line."""
    return f"{WELCOME}\n\n{look_around(receptacles)}\n\nYour task is to: {goal}"
