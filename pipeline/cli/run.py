"""`memp run`: start a run (or --resume one) on Ray and print its per-task-type figures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.config import RunConfig
from pipeline.config_load import load_config
from pipeline.errors import MempError, fail
from pipeline.presets import DEFAULT_PRESET

console = Console()


def _preflight(cfg: RunConfig) -> None:
    from pipeline.preflight import check, describe

    for probe in check(cfg):
        console.print(f"preflight: {describe(probe)} ok ({probe.seconds:.1f}s)", highlight=False)


def _fit_timeouts(cfg: RunConfig, derive: bool) -> RunConfig:
    from pipeline.timeouts import fit_timeouts

    return fit_timeouts(cfg, console, derive)


def _default_run_dir(cfg: RunConfig) -> Path:
    return Path("runs") / f"{cfg.run.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(
    config: Annotated[
        Path | None,
        typer.Argument(help="a preset name (`memp presets`), e.g. household-sim, or a YAML file"),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override, e.g. memory.top_k=3")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="where the run is recorded")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the run recorded in this directory")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local Ray)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="live progress display")] = True,
    preflight: Annotated[
        bool, typer.Option(help="probe every configured model once before the run starts")
    ] = True,
    rebuild_memory: Annotated[
        bool,
        typer.Option(
            help="with --resume on a Qdrant server: rebuild a stale collection from "
            "memory_ops.jsonl instead of refusing"
        ),
    ] = False,
) -> None:
    """Run the configured job on Ray and print per-task-type figures."""
    from actors.job import run_job  # the Ray layer; pipeline/ itself never imports ray
    from pipeline.console import learning_curve_table, task_type_table
    from pipeline.orchestrate.plan import check_inputs
    from pipeline.runlog import RunDir

    try:  # every input is checked before Ray starts (seconds), and read-only until accepted
        if resume is not None:
            rd = RunDir.resume(resume)
            cfg = rd.config
            check_inputs(cfg, rd)
            rd.lock()
            if preflight:
                _preflight(cfg)
                _fit_timeouts(cfg, derive=False)  # a recorded config is not changed
        else:
            if config is None:
                config = DEFAULT_PRESET
                note = f"no config given: using the default preset {config}"
                console.print(note, highlight=False)
            cfg = load_config(config, set_ or [])
            check_inputs(cfg)
            path = run_dir or Path(cfg.run.run_dir or _default_run_dir(cfg))
            if preflight:  # before the run directory exists: a failure leaves nothing behind
                _preflight(cfg)
                cfg = _fit_timeouts(cfg, derive=True)
            rd = RunDir.create(path, cfg)
            rd.lock()
    except MempError as err:
        fail(str(err))
        return
    console.print(f"run directory: {rd.path}")
    try:
        summary = run_job(cfg, rd, console, address=address, show_progress=progress,
                          rebuild_memory=rebuild_memory)  # fmt: skip
    except MempError as err:
        fail(str(err))
        return
    finally:
        rd.close()
    from pipeline.envs import get_suite

    headline = get_suite(cfg.env).language.headline_scores
    title = f"{cfg.env.name} / {cfg.env.split} / {cfg.agent.model}"
    # The summary's own pass over the log: a long run's trajectories are not loaded again.
    console.print(task_type_table(summary.task_types, title, headline))
    if len(summary.groups) > 1:
        console.print(learning_curve_table(summary.groups))
    if summary.sim_note:
        console.print(f"[yellow]note:[/yellow] {summary.sim_note}")
    from pipeline.summary import error_budget, memory_failures

    reason = error_budget(summary, cfg.pipeline.max_error_ratio)
    if reason is not None:
        fail(reason, code=3)
    lost = memory_failures(summary)
    if lost is not None and not cfg.pipeline.allow_memory_failures:
        fail(f"{lost} (pipeline.allow_memory_failures=true accepts this)", code=4)
