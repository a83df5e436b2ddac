"""PNG plots comparing runs; Figure objects only (no pyplot state), rendered by Agg."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from pipeline.report.figures import RunFigures, group_successes, per_success
from pipeline.types import OP_KINDS

DPI = 150
CURVE_AXIS = {
    "group": "task groups finished (writer commits)",
    "minutes": "minutes since the run began (writer commits)",
    "commit": "writer commits (this run recorded no commit times)",
    "seq": "memory op sequence number (no commit log in this run)",
}
KIND_STYLE = {"add": "-", "adjust": "--", "discard": ":", "stat": "-.", "restore": (0, (1, 1))}
KIND_COLOR = {
    "add": "tab:green",
    "adjust": "tab:orange",
    "discard": "tab:red",
    "stat": "tab:purple",
    "restore": "tab:blue",
}


def _colors(n: int) -> list[str]:
    return [f"C{i % 10}" for i in range(n)]


def _short(value: float, _pos: object = None) -> str:
    """Axis tick text: 1.2M, 350k, 12."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"


def _style(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.35)


def _legend_below(fig: Figure, ax: Axes, n: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=1, fontsize=9, frameon=False)


def _group_axis_label(runs: list[RunFigures], sizes: list[int]) -> str:
    same = len(set(sizes)) == 1
    unit = f"{sizes[0]} tasks each" if same else "size per run in the legend"
    return f"task group (in run order; {unit})"


def learning_curve(runs: list[RunFigures], sizes: list[int], out: Path) -> Path:
    """Success rate and mean steps per task group, one line per run."""
    fig = Figure(figsize=(9, 7.2 + 0.25 * len(runs)), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    same = len(set(sizes)) == 1
    for run, size, color in zip(runs, sizes, _colors(len(runs)), strict=True):
        xs = [g.group for g in run.groups]
        label = run.label if same else f"{run.label}, t={size}"
        if run.all_errored:  # no real 0%: a legend entry says why the run has no line
            top.plot([], [], color=color, linestyle="none", marker="x",
                     label=f"{label}: all {run.errored} episodes errored, not drawn")  # fmt: skip
            continue
        marker = "o" if len(xs) <= 40 else None
        top.plot(
            xs,
            [100 * g.success_rate for g in run.groups],
            marker=marker,
            color=color,
            label=label,
            linewidth=1.8,
        )
        top.fill_between(
            xs,
            [100 * ci.low for ci in run.group_cis],
            [100 * ci.high for ci in run.group_cis],
            color=color,
            alpha=0.12,
            linewidth=0,
        )
        for g in run.groups:  # a short group (the tail of a crashed run) is a noisier point
            if g.episodes < size:
                top.annotate(
                    f"n={g.episodes}",
                    (g.group, 100 * g.success_rate),
                    fontsize=8,
                    xytext=(6, -12),
                    textcoords="offset points",
                    color=color,
                )
        bottom.plot(
            xs,
            [g.mean_steps for g in run.groups],
            marker=marker,
            color=color,
            label=label,
            linewidth=1.8,
        )
    _style(top, "Success rate per task group (band: Wilson 95% CI)", "",
           "success rate (% of episodes)")  # fmt: skip
    top.set_ylim(-3, 103)
    top.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    _style(
        bottom,
        "Mean steps per episode per task group",
        _group_axis_label(runs, sizes),
        "mean steps (actions / episode)",
    )
    bottom.set_ylim(bottom=0)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Learning curve: does memory help later groups?", fontsize=13)
    _legend_below(fig, top, len(runs))
    return _save(fig, out)


def _bars(
    ax: Axes, runs: list[RunFigures], values: list[list[float | None]], cats: list[str], fmt: str
) -> None:
    """Grouped bars, one colour per run; None = no success (labelled), nan = no such group."""
    width = 0.8 / len(runs)
    label_bars = len(cats) * len(runs) <= 24
    turn = 90 if len(runs) >= 3 else 0  # vertical value labels when bars are narrow
    shown = [v for row in values for v in row if v is not None and not math.isnan(v)]
    top = max(shown, default=1.0) or 1.0
    for i, (run, row, color) in enumerate(zip(runs, values, _colors(len(runs)), strict=True)):
        xs = [c + (i - (len(runs) - 1) / 2) * width for c in range(len(cats))]
        heights = [0.0 if v is None or math.isnan(v) else v for v in row]
        bars = ax.bar(xs, heights, width=width * 0.92, color=color, label=run.label)
        for bar, v in zip(bars, row, strict=True):
            if v is not None and math.isnan(v):
                continue  # the run has no such group
            if v is None:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    top * 0.02,
                    "no success" if turn else "no\nsuccess",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=turn,
                    color="dimgray",
                )
            elif label_bars:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    v,
                    fmt.format(v) if fmt else _short(v),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=turn,
                )
    every = math.ceil(len(cats) / 25)  # many groups: label every k-th, always "all"
    ticks = [i for i in range(len(cats)) if i % every == 0 or i == len(cats) - 1]
    ax.set_xticks(ticks, [cats[i] for i in ticks])
    ax.set_ylim(0, top * (1.3 if turn else 1.15))


