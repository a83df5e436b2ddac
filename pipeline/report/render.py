"""Tables and the two report documents: report.md (images by path) and report.html (inlined)."""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

from pydantic import BaseModel

from pipeline.report.figures import RunFigures, per_success
from pipeline.report.table import Table, html_table, markdown_table
from pipeline.view.stats import Interval, wilson

SIM_NOTE = (
    "sim is a scripted offline stand-in for an LLM; these figures measure the memory machinery, "
    "not any real model."
)
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: right; }
td { white-space: nowrap; } td.t { white-space: normal; max-width: 22rem; overflow-wrap: anywhere; }
th { background: #f0f0f0; } .t { text-align: left; }
.scroll { overflow-x: auto; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6rem 0.9rem; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5rem 0; }
li { margin: 0.2rem 0; } code { background: #f4f4f4; padding: 0 0.2rem; }
"""


class Image(BaseModel):
    """A plot written next to the report."""

    title: str
    path: Path


def duration(seconds: float) -> str:
    """Human wall time: 42.1 s, 3m 05s, 1h 02m."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def _short_count(value: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.0f}"


def rate_ci(ci: Interval) -> str:
    """'75.0% [46.8, 91.1]': the rate with its Wilson 95% interval in percent."""
    return f"{ci.value:.1%} [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


def mean_ci_text(ci: Interval, digits: int = 1) -> str:
    if ci.n < 2:
        return f"{ci.value:.{digits}f}"
    return f"{ci.value:.{digits}f} [{ci.low:.{digits}f}, {ci.high:.{digits}f}]"


def _success(r: RunFigures) -> str:
    if r.all_errored:
        return f"errored ({r.errored} of {r.total.episodes}; not a 0% result)"
    return rate_ci(r.success_ci)


def comparison_table(runs: list[RunFigures]) -> Table:
    """Outcomes per run: success and mean steps with 95% intervals, errored episodes."""
    headers = ["run", "model", "memory build/retrieve/update", "episodes",
               "success [95% CI]", "mean steps [95% CI]", "errored", "status"]  # fmt: skip
    rows = [
        [
            r.name,
            r.meta_model,
            r.policy,
            str(r.total.episodes),
            _success(r),
            mean_ci_text(r.steps_ci),
            str(r.errored),
            ", ".join(f"{k}: {v}" for k, v in r.status.items()),
        ]
        for r in runs
    ]
    return Table(title="Runs compared", headers=headers, rows=rows, text_cols=3)


def cost_table(runs: list[RunFigures]) -> Table:
    """Tokens and cost over every LLM role (agent and the memory pipeline's own calls)."""
    headers = ["run", "tokens, all roles", "tokens by role", "cost USD, all roles",
               "cost by role", "cost / success"]  # fmt: skip
    rows = []
    for r in runs:
        cost = sum(r.cost_by_role.values())
        rows.append(
            [
                r.name,
                f"{sum(r.tokens_by_role.values()):,}",
                ", ".join(f"{k} {_short_count(v)}" for k, v in r.tokens_by_role.items()),
                _money(cost),
                ", ".join(f"{k} {_money(v)}" for k, v in r.cost_by_role.items()),
                _money(per_success(cost, r.total.successes)),
            ]
        )
    return Table(title="Tokens and cost (all LLM roles)", headers=headers, rows=rows, text_cols=1)


def failures_table(runs: list[RunFigures]) -> Table:
    """Errored episodes and failed LLM attempts (429s, retries, by role and kind) per run."""
    headers = ["run", "episodes errored", "429s", "retries", "failed attempts by role"]
    rows = []
    for r in runs:
        by_role = "; ".join(
            f"{role}: " + ", ".join(f"{k} {n}" for k, n in kinds.items())
            for role, kinds in r.llm_errors.items()
        )
        rate_limited = sum(k.get("rate_limit", 0) for k in r.llm_errors.values())
        known = r.has_summary
        rows.append(
            [
                r.name,
                f"{r.errored} of {r.total.episodes}",
                str(rate_limited) if known else "?",
                str(r.llm_retries) if known else "?",
                by_role or ("none" if known else "? (no summary.json)"),
            ]
        )
    return Table(title="Failures", headers=headers, rows=rows, text_cols=1)


def memory_table(runs: list[RunFigures]) -> Table:
    """Memory totals and wall time per run."""
    headers = ["run", "memory size", "added", "adjusted", "discarded", "version", "wall time"]
    rows = []
    for r in runs:
        m = r.memory
        off = r.memory_state == "disabled"
        figures = [m.size, m.added, m.adjusted, m.discarded, m.version]
        rows.append(
            [
                r.name,
                *(["-"] * 5 if off else [str(v) for v in figures]),
                ("~" if r.wall_estimated else "") + duration(r.wall_s),
            ]
        )
    return Table(title="Memory and wall time", headers=headers, rows=rows, text_cols=1)


def scores_table(runs: list[RunFigures]) -> Table | None:
    """The env's scores (summary.json `scores`; the env's headline keys when it is known)."""
    labels: dict[str, str] = {}
    for r in runs:
        for key, label in r.score_labels.items():
            labels.setdefault(key, label)
    if not labels:
        return None
    rows = [
        [r.name, *(f"{100 * r.scores[k]:.1f}" if k in r.scores else "-" for k in labels)]
        for r in runs
    ]
    return Table(
        title="Env scores (mean over episodes, x100)",
        headers=["run", *labels.values()],
        rows=rows,
    )


def task_type_table(runs: list[RunFigures]) -> Table:
    """Success rate [95% CI] (episodes) per task type, one column per run."""
    types = sorted({k for r in runs for k in r.by_type})
    rows = []
    for name in types:
        cells = [name]
        for r in runs:
            t = r.by_type.get(name)
            if t is None:
                cells.append("-")
            elif r.all_errored:
                cells.append(f"errored ({t.episodes})")
            else:
                cells.append(f"{rate_ci(wilson(t.successes, t.episodes))} ({t.episodes})")
        rows.append(cells)
    return Table(
        title="Success rate by task type [95% CI] (episodes)",
        headers=["task type"] + [r.name for r in runs],
        rows=rows,
    )


def source_notes(runs: list[RunFigures], sizes: list[int]) -> list[str]:
    """Where each run's figures came from, when it was not the normal path."""
    notes = []
    for r, size in zip(runs, sizes, strict=True):
        if not r.has_summary:
            notes.append(
                f"{r.name}: no summary.json (crashed or still running); figures are "
                "computed from trajectories.jsonl"
            )
        if r.groups_source == "trajectories":
            notes.append(
                f"{r.name}: groups recomputed from trajectories.jsonl in file order, "
                f"{size} per group"
            )
        if r.wall_estimated:
            notes.append(f"{r.name}: wall time (~) estimated from trajectory timestamps")
        if r.memory_state == "enabled" and r.series.active_source == "ops":
            notes.append(
                f"{r.name}: active procedures estimated from memory_ops.jsonl "
                "(adds merged into an existing procedure still count)"
            )
        if r.all_errored:
            notes.append(
                f"{r.name}: every episode errored ({r.errored}); it is marked, not drawn as 0%"
            )
        elif r.errored:
            notes.append(f"{r.name}: {r.errored} of {r.total.episodes} episodes errored")
        if r.memory_state == "no-ops":
            notes.append(f"{r.name}: memory is enabled but no memory ops were recorded")
    return notes


def markdown(
    runs: list[RunFigures], tables: list[Table], images: list[Image], notes: list[str]
) -> str:
    """report.md: tables, notes, and images embedded by path relative to the report."""
    parts = [
        f"# memp run report\n\n{len(runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}."
    ]
    if any(r.is_sim for r in runs):
        parts.append(f"> **Note:** {SIM_NOTE}")
    parts += [markdown_table(t) for t in tables]
    parts += [f"## {img.title}\n\n![{img.title}]({img.path.name})" for img in images]
    if notes:
        parts.append("## Data notes\n\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_page(
    runs: list[RunFigures], tables: list[Table], images: list[Image], notes: list[str]
) -> str:
    """report.html: one self-contained file, images inlined as base64 data URIs."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>memp run report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>memp run report</h1>",
        f"<p>{len(runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}.</p>",
    ]
    if any(r.is_sim for r in runs):
        parts.append(f"<p class='note'><strong>Note:</strong> {html.escape(SIM_NOTE)}</p>")
    parts += [html_table(t) for t in tables]
    for img in images:
        title = html.escape(img.title)
        parts.append(f"<h2>{title}</h2><img alt='{title}' src='{_data_uri(img.path)}'>")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<h2>Data notes</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
