"""Confidence intervals of the viewer: Wilson for rates, Student t for means."""

from __future__ import annotations

import math

import pytest

from pipeline.view.stats import mean_ci, t95, wilson


def test_wilson_matches_the_closed_form_and_published_examples() -> None:
    # 8 of 10: the Wilson 95% interval is [0.490, 0.943] (Newcombe 1998, table I style figures).
    iv = wilson(8, 10)
    assert iv.value == 0.8
    assert iv.low == pytest.approx(0.4902, abs=1e-3)
    assert iv.high == pytest.approx(0.9433, abs=1e-3)
    # 0 of 20 and 20 of 20 stay inside [0, 1] and are not degenerate (unlike the Wald interval).
    zero, full = wilson(0, 20), wilson(20, 20)
    assert zero.low == 0.0 and 0.15 < zero.high < 0.18
    assert full.high == 1.0 and 0.82 < full.low < 0.85
    assert wilson(0, 0).n == 0 and (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)


def test_wilson_narrows_with_more_data() -> None:
    widths = [wilson(n // 2, n).high - wilson(n // 2, n).low for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 1000), rel=0.01)


def test_t95_table_and_expansion_agree_with_known_values() -> None:
    assert t95(1) == 12.706 and t95(10) == 2.228 and t95(30) == 2.042
    assert t95(31) == pytest.approx(2.0395, abs=1e-3)
    assert t95(60) == pytest.approx(2.0003, abs=1e-3)
    assert t95(120) == pytest.approx(1.9799, abs=1e-3)
    assert t95(10**6) == pytest.approx(1.96, abs=1e-3)
    with pytest.raises(ValueError):
        t95(0)


def test_mean_ci_uses_the_sample_standard_deviation() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]  # mean 5, sample sd 2.138
    iv = mean_ci(values)
    half = 2.365 * 2.13809 / math.sqrt(8)
    assert iv.value == 5.0
    assert iv.low == pytest.approx(5 - half, abs=1e-3)
    assert iv.high == pytest.approx(5 + half, abs=1e-3)
    assert mean_ci([3.0]).low == mean_ci([3.0]).high == 3.0
    assert mean_ci([]).n == 0
    assert mean_ci([1.0] * 50).high == 1.0  # no spread, no width
