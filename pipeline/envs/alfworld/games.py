"""The ALFWorld game directory: splits, their games in a fixed order, tasks read from the files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pipeline.envs.alfworld import logic
from pipeline.errors import MempError
from pipeline.types import Task

ENV_NAME = "alfworld"
SPLITS: tuple[str, ...] = ("train", "valid_seen", "valid_unseen")
DATA_VAR = "ALFWORLD_DATA"
DOWNLOAD_HINT = "run alfworld-download, from the memp alfworld extra"


class MissingDataError(MempError, ValueError):
    pass


def data_root(configured: str | None) -> Path:
    """The data directory (env.alfworld.data_dir, else $ALFWORLD_DATA) holding json_2.1.1/."""
    raw = configured or os.environ.get(DATA_VAR)
    if not raw:
        raise MissingDataError(
            f"no ALFWorld data: set {DATA_VAR} or env.alfworld.data_dir ({DOWNLOAD_HINT})"
        )
    root = Path(os.path.expandvars(raw)).expanduser()
    if not (root / "json_2.1.1").is_dir():
        raise MissingDataError(
            f"no ALFWorld games in {root}/json_2.1.1 (from {DATA_VAR} or env.alfworld.data_dir;"
            f" get them with: {DOWNLOAD_HINT})"
        )
    return root


@lru_cache(maxsize=16)
def game_files(root: Path, split: str) -> tuple[Path, ...]:
    """Playable games of a split, sorted by path (ALFWorld skips movable and sliced ones too)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    base = root / "json_2.1.1" / split
    if not base.is_dir():
        return ()
    found = []
    for game in sorted(base.glob("*/*/game.tw-pddl")):
        trial = game.parent
        if "movable" in str(trial) or "Sliced" in str(trial):
            continue
        if (trial / "traj_data.json").is_file():
            found.append(game)
    return tuple(found)


def read_task(root: Path, split: str, index: int, game: Path) -> Task:
    """The Task of one game: type from traj_data.json, goal from the game's opening grammar."""
    traj = json.loads((game.parent / "traj_data.json").read_text())
    data = json.loads(game.read_text())
    return Task(
        id=f"{ENV_NAME}/{split}/{index:04d}",
        env=ENV_NAME,
        split=split,
        task_type=str(traj["task_type"]),
        goal=logic.goal_text(data["grammar"]),
        seed=index,
        spec={"game_file": str(game.resolve()), "trial": str(game.parent.relative_to(root))},
    )


def split_tasks(root: Path, split: str) -> Iterator[Task]:
    for index, game in enumerate(game_files(root, split)):
        yield read_task(root, split, index, game)