def cost_per_success(runs: list[RunFigures], out: Path) -> Path:
    """Tokens and USD per successful episode, per group and overall, bars per run."""
    n_groups = max(len(r.groups) for r in runs)
    cats = [str(i) for i in range(n_groups)] + ["all"]
    tokens: list[list[float | None]] = []
    dollars: list[list[float | None]] = []
    for run in runs:
        by_group = {g.group: g for g in run.groups}
        row_t: list[float | None] = []
        row_c: list[float | None] = []
        for i in range(n_groups):
            g = by_group.get(i)
            ok = group_successes(g) if g else 0
            row_t.append(per_success(g.tokens, ok) if g else math.nan)
            row_c.append(per_success(g.cost_usd, ok) if g else math.nan)
        row_t.append(per_success(run.total.tokens, run.total.successes))
        row_c.append(per_success(run.total.cost_usd, run.total.successes))
        tokens.append(row_t)
        dollars.append(row_c)
    fig = Figure(
        figsize=(min(16, max(9, 0.45 * len(cats) * len(runs) + 3)), 7.2 + 0.25 * len(runs)),
        layout="constrained",
    )
    top, bottom = fig.subplots(2, 1, sharex=True)
    _bars(top, runs, tokens, cats, "")
    _style(top, "Tokens per successful episode", "", "tokens / success (prompt + completion)")
    top.yaxis.set_major_formatter(FuncFormatter(_short))
    _bars(bottom, runs, dollars, cats, "${:.3g}")
    _style(
        bottom,
        "Cost per successful episode",
        'task group ("all" = whole run)',
        "cost / success (USD)",
    )
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v:.3g}"))
    fig.suptitle("What a success costs (agent episodes; lower is better)", fontsize=13)
    _legend_below(fig, top, len(runs))
    return _save(fig, out)


def _memory_panel(ax: Axes, run: RunFigures, color: str) -> None:
    ax.set_title(run.label, fontsize=9, color=color)
    ax.grid(True, alpha=0.35)
    if run.memory_state != "enabled":
        text = "memory disabled" if run.memory_state == "disabled" else "no memory ops recorded"
        ax.text(
            0.5,
            0.5,
            text,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="dimgray",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        return
    c = run.curve
    ax.step(
        c.x,
        c.active,
        where="post",
        color="black",
        alpha=0.5,
        linewidth=3.2,
        label=f"active procedures ({c.active[-1] if c.active else 0})",
    )
    for kind in OP_KINDS:
        ax.step(
            c.x,
            c.cumulative[kind],
            where="post",
            linestyle=KIND_STYLE[kind],
            color=KIND_COLOR[kind],
            linewidth=1.4,
            label=f"{kind} ops (cumulative, {c.cumulative[kind][-1] if c.x else 0})",
        )
    ax.set_xlabel(CURVE_AXIS[c.axis])
    ax.set_ylabel("count (procedures / ops)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    if c.axis != "minutes":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)


def memory_timeline(runs: list[RunFigures], out: Path) -> Path:
    """Per run: active procedures and cumulative ops by kind over the op log."""
    cols = 1 if len(runs) == 1 else 2
    rows = math.ceil(len(runs) / cols)
    fig = Figure(figsize=(6.4 * cols, 4.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, run, color in zip(axes, runs, _colors(len(runs)), strict=False):
        _memory_panel(ax, run, color)
    for ax in axes[len(runs) :]:
        ax.set_visible(False)
    fig.suptitle("Memory size and operations over the run", fontsize=13)
    return _save(fig, out)


def _save(fig: Figure, out: Path) -> Path:
    fig.savefig(out, dpi=DPI, format="png", facecolor="white")
    return out
