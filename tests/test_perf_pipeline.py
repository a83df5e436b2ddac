"""`memp perf pipeline`: the memory option retrieves from a seeded store, through the writer."""

from __future__ import annotations

import pytest

from pipeline.memory.pack import read_pack
from pipeline.perf.pipeline import perf_config, write_seed_pack

pytestmark = pytest.mark.heavy  # the bench test starts Ray


def test_seed_pack_holds_distinct_valid_procedures_and_turns_memory_on(tmp_path) -> None:
    pack = write_seed_pack(tmp_path / "seed.jsonl", 40)
    procs = read_pack(pack)
    assert len({p.id for p in procs}) == 40 and len({p.task_text for p in procs}) == 40
    cfg = perf_config(64, 2, 1.0, 0.5, seed_pack=pack)
    assert cfg.memory.enabled and cfg.memory.seed_pack == str(pack)
    assert not perf_config(64, 2, 1.0, 0.5).memory.enabled


def test_bench_with_memory_plays_episodes_that_retrieved() -> None:
    import ray

    from actors.perf import bench_pipeline

    try:
        (point,) = bench_pipeline([8], latency_s=0.02, sigma=0.1, warmup_s=8.0, window_s=3.0,
                                  profile=False, memory=30)  # fmt: skip
    finally:
        ray.shutdown()
    assert point.steps_per_s > 0 and point.episodes > 0
    # An episode whose retrieval failed ends with no step: these took steps, each after one.
    assert point.mean_steps > 1


def test_bench_following_the_knee_holds_a_level_under_its_ceiling() -> None:
    import ray

    from actors.perf import bench_pipeline

    try:
        (point,) = bench_pipeline([300], latency_s=0.05, sigma=0.1, warmup_s=1.0, window_s=3.0,
                                  profile=False, follow_knee=True)  # fmt: skip
    finally:
        ray.shutdown()
    # The rule starts at 256 and one level up (320) is past this ceiling: it holds 256 or 300.
    assert point.held_at in (256, 300) and point.steps_per_s > 0
    assert point.admit_s is not None and point.admit_s >= 10  # at least one counted window
    assert point.knee_path and point.knee_path[0][0] == 256  # the climb is on record
    # The ratio compares with the held level's ideal, not the ceiling's.
    assert point.ideal_eps * point.mean_steps * 0.05 == pytest.approx(point.held_at, rel=0.01)
