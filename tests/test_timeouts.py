"""Timeouts derived from a timed call when unset, warnings when set ones cannot fit."""

from __future__ import annotations

import time

import anyio

from pipeline.config_load import load_config
from pipeline.timeouts import CallEstimate, fit, measure
from tests.openai_server import OpenAIServer


def _est(call_s: float) -> CallEstimate:
    return CallEstimate(prompt_tokens=500, first_s=call_s / 2, per_token_s=0.01, call_s=call_s)


def test_unset_timeouts_are_derived_and_never_below_the_defaults() -> None:
    cfg = load_config(None, ["agent.model=openai/m", "env.step_limit=30",
                             "pipeline.rollout_workers=1", "pipeline.episodes_per_worker=4",
                             "agent.concurrency=2"])  # fmt: skip
    slow, derived, warnings = fit(cfg, _est(40.0))
    assert slow.agent.timeout_s == 120.0  # 3 calls' worth
    assert slow.agent.episode_timeout_s == 30 * 40.0 * 2 * 1.5  # 4 episodes on 2 slots: x2
    assert derived == ["agent.timeout_s=120", "agent.episode_timeout_s=3600"] and not warnings
    fast, _, _ = fit(cfg, _est(0.2))
    assert (fast.agent.timeout_s, fast.agent.episode_timeout_s) == (60.0, 600.0)
    assert cfg.agent.timeout_s == 60.0  # the input is not modified


def test_set_timeouts_are_kept_with_a_warning_when_calls_cannot_fit() -> None:
    cfg = load_config(None, ["agent.model=openai/m", "env.step_limit=50",
                             "agent.timeout_s=10", "agent.episode_timeout_s=100"])  # fmt: skip
    kept, derived, warnings = fit(cfg, _est(12.0))
    assert kept is cfg and not derived
    assert len(warnings) == 2
    assert "agent.timeout_s=10 is shorter than one measured call (~12.0s" in warnings[0]
    assert "agent.episode_timeout_s=100 cannot fit env.step_limit=50 calls" in warnings[1]
    assert fit(cfg, _est(1.0))[2] == []


def test_measure_times_the_envs_real_first_prompt_over_http() -> None:
    def reply(messages: list[dict]) -> str:
        time.sleep(0.2)
        return "Think: x\nAction: look"

    with OpenAIServer(reply) as server:
        cfg = load_config(None, ["agent.model=openai/m", f"agent.api_base={server.base_url}",
                                 "agent.max_tokens=100"])  # fmt: skip
        est = anyio.run(measure, cfg)
        bodies = list(server.requests)
    assert [b["max_tokens"] for b in bodies] == [1, 16]
    assert "Your task is to:" in bodies[0]["messages"][1]["content"]
    assert est.first_s >= 0.2 and est.prompt_tokens > 50
    assert est.call_s >= est.first_s + 99 * est.per_token_s - 1e-9
