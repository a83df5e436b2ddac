"""The grid's PNG plots: learning curve per cell, top-k sweep, cost vs success (Agg, no pyplot)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from pipeline.grid.results import CellResult, Row

DPI = 120


def learning_curves(results: list[CellResult], out: Path) -> Path:
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for r in results:
        if r.cell.kind == "build" or not r.groups:
            continue
        style = "--" if r.cell.kind == "control" else "-"
        xs = [g.group for g in r.groups]
        ax.plot(xs, [100 * g.success_rate for g in r.groups], style, marker="o", label=r.cell.name)
    ax.set_title("Success per task group, per cell (control dashed)")
    ax.set_xlabel("task group (in task order)")
    ax.set_ylabel("success rate")
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(-3, 103)
    ax.grid(True, alpha=0.35)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    return _save(fig, out)


def topk_sweep(rows: list[Row], out: Path) -> Path | None:
    """Success against memory.top_k, one line per policy; None when top_k does not vary."""
    memory = [r for r in rows if r.kind == "memory" and r.top_k is not None]
    if len({r.top_k for r in memory}) < 2:
        return None
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    lines: dict[str, list[Row]] = {}
    for r in memory:
        lines.setdefault(f"{r.model} {r.policy.rsplit(' k=', 1)[0]}", []).append(r)
    for label, members in lines.items():
        members.sort(key=lambda r: r.top_k or 0)
        ax.errorbar([r.top_k for r in members], [100 * r.success.mean for r in members],
                    yerr=[100 * (r.success.sd or 0) for r in members], marker="o", capsize=3,
                    label=label)  # fmt: skip
    for r in rows:
        if r.kind == "control":
            ax.axhline(100 * r.success.mean, linestyle="--", color="gray", label=f"{r.model} none")
    ax.set_title("Top-k sweep: success vs procedures retrieved")
    ax.set_xlabel("memory.top_k")
    ax.set_ylabel("success rate")
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.grid(True, alpha=0.35)
    ax.legend(fontsize=8)
    return _save(fig, out)


def cost_vs_success(rows: list[Row], out: Path) -> Path:
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for r in rows:
        if r.cost_per_success is None:
            continue
        marker = "s" if r.kind == "control" else "o"
        ax.scatter(100 * r.success.mean, r.cost_per_success, marker=marker, s=50)
        ax.annotate(r.policy, (100 * r.success.mean, r.cost_per_success), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.set_title("Cost per success vs success rate (squares: no memory)")
    ax.set_xlabel("success rate")
    ax.set_ylabel("agent cost per success (USD)")
    ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.grid(True, alpha=0.35)
    return _save(fig, out)


def _save(fig: Figure, out: Path) -> Path:
    fig.savefig(out, dpi=DPI, format="png", facecolor="white")
    return out
