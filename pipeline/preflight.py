"""Preflight: one probe call per configured model and the embedder before a run starts.

A missing key, an unreachable endpoint or a bad model string then fails in seconds with one line,
instead of after Ray start-up as errored episodes.
"""

from __future__ import annotations

import time

import anyio
from pydantic import BaseModel

from pipeline.config import ModelConfig, RunConfig
from pipeline.errors import MempError

PROBE_TIMEOUT_S = 30.0


class PreflightError(MempError, ValueError):
    """A configured model cannot be used; the message is one line naming the role and model."""


class Probe(BaseModel):
    role: str  # agent | builder | embedder
    model: str
    api_base: str | None = None
    ok: bool = False
    seconds: float = 0.0
    problem: str = ""


def planned(cfg: RunConfig) -> list[tuple[str, ModelConfig | None]]:
    """(role, chat model config) to probe; None for the embedder. sim/* runs in-process: skipped."""
    out: list[tuple[str, ModelConfig | None]] = []
    if not cfg.agent.model.startswith("sim/"):
        out.append(("agent", cfg.agent))
    mem = cfg.memory
    builder = mem.builder
    if mem.enabled and builder is not None and not builder.model.startswith("sim/"):
        same = (builder.model, builder.api_base) == (cfg.agent.model, cfg.agent.api_base)
        if not same:
            out.append(("builder", builder))
    if mem.enabled and mem.embedder.startswith("litellm:"):
        out.append(("embedder", None))
    return out


def _quick(model: ModelConfig) -> ModelConfig:
    return model.model_copy(
        update={"max_retries": 1, "max_tokens": 1, "timeout_s": min(model.timeout_s,
                                                                     PROBE_TIMEOUT_S)}
    )  # fmt: skip


async def _probe(cfg: RunConfig, role: str, model: ModelConfig | None) -> Probe:
    from pipeline.llm import LLMClient, LLMError
    from pipeline.memory.embed import EmbedderError
    from pipeline.memory.stack import MemoryStack

    name = model.model if model else cfg.memory.embedder.removeprefix("litellm:")
    probe = Probe(role=role, model=name, api_base=model.api_base if model else None)
    started = time.perf_counter()
    try:
        if model is None:
            await MemoryStack(cfg.memory).embedder.embed(["preflight probe"])
        else:
            client = LLMClient(_quick(model))
            await client.complete([{"role": "user", "content": "Reply with OK."}], "preflight")
        probe.ok = True
    except LLMError as err:
        # Throttled means reachable with a working key: the run's own back-off handles it.
        probe.ok = err.kind == "rate_limit"
        probe.problem = f"{err.kind}: {err}"
    except EmbedderError as err:
        probe.problem = str(err)
    probe.seconds = time.perf_counter() - started
    return probe


async def probe_all(cfg: RunConfig) -> list[Probe]:
    """Every planned probe, concurrently."""
    plan = planned(cfg)
    results: list[Probe | None] = [None] * len(plan)

    async def one(i: int, role: str, model: ModelConfig | None) -> None:
        results[i] = await _probe(cfg, role, model)

    async with anyio.create_task_group() as tg:
        for i, (role, model) in enumerate(plan):
            tg.start_soon(one, i, role, model)
    return [r for r in results if r is not None]


def describe(p: Probe) -> str:
    where = f" at {p.api_base}" if p.api_base else ""
    return f"{p.role} model {p.model!r}{where}"


def check(cfg: RunConfig) -> list[Probe]:
    """Run the probes; PreflightError (one line, the first failure) when any fails."""
    probes = anyio.run(probe_all, cfg)
    failed = [p for p in probes if not p.ok]
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        first = failed[0]
        raise PreflightError(
            f"preflight: {describe(first)} failed: {first.problem}{more}; "
            "fix the config or skip with --no-preflight"
        )
    return probes
