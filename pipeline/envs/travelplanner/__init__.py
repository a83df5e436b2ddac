"""TravelPlanner (Xie et al. 2024) as a built-in tool-use environment over a sandbox database."""

from __future__ import annotations

from pipeline.envs.travelplanner.suite import TravelPlannerSettings, TravelPlannerSuite

__all__ = ["TravelPlannerSettings", "TravelPlannerSuite"]
