"""Validator: hosts the update policy's pure decide stage (success? which procedures were used?)."""

from __future__ import annotations

import os
from typing import Any

import ray

from pipeline.config import RunConfig
from pipeline.memory.stack import MemoryStack
from pipeline.memory.update import Decision
from pipeline.types import Trajectory


class ValidatorImpl:
    def __init__(self, config: dict[str, Any]) -> None:
        # This process resolves the env itself (its success signal); no model is made here.
        self.decider = MemoryStack.from_config(RunConfig.model_validate(config)).decider()

    def decide(self, trajectory: Trajectory) -> Decision:
        return self.decider.decide(trajectory)

    def ready(self) -> int:
        return os.getpid()


def validator_cls() -> Any:
    # A threaded (not async) actor: decide() is pure CPU and microseconds long.
    return ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(ValidatorImpl)
