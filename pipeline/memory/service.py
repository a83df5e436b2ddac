"""ProceduralMemory: the single-process facade (retrieve, observe, close) over the pieces."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import MemoryConfig, SimConfig
from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import ChatModel, KeywordExtractor, make_builder
from pipeline.memory.embed import Embedder, make_embedder
from pipeline.memory.pack import import_pack
from pipeline.memory.retrieve import Retrieval, RetrievePolicy, make_retriever
from pipeline.memory.store import ProcedureStore
from pipeline.memory.update import UpdatePolicy, make_updater
from pipeline.types import MemoryOp, Task, Trajectory, Usage

if TYPE_CHECKING:
    from pipeline.summary import MemoryFigures


class ProceduralMemory:
    """One process owns the store; policies run inline, ops applied every `update_every` tasks."""

    def __init__(
        self,
        cfg: MemoryConfig,
        store: ProcedureStore,
        retriever: RetrievePolicy,
        updater: UpdatePolicy,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.retriever = retriever
        self.updater = updater
        self.pending: list[MemoryOp] = []
        self.observed = 0
        self.counts = {"add": 0, "adjust": 0, "discard": 0, "stat": 0}
        self.retrieval_usage = Usage()

    @classmethod
    async def open(
        cls,
        cfg: MemoryConfig,
        path: str | Path | None,
        llm: ChatModel,
        build_llm: ChatModel | None = None,
        *,
        seed: int = 0,
        sim: SimConfig | None = None,
        embedder: Embedder | None = None,
        language: EnvLanguage | None = None,
    ) -> ProceduralMemory:
        """Open the store at `path` (embedded) or memory.qdrant.url; import memory.seed_pack."""
        if build_llm is None and cfg.builder is not None:
            from pipeline.llm import LLMClient  # a separate build model: cross-model transfer

            build_llm = LLMClient(cfg.builder, sim, seed)
        builder_llm = build_llm or llm
        store = await ProcedureStore.open(cfg, path, embedder or make_embedder(cfg))
        try:
            language = language or EnvLanguage()
            builder = make_builder(cfg.build, builder_llm, KeywordExtractor(builder_llm, language))
            keywords = KeywordExtractor(llm, language)
            retriever = make_retriever(cfg, store, keywords, seed, language=language)
            memory = cls(cfg, store, retriever, make_updater(cfg.update, builder, builder_llm,
                                                             cfg.namespace, cfg=cfg))  # fmt: skip
            if cfg.seed_pack:
                await import_pack(store, cfg.seed_pack)
        except BaseException:
            await store.close()
            raise
        return memory

    @property
    def version(self) -> int:
        return self.store.version

    async def retrieve(self, task: Task) -> Retrieval:
        result = await self.retriever.retrieve(task)
        self.retrieval_usage = self.retrieval_usage + result.usage
        return result

    async def observe(self, trajectory: Trajectory) -> list[MemoryOp]:
        """Validate, distill, and every update_every trajectories apply; returns ops applied now."""
        decision = self.updater.decide(trajectory)
        current = await self.store.get(decision.adjust_ids)
        self.pending.extend(decision.stat_ops)
        self.pending.extend(await self.updater.distill(decision, current))
        self.observed += 1
        if self.observed % self.cfg.update_every == 0:
            return await self.flush()
        return []

    async def flush(self) -> list[MemoryOp]:
        ops, self.pending = self.pending, []
        if not ops:
            return []
        result = await self.store.apply(ops)
        for op in result.applied:
            self.counts[op.kind] += 1
        return result.applied

    async def size(self) -> int:
        return await self.store.count("active")

    async def figures(self) -> MemoryFigures:
        from pipeline.summary import MemoryFigures

        return MemoryFigures(
            size=await self.size(),
            added=self.counts["add"],
            adjusted=self.counts["adjust"],
            discarded=self.counts["discard"],
            version=self.version,
        )

    @property
    def usage(self) -> Usage:
        """LLM usage of memory itself: build/adjust/keyword calls and retrieval keywords."""
        return self.updater.usage + self.retrieval_usage

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self.store.close()
