"""Connecting to Ray: a quiet local instance sized to the machine, or an existing cluster."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import ray

import pipeline
from pipeline.errors import StartupError

# Ray's own noise (token auth notice, usage stats prompt) is not the user's business in a local run.
# Ray starts workers at nice 15; our workers are the job itself, so they run at the driver's.
QUIET_ENV = {
    "RAY_worker_niceness": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_DEDUP_LOGS": "0",
    # GCS keeps every task attempt's events for the dashboard's task list (100,000 by default,
    # ~500 bytes each): an endless run's GCS grew ~16 MB per 1,000 episodes until that cap.
    "RAY_task_events_max_num_task_in_gcs": "2000",
}


# Ray gives a local raylet a fixed 30 s to start; on a loaded machine that can pass once.
LOCAL_START_ATTEMPTS = 2


def _code_root() -> str:
    return str(Path(pipeline.__file__).resolve().parent.parent)


def start_ray(address: str | None = None, num_cpus: int | None = None) -> float:
    """ray.init once per process; returns the seconds it took (0 when already connected).

    No address: the cluster named by RAY_ADDRESS (as under Ray Jobs) if set, else a local Ray.
    """
    if ray.is_initialized():
        return 0.0
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = time.perf_counter()
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger("ray").setLevel(logging.WARNING)
    if address is None:
        # Local workers inherit this environment: make `pipeline`/`actors` importable without
        # an install, the same way the driver sees them.
        # The working directory too, so an env named "module:Class" imports there as in the driver.
        paths = [_code_root(), os.getcwd(),
                 *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]  # fmt: skip
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        for attempt in range(LOCAL_START_ATTEMPTS):
            try:
                ray.init(
                    num_cpus=num_cpus or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    configure_logging=True,
                )
                break
            except Exception as exc:  # a bare Exception when the raylet starts too slowly
                ray.shutdown()  # tear down the half-started node before the next try
                if attempt + 1 == LOCAL_START_ATTEMPTS:
                    raise StartupError(_start_failure("a local Ray", exc, attempt + 1)) from None
    else:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:
            ray.shutdown()
            raise StartupError(_start_failure(f"the Ray cluster at {address}", exc, 1)) from None
    return time.perf_counter() - started


def _start_failure(what: str, exc: BaseException, attempts: int) -> str:
    """One line for the console: Ray's own text is a multi-line traceback-like message."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return f"could not start {what}{tries}: {type(exc).__name__}: {first}"[:300]


def driver_node_affinity() -> ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy:
    """Pin an actor to this (the driver's) node: the run directory's files live here."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(
        node_id=ray.get_runtime_context().get_node_id(), soft=False
    )
