"""A titled table of preformatted cells and its Markdown and HTML forms (report and grid)."""

from __future__ import annotations

import html

from pydantic import BaseModel


class Table(BaseModel):
    title: str
    headers: list[str]
    rows: list[list[str]]
    text_cols: int = 1  # leading columns that hold text (left-aligned); the rest are numbers


def markdown_table(table: Table) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    align = [":---" if i < table.text_cols else "---:" for i in range(len(table.headers))]
    lines = [f"### {table.title}", "", "| " + " | ".join(map(esc, table.headers)) + " |",
             "|" + "|".join(align) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in table.rows]
    return "\n".join(lines)


def html_table(table: Table) -> str:
    def cls(i: int) -> str:
        return " class='t'" if i < table.text_cols else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(table.headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (f"<h2>{html.escape(table.title)}</h2><div class='scroll'><table><thead><tr>{head}"
            f"</tr></thead><tbody>{body}</tbody></table></div>")  # fmt: skip
