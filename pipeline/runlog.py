"""The run directory: resolved config, manifest, append-only JSONL logs, summary, resume state."""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, Field, ValidationError

from pipeline.config import MemoryConfig, RunConfig, dump_config
from pipeline.errors import MempError
from pipeline.types import MemoryOp, Record, Trajectory, Usage

TRAJECTORIES = "trajectories.jsonl"
MEMORY_OPS = "memory_ops.jsonl"
MEMORY_COMMITS = "memory_commits.jsonl"
CONFIG = "config.yaml"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
QDRANT_DIR = "qdrant"
LOCK = "run.lock"  # flock()ed by the one `memp run` using the directory; the holder's pid

M = TypeVar("M", bound=BaseModel)


def store_dir(run_path: Path, mem: MemoryConfig) -> Path | None:
    """Where a run's embedded Qdrant store lives; None when memory.qdrant.url names a server."""
    return None if mem.qdrant.url else run_path / QDRANT_DIR


class RunDirError(MempError, ValueError):
    """A run directory that cannot be used as asked; the message is one line."""


class JsonlLog:
    """Append-only JSONL file; each append is flushed and fsynced before it returns.

    A torn last line (kill -9 mid-write) is cut only at the first append: opening a log for a
    resume that is then refused leaves the file as it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None  # opened (and a torn tail repaired) at the first append:
        # a run refused on open leaves the file as it was

    def _repair_torn_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
            data = self.path.read_bytes()
            cut = data.rfind(b"\n") + 1
            fh.truncate(cut)

    def append(self, record: BaseModel) -> None:
        self.append_many([record])

    def append_many(self, records: list[BaseModel]) -> None:
        if not records:
            return
        if self._fh is None:
            self._repair_torn_tail()
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write("".join(r.model_dump_json() + "\n" for r in records))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class MemoryCommit(Record):
    """One writer batch made durable: which trajectories' memory work it finished, and the result.

    The commit record follows the batch's ops in memory_ops.jsonl; a trajectory without one is
    re-fed to the validator on resume (op ids are deterministic, so the repeat is a no-op).
    """

    version: int  # memory version after the batch
    first_seq: int | None = None  # WAL sequence range of the batch's ops (None: no ops)
    last_seq: int | None = None
    trajectory_ids: list[str] = Field(default_factory=list)
    applied: dict[str, int] = Field(default_factory=dict)  # op kind -> ops that changed memory
    skipped: int = 0
    # add op id -> the near-duplicate it was merged into (the op log alone cannot tell)
    merged: dict[str, str] = Field(default_factory=dict)
    size: int = 0  # active procedures after the batch
    group: int | None = None  # sync mode: the task group this commit closes
    # LLM usage by role (build, adjust, keywords) of the work this commit first covers: summary
    # totals are summed from here, so they survive a resume or a writer restart.
    usage: dict[str, Usage] = Field(default_factory=dict)
    at: float = Field(default_factory=time.time)


def read_jsonl(path: Path, model: type[M]) -> Iterator[M]:
    """Records of a JSONL log; a torn last line (crash mid-write) is skipped, others must parse."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:  # line by line: a log may outgrow memory
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield model.model_validate_json(line)
            except ValidationError as err:
                if not line.endswith("\n"):  # only the last line can lack its newline
                    return
                raise RunDirError(
                    f"{path}:{number}: not a valid {model.__name__} record "
                    f"({err.errors()[0]['msg']})"
                ) from None


class LogCheck(Record):
    """What check_memory_log found: the committed seq range and whether a torn tail follows it."""

    last_seq: int = 0  # the last op of the unbroken run 1..n of sequence numbers
    covered: int = 0  # the last seq any commit record covers
    version: int = 0  # the memory version of the last commit record
    torn: bool = False  # a partial last line after every committed op (dropped at open)


