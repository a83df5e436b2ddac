"""The agent role through real litellm: grammar, hand-made scenes, error rates, memory."""

from __future__ import annotations

import asyncio
import re

import litellm

from pipeline import prompts, sim
from pipeline.config import SimConfig
from pipeline.envs.household.language import agent_system
from pipeline.sim.goal import parse_goal
from pipeline.sim.memory_hints import hints_for

KITCHEN = (
    "cabinet 1",
    "cabinet 2",
    "cabinet 3",
    "countertop 1",
    "countertop 2",
    "drawer 1",
    "fridge 1",
    "microwave 1",
    "sinkbasin 1",
    "stoveburner 1",
    "toaster 1",
)
CLEAN = SimConfig(skill=1.0, skip_rate=0.0, invalid_rate=0.0, format_error_rate=0.0)
ACTION = re.compile(r"^Think: .+\nAction: (.+)$")


def opening(goal: str, receps: tuple[str, ...] = KITCHEN) -> str:
    listing = ", ".join(f"a {r}" for r in receps[:-1]) + f", and a {receps[-1]}"
    return (
        "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
        f"around you, you see {listing}.\n\nYour task is to: {goal}"
    )


class MiniWorld:
    """A hand-made kitchen: a few objects, closed cabinets, ALFWorld feedback strings."""

    def __init__(self, contents: dict[str, list[str]], grammar: str = "2.1.2") -> None:
        self.contents = contents
        self.closed = {
            r for r in KITCHEN if r.split()[0] in ("cabinet", "drawer", "fridge", "microwave")
        }
        self.at: str | None = None
        self.held: str | None = None
        self.states: dict[str, set[str]] = {}
        self.grammar = grammar

    def _listing(self, r: str) -> str:
        items = self.contents.get(r, [])
        if not items:
            return "nothing"
        if len(items) == 1:
            return f"a {items[0]}"
        return ", ".join(f"a {o}" for o in items[:-1]) + f", and a {items[-1]}"

    def step(self, cmd: str) -> str:
        m = re.fullmatch(r"go to (\w+ \d+)", cmd)
        if m and m.group(1) in KITCHEN and m.group(1) != self.at:
            self.at = r = m.group(1)
            if r in self.closed:
                return f"You arrive at {r}. The {r} is closed."
            return f"You arrive at {r}. On the {r}, you see {self._listing(r)}."
        m = re.fullmatch(r"open (\w+ \d+)", cmd)
        if m and m.group(1) == self.at and self.at in self.closed:
            self.closed.discard(self.at)
            r = self.at
            return f"You open the {r}. The {r} is open. In it, you see {self._listing(r)}."
        m = re.fullmatch(r"take (\w+ \d+) from (\w+ \d+)", cmd)
        here = self.contents.get(self.at or "", [])
        free = self.held is None and self.at not in self.closed
        if m and m.group(2) == self.at and m.group(1) in here and free:
            self.held = m.group(1)
            self.contents[self.at].remove(self.held)
            return f"You pick up the {self.held} from the {self.at}."
        m = re.fullmatch(r"(clean|heat|cool) (\w+ \d+) with (\w+ \d+)", cmd)
        right = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}
        if m and m.group(2) == self.held and m.group(3) == self.at:  # noqa: SIM102
            if self.at.startswith(right[m.group(1)]):
                self.states.setdefault(self.held, set()).add(m.group(1))
                return f"You {m.group(1)} the {self.held} using the {self.at}."
        pattern = r"move (\w+ \d+) to (\w+ \d+)"
        if self.grammar == "2.1.1":
            pattern = r"put (\w+ \d+) in/on (\w+ \d+)"
        m = re.fullmatch(pattern, cmd)
        if m and m.group(1) == self.held and m.group(2) == self.at and self.at not in self.closed:
            self.contents.setdefault(self.at, []).append(self.held)
            self.held = None
            verb = "move" if self.grammar == "2.1.2" else "put"
            prep = "to" if self.grammar == "2.1.2" else "in/on"
            return f"You {verb} the {m.group(1)} {prep} the {self.at}."
        return "Nothing happens."


def first_turn(
    goal: str, memory: str | None = None, grammar: str = "2.1.2"
) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": agent_system(grammar)},
        {"role": "user", "content": prompts.agent_first_message(opening(goal), None, memory)},
    ]


async def aask(messages: list[dict[str, str]], cfg: SimConfig, seed: int = 0) -> str:
    sim.register(cfg)
    kw = sim.call_kwargs(cfg, seed)
    r = await litellm.acompletion(model="sim/household", messages=messages, **kw)
    return r.choices[0].message.content


