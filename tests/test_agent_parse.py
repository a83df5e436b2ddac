"""Tolerant action parsing: labels, markdown, bare commands; nothing parsable is None."""

from __future__ import annotations

import pytest

from pipeline.envs.base import Action, EnvLanguage
from pipeline.envs.household.language import HouseholdLanguage

HOUSEHOLD = HouseholdLanguage()


def parse_answer(text: str) -> tuple[str, str | None]:
    action = HOUSEHOLD.parse(text)
    return action.thought, action.command


@pytest.mark.parametrize(
    ("text", "thought", "command"),
    [
        ("Think: find a mug\nAction: go to cabinet 1", "find a mug", "go to cabinet 1"),
        ("Thought: x\naction:  take  mug 1 from   cabinet 1.", "x", "take mug 1 from cabinet 1"),
        ("**Think:** y\n**Action:** `open drawer 2`", "y", "open drawer 2"),
        ("Action: look\nAction: inventory", "", "inventory"),
        ("> go to countertop 2", "", "go to countertop 2"),
        ("Think: I should look around.\nlook", "I should look around.", "look"),
    ],
)
def test_parses(text: str, thought: str, command: str) -> None:
    assert parse_answer(text) == (thought, command)


@pytest.mark.parametrize(
    "text", ["", "Think: hmm, not sure what to do", "I give up.", "Action:   "]
)
def test_unparsable_is_none(text: str) -> None:
    assert parse_answer(text)[1] is None


def test_generic_language_needs_a_label() -> None:
    # Without an env's command words a bare last line is prose, not a command.
    assert EnvLanguage().parse("Think: x\ngo to cabinet 1") == Action(thought="x", command=None)
    assert EnvLanguage().parse("Action: Search[Paris]").command == "Search[Paris]"
