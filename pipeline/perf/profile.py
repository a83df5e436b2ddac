"""memp's CPU split into parts (model client, env, prompt/parse, memory, Ray/driver) by sampling.

py-spy (a Ray dependency) samples each memp process's GIL holder during the measuring window;
a sample belongs to the innermost frame that one of `PARTS` claims. Each process's measured CPU
(/proc) is shared out by its samples; CPU no sample saw (Ray's C++ threads, GIL-free work) is
Ray's. The sim's own work (the stand-in model) is its own part, excluded from memp's total.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

# (part, path fragments): the innermost frame matching a fragment names the sample's part.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sim", ("pipeline/sim/", "pipeline/envs/travelplanner/sim/")),
    ("prompt/parse", ("/language.py", "pipeline/prompts.py", "pipeline/agent.py")),
    ("env", ("pipeline/envs/",)),
    ("memory", ("pipeline/memory/", "actors/reader.py", "qdrant_client/")),
    ("model client", ("litellm/", "aiohttp/", "httpx/", "httpcore/", "openai/", "tiktoken/",
                      "pipeline/llm.py", "pipeline/llm_route.py", "pipeline/llm_errors.py",
                      "concurrent/futures/")),
    ("Ray/driver", ("ray/", "actors/", "pipeline/orchestrate/", "_raylet")),
)  # fmt: skip
SHOWN = ("model client", "env", "prompt/parse", "memory", "Ray/driver", "other")
RATE_HZ = 50


def part_of(stack: str) -> str:
    """The part of one collapsed stack ("f (file:line);g (file:line)", root first)."""
    for frame in reversed(stack.split(";")):
        for part, fragments in PARTS:
            if any(f in frame for f in fragments):
                return part
    return "other"  # the event loop, anyio, GC


def parse_raw(text: str) -> Counter[str]:
    """py-spy's raw (collapsed) output -> samples per part."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            out[part_of(stack)] += int(count)
    return out


def split_cpu(cpu_s: float, samples: Counter[str], rate_hz: float = RATE_HZ) -> dict[str, float]:
    """One process's CPU seconds shared out by its samples; the unsampled rest is Ray's."""
    sampled = sum(samples.values()) / rate_hz
    if sampled <= 0:
        return {"Ray/driver": cpu_s}
    scale = min(1.0, cpu_s / sampled)
    parts = {p: n / rate_hz * scale for p, n in samples.items()}
    parts["Ray/driver"] = parts.get("Ray/driver", 0.0) + max(0.0, cpu_s - sampled)
    return parts


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    return str(found) if found.exists() else shutil.which("py-spy")


@contextmanager
def sampling(
    pids: Sequence[int], duration_s: float, keep: Path | None = None
) -> Iterator[dict[int, Counter[str]]]:
    """Sample `pids` for `duration_s`; the dict is filled when the block ends (empty: no py-spy).

    keep: a directory that receives each process's raw stacks (`<pid>.txt`, flamegraph input)."""
    result: dict[int, Counter[str]] = {}
    exe = py_spy()
    if exe is None:
        yield result
        return
    with tempfile.TemporaryDirectory(prefix="memp-pyspy-") as tmp:
        procs = {}
        for pid in pids:
            out = Path(tmp) / f"{pid}.txt"
            cmd = [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(duration_s))),
                   "--rate", str(RATE_HZ), "--format", "raw", "--gil", "--nonblocking",
                   "--output", str(out)]  # fmt: skip
            procs[pid] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL), out)  # fmt: skip
        try:
            yield result
        finally:
            for pid, (proc, out) in procs.items():
                try:
                    proc.wait(timeout=duration_s + 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                if out.exists():
                    result[pid] = parse_raw(out.read_text())
                    if keep is not None:
                        keep.mkdir(parents=True, exist_ok=True)
                        shutil.copy(out, keep / out.name)


def per_step(
    cpu_by_pid: dict[int, float], samples: dict[int, Counter[str]], steps: float
) -> dict[str, float]:
    """CPU ms per agent step for each part, summed over processes (unsampled ones: Ray).

    CPU and steps in any matching units: seconds and steps, or cores and steps per second."""
    total: Counter[str] = Counter()
    for pid, cpu in cpu_by_pid.items():
        for part, seconds in split_cpu(cpu, samples.get(pid, Counter())).items():
            total[part] += seconds
    return {p: round(1000 * s / steps, 3) for p, s in total.items()} if steps else {}
