"""`memp perf llm`: sim calls per second through memp's client, and the CPU each one costs."""

from __future__ import annotations

import time

import litellm  # pipeline/__init__.py has set LITELLM_LOCAL_MODEL_COST_MAP: no network fetch

from pipeline import prompts, sim
from pipeline.config import ModelConfig, SimConfig
from pipeline.envs.household.language import agent_system
from pipeline.llm import LLMClient
from pipeline.sim import provider

_RECEPS = [f"cabinet {i}" for i in range(1, 7)] + [
    *("countertop 1", "countertop 2", "drawer 1", "drawer 2", "fridge 1", "microwave 1"),
    *("sinkbasin 1", "stoveburner 1", "toaster 1", "diningtable 1", "garbagecan 1"),
]
_OPENING = (
    "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
    "around "
    f"you, you see {', '.join('a ' + r for r in _RECEPS[:-1])}, and a {_RECEPS[-1]}.\n\n"
    "Your task is to: put a clean mug in cabinet."
)
_MEMORY = prompts.render_procedure(
    1,
    "clean some bowl and put it in shelf.",
    "1. Look for a bowl at the countertop, opening closed ones.\n2. Take the bowl.\n"
    "3. Go to the sinkbasin and clean the bowl with the sinkbasin.\n"
    "4. Go to the shelf and put the bowl in/on the shelf.",
    [
        "> go to countertop 1",
        "You arrive at countertop 1. On the countertop 1, you see a bowl 2, and a knife 1.",
        "> take bowl 2 from countertop 1",
        "You pick up the bowl 2 from the countertop 1.",
    ],
)


def _transcript(variant: int) -> list[dict[str, str]]:
    """A realistic agent prompt: system, first turn with a memory slot, ~10 steps of history."""
    messages = [
        {"role": "system", "content": agent_system("2.1.2")},
        {"role": "user", "content": prompts.agent_first_message(_OPENING, None, _MEMORY)},
    ]
    order = _RECEPS[variant % 5 :] + _RECEPS[: variant % 5]
    for r in order[:10]:
        obs = (
            f"You arrive at {r}. The {r} is closed."
            if r.split()[0] in ("cabinet", "drawer", "fridge", "microwave")
            else f"You arrive at {r}. On the {r}, you see a spoon {variant % 3 + 1}."
        )
        messages.append(
            {"role": "assistant", "content": f"Think: I look at {r}.\nAction: go to {r}"}
        )
        messages.append({"role": "user", "content": prompts.OBSERVATION_PREFIX + obs})
    return messages


async def _cpu_per_call(call, prompts_pool, calls: int) -> tuple[float, float, float]:
    """(wall s, CPU ms per call, sim handler CPU ms per call) over `calls` sequential calls."""
    inner = 0.0
    original = provider.SimLLM.acompletion

    async def timed(self, *args, **kwargs):  # our handler's own CPU share (reply, tokens, usage)
        nonlocal inner
        t0 = time.process_time()
        out = await original(self, *args, **kwargs)
        inner += time.process_time() - t0
        return out

    await call(prompts_pool[0])  # warm up
    provider.SimLLM.acompletion = timed  # type: ignore[method-assign]
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(calls):
            await call(prompts_pool[i % len(prompts_pool)])
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        provider.SimLLM.acompletion = original  # type: ignore[method-assign]
    return wall, 1000 * cpu / calls, 1000 * inner / calls


async def bench_llm(calls: int = 2000, seed: int = 0) -> dict[str, float]:
    """CPU per sim call through memp's LLMClient (its lean litellm route) and through the full
    litellm.acompletion, measured back to back in one run."""
    cfg = SimConfig()
    sim.register(cfg)
    kw = sim.call_kwargs(cfg, seed)
    prompts_pool = [_transcript(v) for v in range(20)]
    client = LLMClient(ModelConfig(model="sim/household"), cfg, seed)

    async def via_client(messages):
        return await client.complete(messages, role="agent")

    async def via_acompletion(messages):
        return await litellm.acompletion(model="sim/household", messages=messages, **kw)

    wall, per_call, inner = await _cpu_per_call(via_client, prompts_pool, calls)
    _, full, full_inner = await _cpu_per_call(via_acompletion, prompts_pool, calls)
    return {
        "calls": calls,
        "seconds": round(wall, 3),
        "calls_per_s": round(calls / wall, 1),
        "cpu_ms_per_call": round(per_call, 3),
        "sim_ms_per_call": round(inner, 3),
        "client_overhead_ms": round(per_call - inner, 3),
        "acompletion_cpu_ms_per_call": round(full, 3),
        "acompletion_overhead_ms": round(full - full_inner, 3),
    }
