"""Ray side of `memp perf pipeline`: streaming rollouts at a concurrency; lockstep baseline."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import ray

from actors.fleet import SPREAD_CPUS
from actors.messages import EpisodeRequest, EpisodeResult
from actors.rollout import RolloutWorkerImpl, rollout_worker_cls
from actors.session import driver_node_affinity, start_ray
from actors.writer import memory_writer_cls
from pipeline.config import RunConfig
from pipeline.envs import get_suite
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


def _steps(workers: list[Any]) -> int:
    return sum(st.agent_calls for st in ray.get([w.stats.remote() for w in workers]))


def streaming(
    cfg: RunConfig,
    concurrency: int,
    warmup_s: float,
    window_s: float,
    server_pid: int | None = None,
    profile: bool = True,
    keep: Path | None = None,
) -> PerfPoint:
    """Keep `concurrency` episodes in flight; measure agent steps/s inside the window.

    Steps, not finished episodes, are counted: with episodes ~30 model latencies long, a short
    window of finishes over-samples short episodes; the step rate is steady after one latency.
    """
    with _writer(cfg) as (writer, writer_pids):
        return _streaming(cfg, concurrency, warmup_s, window_s, server_pid, profile, keep,
                          writer, writer_pids)  # fmt: skip


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
) -> PerfPoint:
    workers, pids = _workers(cfg, writer)
    pids = [*pids, *writer_pids]  # the writer serves retrievals: its CPU is memp's
    all_pids = [os.getpid(), *pids, *_ray_system_pids()]
    tasks = iter(get_suite(cfg.env).tasks("endless"))
    load = [0] * len(workers)
    flying: dict[Any, int] = {}
    finished: list[int] = []

    def send() -> None:
        w = min(range(len(workers)), key=load.__getitem__)
        flying[workers[w].run.remote(EpisodeRequest(task=next(tasks)))] = w
        load[w] += 1

    for _ in range(concurrency):
        send()
    start = time.perf_counter() + warmup_s
    end = start + window_s
    mark: tuple[float, dict[int, float], int] | None = None  # (time, cpu, steps) at the start
    samples: dict[int, Any] = {}
    with contextlib.ExitStack() as sampler:
        while (now := time.perf_counter()) < end:
            if mark is None and now >= start:
                if profile:  # the driver and workers; Ray's own daemons are all Ray's
                    samples = sampler.enter_context(sampling([os.getpid(), *pids], end - now, keep))
                mark = (now, _cpu(all_pids), _steps(workers))
                server_mark = proc_cpu_s(server_pid) if server_pid else 0.0
            _collect(flying, load, finished, send)
        assert mark is not None
        stats = ray.get([w.stats.remote() for w in workers])
        steps = sum(st.agent_calls for st in stats) - mark[2]
        cpu_end = _cpu(all_pids)
        server_cpu = proc_cpu_s(server_pid) - server_mark if server_pid else None
        elapsed = time.perf_counter() - mark[0]
    cpu_by_pid = {pid: cpu_end[pid] - mark[1][pid] for pid in all_pids}
    cpu = sum(cpu_by_pid.values())
    nodes = len(set(ray.get([w.node.remote() for w in workers])))
    for w in workers:
        ray.kill(w)
    mean_steps = sum(finished) / len(finished) if finished else float(cfg.env.step_limit)
    eps = steps / elapsed / mean_steps
    ideal = ideal_eps(concurrency, mean_steps, cfg.sim.latency.mean_s)
    parts = per_step(cpu_by_pid, samples, steps) if samples else None
    return PerfPoint(
        concurrency=concurrency,
        episodes=len(finished),
        mean_steps=round(mean_steps, 2),
        steps_per_s=round(steps / elapsed, 2),
        eps=round(eps, 3),
        ideal_eps=round(ideal, 3),
        ratio=round(eps / ideal, 3) if ideal else 0.0,
        cpu_ms_per_step=round(1000 * cpu / steps, 3) if steps else 0.0,
        server_cpu_ms_per_step=(
            round(1000 * server_cpu / steps, 3) if steps and server_cpu is not None else None
        ),
        parts_ms_per_step=parts,
        call_limit=sum(st.llm_limit for st in stats),
        nodes=nodes,
    )


def _collect(flying: dict[Any, int], load: list[int], finished: list[int], send: Any) -> None:
    """Wait briefly for finished episodes; each one frees a slot that `send` refills."""
    ready, rest = ray.wait(list(flying), num_returns=1, timeout=0.2)
    if ready and rest:
        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
        ready += more
    for ref in ready:
        load[flying.pop(ref)] -= 1
        result: EpisodeResult = ray.get(ref)
        finished.append(result.trajectory.n_steps)
        send()


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
) -> list[PerfPoint]:
    """Streaming at each concurrency; the lockstep baseline where asked (it is slow by design).

    server: the agent calls a local OpenAI-compatible chat server (own process) over HTTP.
    memory: every episode first retrieves from a store seeded with this many procedures."""
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
                       lockstep_at or [], url, pid, profile, profile_out, pack)  # fmt: skip


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
) -> list[PerfPoint]:
    points = []
    for c in concurrencies:
        cfg = perf_config(c, workers, latency_s, sigma, url, pack)
        keep = profile_out / f"in-flight-{c}" if profile_out else None
        point = streaming(cfg, c, warmup_s, window_s, pid, profile, keep)
        if c in lockstep_at:
            # Compared in steps/s: the same kind of work, without the finished-episode sample bias.
            lock = lockstep(cfg, c)
            point.lockstep_steps_per_s = round(lock, 2)
            point.streaming_over_lockstep = round(point.steps_per_s / lock, 2) if lock else None
        points.append(point)
    return points
