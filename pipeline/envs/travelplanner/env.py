"""One TravelPlanner episode: tools over the sandbox until a plan is delivered and scored.

two-stage: the agent searches and notes; Planner[Query] hands back the Notebook with the planner's
brief and the next answer is the plan. sole-planning: the opening carries the reference
information and the answer is the plan. Any plan answer (`Finish[...]`) ends the episode.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.envs.base import StepResult
from pipeline.envs.travelplanner import prompts
from pipeline.envs.travelplanner.database import Database
from pipeline.envs.travelplanner.language import FINISH, plan_text
from pipeline.envs.travelplanner.reference import reference_information
from pipeline.envs.travelplanner.schema import Query
from pipeline.envs.travelplanner.tools import Toolbox, parse_action
from pipeline.types import Task

Evaluator = Callable[[Query, str, Database], dict[str, float]]
SOLE_NO_TOOLS = "Tools are not available in sole-planning mode: write the plan, starting 'Day 1:'."
DELIVERED = "The plan has been delivered; the episode is over."


def official_evaluator() -> Evaluator:
    """tpeval's evaluation of a plan (imported when first needed)."""
    from pipeline.envs.travelplanner.evaluate import evaluate_plan

    return evaluate_plan


class TravelPlannerEnv:
    def __init__(self, db: Database, mode: str, evaluator: Evaluator | None = None) -> None:
        self.db = db
        self.mode = mode
        self._evaluator = evaluator
        self.query: Query | None = None
        self.toolbox = Toolbox(db)
        self.done = False
        self.plan: str | None = None
        self.last_scores: dict[str, float] = {}

    def reset(self, task: Task) -> str:
        self.query = Query.model_validate(task.spec["query"])
        self.toolbox = Toolbox(self.db)
        self.done, self.plan = False, None
        if self.mode == "sole-planning":
            info = reference_information(self.query, self.db)
            return prompts.planner_message(info, self.query.query)
        return f"Query: {self.query.query}"

    def admissible_commands(self) -> list[str] | None:
        return None

    def step(self, command: str) -> StepResult:
        if self.query is None:
            raise RuntimeError("reset() before step()")
        if self.done:
            return StepResult(observation=DELIVERED, done=True, success=False, valid=False)
        parsed = parse_action(command)
        if parsed and parsed[0] == FINISH:
            return self._deliver(parsed[1])
        if parsed and parsed[0] == "Planner" and plan_text(parsed[1]):
            return self._deliver(plan_text(parsed[1]) or "")
        if self.mode == "sole-planning":
            return StepResult(observation=SOLE_NO_TOOLS, done=False, success=False, valid=False)
        result = self.toolbox.run(command)
        if result.planner_query is not None:
            brief = prompts.planner_observation(self.toolbox.notebook.render(), self.query.query)
            return StepResult(observation=brief, done=False, success=False, valid=True)
        return StepResult(observation=result.observation, done=False, success=False,
                          valid=result.valid)  # fmt: skip

    def _deliver(self, text: str) -> StepResult:
        assert self.query is not None
        evaluator = self._evaluator or official_evaluator()
        self.plan = text.strip()
        scores = {k: float(v) for k, v in evaluator(self.query, self.plan, self.db).items()}
        self.last_scores = scores
        self.done = True
        success = scores.get("final_pass", 0.0) >= 1.0
        verdict = "passes every constraint" if success else "does not pass every constraint"
        return StepResult(observation=f"Plan delivered; it {verdict}.", done=True,
                          success=success, valid=True, scores=scores)  # fmt: skip
