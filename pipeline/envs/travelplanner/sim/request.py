"""What a travel request says, read from its natural-language text alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.envs.travelplanner.schema import CUISINES

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_NUMBERS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
}
_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine)"
_DAYS = re.compile(rf"\b{_NUM}[- ]days?\b", re.I)
_PEOPLE = (
    re.compile(rf"\bgroup of {_NUM}\b", re.I),
    re.compile(rf"\bfor {_NUM} (?:people|persons|travell?ers|adults|of us)\b", re.I),
)
_FROM_TO = re.compile(
    r"\bfrom ([A-Z][\w.' -]*?) to ([A-Z][\w.' -]*?)(?=[,.?!]| from | for | on |$)"
)
_VISIT = re.compile(
    rf"\bfrom ([A-Z][\w.' -]*?) visiting {_NUM} cities in ([A-Z][\w.' -]*?)(?=[,.?!]| from |$)"
)
_WHEN = re.compile(
    r"\bfrom ([A-Z][a-z]+) (\d{1,2})(?:st|nd|rd|th)? "
    r"to ([A-Z][a-z]+) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})"
)
_ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_BUDGET = re.compile(r"budget[^$\d]{0,20}\$?\s?([\d,]+)", re.I)
_RULES = (
    ("children under 10", re.compile(r"children under 10", re.I)),
    ("parties", re.compile(r"\bpart(?:y|ies)\b", re.I)),
    ("smoking", re.compile(r"\bsmok", re.I)),
    ("visitors", re.compile(r"\bvisitors?\b", re.I)),
    ("pets", re.compile(r"\bpets?\b", re.I)),
)
_ROOMS = (
    (
        "not shared room",
        re.compile(r"\b(?:not?|don't|do not|never)\b[^.]{0,20}\bshared rooms?\b", re.I),
    ),
    ("shared room", re.compile(r"\bshared rooms?\b", re.I)),
    ("private room", re.compile(r"\bprivate rooms?\b", re.I)),
    ("entire room", re.compile(r"\bentire (?:room|home|homes|apartment)", re.I)),
)
_NO_FLIGHT = re.compile(
    r"\b(?:no|not|don't|do not|without|avoid)\b[^.]{0,25}\bfl(?:y|ights?)\b", re.I
)
_NO_DRIVE = re.compile(
    r"\b(?:no|not|don't|do not|without|avoid)\b[^.]{0,25}\b(?:drive|driving|self-driving)\b", re.I
)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBERS.get(token.lower(), 0)


@dataclass(slots=True)
class Request:
    """The request's fields as the sim understood them (missing ones stay at their defaults)."""

    text: str
    org: str = ""
    dest: str = ""
    dest_is_state: bool = False
    days: int = 3
    cities: int = 1
    dates: list[str] = field(default_factory=list)
    people: int = 1
    budget: int | None = None
    house_rule: str | None = None
    room_type: str | None = None
    cuisines: list[str] = field(default_factory=list)
    no_flight: bool = False
    no_drive: bool = False

    @property
    def transport_rule(self) -> bool:
        return self.no_flight or self.no_drive

    @property
    def room_rule(self) -> bool:
        return self.house_rule is not None or self.room_type is not None


def _dates(text: str, days: int) -> list[str]:
    iso = _ISO.findall(text)
    if iso:
        start = date.fromisoformat(iso[0])
    else:
        m = _WHEN.search(text)
        if not m or m.group(1).lower() not in _MONTHS:
            return []
        start = date(int(m.group(5)), _MONTHS.index(m.group(1).lower()) + 1, int(m.group(2)))
    return [(start + timedelta(days=i)).isoformat() for i in range(days)]


def read_request(text: str) -> Request:
    """Fields of a travel request from its text; tolerant of wording, never raises."""
    r = Request(text=text.strip())
    m = _DAYS.search(text)
    r.days = _number(m.group(1)) if m else 3
    visit = _VISIT.search(text)
    if visit:
        r.org, r.cities, r.dest = (
            visit.group(1).strip(),
            _number(visit.group(2)),
            visit.group(3).strip(),
        )
        r.dest_is_state = True
    else:
        for org, dest in _FROM_TO.findall(text):
            if org.split()[0].lower() not in _MONTHS:
                r.org, r.dest = org.strip(), dest.strip()
                break
        r.cities = 1 if r.days <= 3 else max(1, (r.days - 1) // 2)
        r.dest_is_state = r.days > 3
    r.dates = _dates(text, r.days)
    r.people = 1
    for pattern in _PEOPLE:
        p = pattern.search(text)
        if p:
            r.people = max(1, _number(p.group(1)))
            break
    b = _BUDGET.search(text)
    digits = b.group(1).replace(",", "") if b else ""
    r.budget = int(digits) if digits.isdigit() else None
    r.house_rule = next((rule for rule, pat in _RULES if pat.search(text)), None)
    r.room_type = next((room for room, pat in _ROOMS if pat.search(text)), None)
    r.cuisines = [c for c in CUISINES if re.search(rf"\b{c}\b", text)]
    r.no_flight = bool(_NO_FLIGHT.search(text))
    r.no_drive = bool(_NO_DRIVE.search(text))
    return r
