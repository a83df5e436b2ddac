"""Build policies: a finished trajectory -> a Procedure (steps, script or both) with keywords."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from pipeline.envs.base import ENGLISH_STOP_WORDS, EnvLanguage
from pipeline.memory.lru import CappedCache
from pipeline.memory.registry import Registry
from pipeline.prompts import keywords_request, render_steps, script_request
from pipeline.types import Granularity, Procedure, Trajectory, Usage, stable_id

_KEYWORD_SPLIT = re.compile(r"[,\n;]+")
_KEYWORD_CLEAN = re.compile(r"^[\s\-\*\d\.\)]+|[\s\.\"']+$")
_WORD = re.compile(r"[a-z]+")
KEYWORD_CACHE = 20_000  # task texts; an endless split never repeats most of them


class ChatModel(Protocol):
    """The part of pipeline.llm.LLMClient memory needs; returns an object with text/usage/model."""

    async def complete(self, messages: list[dict[str, Any]], role: str) -> Any: ...


async def ask(llm: ChatModel, system: str, user: str, role: str) -> tuple[str, Usage, str]:
    """One system+user call: (stripped text, usage, model name)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    result = await llm.complete(messages, role=role)
    return result.text.strip(), result.usage, result.model


def parse_keywords(
    text: str, goal: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS
) -> list[str]:
    """A comma-separated answer -> up to 6 lowercase keywords; else the goal's content words."""
    words = [_KEYWORD_CLEAN.sub("", part.lower()) for part in _KEYWORD_SPLIT.split(text)]
    found = list(dict.fromkeys(w for w in words if w and len(w) <= 40))[:6]
    if found:
        return found
    return list(dict.fromkeys(w for w in _WORD.findall(goal.lower()) if w not in stop_words))


class KeywordExtractor:
    """AveFact keys of a task text via the env's keywords prompt; cached per text (tasks repeat)."""

    def __init__(self, llm: ChatModel, language: EnvLanguage | None = None) -> None:
        self.llm = llm
        self.language = language or EnvLanguage()
        self._cache: CappedCache[str, list[str]] = CappedCache(KEYWORD_CACHE)

    async def __call__(self, goal: str) -> tuple[list[str], Usage]:
        cached = self._cache.get(goal)
        if cached is not None:
            return cached, Usage()
        system = self.language.keywords_system
        text, usage, _ = await ask(self.llm, system, keywords_request(goal), "keywords")
        keywords = parse_keywords(text, goal, self.language.stop_words)
        self._cache[goal] = keywords
        return keywords, usage


def step_lines(pairs: list[tuple[str, str]]) -> list[str]:
    """One render_steps block per step, so "\\n".join(lines) == render_steps(pairs)."""
    return [render_steps([pair]) for pair in pairs]


def procedure_id(namespace: str, granularity: str, trajectory_id: str) -> str:
    # From the source trajectory, not the LLM text: a re-run distiller yields the same point id.
    return stable_id(namespace, "procedure", granularity, trajectory_id)


class BuildPolicy:
    """Base: build(trajectory) -> (Procedure, usage); subclasses choose what content to keep."""

    name: ClassVar[Granularity]  # a build policy's name is the granularity it stores
    roles: ClassVar[tuple[str, ...]] = ("keywords",)
    uses_trajectory: ClassVar[bool] = True
    uses_script: ClassVar[bool] = False

    def __init__(
        self,
        llm: ChatModel,
        keywords: KeywordExtractor | None = None,
        language: EnvLanguage | None = None,
    ) -> None:
        self.llm = llm
        self.language = language or (keywords.language if keywords else EnvLanguage())
        self.keywords = keywords or KeywordExtractor(llm, self.language)

    async def build(self, trajectory: Trajectory, namespace: str) -> tuple[Procedure, Usage]:
        pairs = self.language.condense(trajectory)
        # The retrieval key is what query retrieval embeds for a new task: store the same text.
        goal = self.language.retrieval_key(trajectory.task)
        keywords, usage = await self.keywords(goal)
        script, model = None, ""
        if self.uses_script:
            text = render_steps(pairs) or "(no useful steps)"
            system = self.language.script_system
            script, used, model = await ask(self.llm, system, script_request(goal, text), "build")
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


BUILDERS: Registry[type[BuildPolicy]] = Registry("memory.build")


@BUILDERS.register
class TrajectoryBuild(BuildPolicy):
    """The successful step sequence itself, condensed."""

    name = "trajectory"


@BUILDERS.register
class ScriptBuild(BuildPolicy):
    """An LLM-distilled abstract workflow (the env language's script prompt)."""

    name = "script"
    roles = ("keywords", "build")
    uses_trajectory = False
    uses_script = True


@BUILDERS.register
class ProceduralizationBuild(BuildPolicy):
    """Both: the concrete steps and the abstract script."""

    name = "proceduralization"
    roles = ("keywords", "build")
    uses_script = True
