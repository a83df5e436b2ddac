"""ALFWorld's logic files (PDDL domain + TextWorld grammar) and the two grammar versions.

The package ships the 2.1.2 logic (`move {o} to {r}`, arrival at the receptacle, `help`). The
2.1.1 logic of the ReAct-era papers differs in exactly three places, so it is derived here from
whichever 2.1.2 text is at hand (and back), instead of shipping a second copy of the files.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from pipeline.envs.household.text import GRAMMARS
from pipeline.errors import MempError

UNKNOWN_GOAL = "UNKNOWN GOAL"
_MOVE = ('template :: "move {o} to {r}";', 'template :: "put {o} in/on {r}";')
_MOVED = ("You move the {o.name} to the {r.name}.", "You put the {o.name} in/on the {r.name}.")
_ARRIVE = ("You arrive at {r.name}.", "You arrive at {lend.name}.")
_HELP_ACTION = re.compile(r"\naction help \{.*?\n\}\n", re.S)
_HELP_PDDL = re.compile(r"\(:action help\b.*?\n\)\n", re.S)
_TASK_LINE = re.compile(r'"rhs": "Your task is to: (?P<goal>.*?)"')


class LogicFileError(MempError, FileNotFoundError):
    pass


def grammar_version(grammar: str) -> str:
    """Which command grammar a .twl2 text is: '2.1.1' (put in/on) or '2.1.2' (move to)."""
    return "2.1.1" if _MOVE[1] in grammar else "2.1.2"


def convert(domain: str, grammar: str, version: str) -> tuple[str, str]:
    """The (PDDL domain, grammar) pair rewritten to grammar `version` (no-op if it already is)."""
    if version not in GRAMMARS:
        raise ValueError(f"unknown grammar {version!r}; known: {', '.join(GRAMMARS)}")
    if grammar_version(grammar) == version:
        return domain, grammar
    if version == "2.1.1":
        for pair in (_MOVE, _MOVED, _ARRIVE):
            grammar = grammar.replace(pair[0], pair[1])
        return _HELP_PDDL.sub("", domain), _HELP_ACTION.sub("\n", grammar)
    for pair in (_MOVE, _MOVED, _ARRIVE):
        grammar = grammar.replace(pair[1], pair[0])
    # A 2.1.1 text has no help action to restore; 2.1.2 games from the package keep theirs.
    return domain, grammar


def goal_text(grammar: str) -> str:
    """The goal a game's grammar was filled with (the text after 'Your task is to: ')."""
    match = _TASK_LINE.search(grammar)
    if match is None:
        raise ValueError("grammar has no 'Your task is to:' rule")
    return match.group("goal").removesuffix(".") + "."


def with_goal(grammar: str, goal: str) -> str:
    """A grammar whose task line says `goal` (ALFWorld fills 'UNKNOWN GOAL' the same way)."""
    line = f'"rhs": "Your task is to: {goal.removesuffix(".")}."'
    return _TASK_LINE.sub(lambda _: line, grammar, count=1)


def logic_paths(data_dir: Path | None) -> tuple[Path, Path]:
    """`<data_dir>/logic/alfred.{pddl,twl2}` when present, else the files the package ships."""
    if data_dir is not None:
        here = (data_dir / "logic" / "alfred.pddl", data_dir / "logic" / "alfred.twl2")
        if all(p.is_file() for p in here):
            return here
    # Located, not imported: importing alfworld.info sets $ALFWORLD_DATA to its default directory.
    spec = importlib.util.find_spec("alfworld")
    if spec is None or spec.origin is None:
        raise LogicFileError("the alfworld package is not installed (pip install 'memp[alfworld]')")
    shipped = Path(spec.origin).parent / "data"
    paths = (shipped / "alfred.pddl", shipped / "alfred.twl2")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise LogicFileError(f"ALFWorld logic file missing: {missing[0]}")
    return paths


def load_logic(data_dir: Path | None, version: str) -> tuple[str, str]:
    """(PDDL domain, grammar with 'UNKNOWN GOAL') for grammar `version`."""
    pddl, twl2 = logic_paths(data_dir)
    return convert(pddl.read_text(), twl2.read_text(), version)
