"""One-process run: groups of tasks as concurrent coroutines, memory updated between groups."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import anyio

from pipeline.agent import run_episode
from pipeline.config import RunConfig
from pipeline.envs import EnvSuite, get_suite
from pipeline.llm import LLMClient
from pipeline.runlog import RunDir
from pipeline.summary import GroupFigures, MemoryFigures, RunSummary, group_figures, summarize
from pipeline.task_source import task_stream
from pipeline.types import Task, Trajectory

ProgressHook = Callable[[Trajectory], None]


def _groups(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    it = iter(tasks)
    while batch := list(itertools.islice(it, size)):
        yield batch


async def run_group(
    tasks: list[Task],
    cfg: RunConfig,
    suite: EnvSuite,
    llm: LLMClient,
    memory: Any | None,
    on_done: Callable[[Trajectory], None],
) -> list[Trajectory]:
    """Run a group's episodes concurrently under the pipeline's in-flight limit."""
    limit = anyio.CapacityLimiter(
        cfg.pipeline.max_in_flight
        or cfg.pipeline.rollout_workers * cfg.pipeline.episodes_per_worker
    )
    results: list[Trajectory] = []

    async def one(task: Task) -> None:
        async with limit:
            retrieval = await memory.retrieve(task) if memory is not None else None
            traj = await run_episode(
                task,
                suite,
                llm,
                cfg.agent,
                cfg.env,
                run_seed=cfg.run.seed,
                memory_text=retrieval.text if retrieval else None,
                memory_ids=retrieval.procedure_ids if retrieval else None,
                memory_version=retrieval.version if retrieval else 0,
                retrieval_latency_s=retrieval.latency_s if retrieval else 0.0,
            )
        results.append(traj)
        on_done(traj)

    async with anyio.create_task_group() as tg:
        for task in tasks:
            tg.start_soon(one, task)
    return results


async def run_local(
    cfg: RunConfig,
    run_dir: RunDir,
    memory: Any | None = None,
    on_done: ProgressHook | None = None,
) -> RunSummary:
    """Run every task of the configured source; trajectories are durable as they finish."""
    suite = get_suite(cfg.env)
    llm = LLMClient(cfg.agent, cfg.sim, seed=cfg.run.seed)
    done_ids = {t.task.id for t in run_dir.recorded_trajectories()}
    started = time.perf_counter()
    everything: list[Trajectory] = []
    groups: list[GroupFigures] = []

    def record(traj: Trajectory) -> None:
        run_dir.record(traj)
        if on_done:
            on_done(traj)

    pending = (t for t in task_stream(suite, cfg.env) if t.id not in done_ids)
    for index, group in enumerate(_groups(pending, cfg.pipeline.group_size)):
        finished = await run_group(group, cfg, suite, llm, memory, record)
        # Memory updates in task order, so the result does not depend on finishing order.
        finished.sort(key=lambda t: t.task.id)
        if memory is not None:
            for traj in finished:
                await memory.observe(traj)
        everything.extend(finished)
        size = await memory.size() if memory is not None else 0
        groups.append(group_figures(index, finished, size))
    figures = await memory.figures() if memory is not None else MemoryFigures()
    summary = summarize(
        everything,
        groups=groups,
        memory=figures,
        wall_s=time.perf_counter() - started,
        model=cfg.agent.model,
    )
    run_dir.write_summary(summary)
    return summary
