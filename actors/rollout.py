"""RolloutWorker: an async actor running many episodes as coroutines under one capacity limit."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import anyio
import ray

from actors.messages import EpisodeRequest, EpisodeResult, WorkerStats
from actors.telemetry import recorder
from pipeline.config import RunConfig
from pipeline.metrics import CallRow
from pipeline.perf.heap import HeapProbe
from pipeline.types import Trajectory

if TYPE_CHECKING:
    from actors.reader import MemoryReader

# Control calls (stats, ping) must never queue behind a full house of episodes.
CONTROL_SLOTS = 8


class RolloutWorkerImpl:
    """Hosts the env suite, one LLM client (one AdaptiveLimiter per process) and a memory reader."""

    def __init__(self, config: dict[str, Any], index: int, writer: str | None = None) -> None:
        # Imported here, not at module level: the driver imports this module too and must not
        # pay for litellm/qdrant (seconds of CPU on a small machine).
        from pipeline.envs import get_suite
        from pipeline.gc_tuning import tune_for_many_coroutines
        from pipeline.llm import LLMClient, add_observer, is_sim

        self.cfg = RunConfig.model_validate(config)
        self.index = index
        self.writer = writer
        self.suite = get_suite(self.cfg.env)
        self.llm = LLMClient(self.cfg.agent, self.cfg.sim, seed=self.cfg.run.seed)
        if is_sim(self.cfg.agent.model):
            from pipeline.sim import size_caches

            size_caches(self.cfg.pipeline.episodes_per_worker)
        self.reader: MemoryReader | None = None
        self.in_flight = 0
        self.started = 0
        self.agent_calls = 0  # answered agent-model calls = agent steps taken, for throughput
        add_observer(self._on_call)
        recorder()  # ships this process's LLM calls (agent, server-mode retrieval) on results
        self._slots: anyio.CapacityLimiter | None = None
        self._heap = HeapProbe(f"rollout{index}")  # MEMP_HEAP_DIR: what grows over a soak
        tune_for_many_coroutines()  # after start-up, so its objects are frozen out of GC passes

    def _on_call(self, event: Any) -> None:
        if event.role == "agent" and event.error is None:
            self.agent_calls += 1

    @property
    def slots(self) -> anyio.CapacityLimiter:
        # anyio primitives belong to the actor's event loop; create them inside it.
        if self._slots is None:
            self._slots = anyio.CapacityLimiter(self.cfg.pipeline.episodes_per_worker)
        return self._slots

    async def _memory(self) -> MemoryReader | None:
        if not self.cfg.memory.enabled:
            return None
        if self.reader is None:
            from actors.reader import MemoryReader
            from pipeline.memory.stack import MemoryStack

            stack = MemoryStack.from_config(self.cfg, language=self.suite.language, llm=self.llm)
            self.reader = await MemoryReader.open(stack, self.writer)
        return self.reader

    async def run(self, req: EpisodeRequest) -> EpisodeResult:
        """Retrieve, play, return; every failure comes back as a Trajectory with a status."""
        self.started += 1
        async with self.slots:
            self.in_flight += 1
            try:
                traj = await self._episode(req)
            finally:
                self.in_flight -= 1
        self._heap.tick()
        failed = (traj.error or "").startswith("memory retrieval")
        retrieved = self.cfg.memory.enabled and not failed
        return EpisodeResult(
            trajectory=traj,
            worker=self.index,
            llm_limit=self.llm.limiter.current,
            retrieved=retrieved,
            calls=recorder().rows(),
        )

    async def calls(self) -> list[CallRow]:
        """LLM calls not shipped yet (the driver's final pull)."""
        return recorder().rows()

    async def _episode(self, req: EpisodeRequest) -> Trajectory:
        from pipeline.agent import episode_id, run_episode

        text, ids, version, latency = None, None, req.writer_version, 0.0
        memory = await self._memory()
        if memory is not None:
            try:
                with anyio.fail_after(self.cfg.agent.episode_timeout_s):
                    retrieval = await memory.retrieve(req.task, req.writer_version)
            except Exception as err:  # no memory, no episode: a run without it would skew figures
                return Trajectory(
                    id=episode_id(req.task, self.cfg.run.seed, req.attempt),
                    task=req.task,
                    model=self.cfg.agent.model,
                    status="timeout" if isinstance(err, TimeoutError) else "error",
                    error=f"memory retrieval: {type(err).__name__}: {err}"[:500],
                )
            text, ids = retrieval.text, retrieval.procedure_ids
            version, latency = retrieval.version, retrieval.latency_s
        return await run_episode(
            req.task,
            self.suite,
            self.llm,
            self.cfg.agent,
            self.cfg.env,
            run_seed=self.cfg.run.seed,
            memory_text=text,
            memory_ids=ids,
            memory_version=version,
            retrieval_latency_s=latency,
            attempt=req.attempt,
        )

    async def stats(self) -> WorkerStats:
        times = os.times()
        return WorkerStats(
            worker=self.index,
            pid=os.getpid(),
            in_flight=self.in_flight,
            started=self.started,
            agent_calls=self.agent_calls,
            llm_limit=self.llm.limiter.current,
            cpu_s=times.user + times.system,
            clock_s=time.monotonic(),
        )

    async def ready(self) -> int:
        return os.getpid()


def rollout_worker_cls(cfg: RunConfig, impl: type[RolloutWorkerImpl] = RolloutWorkerImpl) -> Any:
    """The Ray actor class with restarts; re-dispatch of lost episodes is the driver's job."""
    return ray.remote(
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=0,
        max_concurrency=cfg.pipeline.episodes_per_worker + CONTROL_SLOTS,
    )(impl)
