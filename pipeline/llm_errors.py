"""Model-call failures: error classes, Retry-After, backoff and key-free one-line error text."""

from __future__ import annotations

import json
import random
import re
from typing import Any, Literal

import litellm

ErrorKind = Literal["rate_limit", "timeout", "server", "bad_output", "auth", "bad_request", "other"]
RETRYABLE: frozenset[str] = frozenset({"rate_limit", "timeout", "server"})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


class LLMError(Exception):
    """A model call that failed after retries; `kind` is a low-cardinality error class."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def classify(exc: BaseException) -> ErrorKind:
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limit"
    if isinstance(exc, litellm.Timeout | TimeoutError):
        return "timeout"
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return "auth"
    if isinstance(exc, litellm.ContextWindowExceededError | litellm.BadRequestError):
        return "bad_request"
    if isinstance(
        exc,
        litellm.InternalServerError
        | litellm.ServiceUnavailableError
        | litellm.BadGatewayError
        | litellm.APIConnectionError
        | litellm.APIError,
    ):
        return "server"
    return "other"


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header on the error's response, if the server sent one."""
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    headers = headers or getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


def backoff_s(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0.0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


# Key-like tokens a provider may echo in an error body (OpenAI "sk-...", bearer headers).
_SECRET = re.compile(r"(?i)(bearer\s+)\S+|\b(sk|pk|rk|key)-[A-Za-z0-9_\-]{6,}")
ERROR_TEXT_MAX = 300
BODY_EXCERPT_MAX = 160


def _redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _SECRET.sub(lambda m: (m.group(1) or "") + "***", text)


def _body_excerpt(exc: BaseException) -> str:
    """The start of the HTTP error body, on one line; litellm often drops it from str(exc)."""
    response = getattr(exc, "response", None)
    try:
        body = getattr(response, "text", "") or ""
    except Exception:  # a streamed or closed httpx response has no text to give
        body = ""
    return " ".join(str(body).split())[:BODY_EXCERPT_MAX]


def _body_message(body: str) -> str:
    """error.message of an OpenAI-style JSON body (already in litellm's text), else the body."""
    try:
        error = json.loads(body).get("error")
        return str(error.get("message")) if isinstance(error, dict) else body
    except (ValueError, AttributeError):
        return body


def one_line(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """`Type: HTTP <status>: <message> | body: <excerpt>`, keys redacted, <= 300 chars."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    status = getattr(exc, "status_code", None)
    line = type(exc).__name__ + (f": HTTP {status}" if isinstance(status, int) else "")
    line += f": {text}"
    body = _body_excerpt(exc)
    if body and body not in text and _body_message(body) not in text:
        line += f" | body: {body}"
    return _redact(line, secrets)[:ERROR_TEXT_MAX]
