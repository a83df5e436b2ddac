"""`memp` command line: run, grid, envs, perf, memory, report, view."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console

# typer 0.29 vendors click: its usage errors are these classes, not the click package's.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from pipeline.config import RunConfig
from pipeline.config_load import load_config
from pipeline.errors import MempError, fail
from pipeline.memory.cli import memory_app
from pipeline.presets import DEFAULT_PRESET
from pipeline.serve_local_cli import serve_local

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
perf_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
app.add_typer(perf_app, name="perf")
app.add_typer(memory_app, name="memory")
app.command("serve-local")(serve_local)
console = Console()


def memp_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("memp")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, not installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        console.print(f"memp {memp_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = None,
) -> None:
    """memp: procedural memory for LLM agents, run on Ray."""


def _preflight(cfg: RunConfig) -> None:
    from pipeline.preflight import check, describe

    for probe in check(cfg):
        console.print(f"preflight: {describe(probe)} ok ({probe.seconds:.1f}s)", highlight=False)


def _fit_timeouts(cfg: RunConfig, derive: bool) -> RunConfig:
    from pipeline.timeouts import fit_timeouts

    return fit_timeouts(cfg, console, derive)


def _default_run_dir(cfg: RunConfig) -> Path:
    return Path("runs") / f"{cfg.run.name}-{time.strftime('%Y%m%d-%H%M%S')}"


@app.command()
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

    trajectories = rd.recorded_trajectories()
    headline = get_suite(cfg.env).language.headline_scores
    title = f"{cfg.env.name} / {cfg.env.split} / {cfg.agent.model}"
    console.print(task_type_table(trajectories, title, headline))
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


@app.command()
def grid(
    grid_file: Annotated[
        Path | None, typer.Argument(help="grid YAML or grid preset name, e.g. paper-build")
    ] = None,
    grid_dir: Annotated[Path | None, typer.Option(help="where the grid is recorded")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the grid recorded in this directory")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local Ray)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="live progress display")] = True,
) -> None:
    """Run every cell of a grid (each paired with a no-memory control) and print the tables."""
    from actors.grid import GridRunner  # the Ray layer; pipeline/ itself never imports ray
    from pipeline.grid.plan import GridDir

    try:
        if resume is not None:
            gd = GridDir.resume(resume)
        elif grid_file is None:
            fail("give a grid file or --resume DIR")
            return
        else:
            stem = grid_file.stem
            path = grid_dir or Path("grids") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
            gd = GridDir.create(path, grid_file)
    except MempError as err:
        fail(str(err))
        return
    console.print(f"grid directory: {gd.path} ({len(gd.cells)} cells)")
    started = time.perf_counter()
    try:
        runner = GridRunner(gd, console, address=address, show_progress=progress)
        code = runner.run()
        if code == 0:
            files = runner.outputs()
            console.print(files.table, highlight=False, soft_wrap=True)
            console.print(f"grid: {files.markdown}  {files.csv}  {files.html}  {files.manifest}")
    except MempError as err:
        fail(str(err))
        return
    finally:
        gd.close()
    console.print(f"grid wall {time.perf_counter() - started:.1f}s", highlight=False)
    if code:
        raise typer.Exit(code)


@app.command()
def envs(
    target: Annotated[
        list[str] | None, typer.Argument(help="also describe these 'package.module:SuiteClass'")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
) -> None:
    """List the registered environments with their splits, sizes and sim policy."""
    from rich.table import Table

    from pipeline.envs.listing import describe_all

    rows = describe_all(target or [])
    if as_json:
        console.print_json(json.dumps([r.model_dump() for r in rows]))
        return
    table = Table(title="environments")
    for col in ("env", "splits (tasks)", "sim policy", "env.<name> keys", "suite"):
        table.add_column(col)
    for r in rows:
        splits = ", ".join(f"{s} ({'endless' if n is None else n})" for s, n in r.splits.items())
        table.add_row(r.name, splits or f"[red]{r.error}[/red]", r.sim_policy or "-",
                      ", ".join(r.settings) or "-", r.suite)  # fmt: skip
    console.print(table)


@app.command()
def presets() -> None:
    """List the presets shipped with memp: run configs (`memp run NAME`) and grids."""
    from rich.table import Table

    from pipeline.presets import description, grid_presets, run_presets

    table = Table(title="presets")
    for col in ("kind", "name", "description"):
        table.add_column(col)
    for kind, found in (("run", run_presets()), ("grid", grid_presets())):
        for name, path in found.items():
            table.add_row(kind, name, description(path))
    console.print(table)


@perf_app.command("env")
def perf_env(
    seconds: float = 3.0, seed: int = 0, env: str = "household", episodes: int = 8
) -> None:
    """Env steps/s: household on one core (target >= 20,000); alfworld with event-loop stall."""
    if env == "alfworld":
        from pipeline.config import EnvConfig
        from pipeline.perf.alfworld_env import bench_alfworld

        try:
            result = bench_alfworld(EnvConfig(name="alfworld"), episodes=episodes, seed=seed)
        except MempError as err:
            fail(str(err))
        console.print_json(json.dumps(result))
        return
    from pipeline.perf.env import bench_env

    result = bench_env(seconds=seconds, seed=seed)
    console.print_json(json.dumps(result))


@perf_app.command("llm")
def perf_llm(calls: int = 2000, seed: int = 0) -> None:
    """Sim-model calls/s and CPU ms per call through litellm."""
    from pipeline.perf.llm import bench_llm

    result = anyio.run(bench_llm, calls, seed)
    console.print_json(json.dumps(result))
    console.print("note: 'sim' is a scripted stand-in for an LLM; these figures are its own cost.")


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="run directories to compare")],
    out: Annotated[Path, typer.Option("-o", "--out", help="where to write the report")] = Path(
        "report"
    ),
) -> None:
    """Compare runs: PNG plots, report.md and a self-contained report.html."""
    from pipeline.report import build_report

    try:
        files = build_report(run_dirs, out)
    except MempError as err:
        fail(str(err))
        return
    console.print(f"report: {files.markdown}  {files.html}  ({len(files.images)} plots)")


@app.command()
def trajectory(
    run_dir: Annotated[Path, typer.Argument(help="a recorded run directory")],
    ident: Annotated[str, typer.Argument(help="trajectory id or a unique prefix of it")],
) -> None:
    """Print one recorded episode's transcript (task, outcome, every step)."""
    from pipeline.transcript import find_trajectory, transcript_lines

    try:
        lines = transcript_lines(find_trajectory(run_dir, ident))
    except MempError as err:
        fail(str(err))
        return
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def view(
    dirs: Annotated[list[Path], typer.Argument(help="run or grid directories")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free port)")] = 0,
) -> None:
    """Serve a read-only web viewer of runs, episodes and procedures; prints its URL."""
    from pipeline.view.app import bind, create_app, serve

    try:
        app = create_app(dirs)
        sock = bind(host, port)
    except (MempError, OSError) as err:  # OSError: the address cannot be bound
        fail(str(err))
        return
    serve(app, sock, lambda url: console.print(f"memp view: {url}", highlight=False))


