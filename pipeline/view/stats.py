"""95% confidence intervals: Wilson score for rates, Student t for means."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import chain, repeat

from pydantic import BaseModel

Z95 = 1.959963984540054
# Two-sided 95% Student t critical values t(0.975, df) for df = 1..30 (standard table).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


class Interval(BaseModel):
    """A point estimate with its 95% interval; n is the sample size behind it."""

    value: float
    low: float
    high: float
    n: int


def t95(df: int) -> float:
    """t(0.975, df): the table up to 30, the Cornish-Fisher expansion (error < 1e-3) beyond."""
    if df < 1:
        raise ValueError("t95 needs df >= 1")
    if df <= len(_T95):
        return _T95[df - 1]
    z = Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def wilson(successes: int, n: int) -> Interval:
    """Wilson score interval of a binomial rate; (0, 0, 1) for an empty sample."""
    if n <= 0:
        return Interval(value=0.0, low=0.0, high=1.0, n=0)
    p = successes / n
    z2 = Z95 * Z95
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return Interval(value=p, low=max(0.0, center - half), high=min(1.0, center + half), n=n)


def mean_ci(values: Sequence[float] | Mapping[float, int]) -> Interval:
    """Mean with a t interval; a single value (or none) has an unbounded-as-itself interval.

    `values` may be counted (value -> how many): the same figures, without a list of them.
    """
    counts = values if isinstance(values, Mapping) else Counter(values)

    def each(f: Callable[[float], float]) -> Iterator[float]:
        # fsum is exact whatever the order, so counted values give the list's figures
        return chain.from_iterable(repeat(f(v), k) for v, k in counts.items())

    n = sum(counts.values())
    if n == 0:
        return Interval(value=0.0, low=0.0, high=0.0, n=0)
    mean = math.fsum(each(float)) / n
    if n == 1:
        return Interval(value=mean, low=mean, high=mean, n=1)
    var = math.fsum(each(lambda v: (v - mean) ** 2)) / (n - 1)
    half = t95(n - 1) * math.sqrt(var / n)
    return Interval(value=mean, low=mean - half, high=mean + half, n=n)
