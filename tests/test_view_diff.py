"""Config diffs between runs and unified diffs between procedure versions."""

from __future__ import annotations

from pipeline.types import Procedure
from pipeline.view.diff import MISSING, config_diff, flatten, unified


def test_flatten_dots_nested_keys_and_keeps_lists_whole() -> None:
    tree = {"memory": {"top_k": 1, "discard": {"enabled": True}}, "tags": [1, 2], "empty": {}}
    assert flatten(tree) == {
        "memory.top_k": 1,
        "memory.discard.enabled": True,
        "tags": [1, 2],
        "empty": {},
    }


def test_config_diff_lists_only_keys_that_differ_in_run_order() -> None:
    a = {"memory": {"enabled": True, "top_k": 1}, "run": {"seed": 0}}
    b = {"memory": {"enabled": False, "top_k": 1}, "run": {"seed": 0}, "extra": {"x": "y"}}
    diff = config_diff({"a": a, "b": b, "broken": None})
    assert diff.runs == ["a", "b", "broken"]
    rows = dict(diff.rows)
    assert rows["memory.enabled"] == ["true", "false", MISSING]
    assert rows["extra.x"] == [MISSING, "y", MISSING]
    assert "memory.top_k" in rows  # absent from the broken run, so not the same everywhere
    same = config_diff({"a": a, "b": dict(a)})
    assert same.rows == [] and same.same == 3


def _proc(**change) -> Procedure:
    base = Procedure(
        id="p", namespace="n", task_text="put a mug in sink.", task_type="pick_and_place_simple",
        script="1. find the mug\n2. take it", trajectory=["> go to sink 1", "You arrive."],
        granularity="proceduralization", source_trajectory_ids=["t1"],
    )  # fmt: skip
    return base.model_copy(update=change)


def test_unified_diff_shows_changed_script_lines_and_sources() -> None:
    before = _proc()
    after = _proc(script="1. find the mug\n2. rinse it first\n3. take it", version=2,
                  source_trajectory_ids=["t1", "t2"])  # fmt: skip
    text = unified(before, after, "v1", "v2")
    lines = text.splitlines()
    assert lines[0] == "--- v1" and lines[1] == "+++ v2"
    assert "+  2. rinse it first" in lines
    assert "-  2. take it" in lines and "+  3. take it" in lines
    assert "-sources: t1" in lines and "+sources: t1, t2" in lines
    assert "   1. find the mug" in lines  # context is kept whole
    assert unified(before, before, "a", "b") == ""


def test_unified_diff_against_nothing_is_all_additions() -> None:
    text = unified(None, _proc(), "(nothing)", "v1").splitlines()
    body = [ln for ln in text[2:] if not ln.startswith("@@")]
    assert body and all(ln.startswith("+") for ln in body)
    assert "+task: put a mug in sink." in body
