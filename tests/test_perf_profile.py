"""memp perf pipeline's CPU split: a sample belongs to its innermost claimed frame."""

from __future__ import annotations

from collections import Counter

from pipeline.perf.profile import parse_raw, part_of, per_step, split_cpu

ROOT = "run (asyncio/base_events.py:10);_episode (/x/actors/rollout.py:90)"


def test_innermost_claimed_frame_names_the_part() -> None:
    agent = f"{ROOT};_play (/x/pipeline/agent.py:150)"
    llm = f"{agent};complete (/x/pipeline/llm.py:1);acompletion (/v/litellm/main.py:9)"
    assert part_of(llm) == "model client"
    assert part_of(f"{llm};acompletion (/x/pipeline/sim/provider.py:130)") == "sim"
    assert part_of(f"{agent};call (/x/pipeline/llm_route.py:70)") == "model client"
    assert part_of(f"{agent};step (/x/pipeline/envs/household/env.py:5)") == "env"
    assert part_of(f"{agent};parse (/x/pipeline/envs/household/language.py:5)") == "prompt/parse"
    assert part_of(f"{agent};validate (/v/pydantic/main.py:3)") == "prompt/parse"
    assert part_of(ROOT) == "Ray/driver"
    assert part_of("run (asyncio/base_events.py:10)") == "other"


def test_cpu_is_shared_by_samples_and_the_unsampled_rest_is_rays() -> None:
    raw = f"{ROOT};step (/x/pipeline/envs/a.py:1) 30\n{ROOT};f (/v/litellm/x.py:2) 20\n"
    samples = parse_raw(raw)
    assert samples == Counter({"env": 30, "model client": 20})
    parts = split_cpu(2.0, samples, rate_hz=50)  # 1 s sampled of 2 s measured
    assert parts == {"env": 0.6, "model client": 0.4, "Ray/driver": 1.0}
    over = split_cpu(0.5, samples, rate_hz=50)  # more samples than CPU: scaled down
    assert abs(sum(over.values()) - 0.5) < 1e-9 and over["Ray/driver"] == 0.0
    ms = per_step({1: 2.0, 2: 1.0}, {1: samples}, steps=1000)
    assert ms["Ray/driver"] == 2.0 and abs(sum(ms.values()) - 3.0) < 1e-6
