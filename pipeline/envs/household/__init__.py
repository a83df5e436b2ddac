"""The built-in household environment: an ALFWorld-faithful text world, generated from seeds."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from pipeline.config import EnvConfig
from pipeline.envs.household.env import HouseholdEnv
from pipeline.envs.household.solver import SolverError, solve
from pipeline.envs.household.tasks import SPLITS, make_task, split_size, split_tasks
from pipeline.prompts import render_steps
from pipeline.types import Task

# Each type's worked example comes from the first train task of that type, so it never changes.
_EXAMPLE_SEARCH_LIMIT = 200


class HouseholdSuite:
    """EnvSuite for the household world: fixed splits, fresh envs, solver-made one-shot examples."""

    name = "household"

    def __init__(self, config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig()

    def splits(self) -> list[str]:
        return list(SPLITS)

    def tasks(self, split: str) -> Iterator[Task]:
        return split_tasks(split)

    def make(self) -> HouseholdEnv:
        return HouseholdEnv(self.config.grammar)

    def one_shot_example(self, task_type: str) -> str | None:
        return _example(task_type, self.config.grammar)


@lru_cache(maxsize=32)
def _example(task_type: str, grammar: str) -> str | None:
    for index in range(_EXAMPLE_SEARCH_LIMIT):
        task = make_task("train", index)
        if task.task_type != task_type:
            continue
        env = HouseholdEnv(grammar)
        intro = env.reset(task)
        try:
            trace = solve(env, task.goal)
        except SolverError:
            continue
        return f"{intro}\n{render_steps(trace)}"
    return None


__all__ = ["HouseholdEnv", "HouseholdSuite", "SolverError", "solve", "split_size"]
