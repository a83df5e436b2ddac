"""The bench's measuring window: rates come from each worker's own clock, not reply arrival."""

from __future__ import annotations

from pipeline.perf.window import Reading, process_cores, worker_rates


def test_a_late_reply_does_not_stretch_the_interval_steps_are_divided_by() -> None:
    # Worker 1 was read at t=10 and t=30 (its reply may have reached the driver at t=90):
    # 2,000 steps over its own 20 s. Worker 2 over its own 10 s.
    first = {1: Reading(steps=1_000, clock_s=10.0, cpu_s=5.0), 2: Reading(0, 50.0, 1.0)}
    last = {1: Reading(3_000, 30.0, 15.0), 2: Reading(500, 60.0, 6.0)}
    rates = worker_rates(first, last)
    assert rates.steps_per_s == 2_000 / 20 + 500 / 10
    assert rates.cores_by_pid == {1: 0.5, 2: 0.5}


def test_a_process_read_only_once_adds_nothing() -> None:
    # pid 3 replaced pid 2 (a restart): its counters began again and have no first reading.
    first = {1: Reading(0, 0.0, 0.0), 2: Reading(900, 0.0, 3.0)}
    last = {1: Reading(100, 10.0, 1.0), 3: Reading(50, 10.0, 0.2)}
    rates = worker_rates(first, last)
    assert rates.steps_per_s == 10.0 and set(rates.cores_by_pid) == {1}


def test_outside_processes_cores_over_the_driver_span() -> None:
    cores = process_cores({7: 1.0, 8: 2.0}, {7: 3.0, 8: 2.5}, span_s=4.0)
    assert cores == {7: 0.5, 8: 0.125}
    assert process_cores({7: 1.0}, {7: 2.0}, span_s=0.0) == {}