def ask_many(messages: list[dict[str, str]], cfg: SimConfig, seeds: range) -> list[str]:
    """One event loop for many calls (litellm's logging worker dislikes a loop per call)."""

    async def run() -> list[str]:
        return list(await asyncio.gather(*(aask(messages, cfg, s) for s in seeds)))

    return asyncio.run(run())


def play(world: MiniWorld, goal: str, cfg: SimConfig, done, seed: int = 0, memory=None, limit=40):
    """Drive the sim against the mini world; returns the list of commands sent."""
    return asyncio.run(_play(world, goal, cfg, done, seed, memory, limit))


async def _play(world, goal, cfg, done, seed, memory, limit) -> list[str]:
    msgs = first_turn(goal, memory, world.grammar)
    sent: list[str] = []
    for _ in range(limit):
        text = await aask(msgs, cfg, seed)
        m = ACTION.match(text)
        assert m, text
        cmd = m.group(1)
        sent.append(cmd)
        obs = world.step(cmd)
        if done(world):
            return sent
        msgs += [
            {"role": "assistant", "content": text},
            {"role": "user", "content": "Observation: " + obs},
        ]
    return sent


def test_solves_clean_task_by_hand_scene():
    world = MiniWorld({"countertop 2": ["apple 1", "mug 1"], "cabinet 1": ["plate 1"]})

    def done(w: MiniWorld) -> bool:
        return any(
            "mug 1" in w.contents.get(r, []) and "clean" in w.states.get("mug 1", ())
            for r in KITCHEN[:3]
        )

    sent = play(world, "put a clean mug in cabinet.", CLEAN, done)
    assert done(world), sent
    assert "take mug 1 from countertop 2" in sent
    assert "clean mug 1 with sinkbasin 1" in sent
    assert sent[-1].startswith("move mug 1 to cabinet ")
    assert not any(re.search(r"\b(mug|cabinet|countertop)\b(?! \d)", c) for c in sent)


def test_grammar_2_1_1_uses_put_in_on():
    world = MiniWorld({"drawer 1": ["apple 1"]}, grammar="2.1.1")

    def done(w: MiniWorld) -> bool:
        return "apple 1" in w.contents.get("countertop 1", []) + w.contents.get("countertop 2", [])

    sent = play(world, "put some apple on countertop.", CLEAN, done)
    assert done(world), sent
    assert sent[-1].startswith("put apple 1 in/on countertop ")
    assert not any(c.startswith("move ") for c in sent)


def test_format_and_invalid_rates_roughly_as_configured():
    cfg = SimConfig(format_error_rate=0.2, invalid_rate=0.3, skill=1.0)
    msgs = first_turn("put a clean mug in cabinet.")
    no_action = malformed = 0
    n = 300
    for text in ask_many(msgs, cfg, range(n)):
        m = ACTION.match(text)
        if "Action:" not in text:
            no_action += 1
        elif m and not re.fullmatch(r"go to \w+ \d+", m.group(1)):
            malformed += 1
    assert 0.12 < no_action / n < 0.28
    assert 0.18 < malformed / (n - no_action) < 0.42


def test_memory_trajectory_sends_it_to_the_named_place_first():
    memory = prompts.render_procedure(
        1,
        "put a mug in coffeemachine.",
        None,
        [
            "> go to cabinet 2",
            "You arrive at cabinet 2. The cabinet 2 is closed.",
            "> open cabinet 2",
            "You open the cabinet 2. The cabinet 2 is open. In it, you see a mug 3.",
            "> take mug 3 from cabinet 2",
            "You pick up the mug 3 from the cabinet 2.",
        ],
    )
    cfg = CLEAN.model_copy(update={"memory_trust": 1.0})
    goal = "put a clean mug in cabinet."
    firsts = {ACTION.match(t).group(1) for t in ask_many(first_turn(goal, memory), cfg, range(8))}
    assert firsts == {"go to cabinet 2"}
    without = {ACTION.match(t).group(1) for t in ask_many(first_turn(goal), cfg, range(8))}
    assert len(without) > 1


