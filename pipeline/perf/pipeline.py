"""`memp perf pipeline`: workload, lockstep baseline and figures (Ray-free; Ray is actors/perf.py).

ratio = achieved agent steps/s / (concurrency / mean latency), which equals achieved episodes/s
over the latency-bound ideal concurrency / (mean steps x mean latency) for any mean steps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from pipeline.config import RunConfig
from pipeline.config_load import load_config
from pipeline.presets import DEFAULT_PRESET
from pipeline.types import Record, Task, Trajectory


def perf_config(
    concurrency: int, workers: int, latency_s: float, sigma: float, server_url: str | None = None
) -> RunConfig:
    """The default preset with memory off, lognormal sim latency and room for `concurrency`.

    server_url: the agent calls that OpenAI-compatible server over HTTP instead of the sim
    provider (the server itself samples the same latency)."""
    per_worker = max(1, -(-concurrency // workers))
    http = [] if server_url is None else [
        "agent.model=openai/household", f"agent.api_base={server_url}",
        f"agent.api_key_env={SERVER_KEY_ENV}",
    ]  # fmt: skip
    return load_config(
        DEFAULT_PRESET,
        [
            "memory.enabled=false",
            "metrics.enabled=false",
            "env.split=endless",
            "sim.latency.kind=lognormal",
            f"sim.latency.mean_s={latency_s}",
            f"sim.latency.sigma={sigma}",
            f"agent.concurrency={per_worker}",
            "agent.episode_timeout_s=3600",
            f"pipeline.rollout_workers={workers}",
            f"pipeline.episodes_per_worker={per_worker}",
            *http,
        ],
    )


# The perf chat server checks no key, but litellm's openai route wants one to send.
SERVER_KEY_ENV = "MEMP_PERF_SERVER_KEY"


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ideal_eps(concurrency: int, mean_steps: float, mean_latency_s: float) -> float:
    """Latency-bound episodes/s: every slot busy, every step costing one mean model latency."""
    return concurrency / (mean_steps * mean_latency_s) if mean_steps and mean_latency_s else 0.0


class PerfPoint(Record):
    """One concurrency level: streaming vs ideal, CPU per step, and the lockstep baseline."""

    concurrency: int
    episodes: int  # finished while measuring (short ones over-represented: mean_steps is low)
    mean_steps: float
    steps_per_s: float  # agent steps (model calls answered) per second, all workers
    eps: float  # steps_per_s / mean_steps
    ideal_eps: float
    ratio: float
    cpu_ms_per_step: float
    server_cpu_ms_per_step: float | None = None  # --server: the chat server's own CPU, apart
    lockstep_steps_per_s: float | None = None
    streaming_over_lockstep: float | None = None


class _StepBarrier:
    """Every live episode's model call of a step waits until all live episodes made theirs."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.release = anyio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.parties:
            self._open()
        else:
            await self.release.wait()

    def leave(self) -> None:
        self.parties -= 1
        if self.parties and self.arrived >= self.parties:
            self._open()

    def _open(self) -> None:
        self.arrived = 0
        self.release, old = anyio.Event(), self.release
        old.set()


class _LockstepLLM:
    """Wraps an LLMClient: a call returns only when the batch's slowest call of the step has."""

    def __init__(self, inner: Any, barrier: _StepBarrier) -> None:
        self.inner = inner
        self.cfg = inner.cfg
        self.barrier = barrier

    async def complete(
        self, messages: list[dict[str, Any]], role: str, tools: list[Any] | None = None
    ) -> Any:
        result = await self.inner.complete(messages, role, tools)
        await self.barrier.wait()
        return result


async def run_lockstep(
    tasks: Sequence[Task], suite: Any, llm: Any, cfg: RunConfig
) -> list[Trajectory]:
    """The paper code's batch pattern: one batch, every step gated by its slowest episode."""
    from pipeline.agent import run_episode

    barrier = _StepBarrier(len(tasks))
    out: list[Trajectory] = []

    async def one(task: Task) -> None:
        try:
            traj = await run_episode(
                task, suite, _LockstepLLM(llm, barrier), cfg.agent, cfg.env, run_seed=cfg.run.seed
            )
            out.append(traj)
        finally:
            barrier.leave()

    async with anyio.create_task_group() as tg:
        for task in tasks:
            tg.start_soon(one, task)
    return out


def render(points: Sequence[PerfPoint], latency_s: float) -> Any:
    from rich.table import Table

    table = Table(title=f"pipeline throughput, sim lognormal latency mean {latency_s}s")
    cols = ("concurrency", "steps/s", "eps/s", "ideal eps/s", "ratio", "CPU ms/step",
            "server CPU ms/step", "lockstep steps/s", "stream/lockstep")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="right")
    for p in points:
        table.add_row(
            str(p.concurrency), f"{p.steps_per_s:.1f}", f"{p.eps:.2f}", f"{p.ideal_eps:.2f}",
            f"{p.ratio:.2f}", f"{p.cpu_ms_per_step:.2f}",
            "-" if p.server_cpu_ms_per_step is None else f"{p.server_cpu_ms_per_step:.2f}",
            "-" if p.lockstep_steps_per_s is None else f"{p.lockstep_steps_per_s:.1f}",
            "-" if p.streaming_over_lockstep is None else f"{p.streaming_over_lockstep:.2f}",
        )  # fmt: skip
    return table


def breaking_point(points: Sequence[PerfPoint], target: float = 0.9) -> int | None:
    """The lowest concurrency whose ratio to ideal fell below target (None: none did)."""
    return next((p.concurrency for p in sorted(points, key=lambda p: p.concurrency)
                 if p.ratio < target), None)  # fmt: skip
