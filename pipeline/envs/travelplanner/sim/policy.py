"""`sim/travelplanner`: one reply from (config, seed, messages); the system prompt picks a role."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from pipeline import prompts as shared
from pipeline.envs.travelplanner.sim import writer
from pipeline.envs.travelplanner.sim.catalog import read_catalog
from pipeline.envs.travelplanner.sim.checks import stated_checks
from pipeline.envs.travelplanner.sim.gather import next_action, thought_for, wanted_actions
from pipeline.envs.travelplanner.sim.knobs import (
    MISTAKE_CHECK,
    TravelPlannerSimKnobs,
    knobs_from,
    memory_trust,
)
from pipeline.envs.travelplanner.sim.planner import plan_answer, write_plan
from pipeline.envs.travelplanner.sim.request import read_request

PLAN_REQUEST = "Travel Plan:"
INFORMATION = "Given information:"
_ACTION_LINE = "Action:"


def _text(message: dict[str, Any]) -> str:
    return str(message.get("content") or "")


def _digest(seed: int, parts: list[str], salt: str) -> int:
    h = hashlib.blake2b(f"{salt}\x1f{seed}".encode(), digest_size=16)
    for p in parts:
        h.update(p.encode())
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little")


def role_of(messages: list[dict[str, Any]]) -> str:
    """agent | script | adjust | keywords, from the system prompt's wording."""
    system = next((_text(m) for m in messages if m.get("role") == "system"), "").lower()
    first = system.splitlines()[0] if system else ""
    if "revise procedural memory" in first:
        return "adjust"
    if "procedural memory" in first:
        return "script"
    if "keywords" in first:
        return "keywords"
    return "agent"


def split_first_message(text: str) -> tuple[str, str]:
    """(memory slot, task section) of the first user turn; the example is dropped."""
    head, _, task = text.rpartition(shared.TURN_HEADER)
    if not _:
        return "", text
    memory = head.partition(shared.MEMORY_HEADER)[2] if shared.MEMORY_HEADER in head else ""
    return memory.strip(), task.strip()


def _query_text(task: str) -> str:
    for line in task.splitlines():
        if line.startswith("Query:"):
            return line.removeprefix("Query:").strip()
    return task.strip()


def _mistakes(cfg: Any, seed: int, episode: list[str], memory: str) -> frozenset[str]:
    """The plan's mistakes, drawn once per episode; a trusted stated check shrinks its chance."""
    knobs = knobs_from(cfg)
    trust = memory_trust(cfg)
    checks = stated_checks(memory) if memory else frozenset()
    out = set()
    for mistake, check in MISTAKE_CHECK.items():
        # One stream per mistake, keyed without the memory slot: memory only moves the threshold.
        rng = random.Random(_digest(seed, episode, f"mistake:{mistake}"))
        chance = knobs.rate(mistake)
        if check in checks and rng.random() < trust:
            chance *= 1.0 - knobs.check_relief
        if rng.random() < chance:
            out.add(mistake)
    return frozenset(out)


def _format_error(cfg: Any, seed: int, messages: list[dict[str, Any]]) -> bool:
    rate = (
        cfg.get("format_error_rate")
        if isinstance(cfg, dict)
        else getattr(cfg, "format_error_rate", 0)
    )
    rng = random.Random(_digest(seed, [_text(m) for m in messages], "format"))
    return rng.random() < float(rate or 0.0)


def _agent(cfg: Any, seed: int, messages: list[dict[str, Any]]) -> str:
    first = next((i for i, m in enumerate(messages) if m.get("role") == "user"), None)
    if first is None:
        return "Thought: There is no request yet."
    system = next((_text(m) for m in messages if m.get("role") == "system"), "")
    memory, task = split_first_message(_text(messages[first]))
    req = read_request(_query_text(task))
    episode = [system, task]
    mistakes = _mistakes(cfg, seed, episode, memory)
    later = [_text(m) for m in messages[first + 1 :]]
    last = max(i for i, m in enumerate(messages) if m.get("role") in ("user", "tool"))
    last_user = task if last == first else _text(messages[last])
    if last_user.rstrip().endswith(PLAN_REQUEST) and INFORMATION in last_user:
        # The planning turn sees only the given information (the Notebook), as the Planner does.
        info = last_user.partition(INFORMATION)[2]
        plan = write_plan(
            req, read_catalog([info]), mistakes, random.Random(_digest(seed, episode, "plan"))
        )
        return plan_answer(plan)
    if _format_error(cfg, seed, messages):
        return "Thought: Let me think about which search comes next."
    done = [
        line.partition(_ACTION_LINE)[2].strip()
        for m in messages[first + 1 :]
        if m.get("role") == "assistant"
        for line in _text(m).splitlines()
        if line.startswith(_ACTION_LINE)
    ]
    cat = read_catalog([task, *later])
    rng = random.Random(_digest(seed, episode, "gather"))
    skip = knobs_from(cfg).notebook_skip
    wanted = wanted_actions(req, cat, done, rng, "transport_rule_miss" in mistakes, skip)
    action = next_action(wanted, done) or f"Planner[{req.text}]"
    return f"Thought: {thought_for(action)}\nAction: {action}"


def respond(sim_config: Any, seed: int, messages: list[dict[str, Any]], tools: Any = None) -> str:
    """The sim's reply for one chat request (text ReAct answers, even when tools are offered)."""
    role = role_of(messages)
    if role == "agent":
        return _agent(sim_config, seed, messages)
    user = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    if role == "script":
        return writer.write_script(user)
    if role == "adjust":
        return writer.adjust_script(user)
    return writer.keywords(user)


# envcore's pipeline.sim.settings_model() reads this to validate the `sim.travelplanner` section.
respond.settings_model = TravelPlannerSimKnobs  # type: ignore[attr-defined]
