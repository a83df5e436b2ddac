"""Waiting out a restarting actor: retry a call until a deadline, then fail with one clear line."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from pipeline.errors import one_line

T = TypeVar("T")

# A writer restart is a new worker process (Ray, qdrant-client and litellm imports), then its
# store open and WAL replay; on the shared 2-core box under load ~30 that took tens of seconds,
# past the old 10 s window. It stays under agent.episode_timeout_s (600 s), which bounds a
# retrieval too, so an expired wait is reported as this error, not as an episode timeout.
WRITER_DEADLINE_S = 180.0


class DeadlineExpired(RuntimeError):
    """The actor stayed unreachable until the deadline; the message is one line."""


async def call_until(
    call: Callable[[], Awaitable[T]],
    retry_on: tuple[type[BaseException], ...],
    what: str,
    deadline_s: float = WRITER_DEADLINE_S,
    first_wait_s: float = 0.5,
    max_wait_s: float = 5.0,
) -> T:
    """`call()`, retried on `retry_on` with doubling waits until `deadline_s` have passed."""
    started = time.monotonic()
    wait, tries = first_wait_s, 0
    while True:
        tries += 1
        try:
            return await call()
        except retry_on as err:
            left = started + deadline_s - time.monotonic()
            if left <= 0:
                raise DeadlineExpired(
                    f"{what} did not come back within {deadline_s:g} s ({tries} tries); "
                    f"last error: {one_line(err)[:200]}"
                ) from err
            await anyio.sleep(min(wait, left))
            wait = min(2 * wait, max_wait_s)
