"""Update policies as two stages: a pure decide (validator, no model) and an LLM-using distill."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from pipeline.config import Credit
from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import BuildPolicy, ChatModel, ask
from pipeline.memory.quarantine import DEFAULT_PATTERNS, InjectionDetector
from pipeline.memory.registry import Registry
from pipeline.prompts import adjust_request, render_procedure, render_steps
from pipeline.types import (
    MemoryOp,
    Procedure,
    ProcedureStats,
    Record,
    Trajectory,
    Usage,
    stable_id,
)

MAX_FAILED_STEPS = 30  # the tail of a failed run is where it went wrong; bounds the adjust prompt

DecisionAction = Literal["drop", "build", "adjust"]
_WORDS = re.compile(r"[a-z0-9]+")


class Decision(Record):
    """The validator's verdict on one trajectory, plus the usage stats it always yields."""

    trajectory: Trajectory
    action: DecisionAction
    reason: str = ""
    stat_ops: list[MemoryOp] = Field(default_factory=list)
    adjust_ids: list[str] = Field(default_factory=list)  # procedures the distiller revises


def credited(trajectory: Trajectory, credit: Credit = "all") -> list[str]:
    """Procedures an outcome is credited to: all retrieved, or only the best-ranked (top1)."""
    ids = list(dict.fromkeys(trajectory.memory_ids))
    return ids[:1] if credit == "top1" else ids


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of two texts' words: the cheap, embedder-free similarity of task texts."""
    wa, wb = set(_WORDS.findall(a.lower())), set(_WORDS.findall(b.lower()))
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def stat_ops(
    trajectory: Trajectory, success: bool | None = None, credit: Credit = "all"
) -> list[MemoryOp]:
    """retrieved+1 and succeeded/failed+1 for every credited procedure the trajectory was given."""
    if trajectory.status != "ok":  # an infrastructure failure says nothing about the procedure
        return []
    won = trajectory.success if success is None else success
    delta = ProcedureStats(retrieved=1, succeeded=int(won), failed=int(not won))
    return [
        MemoryOp(
            op_id=stable_id("stat", pid, trajectory.id),
            kind="stat",
            procedure_id=pid,
            stats_delta=delta,
            source_trajectory_id=trajectory.id,
        )
        for pid in credited(trajectory, credit)
    ]


def add_op(proc: Procedure, trajectory: Trajectory, reason: str) -> MemoryOp:
    return MemoryOp(
        op_id=stable_id("add", proc.id),
        kind="add",
        procedure_id=proc.id,
        procedure=proc,
        reason=reason,
        source_trajectory_id=trajectory.id,
    )


