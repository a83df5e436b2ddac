"""Timeouts that fit a slow model: time one real agent prompt, then derive or check the limits.

Unset `agent.timeout_s` / `agent.episode_timeout_s` are derived from the measured call (never
below their defaults); set ones are kept, with a warning when step_limit calls cannot fit.
"""

from __future__ import annotations

import time

import anyio
from pydantic import BaseModel
from rich.console import Console

from pipeline.config import AgentConfig, RunConfig

CALL_MARGIN = 3.0  # per-call timeout: this many estimated calls (load, longer later prompts)
EPISODE_MARGIN = 1.5  # episode timeout: step_limit queued calls times this
GEN_PROBE_TOKENS = 16


class CallEstimate(BaseModel):
    """One agent call at the run's max_tokens, estimated from two timed calls."""

    prompt_tokens: int
    first_s: float  # the real first prompt, one output token (prompt processing dominates)
    per_token_s: float  # generation time per output token
    call_s: float  # first_s + per_token_s * (max_tokens - 1)


async def measure(cfg: RunConfig) -> CallEstimate:
    """Time the env's real first prompt with 1, then GEN_PROBE_TOKENS, output tokens."""
    from pipeline.envs import get_suite
    from pipeline.llm import LLMClient

    suite = get_suite(cfg.env)
    language = suite.language
    task = next(iter(suite.tasks(cfg.env.split)))
    env = suite.make()
    try:
        opening = env.reset(task)
    finally:
        close = getattr(env, "close", None)
        if close is not None:
            close()
    example = language.one_shot_example(task) if cfg.agent.one_shot else None
    messages = [
        {"role": "system", "content": language.system_prompt(task)},
        {"role": "user", "content": language.first_message(opening, task, example, None)},
    ]
    quick = {"max_retries": 1, "temperature": 0.0}
    first = LLMClient(cfg.agent.model_copy(update={**quick, "max_tokens": 1}))
    started = time.perf_counter()
    answer = await first.complete(messages, "timing")
    first_s = time.perf_counter() - started
    gen = LLMClient(cfg.agent.model_copy(update={**quick, "max_tokens": GEN_PROBE_TOKENS}))
    started = time.perf_counter()
    more = await gen.complete(messages, "timing")  # the prompt is cached by now, mostly
    per_token = (time.perf_counter() - started) / max(1, more.usage.completion_tokens)
    call_s = first_s + per_token * max(0, cfg.agent.max_tokens - 1)
    return CallEstimate(
        prompt_tokens=answer.usage.prompt_tokens,
        first_s=first_s,
        per_token_s=per_token,
        call_s=call_s,
    )


def queueing(cfg: RunConfig) -> float:
    """How many calls deep an episode's call waits: episodes in flight per concurrent call."""
    p = cfg.pipeline
    in_flight = p.max_in_flight or p.rollout_workers * p.episodes_per_worker
    return max(1.0, in_flight / (p.rollout_workers * cfg.agent.concurrency))


def fit(cfg: RunConfig, est: CallEstimate) -> tuple[RunConfig, list[str], list[str]]:
    """(config with derived timeouts, what was derived, warnings about set timeouts)."""
    agent = cfg.agent
    fields = agent.model_fields_set
    defaults = AgentConfig()
    derived: list[str] = []
    warnings: list[str] = []
    update: dict[str, float] = {}
    if "timeout_s" not in fields:
        update["timeout_s"] = round(max(defaults.timeout_s, CALL_MARGIN * est.call_s), 1)
        derived.append(f"agent.timeout_s={update['timeout_s']:g}")
    elif est.call_s > agent.timeout_s:
        warnings.append(
            f"agent.timeout_s={agent.timeout_s:g} is shorter than one measured call "
            f"(~{est.call_s:.1f}s at max_tokens={agent.max_tokens}): calls will time out"
        )
    episode_s = cfg.env.step_limit * est.call_s * queueing(cfg)
    if "episode_timeout_s" not in fields:
        value = round(max(defaults.episode_timeout_s, EPISODE_MARGIN * episode_s), 1)
        update["episode_timeout_s"] = value
        derived.append(f"agent.episode_timeout_s={value:g}")
    elif episode_s > agent.episode_timeout_s:
        warnings.append(
            f"agent.episode_timeout_s={agent.episode_timeout_s:g} cannot fit "
            f"env.step_limit={cfg.env.step_limit} calls of ~{est.call_s:.1f}s "
            f"(x{queueing(cfg):.1f} queued): ~{episode_s:.0f}s; long episodes will time out"
        )
    if not update:
        return cfg, derived, warnings
    new_agent = agent.model_copy(update=update)
    return cfg.model_copy(update={"agent": new_agent}), derived, warnings


def fit_timeouts(cfg: RunConfig, console: Console, derive: bool) -> RunConfig:
    """Time one real agent call; derive unset timeouts (new runs), warn about set ones."""
    from pipeline.llm import LLMError, is_sim

    if is_sim(cfg.agent.model):
        return cfg
    try:
        est = anyio.run(measure, cfg)
    except LLMError as err:
        console.print(f"[yellow]timeouts: no timing call ({err.kind}); kept as configured")
        return cfg
    fitted, derived, warnings = fit(cfg, est)
    console.print(
        f"timeouts: one agent call ~{est.call_s:.1f}s (prompt {est.prompt_tokens} tokens, "
        f"max_tokens {cfg.agent.max_tokens})"
        + (f"; derived {', '.join(derived)}" if derived else ""),
        highlight=False,
    )
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    return fitted if derive else cfg
