"""Fixed-width result tables as TravelPlanner's tools print them (a pandas frame without index).

Every cell and header is right-aligned to its column's width and columns are joined by one space,
so a column ends where its header ends: `parse_table` slices rows at those header ends.
"""

from __future__ import annotations

from collections.abc import Sequence


def render_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [" ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [" ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def parse_table(text: str, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a table printed by `render_table` (the header must be its first line)."""
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0]
    ends: list[int] = []
    start = 0
    for name in columns:
        at = header.find(name, start)
        if at < 0:
            raise ValueError(f"column {name!r} not in table header")
        ends.append(at + len(name))
        start = at + len(name)
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        row, left = {}, 0
        for name, end in zip(columns, ends, strict=True):
            row[name] = line[left:end].strip()
            left = end
        rows.append(row)
    return rows


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value == int(value) else f"{value:g}"
    return str(value)
