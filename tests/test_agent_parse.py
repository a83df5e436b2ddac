"""Tolerant action parsing: labels, markdown, bare commands; nothing parsable is None."""

from __future__ import annotations

import pytest

from pipeline.agent import parse_answer


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
