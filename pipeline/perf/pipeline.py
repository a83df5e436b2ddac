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
    concurrency: int,
    workers: int,
    latency_s: float,
    sigma: float,
    server_url: str | None = None,
    seed_pack: Path | None = None,
) -> RunConfig:
    """The default preset, lognormal sim latency and room for `concurrency`; memory off unless a
    seed pack is given (then every episode retrieves from it, through the writer actor).

    server_url: the agent calls that OpenAI-compatible server over HTTP instead of the sim
    provider (the server itself samples the same latency)."""
    per_worker = max(1, -(-concurrency // workers))
    http = [] if server_url is None else [
        "agent.model=openai/household", f"agent.api_base={server_url}",
        f"agent.api_key_env={SERVER_KEY_ENV}",
    ]  # fmt: skip
    memory = ["memory.enabled=false"] if seed_pack is None else [
        "memory.enabled=true", f"memory.seed_pack={seed_pack}",
    ]  # fmt: skip
    return load_config(
        DEFAULT_PRESET,
        [
            *memory,
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


def write_seed_pack(path: Path, size: int, seed: int = 0) -> Path:
    """`size` synthetic household procedures as a memory pack: what `--memory` retrieves from."""
    import random

    from pipeline.perf.memory import synthetic

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (synthetic(rng, n, "default").model_dump_json() for n in range(size))
    path.write_text("\n".join(lines) + "\n")
    return path


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
    # The workers' adaptive limits on model calls in flight at the window's end, summed: below
    # `concurrency` when event-loop lag (CPU past its knee) shrank them.
    call_limit: int | None = None
    nodes: int = 1  # Ray nodes hosting the rollout workers
    # Seconds from dispatching the first `concurrency` episodes until the workers had taken in
    # every one (the warm-up starts then): actor calls are admitted at a finite rate.
    admit_s: float | None = None
    held_at: int | None = None  # --follow-knee: the in-flight cap the knee rule held
    # --follow-knee: every window the rule counted, [cap, steps/s], in order
    knee_path: list[tuple[int, float]] | None = None
    lockstep_steps_per_s: float | None = None
    streaming_over_lockstep: float | None = None
    # CPU ms per step by part (pipeline/perf/profile.py), "sim" apart; None: not profiled
    parts_ms_per_step: dict[str, float] | None = None

    @property
    def memp_ms_per_step(self) -> float | None:
        """memp's own CPU per step: all parts but the sim's (the stand-in model's) work."""
        parts = self.parts_ms_per_step
        return None if parts is None else sum(v for k, v in parts.items() if k != "sim")


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


def _table(title: str, columns: dict[str, list[str]]) -> Any:
    """Right-aligned columns, dropping any that has no figure; headers break only at spaces."""
    from rich import box
    from rich.table import Table

    kept = {h: v for h, v in columns.items() if any(x != "-" for x in v)}
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, caption=SIM_NOTE)
    for header in kept:
        width = max(len(w) for w in header.split())
        table.add_column(header.replace(" ", "\n"), justify="right", min_width=width, no_wrap=True)
    for row in zip(*kept.values(), strict=True):
        table.add_row(*row)
    return table


SIM_NOTE = "answers: the offline sim policy, a stand-in for an LLM"


def _f(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(points: Sequence[PerfPoint], latency_s: float, server: bool = False) -> list[Any]:
    """The throughput table and, when profiled, memp's CPU per step by part."""
    model = "HTTP chat server" if server else "sim provider"
    throughput = {
        "in flight": [str(p.concurrency) for p in points],
        "nodes": [str(p.nodes) if p.nodes > 1 else "-" for p in points],
        "steps/s": [f"{p.steps_per_s:.1f}" for p in points],
        "eps/s": [f"{p.eps:.2f}" for p in points],
        "ideal eps/s": [f"{p.ideal_eps:.2f}" for p in points],
        "ratio": [f"{p.ratio:.2f}" for p in points],
        "CPU ms/step": [f"{p.cpu_ms_per_step:.2f}" for p in points],
        "server ms/step": [_f(p.server_cpu_ms_per_step, 2) for p in points],
        "call limit": ["-" if p.call_limit is None else str(p.call_limit) for p in points],
        "admit s": [_f(p.admit_s, 1) for p in points],
        "knee held": ["-" if p.held_at is None else str(p.held_at) for p in points],
        "lockstep steps/s": [_f(p.lockstep_steps_per_s, 1) for p in points],
        "stream/ lockstep": [_f(p.streaming_over_lockstep, 2) for p in points],
    }
    tables = [_table(f"pipeline, {model}, latency mean {latency_s}s", throughput)]
    profiled = [p for p in points if p.parts_ms_per_step is not None]
    if profiled:
        from pipeline.perf.profile import SHOWN

        ms = [p.parts_ms_per_step or {} for p in profiled]
        parts = {"in flight": [str(p.concurrency) for p in profiled]}
        for k in SHOWN:
            parts[k.replace("/", "/ ")] = [f"{m.get(k, 0.0):.2f}" for m in ms]
        parts["memp total"] = [_f(p.memp_ms_per_step, 2) for p in profiled]
        parts["sim (excl.)"] = [f"{m.get('sim', 0.0):.2f}" for m in ms]
        tables.append(_table("memp CPU ms per agent step, by part (py-spy)", parts))
    return tables


def breaking_point(points: Sequence[PerfPoint], target: float = 0.9) -> int | None:
    """The lowest concurrency whose ratio to ideal fell below target (None: none did)."""
    return next((p.concurrency for p in sorted(points, key=lambda p: p.concurrency)
                 if p.ratio < target), None)  # fmt: skip
