"""Retrieve policies: random (seeded), query (task-text cosine), avefact (mean keyword MaxSim)."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import KeywordExtractor
from pipeline.memory.registry import Registry
from pipeline.memory.schema import FACTS_VECTOR, QUERY_VECTOR
from pipeline.prompts import render_memory
from pipeline.types import Granularity, Procedure, Record, Task, Usage

if TYPE_CHECKING:  # the store pulls in qdrant: the driver reads this registry without it
    from pipeline.memory.store import ProcedureStore


class Retrieval(Record):
    """What a task got from memory: procedures best first, their scores and the prompt text."""

    policy: str
    procedures: list[Procedure] = Field(default_factory=list)
    scores: list[float] = Field(default_factory=list)
    text: str | None = None  # None when nothing was retrieved: the prompt has no memory slot
    keywords: list[str] = Field(default_factory=list)
    latency_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    version: int = 0

    @property
    def procedure_ids(self) -> list[str]:
        return [p.id for p in self.procedures]


class RetrievePolicy:
    """Base: times the search, filters to active procedures, renders the memory slot."""

    name: ClassVar[str]
    roles: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        store: ProcedureStore,
        top_k: int = 1,
        threshold: float | None = None,
        granularity: Granularity | None = None,
        language: EnvLanguage | None = None,
        *,
        seed: int = 0,
        keywords: KeywordExtractor | None = None,
    ) -> None:
        self.store = store
        self.top_k = top_k
        self.threshold = threshold
        self.granularity = granularity
        self.language = language or (keywords.language if keywords else EnvLanguage())
        self.seed = seed
        self.keywords = keywords

    async def retrieve(self, task: Task) -> Retrieval:
        started = time.perf_counter()
        version = self.store.version
        hits, usage, keywords = await self._search(task)
        procs = [p for p, _ in hits]
        return Retrieval(
            policy=self.name,
            procedures=procs,
            scores=[s for _, s in hits],
            text=render_memory(procs, self.granularity),
            keywords=keywords,
            latency_s=time.perf_counter() - started,
            usage=usage,
            version=version,
        )

    async def _search(self, task: Task) -> tuple[list[tuple[Procedure, float]], Usage, list[str]]:
        raise NotImplementedError


RETRIEVERS: Registry[type[RetrievePolicy]] = Registry("memory.retrieve")


@RETRIEVERS.register
class RandomRetrieve(RetrievePolicy):
    """Uniform sample of active procedures, seeded by (run seed, task id): reruns pick the same."""

    name = "random"

    async def _search(self, task: Task) -> tuple[list[tuple[Procedure, float]], Usage, list[str]]:
        rng = random.Random(f"{self.seed}:{task.id}")
        return [(p, 0.0) for p in await self.store.sample(self.top_k, rng)], Usage(), []


@RETRIEVERS.register
class QueryRetrieve(RetrievePolicy):
    """Cosine between the new task's retrieval key and each procedure's task text (`query`)."""

    name = "query"

    async def _search(self, task: Task) -> tuple[list[tuple[Procedure, float]], Usage, list[str]]:
        assert self.store.embedder is not None
        rows, usage = await self.store.embedder.embed([self.language.retrieval_key(task)])
        hits = await self.store.search(rows[0], QUERY_VECTOR, self.top_k, self.threshold)
        return hits, usage, []


@RETRIEVERS.register
class AveFactRetrieve(RetrievePolicy):
    """Mean over the task's keywords of their best match among a procedure's keywords (MaxSim/n)."""

    name = "avefact"
    roles = ("keywords",)

    async def _search(self, task: Task) -> tuple[list[tuple[Procedure, float]], Usage, list[str]]:
        assert self.store.embedder is not None
        assert self.keywords is not None, "its keywords role: MemoryStack passes an extractor"
        key = self.language.retrieval_key(task)
        keywords, usage = await self.keywords(key)
        rows, used = await self.store.embedder.embed(keywords or [key])
        n = len(rows)
        # Qdrant's MaxSim sums best matches over query rows; scale the threshold the same way.
        threshold = None if self.threshold is None else self.threshold * n
        hits = await self.store.search(rows, FACTS_VECTOR, self.top_k, threshold)
        return [(p, s / n) for p, s in hits], usage + used, keywords
