"""The adaptive limit: 429s and windows of slow loop passes shrink it, quiet windows grow it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from pipeline.limiter import (
    LAG_HIGH_S,
    LAG_LOW_S,
    MIN_UNDER_LAG,
    WINDOW_S,
    AdaptiveLimiter,
    loop_lag_s,
)

SLOW, MID, QUIET = LAG_HIGH_S * 1.5, (LAG_HIGH_S + LAG_LOW_S) / 2, LAG_LOW_S / 4


def _window(lim: AdaptiveLimiter, start: float, passes: list[float]) -> float:
    """Feeds one window's passes from `start`; the next window's first pass closes it."""
    for i, lag in enumerate(passes):
        lim.on_lag(lag, now=start + i * WINDOW_S / (len(passes) + 1))
    return start + WINDOW_S


def _in_loop(test: Callable[..., None]) -> Callable[..., None]:
    """Runs a synchronous test inside an event loop: the limiter's anyio primitive needs one."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async def main() -> None:
            test(*args, **kwargs)

        anyio.run(main)

    return run


@_in_loop
def test_a_slow_median_shrinks_once_per_window_and_one_slow_pass_does_not() -> None:
    lim = AdaptiveLimiter(100)
    t = _window(lim, 0.0, [QUIET, SLOW * 10, QUIET])  # one long pass among quiet ones
    lim.on_lag(QUIET, now=t)
    assert lim.current == 100, "one slow pass is noise, not overload"
    t = _window(lim, t + 1e-3, [SLOW, SLOW, QUIET, SLOW])
    assert lim.current == 100, "a window is judged only when it ends"
    lim.on_lag(SLOW, now=t + 1e-3)
    assert lim.current == 90
    lim.on_lag(SLOW, now=t + 0.5)  # the same window: no second shrink
    assert lim.current == 90


@_in_loop
def test_between_the_marks_the_limit_holds() -> None:
    lim = AdaptiveLimiter(100)
    t = _window(lim, 0.0, [SLOW] * 3)
    t = _window(lim, t, [MID] * 5)
    t = _window(lim, t, [MID, SLOW, QUIET])  # median between the marks
    t = _window(lim, t, [SLOW, QUIET])  # no majority either way
    lim.on_lag(MID, now=t)
    assert lim.current == 90


@_in_loop
def test_quiet_windows_grow_ten_percent_up_to_the_ceiling() -> None:
    lim = AdaptiveLimiter(1024)
    lim.limiter.total_tokens = 614
    seen, t = [], 0.0
    for _ in range(8):
        t = _window(lim, t, [QUIET, QUIET, SLOW])
        lim.on_lag(QUIET, now=t)
        seen.append(lim.current)
    assert seen[:5] == [675, 742, 816, 897, 986]
    assert seen[5:] == [1024] * 3, "growth stops at the ceiling"


@_in_loop
def test_a_small_limit_still_grows_by_one() -> None:
    lim = AdaptiveLimiter(20)
    lim.limiter.total_tokens = 5
    t = _window(lim, 0.0, [QUIET])
    t = _window(lim, t, [QUIET])
    assert lim.current == 6


@_in_loop
def test_a_rate_limit_shrinks_at_once_and_blocks_that_windows_growth() -> None:
    lim = AdaptiveLimiter(100)
    t = _window(lim, 0.0, [QUIET] * 4)
    lim.on_rate_limit()
    assert lim.current == 80, "a 429 does not wait for the window"
    t = _window(lim, t, [QUIET] * 4)  # its first pass closes the 429's window: no growth
    assert lim.current == 80
    t = _window(lim, t, [QUIET] * 4)  # closes a quiet window with no 429: growth again
    assert lim.current == 88


@pytest.mark.parametrize("start", [MIN_UNDER_LAG + 1, MIN_UNDER_LAG - 3])
@_in_loop
def test_lag_never_pushes_below_the_floor_but_a_rate_limit_may(start: int) -> None:
    lim = AdaptiveLimiter(100)
    lim.limiter.total_tokens = start
    t = 0.0
    for _ in range(5):
        t = _window(lim, t, [SLOW] * 3)
    floor = min(start, MIN_UNDER_LAG)  # a limit a 429 put under the floor stays there
    assert lim.current == floor
    lim.on_rate_limit()
    assert lim.current == int(floor * 0.8)


@_in_loop
def test_a_long_silence_closes_the_old_window_only_once() -> None:
    lim = AdaptiveLimiter(100)
    lim.on_lag(SLOW, now=0.0)
    lim.on_lag(QUIET, now=30.0)  # no passes for 30 s: one window judged, not thirty
    assert lim.current == 90
    lim.on_lag(QUIET, now=30.0 + WINDOW_S)
    assert lim.current == 99


def test_loop_lag_measures_the_ready_queue() -> None:
    async def burn() -> None:
        time.sleep(0.05)  # a callback holding the loop, as CPU-bound steps do

    async def main() -> tuple[float, float]:
        idle = await loop_lag_s()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(burn)
            busy = await loop_lag_s()
        return idle, busy

    idle, busy = anyio.run(main)
    assert idle < 0.02 and busy >= 0.15
