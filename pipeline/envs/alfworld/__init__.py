"""The official ALFWorld text games played by alfworld's own engine (`env.name: alfworld`).

Needs the `memp[alfworld]` extra; the engine is imported only when an episode starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.config import EnvConfig
from pipeline.envs.alfworld.env import AlfworldEnv, ThreadLimit
from pipeline.envs.alfworld.games import SPLITS, data_root, game_files, split_tasks
from pipeline.envs.household.language import HouseholdLanguage
from pipeline.envs.household.text import Grammar
from pipeline.types import Task


class AlfworldSettings(BaseModel):
    """The `env.alfworld` config subsection."""

    model_config = ConfigDict(extra="forbid")

    data_dir: str | None = None  # default: $ALFWORLD_DATA
    grammar: Grammar = "2.1.2"
    # Worker threads per process for engine calls. Calls take turns under one lock (TextWorld's
    # parser is not thread-safe), so more than 2 only queues; processes scale with rollout_workers.
    env_threads: int = Field(2, ge=1, le=64)

    @model_validator(mode="after")
    def _data_present(self) -> AlfworldSettings:
        data_root(self.data_dir)  # a missing directory fails at config time, before Ray starts
        return self


class AlfworldSuite:
    """EnvSuite over a directory of ALFWorld games; the household language (same text) plays it."""

    name = "alfworld"
    settings_model = AlfworldSettings
    sim_policy = "household"

    def __init__(self, config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig(name=self.name)
        self.settings = self.config.settings(AlfworldSettings, self.name)
        self.root: Path = data_root(self.settings.data_dir)
        self.language = HouseholdLanguage(self.settings.grammar)
        self._limit = ThreadLimit(self.settings.env_threads)

    def splits(self) -> list[str]:
        return list(SPLITS)

    def split_size(self, split: str) -> int | None:
        return len(game_files(self.root, split))

    def tasks(self, split: str) -> Iterator[Task]:
        return split_tasks(self.root, split)

    def make(self) -> AlfworldEnv:
        return AlfworldEnv(self.settings.grammar, self._limit)


__all__ = ["AlfworldEnv", "AlfworldSettings", "AlfworldSuite"]
