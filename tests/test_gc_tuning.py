"""GC settings for rollout workers: start-up objects frozen, young-generation passes rarer."""

from __future__ import annotations

import gc

from pipeline.gc_tuning import WORKER_GEN0_THRESHOLD, tune_for_many_coroutines


def test_tuning_freezes_startup_objects_and_raises_gen0_threshold() -> None:
    before = gc.get_threshold()
    try:
        old = tune_for_many_coroutines()
        assert old == before
        assert gc.get_freeze_count() > 0, "start-up objects were not frozen"
        assert gc.get_threshold() == (max(WORKER_GEN0_THRESHOLD, before[0]), *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