def test_memory_about_another_object_gives_no_location_hint():
    memory = (
        "Procedure 1 (from the task: put a apple in fridge.)\n"
        "Trajectory:\n> take apple 1 from countertop 2\n"
    )
    hints = hints_for(memory, parse_goal("put a clean mug in cabinet."), KITCHEN)
    assert hints.exact == () and hints.kinds == ()
    same = memory.replace("apple", "mug")
    hints = hints_for(same, parse_goal("put a clean mug in cabinet."), KITCHEN)
    assert hints.exact == ("countertop 2",) and hints.kinds[0] == "countertop"


def test_wrong_appliance_script_misleads_a_trusting_sim():
    script = (
        "1. Look for a mug at the countertop.\n2. Take the mug.\n"
        "3. Go to the microwave and heat the mug with the microwave.\n"
        "4. Put the mug in the cabinet."
    )
    memory = prompts.render_procedure(1, "heat some mug and put it in cabinet.", script, [])
    world = MiniWorld({"countertop 1": ["mug 1"]})

    def done(w: MiniWorld) -> bool:
        return "cool" in w.states.get("mug 1", ())

    cfg = CLEAN.model_copy(update={"memory_trust": 1.0})
    sent = play(world, "put a cool mug in cabinet.", cfg, done, memory=memory)
    assert "cool mug 1 with microwave 1" in sent  # followed the wrong appliance first ...
    assert sent[-1] == "cool mug 1 with fridge 1"  # ... then learned from "Nothing happens."
    assert sent.index("cool mug 1 with microwave 1") < sent.index("cool mug 1 with fridge 1")


def test_example_scene_does_not_leak_into_belief():
    example = (
        "You are in the middle of a room. Looking quickly around you, you see a shelf 7.\n\n"
        "Your task is to: put a mug in shelf.\n> go to shelf 7\n"
        "You arrive at shelf 7. On the shelf 7, you see a mug 9."
    )
    msgs = [
        {"role": "system", "content": agent_system("2.1.2")},
        {
            "role": "user",
            "content": prompts.agent_first_message(
                opening("put a clean mug in cabinet."), example, None
            ),
        },
    ]
    for text in ask_many(msgs, CLEAN, range(6)):
        assert "shelf" not in text and "mug 9" not in text


async def _play_env(env, intro: str, cfg: SimConfig, seed: int, limit: int = 40):
    """Drive the sim against a real household env; (won, commands sent)."""
    msgs = [
        {"role": "system", "content": agent_system("2.1.2")},
        {"role": "user", "content": prompts.agent_first_message(intro, None, None)},
    ]
    sent: list[str] = []
    for _ in range(limit):
        text = await aask(msgs, cfg, seed)
        cmd = ACTION.match(text).group(1)
        sent.append(cmd)
        result = env.step(cmd)
        if result.done:
            return True, sent
        msgs += [
            {"role": "assistant", "content": text},
            {"role": "user", "content": "Observation: " + result.observation},
        ]
    return False, sent


def _play_seeds(goal, seeds: range) -> list[tuple[bool, list[str]]]:
    """Episodes of the shared-spot scene, one per seed, overlapped in one event loop."""
    from pipeline.envs.household import HouseholdEnv

    async def run() -> list[tuple[bool, list[str]]]:
        games = []
        for seed in seeds:
            env = HouseholdEnv()
            games.append(_play_env(env, env.reset_scene(_shared_spot_scene(), goal), CLEAN, seed))
        return list(await asyncio.gather(*games))

    return asyncio.run(run())


def _shared_spot_scene():
    from pipeline.envs.household.scene import Layout, Scene

    names = ("countertop 1", "cabinet 1", "cabinet 2", "drawer 1", "sidetable 1", "dresser 1")
    kinds = tuple(n.split()[0] for n in names)
    # cabinet 2 stands where countertop 1 does; the floorlamp stands in the dresser's contents.
    lay = Layout("bedroom", -1, names, kinds, (3, 1, 3, 2, 5, 4), "floorlamp 1", 5)
    return Scene(lay, ("mug 1", "book 1"), ("mug", "book"), (2, 0))


def test_finds_an_object_in_a_receptacle_sharing_the_spot():
    from pipeline.envs.household.goals import Goal

    for won, sent in _play_seeds(Goal("pick_and_place_simple", "mug", "sidetable"), range(8)):
        assert won, sent
        assert sent.count("go to cabinet 2") <= 2, sent  # learns the spot is shared


def test_uses_a_floorlamp_listed_among_contents():
    from pipeline.envs.household.goals import Goal

    goal = Goal("look_at_obj_in_light", "book", lamp="floorlamp")
    for won, sent in _play_seeds(goal, range(4)):
        assert won, sent
        assert "use floorlamp 1" in sent
