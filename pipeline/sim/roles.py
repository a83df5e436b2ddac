"""The household sim policy: one reply from (config, seed, messages); the system prompt picks
the role."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pipeline.config import SimConfig
from pipeline.envs.household.language import (
    ADJUST_SYSTEM,
    AGENT_SYSTEM,
    KEYWORDS_SYSTEM,
    MOVE_CMD,
    SCRIPT_SYSTEM,
)
from pipeline.sim import writer_roles
from pipeline.sim.agent_policy import Plan, answer, plan_episode
from pipeline.sim.belief import rebuild, split_first_message, start_belief
from pipeline.sim.memory_hints import MemoryHints, hints_for
from pipeline.sim.seeding import call_rng, digest, rng_of

_AGENT_MARK = AGENT_SYSTEM.splitlines()[0][:40]
_SCRIPT_MARK = SCRIPT_SYSTEM.splitlines()[0][:40]
_ADJUST_MARK = ADJUST_SYSTEM.splitlines()[0][:40]
_KEYWORDS_MARK = KEYWORDS_SYSTEM.splitlines()[0][:40]
_OLD_MOVE = MOVE_CMD["2.1.1"]
# One plan per episode, needed only while it is in flight (32 per worker by default): at 8,192 an
# endless soak's rollout worker was still filling the cap after 4,800 episodes. An
# evicted plan is redrawn from the same key, so a smaller cap costs CPU above 512 in flight, not
# results; LRU keeps the plans of running episodes.
_plans: OrderedDict[bytes, Plan] = OrderedDict()
_PLANS_MAX = 512


def size_for(episodes_in_flight: int) -> None:
    """One plan per in-flight episode, twice over (finished ones age out)."""
    global _PLANS_MAX
    _PLANS_MAX = max(512, 2 * episodes_in_flight)


def role_of(messages: list[dict[str, str]]) -> str:
    """agent | script | adjust | keywords | generic, from the system prompt (or the task text)."""
    system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
    for mark, role in (
        (_AGENT_MARK, "agent"),
        (_SCRIPT_MARK, "script"),
        (_ADJUST_MARK, "adjust"),
        (_KEYWORDS_MARK, "keywords"),
    ):
        if mark in system:
            return role
    if any(
        "Your task is to:" in str(m.get("content") or "")
        for m in messages
        if m.get("role") == "user"
    ):
        return "agent"
    return "generic"


def _agent(cfg: SimConfig, seed: int, messages: list[dict[str, str]]) -> str:
    first = next((i for i, m in enumerate(messages) if m.get("role") == "user"), None)
    if first is None:
        return "Think: I have no task yet.\nAction: look"
    head = messages[: first + 1]
    system = next((str(m.get("content") or "") for m in head if m.get("role") == "system"), "")
    _, memory, task = split_first_message(str(messages[first].get("content") or ""))
    cfg_key = repr(cfg.model_dump()).encode()
    key = digest(seed, head, b"episode" + cfg_key)
    plan = _plans.get(key)
    start = start_belief(task)
    if plan is not None:
        _plans.move_to_end(key)
    else:
        hints = (
            hints_for(memory, start.goal, tuple(start.receptacles)) if start.goal else MemoryHints()
        )
        plan = plan_episode(rng_of(key), start, hints, cfg, _OLD_MOVE in system)
        _plans[key] = plan
        if len(_plans) > _PLANS_MAX:
            _plans.popitem(last=False)
    belief = rebuild(messages, task, first)
    return answer(belief, plan, call_rng(seed, messages), cfg.format_error_rate)


def respond(
    cfg: SimConfig,
    seed: int,
    messages: list[dict[str, str]],
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """The sim's reply text for one chat request (household commands are text, not tools)."""
    role = role_of(messages)
    if role == "agent":
        return _agent(cfg, seed, messages)
    user = next(
        (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), ""
    )
    if role == "script":
        return writer_roles.write_script(user)
    if role == "adjust":
        return writer_roles.adjust_script(user)
    if role == "keywords":
        return writer_roles.keywords(user)
    return writer_roles.generic(user)
