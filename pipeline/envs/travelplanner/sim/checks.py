"""Which plan checks the retrieved procedures state, read from their free text."""

from __future__ import annotations

import re
from functools import lru_cache

# check -> how a procedure states it (imperative wording; table headers never match these).
CHECK_PATTERNS: dict[str, re.Pattern[str]] = {
    "budget": re.compile(
        r"\b(?:add(?:ing)? up|sum(?:ming)? up|total(?:s)? (?:cost|price|spend)|"
        r"within (?:the )?budget|under (?:the )?budget|over (?:the )?budget|"
        r"stay(?:s)? below the budget|cheap(?:er|est))\b",
        re.I,
    ),
    "diversity": re.compile(
        r"\b(?:different (?:restaurant|attraction)s?|never (?:repeat|reuse)|"
        r"no (?:restaurant|attraction) twice|not repeat|without repeating|"
        r"distinct (?:restaurant|attraction)s?|repeated)\b",
        re.I,
    ),
    "days": re.compile(
        r"\b(?:(?:one|an) entry (?:for|per) (?:every|each) day|every day of the trip|"
        r"each day of the trip|all (?:\d+|the) days|no day (?:is )?(?:missing|left out)|"
        r"missing day|number of days)\b",
        re.I,
    ),
    "room": re.compile(
        r"\b(?:room type|entire home|private room|shared room|house rules?)\b", re.I
    ),
    "route": re.compile(
        r"\b(?:return(?:s|ing)? (?:home|to the (?:departure|origin|starting|home))|back to the "
        r"(?:departure|origin|start)|closed (?:route|loop|circle)|round trip|route that returns)\b",
        re.I,
    ),
    "transport": re.compile(
        r"\b(?:transportation (?:on|for) (?:every|each) travel day|every travel day|"
        r"each travel day|travel day without transportation)\b",
        re.I,
    ),
    "cuisine": re.compile(r"\bcuisines?\b", re.I),
    "transport_rule": re.compile(
        r"\b(?:allowed transportation|no flights?|no self-driving|avoid (?:flights|driving)|"
        r"forbids? (?:flights|driving)|transportation (?:rule|constraint))\b",
        re.I,
    ),
}
_TABLE_LINE = re.compile(r"\S\s{3,}\S")  # aligned columns: a tool result, not advice
_OBSERVATION = re.compile(
    r"^\s*(?:observation:|>|\[\d+\] description:|content:|task:|query:)|\(from the task:", re.I
)
_HEADER_WORDS = ("house_rules", "minimum nights", "Average Cost", "OriginCityName")


def _advice_lines(memory: str) -> list[str]:
    """Lines that read as procedure text: no tool tables, observations or notebook dumps."""
    out = []
    for line in memory.splitlines():
        if not line.strip() or _TABLE_LINE.search(line) or _OBSERVATION.search(line):
            continue
        if any(w in line for w in _HEADER_WORDS):
            continue
        out.append(line)
    return out


@lru_cache(maxsize=2048)
def stated_checks(memory: str) -> frozenset[str]:
    """The checks some retrieved procedure states (empty when memory says nothing about them)."""
    lines = _advice_lines(memory)
    return frozenset(
        name for name, pat in CHECK_PATTERNS.items() if any(pat.search(ln) for ln in lines)
    )
