"""Inline SVG line charts with interval whiskers (learning curves, stats over time)."""

from __future__ import annotations

from html import escape

from pydantic import BaseModel

W, H = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 22, 30


class Point(BaseModel):
    x: float
    y: float
    low: float | None = None
    high: float | None = None
    label: str = ""


def _fmt(v: float) -> str:
    return f"{v:.0%}" if 0 <= v <= 1 else f"{v:.3g}"


def line_chart(
    points: list[Point], title: str, y_max: float | None = None, percent: bool = False
) -> str:
    """One series: a polyline, whiskers for intervals, x ticks at each point."""
    if not points:
        return ""
    xs = [p.x for p in points]
    top = y_max if y_max is not None else max(p.high if p.high is not None else p.y for p in points)
    top = top or 1.0
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1.0

    def sx(x: float) -> float:
        return LEFT + (x - x0) / span * (W - LEFT - RIGHT)

    def sy(y: float) -> float:
        return TOP + (1 - y / top) * (H - TOP - BOTTOM)

    out = [f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">',
           f'<title>{escape(title)}</title>',
           f'<text x="{LEFT}" y="14" class="ct">{escape(title)}</text>']  # fmt: skip
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = sy(top * frac)
        tick = f"{top * frac:.0%}" if percent else f"{top * frac:.3g}"
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" class="yt">{tick}</text>')
    step = max(1, len(points) // 12)
    for i, p in enumerate(points):
        if i % step == 0 or i == len(points) - 1:
            out.append(f'<text x="{sx(p.x):.1f}" y="{H - 10}" class="xt">{escape(p.label)}</text>')
        if p.low is not None and p.high is not None:
            out.append(
                f'<line x1="{sx(p.x):.1f}" x2="{sx(p.x):.1f}" y1="{sy(p.low):.1f}" '
                f'y2="{sy(p.high):.1f}" class="ci"/>'
            )
    path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in points)
    out.append(f'<polyline points="{path}" class="series"/>')
    for p in points:
        value = f"{p.y:.1%}" if percent else _fmt(p.y)
        tip = f"{p.label}: {value}"
        if p.low is not None and p.high is not None:
            lo, hi = (f"{p.low:.1%}", f"{p.high:.1%}") if percent else (_fmt(p.low), _fmt(p.high))
            tip += f" [{lo}, {hi}]"
        out.append(
            f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="3"><title>{escape(tip)}</title>'
            "</circle>"
        )
    out.append("</svg>")
    return "".join(out)
