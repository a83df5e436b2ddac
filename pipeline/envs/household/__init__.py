"""The built-in household environment: an ALFWorld-faithful text world, generated from seeds."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from pipeline.config import EnvConfig
from pipeline.envs.household.env import HouseholdEnv
from pipeline.envs.household.language import HouseholdLanguage
from pipeline.envs.household.solver import SolverError, solve
from pipeline.envs.household.tasks import SPLITS, split_size, split_tasks
from pipeline.envs.household.text import Grammar
from pipeline.types import Task


class HouseholdSettings(BaseModel):
    """The `env.household` config subsection."""

    model_config = ConfigDict(extra="forbid")

    grammar: Grammar = "2.1.2"  # ALFWorld's text grammar version


class HouseholdSuite:
    """EnvSuite for the household world: fixed splits, fresh envs, solver-made one-shot examples."""

    name = "household"
    settings_model = HouseholdSettings
    sim_policy = "household"

    def __init__(self, config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig()
        self.settings = self.config.settings(HouseholdSettings, self.name)
        self.language = HouseholdLanguage(self.settings.grammar)

    def splits(self) -> list[str]:
        return list(SPLITS)

    def split_size(self, split: str) -> int | None:
        return split_size(split)

    def tasks(self, split: str) -> Iterator[Task]:
        return split_tasks(split)

    def make(self) -> HouseholdEnv:
        return HouseholdEnv(self.settings.grammar)


__all__ = [
    "HouseholdEnv",
    "HouseholdLanguage",
    "HouseholdSettings",
    "HouseholdSuite",
    "SolverError",
    "solve",
    "split_size",
]
