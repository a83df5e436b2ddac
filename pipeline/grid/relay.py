"""One exporter for the whole grid: every cell's metrics, relabelled with a `cell` label."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from pipeline.exporter import MetricsError

SCRAPE_TIMEOUT_S = 2.0


class CellRelay:
    """Keeps each cell's last scrape (so a finished cell's final counts stay) and serves them."""

    def __init__(self) -> None:
        self._families: dict[str, list[Metric]] = {}
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = None

    def scrape(self, cell: str, url: str) -> bool:
        """Fetch a cell's /metrics now; False when it is not reachable (keeps the last one)."""
        try:
            with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as resp:
                text = resp.read().decode("utf-8")
        except OSError:
            return False
        families = list(text_string_to_metric_families(text))
        with self._lock:
            self._families[cell] = families
        return True

    def set_states(self, states: dict[str, str]) -> None:
        with self._lock:
            self._states = dict(states)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = dict(self._families)
            states = list(self._states.values())
        merged: dict[str, Metric] = {}
        for cell, families in snapshot.items():
            for fam in families:
                out = merged.get(fam.name)
                if out is None:
                    out = merged[fam.name] = Metric(fam.name, fam.documentation, fam.type, fam.unit)
                out.samples += [
                    Sample(s.name, {**s.labels, "cell": cell}, s.value, s.timestamp, s.exemplar)
                    for s in fam.samples
                ]
        yield from merged.values()
        cells = GaugeMetricFamily("memp_grid_cells", "Grid cells by state.", labels=["state"])
        for state in ("queued", "running", "done", "failed"):
            cells.add_metric([state], states.count(state))
        yield cells

    def start(self, host: str, port: int) -> int:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        try:
            server, _thread = start_http_server(port, addr=host, registry=registry)
        except OSError as err:
            raise MetricsError(
                f"cannot serve grid metrics on {host}:{port} ({err.strerror or err}); "
                "set grid.metrics_port to a free port or 0"
            ) from None
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
