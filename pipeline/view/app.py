"""The viewer's Starlette app and the uvicorn server that `memp view` starts."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.view.catalog import Catalog
from pipeline.view.pages import Pages


def create_app(paths: list[Path]) -> Starlette:
    """A read-only app over these run or grid directories (ViewError for a bad path)."""
    pages = Pages(Catalog(paths))

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return pages.t.TemplateResponse(
            request, "error.html", {"detail": detail, "code": code, "live": False},
            status_code=code,
        )  # fmt: skip

    routes = [
        Route("/", pages.index),
        Route("/compare", pages.compare),
        Route("/grids/{key}", pages.grid),
        Route("/runs/{key}", pages.run),
        Route("/runs/{key}/episodes", pages.episodes),
        Route("/runs/{key}/episodes/{tid}", pages.episode),
        Route("/runs/{key}/procedures", pages.procedures),
        Route("/runs/{key}/procedures/{pid}", pages.procedure),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.pages = pages
    return app


def bind(host: str, port: int) -> socket.socket:
    """Bind first, so the printed URL names the real port (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections made before uvicorn starts wait in the backlog
    except OSError as err:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port} ({err.strerror or err})") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(app: Starlette, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve until interrupted; on_ready gets the URL once the socket listens."""
    on_ready(url_of(sock))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
