"""The sim through real litellm: registration, kwarg route, determinism, usage, cost, latency."""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import litellm

from pipeline import prompts, sim
from pipeline.config import LatencyConfig, SimConfig
from pipeline.envs.household.language import agent_system
from pipeline.sim.latency import sample_latency

START = (
    "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
    "around you, you see a cabinet 1, a cabinet 2, a countertop 1, a fridge 1, a microwave 1, "
    "a sinkbasin 1, and a toaster 1.\n\nYour task is to: put a clean mug in cabinet."
)


def agent_messages(grammar: str = "2.1.2") -> list[dict[str, str]]:
    return [
        {"role": "system", "content": agent_system(grammar)},
        {"role": "user", "content": prompts.agent_first_message(START, None, None)},
    ]


def call(messages: list[dict[str, str]], cfg: SimConfig | None = None, seed: int = 0, **kw):
    cfg = cfg or SimConfig()
    sim.register(cfg)
    extra = sim.call_kwargs(cfg, seed)
    return asyncio.run(litellm.acompletion(model="sim/household", messages=messages, **extra, **kw))


def test_register_is_idempotent_and_one_handler():
    sim.register(SimConfig())
    sim.register(SimConfig())
    entries = [e for e in litellm.custom_provider_map if e["provider"] == "sim"]
    assert len(entries) == 1


def test_kwargs_reach_the_handler():
    # format_error_rate=1 only has an effect if sim_config really arrives in optional_params.
    always_bad = SimConfig(format_error_rate=1.0)
    texts = {
        call(agent_messages(), always_bad, seed=s).choices[0].message.content for s in range(5)
    }
    assert all("Action:" not in t for t in texts)
    fine = SimConfig(format_error_rate=0.0, invalid_rate=0.0)
    text = call(agent_messages(), fine, temperature=0, max_tokens=64).choices[0].message.content
    assert text.startswith("Think: ") and "\nAction: go to " in text


def test_works_without_extra_kwargs():
    sim.register(SimConfig())
    r = asyncio.run(litellm.acompletion(model="sim/household", messages=agent_messages()))
    assert r.choices[0].message.content
    r2 = asyncio.run(litellm.acompletion(model="sim/household", messages=agent_messages()))
    assert r2.choices[0].message.content == r.choices[0].message.content


def test_deterministic_given_seed_and_messages():
    a = [call(agent_messages(), seed=7).choices[0].message.content for _ in range(3)]
    assert len(set(a)) == 1
    others = {call(agent_messages(), seed=s).choices[0].message.content for s in range(12)}
    assert len(others) > 1  # the search order depends on the run seed


def test_usage_and_cost_are_real():
    msgs = agent_messages()
    r = call(msgs, SimConfig(price_in_per_mtok=1.0, price_out_per_mtok=2.0))
    expected = litellm.token_counter(model="gpt-4o-mini", messages=msgs)
    assert r.usage.prompt_tokens == expected
    assert r.usage.completion_tokens > 0
    cost = litellm.completion_cost(completion_response=r)
    want = (r.usage.prompt_tokens * 1.0 + r.usage.completion_tokens * 2.0) / 1e6
    assert abs(cost - want) < 1e-12
    assert r._hidden_params.get("response_cost") == cost


def test_lognormal_latency_mean():
    cfg = LatencyConfig(kind="lognormal", mean_s=0.02, sigma=0.8)
    rng = random.Random(1)
    mean = statistics.fmean(sample_latency(cfg, rng) for _ in range(20000))
    assert abs(mean - 0.02) < 0.002
    assert sample_latency(LatencyConfig(kind="fixed", mean_s=0.01), rng) == 0.01
    assert sample_latency(LatencyConfig(), rng) == 0.0


def test_latency_is_awaited_not_blocking():
    # A latency long against per-call CPU, so a loaded machine cannot make overlap look serial.
    cfg = SimConfig(latency=LatencyConfig(kind="fixed", mean_s=0.3))
    sim.register(cfg)
    extra = sim.call_kwargs(cfg, 0)

    async def many() -> float:
        await litellm.acompletion(model="sim/household", messages=agent_messages(), **extra)
        started = time.perf_counter()  # after one warm call: first-call set-up is not latency
        await asyncio.gather(
            *(
                litellm.acompletion(model="sim/household", messages=agent_messages(), **extra)
                for _ in range(20)
            )
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(many())
    assert 0.3 <= elapsed < 0.3 * 20 / 2  # concurrent waits overlap
