"""`memp run` on Ray: serve metrics, connect, start the fleet, drive the run, release everything."""

from __future__ import annotations

import os
import time

import ray
from rich.console import Console

from actors.driver import Driver
from actors.fleet import Fleet
from actors.session import start_ray
from actors.telemetry import Telemetry, print_url, usage_table
from pipeline.config import ConfigError, RunConfig
from pipeline.exporter import MetricsError
from pipeline.runlog import RunDir
from pipeline.summary import RunSummary, failures_line, memory_failures


def _dashboard() -> str:
    """', Ray dashboard: URL' when the cluster runs one (local runs start none)."""
    try:
        url = ray._private.worker.get_dashboard_url()  # no public API for it (Ray 2.x)
    except Exception:  # private API: never let it break a run
        return ""
    return f", Ray dashboard: http://{url}" if url else ""


def run_job(
    cfg: RunConfig,
    run_dir: RunDir,
    console: Console,
    address: str | None = None,
    show_progress: bool = True,
    rebuild_memory: bool = False,
) -> RunSummary:
    """The whole job; a local Ray started here is shut down on the way out.

    The exporter (metrics.enabled) starts first, so a busy port fails the run before any task
    (as a ConfigError: the CLI prints one line and exits 2), and stops once the summary is written.
    """
    owns_ray = not ray.is_initialized() and address is None
    started = time.perf_counter()
    telemetry = Telemetry(cfg, run=run_dir.path.resolve().name)
    try:
        print_url(console, telemetry.start())
    except MetricsError as err:
        raise ConfigError(str(err)) from None
    try:
        where = address or os.environ.get("RAY_ADDRESS") or "a local Ray"
        console.print(f"starting Ray ({where}) ...", highlight=False)
        ray_s = start_ray(address)
        console.print(f"Ray ready in {ray_s:.1f}s{_dashboard()}; starting actors ...",
                      highlight=False)  # fmt: skip
        fleet = Fleet.start(cfg, run_dir, rebuild_memory)
        console.print(
            f"actors ready in {fleet.ready_s:.1f}s "
            f"({len(fleet.workers)} rollout workers x {cfg.pipeline.episodes_per_worker} episodes, "
            f"{len(fleet.distillers)} distillers, mode {cfg.pipeline.mode})",
            highlight=False,
        )
        try:
            driver = Driver(cfg, run_dir, fleet, console, show_progress, telemetry)
            summary = driver.run()
            telemetry.finish()
        finally:
            fleet.close()
            if owns_ray:
                ray.shutdown()
        if len(summary.tokens_by_role) > 1:
            console.print(usage_table(summary.tokens_by_role, summary.cost_by_role))
        if summary.llm_errors:
            console.print(failures_line(summary), highlight=False, soft_wrap=True)
        if summary.memory.failed:
            console.print(f"{memory_failures(summary)}; last error: {driver.memory_error}",
                          style="red", markup=False, highlight=False, soft_wrap=True)  # fmt: skip
        console.print(
            f"wall {time.perf_counter() - started:.1f}s (run {summary.wall_s:.1f}s)",
            highlight=False,
        )
    finally:
        telemetry.stop(console)
    return summary
