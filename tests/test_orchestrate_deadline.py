"""The writer-restart wait: retried until a deadline, then one clear error (no Ray needed)."""

from __future__ import annotations

import itertools
import time

import anyio
import pytest

from pipeline.orchestrate.deadline import WRITER_DEADLINE_S, DeadlineExpired, call_until


class Down(Exception):
    pass


def test_a_restart_longer_than_the_old_ten_seconds_fits_the_deadline():
    assert WRITER_DEADLINE_S >= 60  # the old window was 20 x 0.5 s


def test_retries_until_the_actor_answers():
    calls: list[float] = []

    async def call() -> str:
        calls.append(time.monotonic())
        if len(calls) < 4:
            raise Down("actor restarting")
        return "ok"

    out = anyio.run(lambda: call_until(call, (Down,), "the writer", 5.0, 0.01, 0.04))
    assert out == "ok" and len(calls) == 4
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[1] >= gaps[0] * 1.5  # the waits double (up to the cap)


def test_expiry_is_one_clear_line_naming_what_and_how_long():
    async def call() -> None:
        raise Down("The actor died unexpectedly\nbefore finishing this task")

    started = time.monotonic()
    with pytest.raises(DeadlineExpired) as info:
        anyio.run(lambda: call_until(call, (Down,), "the memory writer", 0.3, 0.05, 0.1))
    assert 0.3 <= time.monotonic() - started < 2.0
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("the memory writer did not come back within 0.3 s (")
    assert "tries" in msg and "The actor died unexpectedly before finishing" in msg


def test_other_errors_are_not_retried():
    calls = []

    async def call() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        anyio.run(lambda: call_until(call, (Down,), "the writer", 5.0))
    assert calls == [1]
