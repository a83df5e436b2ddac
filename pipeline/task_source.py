"""Where tasks come from: an env split, the endless generator, or a JSONL file of Task records."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from pipeline.config import EnvConfig
from pipeline.envs import EnvSuite
from pipeline.errors import MempError
from pipeline.types import Task


class TaskSourceError(MempError, ValueError):
    """Bad task input; the message is one line naming the file and line."""


def tasks_from_file(path: Path) -> Iterator[Task]:
    if not path.is_file():
        raise TaskSourceError(f"env.tasks_file not found: {path}")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield Task.model_validate_json(line)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "record"
                raise TaskSourceError(
                    f"{path}:{number}: bad task record ({where}: {first['msg']})"
                ) from None


def task_stream(suite: EnvSuite, cfg: EnvConfig) -> Iterator[Task]:
    """The run's tasks in order, truncated to env.max_tasks; endless when the split is."""
    if cfg.tasks_file:
        source: Iterator[Task] = tasks_from_file(Path(cfg.tasks_file))
    else:
        if cfg.split not in suite.splits():
            raise TaskSourceError(
                f"unknown env.split {cfg.split!r}; allowed: {', '.join(suite.splits())}"
            )
        source = suite.tasks(cfg.split)
    if cfg.max_tasks is not None:
        source = itertools.islice(source, cfg.max_tasks)
    return source
