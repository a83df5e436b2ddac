"""The adaptive per-endpoint limit on in-flight model calls: rate limits and a CPU-bound loop
shrink it, successes on an idle loop grow it back."""

from __future__ import annotations

import time

import anyio

# One event-loop pass taking this long means callbacks are queueing for CPU (past the knee,
# more calls in flight only lengthen the queue); under the low mark the loop keeps up.
LAG_HIGH_S = 0.1
LAG_LOW_S = 0.02
SHRINK_EVERY_S = 1.0  # one overload shrink per second: a pass reflects the last change slowly
MIN_UNDER_LAG = 8  # loop lag never pushes the limit below this (rate limits may)


class AdaptiveLimiter:
    """A capacity limit that shrinks x0.8 on rate limits, x0.9 on event-loop lag (CPU past its
    knee), and creeps back +1 per `recover_after` successes while the loop keeps up."""

    def __init__(self, ceiling: int, recover_after: int = 20) -> None:
        self.ceiling = ceiling
        self.recover_after = recover_after
        self._limiter: anyio.CapacityLimiter | None = None
        self._streak = 0
        self._overloaded = False
        self._last_shrink = 0.0

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Created lazily inside the running event loop.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.ceiling)
        return self._limiter

    @property
    def current(self) -> int:
        return int(self.limiter.total_tokens)

    def on_rate_limit(self) -> None:
        self._streak = 0
        self.limiter.total_tokens = max(1, int(self.limiter.total_tokens * 0.8))

    def on_lag(self, lag_s: float, now: float | None = None) -> None:
        """One measured event-loop pass: shrink while the loop lags, allow recovery once not."""
        if lag_s < LAG_LOW_S:
            self._overloaded = False
            return
        if lag_s < LAG_HIGH_S:
            return
        self._overloaded = True
        self._streak = 0
        now = time.monotonic() if now is None else now
        total = int(self.limiter.total_tokens)
        if now - self._last_shrink >= SHRINK_EVERY_S and total > MIN_UNDER_LAG:
            self._last_shrink = now
            self.limiter.total_tokens = max(MIN_UNDER_LAG, int(total * 0.9))

    def on_success(self) -> None:
        if self._overloaded:
            return
        self._streak += 1
        if self._streak >= self.recover_after and self.limiter.total_tokens < self.ceiling:
            self._streak = 0
            self.limiter.total_tokens = min(self.ceiling, int(self.limiter.total_tokens) + 1)


async def loop_lag_s() -> float:
    """Seconds one pass of the event loop takes: the ready callbacks queued ahead of us."""
    started = time.perf_counter()
    await anyio.sleep(0)
    return time.perf_counter() - started
