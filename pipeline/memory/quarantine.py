"""Instruction-like text in procedures: procedure content is data, and a match quarantines it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.types import Procedure

# Phrases that address the reader as a model rather than describe a task; case-insensitive regexes.
DEFAULT_PATTERNS: tuple[str, ...] = (
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|system)\b"
    r".{0,20}\b(instructions?|prompts?|rules?|messages?|directions?)\b",
    r"\bnew (system )?instructions?\s*:",
    r"\byou are now\b",
    r"\b(system|developer) (prompt|message)\b",
    r"<\|?\s*(system|im_start|im_end)\b",
    r"\b(reveal|print|send|leak)\b.{0,40}\b(api[ _-]?key|password|secret|credentials?)\b",
    r"\bdo not follow (the|your)\b",
)


class InjectionDetector:
    """Finds the first configured pattern in a text; compiled once per process."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_PATTERNS) -> None:
        self.patterns = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns]

    def find(self, text: str) -> str | None:
        """The matched excerpt (<= 80 chars), or None when the text looks like plain data."""
        for pattern in self.patterns:
            match = pattern.search(text)
            if match:
                return " ".join(match.group(0).split())[:80]
        return None

    def check(self, proc: Procedure) -> str | None:
        """A quarantine reason naming the field and the match, or None when nothing matches."""
        fields = {
            "task text": proc.task_text,
            "script": proc.script or "",
            "trajectory": "\n".join(proc.trajectory),
            "keywords": ", ".join(proc.keywords),
        }
        for name, text in fields.items():
            found = self.find(text)
            if found:
                return f"instruction-like {name}: {found!r}"
        return None

    def quarantined(self, proc: Procedure) -> Procedure:
        """`proc`, or a quarantined copy (never retrieved) when its content matches a pattern."""
        reason = self.check(proc)
        if reason is None:
            return proc
        return proc.model_copy(update={"status": "quarantined", "quarantine_reason": reason})
