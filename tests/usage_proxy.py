"""A forwarding HTTP proxy on 127.0.0.1 that tallies the `usage` each upstream response reports.

It stands between memp and a real model server, so a test can compare memp's token accounting
with what the server itself billed, request by request."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class UsageProxy:
    """Forwards POSTs to `upstream` (a /v1 root); `usage[path]` sums prompt/completion tokens."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.usage: dict[str, dict[str, int]] = {}
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def totals(self) -> dict[str, int]:
        with self._lock:
            rows = list(self.usage.values())
        return {k: sum(r.get(k, 0) for r in rows) for k in ("prompt", "completion")}

    def __enter__(self) -> UsageProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, path: str, body: dict[str, Any]) -> None:
        usage = body.get("usage") or {}
        with self._lock:
            self.requests += 1
            row = self.usage.setdefault(path, {"prompt": 0, "completion": 0})
            row["prompt"] += int(usage.get("prompt_tokens") or 0)
            row["completion"] += int(usage.get("completion_tokens") or 0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path.removeprefix("/v1")
                req = urllib.request.Request(
                    proxy.upstream + path, data=data, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(req, timeout=600) as resp:
                        status, payload = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                if status == 200:
                    proxy._record(path, json.loads(payload))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
