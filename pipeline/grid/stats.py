"""Paired comparisons of a memory cell with its control on the same tasks, and seed replicates.

Success: difference of rates with a seeded 95% paired-bootstrap interval and McNemar's exact test
(a two-sided binomial test on the discordant pairs). Steps: difference of means with the Wilcoxon
signed-rank test (exact for small samples without ties, normal approximation otherwise: scipy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from scipy import stats as sps

from pipeline.types import Trajectory

ALPHA = 0.05
RESAMPLES = 10_000


class Paired(BaseModel):
    """Memory cell vs its control on the tasks both recorded."""

    n: int
    success_memory: float
    success_control: float
    success_diff: float
    ci_low: float
    ci_high: float
    memory_only: int  # tasks solved with memory only (McNemar's b)
    control_only: int  # tasks solved without memory only (McNemar's c)
    mcnemar_p: float
    steps_memory: float
    steps_control: float
    steps_diff: float
    wilcoxon_p: float

    @property
    def significant(self) -> bool:
        return self.mcnemar_p < ALPHA

    @property
    def flag(self) -> str:
        """A plain word when the comparison must not be read as a win."""
        if self.n == 0:
            return "no common tasks"
        notes = []
        if self.success_diff < 0:
            notes.append("memory hurts")
        if not self.significant:
            notes.append("not significant")
        return ", ".join(notes)


def mcnemar_exact(memory_only: int, control_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts."""
    n = memory_only + control_only
    if n == 0:
        return 1.0
    return float(sps.binomtest(memory_only, n, 0.5).pvalue)


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided signed-rank p-value of a - b; zero differences dropped (Wilcoxon's rule)."""
    diffs = [x - y for x, y in zip(a, b, strict=True) if x != y]
    if not diffs:
        return 1.0
    return float(sps.wilcoxon(diffs, zero_method="wilcox").pvalue)


def bootstrap_ci(
    diffs: Sequence[float], seed: int = 0, resamples: int = RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of paired differences, resampling tasks with replacement."""
    if not diffs:
        return (0.0, 0.0)
    values = np.asarray(diffs, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def paired(memory: Sequence[Trajectory], control: Sequence[Trajectory], seed: int = 0) -> Paired:
    """Compare on the task ids both cells recorded (in the memory cell's order)."""
    ctrl = {t.task.id: t for t in control}
    pairs = [(m, ctrl[m.task.id]) for m in memory if m.task.id in ctrl]
    ms = [float(m.success) for m, _ in pairs]
    cs = [float(c.success) for _, c in pairs]
    msteps = [float(m.n_steps) for m, _ in pairs]
    csteps = [float(c.n_steps) for _, c in pairs]
    b = sum(1 for m, c in zip(ms, cs, strict=True) if m and not c)
    c_only = sum(1 for m, c in zip(ms, cs, strict=True) if c and not m)
    low, high = bootstrap_ci([m - c for m, c in zip(ms, cs, strict=True)], seed)
    n = len(pairs)
    return Paired(
        n=n,
        success_memory=_mean(ms),
        success_control=_mean(cs),
        success_diff=_mean(ms) - _mean(cs),
        ci_low=low,
        ci_high=high,
        memory_only=b,
        control_only=c_only,
        mcnemar_p=mcnemar_exact(b, c_only),
        steps_memory=_mean(msteps),
        steps_control=_mean(csteps),
        steps_diff=_mean(msteps) - _mean(csteps),
        wilcoxon_p=wilcoxon_p(msteps, csteps),
    )


def paired_by_type(
    memory: Sequence[Trajectory], control: Sequence[Trajectory], seed: int = 0
) -> dict[str, Paired]:
    types = sorted({t.task.task_type for t in memory})
    return {
        kind: paired(
            [t for t in memory if t.task.task_type == kind],
            [t for t in control if t.task.task_type == kind],
            seed,
        )
        for kind in types
    }


class Spread(BaseModel):
    """A figure over seed replicates: mean, sample standard deviation, number of seeds."""

    mean: float
    sd: float | None  # None with a single seed
    n: int

    def text(self, scale: float = 1.0, digits: int = 1, suffix: str = "") -> str:
        body = f"{self.mean * scale:.{digits}f}{suffix}"
        if self.sd is None:
            return body
        return f"{body} ± {self.sd * scale:.{digits}f} (n={self.n})"


def spread(values: Sequence[float]) -> Spread:
    if not values:
        return Spread(mean=math.nan, sd=None, n=0)
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else None
    return Spread(mean=float(arr.mean()), sd=sd, n=len(arr))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
