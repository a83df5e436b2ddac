"""AlfworldEnv: the Environment protocol over alfworld's engine, stepped off the event loop."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread

from pipeline.envs.alfworld.engine import POOL, Engine
from pipeline.envs.base import StepResult
from pipeline.types import Task


class EnvNotResetError(RuntimeError):
    pass


class ThreadLimit:
    """One bounded limiter per process for engine calls, created inside the running loop."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    def get(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter


class AlfworldEnv:
    """One live episode of an official (or exported) ALFWorld game. Not thread-safe.

    `reset`/`step` run the engine in the caller's thread; `areset`/`astep` run it in a worker
    thread under the suite's limiter, so hundreds of episodes overlap their model calls.
    """

    def __init__(self, grammar: str, limit: ThreadLimit) -> None:
        self.grammar = grammar
        self._limit = limit
        self._engine: Engine | None = None
        self._won = False

    def reset(self, task: Task) -> str:
        if self._engine is None:
            self._engine = POOL.take()
        self._won = False
        return self._engine.reset(Path(task.spec["game_file"]), self.grammar)

    def step(self, command: str) -> StepResult:
        engine = self._live()
        if self._won:  # the episode is over; the engine would keep playing
            return StepResult(observation="Nothing happens.", done=True, success=True, valid=False)
        observation, won, valid = engine.step(command)
        self._won = won
        return StepResult(observation=observation, done=won, success=won, valid=valid)

    def admissible_commands(self) -> list[str]:
        return self._live().admissible()

    async def areset(self, task: Task) -> str:
        return await anyio.to_thread.run_sync(self.reset, task, limiter=self._limit.get())

    async def astep(self, command: str) -> StepResult:
        return await anyio.to_thread.run_sync(self.step, command, limiter=self._limit.get())

    def close(self) -> None:
        """Hand the engine back to the process pool for the next episode."""
        if self._engine is not None:
            POOL.give(self._engine)
            self._engine = None

    def _live(self) -> Engine:
        if self._engine is None or self._engine.state is None:
            raise EnvNotResetError("call reset(task) before using the environment")
        return self._engine
