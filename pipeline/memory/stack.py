"""MemoryStack: the one assembly of memory (store, embedder, policies, keywords) from a config.

Every process builds its pieces here (writer, reader, distiller, validator, `memp memory`); each
piece is made when first asked, so a process only loads what it uses (no litellm in the
validator, no Qdrant in the driver).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import EnvConfig, MemoryConfig, ModelConfig, RunConfig, SimConfig
from pipeline.envs.base import EnvLanguage
from pipeline.memory.build import BUILDERS, BuildPolicy, ChatModel, KeywordExtractor
from pipeline.memory.embed import Embedder, make_embedder
from pipeline.memory.retrieve import RETRIEVERS, RetrievePolicy
from pipeline.memory.update import UPDATERS, Decider, UpdatePolicy
from pipeline.runlog import store_dir
from pipeline.types import Granularity

if TYPE_CHECKING:
    from pipeline.memory.store import ProcedureStore


class MemoryStack:
    """The memory pieces of one config; `llm` serves retrieval keywords, `build_llm` distilling."""

    def __init__(
        self,
        cfg: MemoryConfig,
        *,
        language: EnvLanguage | None = None,
        seed: int = 0,
        llm: ChatModel | None = None,
        build_llm: ChatModel | None = None,
        embedder: Embedder | None = None,
        models: tuple[ModelConfig, SimConfig] | None = None,  # (agent, sim): clients on demand
        env: EnvConfig | None = None,  # the env whose language memory uses, resolved on demand
    ) -> None:
        self.cfg = cfg
        self.seed = seed
        self.build_policy = BUILDERS.get(cfg.build)
        self.retrieve_policy = RETRIEVERS.get(cfg.retrieve)
        self.update_policy = UPDATERS.get(cfg.update)
        self._language = language
        self._env = env
        self._llm = llm
        self._build_llm = build_llm
        self._embedder = embedder
        self._models = models

    @classmethod
    def from_config(cls, cfg: RunConfig, **kwargs) -> MemoryStack:
        """A run's memory: the env's language, LLM clients of agent and builder made when used."""
        kwargs.setdefault("models", (cfg.agent, cfg.sim))
        kwargs.setdefault("env", cfg.env)
        return cls(cfg.memory, seed=cfg.run.seed, **kwargs)

    @property
    def language(self) -> EnvLanguage:
        if self._language is None:
            if self._env is None:
                self._language = EnvLanguage()
            else:
                from pipeline.envs import get_suite  # the env's memory wording, in this process

                self._language = get_suite(self._env).language
        return self._language

    def _client(self, cfg: ModelConfig | None) -> ChatModel:
        """A client of `cfg` (None: the agent's model)."""
        from pipeline.llm import LLMClient  # litellm loads only in processes that call models

        assert self._models is not None, "a MemoryStack without models was asked for an LLM"
        agent, sim = self._models
        return LLMClient(cfg or agent, sim, seed=self.seed)

    @property
    def llm(self) -> ChatModel:
        """The agent's model: retrieval keywords (a retrieve policy with the keywords role)."""
        if self._llm is None:
            self._llm = self._client(None)
        return self._llm

    @property
    def build_llm(self) -> ChatModel:
        """memory.builder (a separate build model: cross-model transfer), else the agent's."""
        if self._build_llm is None:
            if self.cfg.builder is not None and self._models is not None:
                self._build_llm = self._client(self.cfg.builder)
            else:
                self._build_llm = self.llm
        return self._build_llm

    def roles(self, agent_model: str) -> list[tuple[str, str]]:
        """(model, role) of every LLM call memory makes under this config."""
        builder = (self.cfg.builder.model if self.cfg.builder else None) or agent_model
        distill = [*self.build_policy.roles, *self.update_policy.roles]
        pairs = [(builder, r) for r in distill]
        pairs += [(agent_model, r) for r in self.retrieve_policy.roles]
        return list(dict.fromkeys(pairs))

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.cfg)
        return self._embedder

    async def open_store(self, run_dir: Path | None, *, embed: bool = True) -> ProcedureStore:
        """The store of a run directory (memory.qdrant.url: the server's); `embed` False reads
        only (no embedder, so no remote embedding model is asked for its dimension)."""
        from pipeline.memory.store import ProcedureStore  # Qdrant loads only where it is used

        path = None if run_dir is None else store_dir(run_dir, self.cfg)
        return await ProcedureStore.open(self.cfg, path, self.embedder if embed else None)

    def keywords(self, llm: ChatModel | None = None) -> KeywordExtractor:
        return KeywordExtractor(llm or self.llm, self.language)

    def retriever(
        self, store: ProcedureStore, granularity: Granularity | None = None
    ) -> RetrievePolicy:
        """memory.retrieve over `store`; a keyword extractor only when the policy asks a model."""
        keywords = self.keywords() if "keywords" in self.retrieve_policy.roles else None
        return self.retrieve_policy(
            store,
            top_k=self.cfg.top_k,
            threshold=self.cfg.score_threshold,
            granularity=granularity,
            language=self.language,
            seed=self.seed,
            keywords=keywords,
        )

    def builder(self) -> BuildPolicy:
        llm = self.build_llm
        return self.build_policy(llm, self.keywords(llm), self.language)

    def updater(self) -> UpdatePolicy:
        """memory.update's distill stage on the build model."""
        return self.update_policy(
            self.builder(),
            self.build_llm,
            self.cfg.namespace,
            self.language,
            self.cfg.adjust_similarity,
            self.cfg.quarantine_patterns,
        )

    def decider(self) -> Decider:
        """memory.update's decide stage: pure, no model."""
        return Decider(self.update_policy, self.language, self.cfg.credit)