@perf_app.command("memory")
def perf_memory(
    sizes: Annotated[str, typer.Option(help="comma-separated store sizes")] = "1000,10000",
    queries: int = 200,
) -> None:
    """Embedded-store writes/s and retrieval p50/p99 (query, avefact) at each size."""
    from pipeline.perf.memory import bench_memory

    try:
        parsed = tuple(int(x) for x in sizes.split(",") if x.strip())
    except ValueError:
        fail(f"--sizes {sizes!r}: expected comma-separated integers, e.g. 1000,10000")
        return
    console.print_json(json.dumps(anyio.run(bench_memory, parsed, queries)))


@perf_app.command("soak")
def perf_soak(
    episodes: Annotated[int, typer.Option(help="episodes of the endless run")] = 10_000,
    warmup: Annotated[int, typer.Option(help="episodes before the first sample")] = 1000,
    every: Annotated[int, typer.Option(help="episodes between samples")] = 1000,
    config: Annotated[Path, typer.Option(help="run config")] = DEFAULT_PRESET,
    run_dir: Annotated[Path | None, typer.Option(help="default: a temporary directory")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="extra config overrides")] = None,
) -> None:
    """RSS growth per 1,000 episodes of driver, writer, workers and GCS (async, endless split)."""
    import tempfile

    from pipeline.perf.soak import growth, render, soak

    if warmup >= episodes:
        fail(f"--warmup {warmup} must be below --episodes {episodes}")
        return
    where = run_dir or Path(tempfile.mkdtemp(prefix="memp-soak-")) / "run"
    samples, rc = soak(config, where, episodes, warmup, every, set_ or [])
    if rc != 0 or len(samples) < 2:
        fail(f"soak run exited {rc} with {len(samples)} samples; see {where}.soak.log")
        return
    rows = growth(samples[0], samples[-1])
    console.print(render(rows, samples[0], samples[-1]), highlight=False, soft_wrap=True)
    console.print_json(json.dumps({"samples": [s.model_dump() for s in samples],
                                   "growth": [r.model_dump() for r in rows]}))  # fmt: skip


