"""alfworld's own text engine: TextWorld's PDDL env under alfworld's demangler, one per episode.

Each engine loads a private copy of the Fast Downward library (textworld does this to keep
engines independent), so engines are pooled per process and reused across episodes. TextWorld's
grammar parser and logic caches are module globals that break under concurrent loads (seen as
IndexError/TypeError in a run), so engine calls in one process take turns under ENGINE_LOCK.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from pipeline.envs.alfworld import logic

ENGINE_LOCK = threading.Lock()


class Engine:
    """One TextWorld PDDL env with alfworld's name demangling; plays one game at a time."""

    def __init__(self) -> None:
        import textworld
        from textworld.envs.pddl import PddlEnv

        # Importing alfworld sets $ALFWORLD_DATA to its default when unset; keep ours as it was.
        before = os.environ.get("ALFWORLD_DATA")
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler

        if before is None:
            os.environ.pop("ALFWORLD_DATA", None)

        infos = textworld.EnvInfos(won=True, admissible_commands=True)
        self._env = AlfredDemangler(PddlEnv(infos))
        self.state: Any = None

    def reset(self, game_file: Path, grammar: str) -> str:
        data = json.loads(game_file.read_text())
        data["pddl_domain"], data["grammar"] = logic.convert(
            data["pddl_domain"], data["grammar"], grammar
        )
        with ENGINE_LOCK:
            self._env.load(data)
            self.state = self._env.reset()
        return str(self.state.feedback)

    def step(self, command: str) -> tuple[str, bool, bool]:
        """(feedback, won, valid): valid when the command was one of the admissible ones."""
        valid = command.strip() in self.state["admissible_commands"]
        with ENGINE_LOCK:
            self.state, _, _ = self._env.step(command)
        return str(self.state.feedback), bool(self.state["won"]), valid

    def admissible(self) -> list[str]:
        return list(self.state["admissible_commands"])


class EnginePool:
    """A free list of engines, so library copies are made once per concurrent episode."""

    def __init__(self) -> None:
        self._free: list[Engine] = []
        self._lock = threading.Lock()

    def take(self) -> Engine:
        with self._lock:
            if self._free:
                return self._free.pop()
        with ENGINE_LOCK:
            return Engine()

    def give(self, engine: Engine) -> None:
        with self._lock:
            self._free.append(engine)


POOL = EnginePool()
