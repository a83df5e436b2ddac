"""env alfworld under the event loop: concurrent episodes stepped off-loop, loop stall measured."""

from __future__ import annotations

import random
import statistics
import time

import anyio

from pipeline.config import EnvConfig
from pipeline.envs import get_suite

_TICK_S = 0.005


async def _episode(suite, task, rng: random.Random, steps: int, out: dict[str, list]) -> None:
    env = suite.make()
    try:
        t0 = time.perf_counter()
        await env.areset(task)
        out["reset_s"].append(time.perf_counter() - t0)
        for _ in range(steps):
            t0 = time.perf_counter()
            result = await env.astep(rng.choice(env.admissible_commands()))
            out["step_s"].append(time.perf_counter() - t0)
            if result.done:
                break
    finally:
        env.close()


def bench_alfworld(
    env_config: EnvConfig, episodes: int = 8, steps: int = 20, seed: int = 0
) -> dict[str, float]:
    """`episodes` concurrent episodes of `steps` random admissible commands; figures of the loop."""
    suite = get_suite(env_config)
    split = next(s for s in suite.splits() if suite.split_size(s))
    tasks = list(suite.tasks(split))
    rng = random.Random(seed)
    out: dict[str, list] = {"reset_s": [], "step_s": [], "gaps": []}

    async def main() -> float:
        done = anyio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await anyio.sleep(_TICK_S)
                now = time.perf_counter()
                out["gaps"].append(max(0.0, now - last - _TICK_S))
                last = now

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            async with anyio.create_task_group() as eps:
                for i in range(episodes):
                    eps.start_soon(_episode, suite, tasks[i % len(tasks)], rng, steps, out)
            done.set()
        return time.perf_counter() - start

    wall = anyio.run(main)
    gaps = sorted(out["gaps"]) or [0.0]
    n_steps = len(out["step_s"])
    return {
        "episodes": episodes,
        "steps": n_steps,
        "wall_s": round(wall, 2),
        "steps_per_s": round(n_steps / wall, 2),
        "reset_mean_s": round(statistics.fmean(out["reset_s"]), 3),
        "step_mean_ms": round(1000 * statistics.fmean(out["step_s"]), 1),
        "loop_stall_p50_ms": round(1000 * gaps[len(gaps) // 2], 2),
        "loop_stall_max_ms": round(1000 * gaps[-1], 2),
        "loop_stall_per_step_ms": round(1000 * sum(gaps) / max(1, n_steps), 2),
    }