@perf_app.command("view")
def perf_view(
    run_dir: Annotated[Path, typer.Argument(help="a recorded run directory")],
    samples: Annotated[int, typer.Option(help="episode and procedure pages sampled")] = 20,
) -> None:
    """`memp view` time per page (cold first visit, then warm) over a real socket."""
    from pipeline.perf.view import bench_view

    try:
        console.print_json(json.dumps(bench_view(run_dir, samples)))
    except MempError as err:
        fail(str(err))


@perf_app.command("pipeline")
def perf_pipeline(
    concurrency: Annotated[str, typer.Option(help="comma-separated levels")] = "64,256,512,1024",
    latency: Annotated[float, typer.Option(help="sim lognormal mean latency, s")] = 1.0,
    sigma: Annotated[float, typer.Option(help="lognormal shape")] = 0.5,
    warmup: Annotated[float, typer.Option(help="seconds before counting")] = 5.0,
    window: Annotated[float, typer.Option(help="seconds counted per level")] = 20.0,
    lockstep_at: Annotated[str, typer.Option(help="levels to also run lockstep")] = "256",
    workers: Annotated[int, typer.Option(help="rollout workers")] = 2,
    address: Annotated[str | None, typer.Option(help="Ray address (default: local)")] = None,
    server: Annotated[
        bool, typer.Option(help="agent calls a local OpenAI-compatible server over HTTP")
    ] = False,
    profile: Annotated[bool, typer.Option(help="memp's CPU per step by part (py-spy)")] = True,
    profile_out: Annotated[Path | None, typer.Option(help="keep raw py-spy stacks here")] = None,
) -> None:
    """Streaming episodes/s vs the latency-bound ideal, CPU ms per step, and vs lockstep batches."""
    from actors.perf import bench_pipeline  # the Ray layer; pipeline/ itself never imports ray
    from pipeline.perf.pipeline import breaking_point, render

    levels = [int(c) for c in concurrency.split(",") if c.strip()]
    lock = [int(c) for c in lockstep_at.split(",") if c.strip()]
    points = bench_pipeline(
        levels, workers=workers, latency_s=latency, sigma=sigma, warmup_s=warmup,
        window_s=window, lockstep_at=lock, address=address, server=server, profile=profile,
        profile_out=profile_out,
    )  # fmt: skip
    for table in render(points, latency, server):
        console.print(table)
    for p in points:  # one agent call per step with memory off: the client's CPU per call
        if p.parts_ms_per_step is not None:
            client = p.parts_ms_per_step.get("model client", 0.0)
            console.print(f"{p.concurrency} in flight: model client CPU {client:.2f} ms per call")
    broke = breaking_point(points)
    console.print(f"ratio to ideal falls below 0.9 at concurrency: {broke or 'none tested'}")
    console.print_json(json.dumps([p.model_dump() for p in points]))


def main() -> None:
    """Entry point: a MempError or a usage error is one stderr line and exit 2; anything else is
    a bug (traceback, exit 1)."""
    try:  # not standalone: usage errors come here instead of a multi-line box
        code = app(prog_name="memp", standalone_mode=False)
    except NoArgsIsHelpError as err:  # `memp memory` alone: its help, as before
        err.show()
        sys.exit(err.exit_code)
    except UsageError as err:
        where = f"; see {err.ctx.command_path} --help" if err.ctx is not None else ""
        fail(f"{err.format_message().rstrip('.')}{where}", code=err.exit_code)
    except ClickException as err:
        fail(err.format_message(), code=err.exit_code)
    except MempError as err:  # raised outside a command's own handler
        fail(err)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    if isinstance(code, int):  # typer.Exit(n) and --help come back as an exit code
        sys.exit(code)


if __name__ == "__main__":
    main()
