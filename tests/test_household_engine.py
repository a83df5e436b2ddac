"""Engine rules and feedback strings of the household world, in both grammar versions."""

from __future__ import annotations

import pytest

from pipeline.envs.household import HouseholdEnv
from pipeline.envs.household.goals import Goal
from pipeline.envs.household.scene import Layout, Scene

NOTHING = "Nothing happens."


def tiny_scene() -> Scene:
    """A hand-made kitchen: two mugs, an apple, a book, a desklamp on the sidetable."""
    names = (
        "countertop 1",
        "cabinet 1",
        "microwave 1",
        "fridge 1",
        "sinkbasin 1",
        "diningtable 1",
        "sidetable 1",
    )
    kinds = tuple(n.split()[0] for n in names)
    lay = Layout("kitchen", -1, names, kinds, (6, 3, 2, 5, 1, 4, 7), "desklamp 1", 6)
    return Scene(lay, ("apple 1", "mug 2", "mug 1", "book 1"), ("apple", "mug", "mug", "book"),
                 (0, 0, 1, 6))  # fmt: skip


def make_env(grammar: str = "2.1.2", goal: Goal | None = None) -> HouseholdEnv:
    env = HouseholdEnv(grammar)
    env.reset_scene(
        tiny_scene(), goal or Goal("pick_clean_then_place_in_recep", "mug", "diningtable")
    )
    return env


def obs(env: HouseholdEnv, command: str) -> str:
    return env.step(command).observation


def test_intro_text() -> None:
    env = HouseholdEnv()
    intro = env.reset_scene(tiny_scene(), Goal("pick_clean_then_place_in_recep", "mug", "cabinet"))
    assert intro == (
        "-= Welcome to TextWorld, ALFRED! =-\n\n"
        "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, "
        "a countertop 1, a diningtable 1, a fridge 1, a microwave 1, a sidetable 1, "
        "and a sinkbasin 1.\n\n"
        "Your task is to: put a clean mug in cabinet."
    )


@pytest.mark.parametrize(
    ("grammar", "arrive_counter", "arrive_cabinet"),
    [
        (
            "2.1.2",
            "You arrive at countertop 1. On the countertop 1, you see a apple 1, and a mug 2.",
            "You arrive at cabinet 1. The cabinet 1 is closed.",
        ),
        (
            "2.1.1",
            "You arrive at loc 6. On the countertop 1, you see a apple 1, and a mug 2.",
            "You arrive at loc 3. The cabinet 1 is closed.",
        ),
    ],
)
def test_arrival(grammar: str, arrive_counter: str, arrive_cabinet: str) -> None:
    env = make_env(grammar)
    assert obs(env, "go to countertop 1") == arrive_counter
    assert obs(env, "go to cabinet 1") == arrive_cabinet


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_open_close_take_and_inventory(grammar: str) -> None:
    env = make_env(grammar)
    obs(env, "go to cabinet 1")
    assert obs(env, "take mug 1 from cabinet 1") == NOTHING  # closed: take needs it open
    assert obs(env, "open cabinet 1") == (
        "You open the cabinet 1. The cabinet 1 is open. In it, you see a mug 1."
    )
    assert obs(env, "open cabinet 1") == NOTHING
    assert obs(env, "examine cabinet 1") == "The cabinet 1 is open. In it, you see a mug 1."
    assert obs(env, "inventory") == "You are not carrying anything."
    assert obs(env, "take mug 1 from cabinet 1") == "You pick up the mug 1 from the cabinet 1."
    assert obs(env, "inventory") == "You are carrying: a mug 1."
    assert obs(env, "examine cabinet 1") == "The cabinet 1 is open. In it, you see nothing."
    assert obs(env, "close cabinet 1") == "You close the cabinet 1."
    assert obs(env, "close cabinet 1") == NOTHING


def test_place_feedback_per_grammar() -> None:
    new = make_env("2.1.2")
    obs(new, "go to countertop 1")
    obs(new, "take mug 2 from countertop 1")
    obs(new, "go to diningtable 1")
    assert obs(new, "move mug 2 to diningtable 1") == "You move the mug 2 to the diningtable 1."
    obs(new, "take mug 2 from diningtable 1")
    assert obs(new, "put mug 2 on diningtable 1") == NOTHING  # 2.1.2 has no "put"

    old = make_env("2.1.1")
    obs(old, "go to countertop 1")
    obs(old, "take mug 2 from countertop 1")
    obs(old, "go to diningtable 1")
    assert obs(old, "move mug 2 to diningtable 1") == NOTHING  # 2.1.1 has no "move"
    assert obs(old, "put mug 2 in/on diningtable 1") == "You put the mug 2 in/on the diningtable 1."
    obs(old, "take mug 2 from diningtable 1")
    assert obs(old, "put mug 2 in diningtable 1") == NOTHING  # only the literal "in/on"
    assert obs(old, "put mug 2 in/on diningtable 1") == "You put the mug 2 in/on the diningtable 1."
    assert obs(old, "look") == "You are facing the diningtable 1. Next to it, you see nothing."


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_transformations_and_examine(grammar: str) -> None:
    env = make_env(grammar)
    obs(env, "go to countertop 1")
    assert obs(env, "examine mug 2") == NOTHING  # objects are examined only while held
    obs(env, "take mug 2 from countertop 1")
    assert obs(env, "examine mug 2") == "There's nothing special about mug 2."
    assert obs(env, "clean mug 2 with sinkbasin 1") == NOTHING  # not at the sinkbasin
    obs(env, "go to sinkbasin 1")
    assert obs(env, "clean mug 2 with sinkbasin 1") == "You clean the mug 2 using the sinkbasin 1."
    assert obs(env, "examine mug 2") == "This is a clean mug 2."
    obs(env, "go to microwave 1")
    assert obs(env, "cool mug 2 with microwave 1") == NOTHING  # wrong appliance
    assert obs(env, "heat mug 2 with microwave 1") == "You heat the mug 2 using the microwave 1."
    assert obs(env, "examine mug 2") == "This is a hot and clean mug 2."
    assert obs(env, "move mug 2 to microwave 1") == NOTHING  # put needs it open
    obs(env, "go to fridge 1")
    assert obs(env, "cool mug 2 with fridge 1") == "You cool the mug 2 using the fridge 1."
    assert obs(env, "examine mug 2") == "This is a cool and clean mug 2."


