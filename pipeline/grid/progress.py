"""Whole-grid progress: cells done/running/queued, per-cell tasks and success so far, ETA."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.table import Table

from pipeline.runlog import TRAJECTORIES


class CellCount:
    """Reads a cell's trajectories.jsonl incrementally (whole lines only)."""

    def __init__(self, run_path: Path, planned: int | None) -> None:
        self.path = run_path / TRAJECTORIES
        self.planned = planned
        self.episodes = 0
        self.successes = 0
        self._offset = 0

    def refresh(self) -> int:
        """New episodes since the last call."""
        if not self.path.is_file():
            return 0
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        new = 0
        for line in data[:end].splitlines():
            if line.strip():
                new += 1
                self.successes += bool(json.loads(line).get("success"))
        self.episodes += new
        return new


class GridProgress:
    """Counts per cell and an ETA from this invocation's episode rate."""

    def __init__(self, counts: dict[str, CellCount]) -> None:
        self.counts = counts
        self.state: dict[str, str] = dict.fromkeys(counts, "queued")
        self.started = time.monotonic()
        self.fresh = 0  # episodes recorded by this invocation
        for count in counts.values():
            count.refresh()

    def refresh(self) -> None:
        for name, count in self.counts.items():
            if self.state[name] in ("running", "done"):
                self.fresh += count.refresh()

    def eta_s(self) -> float | None:
        left = 0
        for name, c in self.counts.items():
            if c.planned is None:
                return None
            if self.state[name] != "done":
                left += max(0, c.planned - c.episodes)
        elapsed = time.monotonic() - self.started
        if left == 0:
            return 0.0
        if self.fresh == 0 or elapsed <= 0:
            return None
        return left / (self.fresh / elapsed)

    def headline(self) -> str:
        states = list(self.state.values())
        eta = self.eta_s()
        eta_text = "?" if eta is None else f"{eta:.0f}s"
        return (f"cells done {states.count('done')}, running {states.count('running')}, "
                f"queued {states.count('queued')}, failed {states.count('failed')}; "
                f"elapsed {time.monotonic() - self.started:.0f}s, ETA {eta_text}")  # fmt: skip

    def line(self) -> str:
        """The headline plus each running cell, for logs that are not a terminal."""
        parts = [self.headline()]
        for name, c in self.counts.items():
            if self.state[name] == "running":
                parts.append(f"{name} {c.episodes}/{c.planned or '?'} {self._rate(c)}")
        return "; ".join(parts)

    def table(self) -> Table:
        table = Table(title=self.headline(), title_justify="left")
        for col in ("cell", "state", "tasks", "success so far"):
            table.add_column(col, justify="left" if col in ("cell", "state") else "right")
        for name, c in self.counts.items():
            table.add_row(name, self.state[name], f"{c.episodes}/{c.planned or '?'}",
                          self._rate(c))  # fmt: skip
        return table

    @staticmethod
    def _rate(c: CellCount) -> str:
        return f"{c.successes / c.episodes:.1%}" if c.episodes else "-"
