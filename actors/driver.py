"""The driver (in the `memp run` process): hosts the Scheduler, sends what it says to the fleet,
collects results as they finish (ray.wait streaming), records them durably, and feeds memory.
The rules (sync barrier, async version lag, re-dispatch, memory retries) live in
pipeline/orchestrate/scheduler.py.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

import ray
from rich.console import Console

from actors.fleet import Fleet
from actors.messages import CommitResult, EpisodeRequest, EpisodeResult
from actors.progress import Progress
from actors.telemetry import Telemetry
from pipeline.config import RunConfig
from pipeline.envs import get_suite
from pipeline.orchestrate.knee import KneeCap
from pipeline.orchestrate.plan import StreamPositions, TaskPlan, planned_total
from pipeline.orchestrate.scheduler import Dispatch, MemoryBatch, Scheduler
from pipeline.runlog import RunDir
from pipeline.summary import MemoryFigures, RunSummary
from pipeline.summary_pass import SummaryPass
from pipeline.task_source import task_stream
from pipeline.types import Trajectory

WAIT_S = 0.25  # ray.wait timeout: how often the loop looks at signals and redraws


@dataclass
class _Memory:
    batch: MemoryBatch
    chains: list[tuple[Any, Any]]  # (validate ref, distill ref) per trajectory: queue depths


@dataclass
class _Episode:
    dispatch: Dispatch
    worker: int


class Driver:
    """One run of the pipeline over a started fleet; `run()` returns the written summary."""

    def __init__(self, cfg: RunConfig, run_dir: RunDir, fleet: Fleet, console: Console,
                 show_progress: bool = True,
                 telemetry: Telemetry | None = None) -> None:  # fmt: skip
        self.cfg = cfg
        self.telemetry = telemetry or Telemetry(cfg)  # not serving: usage by role only
        self.rd = run_dir
        self.fleet = fleet
        self.sync = cfg.pipeline.mode == "sync"
        self.memory_on = cfg.memory.enabled
        p = cfg.pipeline
        suite = get_suite(cfg.env)
        self.progress = Progress(console, planned_total(suite, cfg), enabled=show_progress,
                                 every_s=p.progress_every_s)  # fmt: skip
        self.progress.errors = self.telemetry.errors  # shared: the view reads the live tally
        self.progress.retries = self.telemetry.retries
        self._group_shown = 0
        if self.sync:
            self.progress.set_group(0)
        # One pass over the logs: only uncommitted trajectories are kept (a long run's resume).
        self.plan = TaskPlan.for_run(suite, cfg, run_dir, seen=self.progress.add)
        ceiling = p.max_in_flight or p.rollout_workers * p.episodes_per_worker
        # Left unset in async mode, the cap follows throughput's knee; sync groups drain at every
        # barrier (no steady window to measure), and there the group size bounds concurrency.
        self.knee = KneeCap(ceiling) if p.max_in_flight is None and not self.sync else None
        self.sched = Scheduler(
            self.plan,
            sync=self.sync,
            memory_on=self.memory_on,
            max_in_flight=self.knee.cap if self.knee else ceiling,
            max_version_lag=p.max_version_lag,
            update_every=cfg.memory.update_every,
        )
        self.episodes: dict[Any, _Episode] = {}
        self.memory: dict[Any, _Memory] = {}
        self.load = [0] * len(fleet.workers)
        self.down: dict[Any, int] = {}  # ping ref -> worker that died and is being restarted
        # Memory work to send again once every memory actor answers (a call to an actor Ray is
        # still restarting fails at once, and would spend the retries in a second).
        self.waking: dict[Any, Any] = {}  # ping ref -> memory actor
        self.held: list[MemoryBatch] = []
        self.version = 0
        self.memory_error = ""  # the last memory failure that exhausted its retries

    # ---- main loop ----

    def run(self) -> RunSummary:
        started = time.perf_counter()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            with self.progress:
                if self.memory_on:
                    totals = ray.get(self.fleet.writer.totals.remote())
                    self.version = totals.version
                    self.telemetry.memory_totals(totals.size, totals.discarded, totals.version)
                    self._feed(self.sched.resume())
                self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self._summarize(time.perf_counter() - started)

    def _loop(self) -> None:
        sched = self.sched
        while True:
            if sched.hard_stop and self.episodes:
                for ref in self.episodes:  # not recorded: they run again on resume
                    ray.cancel(ref)
                    sched.on_cancelled()
                self.episodes.clear()
            self._dispatch()
            self._feed(sched.barrier())
            self._dispatch()  # the barrier may have opened the next group
            if self.sync and sched.group != self._group_shown:
                self._group_shown = sched.group
                self.progress.set_group(sched.group)
            if not self.episodes and not self.memory and not self.down and not self.waking:
                if sched.stalled():
                    raise RuntimeError("driver stalled: tasks left but nothing to wait for")
                last = sched.finish()
                if not last:
                    return
                self._feed(last)
            for ref in self._wait():
                if ref in self.episodes:
                    self._on_episode(ref, self.episodes.pop(ref))
                elif ref in self.down:
                    self._on_ping(ref, self.down.pop(ref))
                elif ref in self.waking:
                    self._on_wake(ref, self.waking.pop(ref))
                else:
                    self._on_commit(ref, self.memory.pop(ref))
            self.progress.in_flight = len(self.episodes)
            self.progress.draw()
            self._sample()
            self._follow_knee()

    def _sample(self, force: bool = False) -> None:
        """Queue depths for the exporter: rollout = episodes waiting for a worker's slot."""
        slots = self.cfg.pipeline.episodes_per_worker
        running = min(len(self.episodes), sum(min(n, slots) for n in self.load))
        waiting = len(self.sched.requeue) + len(self.episodes) - running
        chains = [c for m in self.memory.values() for c in m.chains]
        self.telemetry.sample(waiting, running, chains, force, cap=self.sched.max_in_flight)
        self.telemetry.pull_calls(self._call_sources())

    def _follow_knee(self) -> None:
        if self.knee is None:
            return
        s, t = self.sched, self.telemetry
        full = s.in_flight >= s.max_in_flight and not s.stopping
        s.max_in_flight = self.knee.observe(time.monotonic(), t.agent_steps, full,
                                            t.mean_agent_latency_s)  # fmt: skip
        self.progress.cap = s.max_in_flight

    def _call_sources(self) -> list[tuple[Any, bool]]:
        """Each actor's buffered-calls method, and whether summary.json sums what it returns."""
        fleet = self.fleet
        out = [(w.calls, True) for w in fleet.workers] + [
            (d.calls, False) for d in fleet.distillers
        ]
        if fleet.writer is not None:
            out += [(fleet.writer.calls, True), (fleet.writer.distill_calls, False)]
        return out

    def _wait(self) -> list[Any]:
        refs = [*self.episodes, *self.memory, *self.down, *self.waking]
        ready, rest = ray.wait(refs, num_returns=1, timeout=WAIT_S)
        if ready and rest:  # everything else already done, without waiting again
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        return ready

    def _on_signal(self, signum: int, frame: Any) -> None:
        # First signal: stop taking tasks, finish in-flight episodes. Second: stop waiting for them.
        self.sched.stop()
        self.progress.note = "stopping: finishing in-flight episodes (again to abandon them)"

    # ---- episodes ----

    def _dispatch(self) -> None:
        if not self._live():
            return
        for d in self.sched.next_dispatch():
            self._send(d)

    def _live(self) -> list[int]:
        down = set(self.down.values())
        return [w for w in range(len(self.load)) if w not in down]

    def _send(self, d: Dispatch) -> None:
        worker = min(self._live(), key=self.load.__getitem__)
        req = EpisodeRequest(task=d.task, attempt=d.attempt, writer_version=self.version)
        ref = self.fleet.workers[worker].run.remote(req)
        self.episodes[ref] = _Episode(d, worker)
        self.load[worker] += 1

    def _on_episode(self, ref: Any, ep: _Episode) -> None:
        self.load[ep.worker] -= 1
        result: EpisodeResult | None = None
        try:
            result = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            self.sched.on_cancelled()
            return
        except ray.exceptions.RayActorError as err:
            if ep.worker not in self.down.values():  # wait for its restart before using it again
                self.down[self.fleet.workers[ep.worker].ready.remote()] = ep.worker
            if self.sched.on_lost(ep.dispatch):  # runs once more, on a live worker
                return
            traj = self._failed(ep.dispatch, f"rollout worker died twice: {str(err)[:300]}")
        except ray.exceptions.RayError as err:
            traj = self._failed(ep.dispatch, f"rollout worker raised: {err}")
        else:
            traj = result.trajectory
            self.progress.llm_limit[result.worker] = result.llm_limit
        self.rd.record(traj)  # durable before memory acts on it
        self.telemetry.episode(traj, result)
        self.progress.add(traj)
        self._feed(self.sched.on_recorded(traj))

    def _on_ping(self, ref: Any, worker: int) -> None:
        try:
            ray.get(ref)
        except ray.exceptions.RayActorError:
            time.sleep(WAIT_S)  # still restarting: ask again
            self.down[self.fleet.workers[worker].ready.remote()] = worker

    def _failed(self, d: Dispatch, error: str) -> Trajectory:
        from pipeline.agent import episode_id  # rare path; keeps litellm out of the driver

        return Trajectory(
            id=episode_id(d.task, self.cfg.run.seed, d.attempt),
            task=d.task,
            model=self.cfg.agent.model,
            status="error",
            error=error[:500],
        )

    # ---- memory ----

    def _feed(self, batches: list[MemoryBatch]) -> None:
        """validator -> distiller -> writer, chained by object refs: the driver waits on the end."""
        fleet = self.fleet
        for batch in batches:
            checks = [fleet.validator.decide.remote(t) for t in batch.trajectories]
            distills = [fleet.distiller().distill.remote(v) for v in checks]
            ref = fleet.writer.commit.remote(*distills, group=batch.group)
            self.memory[ref] = _Memory(batch, list(zip(checks, distills, strict=True)))

    def _on_commit(self, ref: Any, mem: _Memory) -> None:
        try:
            result: CommitResult = ray.get(ref)
        except ray.exceptions.RayError as err:
            retry = self.sched.on_commit_failed(mem.batch)
            if not retry:  # counted in summary.json; a resume re-feeds them
                self.progress.note = f"memory work failed: {str(err).splitlines()[0][:120]}"
                self.memory_error = str(err).strip().splitlines()[-1][:300]
            self._hold(retry)
            return
        self.sched.on_committed(mem.batch)
        self.telemetry.commit(result)
        self.version = max(self.version, result.version)
        self.progress.memory_size = result.size
        self.progress.memory_version = self.version

    def _hold(self, batches: list[MemoryBatch]) -> None:
        """Send these again once the validator, distillers and writer all answer a ping."""
        if not batches:
            return
        self.held += batches
        if not self.waking:
            fleet = self.fleet
            for actor in [fleet.validator, *fleet.distillers, fleet.writer]:
                self.waking[actor.ready.remote()] = actor

    def _on_wake(self, ref: Any, actor: Any) -> None:
        try:
            ray.get(ref)
        except ray.exceptions.RayError:
            time.sleep(WAIT_S)  # still restarting: ask again
            self.waking[actor.ready.remote()] = actor
            return
        if not self.waking:
            batches, self.held = self.held, []
            self._feed(batches)

    # ---- the end ----

    def _summarize(self, wall_s: float) -> RunSummary:
        positions = None  # online: the learning curve runs over completion order
        if self.sync:  # groups by task order (exact sums: finish order and resumes do not count)
            # The plan forgets finished tasks (endless runs): read their positions once more.
            positions = StreamPositions(task_stream(get_suite(self.cfg.env), self.cfg.env))
        memory = MemoryFigures()
        if self.memory_on:
            memory = ray.get(self.fleet.writer.totals.remote())
            # A batch counted failed is retired: it never commits later in this run.
            memory = memory.model_copy(update={"failed": len(self.sched.failed)})
        self._sample(force=True)
        self.telemetry.final_pull(self._call_sources())
        # One pass over both logs: a long run is never loaded whole.
        logs = SummaryPass(self.cfg.pipeline.group_size, positions)
        logs.feed(self.rd.stream_trajectories(), self.rd.stream_commits())
        summary = logs.summary(
            memory=memory,
            wall_s=wall_s,
            model=self.cfg.agent.model,
            role_usage=self.telemetry.memory_usage([logs.commit_usage()]),
            llm_errors=self.telemetry.errors,
            llm_retries=self.telemetry.retries,
        )
        self.rd.write_summary(summary)
        return summary
