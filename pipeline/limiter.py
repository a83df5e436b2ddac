"""The adaptive per-endpoint limit on in-flight model calls: rate limits and a CPU-bound loop
shrink it, quiet windows of event-loop passes grow it back."""

from __future__ import annotations

import time

import anyio

# Event-loop passes are judged by their median over a window: one slow pass is noise (a GC, a
# neighbour's burst), a slow median means callbacks queue for CPU (past the knee, more calls in
# flight only lengthen the queue). Under the low mark the loop keeps up; between the marks, hold.
LAG_HIGH_S = 0.1
LAG_LOW_S = 0.02
WINDOW_S = 1.0  # a pass reflects a limit change slowly: judge (and change) at most once a window
SHRINK = 0.9
GROW = 0.1  # of the current limit per quiet window: 614 -> 1,024 in 6 windows
RATE_LIMIT_SHRINK = 0.8
MIN_UNDER_LAG = 8  # loop lag never pushes the limit below this (rate limits may)


class AdaptiveLimiter:
    """A capacity limit: x0.8 on a rate limit; per window of loop passes x0.9 when the median pass
    is >= 100 ms, +10 % when it is < 20 ms and no rate limit came, otherwise unchanged."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self._limiter: anyio.CapacityLimiter | None = None
        self._window_start: float | None = None
        self._passes = 0
        self._slow = 0  # passes >= LAG_HIGH_S in this window
        self._quiet = 0  # passes < LAG_LOW_S in this window
        self._rate_limited = False

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
        self._rate_limited = True
        self.limiter.total_tokens = max(1, int(self.limiter.total_tokens * RATE_LIMIT_SHRINK))

    def on_lag(self, lag_s: float, now: float | None = None) -> None:
        """One measured event-loop pass; a pass at or past the window's end closes it first."""
        now = time.monotonic() if now is None else now
        if self._window_start is None:
            self._window_start = now
        elif now - self._window_start >= WINDOW_S:
            self._close_window()
            self._window_start = now
        self._passes += 1
        self._slow += lag_s >= LAG_HIGH_S
        self._quiet += lag_s < LAG_LOW_S

    def _close_window(self) -> None:
        # Counting passes against the marks gives the median's side without keeping the passes.
        total = self.current
        if 2 * self._slow > self._passes:
            if total > MIN_UNDER_LAG:
                self.limiter.total_tokens = max(MIN_UNDER_LAG, int(total * SHRINK))
        elif 2 * self._quiet > self._passes and not self._rate_limited and total < self.ceiling:
            self.limiter.total_tokens = min(self.ceiling, total + max(1, int(total * GROW)))
        self._passes = self._slow = self._quiet = 0
        self._rate_limited = False


async def loop_lag_s() -> float:
    """Seconds one pass of the event loop takes: the ready callbacks queued ahead of us."""
    started = time.perf_counter()
    await anyio.sleep(0)
    return time.perf_counter() - started
