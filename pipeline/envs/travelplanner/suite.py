"""The TravelPlanner EnvSuite: settings, splits of queries as Tasks, episode worlds, language."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import EnvConfig
from pipeline.envs.travelplanner.database import Database, default_cache_dir
from pipeline.envs.travelplanner.env import Evaluator, TravelPlannerEnv
from pipeline.envs.travelplanner.language import TravelPlannerLanguage
from pipeline.envs.travelplanner.queries import SPLIT_SIZES, load_official, split_queries
from pipeline.envs.travelplanner.schema import Query
from pipeline.envs.travelplanner.solver import cheapest_plan
from pipeline.envs.travelplanner.sources import open_database
from pipeline.types import Task, Trajectory

NAME = "travelplanner"


class TravelPlannerSettings(BaseModel):
    """The `env.travelplanner` config subsection."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["two-stage", "sole-planning"] = "two-stage"
    database: str | None = None  # the official database directory (CSV layout); None: synthetic
    queries: str | None = None  # a directory of official <split>.jsonl query files
    seed: int = 0  # the synthetic database's and synthetic queries' seed
    cache_dir: str | None = None  # built databases and query splits ($XDG_CACHE_HOME/memp/...)
    # What memory validation and adjustment count as a success: the final pass, or one score
    # above a threshold (the Mem^p authors kept train trajectories scoring > 0.8 as golden).
    success: Literal["final_pass", "score"] = "final_pass"
    success_score: str = "commonsense_micro"
    success_threshold: float = Field(0.8, ge=0.0, le=1.0)


class TravelPlannerSuite:
    """EnvSuite for TravelPlanner: synthetic or official queries over the sandbox database."""

    name = NAME
    settings_model = TravelPlannerSettings
    sim_policy = "travelplanner"

    def __init__(self, config: EnvConfig | None = None, evaluator: Evaluator | None = None) -> None:
        self.config = config or EnvConfig(name=NAME)
        self.settings = self.config.settings(TravelPlannerSettings, NAME)
        self._evaluator = evaluator
        self.language = TravelPlannerLanguage(
            self.settings.mode, example=self._example, success=self._memory_success
        )

    @cached_property
    def db(self) -> Database:
        s = self.settings
        return open_database(s.database, s.seed, s.cache_dir)

    def splits(self) -> list[str]:
        return list(SPLIT_SIZES)

    def split_size(self, split: str) -> int | None:
        official = self._official_file(split)
        if official is not None:
            return sum(1 for line in official.read_text().splitlines() if line.strip())
        return SPLIT_SIZES.get(split)

    def queries(self, split: str) -> list[Query]:
        official = self._official_file(split)
        if official is not None:
            return load_official(official)
        cache = Path(self.settings.cache_dir) if self.settings.cache_dir else default_cache_dir()
        return split_queries(self.db, split, self.settings.seed, cache)

    def tasks(self, split: str) -> Iterator[Task]:
        source = "official" if self._official_file(split) else "synthetic"
        for i, q in enumerate(self.queries(split)):
            yield Task(
                id=f"{NAME}/{split}/{i:04d}",
                env=NAME,
                split=split,
                task_type=q.level,
                goal=q.query,
                seed=i,
                spec={"query": q.model_dump(by_alias=True), "source": source},
            )

    def make(self) -> TravelPlannerEnv:
        return TravelPlannerEnv(self.db, self.settings.mode, self._evaluator)

    def _official_file(self, split: str) -> Path | None:
        if not self.settings.queries:
            return None
        path = Path(self.settings.queries).expanduser() / f"{split}.jsonl"
        return path if path.is_file() else None

    def _example(self) -> str | None:
        return self._example_text

    @cached_property
    def _example_text(self) -> str | None:
        """A solver-made plan for the first train query, shown as the worked example."""
        query = self.queries("train")[0]
        sol = cheapest_plan(query, self.db)
        return None if sol is None else f"Query: {query.query}\nTravel Plan:\n{sol.text}"

    def _memory_success(self, trajectory: Trajectory) -> bool:
        if self.settings.success == "final_pass":
            return trajectory.success
        scores = getattr(trajectory, "scores", None) or {}
        return scores.get(self.settings.success_score, 0.0) > self.settings.success_threshold
