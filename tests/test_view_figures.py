"""Run figures of the viewer: totals with intervals, learning-curve points for any run size."""

from __future__ import annotations

from pipeline.view.episodes import EpisodeRow
from pipeline.view.figures import MAX_POINTS, run_figures


def _row(n: int, success: bool, steps: int = 10, status: str = "ok") -> EpisodeRow:
    return EpisodeRow(
        n=n, id=f"t{n}", task_id=f"x/{n}", task_type="a" if n % 2 else "b", status=status,
        success=success, steps=steps, invalid=0, prompt_tokens=100, completion_tokens=10,
        cost_usd=0.001, memory_ids=("p",) if n % 3 else (), memory_version=0, started_at=0.0,
        wall_s=1.0, error="llm timeout" if status != "ok" else None,
    )  # fmt: skip


def test_totals_types_and_errors() -> None:
    rows = [_row(i, success=i < 6, steps=i) for i in range(10)] + [_row(10, False, 0, "error")]
    figs = run_figures(rows, [i // 4 for i in range(11)])
    assert figs.total.episodes == 11 and figs.total.success.value == 6 / 11
    assert figs.total.success.low < 6 / 11 < figs.total.success.high
    assert figs.total.tokens_total == 11 * 110 and figs.total.retrieved == 7
    assert set(figs.by_type) == {"a", "b"} and figs.status == {"error": 1, "ok": 10}
    assert [(e.message, e.count, e.first) for e in figs.errors] == [("llm timeout", 1, "t10")]
    assert figs.curve_of == "group"
    assert [(b.label, b.figures.episodes) for b in figs.curve] == [("0", 4), ("1", 4), ("2", 3)]


def test_many_groups_merge_into_at_most_max_points() -> None:
    rows = [_row(i, success=bool(i % 2)) for i in range(5000)]
    figs = run_figures(rows, [i // 2 for i in range(5000)])  # 2500 groups
    assert len(figs.curve) <= MAX_POINTS
    assert figs.curve[0].label == "0-49" and figs.curve[0].figures.episodes == 100
    assert sum(b.figures.episodes for b in figs.curve) == 5000
    assert figs.curve[-1].last == 2499


def test_runs_without_groups_plot_blocks_of_episodes_in_finish_order() -> None:
    rows = [_row(i, success=i >= 500) for i in range(1000)]
    figs = run_figures(rows, [None] * 1000)
    assert figs.curve_of == "episodes" and len(figs.curve) == MAX_POINTS
    assert figs.curve[0].label == "1-20" and figs.curve[0].figures.success.value == 0.0
    assert figs.curve[-1].figures.success.value == 1.0
    small = run_figures(rows[:25], [None] * 25)
    assert [b.label for b in small.curve] == ["1-10", "11-20", "21-25"]
