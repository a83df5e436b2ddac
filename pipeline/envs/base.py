"""The Environment protocol every task world implements, gym-style but text-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from pipeline.types import Task


class StepResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: str
    done: bool  # the goal is reached
    success: bool
    valid: bool  # False when the env answered "Nothing happens." or equivalent


@runtime_checkable
class Environment(Protocol):
    """One live episode world. Not thread-safe; one instance per running episode."""

    def reset(self, task: Task) -> str:
        """Build the episode's world from the task and return the opening observation."""
        ...

    def step(self, action: str) -> StepResult: ...

    def admissible_commands(self) -> list[str]: ...


class EnvSuite(Protocol):
    """What a registered environment provides: task lists and fresh episode worlds."""

    name: str

    def splits(self) -> list[str]: ...

    def tasks(self, split: str) -> Iterator[Task]:
        """Tasks of a split in a fixed order; the `endless` split never ends."""
        ...

    def make(self) -> Environment: ...

    def one_shot_example(self, task_type: str) -> str | None:
        """A short worked example of this task type for the prompt, if the env has one."""
        ...


class UnknownEnvError(ValueError):
    pass
