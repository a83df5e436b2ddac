"""The driver (in the `memp run` process): feeds tasks under bounded in-flight work, collects
results as they finish (ray.wait streaming), records them durably, then feeds memory.

sync mode: groups of pipeline.group_size tasks; group g+1 starts once group g's ops are applied.
async mode: no barrier; a new episode starts only while at most pipeline.max_version_lag recorded
trajectories await their memory commit. Each commit bumps the version at most once, so a new
episode's memory view misses at most max_version_lag versions that finished work would bring
(0 = start nothing until memory has caught up with every recorded trajectory).
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
from actors.plan import TaskPlan, figures_by_group, planned_total
from actors.progress import Progress
from actors.telemetry import Telemetry
from pipeline.config import RunConfig
from pipeline.envs import get_suite
from pipeline.runlog import RunDir
from pipeline.summary import MemoryFigures, RunSummary, summarize
from pipeline.types import Task, Trajectory

MEMORY_ATTEMPTS = 3  # memory work is idempotent by op id, so retrying a failed chain is safe
WAIT_S = 0.25  # ray.wait timeout: how often the loop looks at signals and redraws


@dataclass
class _Episode:
    task: Task
    worker: int
    attempt: int


@dataclass
class _Memory:
    trajectories: list[Trajectory]
    group: int | None
    attempt: int
    chains: list[tuple[Any, Any]]  # (validate ref, distill ref) per trajectory: queue depths


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
        self.max_in_flight = p.max_in_flight or p.rollout_workers * p.episodes_per_worker
        suite = get_suite(cfg.env)
        self.plan = TaskPlan(suite, cfg, run_dir.recorded_trajectories())
        self.committed = {tid for c in run_dir.recorded_commits() for tid in c.trajectory_ids}
        self.pending: set[str] = set()  # trajectory ids whose memory commit is outstanding
        self.abandoned: set[str] = set()  # memory work that failed MEMORY_ATTEMPTS times
        self.episodes: dict[Any, _Episode] = {}
        self.memory: dict[Any, _Memory] = {}
        self.load = [0] * len(fleet.workers)
        self.down: dict[Any, int] = {}  # ping ref -> worker that died and is being restarted
        self.requeue: list[_Episode] = []  # episodes lost with a worker, waiting for a live one
        self.version = 0
        self.group = 0
        self.stopping = False
        self.hard_stop = False
        self.progress = Progress(console, planned_total(suite, cfg), enabled=show_progress,
                                 every_s=p.progress_every_s)  # fmt: skip
        self.progress.errors = self.telemetry.errors  # shared: the view reads the live tally
        if self.sync:
            self.progress.set_group(0)
        for traj in self.plan.recorded.values():
            self.progress.add(traj)

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
                    if not self.sync:  # recorded before a crash, memory work unfinished
                        self._feed_memory(self._uncommitted(), None)
                self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self._summarize(time.perf_counter() - started)

    def _loop(self) -> None:
        while True:
            if self.hard_stop and self.episodes:
                for ref in self.episodes:  # not recorded: they run again on resume
                    ray.cancel(ref)
                self.episodes.clear()
            self._dispatch()
            self._barrier()
            self._dispatch()  # the barrier may have opened the next group
            if not self.episodes and not self.memory and not self.down:
                if not (self.plan.exhausted or self.stopping):
                    raise RuntimeError("driver stalled: tasks left but nothing to wait for")
                left = self._uncommitted()
                if not left:
                    return
                self._feed_memory(left, self.group if self.sync else None)  # flush on stop
            for ref in self._wait():
                if ref in self.episodes:
                    self._on_episode(ref, self.episodes.pop(ref))
                elif ref in self.down:
                    self._on_ping(ref, self.down.pop(ref))
                else:
                    self._on_commit(ref, self.memory.pop(ref))
            self.progress.in_flight = len(self.episodes)
            self.progress.draw()
            self._sample()

    def _sample(self, force: bool = False) -> None:
        """Queue depths for the exporter: rollout = episodes waiting for a worker's slot."""
        slots = self.cfg.pipeline.episodes_per_worker
        running = min(len(self.episodes), sum(min(n, slots) for n in self.load))
        waiting = len(self.requeue) + len(self.episodes) - running
        chains = [c for m in self.memory.values() for c in m.chains]
        self.telemetry.sample(waiting, running, chains, force)
        fleet = self.fleet
        self.telemetry.pull_calls([*fleet.workers, *fleet.distillers, fleet.writer])

    def _wait(self) -> list[Any]:
        refs = [*self.episodes, *self.memory, *self.down]
        ready, rest = ray.wait(refs, num_returns=1, timeout=WAIT_S)
        if ready and rest:  # everything else already done, without waiting again
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        return ready

    def _on_signal(self, signum: int, frame: Any) -> None:
        # First signal: stop taking tasks, finish in-flight episodes. Second: stop waiting for them.
        self.hard_stop = self.stopping
        self.stopping = True
        self.progress.note = "stopping: finishing in-flight episodes (again to abandon them)"

    # ---- episodes ----

    def _dispatch(self) -> None:
        while self.requeue and not self.hard_stop and self._live():
            ep = self.requeue.pop(0)
            self._send(ep.task, ep.attempt)
        while not self.stopping and len(self.episodes) < self.max_in_flight and self._live():
            nxt = self.plan.peek()
            if nxt is None:
                return
            if self.sync and nxt[0] // self.cfg.pipeline.group_size != self.group:
                return
            if (
                not self.sync
                and self.memory_on
                and len(self.pending) > self.cfg.pipeline.max_version_lag
            ):
                return
            self._send(self.plan.pop(), attempt=0)

    def _live(self) -> list[int]:
        down = set(self.down.values())
        return [w for w in range(len(self.load)) if w not in down]

    def _send(self, task: Task, attempt: int) -> None:
        worker = min(self._live(), key=self.load.__getitem__)
        req = EpisodeRequest(task=task, attempt=attempt, writer_version=self.version)
        ref = self.fleet.workers[worker].run.remote(req)
        self.episodes[ref] = _Episode(task, worker, attempt)
        self.load[worker] += 1

    def _on_episode(self, ref: Any, ep: _Episode) -> None:
        self.load[ep.worker] -= 1
        result: EpisodeResult | None = None
        try:
            result = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return
        except ray.exceptions.RayActorError as err:
            if ep.worker not in self.down.values():  # wait for its restart before using it again
                self.down[self.fleet.workers[ep.worker].ready.remote()] = ep.worker
            if ep.attempt == 0:  # the worker died under it: once more, on a live worker
                self.requeue.append(_Episode(ep.task, -1, attempt=1))
                return
            traj = self._failed(ep, f"rollout worker died twice: {str(err)[:300]}")
        except ray.exceptions.RayError as err:
            traj = self._failed(ep, f"rollout worker raised: {err}")
        else:
            traj = result.trajectory
            self.progress.llm_limit[result.worker] = result.llm_limit
        self.rd.record(traj)  # durable before memory acts on it
        self.telemetry.episode(traj, result)
        self.plan.record(traj)
        self.progress.add(traj)
        if self.memory_on and not self.sync:
            self._feed_memory([traj], None)

    def _on_ping(self, ref: Any, worker: int) -> None:
        try:
            ray.get(ref)
        except ray.exceptions.RayActorError:
            time.sleep(WAIT_S)  # still restarting: ask again
            self.down[self.fleet.workers[worker].ready.remote()] = worker

    def _failed(self, ep: _Episode, error: str) -> Trajectory:
        from pipeline.agent import episode_id  # rare path; keeps litellm out of the driver

        return Trajectory(
            id=episode_id(ep.task, self.cfg.run.seed, ep.attempt),
            task=ep.task,
            model=self.cfg.agent.model,
            status="error",
            error=error[:500],
        )

    # ---- memory ----

    def _uncommitted(self) -> list[Trajectory]:
        if not self.memory_on:
            return []
        skip = self.committed | self.pending | self.abandoned
        found = [t for t in self.plan.recorded.values() if t.id not in skip]
        return sorted(found, key=lambda t: self.plan.position.get(t.task.id, 0))

    def _feed_memory(self, trajs: list[Trajectory], group: int | None, attempt: int = 0) -> None:
        """validator -> distiller -> writer, chained by object refs: the driver waits on the end."""
        if not trajs:
            return
        fleet = self.fleet
        checks = [fleet.validator.decide.remote(t) for t in trajs]
        distills = [fleet.distiller().distill.remote(v) for v in checks]
        ref = fleet.writer.commit.remote(*distills, group=group)
        self.memory[ref] = _Memory(trajs, group, attempt, list(zip(checks, distills, strict=True)))
        self.pending.update(t.id for t in trajs)

    def _on_commit(self, ref: Any, mem: _Memory) -> None:
        ids = {t.id for t in mem.trajectories}
        self.pending -= ids
        try:
            result: CommitResult = ray.get(ref)
        except ray.exceptions.RayError as err:
            if mem.attempt + 1 < MEMORY_ATTEMPTS:
                self._feed_memory(mem.trajectories, mem.group, mem.attempt + 1)
            else:  # left for a resume to re-feed; the run goes on without them
                self.abandoned |= ids
                self.progress.note = f"memory work failed: {str(err).splitlines()[0][:120]}"
            return
        self.committed |= ids
        self.telemetry.commit(result)
        self.version = max(self.version, result.version)
        self.progress.memory_size = result.size
        self.progress.memory_version = self.version

    def _barrier(self) -> None:
        """sync mode: close the current group once all its tasks are recorded, then move on."""
        if not self.sync or self.episodes or self.memory:
            return
        last_group = max(self.plan.position.values(), default=0) // self.cfg.pipeline.group_size
        while self.plan.seen_through(self.group) and not self.stopping:
            skip = self.committed | self.abandoned
            left = [t for t in self.plan.in_group(self.group) if t.id not in skip]
            if self.memory_on and left:
                self._feed_memory(left, self.group)
                return
            if self.plan.exhausted and self.group >= last_group:
                return
            self.group += 1
            self.progress.set_group(self.group)

    # ---- the end ----

    def _summarize(self, wall_s: float) -> RunSummary:
        trajs = self.rd.recorded_trajectories()
        size = self.cfg.pipeline.group_size
        if self.sync:
            group_of = {t.id: self.plan.group_of(t.task.id) for t in trajs}
        else:  # online: the learning curve runs over completion order
            group_of = {t.id: i // size for i, t in enumerate(trajs)}
        memory = MemoryFigures()
        if self.memory_on:
            memory = MemoryFigures(**ray.get(self.fleet.writer.totals.remote()).model_dump())
        self._sample(force=True)
        fleet = self.fleet
        self.telemetry.final_pull([*fleet.workers, *fleet.distillers, fleet.writer])
        summary = summarize(
            trajs,
            groups=figures_by_group(trajs, group_of, self.rd.recorded_commits()),
            memory=memory,
            wall_s=wall_s,
            model=self.cfg.agent.model,
            role_usage=self.telemetry.memory_usage(),
            llm_errors=self.telemetry.errors,
        )
        self.rd.write_summary(summary)
        return summary
