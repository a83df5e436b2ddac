"""The environment plug-in contract: episode worlds, their language, and the suite that ships both.

Everything domain-specific lives behind these types: the agent loop, memory and the shared prompts
only ever ask an env's `EnvLanguage` for wording, parsing and condensing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from pipeline import prompts
from pipeline.errors import MempError
from pipeline.types import Record, Task, ToolCall, Trajectory

if TYPE_CHECKING:
    from pipeline.config import EnvConfig


class StepResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: str
    done: bool  # the episode is over (goal reached, plan delivered, ...)
    success: bool
    valid: bool  # False: the env rejected the command (an invalid step)
    scores: dict[str, float] = Field(default_factory=dict)  # per-episode scores, filled when done


@runtime_checkable
class Environment(Protocol):
    """One live episode world. Not thread-safe; one instance per running episode."""

    def reset(self, task: Task) -> str:
        """Build the episode's world from the task and return the opening observation."""
        ...

    def step(self, command: str) -> StepResult: ...

    def admissible_commands(self) -> list[str] | None:
        """The commands valid now; None when the env has no finite set (free-form tools)."""
        ...


class Action(Record):
    """What an env's language made of one model answer; command None is an unparsable answer."""

    thought: str = ""
    command: str | None = None


# Labels as models write them: "Action:", "**Action:**", "**Action**:", "action ："
_LABEL = r"^\s*(?:\*\*)?\s*{}\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*"
_ACTION_LINE = re.compile(_LABEL.format("action") + r"(?P<cmd>.+?)\s*$", re.I | re.M)
_THINK_LINE = re.compile(_LABEL.format("(?:think|thought)") + r"(?P<t>.*)$", re.I | re.M)
# English function words: hashed or kept as keywords they only add noise shared by every text.
ENGLISH_STOP_WORDS = frozenset(
    {"a", "an", "the", "some", "it", "in", "on", "to", "and", "of", "with", "under"}
)


def clean_command(text: str) -> str:
    """Strip quotes, a leading '>', a trailing period and repeated spaces from a command."""
    cmd = text.strip().strip("`'\"").strip()
    cmd = cmd.removeprefix(">").strip()
    cmd = re.sub(r"\s+", " ", cmd)
    return cmd.rstrip(".").strip()


# A thought long enough for one sentence of reasoning, short enough that a small model that
# rambles still reaches its action within max_tokens.
THOUGHT_MAX_CHARS = 120


def answer_schema(action: dict[str, Any]) -> dict[str, Any]:
    """{"thought": short text, "action": <action schema>}, both required, nothing else."""
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": THOUGHT_MAX_CHARS},
            "action": action,
        },
        "required": ["thought", "action"],
        "additionalProperties": False,
    }


