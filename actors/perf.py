"""Ray side of `memp perf pipeline`: streaming rollouts at a concurrency; lockstep baseline."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import ray

from actors.fleet import SPREAD_CPUS
from actors.messages import EpisodeRequest, EpisodeResult, WorkerStats
from actors.rollout import RolloutWorkerImpl, rollout_worker_cls
from actors.session import driver_node_affinity, start_ray
from actors.writer import memory_writer_cls
from pipeline.config import RunConfig
from pipeline.envs import get_suite
from pipeline.orchestrate.knee import KneeCap
from pipeline.perf.chat_server import server_process
from pipeline.perf.pipeline import (
    SERVER_KEY_ENV,
    PerfPoint,
    ideal_eps,
    perf_config,
    proc_cpu_s,
    run_lockstep,
    write_seed_pack,
)
from pipeline.perf.profile import per_step, sampling
from pipeline.perf.window import Reading, process_cores, worker_rates


def _ray_system_pids() -> list[int]:
    """raylet, GCS and agents of a Ray this process started (empty when we joined a cluster)."""
    node = getattr(ray._private.worker, "_global_node", None)
    procs = getattr(node, "all_processes", None) or {}
    return [info.process.pid for infos in procs.values() for info in infos if info.process]


def _cpu(pids: list[int]) -> dict[int, float]:
    return {pid: proc_cpu_s(pid) for pid in pids}


class PerfWorkerImpl(RolloutWorkerImpl):
    """A rollout worker that also plays lockstep batches: the baseline stays with the benchmark."""

    async def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    async def lockstep(self, tasks: list[Any]) -> dict[str, Any]:
        """The same episodes, every step waiting for the batch's slowest call."""
        started = time.perf_counter()
        trajs = await run_lockstep(tasks, self.suite, self.llm, self.cfg)
        return {"wall_s": time.perf_counter() - started, "steps": [t.n_steps for t in trajs]}


def _workers(cfg: RunConfig, writer: str | None = None) -> tuple[list[Any], list[int]]:
    """Rollout workers spread over the cluster's nodes (a token CPU share makes SPREAD apply)."""
    cls = rollout_worker_cls(cfg, PerfWorkerImpl)
    conf = cfg.model_dump(mode="json")
    spread = cls.options(scheduling_strategy="SPREAD", num_cpus=SPREAD_CPUS)
    workers = [spread.remote(conf, i, writer) for i in range(cfg.pipeline.rollout_workers)]
    return workers, ray.get([w.ready.remote() for w in workers])


@contextlib.contextmanager
def _writer(cfg: RunConfig) -> Any:
    """With memory on: a writer actor holding the seed pack, which serves every retrieval."""
    if not cfg.memory.enabled:
        yield None, []
        return
    name = f"memp-perf-writer-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="memp-perf-run-") as run_path:
        writer = (
            memory_writer_cls()
            .options(name=name, scheduling_strategy=driver_node_affinity())
            .remote(cfg.model_dump(mode="json"), run_path)
        )
        ray.get(writer.version.remote())  # the pack is imported before the first episode
        try:
            yield name, [ray.get(writer.ready.remote())]
        finally:
            ray.kill(writer)


class _Probe:
    """Stats from every worker, asked without waiting: the driver keeps refilling meanwhile."""

    def __init__(self, workers: list[Any], every_s: float = 0.5) -> None:
        self.workers = workers
        self.every_s = every_s
        self.refs: list[Any] = []
        self.answered = 0.0

    def ask(self) -> None:
        if not self.refs and time.perf_counter() >= self.answered + self.every_s:
            self.refs = [w.stats.remote() for w in self.workers]

    def answer(self) -> list[WorkerStats] | None:
        """Every worker's stats once all replied (then the probe can be asked again)."""
        if not self.refs:
            return None
        ready, _ = ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        if len(ready) < len(self.refs):
            return None
        stats, self.refs = ray.get(self.refs), []
        self.answered = time.perf_counter()
        return stats


class _Mark(NamedTuple):
    """The window's edge: workers' own readings, and outside processes' CPU read by the driver."""

    at: float
    stats: list[WorkerStats]
    outside: dict[int, float]

    @property
    def readings(self) -> dict[int, Reading]:
        return {st.pid: Reading(st.agent_calls, st.clock_s, st.cpu_s) for st in self.stats}


