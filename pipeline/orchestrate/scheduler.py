"""The run's scheduling rules as a plain state machine; the driver hosts it and moves messages.

sync mode: groups of pipeline.group_size tasks; group g+1 starts once group g's memory is
committed, and a group is committed only whole (every task recorded), in task order, so results
do not depend on finish order, on a stop or on a resume.
async mode: no barrier; recorded trajectories go to memory in batches of memory.update_every.
A new episode starts only while at most pipeline.max_version_lag batches await their commit; a
commit bumps the version at most once, so a new episode's memory view misses at most
max_version_lag versions that finished work would bring (0: start nothing until memory caught up).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.orchestrate.plan import TaskPlan
from pipeline.types import Task, Trajectory

MEMORY_ATTEMPTS = 3  # memory work is idempotent by op id, so retrying a failed batch is safe


@dataclass(frozen=True)
class Dispatch:
    task: Task
    attempt: int  # > 0: a worker died under an earlier attempt


@dataclass
class MemoryBatch:
    """Trajectories whose memory work goes to the writer as one commit."""

    trajectories: list[Trajectory]
    group: int | None  # sync mode: the group this commit closes
    attempt: int = 0

    @property
    def ids(self) -> set[str]:
        return {t.id for t in self.trajectories}


class Scheduler:
    """What to dispatch next and which memory work to send; knows nothing of Ray or workers."""

    def __init__(
        self,
        plan: TaskPlan,
        *,
        sync: bool,
        memory_on: bool,
        max_in_flight: int,
        max_version_lag: int = 0,
        update_every: int = 1,
        committed: set[str] | None = None,
        memory_attempts: int = MEMORY_ATTEMPTS,
    ) -> None:
        self.plan = plan
        self.sync = sync
        self.memory_on = memory_on
        self.max_in_flight = max_in_flight
        self.max_version_lag = max_version_lag
        self.update_every = 1 if sync else update_every  # sync commits once per group
        self.memory_attempts = memory_attempts
        self.pending: set[str] = set()  # trajectory ids sent to memory, commit outstanding
        self.failed: set[str] = set()  # memory work that failed memory_attempts times
        self.memory_retries = 0  # batches sent again after a failure (an actor died, a model)
        self.buffer: list[Trajectory] = []  # async: recorded, waiting for a full batch
        self.outstanding = 0  # batches sent, not committed or failed
        self.in_flight = 0  # episodes dispatched, not recorded
        self.requeue: list[Dispatch] = []  # episodes lost with a worker, to run once more
        self.group = 0
        self.stopping = False
        self.hard_stop = False
        done = set(committed or ())
        for traj in list(plan.recorded.values()):  # a resume: work done before needs no state
            if not memory_on or traj.id in done:
                plan.retire(traj.task.id)

    # ---- signals ----

    def stop(self) -> None:
        """First call: take no new tasks, finish in-flight ones. Second: abandon them too."""
        self.hard_stop = self.stopping
        self.stopping = True

    # ---- episodes ----

    def next_dispatch(self, capacity: int | None = None) -> list[Dispatch]:
        """Episodes to start now (lost ones first), at most `capacity` of them."""
        room = self.max_in_flight - self.in_flight if capacity is None else capacity
        out: list[Dispatch] = []
        while self.requeue and not self.hard_stop and len(out) < room:
            out.append(self.requeue.pop(0))
            self.in_flight += 1
        while not self.stopping and len(out) < room and self._may_start():
            out.append(Dispatch(self.plan.pop(), 0))
            self.in_flight += 1  # counted now: the rules above see it
        return out

    def _may_start(self) -> bool:
        if self.in_flight >= self.max_in_flight:
            return False
        nxt = self.plan.peek()
        if nxt is None:
            return False
        if self.sync:
            return nxt[0] // self.plan.group_size == self.group
        return not self.memory_on or self.outstanding <= self.max_version_lag

    def on_lost(self, dispatch: Dispatch) -> bool:
        """A worker died under this episode: True = it runs once more, False = record a failure."""
        if dispatch.attempt > 0:
            return False  # still in flight: on_recorded of the failure trajectory ends it
        self.in_flight -= 1
        self.requeue.append(Dispatch(dispatch.task, 1))
        return True

    def on_cancelled(self) -> None:
        self.in_flight -= 1

    def on_recorded(self, traj: Trajectory) -> list[MemoryBatch]:
        """A trajectory is durable; async mode may have a batch of memory work to send."""
        self.in_flight -= 1
        if not self.memory_on:
            self.plan.retire(traj.task.id)
            return []
        self.plan.record(traj)
        if self.sync:
            return []
        self.buffer.append(traj)
        if len(self.buffer) < self.update_every:
            return []
        batch, self.buffer = self.buffer, []
        return self._send(batch, None)

    # ---- memory ----

    def resume(self) -> list[MemoryBatch]:
        """async mode: memory work recorded before a crash and never committed."""
        if self.sync or not self.memory_on:
            return []
        left = self._uncommitted()
        step = self.update_every
        return [b for i in range(0, len(left), step) for b in self._send(left[i : i + step], None)]

    def _uncommitted(self) -> list[Trajectory]:
        skip = self.pending | {t.id for t in self.buffer}
        found = [t for t in self.plan.recorded.values() if t.id not in skip]
        return sorted(found, key=lambda t: self.plan.position[t.task.id])

    def _send(
        self, trajs: list[Trajectory], group: int | None, attempt: int = 0
    ) -> list[MemoryBatch]:
        if not trajs:
            return []
        self.outstanding += 1
        self.pending.update(t.id for t in trajs)
        return [MemoryBatch(trajs, group, attempt)]

    def on_committed(self, batch: MemoryBatch) -> None:
        self.outstanding -= 1
        self.pending -= batch.ids
        self._retire(batch)

    def on_commit_failed(self, batch: MemoryBatch) -> list[MemoryBatch]:
        """Retry (after the actor's restart) until memory_attempts; then the work counts failed."""
        self.outstanding -= 1
        self.pending -= batch.ids
        if batch.attempt + 1 < self.memory_attempts:
            self.memory_retries += 1
            return self._send(batch.trajectories, batch.group, batch.attempt + 1)
        self.failed |= batch.ids
        self._retire(batch)
        return []

    def _retire(self, batch: MemoryBatch) -> None:
        for traj in batch.trajectories:
            self.plan.retire(traj.task.id)

    def barrier(self) -> list[MemoryBatch]:
        """sync mode: once the current group is recorded whole, commit it, then open the next."""
        if not self.sync or self.in_flight or self.requeue or self.outstanding:
            return []
        while self.plan.seen_through(self.group) and not self.stopping:
            if self.memory_on:
                left = self.plan.in_group(self.group)  # committed or failed ones are retired
                if left:
                    return self._send(left, self.group)
            if self.plan.exhausted and self.group >= self.plan.last_group():
                return []
            self.group += 1
        return []

    def idle(self) -> bool:
        return not self.in_flight and not self.requeue and not self.outstanding

    def finish(self) -> list[MemoryBatch]:
        """Nothing runs or commits: the last memory work to send before the run ends ([]: done).

        async mode sends the partial batch and anything left. sync mode commits the current group
        only if it is recorded whole: a stop never commits half a group (a resume finishes it).
        """
        if not self.memory_on:
            return []
        if not self.sync:
            self.buffer = []  # the partial batch is among the uncommitted, in task order
            return self._send(self._uncommitted(), None)
        if not self.plan.group_complete(self.group):
            return []
        return self._send(self.plan.in_group(self.group), self.group)

    def stalled(self) -> bool:
        """Nothing runs or commits, yet tasks are left and no stop was asked: a bug, not a state."""
        return self.idle() and not self.stopping and self.plan.peek() is not None