def check_memory_log(run_path: Path) -> LogCheck:
    """memory_ops.jsonl holds every op the commit records cover, or RunDirError (one line).

    Read only: a refused resume leaves every file as it was. A partial last line no commit covers
    is a crash mid-append and may go; a lost or damaged op a commit covers may not.
    """
    ops_path, commits_path = run_path / MEMORY_OPS, run_path / MEMORY_COMMITS
    commits = list(read_jsonl(commits_path, MemoryCommit))
    covered = max((c.last_seq or 0 for c in commits), default=0)
    out = LogCheck(covered=covered, version=commits[-1].version if commits else 0)
    lines = ops_path.read_bytes().split(b"\n") if ops_path.exists() else [b""]
    # The piece after the last newline is a torn append (a crash mid-write), even if it parses.
    out.torn = bool(lines[-1].strip())
    damaged = None
    for number, line in enumerate(lines[:-1], 1):
        if not line.strip():
            continue
        try:
            seq = MemoryOp.model_validate_json(line).seq
        except ValidationError:
            seq = None
        if seq != out.last_seq + 1:
            damaged = number
            break
        out.last_seq = seq
    if damaged is None and out.last_seq >= covered:
        return out
    what = "lost records the commits cover" if out.last_seq < covered else "is damaged"
    where = f"line {damaged} is damaged or out of order, " if damaged else ""
    raise RunDirError(
        f"{ops_path} {what} ({where}commits reach seq {covered}): the last good sequence "
        f"number is {out.last_seq}; nothing was changed"
    )


def _git_rev() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    names = ["memp", "ray", "litellm", "qdrant-client", "pydantic", "anyio", "prometheus-client"]
    found: dict[str, str] = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _models(config: RunConfig) -> dict[str, Any]:
    """Every model the run calls (endpoints, never keys) and the prices configured for them."""
    builder = config.memory.builder or config.agent
    embedder = config.memory.embedder
    models: dict[str, Any] = {
        "agent": config.agent.model,
        "builder": builder.model,
        "embedder": embedder.removeprefix("litellm:") if embedder != "hash" else "hash",
        "endpoints": {
            "agent": config.agent.api_base,
            "builder": builder.api_base,
            "embedder": config.memory.embedder_api_base,
        },
    }
    if config.prices:
        models["prices"] = {m: p.model_dump() for m, p in config.prices.items()}
    return models


class RunDir:
    """Owns one run directory; `open` creates it fresh or reopens it for --resume."""

    def __init__(self, path: Path, config: RunConfig) -> None:
        self.path = path
        self.config = config
        self.trajectories = JsonlLog(path / TRAJECTORIES)
        self._lock: Any = None

    @classmethod
    def create(cls, path: Path, config: RunConfig) -> RunDir:
        if (path / TRAJECTORIES).exists():
            raise RunDirError(
                f"{path} already holds a run; use --resume {path} or another --run-dir"
            )
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG).write_text(dump_config(config))
        manifest = {
            "created_at": time.time(),
            "git_rev": _git_rev(),
            "versions": _versions(),
            "seed": config.run.seed,
            "models": _models(config),
            "env": {"name": config.env.name, "split": config.env.split},
        }
        (path / MANIFEST).write_text(json.dumps(manifest, indent=2))
        (path / TRAJECTORIES).touch()  # the mark of a run directory, before any trajectory
        return cls(path, config)

    @classmethod
    def resume(cls, path: Path) -> RunDir:
        from pipeline.config_load import load_config

        if not (path / CONFIG).is_file():
            raise RunDirError(f"{path} is not a run directory (no {CONFIG})")
        config = load_config(path / CONFIG)
        if config.memory.enabled:
            check_memory_log(path)  # before anything here is opened (and maybe repaired)
        return cls(path, config)

    @property
    def ops_path(self) -> Path:
        return self.path / MEMORY_OPS

    def recorded_trajectories(self) -> list[Trajectory]:
        return list(self.stream_trajectories())

    def stream_trajectories(self) -> Iterator[Trajectory]:
        """The recorded trajectories one at a time, in the order they were recorded."""
        return read_jsonl(self.path / TRAJECTORIES, Trajectory)

    @property
    def commits_path(self) -> Path:
        return self.path / MEMORY_COMMITS

    def recorded_ops(self) -> list[MemoryOp]:
        return list(self.stream_ops())

    def stream_ops(self) -> Iterator[MemoryOp]:
        return read_jsonl(self.ops_path, MemoryOp)

    def recorded_commits(self) -> list[MemoryCommit]:
        return list(self.stream_commits())

    def stream_commits(self) -> Iterator[MemoryCommit]:
        return read_jsonl(self.commits_path, MemoryCommit)

    def record(self, traj: Trajectory) -> None:
        """Durable before anything else acts on the trajectory."""
        self.trajectories.append(traj)

    def write_summary(self, summary: BaseModel) -> None:
        tmp = self.path / (SUMMARY + ".tmp")
        tmp.write_text(summary.model_dump_json(indent=2))
        tmp.replace(self.path / SUMMARY)

    def lock(self) -> None:
        """Hold the directory for this process; the kernel releases it however the process ends."""
        fh = (self.path / LOCK).open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            who = f" (pid {holder})" if holder else ""
            raise RunDirError(
                f"{self.path} is in use by another memp run{who}; wait for it to end or stop it"
            ) from None
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock = fh

    def close(self) -> None:
        self.trajectories.close()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None


