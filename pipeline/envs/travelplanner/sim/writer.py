"""The sim's memory roles for travel planning: script writing, adjustment, keywords."""

from __future__ import annotations

import re

from pipeline.envs.travelplanner.plan import parse_plan
from pipeline.envs.travelplanner.sim.audit import audit
from pipeline.envs.travelplanner.sim.catalog import read_catalog
from pipeline.envs.travelplanner.sim.request import Request, read_request

_TASK = re.compile(r"^\s*Task:\s*(.+)$", re.M)
_SECTION = re.compile(
    r"(Successful trajectory|Failed trajectory|Procedure that was followed):\s*\n"
)
_NUMBERED = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*(.+)$")


def check_line(check: str, req: Request) -> str:
    """One check as a procedure states it (the wording the agent role reads back)."""
    if check == "room":
        parts = []
        if req.room_type:
            parts.append(f"whose room type fits '{req.room_type}'")
        if req.house_rule:
            parts.append(f"whose house rules allow {req.house_rule}")
        fits = " and ".join(parts) or "whose room type and house rules fit the request"
        return f"Choose accommodations {fits}."
    if check == "transport_rule":
        banned = "flights" if req.no_flight else "driving"
        return (
            f"The request forbids {banned}: keep to the allowed transportation on every leg "
            "(GoogleDistanceMatrix for drives)."
        )
    return {
        "budget": "Add up every cost before answering (fares or drives, meals per person, rooms "
        "per night) and keep the total within the budget; prefer cheaper options.",
        "cuisine": "Cover every requested cuisine with restaurants in the visited cities.",
        "diversity": "Use a different restaurant for every meal and a different attraction each "
        "time.",
        "days": "Write one entry for every day of the trip, from Day 1 to the last day.",
        "transport": "Give transportation on every travel day.",
        "route": "End with the leg back to the departure city, so the trip is a closed route.",
    }[check]


def _steps(req: Request) -> list[str]:
    steps = []
    if req.dest_is_state:
        steps.append(
            f"Search the cities of the destination state with CitySearch and visit {req.cities} "
            "of them one after another."
        )
    steps.append(
        "Search transportation for every leg: out of the departure city on the first day, "
        "between cities on the travel days, back on the last day."
    )
    steps.append(
        "Search accommodations, restaurants and attractions in every city of the trip and write "
        "each result to the Notebook right after the search."
    )
    steps.append("Call Planner with the request once the Notebook holds all of it.")
    return steps


def _relevant(req: Request) -> list[str]:
    checks = ["budget", "diversity", "days", "transport", "route"]
    if req.room_rule:
        checks.append("room")
    if req.cuisines:
        checks.append("cuisine")
    if req.transport_rule:
        checks.append("transport_rule")
    return checks


def _sections(text: str) -> dict[str, str]:
    parts = _SECTION.split(text)
    out = {}
    for i in range(1, len(parts) - 1, 2):
        body = parts[i + 1]
        for stop in ("\nScript:", "\nCorrected script:"):
            body = body.split(stop)[0]
        out[parts[i]] = body.strip()
    return out


def _numbered(lines: list[str]) -> str:
    unique = list(dict.fromkeys(ln.strip() for ln in lines if ln.strip()))
    return "\n".join(f"{i}. {ln}" for i, ln in enumerate(unique, 1))


def write_script(user: str) -> str:
    """Steps and checks a successful trajectory supports (a check it visibly broke is left out)."""
    task = _TASK.search(user)
    req = read_request(task.group(1) if task else user)
    trajectory = _sections(user).get("Successful trajectory", "")
    seen = audit(parse_plan(trajectory), req, read_catalog([trajectory]))
    checks = [c for c in _relevant(req) if seen.get(c) is not False]
    return _numbered(_steps(req) + [check_line(c, req) for c in checks])


def adjust_script(user: str) -> str:
    """The followed procedure plus the checks the failed plan visibly broke."""
    task = _TASK.search(user)
    req = read_request(task.group(1) if task else user)
    sections = _sections(user)
    old = [
        m.group(1) if (m := _NUMBERED.match(ln)) else ln.strip()
        for ln in sections.get("Procedure that was followed", "").splitlines()
        if ln.strip() and not ln.lower().startswith(("procedure ", "script:", "trajectory:"))
    ]
    trajectory = sections.get("Failed trajectory", "")
    plan = parse_plan(trajectory)
    seen = audit(plan, req, read_catalog([trajectory]))
    broken = [c for c in _relevant(req) if seen.get(c) is False]
    added = [check_line(c, req) for c in broken]
    if plan is None:
        added.append(
            "Finish with the plan itself, starting 'Day 1:', with every field of every day."
        )
    if not added:
        # Nothing visibly wrong: compare against every requirement next time.
        added = [check_line(c, req) for c in _relevant(req) if seen.get(c) is None]
    return _numbered((old or _steps(req)) + added)


def keywords(user: str) -> str:
    task = _TASK.search(user)
    req = read_request(task.group(1) if task else user)
    words = [
        f"{req.days}-day trip",
        f"{req.cities} cities in a state" if req.dest_is_state else "one city",
    ]
    if req.room_type:
        words.append(req.room_type)
    if req.house_rule:
        words.append(req.house_rule)
    words += [c.lower() for c in req.cuisines[:1]]
    if req.transport_rule:
        words.append("no flight" if req.no_flight else "no self-driving")
    words.append("solo" if req.people == 1 else "group")
    return ", ".join(words[:6])
