"""Update policies as two stages: a pure decide (validator) and an LLM-using distill (distiller)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field

from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import BuildPolicy, ChatModel, ask
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


class Decision(Record):
    """The validator's verdict on one trajectory, plus the usage stats it always yields."""

    trajectory: Trajectory
    action: DecisionAction
    reason: str = ""
    stat_ops: list[MemoryOp] = Field(default_factory=list)
    adjust_ids: list[str] = Field(default_factory=list)  # procedures the distiller revises


def stat_ops(trajectory: Trajectory, success: bool | None = None) -> list[MemoryOp]:
    """retrieved+1 and succeeded/failed+1 for every procedure the trajectory was given."""
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
        for pid in dict.fromkeys(trajectory.memory_ids)
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
    """Base: decide() is cheap and pure; distill() builds or revises procedures with the LLM."""

    name: ClassVar[str]

    def __init__(
        self,
        builder: BuildPolicy,
        llm: ChatModel,
        namespace: str,
        language: EnvLanguage | None = None,
    ) -> None:
        self.builder = builder
        self.llm = llm
        self.namespace = namespace
        self.language = language or builder.language
        self.usage = Usage()  # LLM usage of every distill so far

    def decide(self, trajectory: Trajectory) -> Decision:
        if trajectory.status != "ok":
            return Decision(trajectory=trajectory, action="drop", reason=trajectory.status)
        success = self.language.memory_success(trajectory)
        stats = stat_ops(trajectory, success)
        action, reason = self._verdict(trajectory, success)
        adjust = list(dict.fromkeys(trajectory.memory_ids)) if action == "adjust" else []
        return Decision(
            trajectory=trajectory, action=action, reason=reason, stat_ops=stats, adjust_ids=adjust
        )

    def _verdict(self, trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        raise NotImplementedError

    async def distill(
        self, decision: Decision, current: Sequence[Procedure] = ()
    ) -> list[MemoryOp]:
        """Ops for a decision (stat ops excluded); `current` holds the procedures to adjust."""
        traj = decision.trajectory
        if decision.action == "build":
            proc, usage = await self.builder.build(traj, self.namespace)
            self.usage = self.usage + usage
            return [add_op(proc, traj, decision.reason)]
        if decision.action == "adjust":
            wanted = set(decision.adjust_ids)
            return [await self._adjust(p, traj) for p in current if p.id in wanted]
        return []

    async def _adjust(self, proc: Procedure, traj: Trajectory) -> MemoryOp:
        shown = render_procedure(1, proc.task_text, proc.script, proc.trajectory)
        steps = [(s.action, s.observation) for s in traj.steps if s.action][-MAX_FAILED_STEPS:]
        request = adjust_request(traj.task.goal, shown, render_steps(steps) or "(no steps)")
        script, usage, model = await ask(self.llm, self.language.adjust_system, request, "adjust")
        self.usage = self.usage + usage
        revised = proc.model_copy(
            update={
                "script": script or proc.script,
                # A trajectory-only procedure gains a script: render both from now on.
                "granularity": "proceduralization" if proc.trajectory else "script",
                "source_trajectory_ids": [*proc.source_trajectory_ids, traj.id],
                "build_model": model or proc.build_model,
            }
        )
        return MemoryOp(
            op_id=stable_id("adjust", proc.id, traj.id),
            kind="adjust",
            procedure_id=proc.id,
            procedure=revised,
            reason=f"failed while following it in {traj.id}",
            source_trajectory_id=traj.id,
        )


class VanillaUpdate(UpdatePolicy):
    """Every finished trajectory becomes memory, successful or not."""

    name = "vanilla"

    def _verdict(self, trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        return "build", "vanilla: add every trajectory"


class ValidationUpdate(UpdatePolicy):
    """Only successful trajectories become memory."""

    name = "validation"

    def _verdict(self, trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        if success:
            return "build", "validation: success"
        return "drop", "validation: failed"


class AdjustmentUpdate(UpdatePolicy):
    """Successes are added; a failure that followed retrieved procedures revises them in place."""

    name = "adjustment"

    def _verdict(self, trajectory: Trajectory, success: bool) -> tuple[DecisionAction, str]:
        if success:
            return "build", "adjustment: success"
        if trajectory.memory_ids:
            return "adjust", "adjustment: failed with retrieved procedures"
        return "drop", "adjustment: failed without memory"


UPDATERS: dict[str, type[UpdatePolicy]] = {
    cls.name: cls for cls in (VanillaUpdate, ValidationUpdate, AdjustmentUpdate)
}


def make_updater(
    name: str,
    builder: BuildPolicy,
    llm: ChatModel,
    namespace: str,
    language: EnvLanguage | None = None,
) -> UpdatePolicy:
    if name not in UPDATERS:
        raise ValueError(f"unknown memory.update {name!r}; use one of {', '.join(UPDATERS)}")
    return UPDATERS[name](builder, llm, namespace, language)
