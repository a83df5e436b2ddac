"""Success conditions of the six task types, and the goal-line parser."""

from __future__ import annotations

import pytest

from pipeline.envs.household import HouseholdEnv
from pipeline.envs.household.catalog import TASK_TYPES
from pipeline.envs.household.goals import TEMPLATES, Goal, parse_goal
from tests.test_household_engine import tiny_scene


def play(goal: Goal, commands: list[str]) -> list[bool]:
    """Run commands from a fresh tiny scene; return `done` after each (asserting each is valid)."""
    env = HouseholdEnv()
    env.reset_scene(tiny_scene(), goal)
    done = []
    for command in commands:
        result = env.step(command)
        assert result.valid, command
        assert result.done == result.success
        done.append(result.done)
    return done


FETCH_MUG = ["go to countertop 1", "take mug 2 from countertop 1"]
PLACE_ON_TABLE = ["go to diningtable 1", "move mug 2 to diningtable 1"]


def test_pick_and_place_simple() -> None:
    goal = Goal("pick_and_place_simple", "mug", "diningtable")
    assert play(goal, FETCH_MUG + PLACE_ON_TABLE) == [False, False, False, True]
    wrong_place = ["go to sinkbasin 1", "move mug 2 to sinkbasin 1"]
    assert not any(play(goal, FETCH_MUG + wrong_place))


def test_clean_needs_a_clean_object() -> None:
    goal = Goal("pick_clean_then_place_in_recep", "mug", "diningtable")
    assert not any(play(goal, FETCH_MUG + PLACE_ON_TABLE))  # unclean mug placed: no win
    clean = ["go to sinkbasin 1", "clean mug 2 with sinkbasin 1"]
    assert play(goal, FETCH_MUG + clean + PLACE_ON_TABLE)[-1]


def test_heat_and_cool_need_their_own_state() -> None:
    heat = Goal("pick_heat_then_place_in_recep", "mug", "diningtable")
    cool = Goal("pick_cool_then_place_in_recep", "mug", "diningtable")
    heated = [*FETCH_MUG, "go to microwave 1", "heat mug 2 with microwave 1", *PLACE_ON_TABLE]
    cooled = [*FETCH_MUG, "go to fridge 1", "cool mug 2 with fridge 1", *PLACE_ON_TABLE]
    assert play(heat, heated)[-1] and not any(play(heat, cooled))
    assert play(cool, cooled)[-1] and not any(play(cool, heated))


def test_wrong_appliance_does_nothing() -> None:
    env = HouseholdEnv()
    env.reset_scene(tiny_scene(), Goal("pick_heat_then_place_in_recep", "mug", "diningtable"))
    for command in [*FETCH_MUG, "go to fridge 1"]:
        env.step(command)
    result = env.step("heat mug 2 with fridge 1")
    assert (result.observation, result.valid, result.done) == ("Nothing happens.", False, False)
    assert env.step("examine mug 2").observation == "There's nothing special about mug 2."


def test_pick_two_needs_two_distinct_objects() -> None:
    goal = Goal("pick_two_obj_and_place", "mug", "diningtable")
    first = FETCH_MUG + PLACE_ON_TABLE
    again = ["take mug 2 from diningtable 1", "move mug 2 to diningtable 1"]
    second = ["go to cabinet 1", "open cabinet 1", "take mug 1 from cabinet 1",
              "go to diningtable 1", "move mug 1 to diningtable 1"]  # fmt: skip
    assert not any(play(goal, first + again))
    assert play(goal, first + second)[-1]


def test_look_in_light() -> None:
    goal = Goal("look_at_obj_in_light", "book", lamp="desklamp")
    take = ["go to sidetable 1", "take book 1 from sidetable 1"]
    assert play(goal, [*take, "use desklamp 1"]) == [False, False, True]
    assert play(goal, ["go to sidetable 1", "use desklamp 1", "take book 1 from sidetable 1"])[-1]
    assert not any(play(goal, ["go to sidetable 1", "use desklamp 1"]))  # not holding the book
    walked_away = ["go to sidetable 1", "use desklamp 1", "take book 1 from sidetable 1"]
    assert play(goal, [*walked_away, "go to countertop 1"])[-1] is False
    wrong_obj = Goal("look_at_obj_in_light", "mug", lamp="desklamp")
    assert not any(play(wrong_obj, [*take, "use desklamp 1"]))


@pytest.mark.parametrize("task_type", TASK_TYPES)
@pytest.mark.parametrize("variant", [0, 1])
def test_goal_lines_round_trip(task_type: str, variant: int) -> None:
    goal = (
        Goal(task_type, "keychain", lamp="floorlamp", variant=variant)
        if task_type == "look_at_obj_in_light"
        else Goal(task_type, "mug", "coffeemachine", variant=variant)
    )
    assert goal.text() in TEMPLATES[task_type][variant].format(
        obj=goal.obj, recep=goal.recep, lamp=goal.lamp
    )
    assert parse_goal(goal.text()) == goal


def test_goal_phrasings() -> None:
    assert Goal("pick_and_place_simple", "mug", "cabinet").text() == "put a mug in cabinet."
    assert Goal("pick_two_obj_and_place", "cd", "safe", variant=1).text() == (
        "find two cd and put them in safe."
    )
    assert Goal("look_at_obj_in_light", "cd", lamp="desklamp").text() == (
        "look at cd under the desklamp."
    )
    assert parse_goal("put a clean mug") is None
