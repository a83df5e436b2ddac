"""Build policies: a finished trajectory -> a Procedure (steps, script or both) with keywords."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from pipeline.prompts import (
    KEYWORDS_SYSTEM,
    SCRIPT_SYSTEM,
    keywords_request,
    render_steps,
    script_request,
)
from pipeline.types import Granularity, Procedure, Trajectory, Usage, stable_id

NOTHING = "Nothing happens."
_KEYWORD_SPLIT = re.compile(r"[,\n;]+")
_KEYWORD_CLEAN = re.compile(r"^[\s\-\*\d\.\)]+|[\s\.\"']+$")
_WORD = re.compile(r"[a-z]+")
_FALLBACK_STOP = frozenset({"a", "an", "the", "some", "it", "in", "on", "to", "and", "put", "of"})


class ChatModel(Protocol):
    """The part of pipeline.llm.LLMClient memory needs; returns an object with text/usage/model."""

    async def complete(self, messages: list[dict[str, str]], role: str) -> Any: ...


async def ask(llm: ChatModel, system: str, user: str, role: str) -> tuple[str, Usage, str]:
    """One system+user call: (stripped text, usage, model name)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    result = await llm.complete(messages, role=role)
    return result.text.strip(), result.usage, result.model


def parse_keywords(text: str, goal: str) -> list[str]:
    """A comma-separated answer -> up to 6 lowercase keywords; else the goal's content words."""
    words = [_KEYWORD_CLEAN.sub("", part.lower()) for part in _KEYWORD_SPLIT.split(text)]
    found = list(dict.fromkeys(w for w in words if w and len(w) <= 40))[:6]
    if found:
        return found
    return list(dict.fromkeys(w for w in _WORD.findall(goal.lower()) if w not in _FALLBACK_STOP))


class KeywordExtractor:
    """AveFact keys of a task goal via KEYWORDS_SYSTEM; cached per goal (tasks repeat)."""

    def __init__(self, llm: ChatModel) -> None:
        self.llm = llm
        self._cache: dict[str, list[str]] = {}

    async def __call__(self, goal: str) -> tuple[list[str], Usage]:
        if goal in self._cache:
            return self._cache[goal], Usage()
        text, usage, _ = await ask(self.llm, KEYWORDS_SYSTEM, keywords_request(goal), "keywords")
        self._cache[goal] = parse_keywords(text, goal)
        return self._cache[goal], usage


def condense(trajectory: Trajectory) -> list[tuple[str, str]]:
    """Steps worth keeping: valid commands that did something (no "Nothing happens.", no think)."""
    pairs: list[tuple[str, str]] = []
    for step in trajectory.steps:
        action = step.action.strip()
        if not step.valid or not action or step.observation.strip() == NOTHING:
            continue
        if action.lower().startswith("think"):  # ReAct "think: ..." turns answer only "OK."
            continue
        pairs.append((action, step.observation.strip()))
    return pairs


def step_lines(pairs: list[tuple[str, str]]) -> list[str]:
    """One render_steps block per step, so "\\n".join(lines) == render_steps(pairs)."""
    return [render_steps([pair]) for pair in pairs]


def procedure_id(namespace: str, granularity: str, trajectory_id: str) -> str:
    # From the source trajectory, not the LLM text: a re-run distiller yields the same point id.
    return stable_id(namespace, "procedure", granularity, trajectory_id)


class BuildPolicy:
    """Base: build(trajectory) -> (Procedure, usage); subclasses choose what content to keep."""

    name: ClassVar[Granularity]
    uses_trajectory: ClassVar[bool] = True
    uses_script: ClassVar[bool] = False

    def __init__(self, llm: ChatModel, keywords: KeywordExtractor | None = None) -> None:
        self.llm = llm
        self.keywords = keywords or KeywordExtractor(llm)

    async def build(self, trajectory: Trajectory, namespace: str) -> tuple[Procedure, Usage]:
        pairs = condense(trajectory)
        goal = trajectory.task.goal
        keywords, usage = await self.keywords(goal)
        script, model = None, ""
        if self.uses_script:
            text = render_steps(pairs) or "(no useful steps)"
            script, used, model = await ask(
                self.llm, SCRIPT_SYSTEM, script_request(goal, text), "build"
            )
            usage = usage + used
        proc = Procedure(
            id=procedure_id(namespace, self.name, trajectory.id),
            namespace=namespace,
            task_text=goal,
            task_type=trajectory.task.task_type,
            keywords=keywords,
            script=script or None,
            trajectory=step_lines(pairs) if self.uses_trajectory else [],
            granularity=self.name,
            source_trajectory_ids=[trajectory.id],
            build_model=model or getattr(getattr(self.llm, "cfg", None), "model", "") or "",
            created_at=trajectory.started_at + trajectory.wall_s,
            updated_at=trajectory.started_at + trajectory.wall_s,
        )
        return proc, usage


class TrajectoryBuild(BuildPolicy):
    """The successful step sequence itself, condensed."""

    name = "trajectory"


class ScriptBuild(BuildPolicy):
    """An LLM-distilled abstract workflow (SCRIPT_SYSTEM)."""

    name = "script"
    uses_trajectory = False
    uses_script = True


class ProceduralizationBuild(BuildPolicy):
    """Both: the concrete steps and the abstract script."""

    name = "proceduralization"
    uses_script = True


BUILDERS: dict[str, type[BuildPolicy]] = {
    cls.name: cls for cls in (TrajectoryBuild, ScriptBuild, ProceduralizationBuild)
}


def make_builder(
    name: str, llm: ChatModel, keywords: KeywordExtractor | None = None
) -> BuildPolicy:
    if name not in BUILDERS:
        raise ValueError(f"unknown memory.build {name!r}; use one of {', '.join(BUILDERS)}")
    return BUILDERS[name](llm, keywords)
