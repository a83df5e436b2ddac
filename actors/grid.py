"""`memp grid` hosting: one Ray cluster, each cell a `memp run` process joined to it.

A cell is exactly a `memp run` (fresh, or `--resume` of its run directory), so a resumed grid
resumes every partial cell the way `memp run --resume` does. Cell processes die with the grid
(PR_SET_PDEATHSIG), so after a kill -9 nothing keeps running behind a resume's back.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ray
from rich.console import Console
from rich.live import Live

from actors.session import start_ray
from pipeline.exporter import MetricsError
from pipeline.grid.expand import Cell
from pipeline.grid.outputs import GridFiles, export_cell_pack, write_outputs
from pipeline.grid.plan import CellEvent, GridDir, next_cells, planned_tasks, recorded_tasks
from pipeline.grid.progress import CellCount, GridProgress
from pipeline.grid.relay import CellRelay
from pipeline.grid.spec import GridError

POLL_S = 0.5
LINE_EVERY_S = 10.0  # progress lines when stdout is not a terminal
METRICS_URL = re.compile(r"metrics: (http://\S+/metrics)")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the grid process dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class _Child:
    cell: Cell
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    log_from: int  # where this invocation's output starts in the (appended) log
    resumed: bool
    url: str | None = None


class GridRunner:
    """Starts cells as slots free up, watches them, exports packs, writes the outputs."""

    def __init__(self, grid: GridDir, console: Console, address: str | None = None,
                 show_progress: bool = True) -> None:  # fmt: skip
        self.grid = grid
        self.console = console
        self.address = address
        self.show_progress = show_progress
        self.running: dict[str, _Child] = {}
        self.failed: set[str] = set()
        self.done = grid.finished()
        self.stopping = False
        self.relay = CellRelay()
        counts = {c.name: CellCount(grid.run_path(c), planned_tasks(c)) for c in grid.cells}
        self.progress = GridProgress(counts)
        for name in self.done:
            self.progress.state[name] = "done"

    def run(self) -> int:
        """0 when every cell finished; 1 when a cell failed; 130 when stopped by a signal."""
        ray_s = start_ray(self.address)
        cluster = self.address or ray.get_runtime_context().gcs_address
        self.console.print(f"ray {cluster} ({ray_s:.1f}s)", highlight=False)
        opts = self.grid.spec.grid
        if opts.metrics:
            try:
                bound = self.relay.start(opts.metrics_host, opts.metrics_port)
            except MetricsError as err:  # a busy port: one line, exit 2, like memp run
                raise GridError(str(err)) from None
            self.console.print(f"grid metrics: http://{opts.metrics_host}:{bound}/metrics")
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._loop(cluster)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.relay.stop()
        if self.failed:
            return 1
        return 130 if self.stopping and len(self.done) < len(self.grid.cells) else 0

    def outputs(self) -> GridFiles:
        return write_outputs(self.grid.spec, self.grid.cells, self.grid.path)

    # ---- the loop ----

    def _loop(self, cluster: str) -> None:
        live = Live(console=self.console, auto_refresh=False) if self.show_progress else None
        last_line = 0.0
        if live is not None:
            live.start()
        try:
            while True:
                if not self.stopping:
                    for cell in next_cells(
                        self.grid.cells,
                        self.done,
                        set(self.running),
                        self.failed,
                        self.grid.spec.grid.max_parallel_cells,
                    ):
                        self._start(cell, cluster)  # fmt: skip
                for name, child in list(self.running.items()):
                    self._scrape(child)
                    if child.proc.poll() is not None:
                        del self.running[name]
                        self._finish(child)
                self.progress.refresh()
                self.relay.set_states(self.progress.state)
                if live is not None:
                    live.update(self.progress.table(), refresh=True)
                elif time.monotonic() - last_line >= LINE_EVERY_S:
                    last_line = time.monotonic()
                    self.console.print(time.strftime("%H:%M:%S ") + self.progress.line(),
                                       highlight=False, soft_wrap=True)  # fmt: skip
                if not self.running and (self.stopping or not self._startable()):
                    return
                time.sleep(POLL_S)
        finally:
            if live is not None:
                live.stop()
            self.console.print(self.progress.headline(), highlight=False)

    def _startable(self) -> bool:
        return bool(next_cells(self.grid.cells, self.done, set(), self.failed, 1))

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Cells run in their own sessions (a terminal's Ctrl-C reaches only the grid): pass the
        # signal on, so the first one makes every cell finish its in-flight episodes and stop.
        self.stopping = True
        for child in self.running.values():
            child.proc.send_signal(signum)

    # ---- one cell ----

    def _start(self, cell: Cell, cluster: str) -> None:
        g = self.grid
        resumed = g.started(cell)
        cmd = [sys.executable, "-m", "pipeline.cli", "run"]
        if resumed:
            cmd += ["--resume", str(g.run_path(cell))]
        else:
            cmd += [str(g.config_path(cell)), "--run-dir", str(g.run_path(cell))]
        cmd += ["--address", cluster, "--no-progress"]
        log_path = g.log_path(cell)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        log.write(f"\n=== {time.strftime('%F %T')} {' '.join(cmd[2:])}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
            env={**os.environ, "COLUMNS": "160"},
        )  # fmt: skip
        self.running[cell.name] = _Child(cell, proc, log, log.tell(), resumed)
        self.progress.state[cell.name] = "running"
        g.record(CellEvent(cell=cell.name, event="started", resumed=resumed))

    def _scrape(self, child: _Child) -> None:
        if child.url is None:
            text = self.grid.log_path(child.cell).read_bytes()[child.log_from :]
            found = METRICS_URL.search(text.decode("utf-8", "replace"))
            child.url = found.group(1) if found else None
        if child.url is not None:
            self.relay.scrape(child.cell.name, child.url)

    def _finish(self, child: _Child) -> None:
        child.log.close()
        cell, code = child.cell, child.proc.returncode
        path = self.grid.run_path(cell)
        episodes = recorded_tasks(path)
        planned = self.progress.counts[cell.name].planned
        if code == 0 and (planned is None or episodes >= planned):
            if cell.config.memory.enabled:
                export_cell_pack(cell, path)
            self.done.add(cell.name)
            self.progress.state[cell.name] = "done"
            self.grid.record(CellEvent(cell=cell.name, event="finished", exit_code=0,
                                       episodes=episodes))  # fmt: skip
            return
        if code == 0 or self.stopping:  # stopped part-way: resumable, not a failure
            self.progress.state[cell.name] = "queued"
            return
        detail = _last_line(self.grid.log_path(cell))
        self.failed.add(cell.name)
        self.progress.state[cell.name] = "failed"
        self.grid.record(CellEvent(cell=cell.name, event="failed", exit_code=code,
                                   episodes=episodes, detail=detail))  # fmt: skip
        self.console.print(f"[red]cell {cell.name} failed (exit {code}):[/red] {detail}")


def _last_line(path: Path) -> str:
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    return lines[-1][:300] if lines else ""
