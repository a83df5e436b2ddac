"""The sim's per-process caches stay at their caps over an endless run (one process, no Ray)."""

from __future__ import annotations

import litellm

from pipeline import prompts
from pipeline.config import SimConfig
from pipeline.envs.household.language import agent_system
from pipeline.sim import pricing, roles
from pipeline.sim.memory_hints import MEMORY_CACHE, parse_memory

OPENING = (
    "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
    "around you, you see a cabinet 1, a countertop 1, a fridge 1, and a microwave 1.\n\n"
    "Your task is to: put a cool apple in countertop."
)
CFG = SimConfig()


def _episode() -> list[dict[str, str]]:
    return [
        {"role": "system", "content": agent_system("2.1.2")},
        {"role": "user", "content": prompts.agent_first_message(OPENING, None, None)},
    ]


def test_plan_cache_stays_at_cap_and_keeps_a_running_episode():
    roles._plans.clear()
    messages = _episode()
    first = roles.respond(CFG, 0, messages)  # seed 0: the long-running episode
    running = next(reversed(roles._plans))
    for seed in range(1, roles._PLANS_MAX + 50):  # every seed is another episode's plan
        roles.respond(CFG, seed, messages)
        if seed % 100 == 0:
            roles.respond(CFG, 0, messages)  # its next step: a hit keeps it
    assert len(roles._plans) == roles._PLANS_MAX
    assert running in roles._plans
    assert next(iter(roles._plans)) != running
    roles._plans.clear()  # an evicted plan is redrawn the same: same reply
    assert roles.respond(CFG, 0, messages) == first


def test_token_count_cache_stays_at_cap_and_counts_right_after_eviction():
    pricing._cache.clear()
    for i in range(pricing._CACHE_MAX + 100):
        pricing._message_tokens("user", f"observation number {i}")
    assert len(pricing._cache) == pricing._CACHE_MAX
    evicted = [{"role": "user", "content": "observation number 0"}]
    expected = litellm.token_counter(model=pricing._COUNT_MODEL, messages=evicted)
    assert pricing.prompt_tokens(evicted) == expected


def test_memory_text_caches_stay_at_cap():
    parse_memory.cache_clear()
    for i in range(MEMORY_CACHE + 40):
        parse_memory(f"Procedure {i}\n(from the task: put a cool apple in countertop.)\n> look")
    assert parse_memory.cache_info().currsize == MEMORY_CACHE


def test_token_count_cache_keeps_a_running_episodes_messages():
    """LRU: the history a running episode recounts each step outlives other episodes' texts."""
    pricing._cache.clear()
    history = [{"role": "user", "content": "the first observation of a long episode"}]
    pricing.prompt_tokens(history)
    for i in range(pricing._CACHE_MAX + 100):
        pricing._message_tokens("user", f"another episode's observation {i}")
        if i % 1000 == 0:
            pricing.prompt_tokens(history)  # its next step counts the history again: a hit
    assert hash(("user", history[0]["content"])) in pricing._cache
    pricing._cache.clear()


def test_caches_grow_with_episodes_in_flight_and_never_shrink_below_defaults():
    from pipeline.sim import size_caches

    defaults = (pricing._CACHE_MAX, roles._PLANS_MAX)
    try:
        size_caches(4096)
        assert pricing._CACHE_MAX == pricing.MESSAGES_PER_EPISODE * 4096
        assert roles._PLANS_MAX == 2 * 4096
        roles._plans.clear()
        messages = _episode()
        for seed in range(3000):  # 3,000 episodes in flight: none of their plans is evicted
            roles.respond(CFG, seed, messages)
        assert len(roles._plans) == 3000
        size_caches(1)
        assert defaults == (pricing._CACHE_MAX, roles._PLANS_MAX)
    finally:
        pricing._CACHE_MAX, roles._PLANS_MAX = defaults
        roles._plans.clear()
