"""How TravelPlanner talks to models: prompts per mode, ReAct and tool-call parsing, plan answers.

A plan answer (text with 'Day 1:' and 'Current City:') becomes the canonical command
`Finish[<plan>]`; tool actions stay `Tool[args]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pipeline.envs.base import Action, EnvLanguage, answer_schema, json_answer
from pipeline.envs.travelplanner import prompts
from pipeline.envs.travelplanner.tools import TOOL_SIGNATURES, argument_order, function_tools
from pipeline.types import Task, ToolCall, Trajectory

FINISH = "Finish"
_PLAN_START = re.compile(r"(?:\*\*)?\s*Day\s*1\s*(?:\*\*)?\s*:", re.I)
# Labels as models write them: "Action:", "Action 3:", "**Action:**", "action ："
_LABEL = r"^\s*(?:\*\*)?\s*{}(?:\s*\d+)?\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*"
_ACTION = re.compile(_LABEL.format("action") + r"(.+?)\s*$", re.I | re.M)
_THOUGHT = re.compile(_LABEL.format("(?:thought|think)") + r"(.*)$", re.I | re.M)
_TOOL_CALL = re.compile(r"^(\w+)\s*\[(.*)\]$", re.S)
_CONDENSED_ROWS = 3  # table rows kept per observation in trajectory memory


def plan_text(text: str) -> str | None:
    """The plan inside an answer: from 'Day 1:' on, without a wrapping Finish[...]/Planner[...]."""
    m = _PLAN_START.search(text)
    if m is None or "current city" not in text[m.start() :].lower():
        return None
    plan = text[m.start() :].strip()
    plan = (
        re.sub(r"\]\s*(?:```)?\s*$", "", plan)
        if re.search(r"\w\[\s*$", text[: m.start()])
        else plan
    )
    return plan.strip().strip("`").strip() or None


class TravelPlannerLanguage(EnvLanguage):
    """EnvLanguage for TravelPlanner; `mode` picks the two-stage or sole-planning wording."""

    format_hint = prompts.FORMAT_HINT
    script_system = prompts.SCRIPT_SYSTEM
    adjust_system = prompts.ADJUST_SYSTEM
    keywords_system = prompts.KEYWORDS_SYSTEM
    command_prefixes: ClassVar[tuple[str, ...]] = tuple(TOOL_SIGNATURES)
    # The paper's columns; every per-constraint rate stays in summary.json.
    headline_scores: ClassVar[dict[str, str]] = {
        "delivered": "delivery", "commonsense_micro": "#CS micro", "commonsense_macro": "#CS macro",
        "hard_micro": "#HC micro", "hard_macro": "#HC macro", "final_pass": "final pass",
    }  # fmt: skip

    def __init__(
        self,
        mode: str = "two-stage",
        example: Callable[[], str | None] | None = None,
        success: Callable[[Trajectory], bool] | None = None,
    ) -> None:
        self.mode = mode
        self._example = example
        self._success = success

    # prompts
    def system_prompt(self, task: Task) -> str:
        return prompts.GATHER_SYSTEM if self.mode == "two-stage" else prompts.SOLE_SYSTEM

    def one_shot_example(self, task: Task) -> str | None:
        """A solved example plan (sole-planning; two-stage shows it in the Planner's brief)."""
        if self.mode != "sole-planning" or self._example is None:
            return None
        return self._example()

    def tools(self) -> list[dict[str, Any]] | None:
        return function_tools() if self.mode == "two-stage" else None

    def action_schema(self, task: Task, admissible: list[str] | None) -> dict[str, Any] | None:
        """Two-stage: one tool call, {"tool": name, "arguments": {...}}, in the tools' shapes."""
        if self.mode != "two-stage":
            return None  # sole-planning answers with a free-text plan
        shapes = [
            {
                "type": "object",
                "properties": {
                    "tool": {"const": tool["function"]["name"]},
                    "arguments": {**tool["function"]["parameters"], "additionalProperties": False},
                },
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
            for tool in function_tools()
        ]
        return answer_schema({"anyOf": shapes})

    def parse_structured(self, text: str) -> Action:
        answer = json_answer(text)
        action = answer.get("action") if answer is not None else None
        if not isinstance(action, dict):
            return self.parse(text)
        arguments = action.get("arguments")
        call = ToolCall(
            name=str(action.get("tool") or ""),
            arguments=arguments if isinstance(arguments, dict) else {},
            bad_arguments=None if isinstance(arguments, dict) else str(arguments),
        )
        return self.parse_tool_call(call, str(answer.get("thought", "")))

    # parsing
    def parse(self, text: str) -> Action:
        thought_m = _THOUGHT.search(text)
        thought = thought_m.group(1).strip() if thought_m else ""
        actions = [a.strip().strip("`").strip() for a in _ACTION.findall(text)]
        tool = next((a for a in reversed(actions) if _tool_name(a) in TOOL_SIGNATURES), None)
        plan = plan_text(text)
        if plan is not None and (tool is None or _tool_name(tool) == "Planner"):
            return Action(thought=thought, command=f"{FINISH}[{plan}]")
        if tool is not None:
            return Action(thought=thought, command=tool.rstrip("."))
        last = next((ln.strip() for ln in reversed(text.strip().splitlines()) if ln.strip()), "")
        if _tool_name(last) in TOOL_SIGNATURES:
            return Action(thought=thought, command=last.rstrip("."))
        if actions and _TOOL_CALL.match(actions[-1]):
            return Action(
                thought=thought, command=actions[-1]
            )  # unknown tool: the env answers Invalid Action
        return Action(thought=thought, command=None)

    def parse_tool_call(self, call: ToolCall, text: str) -> Action:
        """Arguments in the text form's order, whatever order the model sent them in."""
        thought = self.parse(text).thought if text else ""
        if call.bad_arguments is not None or not call.name:
            return Action(thought=thought, command=None)
        args = dict(call.arguments)
        ordered = [args.pop(k) for k in argument_order(call.name) if k in args]
        values = [str(v) for v in [*ordered, *args.values()]]
        return Action(thought=thought or text.strip(), command=f"{call.name}[{', '.join(values)}]")

    # memory
    def condense(self, trajectory: Trajectory) -> list[tuple[str, str]]:
        """Valid steps, tables cut to their header and first rows (the notebook keeps them all)."""
        out = []
        for s in trajectory.steps:
            if not (s.valid and s.action.strip()):
                continue
            lines = s.observation.strip().splitlines()
            obs = "\n".join(lines[: 1 + _CONDENSED_ROWS])
            if len(lines) > 1 + _CONDENSED_ROWS:
                obs += f"\n... ({len(lines) - 1} rows)"
            out.append((s.action.strip(), obs))
        return out

    def memory_success(self, trajectory: Trajectory) -> bool:
        return self._success(trajectory) if self._success else trajectory.success


def _tool_name(command: str) -> str | None:
    m = _TOOL_CALL.match(command.strip())
    return m.group(1) if m else None
