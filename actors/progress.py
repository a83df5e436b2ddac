"""The live terminal view of a run: tasks, success, steps, tokens, cost, memory, load."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from pipeline.summary import Tally
from pipeline.types import Trajectory

REFRESH_S = 0.25


class Progress:
    """Accumulates figures as trajectories land; redraws at most every REFRESH_S."""

    def __init__(self, console: Console, total: int | None, enabled: bool = True) -> None:
        self.total = total
        self.tally = Tally()
        self.memory_size = 0
        self.memory_version = 0
        self.in_flight = 0
        self.llm_limit: dict[int, int] = {}
        self.note = ""
        self._live = Live(console=console, auto_refresh=False, transient=False) if enabled else None
        self._drawn = 0.0

    def __enter__(self) -> Progress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self.draw(force=True)
            self._live.__exit__(None, None, None)

    def add(self, traj: Trajectory) -> None:
        self.tally.add(traj)

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._live is None or (not force and now - self._drawn < REFRESH_S):
            return
        self._drawn = now
        self._live.update(self.render(), refresh=True)

    def render(self) -> Table:
        t = self.tally
        total = f"/{self.total}" if self.total is not None else ""
        limits = sorted(self.llm_limit.values())
        table = Table.grid(padding=(0, 2))
        table.add_row(
            f"[bold]tasks[/bold] {t.episodes}{total}",
            f"success {t.success_rate:.1%}",
            f"steps {t.mean_steps:.1f}",
            f"tokens {t.tokens:,}",
            f"cost ${t.cost_usd:.4f}",
            f"memory {self.memory_size} (v{self.memory_version})",
            f"in flight {self.in_flight}",
            f"llm limit {limits[0] if limits else '-'}",
            self.note,
        )
        return table
