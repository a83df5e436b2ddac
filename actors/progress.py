"""The live view of a run: a rich progress bar on a terminal, timestamped lines in logs.

On a terminal: elapsed, ETA, tasks, the current group and its success, LLM errors and retries,
memory size and in-flight episodes. Anywhere else (tee, CI, `kubectl logs`) one plain line
every `every_s` seconds, so a log shows the run moving.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from pipeline.summary import Tally
from pipeline.types import Trajectory

REFRESH_S = 0.25


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    """Accumulates figures as trajectories land; redraws at most every REFRESH_S."""

    def __init__(self, console: Console, total: int | None, enabled: bool = True,
                 every_s: float = 10.0) -> None:  # fmt: skip
        self.console = console
        self.total = total
        self.tally = Tally()
        self.memory_size = 0
        self.memory_version = 0
        self.in_flight = 0
        self.cap: int | None = None  # the driver's in-flight cap when it follows the knee
        self.llm_limit: dict[int, int] = {}
        self.errors: dict[str, dict[str, int]] = {}  # the telemetry's tally: role -> kind -> n
        self.retries: dict[str, int] = {}  # the telemetry's tally: role -> retried attempts
        self.note = ""
        self.group: int | None = None  # sync mode: the group being played
        self.group_tally = Tally()
        self.errored = 0  # episodes with status error or timeout
        self.every_s = every_s
        self.enabled = enabled
        self.started = time.monotonic()
        self._done_before = 0  # recorded before this invocation (resume): not in the ETA rate
        self._bar: Bar | None = None
        self._task = None
        self._drawn = 0.0
        self._printed = self.started

    def __enter__(self) -> Progress:
        self.started = self._printed = time.monotonic()
        self._done_before = self.tally.episodes
        if self.enabled and self.console.is_terminal:
            self._bar = Bar(
                TextColumn("[bold]tasks"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
                auto_refresh=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("run", total=self.total, completed=self.tally.episodes,
                                            info=self.info())  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self.draw(force=True)
            self._bar.__exit__(None, None, None)
        elif self.enabled:
            self.console.print(self.line(), highlight=False, soft_wrap=True)

    def add(self, traj: Trajectory) -> None:
        self.tally.add(traj)
        self.group_tally.add(traj)
        self.errored += traj.status != "ok"

    def set_group(self, group: int) -> None:
        if group != self.group:
            self.group, self.group_tally = group, Tally()

    def info(self) -> str:
        t = self.tally
        failed = sum(n for kinds in self.errors.values() for n in kinds.values())
        rate_limited = sum(kinds.get("rate_limit", 0) for kinds in self.errors.values())
        parts = [f"success {t.success_rate:.1%}"]
        if self.group is not None:
            g = self.group_tally
            parts.append(f"group {self.group} {g.success_rate:.0%} of {g.episodes}")
        parts += [
            f"errored {self.errored}",
            f"llm errors {failed} (429s {rate_limited}, retries {sum(self.retries.values())})",
            f"memory {self.memory_size} (v{self.memory_version})",
            f"in flight {self.in_flight}" + ("" if self.cap is None else f" (cap {self.cap})"),
        ]
        if self.llm_limit:  # the fleet's sum, as memp_llm_concurrency_limit reports it
            parts.append(f"llm limit {sum(self.llm_limit.values())}")
        if self.note:
            parts.append(self.note)
        return "  ".join(parts)

    def eta_s(self) -> float | None:
        done = self.tally.episodes - self._done_before
        left = None if self.total is None else self.total - self.tally.episodes
        elapsed = time.monotonic() - self.started
        if not done or left is None:
            return None
        return elapsed / done * left

    def line(self) -> str:
        """One plain progress line for logs."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        total = f"/{self.total}" if self.total is not None else ""
        eta = self.eta_s()
        timing = f"elapsed {_clock(time.monotonic() - self.started)}"
        timing += f" eta {_clock(eta)}" if eta is not None else ""
        return f"{stamp} tasks {self.tally.episodes}{total}  {timing}  {self.info()}"

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self._bar is not None:
            if force or now - self._drawn >= REFRESH_S:
                self._drawn = now
                self._bar.update(self._task, completed=self.tally.episodes, info=self.info())
                self._bar.refresh()
        elif force or now - self._printed >= self.every_s:
            self._printed = now
            self.console.print(self.line(), highlight=False, soft_wrap=True)
