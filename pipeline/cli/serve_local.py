"""`memp serve-local`: serve the packaged local model until Ctrl-C (configs/household-local)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console

from pipeline.errors import fail
from pipeline.serve_local import (
    MODEL_NAME,
    LocalModelError,
    LocalServer,
    LocalSettings,
    default_threads,
)


def serve_local(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; 0 picks a free one")] = 8080,
    parallel: Annotated[int, typer.Option(help="requests decoded together")] = 2,
    ctx: Annotated[int, typer.Option(help="context tokens, shared by the parallel slots")] = 8192,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads (default: every core but one)")
    ] = None,
) -> None:
    """Serve SmolLM2-135M (llama.cpp, OpenAI-compatible chat + embeddings) offline, no key."""
    console = Console()
    settings = LocalSettings(host=host, port=port, parallel=parallel, n_ctx=ctx, threads=threads)
    try:
        server = LocalServer(settings)
    except LocalModelError as err:
        fail(err)  # one stderr line, exit 2 (a rich console would wrap it)
    console.print(
        f"serving {MODEL_NAME} at {server.base_url} (litellm model: openai/{MODEL_NAME}, "
        f"threads={threads or default_threads()}); "
        "Ctrl-C stops",
        highlight=False,
    )
    # llama.cpp installs its own SIGINT/SIGTERM handlers, which leave this process running.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
