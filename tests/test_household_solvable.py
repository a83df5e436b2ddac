"""Every generated task is solvable well within the step limit, by a solver that sees only text."""

from __future__ import annotations

import itertools

import pytest

from pipeline.config import EnvConfig
from pipeline.envs.household import HouseholdEnv, solve
from pipeline.envs.household.tasks import split_tasks
from pipeline.types import Task

# Seconds per test (whole engines, databases or splits): not in `make test-fast`.
pytestmark = pytest.mark.slow

STEP_LIMIT = EnvConfig().step_limit


def cases() -> list[Task]:
    # Every fixed-split task (3827) and the first 1000 endless ones.
    return [
        *split_tasks("valid_seen"),
        *split_tasks("valid_unseen"),
        *split_tasks("train"),
        *itertools.islice(split_tasks("endless"), 1000),
    ]


def test_every_task_is_solved_within_the_step_limit() -> None:
    worst = 0
    tasks = cases()
    assert len(tasks) >= 4000
    for task in tasks:
        env = HouseholdEnv()
        env.reset(task)
        trace = solve(env, task.goal, max_steps=STEP_LIMIT)
        assert env.won, task.id
        assert len(trace) <= STEP_LIMIT, task.id
        worst = max(worst, len(trace))
    assert worst <= 20  # "well within" the limit: an oracle path is short


@pytest.mark.parametrize("grammar", ["2.1.1"])
def test_solvable_in_the_older_grammar(grammar: str) -> None:
    for task in itertools.islice(split_tasks("valid_unseen"), 134):
        env = HouseholdEnv(grammar)
        env.reset(task)
        solve(env, task.goal, max_steps=STEP_LIMIT)
        assert env.won, task.id
