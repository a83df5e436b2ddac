"""The TravelPlanner sim's mistake knobs (`sim.travelplanner.*`): made-up values, not measured."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# mistake -> the check a procedure must state to lower it
MISTAKE_CHECK = {
    "budget_overrun": "budget",
    "repeat": "diversity",
    "missing_day": "days",
    "wrong_room": "room",
    "open_route": "route",
    "missing_transport": "transport",
    "cuisine_miss": "cuisine",
    "transport_rule_miss": "transport_rule",
}


class TravelPlannerSimKnobs(BaseModel):
    """Per-plan chances of each mistake, and how much a stated check lowers its chance."""

    model_config = ConfigDict(extra="forbid")

    budget_overrun: float = Field(0.35, ge=0.0, le=1.0)  # picks by taste, never adds up the cost
    repeat: float = Field(0.3, ge=0.0, le=1.0)  # a restaurant or attraction used twice
    missing_day: float = Field(0.1, ge=0.0, le=1.0)  # one day left out of the plan
    wrong_room: float = Field(0.4, ge=0.0, le=1.0)  # ignores the room type / house rule asked for
    open_route: float = Field(0.1, ge=0.0, le=1.0)  # never travels back to the departure city
    missing_transport: float = Field(0.15, ge=0.0, le=1.0)  # a travel day without transportation
    cuisine_miss: float = Field(0.4, ge=0.0, le=1.0)  # ignores the cuisines asked for
    transport_rule_miss: float = Field(0.3, ge=0.0, le=1.0)  # ignores "no flight"/"no self-driving"
    check_relief: float = Field(0.8, ge=0.0, le=1.0)  # share of a mistake's chance a check removes
    notebook_skip: float = Field(0.05, ge=0.0, le=1.0)  # forgets a NotebookWrite after a search

    def rate(self, mistake: str) -> float:
        return float(getattr(self, mistake))


def knobs_from(sim_config: Any) -> TravelPlannerSimKnobs:
    """The `travelplanner` subsection of the sim config (attribute, extra field or mapping)."""
    raw: Any = None
    if isinstance(sim_config, dict):
        raw = sim_config.get("travelplanner")
    else:
        raw = getattr(sim_config, "travelplanner", None)
        if raw is None:
            raw = (getattr(sim_config, "model_extra", None) or {}).get("travelplanner")
    if isinstance(raw, TravelPlannerSimKnobs):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    return TravelPlannerSimKnobs.model_validate(raw or {})


def memory_trust(sim_config: Any) -> float:
    value = (
        sim_config.get("memory_trust")
        if isinstance(sim_config, dict)
        else getattr(sim_config, "memory_trust", None)
    )
    return 0.9 if value is None else float(value)
