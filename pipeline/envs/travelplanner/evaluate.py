"""TravelPlanner's evaluation: per-episode constraint scores and the run-level pass rates.

Definitions follow the official evaluation (evaluation/eval.py): commonsense micro = commonsense
constraints passed / (8 x plans), hard micro = hard constraints passed / hard constraints the
queries carry (budget always, each set local constraint), macro = plans passing every constraint of
the kind / plans, final pass = plans passing both. A plan that is not delivered fails everything;
hard constraints are checked only for a delivered plan that is complete and within the sandbox.
"""

from __future__ import annotations

from pipeline.envs.travelplanner import hard
from pipeline.envs.travelplanner.commonsense import CHECKS, COMMONSENSE
from pipeline.envs.travelplanner.plan import parse_plan
from pipeline.envs.travelplanner.sandbox import SandboxLookups, resolve
from pipeline.envs.travelplanner.schema import Query

HARD = hard.HARD
CS_PREFIX = "cs_"
HC_PREFIX = "hc_"
# Per-episode bookkeeping keys beyond the rates: whether the hard checks ran, how many apply.
HARD_CHECKED = "hard_checked"
HARD_COUNT = "hard_count"


def evaluate_plan(query: Query, plan_text: str | None, db: SandboxLookups) -> dict[str, float]:
    """Scores of one answer: delivery, micro/macro rates, final pass and one key per constraint.

    Constraint keys hold 1.0 (pass) or 0.0 (fail, or not checked: an undelivered plan, or a hard
    constraint skipped because the plan is incomplete or outside the sandbox); a hard constraint
    the query does not carry has no key.
    """
    carried = hard.applicable(query)
    plan = parse_plan(plan_text)
    cs = dict.fromkeys(COMMONSENSE, False)
    hc = dict.fromkeys(carried, False)
    checked = False
    if plan is not None:
        views = resolve(plan, query, db)
        cs = {name: CHECKS[name](query, views, db) for name in COMMONSENSE}
        checked = cs["complete_information"] and cs["within_sandbox"]
        if checked:
            hc = {name: hard.check(name, query, views) for name in carried}
    cs_macro = plan is not None and all(cs.values())
    hc_macro = checked and all(hc.values())
    scores = {
        "delivered": float(plan is not None),
        "commonsense_micro": sum(cs.values()) / len(COMMONSENSE),
        "commonsense_macro": float(cs_macro),
        "hard_micro": sum(hc.values()) / len(carried),
        "hard_macro": float(hc_macro),
        "final_pass": float(cs_macro and hc_macro),
        HARD_CHECKED: float(checked),
        HARD_COUNT: float(len(carried)),
    }
    scores |= {CS_PREFIX + k: float(v) for k, v in cs.items()}
    scores |= {HC_PREFIX + k: float(v) for k, v in hc.items()}
    return scores


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def aggregate(per_episode: list[dict[str, float]]) -> dict[str, float]:
    """Run figures as the official eval computes them, plus each constraint's pass rate.

    Per-constraint rates are over the plans whose query carries the constraint (the official
    per-constraint denominators).
    """
    n = len(per_episode)
    hard_total = sum(e.get(HARD_COUNT, 0.0) for e in per_episode)
    hard_passed = sum(e.get("hard_micro", 0.0) * e.get(HARD_COUNT, 0.0) for e in per_episode)
    out = {
        "episodes": float(n),
        "delivery_rate": _mean([e.get("delivered", 0.0) for e in per_episode]),
        "commonsense_micro": _mean([e.get("commonsense_micro", 0.0) for e in per_episode]),
        "commonsense_macro": _mean([e.get("commonsense_macro", 0.0) for e in per_episode]),
        "hard_micro": hard_passed / hard_total if hard_total else 0.0,
        "hard_macro": _mean([e.get("hard_macro", 0.0) for e in per_episode]),
        "final_pass_rate": _mean([e.get("final_pass", 0.0) for e in per_episode]),
    }
    for key in [CS_PREFIX + k for k in COMMONSENSE] + [HC_PREFIX + k for k in HARD]:
        values = [e[key] for e in per_episode if key in e]
        if values:
            out[key] = _mean(values)
    return out
