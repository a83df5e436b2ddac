"""Grid statistics against values computed by hand and textbook examples."""

from __future__ import annotations

import math

import pytest

from pipeline.grid.stats import bootstrap_ci, mcnemar_exact, paired, paired_by_type, spread
from pipeline.types import Step, Task, Trajectory


def _traj(i: int, success: bool, steps: int, kind: str = "pick") -> Trajectory:
    task = Task(id=f"t{i}", env="household", split="s", task_type=kind, goal="g", seed=i)
    step = Step(action="look", observation="ok")
    return Trajectory(id=f"e{i}", task=task, success=success, steps=[step] * steps, model="m")


def test_mcnemar_exact_by_hand() -> None:
    # b=2, c=10: p = 2 * P(X <= 2 | n=12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assert mcnemar_exact(2, 10) == pytest.approx(158 / 4096)
    assert mcnemar_exact(10, 2) == pytest.approx(158 / 4096)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)


def test_wilcoxon_on_darwins_maize_differences() -> None:
    # Fisher's Design of Experiments: cross- minus self-fertilized heights (eighths of an inch).
    # Negative ranks 10 + 14 = W = 24; exact two-sided p = 2 * #{rank sums <= 24} / 2^15.
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    memory = [_traj(i, True, 100 + x) for i, x in enumerate(d)]
    control = [_traj(i, True, 100) for i in range(len(d))]
    result = paired(memory, control)
    assert result.wilcoxon_p == pytest.approx(0.041259765625)
    assert result.steps_diff == pytest.approx(sum(d) / len(d))


def test_paired_counts_discordant_tasks_and_flags() -> None:
    mem = [True] * 8 + [False] * 2 + [True] * 10
    ctrl = [False] * 8 + [True] * 2 + [True] * 10  # b=8, c=2
    r = paired(
        [_traj(i, s, 5) for i, s in enumerate(mem)], [_traj(i, s, 5) for i, s in enumerate(ctrl)]
    )
    assert (r.n, r.memory_only, r.control_only) == (20, 8, 2)
    assert r.success_diff == pytest.approx(0.3)
    assert r.mcnemar_p == pytest.approx(2 * (1 + 10 + 45) / 1024)  # 0.109: not significant
    assert r.flag == "not significant"
    assert r.ci_low < 0.3 < r.ci_high
    assert r.wilcoxon_p == 1.0  # no step differences at all


def test_pairing_uses_common_tasks_only() -> None:
    r = paired([_traj(0, True, 3), _traj(1, True, 3)], [_traj(1, False, 9), _traj(7, True, 1)])
    assert r.n == 1 and r.success_diff == 1.0 and r.steps_diff == -6


def test_memory_hurts_flag_per_task_type() -> None:
    mem = [_traj(i, i >= 10, 5, "pick" if i < 10 else "heat") for i in range(20)]
    ctrl = [_traj(i, i < 10, 5, "pick" if i < 10 else "heat") for i in range(20)]
    by = paired_by_type(mem, ctrl)
    assert by["pick"].flag == "memory hurts"  # 10 discordant, p = 2/1024: significant
    assert by["heat"].success_diff == 1.0 and by["heat"].flag == ""


def test_bootstrap_is_seeded_and_degenerate_cases_are_exact() -> None:
    diffs = [1, 0, 0, 1, -1, 1, 0, 1, 1, 0]
    assert bootstrap_ci(diffs, seed=5) == bootstrap_ci(diffs, seed=5)
    assert bootstrap_ci([1] * 12) == (1.0, 1.0)
    low, high = bootstrap_ci(diffs, seed=0)
    assert low < 0.4 < high and low >= -1 and high <= 1


def test_bootstrap_interval_matches_the_normal_approximation_on_a_large_sample() -> None:
    diffs = [1] * 300 + [0] * 600 + [-1] * 100  # mean 0.2, sd of the mean ~ sqrt(0.36/1000)
    low, high = bootstrap_ci(diffs, seed=1)
    half = 1.96 * math.sqrt((0.4 - 0.2**2) / 1000)
    assert low == pytest.approx(0.2 - half, abs=0.005)
    assert high == pytest.approx(0.2 + half, abs=0.005)


def test_spread_over_seeds() -> None:
    s = spread([0.5, 0.7, 0.6])
    assert s.mean == pytest.approx(0.6) and s.sd == pytest.approx(0.1) and s.n == 3
    assert s.text(100, 1, "%") == "60.0% ± 10.0 (n=3)"
    assert spread([0.4]).sd is None and spread([0.4]).text(100, 0, "%") == "40%"
