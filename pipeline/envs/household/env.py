"""HouseholdEnv: the Environment protocol over one World per episode."""

from __future__ import annotations

from pipeline.envs.base import StepResult
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Scene, build_scene
from pipeline.envs.household.tasks import goal_of
from pipeline.envs.household.text import GRAMMARS
from pipeline.envs.household.world import World
from pipeline.types import Task


class EnvNotResetError(RuntimeError):
    pass


class HouseholdEnv:
    """One live household episode. Not thread-safe; one instance per running episode."""

    def __init__(self, grammar: str = "2.1.2") -> None:
        if grammar not in GRAMMARS:
            raise ValueError(f"unknown grammar {grammar!r}; known: {', '.join(GRAMMARS)}")
        self.grammar = grammar
        self._world: World | None = None
        self._won = False

    def reset(self, task: Task) -> str:
        """Rebuild the task's world from its spec and seed; return the opening text."""
        return self.reset_scene(build_scene(task.spec, task.seed), goal_of(task))

    def reset_scene(self, scene: Scene, goal: Goal) -> str:
        """Start an episode from an explicit scene and goal (hand-made worlds, tests)."""
        self._world = World(scene, goal, self.grammar)
        self._won = False
        return self._world.intro()

    @property
    def world(self) -> World:
        if self._world is None:
            raise EnvNotResetError("call reset(task) before using the environment")
        return self._world

    @property
    def won(self) -> bool:
        return self._won

    def step(self, action: str) -> StepResult:
        world = self.world
        observation, valid = world.step(action)
        if valid:  # an invalid command changes nothing, so the goal state cannot change either
            self._won = world.won()
        # model_construct: every field is produced here, so validation would only cost time.
        return StepResult.model_construct(
            observation=observation, done=self._won, success=self._won, valid=valid
        )

    def admissible_commands(self) -> list[str]:
        return self.world.admissible()

    def clone(self) -> HouseholdEnv:
        """An independent copy of the live episode, for look-ahead search."""
        twin = HouseholdEnv(self.grammar)
        twin._world = self.world.clone()
        twin._won = self._won
        return twin
