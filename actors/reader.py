"""Read access to procedural memory for rollout workers and distillers.

Embedded mode: the writer actor owns the local Qdrant (a local path admits one client) and serves
reads. Server mode (memory.qdrant.url): each reader opens its own read client to the server.
"""

from __future__ import annotations

from typing import Any

import ray

from pipeline.memory.retrieve import Retrieval, RetrievePolicy
from pipeline.memory.stack import MemoryStack
from pipeline.memory.store import ProcedureStore
from pipeline.orchestrate.deadline import call_until
from pipeline.types import Procedure, Task


class MemoryReader:
    """retrieve(task) and get(ids), whichever process holds the store."""

    def __init__(
        self, writer: Any | None, store: ProcedureStore | None, retriever: RetrievePolicy | None
    ):
        self.writer = writer
        self.store = store
        self.retriever = retriever

    @classmethod
    async def open(cls, stack: MemoryStack, writer: str | None) -> MemoryReader:
        """`writer` is the writer actor's name (embedded mode reads through it)."""
        if stack.cfg.qdrant.url is None:
            assert writer is not None, "embedded memory needs the writer actor"
            return cls(ray.get_actor(writer), None, None)
        store = await stack.open_store(None)
        return cls(None, store, stack.retriever(store))

    async def retrieve(self, task: Task, writer_version: int) -> Retrieval:
        if self.retriever is not None and self.store is not None:
            # Our client never applies ops, so its version only moves by what the driver tells us.
            self.store.version = max(self.store.version, writer_version)
            return await self.retriever.retrieve(task)
        return await self._ask("retrieve", task)

    async def get(self, ids: list[str]) -> list[Procedure]:
        if not ids:
            return []
        if self.store is not None:
            return await self.store.get(ids)
        return await self._ask("get", ids)

    async def _ask(self, method: str, arg: Any) -> Any:
        """Through the writer actor, riding out its restarts until WRITER_DEADLINE_S."""

        async def call() -> Any:
            return await getattr(self.writer, method).remote(arg)

        what = f"the memory writer (asked to {method})"
        return await call_until(call, (ray.exceptions.RayActorError,), what)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