def json_answer(text: str) -> dict[str, Any] | None:
    """The JSON object an answer holds (fences and text around it ignored), else None."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


class EnvLanguage:
    """How an env talks to models; env-agnostic ReAct defaults that each env overrides."""

    format_hint: str = (
        "Invalid answer: no command found. Reply as 'Think: <reasoning>' then 'Action: <command>'."
    )
    observation_prefix: str = prompts.OBSERVATION_PREFIX
    # A last answer line starting with one of these counts as a command without its label.
    command_prefixes: ClassVar[tuple[str, ...]] = ()
    stop_words: frozenset[str] = ENGLISH_STOP_WORDS
    # Score keys the console shows, with their column labels; empty: every key the episodes carry.
    headline_scores: ClassVar[dict[str, str]] = {}
    script_system: str = prompts.SCRIPT_SYSTEM
    adjust_system: str = prompts.ADJUST_SYSTEM
    keywords_system: str = prompts.KEYWORDS_SYSTEM

    def system_prompt(self, task: Task) -> str:
        return prompts.AGENT_SYSTEM

    def first_message(
        self, opening: str, task: Task, example: str | None, memory: str | None
    ) -> str:
        return prompts.agent_first_message(opening, example, memory)

    def one_shot_example(self, task: Task) -> str | None:
        return None

    def tools(self) -> list[dict[str, Any]] | None:
        """OpenAI function-tool schemas offered to the model; None: text answers only."""
        return None

    def action_schema(self, task: Task, admissible: list[str] | None) -> dict[str, Any] | None:
        """JSON schema of one structured answer (`agent.constrained`); None: answer in text.

        Default: {"thought", "action"} with the action one of the env's admissible commands."""
        if not admissible:
            return None
        return answer_schema({"type": "string", "enum": list(dict.fromkeys(admissible))})

    def parse_structured(self, text: str) -> Action:
        """An answer to action_schema(): its JSON object, else (a provider that ignored the
        schema) the text parse."""
        answer = json_answer(text)
        if answer is None:
            return self.parse(text)
        action = answer.get("action")
        command = clean_command(action) if isinstance(action, str) else ""
        return Action(thought=str(answer.get("thought", "")).strip(), command=command or None)

    def parse(self, text: str) -> Action:
        """ReAct text: the last 'Action:' line, else a bare last line that looks like a command."""
        thought_match = _THINK_LINE.search(text)
        thought = thought_match.group("t").strip() if thought_match else ""
        actions = _ACTION_LINE.findall(text)
        if actions:
            return Action(thought=thought, command=clean_command(actions[-1]) or None)
        lines = [ln for ln in (line.strip() for line in text.strip().splitlines()) if ln]
        if lines and self.command_prefixes:
            candidate = clean_command(lines[-1])
            if candidate.lower().startswith(self.command_prefixes):
                return Action(thought=thought, command=candidate)
        return Action(thought=thought, command=None)

    def parse_tool_call(self, call: ToolCall, text: str) -> Action:
        """A tool call -> `name[arg, ...]` (TravelPlanner's action form); bad JSON: unparsable."""
        thought = self.parse(text).thought if text else ""
        if call.bad_arguments is not None or not call.name:
            return Action(thought=thought, command=None)
        args = ", ".join(str(v) for v in call.arguments.values())
        return Action(thought=thought or text.strip(), command=f"{call.name}[{args}]")

    def condense(self, trajectory: Trajectory) -> list[tuple[str, str]]:
        """(action, observation) pairs kept for trajectory memory: the valid steps."""
        return [
            (s.action.strip(), s.observation.strip())
            for s in trajectory.steps
            if s.valid and s.action.strip()
        ]

    def retrieval_key(self, task: Task) -> str:
        """The text embedded for query retrieval and stored as a procedure's task text."""
        return task.goal

    def memory_success(self, trajectory: Trajectory) -> bool:
        """The success signal memory validation and adjustment act on."""
        return trajectory.success


ReactLanguage = EnvLanguage  # the name the protocol document uses for the default base


class EnvSuite(Protocol):
    """What a registered environment provides: language, task lists and fresh episode worlds."""

    name: str
    settings_model: type[BaseModel] | None  # validates the `env.<name>` subsection
    language: EnvLanguage
    sim_policy: str | None  # a policy registered in pipeline.sim, or None

    def __init__(self, config: EnvConfig) -> None: ...

    def splits(self) -> list[str]: ...

    def split_size(self, split: str) -> int | None:
        """Tasks in the split; None when endless or unknown."""
        ...

    def tasks(self, split: str) -> Iterator[Task]:
        """Tasks of a split in a fixed order."""
        ...

    def make(self) -> Environment: ...


class UnknownEnvError(MempError, ValueError):
    pass


__all__ = [
    "ENGLISH_STOP_WORDS",
    "Action",
    "EnvLanguage",
    "EnvSuite",
    "Environment",
    "ReactLanguage",
    "StepResult",
    "ToolCall",
    "UnknownEnvError",
    "answer_schema",
    "clean_command",
    "json_answer",
]
