"""Throughput of the household env: random admissible commands over many short episodes."""

from __future__ import annotations

import random
import time

from pipeline.envs.household import HouseholdEnv
from pipeline.envs.household.tasks import make_task

_EPISODE_STEPS = 30  # about an agent episode's length
_TASK_POOL = 256  # tasks are built once; resets rebuild their worlds
_INVALID_RATE = 0.1  # agents do send malformed commands; keep that path in the measurement


def bench_env(seconds: float = 3.0, seed: int = 0) -> dict[str, float]:
    """Play for about `seconds` of wall time; report env steps/s and resets/s."""
    rng = random.Random(seed)
    tasks = [make_task("train", (seed + i) % 3553) for i in range(_TASK_POOL)]
    env = HouseholdEnv()
    steps = resets = 0
    reset_s = 0.0
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    while clock() < deadline:
        t0 = clock()
        env.reset(tasks[resets % len(tasks)])
        reset_s += clock() - t0
        resets += 1
        for _ in range(_EPISODE_STEPS):
            command = rng.choice(env.admissible_commands())
            if rng.random() < _INVALID_RATE:
                command = command.upper()
            steps += 1
            if env.step(command).done:
                break
    wall = clock() - start
    step_s = wall - reset_s  # admissible_commands() and the player's choice are counted as steps
    return {
        "steps": steps,
        "seconds": round(wall, 4),
        "steps_per_s": round(steps / step_s, 1) if step_s > 0 else 0.0,
        "resets_per_s": round(resets / reset_s, 1) if reset_s > 0 else 0.0,
    }
