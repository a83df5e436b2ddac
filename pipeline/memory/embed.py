"""Text embedders behind a registry: offline feature hashing, or any litellm embedding model."""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Protocol

import numpy as np

from pipeline.config import MemoryConfig, ModelConfig
from pipeline.envs.base import ENGLISH_STOP_WORDS
from pipeline.errors import MempError
from pipeline.types import Usage

_TOKEN = re.compile(r"[a-z0-9]+")
_CHAR_NGRAMS = (3, 4, 5)
_WEIGHTS = {"w": 1.0, "b": 0.7, "c": 0.35}  # per-feature weights: words > bigrams > char grams


class EmbedderError(MempError, ValueError):
    """A user-facing embedder problem; the message is one line."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; `dim` is None until known."""

    name: str
    dim: int | None

    async def embed(self, texts: list[str]) -> tuple[np.ndarray, Usage]: ...


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python's str hash is salted per process and would break determinism.
    h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return h % dim, (1.0 if (h >> 63) & 1 else -1.0)


class HashEmbedder:
    """Signed feature hashing of word uni/bigrams and char 3-5-grams; offline and deterministic."""

    def __init__(self, dim: int = 512) -> None:
        self.name = "hash"
        self.dim: int | None = dim
        self._cache: dict[str, tuple[int, float]] = {}

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
        feats = [(f"w:{w}", _WEIGHTS["w"]) for w in words]
        feats += [(f"b:{a}_{b}", _WEIGHTS["b"]) for a, b in itertools.pairwise(words)]
        joined = f" {' '.join(words)} "
        for n in _CHAR_NGRAMS:
            feats += [(f"c:{joined[i : i + n]}", _WEIGHTS["c"]) for i in range(len(joined) - n + 1)]
        return feats

    def encode(self, texts: list[str]) -> np.ndarray:
        """Synchronous core: one L2-normalised row per text (zero text -> zero row)."""
        dim = int(self.dim or 0)
        out = np.zeros((len(texts), dim), dtype=np.float32)
        cache = self._cache
        for row, text in enumerate(texts):
            for feat, weight in self._features(text):
                slot = cache.get(feat)
                if slot is None:
                    slot = cache[feat] = _bucket(feat, dim)
                out[row, slot[0]] += slot[1] * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    async def embed(self, texts: list[str]) -> tuple[np.ndarray, Usage]:
        return self.encode(texts), Usage()


class LiteLLMEmbedder:
    """Any litellm embedding model (OpenAI-compatible servers too), batched and cached by text."""

    def __init__(self, model: str, endpoint: ModelConfig | None = None, batch_size: int = 128):
        from pipeline.llm import LLMClient  # imported lazily: the hash path never loads litellm

        base = endpoint or ModelConfig()
        self.name = f"litellm:{model}"
        self.dim: int | None = None
        self.batch_size = batch_size
        self._client = LLMClient(base.model_copy(update={"model": model}))
        self._cache: dict[str, np.ndarray] = {}

    async def embed(self, texts: list[str]) -> tuple[np.ndarray, Usage]:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        by_key = dict(zip(keys, texts, strict=True))
        usage = Usage()
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            vectors, used = await self._client.embed([by_key[k] for k in chunk])
            usage = usage + used
            rows = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            rows = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
            self.dim = rows.shape[1]
            self._cache.update(zip(chunk, rows, strict=True))
        if not keys:
            return np.zeros((0, self.dim or 0), dtype=np.float32), usage
        return np.stack([self._cache[k] for k in keys]), usage


def embedder_endpoint(cfg: MemoryConfig) -> ModelConfig:
    """The litellm embedder's endpoint: memory.embedder_api_base and memory.embedder_api_key_env."""
    return ModelConfig(api_base=cfg.embedder_api_base, api_key_env=cfg.embedder_api_key_env)


def make_embedder(cfg: MemoryConfig, endpoint: ModelConfig | None = None) -> Embedder:
    """The embedder named by `memory.embedder`: 'hash' or 'litellm:<model>'."""
    name = cfg.embedder.strip()
    if name == "hash":
        return HashEmbedder(cfg.embed_dim)
    if name.startswith("litellm:") and len(name) > len("litellm:"):
        return LiteLLMEmbedder(name.removeprefix("litellm:"), endpoint or embedder_endpoint(cfg))
    raise EmbedderError(f"unknown memory.embedder {name!r}; use 'hash' or 'litellm:<model>'")


async def embedder_dim(embedder: Embedder) -> int:
    """The embedder's dimension, probing a remote model with one short text if still unknown."""
    if embedder.dim is None:
        await embedder.embed(["dimension probe"])
    if embedder.dim is None:
        raise EmbedderError(f"embedder {embedder.name!r} did not report a dimension")
    return embedder.dim
