"""Validator: the update policy's cheap, pure decide() (success? which procedures were used?)."""

from __future__ import annotations

import os
from typing import Any

import ray

from pipeline.config import RunConfig
from pipeline.memory.build import make_builder
from pipeline.memory.update import Decision, make_updater
from pipeline.types import Trajectory


class _NoModel:
    """decide() never calls a model; this keeps litellm out of the validator's process."""

    async def complete(self, messages: list[dict[str, str]], role: str) -> Any:
        raise RuntimeError("the validator does not call models; distill() runs in a Distiller")


class ValidatorImpl:
    def __init__(self, config: dict[str, Any]) -> None:
        from pipeline.envs import get_suite  # this process resolves the env itself (its success)

        cfg = RunConfig.model_validate(config)
        model = _NoModel()
        language = get_suite(cfg.env).language
        builder = make_builder(cfg.memory.build, model, language=language)
        self.policy = make_updater(
            cfg.memory.update, builder, model, cfg.memory.namespace, cfg=cfg.memory
        )

    def decide(self, trajectory: Trajectory) -> Decision:
        return self.policy.decide(trajectory)

    def ready(self) -> int:
        return os.getpid()


def validator_cls() -> Any:
    # A threaded (not async) actor: decide() is pure CPU and microseconds long.
    return ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(ValidatorImpl)