def streaming(
    cfg: RunConfig,
    concurrency: int,
    warmup_s: float,
    window_s: float,
    server_pid: int | None = None,
    profile: bool = True,
    keep: Path | None = None,
    follow_knee: bool = False,
) -> PerfPoint:
    """Keep `concurrency` episodes in flight; measure agent steps/s inside the window.

    Steps, not finished episodes, are counted: with episodes ~30 model latencies long, a short
    window of finishes over-samples short episodes; the step rate is steady after one latency.
    The warm-up starts once every initial episode is admitted by its worker (a burst of
    thousands of actor calls takes the workers tens of seconds to take in)."""
    with _writer(cfg) as (writer, writer_pids):
        return _streaming(cfg, concurrency, warmup_s, window_s, server_pid, profile, keep,
                          writer, writer_pids, follow_knee)  # fmt: skip


def _streaming(
    cfg: RunConfig,
    concurrency: int,
    warmup_s: float,
    window_s: float,
    server_pid: int | None,
    profile: bool,
    keep: Path | None,
    writer: str | None,
    writer_pids: list[int],
    follow_knee: bool = False,
) -> PerfPoint:
    workers, pids = _workers(cfg, writer)
    # Read from /proc by the driver; the workers read their own CPU with their counters.
    outside = [
        os.getpid(),
        *writer_pids,
        *_ray_system_pids(),
        *([server_pid] if server_pid else []),
    ]
    tasks = iter(get_suite(cfg.env).tasks("endless"))
    load = [0] * len(workers)
    flying: dict[Any, int] = {}
    finished: list[int] = []

    def send() -> None:
        w = min(range(len(workers)), key=load.__getitem__)
        flying[workers[w].run.remote(EpisodeRequest(task=next(tasks)))] = w
        load[w] += 1

    # --follow-knee: `concurrency` is the ceiling, the driver's rule picks what flies; the
    # window opens once it holds a level.
    knee = KneeCap(concurrency) if follow_knee else None

    def cap() -> int:
        return knee.cap if knee else concurrency

    def top_up() -> None:
        while len(flying) < cap():
            send()

    top_up()
    sent = time.perf_counter()
    probe = _Probe(workers)
    admitted: float | None = None
    first: _Mark | None = None
    last: _Mark | None = None
    samples: dict[int, Any] = {}
    with contextlib.ExitStack() as sampler:
        while last is None:
            _collect(flying, load, finished, top_up)
            now = time.perf_counter()
            due = (admitted is None or (first is None and now >= admitted + warmup_s)
                   or (first is not None and now >= first.at + window_s))  # fmt: skip
            if due:
                probe.ask()
            stats = probe.answer()
            if stats is None:
                continue
            now = time.perf_counter()
            if admitted is None and knee is not None:
                steps = sum(st.agent_calls for st in stats)
                knee.observe(now, steps, True, cfg.sim.latency.mean_s)
                top_up()
                if not knee.climbing and knee.history:
                    admitted = now
            elif admitted is None:
                if sum(st.started for st in stats) >= concurrency:
                    admitted = now
            elif first is None:
                first = _Mark(now, stats, _cpu(outside))
                if profile:  # the driver and workers; Ray's own daemons are all Ray's
                    samples = sampler.enter_context(
                        sampling([os.getpid(), *pids, *writer_pids], window_s, keep)
                    )
            else:
                last = _Mark(now, stats, _cpu(outside))
    assert admitted is not None and first is not None
    nodes = len(set(ray.get([w.node.remote() for w in workers])))
    for w in workers:
        ray.kill(w)
    rates = worker_rates(first.readings, last.readings)
    cores = {**process_cores(first.outside, last.outside, last.at - first.at),
             **rates.cores_by_pid}  # fmt: skip
    server_cores = cores.pop(server_pid, None) if server_pid else None
    steps_s = rates.steps_per_s
    mean_steps = sum(finished) / len(finished) if finished else float(cfg.env.step_limit)
    eps = steps_s / mean_steps
    # Under --follow-knee the ideal is the held level's: `concurrency` is only its ceiling.
    ideal = ideal_eps(cap(), mean_steps, cfg.sim.latency.mean_s)
    return PerfPoint(
        concurrency=concurrency,
        episodes=len(finished),
        mean_steps=round(mean_steps, 2),
        steps_per_s=round(steps_s, 2),
        eps=round(eps, 3),
        ideal_eps=round(ideal, 3),
        ratio=round(eps / ideal, 3) if ideal else 0.0,
        cpu_ms_per_step=round(1000 * sum(cores.values()) / steps_s, 3) if steps_s else 0.0,
        server_cpu_ms_per_step=(
            round(1000 * server_cores / steps_s, 3)
            if steps_s and server_cores is not None
            else None
        ),
        parts_ms_per_step=per_step(cores, samples, steps_s) if samples else None,
        call_limit=sum(st.llm_limit for st in last.stats),
        nodes=nodes,
        admit_s=round(admitted - sent, 2),
        held_at=knee.cap if knee else None,
        knee_path=[(lv.cap, round(lv.steps_per_s, 1)) for lv in knee.history] if knee else None,
    )


