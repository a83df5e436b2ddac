"""The grid's tables as Markdown, CSV and a self-contained HTML page."""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

from pipeline.grid.results import CellResult, Row
from pipeline.grid.stats import Paired
from pipeline.report.table import Table, html_table, markdown_table

SIM_NOTE = (
    "sim is a scripted offline stand-in for an LLM; these figures measure the memory machinery, "
    "not any real model."
)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def _delta(p: Paired) -> str:
    return f"{100 * p.success_diff:+.1f} [{100 * p.ci_low:+.1f}, {100 * p.ci_high:+.1f}]"


def main_table(rows: list[Row]) -> Table:
    score_keys = sorted({k for r in rows for k in r.scores})
    headers = ["model", "policy", "episodes", "success", "Δ success vs control [95% CI]",
               "McNemar p", "mean steps", "Δ steps", "Wilcoxon p", "agent tokens",
               "agent cost / success", *score_keys, "note"]  # fmt: skip
    out = []
    for r in rows:
        c = r.vs_control
        cps = "n/a" if r.cost_per_success is None else f"${r.cost_per_success:.4f}"
        out.append([
            r.model, r.policy, str(r.episodes), r.success.text(100, 1, "%"),
            _delta(c) if c else "-", _p(c.mcnemar_p) if c else "-",
            r.steps.text(1, 1), f"{c.steps_diff:+.1f}" if c else "-",
            _p(c.wilcoxon_p) if c else "-", f"{r.tokens:,.0f}", cps,
            *(f"{r.scores[k]:.3g}" if k in r.scores else "-" for k in score_keys),
            (c.flag if c else ("control" if r.kind == "control" else "")) or "significant",
        ])  # fmt: skip
    return Table(title="Memory vs the paired no-memory control", headers=headers, rows=out,
                 text_cols=2)  # fmt: skip


def task_type_table(rows: list[Row]) -> Table:
    headers = ["model", "policy", "task type", "tasks", "success memory / control",
               "Δ success [95% CI]", "McNemar p", "Δ steps", "Wilcoxon p", "note"]  # fmt: skip
    out = []
    for r in rows:
        for kind, p in r.by_type.items():
            out.append([
                r.model, r.policy, kind, str(p.n),
                f"{_pct(p.success_memory)} / {_pct(p.success_control)}", _delta(p),
                _p(p.mcnemar_p), f"{p.steps_diff:+.1f}", _p(p.wilcoxon_p),
                p.flag or "significant",
            ])  # fmt: skip
    return Table(title="By task type (memory vs control)", headers=headers, rows=out, text_cols=3)


def curve_table(results: list[CellResult]) -> Table:
    out = []
    for r in results:
        groups = ", ".join(f"{100 * g.success_rate:.0f}" for g in r.groups)
        out.append([r.cell.name, r.cell.kind, groups or "-"])
    return Table(title="Success by task group (%), per cell", headers=["cell", "kind", "groups"],
                 rows=out, text_cols=2)  # fmt: skip


def markdown(title: str, tables: list[Table], images: list[Path], notes: list[str]) -> str:
    parts = [f"# {title}", *(f"> {n}" for n in notes)]
    parts += [markdown_table(t) for t in tables]
    parts += [f"![{p.stem}]({p.name})" for p in images]
    return "\n\n".join(parts) + "\n"


def csv_text(rows: list[Row]) -> str:
    """One line per main-table row, raw numbers (rates as fractions)."""
    buf = io.StringIO()
    score_keys = sorted({k for r in rows for k in r.scores})
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "policy", "cells", "episodes", "success_mean", "success_sd", "seeds",
                "steps_mean", "tokens", "cost_per_success", "success_diff", "ci_low", "ci_high",
                "mcnemar_p", "steps_diff", "wilcoxon_p", "flag", *score_keys])  # fmt: skip
    for r in rows:
        c = r.vs_control
        stats = ([c.success_diff, c.ci_low, c.ci_high, c.mcnemar_p, c.steps_diff, c.wilcoxon_p,
                  c.flag] if c else [""] * 7)  # fmt: skip
        w.writerow([r.model, r.policy, " ".join(r.cells), r.episodes, r.success.mean,
                    r.success.sd if r.success.sd is not None else "", r.success.n,
                    r.steps.mean, r.tokens, r.cost_per_success if r.cost_per_success else "",
                    *stats, *(r.scores.get(k, "") for k in score_keys)])  # fmt: skip
    return buf.getvalue()


CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1300px; color: #222;
       padding: 0 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: right; }
th { background: #f0f0f0; } .t { text-align: left; } .scroll { overflow-x: auto; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6rem 0.9rem; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5rem 0; }
"""


def html_page(title: str, tables: list[Table], images: list[Path], notes: list[str]) -> str:
    """Self-contained: images inlined as data URIs."""
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]  # fmt: skip
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    parts += [html_table(t) for t in tables]
    for img in images:
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(img.stem)}</h2><img alt='{html.escape(img.stem)}' "
                     f"src='data:image/png;base64,{data}'>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
