"""A measuring window over workers' own readings: rates never depend on how late a reply came."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    """One worker's counters and its own clock, read at the same moment inside the worker."""

    steps: int
    clock_s: float
    cpu_s: float


@dataclass(frozen=True)
class Rates:
    steps_per_s: float
    cores_by_pid: dict[int, float]  # CPU seconds per second of each worker process


def worker_rates(first: dict[int, Reading], last: dict[int, Reading]) -> Rates:
    """Steps/s summed over worker processes (keyed by pid), each over its own interval.

    A reply that queued behind a burst of calls arrives late, but it carries the moment it was
    read: a window opened or closed by a late reply still divides steps by the time they took.
    A process read only once (it restarted in between, under a new pid) adds nothing."""
    steps, cores = 0.0, {}
    for pid, end in last.items():
        begin = first.get(pid)
        if begin is None or end.clock_s <= begin.clock_s:
            continue
        span = end.clock_s - begin.clock_s
        steps += (end.steps - begin.steps) / span
        cores[pid] = (end.cpu_s - begin.cpu_s) / span
    return Rates(steps, cores)


def process_cores(
    first: dict[int, float], last: dict[int, float], span_s: float
) -> dict[int, float]:
    """CPU cores of each process read from outside (driver, Ray daemons) over `span_s`."""
    if span_s <= 0:
        return {}
    return {pid: max(0.0, last.get(pid, 0.0) - cpu) / span_s for pid, cpu in first.items()}
