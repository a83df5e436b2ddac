"""The /metrics endpoint: serves one or more metric registries, each under its constant labels.

A run's series carry `run` (and, in a grid, `cell`), so two drivers scraped by one Prometheus are
never summed by accident. The server counts scrapes, so a finished run can wait for the one
scrape that carries its final totals instead of guessing a linger time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric

from pipeline.errors import MempError


class MetricsError(MempError, RuntimeError):
    """The exporter could not start; one line naming host, port and the fix."""


class LabelledRegistries:
    """A collector merging several registries' families, adding each one's constant labels."""

    def __init__(self) -> None:
        self._sources: list[tuple[CollectorRegistry, dict[str, str]]] = []
        self._lock = threading.Lock()

    def add(self, registry: CollectorRegistry, labels: dict[str, str]) -> None:
        with self._lock:
            self._sources.append((registry, dict(labels)))

    def remove(self, registry: CollectorRegistry) -> None:
        with self._lock:
            self._sources = [(r, labels) for r, labels in self._sources if r is not registry]

    def collect(self) -> Iterator[Metric]:
        # One family per name across sources: a repeated HELP/TYPE block is a parse error.
        merged: dict[str, Metric] = {}
        with self._lock:
            sources = list(self._sources)
        for registry, labels in sources:
            for family in registry.collect():
                out = merged.get(family.name)
                if out is None:
                    out = merged[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                for s in family.samples:
                    out.add_sample(s.name, {**labels, **s.labels}, s.value, s.timestamp, s.exemplar)
        yield from merged.values()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class Exporter:
    """A threaded HTTP server for LabelledRegistries that remembers when it was last scraped."""

    def __init__(self) -> None:
        self.sources = LabelledRegistries()
        self._server: ThreadingWSGIServer | None = None
        self._scrapes: list[float] = []  # monotonic times of the last few scrapes
        self._scraped = threading.Condition()

    def _app(self) -> Callable[..., Iterable[bytes]]:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.sources)  # type: ignore[arg-type]  # duck-typed collector
        inner = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            began = time.monotonic()  # the body reflects every value set before this instant
            body = list(inner(environ, start_response))
            with self._scraped:
                self._scrapes = [*self._scrapes[-9:], began]
                self._scraped.notify_all()
            return body

        return app

    def start(self, host: str, port: int) -> int:
        """Serve /metrics; returns the bound port (useful with port 0)."""
        try:
            server = make_server(
                host, port, self._app(), ThreadingWSGIServer, handler_class=_QuietHandler
            )
        except OSError as err:
            raise MetricsError(
                f"cannot serve metrics on {host}:{port} ({err.strerror or err}); "
                "set metrics.port to a free port, 0 for any, or metrics.enabled=false"
            ) from None
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
        self._server = server
        return int(server.server_port)

    @property
    def scraped(self) -> bool:
        return bool(self._scrapes)

    def scrape_interval(self) -> float | None:
        """The mean gap between recent scrapes, once two were seen."""
        times = self._scrapes
        return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None

    def wait_for_scrape(self, after: float, timeout: float) -> bool:
        """Block until a scrape started after monotonic time `after`, or `timeout` passed."""
        deadline = time.monotonic() + timeout
        with self._scraped:
            while not (self._scrapes and self._scrapes[-1] > after):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._scraped.wait(left)
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
