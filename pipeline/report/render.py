"""Tables and the two report documents: report.md (images by path) and report.html (inlined)."""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

from pydantic import BaseModel

from pipeline.report.figures import RunFigures, per_success

SIM_NOTE = (
    "sim is a scripted offline stand-in for an LLM; these figures measure the memory machinery, "
    "not any real model."
)
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } .t { text-align: left; }
.scroll { overflow-x: auto; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6rem 0.9rem; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5rem 0; }
li { margin: 0.2rem 0; } code { background: #f4f4f4; padding: 0 0.2rem; }
"""


class Table(BaseModel):
    """A titled table of preformatted cells, rendered as Markdown or HTML."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    text_cols: int = 1  # leading columns that hold text (left-aligned); the rest are numbers


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


def comparison_table(runs: list[RunFigures]) -> Table:
    """The one-row-per-run comparison of totals, memory and wall time."""
    headers = [
        "run",
        "model",
        "memory build/retrieve/update",
        "episodes",
        "success rate",
        "mean steps",
        "tokens (prompt+completion)",
        "cost USD",
        "cost / success",
        "memory size",
        "added",
        "adjusted",
        "discarded",
        "wall time",
        "status",
    ]
    rows = []
    for r in runs:
        t, m = r.total, r.memory
        off = r.memory_state == "disabled"
        rows.append(
            [
                r.name,
                r.meta_model,
                r.policy,
                str(t.episodes),
                f"{t.success_rate:.1%}",
                f"{t.mean_steps:.1f}",
                f"{t.tokens:,}",
                _money(t.cost_usd),
                _money(per_success(t.cost_usd, t.successes)),
                *(
                    ["-"] * 4
                    if off
                    else [str(m.size), str(m.added), str(m.adjusted), str(m.discarded)]
                ),
                ("~" if r.wall_estimated else "") + duration(r.wall_s),
                ", ".join(f"{k}: {v}" for k, v in r.status.items()),
            ]
        )
    return Table(title="Runs compared", headers=headers, rows=rows, text_cols=3)


def task_type_table(runs: list[RunFigures]) -> Table:
    """Success rate (episodes) per task type, one column per run."""
    types = sorted({k for r in runs for k in r.by_type})
    rows = []
    for name in types:
        cells = [name]
        for r in runs:
            t = r.by_type.get(name)
            cells.append(f"{t.success_rate:.1%} ({t.episodes})" if t else "-")
        rows.append(cells)
    return Table(
        title="Success rate by task type (episodes)",
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
        if r.memory_state == "no-ops":
            notes.append(f"{r.name}: memory is enabled but no memory ops were recorded")
    return notes


def _md_table(table: Table) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [
        f"### {table.title}",
        "",
        "| " + " | ".join(map(esc, table.headers)) + " |",
        "|"
        + "|".join(":---" if i < table.text_cols else "---:" for i in range(len(table.headers)))
        + "|",
    ]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in table.rows]
    return "\n".join(lines)


def markdown(
    runs: list[RunFigures], tables: list[Table], images: list[Image], notes: list[str]
) -> str:
    """report.md: tables, notes, and images embedded by path relative to the report."""
    parts = [
        f"# memp run report\n\n{len(runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}."
    ]
    if any(r.is_sim for r in runs):
        parts.append(f"> **Note:** {SIM_NOTE}")
    parts += [_md_table(t) for t in tables]
    parts += [f"## {img.title}\n\n![{img.title}]({img.path.name})" for img in images]
    if notes:
        parts.append("## Data notes\n\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


def _html_table(table: Table) -> str:
    def cls(i: int) -> str:
        return " class='t'" if i < table.text_cols else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(table.headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (
        f"<h2>{html.escape(table.title)}</h2><div class='scroll'><table><thead><tr>{head}"
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


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
    parts += [_html_table(t) for t in tables]
    for img in images:
        title = html.escape(img.title)
        parts.append(f"<h2>{title}</h2><img alt='{title}' src='{_data_uri(img.path)}'>")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<h2>Data notes</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
