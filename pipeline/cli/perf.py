"""`memp perf ...`: benchmarks that print figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console

from pipeline.errors import MempError, fail
from pipeline.presets import DEFAULT_PRESET

perf_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
console = Console()


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
    warmup: Annotated[
        float, typer.Option(help="seconds before counting, once every episode is admitted")
    ] = 5.0,
    window: Annotated[float, typer.Option(help="seconds counted per level")] = 20.0,
    lockstep_at: Annotated[str, typer.Option(help="levels to also run lockstep")] = "256",
    workers: Annotated[int, typer.Option(help="rollout workers")] = 2,
    address: Annotated[str | None, typer.Option(help="Ray address (default: local)")] = None,
    server: Annotated[
        bool, typer.Option(help="agent calls a local OpenAI-compatible server over HTTP")
    ] = False,
    profile: Annotated[bool, typer.Option(help="memp's CPU per step by part (py-spy)")] = True,
    profile_out: Annotated[Path | None, typer.Option(help="keep raw py-spy stacks here")] = None,
    memory: Annotated[
        int, typer.Option(help="procedures in a seeded store each episode retrieves from (0: off)")
    ] = 0,
    follow_knee: Annotated[
        bool, typer.Option(help="levels are ceilings; memp run's knee rule picks what flies")
    ] = False,
) -> None:
    """Streaming episodes/s vs the latency-bound ideal, CPU ms per step, and vs lockstep batches."""
    from actors.perf import bench_pipeline  # the Ray layer; pipeline/ itself never imports ray
    from pipeline.perf.pipeline import breaking_point, render

    levels = [int(c) for c in concurrency.split(",") if c.strip()]
    lock = [int(c) for c in lockstep_at.split(",") if c.strip()]
    points = bench_pipeline(
        levels, workers=workers, latency_s=latency, sigma=sigma, warmup_s=warmup,
        window_s=window, lockstep_at=lock, address=address, server=server, profile=profile,
        profile_out=profile_out, memory=memory, follow_knee=follow_knee,
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


@perf_app.command("nodes")
def perf_nodes(
    concurrency: Annotated[int, typer.Option(help="episodes in flight")] = 2048,
    # Short latency: 2,048 in flight then ask ~4,000 steps/s, more than one core carries.
    latency: Annotated[float, typer.Option(help="sim lognormal mean latency, s")] = 0.5,
    warmup: Annotated[float, typer.Option(help="seconds before counting")] = 5.0,
    window: Annotated[float, typer.Option(help="seconds counted per run")] = 15.0,
    server: Annotated[
        bool, typer.Option(help="agent calls a local OpenAI-compatible server over HTTP")
    ] = False,
) -> None:
    """Steps/s on a local two-node Ray cluster: head only, with a second node, head only again."""
    from actors.perf_nodes import bench_nodes  # the Ray layer

    try:
        runs = bench_nodes(concurrency, window, warmup, latency, server)
    except MempError as err:
        fail(str(err))
        return
    for name, p in runs:
        line = (f"{name:>15}: {p.steps_per_s:8.1f} steps/s, ratio {p.ratio:.2f}, "
                f"CPU {p.cpu_ms_per_step:.2f} ms/step, workers on {p.nodes} node(s)")  # fmt: skip
        console.print(line, soft_wrap=True)
    one = (runs[0][1].steps_per_s + runs[2][1].steps_per_s) / 2
    gain = runs[1][1].steps_per_s / one if one else 0.0
    console.print(f"two nodes / one node (mean of before and after): {gain:.2f}")
    console.print("note: 'sim' is a scripted stand-in for an LLM; the nodes share one machine.")
    console.print_json(json.dumps({"runs": [{"name": n, **p.model_dump()} for n, p in runs],
                                   "two_over_one": round(gain, 3)}))  # fmt: skip
