"""Env registry and config: names, targets, entry points, duplicates, subsections, sim policies,
and the generic layers free of household words."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline import envs
from pipeline.config import ConfigError, EnvConfig
from pipeline.config_load import load_config
from pipeline.envs import DuplicateEnvError, UnknownEnvError, get_suite, register, suite_class
from tests.toy_env import ToySuite

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
TOY = "tests.toy_env:ToySuite"


def test_names_targets_and_unknown() -> None:
    assert suite_class("household").__name__ == "HouseholdSuite"
    assert suite_class(TOY) is ToySuite
    with pytest.raises(
        UnknownEnvError, match="unknown env 'nope'; registered: alfworld, household, travelplanner"
    ):
        suite_class("nope")
    with pytest.raises(UnknownEnvError, match=r"cannot import 'tests\.no_such'"):
        suite_class("tests.no_such:Suite")
    with pytest.raises(UnknownEnvError, match="has no 'Nope'"):
        suite_class("tests.toy_env:Nope")


def test_register_rejects_duplicates(monkeypatch) -> None:
    monkeypatch.setattr(envs, "_REGISTRY", {})
    monkeypatch.setattr(envs, "_LOADED", {})
    register("toy", TOY)
    assert "toy" in envs.registered()
    assert get_suite(EnvConfig(name="toy", split="train")).name == "toy"
    with pytest.raises(DuplicateEnvError, match="'toy' is already registered"):
        register("toy", ToySuite)
    with pytest.raises(DuplicateEnvError, match="'household' is already registered"):
        register("household", ToySuite)


def _with_entry_point(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a Python that sees an installed distribution declaring a memp.envs entry."""
    dist = tmp_path / "toyplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[memp.envs]\n{name} = {TOY}\n")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_entry_point_env(tmp_path: Path) -> None:
    proc = _with_entry_point(tmp_path, "lock", """
        from pipeline.config_load import load_config
        from pipeline.envs import get_suite, registered
        cfg = load_config(None, ["env.name=lock", "env.split=test", "agent.model=sim/toy"])
        suite = get_suite(cfg.env)
        print(registered(), suite.name, suite.split_size("test"))
    """)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "['alfworld', 'household', 'lock', 'travelplanner'] toy 10"


def test_entry_point_shadowing_a_builtin_is_an_error(tmp_path: Path) -> None:
    proc = _with_entry_point(tmp_path, "household", """
        from pipeline.envs import registered
        registered()
    """)  # fmt: skip
    assert proc.returncode != 0
    assert "env 'household' is registered twice" in proc.stderr


def test_importing_the_registry_imports_no_env() -> None:
    code = (
        "import sys, pipeline.envs; "
        "print([m for m in sys.modules if 'household' in m or 'travelplanner' in m])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["env.grammar=2.1.1"],
         "config key 'env.grammar' moved to 'env.household.grammar' "
         "(e.g. --set env.household.grammar=2.1.1)"),
        (["env.household.grammar=3.0"],
         "bad value for 'env.household.grammar': Input should be '2.1.2' or '2.1.1'; got 3.0"),
        (["env.household.nope=1"],
         "unknown config key 'env.household.nope'; allowed here: grammar"),
        (["env.alfworld.grammar=2.1.1"],
         "unknown config key 'env.alfworld'; allowed here: max_tasks, name, split, step_limit, "
         "tasks_file, household"),
        ([f"env.name={TOY}", "env.toy.digits=1"], "bad value for 'env.toy.digits'"),
        ([f"env.name={TOY}"],
         "agent.model 'sim/household': sim policy 'household' does not play env 'toy'; "
         "use 'sim/toy'"),
        ([f"env.name={TOY}", "agent.model=sim/toy", "sim.toy.text_every=x"],
         "bad value for 'sim.toy.text_every'"),
        (["sim.nope.x=1"], "unknown config key 'sim.nope'"),
        (["agent.model=sim/none"], "no sim policy 'none' is registered; env 'household' is "
                                   "played by 'sim/household'"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_env_subsections_reach_the_suite() -> None:
    suite = get_suite(load_config(None, ["env.household.grammar=2.1.1"]).env)
    task = next(iter(suite.tasks("train")))
    assert "put {obj} in/on {recep}" in suite.language.system_prompt(task)
    toy = load_config(None, [f"env.name={TOY}", "env.toy.digits=4", "agent.model=sim/toy"])
    assert get_suite(toy.env).make().admissible_commands() == [f"try {d}" for d in range(4)]


class NoSim(ToySuite):
    name = "nosim"
    sim_policy = None


def test_sim_model_on_an_env_without_sim_policy() -> None:
    with pytest.raises(ConfigError, match=r"env 'nosim' has no sim policy; use a real model"):
        load_config(None, ["env.name=tests.test_env_registry:NoSim"])
    cfg = load_config(None, ["env.name=tests.test_env_registry:NoSim", "agent.model=openai/x"])
    assert cfg.env.name.endswith(":NoSim")


# The env-agnostic layers: the agent loop, memory, shared prompts, the protocol's defaults.
GENERIC = [
    "pipeline/agent.py",
    "pipeline/prompts.py",
    "pipeline/envs/base.py",
    "pipeline/llm.py",
    "pipeline/llm_route.py",
    "pipeline/summary.py",
    "pipeline/summary_pass.py",
    "pipeline/console.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pipeline/memory").glob("*.py")),
]
HOUSEHOLD_WORDS = re.compile(
    r"\b(household|receptacles?|nothing happens|go to|heat|cool|clean|examine|inventory|"
    r"desklamp|floorlamp|cabinet|countertop|fridge|microwave|sinkbasin|appliances?|grammar|"
    r"alfworld|textworld|in/on)\b|\b(move|put) \S+ (to|in|on)\b|\"(put|move|take|look)\"",
    re.I,
)


@pytest.mark.parametrize("path", GENERIC)
def test_generic_layers_have_no_household_words(path: str) -> None:
    found = [
        f"{path}:{n}: {line.strip()}"
        for n, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if HOUSEHOLD_WORDS.search(line)
    ]
    assert not found, "\n".join(found)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)  # fmt: skip


def test_sim_policy_errors_stop_memp_run_before_ray(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    for sets, message in [
        (["env.name=tests.test_env_registry:NoSim"], "env 'nosim' has no sim policy"),
        (["agent.model=sim/travel"], "no sim policy 'travel' is registered; env 'household'"),
    ]:
        args = [f"--set={s}" for s in sets]
        # An empty config: with none, memp run takes the household preset (env.household keys).
        empty = tmp_path / "empty.yaml"
        empty.write_text("{}\n")
        proc = _cli("run", str(empty), *args, "--run-dir", str(run_dir))
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert "starting Ray" not in proc.stdout and not run_dir.exists()


def test_memp_envs_lists_splits_sizes_and_policies() -> None:
    proc = _cli("envs", "--json", TOY, "tests.no_such:Suite")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    household = rows["household"]
    assert household["splits"] == {
        "train": 3553, "valid_seen": 140, "valid_unseen": 134, "endless": None
    }  # fmt: skip
    assert (household["sim_policy"], household["settings"]) == ("household", ["grammar"])
    toy = rows[TOY]
    assert toy["splits"] == {"train": 20, "test": 10} and toy["sim_policy"] == "toy"
    assert "cannot import 'tests.no_such'" in rows["tests.no_such:Suite"]["error"]
