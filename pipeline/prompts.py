"""Prompt texts for every LLM role; the one place their wording lives."""

from __future__ import annotations

from pipeline.types import Granularity, Procedure

AGENT_SYSTEM = """Interact with a household to solve a task. Each turn, think briefly and then give exactly one command.
Answer in this format and nothing else:
Think: <your reasoning>
Action: <one command>

Commands (names are lowercase with an instance number, e.g. "cabinet 3"):
  go to {recep} | open {recep} | close {recep} | take {obj} from {recep}
  {move_cmd}
  heat {obj} with {recep} | cool {obj} with {recep} | clean {obj} with {recep}
  use {lamp} | examine {thing} | inventory | look
If a command is not possible the environment answers "Nothing happens.".
"""

MOVE_CMD = {"2.1.2": "move {obj} to {recep}", "2.1.1": "put {obj} in/on {recep}"}

EXAMPLE_HEADER = "Here is an example of a solved task:"
MEMORY_HEADER = "Relevant procedures from memory (past experience; use what applies):"
TURN_HEADER = "Now it's your turn."
OBSERVATION_PREFIX = "Observation: "

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


def agent_system(grammar: str) -> str:
    return AGENT_SYSTEM.replace("{move_cmd}", MOVE_CMD[grammar])


def agent_first_message(observation: str, example: str | None, memory: str | None) -> str:
    """The first user turn: optional worked example, optional memory slot, then the task."""
    parts: list[str] = []
    if example:
        parts.append(f"{EXAMPLE_HEADER}\n{example.strip()}")
    if memory:
        parts.append(f"{MEMORY_HEADER}\n{memory.strip()}")
    parts.append(f"{TURN_HEADER}\n{observation.strip()}")
    return "\n\n".join(parts)


def script_request(task_goal: str, trajectory_text: str) -> str:
    return f"Task: {task_goal}\n\nSuccessful trajectory:\n{trajectory_text}\n\nScript:"


def adjust_request(task_goal: str, procedure_text: str, trajectory_text: str) -> str:
    return (
        f"Task: {task_goal}\n\nProcedure that was followed:\n{procedure_text}\n\n"
        f"Failed trajectory:\n{trajectory_text}\n\nCorrected script:"
    )


def keywords_request(task_goal: str) -> str:
    return f"Task: {task_goal}\nKeywords:"


def render_steps(pairs: list[tuple[str, str]]) -> str:
    """Steps as the agent saw them: "> action" then the observation, one pair per step."""
    return "\n".join(f"> {action}\n{observation}" for action, observation in pairs)


def render_procedure(index: int, task_text: str, script: str | None, trajectory: list[str]) -> str:
    """One retrieved procedure in the memory slot; `trajectory` holds render_steps lines."""
    parts = [f"Procedure {index} (from the task: {task_text})"]
    if script:
        parts.append(f"Script:\n{script.strip()}")
    if trajectory:
        parts.append("Trajectory:\n" + "\n".join(trajectory))
    return "\n".join(parts)


def render_memory(
    procedures: list[Procedure], granularity: Granularity | None = None
) -> str | None:
    """The memory slot: each procedure's script and/or steps, per its (or a forced) granularity."""
    blocks = []
    for index, proc in enumerate(procedures, start=1):
        kind = granularity or proc.granularity
        script = proc.script if kind in ("script", "proceduralization") else None
        steps = proc.trajectory if kind in ("trajectory", "proceduralization") else []
        blocks.append(render_procedure(index, proc.task_text, script, steps))
    return "\n\n".join(blocks) or None
