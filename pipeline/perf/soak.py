"""Soak benchmark: RSS growth per 1,000 episodes of every process of an endless async run.

`memp run` runs as a child process; this samples /proc for it and its descendants (the local Ray
it starts: GCS, raylet, actor workers), so the run is measured exactly as users run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from pipeline.runlog import TRAJECTORIES
from pipeline.types import Record

_RAY_TITLE = re.compile(r"^ray::([A-Za-z_][A-Za-z0-9_]*)")


class Sample(Record):
    """RSS (MB) of each process kind at one episode count; several processes of a kind are kept."""

    episodes: int
    rss_mb: dict[str, list[float]] = Field(default_factory=dict)


class Growth(Record):
    """One process's RSS growth between the warm-up sample and the last one."""

    process: str
    start_mb: float
    end_mb: float
    mb_per_1000: float


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # exited between listdir and read
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree[ppid].append(int(entry))
    return tree


def descendants(root: int) -> Iterator[int]:
    """`root` and every process below it."""
    tree, todo = _children(), [root]
    while todo:
        pid = todo.pop()
        yield pid
        todo.extend(tree.get(pid, []))


def process_kind(pid: int, root: int) -> str | None:
    """driver, gcs, raylet, or a Ray actor's class name; None for helpers not worth tracking."""
    if pid == root:
        return "driver"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return None
    match = _RAY_TITLE.match(cmd)
    if match:
        name = match.group(1)
        return None if name == "IDLE" else name.removesuffix("Impl").lower()
    if "gcs_server" in cmd:
        return "gcs"
    if "/raylet" in cmd.split(" ", 1)[0]:
        return "raylet"
    return None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample(root: int, episodes: int) -> Sample:
    found: dict[str, list[float]] = defaultdict(list)
    for pid in descendants(root):
        kind = process_kind(pid, root)
        rss = rss_mb(pid) if kind else None
        if kind and rss is not None:
            found[kind].append(rss)
    return Sample(episodes=episodes, rss_mb={k: sorted(v) for k, v in found.items()})


def growth(first: Sample, last: Sample) -> list[Growth]:
    """Per process (kind#i, largest first within a kind): MB per 1,000 episodes, first -> last."""
    span = max(1, last.episodes - first.episodes)
    out = []
    for kind in sorted(set(first.rss_mb) & set(last.rss_mb)):
        a, b = first.rss_mb[kind], last.rss_mb[kind]
        for i, (start, end) in enumerate(zip(sorted(a), sorted(b), strict=False)):
            name = kind if len(a) == 1 else f"{kind}#{i}"
            out.append(Growth(process=name, start_mb=start, end_mb=end,
                              mb_per_1000=(end - start) * 1000 / span))  # fmt: skip
    return out


TARGET_MB_PER_1000 = 1.0


def render(rows: list[Growth], first: Sample, last: Sample) -> str:
    """The growth table, under 80 columns whatever the terminal (one process per line)."""
    lines = [f"RSS growth, episodes {first.episodes:,} -> {last.episodes:,} (after warm-up)",
             f"{'process':<20} {'start MB':>9} {'end MB':>9} {'MB/1,000 ep':>12}"]  # fmt: skip
    for row in rows:
        flag = "" if row.mb_per_1000 <= TARGET_MB_PER_1000 else "  over target"
        lines.append(f"{row.process[:20]:<20} {row.start_mb:9.1f} {row.end_mb:9.1f} "
                     f"{row.mb_per_1000:+12.2f}{flag}")  # fmt: skip
    return "\n".join(lines)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


# A weeks-long run needs a bounded memory base: without a capacity, every new task of the endless
# split adds a procedure (~15 KB in the embedded store and its index), ~0.6 per episode with sim.
SOAK_CAPACITY = 200


def soak_command(config: Path, run_dir: Path, episodes: int, sets: list[str]) -> list[str]:
    """The `memp run` of the soak: async mode, endless split, `episodes` tasks, metrics off,
    memory.capacity SOAK_CAPACITY (a --set in `sets` overrides any of these)."""
    args = [sys.executable, "-m", "pipeline.cli", "run", str(config), "--run-dir", str(run_dir),
            "--no-progress", "--set", "pipeline.mode=async", "--set", "env.split=endless",
            "--set", f"env.max_tasks={episodes}", "--set", "metrics.enabled=false",
            "--set", f"memory.capacity={SOAK_CAPACITY}"]  # fmt: skip
    for item in sets:
        args += ["--set", item]
    return args


def soak(
    config: Path,
    run_dir: Path,
    episodes: int,
    warmup: int,
    every: int = 1000,
    sets: list[str] | None = None,
    poll_s: float = 2.0,
) -> tuple[list[Sample], int]:
    """Run the soak; samples at `warmup` then every `every` episodes. Returns (samples, rc)."""
    log = (run_dir.parent / f"{run_dir.name}.soak.log").open("w")
    proc = subprocess.Popen(soak_command(config, run_dir, episodes, sets or []),
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    samples: list[Sample] = []
    next_at = warmup
    try:
        while proc.poll() is None:
            done = count_lines(run_dir / TRAJECTORIES)
            if done >= next_at:
                samples.append(sample(proc.pid, done))
                print(f"{done} episodes: " + ", ".join(
                    f"{k} {max(v):.0f} MB" for k, v in samples[-1].rss_mb.items()
                ), flush=True)  # fmt: skip
                next_at = done + every
            time.sleep(poll_s)
    finally:
        if proc.poll() is None:
            proc.terminate()
        log.close()
    return samples, proc.wait()