def test_cold_wording_and_cool_clears_hot() -> None:
    env = make_env()
    obs(env, "go to countertop 1")
    obs(env, "take apple 1 from countertop 1")
    obs(env, "go to microwave 1")
    obs(env, "heat apple 1 with microwave 1")
    assert obs(env, "examine apple 1") == "This is a hot apple 1."
    obs(env, "go to fridge 1")
    obs(env, "cool apple 1 with fridge 1")
    assert obs(env, "examine apple 1") == "This is a cold apple 1."


def test_one_object_in_hand() -> None:
    env = make_env()
    obs(env, "go to countertop 1")
    assert env.step("take mug 2 from countertop 1").valid
    result = env.step("take apple 1 from countertop 1")
    assert (result.observation, result.valid) == (NOTHING, False)
    assert "take apple 1 from countertop 1" not in env.admissible_commands()


def test_must_be_there_and_exact_match() -> None:
    env = make_env()
    assert obs(env, "take mug 2 from countertop 1") == NOTHING  # not at the countertop yet
    assert obs(env, "open cabinet 1") == NOTHING
    for bad in ("Go to countertop 1", "go to  countertop 1", "go to mug 2", "go countertop 1",
                "LOOK", "jump", "", "go to countertop", "look."):  # fmt: skip
        result = env.step(bad)
        assert (result.observation, result.valid) == (NOTHING, False), bad


def test_look_and_lamp() -> None:
    env = make_env()
    assert obs(env, "look") == (
        "You are in the middle of a room. Looking quickly around you, you see nothing."
    )
    assert obs(env, "use desklamp 1") == NOTHING  # not where the lamp is
    assert obs(env, "go to sidetable 1") == (
        "You arrive at sidetable 1. On the sidetable 1, you see a book 1, and a desklamp 1."
    )
    assert obs(env, "take desklamp 1 from sidetable 1") == NOTHING
    assert obs(env, "use desklamp 1") == "You turn on the desklamp 1."
    assert obs(env, "look") == "You are facing the sidetable 1. Next to it, you see nothing."


def test_floor_lamp_stands_in_a_receptacle() -> None:
    scene = tiny_scene()
    lay = Layout(**{**scene.layout.__dict__, "lamp": "floorlamp 1", "lamp_at": 5})
    env = HouseholdEnv()
    env.reset_scene(Scene(lay, scene.obj_names, scene.obj_kinds, scene.obj_start),
                    Goal("look_at_obj_in_light", "book", lamp="floorlamp"))  # fmt: skip
    assert obs(env, "go to diningtable 1").endswith("you see a floorlamp 1.")
    assert obs(env, "look") == "You are facing the diningtable 1. Next to it, you see nothing."
    assert obs(env, "use floorlamp 1") == "You turn on the floorlamp 1."


def test_put_respects_what_may_go_where() -> None:
    env = make_env()
    obs(env, "go to sidetable 1")
    obs(env, "take book 1 from sidetable 1")
    obs(env, "go to fridge 1")
    obs(env, "open fridge 1")
    assert obs(env, "move book 1 to fridge 1") == NOTHING  # a fridge does not hold books
    obs(env, "go to sinkbasin 1")
    assert obs(env, "clean book 1 with sinkbasin 1") == NOTHING  # books are not cleanable


@pytest.mark.parametrize("grammar", ["2.1.2", "2.1.1"])
def test_admissible_commands_are_exactly_the_valid_ones(grammar: str) -> None:
    env = make_env(grammar)
    script = ["go to cabinet 1", "open cabinet 1", "take mug 1 from cabinet 1", "go to microwave 1"]
    for command in [*script, "go to sidetable 1"]:
        admissible = env.admissible_commands()
        for option in admissible:
            assert env.clone().step(option).valid, option
        for probe in ("open microwave 1", "take apple 1 from countertop 1", "use desklamp 1",
                      "heat mug 1 with microwave 1", "move mug 1 to cabinet 1",
                      "put mug 1 in/on cabinet 1", "examine mug 1", "close cabinet 1"):  # fmt: skip
            listed = probe in admissible
            assert listed == env.clone().step(probe).valid, probe
        env.step(command)