def _collect(flying: dict[Any, int], load: list[int], finished: list[int], top_up: Any) -> None:
    """Wait briefly for finished episodes; `top_up` refills the slots they freed."""
    ready, rest = ray.wait(list(flying), num_returns=1, timeout=0.2)
    if ready and rest:
        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
        ready += more
    for ref in ready:
        load[flying.pop(ref)] -= 1
        result: EpisodeResult = ray.get(ref)
        finished.append(result.trajectory.n_steps)
    top_up()


def lockstep(cfg: RunConfig, concurrency: int) -> float:
    """Agent steps/s of one lockstep batch per worker (concurrency split across workers)."""
    workers, _ = _workers(cfg)
    tasks = list(itertools.islice(get_suite(cfg.env).tasks("endless"), concurrency))
    shares = [tasks[i :: len(workers)] for i in range(len(workers))]
    started = time.perf_counter()
    done = ray.get([w.lockstep.remote(share) for w, share in zip(workers, shares, strict=True)])
    wall = time.perf_counter() - started
    for w in workers:
        ray.kill(w)
    return sum(sum(d["steps"]) for d in done) / wall


def bench_pipeline(
    concurrencies: list[int],
    *,
    workers: int = 2,
    latency_s: float = 1.0,
    sigma: float = 0.5,
    warmup_s: float = 5.0,
    window_s: float = 20.0,
    lockstep_at: list[int] | None = None,
    address: str | None = None,
    server: bool = False,
    profile: bool = True,
    profile_out: Path | None = None,
    memory: int = 0,
    follow_knee: bool = False,
) -> list[PerfPoint]:
    """Streaming at each concurrency; the lockstep baseline where asked (it is slow by design).

    server: the agent calls a local OpenAI-compatible chat server (own process) over HTTP.
    memory: every episode first retrieves from a store seeded with this many procedures.
    follow_knee: each level is a ceiling; `memp run`'s knee rule chooses the episodes in flight."""
    with contextlib.ExitStack() as stack:
        url, pid, pack = None, None, None
        if memory:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="memp-perf-")))
            pack = write_seed_pack(tmp / "seed.jsonl", memory)
        if server:
            os.environ.setdefault(SERVER_KEY_ENV, "perf-unused")  # before Ray: workers inherit it
            url, pid = stack.enter_context(
                server_process(latency_s, sigma, episodes=max(concurrencies))
            )
        start_ray(address)
        return _levels(concurrencies, workers, latency_s, sigma, warmup_s, window_s,
                       lockstep_at or [], url, pid, profile, profile_out, pack,
                       follow_knee)  # fmt: skip


def _levels(
    concurrencies: list[int],
    workers: int,
    latency_s: float,
    sigma: float,
    warmup_s: float,
    window_s: float,
    lockstep_at: list[int],
    url: str | None,
    pid: int | None,
    profile: bool,
    profile_out: Path | None,
    pack: Path | None = None,
    follow_knee: bool = False,
) -> list[PerfPoint]:
    points = []
    for c in concurrencies:
        cfg = perf_config(c, workers, latency_s, sigma, url, pack)
        keep = profile_out / f"in-flight-{c}" if profile_out else None
        point = streaming(cfg, c, warmup_s, window_s, pid, profile, keep, follow_knee)
        if c in lockstep_at:
            # Compared in steps/s: the same kind of work, without the finished-episode sample bias.
            lock = lockstep(cfg, c)
            point.lockstep_steps_per_s = round(lock, 2)
            point.streaming_over_lockstep = round(point.steps_per_s / lock, 2) if lock else None
        points.append(point)
    return points