class OpsWal:
    """The writer's write-ahead log: ops are logged (with seq) before they are applied.

    memory_ops.jsonl holds every op once, by op id; memory_commits.jsonl records finished batches.
    Ops after the last commit's seq were logged but maybe not applied: `uncommitted` replays them.
    It holds no per-op state beyond the ops no commit covers yet: whether an older op is logged
    is the store's to answer (every committed op is applied there), so an endless run stays small.
    """

    def __init__(self, run_path: Path) -> None:
        self.check = check_memory_log(run_path)  # a torn tail may go, a committed op may not
        self.ops = JsonlLog(run_path / MEMORY_OPS)
        self.commits = JsonlLog(run_path / MEMORY_COMMITS)
        # Running totals, not the records: an endless run commits forever.
        self.applied_totals: Counter[str] = Counter()
        done = 0
        for record in read_jsonl(self.commits.path, MemoryCommit):
            self.applied_totals.update(record.applied)
            done = max(done, record.last_seq or 0)
        self.next_seq = 1
        self.uncommitted: list[MemoryOp] = []
        for op in read_jsonl(self.ops.path, MemoryOp):
            self.next_seq = max(self.next_seq, (op.seq or 0) + 1)
            if (op.seq or 0) > done:
                self.uncommitted.append(op)
        # op id -> seq of ops logged that no commit record covers yet (the tail, failed batches)
        self.pending: dict[str, int] = {op.op_id: op.seq or 0 for op in self.uncommitted}

    def logged_ops(self) -> list[MemoryOp]:
        """Every op in the log, read again (the WAL keeps only their ids)."""
        return list(read_jsonl(self.ops.path, MemoryOp))

    def commit_records(self) -> list[MemoryCommit]:
        """Every commit record, read again (the WAL keeps only running totals)."""
        return list(read_jsonl(self.commits.path, MemoryCommit))

    def log(
        self, ops: list[MemoryOp], applied: set[str] | frozenset[str] = frozenset()
    ) -> list[MemoryOp]:
        """Append the ops not logged yet, numbered; returns them (durable on return). `applied`:
        ids the store holds (logged when they were committed, so not logged again)."""
        fresh: list[MemoryOp] = []
        for op in ops:
            if op.op_id in self.pending or op.op_id in applied:
                continue
            self.pending[op.op_id] = self.next_seq
            fresh.append(op.model_copy(update={"seq": self.next_seq}))
            self.next_seq += 1
        self.ops.append_many(fresh)
        return fresh

    def commit(self, record: MemoryCommit, op_ids: list[str] | None = None) -> None:
        """Append a commit record; `op_ids` (the batch's) are no longer pending."""
        self.commits.append(record)
        self.applied_totals.update(record.applied)
        for op_id in op_ids or []:
            self.pending.pop(op_id, None)

    def close(self) -> None:
        self.ops.close()
        self.commits.close()
