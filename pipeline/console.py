"""Rich renderings of run figures for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table

from pipeline.summary import GroupFigures, Tally, merged


def _row(name: str, t: Tally, score_keys: Sequence[str] = ()) -> list[str]:
    scores = t.scores
    return [
        name,
        str(t.episodes),
        f"{t.success_rate:.1%}",
        f"{t.mean_steps:.1f}",
        *(f"{scores[k]:.3f}" if k in scores else "-" for k in score_keys),
        f"{t.tokens:,}",
        f"${t.cost_usd:.4f}",
    ]


def task_type_table(
    task_types: Mapping[str, Tally], title: str, headline: Mapping[str, str] | None = None
) -> Table:
    """Per task type (tallies, as by_task_type makes them): success, steps, the env's score means
    (`headline` keys and labels, else every key the episodes carry), tokens, cost."""
    table = Table(title=title)
    total = merged(task_types.values())
    labels = dict(headline) if headline else {k: k for k in total.scores}
    keys = [k for k in labels if k in total.scores]
    cols = ("task type", "tasks", "success", "mean steps", *(labels[k] for k in keys), "tokens",
            "cost")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col == "task type" else "right")
    for name, t in task_types.items():
        table.add_row(*_row(name, t, keys))
    table.add_section()
    table.add_row(*_row("all", total, keys), style="bold")
    return table


def learning_curve_table(groups: Sequence[GroupFigures]) -> Table:
    table = Table(title="learning curve (per group)")
    for col in ("group", "episodes", "success", "mean steps", "tokens", "cost", "memory size"):
        table.add_column(col, justify="right")
    for g in groups:
        table.add_row(
            str(g.group),
            str(g.episodes),
            f"{g.success_rate:.1%}",
            f"{g.mean_steps:.1f}",
            f"{g.tokens:,}",
            f"${g.cost_usd:.4f}",
            str(g.memory_size),
        )
    return table
