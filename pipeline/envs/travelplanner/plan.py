"""The TravelPlanner plan: a per-day list, parsed tolerantly from a model's answer."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

FIELDS = (
    "current_city",
    "transportation",
    "breakfast",
    "attraction",
    "lunch",
    "dinner",
    "accommodation",
)
EMPTY = ("", "-")
# The official plans fill days after the return with this sentence instead of leaving them out.
PLACEHOLDER = "You don't need to fill in the information for this or later days."


class PlanDay(BaseModel):
    """One day of a plan. None = the answer had no such field (absent, unlike "-")."""

    model_config = ConfigDict(extra="forbid")

    days: int
    current_city: str | None = None
    transportation: str | None = None
    breakfast: str | None = None
    attraction: str | None = None
    lunch: str | None = None
    dinner: str | None = None
    accommodation: str | None = None

    def filled(self, field: str) -> bool:
        """The field holds information (not absent, empty or '-')."""
        value = getattr(self, field)
        return value is not None and value.strip() not in EMPTY


# Key spellings seen in model answers, folded to the plan's field names.
_KEY_ALIASES = {
    "day": "days",
    "days": "days",
    "current_city": "current_city",
    "currentcity": "current_city",
    "city": "current_city",
    "transportation": "transportation",
    "transport": "transportation",
    "breakfast": "breakfast",
    "attraction": "attraction",
    "attractions": "attraction",
    "lunch": "lunch",
    "dinner": "dinner",
    "accommodation": "accommodation",
    "accommodations": "accommodation",
    "hotel": "accommodation",
}
_MAX_STARTS = 64  # bounds the scan on long garbage answers
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.S)
_DAY_HEAD = re.compile(r"^[\s>#*_-]*day\s*(\d+)\b[\s*_]*:?[\s*_]*(.*)$", re.I)
_FIELD_LINE = re.compile(r"^[\s>#*_-]*([A-Za-z][A-Za-z _]*?)[\s*_]*:[\s*_]*(.*)$")
_FINISH = re.compile(r"\bFinish\s*\[(.*)\]\s*$", re.S)


def _fold_key(key: str) -> str | None:
    folded = re.sub(r"[\s\-]+", "_", key.strip().lower())
    return _KEY_ALIASES.get(folded) or _KEY_ALIASES.get(folded.replace("_", ""))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a list of attractions instead of a ';'-joined string
        return ";".join(_as_text(v) for v in value)
    return str(value).strip()


def _day_number(value: Any, default: int) -> int:
    m = re.search(r"\d+", str(value)) if value is not None else None
    return int(m.group()) if m else default


def _from_records(records: Any) -> list[PlanDay] | None:
    if isinstance(records, dict):
        inner = next((v for k, v in records.items() if str(k).lower() == "plan"), None)
        records = inner if isinstance(inner, list) else None
    if not isinstance(records, list) or not records:
        return None
    days: list[PlanDay] = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            return None
        fields: dict[str, Any] = {}
        for key, value in rec.items():
            name = _fold_key(str(key))
            if name is not None and name not in fields:
                fields[name] = value
        if not fields:
            return None
        number = _day_number(fields.pop("days", None), i)
        days.append(PlanDay(days=number, **{k: _as_text(v) for k, v in fields.items()}))
    return days


def _bracketed(text: str) -> list[str]:
    """Candidate literal lists: every '[' ... ']' span with balanced brackets, outermost first."""
    out: list[str] = []
    starts = [i for i, c in enumerate(text) if c == "["][:_MAX_STARTS]
    for start in starts:
        depth = 0
        quote: str | None = None
        escaped = False
        for j in range(start, len(text)):
            c = text[j]
            if quote:
                if escaped:
                    escaped = False
                elif c == "\\":
                    escaped = True
                elif c == quote:
                    quote = None
            elif c in "\"'" and (c == '"' or text[j - 1 : j] in ("", "{", " ", ":", ",", "[")):
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    out.append(text[start : j + 1])
                    break
        if len(out) >= 8:
            break
    return out


def _literal(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    try:
        return ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _from_literal(text: str) -> list[PlanDay] | None:
    stripped = text.strip()
    if stripped.startswith("{"):
        parsed = _from_records(_literal(stripped))
        if parsed:
            return parsed
    for candidate in _bracketed(text):
        if "{" not in candidate:
            continue
        parsed = _from_records(_literal(candidate))
        if parsed:
            return parsed
    return None


def _value(raw: str) -> str:
    """A text-form field value; a ']' closing a Finish[...] wrapper is not part of it."""
    value = raw.strip()
    return value[:-1].rstrip() if value.endswith("]") and "[" not in value else value


def _from_day_text(text: str) -> list[PlanDay] | None:
    days: list[dict[str, Any]] = []
    last: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        head = _DAY_HEAD.match(line)
        if head:
            days.append({"days": int(head.group(1))})
            last = None
            rest = head.group(2).strip()
            field = _FIELD_LINE.match(rest) if rest else None
            if field and _fold_key(field.group(1)) in FIELDS:
                last = _fold_key(field.group(1))
                days[-1][last] = _value(field.group(2))
            continue
        if not days:
            continue
        field = _FIELD_LINE.match(line)
        name = _fold_key(field.group(1)) if field else None
        if field and name in FIELDS:
            days[-1][name] = _value(field.group(2))
            last = name
        elif last == "attraction" and days[-1].get(last) is not None:
            # Attractions listed one per line under "Attraction:".
            item = line.lstrip("-*• ").strip()
            joined = days[-1][last].rstrip(";")
            days[-1][last] = f"{joined};{item}" if joined not in EMPTY else item
    if not days or not any(len(d) > 1 for d in days):
        return None
    return [PlanDay(**d) for d in days]


def parse_plan(text: str | None) -> list[PlanDay] | None:
    """The plan in an answer (JSON list, Python literal list, or "Day 1:" text); None if none."""
    if not text or not text.strip():
        return None
    bodies = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for body in bodies:
        m = _FINISH.search(body)
        if m:
            body = m.group(1)
        plan = _from_literal(body) or _from_day_text(body)
        if plan:
            return plan
    return None


def render_plan(plan: list[PlanDay]) -> str:
    """The plan in the official "Day 1: / Current City: ..." text form."""
    labels = {
        "current_city": "Current City",
        "transportation": "Transportation",
        "breakfast": "Breakfast",
        "attraction": "Attraction",
        "lunch": "Lunch",
        "dinner": "Dinner",
        "accommodation": "Accommodation",
    }
    blocks = []
    for day in plan:
        lines = [f"Day {day.days}:"]
        lines += [f"{labels[f]}: {getattr(day, f)}" for f in FIELDS if getattr(day, f) is not None]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
