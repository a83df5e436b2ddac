"""How the household env talks to models: ALFWorld's ReAct prompt, commands and memory wording."""

from __future__ import annotations

from functools import lru_cache

from pipeline.envs.base import ENGLISH_STOP_WORDS, EnvLanguage
from pipeline.envs.household.text import NOTHING
from pipeline.prompts import render_steps
from pipeline.types import Task, Trajectory

AGENT_SYSTEM = """Interact with a household to solve a task. Each turn, think briefly and then give exactly one command.
Answer in this format and nothing else:
Think: <your reasoning>
Action: <one command>

Commands (names are lowercase with an instance number, e.g. "cabinet 3"):
  go to {recep} | open {recep} | close {recep} | take {obj} from {recep}
  {move_cmd}
  heat {obj} with {recep} | cool {obj} with {recep} | clean {obj} with {recep}
  use {lamp} | examine {thing} | inventory | look{help_cmd}
If a command is not possible the environment answers "Nothing happens.".
"""

MOVE_CMD = {"2.1.2": "move {obj} to {recep}", "2.1.1": "put {obj} in/on {recep}"}
HELP_CMD = {"2.1.2": " | help", "2.1.1": ""}  # only grammar 2.1.2 has a help command

SCRIPT_SYSTEM = """You write procedural memory for a household agent.
Given a task and a successful trajectory, write a short script of the critical steps that would solve
similar tasks: which kinds of places to search, the object to take, any transformation and the appliance
that does it, and where to place the result. Use object and receptacle kinds, not instance numbers.
Answer with numbered lines only."""

ADJUST_SYSTEM = """You revise procedural memory for a household agent.
A procedure was retrieved for a task and the agent failed while following it. Given the task, the
procedure and the failed trajectory, write a corrected script: add missing steps, replace wrong
appliances or places, remove misleading steps. Use kinds, not instance numbers.
Answer with numbered lines only."""

KEYWORDS_SYSTEM = """You extract retrieval keywords from a household task.
Give the task type words, the object and the target place, as a comma-separated list of 2 to 6
lowercase keywords. Answer with the list only."""

VERBS = (
    "go to ", "open ", "close ", "take ", "move ", "put ", "heat ", "cool ", "clean ",
    "use ", "examine ", "inventory", "look", "help",
)  # fmt: skip

# Each type's worked example comes from the first train task of that type, so it never changes.
_EXAMPLE_SEARCH_LIMIT = 200


def agent_system(grammar: str) -> str:
    """The agent's system prompt for one ALFWorld grammar version."""
    return AGENT_SYSTEM.replace("{move_cmd}", MOVE_CMD[grammar]).replace(
        "{help_cmd}", HELP_CMD[grammar]
    )


class HouseholdLanguage(EnvLanguage):
    """ALFWorld's text commands; trajectory memory drops steps that did nothing."""

    command_prefixes = VERBS
    # Goal words too common to be keywords when the keyword model gives none.
    stop_words = ENGLISH_STOP_WORDS | {"put"}
    script_system = SCRIPT_SYSTEM
    adjust_system = ADJUST_SYSTEM
    keywords_system = KEYWORDS_SYSTEM

    def __init__(self, grammar: str = "2.1.2") -> None:
        if grammar not in MOVE_CMD:
            raise ValueError(f"unknown grammar {grammar!r}; known: {', '.join(MOVE_CMD)}")
        self.grammar = grammar

    def system_prompt(self, task: Task) -> str:
        return agent_system(self.grammar)

    def one_shot_example(self, task: Task) -> str | None:
        return one_shot_example(task.task_type, self.grammar)

    def condense(self, trajectory: Trajectory) -> list[tuple[str, str]]:
        """Valid commands that did something: no "Nothing happens.", no ReAct "think:" turns."""
        pairs: list[tuple[str, str]] = []
        for step in trajectory.steps:
            action = step.action.strip()
            if not step.valid or not action or step.observation.strip() == NOTHING:
                continue
            if action.lower().startswith("think"):  # ReAct "think: ..." turns answer only "OK."
                continue
            pairs.append((action, step.observation.strip()))
        return pairs


@lru_cache(maxsize=32)
def one_shot_example(task_type: str, grammar: str) -> str | None:
    """The solver's walkthrough of the first train task of this type, as the agent would see it."""
    from pipeline.envs.household.env import HouseholdEnv
    from pipeline.envs.household.solver import SolverError, solve
    from pipeline.envs.household.tasks import make_task

    for index in range(_EXAMPLE_SEARCH_LIMIT):
        task = make_task("train", index)
        if task.task_type != task_type:
            continue
        env = HouseholdEnv(grammar)
        intro = env.reset(task)
        try:
            trace = solve(env, task.goal)
        except SolverError:
            continue
        return f"{intro}\n{render_steps(trace)}"
    return None
