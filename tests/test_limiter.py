"""The adaptive limit: rate limits and event-loop lag shrink it; an idle loop lets it recover."""

from __future__ import annotations

import time

import anyio

from pipeline.limiter import LAG_HIGH_S, MIN_UNDER_LAG, AdaptiveLimiter, loop_lag_s


def test_lag_shrinks_once_per_second_to_a_floor_and_blocks_recovery_until_idle() -> None:
    async def main() -> None:
        lim = AdaptiveLimiter(100, recover_after=2)
        lim.on_lag(LAG_HIGH_S * 2, now=10.0)
        lim.on_lag(LAG_HIGH_S * 2, now=10.5)  # within the same second: no second shrink
        assert lim.current == 90
        for _ in range(5):
            lim.on_success()
        assert lim.current == 90, "no recovery while the loop lags"
        for i in range(60):
            lim.on_lag(LAG_HIGH_S * 2, now=12.0 + i)
        assert lim.current == MIN_UNDER_LAG
        lim.on_lag(0.0)
        lim.on_success()
        lim.on_success()
        assert lim.current == MIN_UNDER_LAG + 1
        lim.on_rate_limit()  # a rate limit may go under the lag floor
        assert lim.current == int((MIN_UNDER_LAG + 1) * 0.8)

    anyio.run(main)


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
