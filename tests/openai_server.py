"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests of the real litellm HTTP path."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A reply is the answer's text, or one tool call: {"name": ..., "arguments": {...}} (or "raw":
# the arguments' text as sent, for malformed JSON).
Replier = Callable[[list[dict[str, Any]]], str | dict[str, Any]]


class OpenAIServer:
    """Serves /v1/chat/completions and /v1/embeddings; `fail_next` queues HTTP errors first."""

    def __init__(self, reply: Replier, dim: int = 16) -> None:
        self.reply = reply
        self.dim = dim
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.fail_queue: list[tuple[int, dict[str, str], bytes | None]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(
        self, status: int, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> None:
        """Queue one HTTP error; `body` replaces the default JSON error (e.g. a plain-text one)."""
        self.fail_queue.append((status, headers or {}, body))

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                return

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.auth_headers.append(self.headers.get("Authorization", ""))
                    failure = server.fail_queue.pop(0) if server.fail_queue else None
                if failure is not None:
                    status, headers, raw = failure
                    if raw is not None:
                        self.send_response(status)
                        self.send_header("Content-Type", "text/plain")
                        self.send_header("Content-Length", str(len(raw)))
                        for key, value in headers.items():
                            self.send_header(key, value)
                        self.end_headers()
                        self.wfile.write(raw)
                        return
                    err = {"error": {"message": f"injected {status}", "type": "rate_limit_error"}}
                    self._send(status, err, headers)
                    return
                if self.path.endswith("/chat/completions"):
                    self._send(200, server._chat(body), {})
                elif self.path.endswith("/embeddings"):
                    self._send(200, server._embeddings(body), {})
                else:
                    self._send(404, {"error": {"message": "not found"}}, {})

        return Handler

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages", [])
        reply = self.reply(messages)
        message: dict[str, Any] = {"role": "assistant", "content": reply}
        finish = "stop"
        if isinstance(reply, dict):
            arguments = reply.get("raw") or json.dumps(reply.get("arguments", {}))
            call = {"name": reply["name"], "arguments": arguments}
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{len(self.requests)}", "type": "function",
                                "function": call}],
            }  # fmt: skip
            finish, reply = "tool_calls", json.dumps(call)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(reply.split())
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "test-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        data = []
        for i, text in enumerate(inputs):
            digest = hashlib.sha256(str(text).encode()).digest()
            vec = [(digest[j % len(digest)] - 127.5) / 127.5 for j in range(self.dim)]
            data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = sum(len(str(t).split()) for t in inputs)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", "test-embed"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