class UpdatePolicy:
    """Base: verdict() is the pure rule decide() applies; distill() builds or revises procedures."""

    name: ClassVar[str]
    roles: ClassVar[tuple[str, ...]] = ()  # beyond the build policy's

    @staticmethod
    def verdict(trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        raise NotImplementedError

    def __init__(
        self,
        builder: BuildPolicy,
        llm: ChatModel,
        namespace: str,
        language: EnvLanguage | None = None,
        adjust_similarity: float | None = None,
        quarantine_patterns: Sequence[str] | None = None,
    ) -> None:
        self.builder = builder
        self.llm = llm
        self.namespace = namespace
        self.language = language or builder.language
        self.adjust_similarity = adjust_similarity
        patterns = DEFAULT_PATTERNS if quarantine_patterns is None else quarantine_patterns
        self.detector = InjectionDetector(patterns)
        self.usage = Usage()  # LLM usage of every distill so far

    def coherent(self, proc: Procedure, traj: Trajectory) -> bool:
        """May a failure of `traj` revise `proc`? Same task type, or task texts close enough."""
        if proc.status != "active":
            return False
        if proc.task_type == traj.task.task_type:
            return True
        if self.adjust_similarity is None:
            return False
        goal = self.language.retrieval_key(traj.task)
        return word_overlap(proc.task_text, goal) >= self.adjust_similarity

    async def distill(
        self, decision: Decision, current: Sequence[Procedure] = ()
    ) -> list[MemoryOp]:
        """Ops for a decision (stat ops excluded); `current` holds the procedures to adjust."""
        traj = decision.trajectory
        if decision.action == "build":
            proc, usage = await self.builder.build(traj, self.namespace)
            self.usage = self.usage + usage
            return [add_op(self.detector.quarantined(proc), traj, decision.reason)]
        if decision.action == "adjust":
            wanted = [p for p in current if p.id in set(decision.adjust_ids)]
            same = [p for p in wanted if self.coherent(p, traj)]
            if same:
                return [await self._adjust(p, traj) for p in same]
            other = [p for p in wanted if p.status == "active"]
            # A failure of another task type leaves those procedures alone; the revision of the
            # best-ranked one becomes a new procedure of the failed task's own type.
            return [await self._derive(other[0], traj)] if other else []
        return []

    async def _revise(self, proc: Procedure, traj: Trajectory) -> tuple[str, str]:
        """(revised script, model) for a procedure the agent failed while following."""
        shown = render_procedure(1, proc.task_text, proc.script, proc.trajectory)
        steps = [(s.action, s.observation) for s in traj.steps if s.action][-MAX_FAILED_STEPS:]
        request = adjust_request(traj.task.goal, shown, render_steps(steps) or "(no steps)")
        script, usage, model = await ask(self.llm, self.language.adjust_system, request, "adjust")
        self.usage = self.usage + usage
        return script, model

    async def _adjust(self, proc: Procedure, traj: Trajectory) -> MemoryOp:
        script, model = await self._revise(proc, traj)
        revised = proc.model_copy(
            update={
                "script": script or proc.script,
                # A trajectory-only procedure gains a script: render both from now on.
                "granularity": "proceduralization" if proc.trajectory else "script",
                "source_trajectory_ids": [*proc.source_trajectory_ids, traj.id],
                "build_model": model or proc.build_model,
            }
        )
        reason = self.detector.check(revised)
        if reason is not None:  # the revision carries injected text: keep it, out of retrieval
            return add_op(self._quarantined_revision(revised, traj, reason), traj, reason)
        return MemoryOp(
            op_id=stable_id("adjust", proc.id, traj.id),
            kind="adjust",
            procedure_id=proc.id,
            procedure=revised,
            reason=f"failed while following it in {traj.id}",
            source_trajectory_id=traj.id,
        )

    def _quarantined_revision(self, revised: Procedure, traj: Trajectory, why: str) -> Procedure:
        return revised.model_copy(
            update={
                "id": stable_id(self.namespace, "quarantined-revision", revised.id, traj.id),
                "status": "quarantined",
                "quarantine_reason": why,
                "version": 1,
                "stats": ProcedureStats(),
            }
        )

    async def _derive(self, proc: Procedure, traj: Trajectory) -> MemoryOp:
        """A new procedure for the failed task's type: `proc`'s script revised for that task.

        Task text, type and keywords are the failed task's and no trajectory is kept (the failed
        run is no example to follow), so text, keys and script describe the same task."""
        script, model = await self._revise(proc, traj)
        goal = self.language.retrieval_key(traj.task)
        keywords, usage = await self.builder.keywords(goal)
        self.usage = self.usage + usage
        end = traj.started_at + traj.wall_s
        derived = Procedure(
            id=stable_id(self.namespace, "procedure", "derived", proc.id, traj.id),
            namespace=self.namespace,
            task_text=goal,
            task_type=traj.task.task_type,
            keywords=keywords,
            script=script or proc.script,
            granularity="script",
            source_trajectory_ids=[*proc.source_trajectory_ids, traj.id],
            build_model=model or proc.build_model,
            created_at=end,
            updated_at=end,
        )
        reason = f"derived from {proc.id} ({proc.task_type}) after a {traj.task.task_type} failure"
        return add_op(self.detector.quarantined(derived), traj, reason)


UPDATERS: Registry[type[UpdatePolicy]] = Registry("memory.update")


@UPDATERS.register
class VanillaUpdate(UpdatePolicy):
    """Every finished trajectory becomes memory, successful or not."""

    name = "vanilla"

    @staticmethod
    def verdict(trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        return "build", "vanilla: add every trajectory"


@UPDATERS.register
class ValidationUpdate(UpdatePolicy):
    """Only successful trajectories become memory."""

    name = "validation"

    @staticmethod
    def verdict(trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        if success:
            return "build", "validation: success"
        return "drop", "validation: failed"


@UPDATERS.register
class AdjustmentUpdate(UpdatePolicy):
    """Successes are added; a failure that followed retrieved procedures revises them in place."""

    name = "adjustment"
    roles = ("adjust",)

    @staticmethod
    def verdict(trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        if success:
            return "build", "adjustment: success"
        if trajectory.memory_ids:
            return "adjust", "adjustment: failed with retrieved procedures"
        return "drop", "adjustment: failed without memory"


@dataclass(frozen=True)
class Decider:
    """The validator's decision: pure (no model, no store), from the policy's verdict rule."""

    policy: type[UpdatePolicy]
    language: EnvLanguage
    credit: Credit = "all"

    def decide(self, trajectory: Trajectory) -> Decision:
        if trajectory.status != "ok":
            return Decision(trajectory=trajectory, action="drop", reason=trajectory.status)
        success = self.language.memory_success(trajectory)
        stats = stat_ops(trajectory, success, self.credit)
        action, reason = self.policy.verdict(trajectory, success)
        adjust = credited(trajectory, self.credit) if action == "adjust" else []
        return Decision(
            trajectory=trajectory, action=action, reason=reason, stat_ops=stats, adjust_ids=adjust
        )
