"""Procedural memory: build, retrieve and update policies over a Qdrant procedure store."""

from pipeline.memory.build import BUILDERS, BuildPolicy, KeywordExtractor, make_builder
from pipeline.memory.embed import (
    Embedder,
    EmbedderError,
    HashEmbedder,
    LiteLLMEmbedder,
    make_embedder,
)
from pipeline.memory.retrieve import RETRIEVERS, Retrieval, RetrievePolicy, make_retriever
from pipeline.memory.schema import ApplyResult, HistoryEntry, MemoryStoreError
from pipeline.memory.service import ProceduralMemory
from pipeline.memory.store import ProcedureStore
from pipeline.memory.update import UPDATERS, Decision, UpdatePolicy, make_updater

__all__ = [
    "BUILDERS",
    "RETRIEVERS",
    "UPDATERS",
    "ApplyResult",
    "BuildPolicy",
    "Decision",
    "Embedder",
    "EmbedderError",
    "HashEmbedder",
    "HistoryEntry",
    "KeywordExtractor",
    "LiteLLMEmbedder",
    "MemoryStoreError",
    "ProceduralMemory",
    "ProcedureStore",
    "Retrieval",
    "RetrievePolicy",
    "UpdatePolicy",
    "make_builder",
    "make_embedder",
    "make_retriever",
    "make_updater",
]
