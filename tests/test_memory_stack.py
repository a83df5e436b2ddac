"""MemoryStack and the policy registries in one process: names checked, roles declared, the
validator's decision made without any model."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, MemoryConfig, ModelConfig, RunConfig
from pipeline.config_load import load_config
from pipeline.memory.build import BUILDERS
from pipeline.memory.retrieve import RETRIEVERS
from pipeline.memory.stack import MemoryStack
from pipeline.memory.update import UPDATERS
from pipeline.types import Granularity
from tests.test_memory_policies import LANG, TASKS, traj


def test_registries_hold_the_paper_policies():
    assert set(BUILDERS) == set(Granularity.__args__)  # a build policy stores its granularity
    assert RETRIEVERS.names() == ("random", "query", "avefact")
    assert UPDATERS.names() == ("vanilla", "validation", "adjustment")


@pytest.mark.parametrize("key", ["build", "retrieve", "update"])
def test_an_unknown_policy_is_one_line_naming_the_choices(key):
    with pytest.raises(ConfigError) as info:
        load_config(None, [f"memory.{key}=nope"])
    assert str(info.value).startswith(f"bad value for 'memory.{key}': no policy 'nope'; use one of")
    with pytest.raises(ConfigError):
        MemoryStack(MemoryConfig(**{key: "nope"}))


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        RETRIEVERS.register(RETRIEVERS.get("query"))


def test_roles_come_from_the_registered_policies():
    def roles(**kw) -> set[tuple[str, str]]:
        return set(MemoryStack(MemoryConfig(**kw)).roles("agent-m"))

    assert roles(build="trajectory", retrieve="query", update="validation") == {
        ("agent-m", "keywords")
    }
    assert roles(build="script", retrieve="avefact", update="adjustment") == {
        ("agent-m", "keywords"), ("agent-m", "build"), ("agent-m", "adjust"),
    }  # fmt: skip
    built = MemoryConfig(update="adjustment", builder=ModelConfig(model="builder-m"))
    assert set(MemoryStack(built).roles("agent-m")) == {
        ("builder-m", "keywords"), ("builder-m", "build"), ("builder-m", "adjust"),
    }  # fmt: skip


def test_the_decision_needs_no_model():
    """A stack with no model and no store decides; asking it for a model fails loudly."""
    stack = MemoryStack(MemoryConfig(update="adjustment"), language=LANG)
    used = traj(*TASKS[0], 1, success=False, memory_ids=["p1"])
    decision = stack.decider().decide(used)
    assert (decision.action, decision.adjust_ids) == ("adjust", ["p1"])
    with pytest.raises(AssertionError, match="without models"):
        _ = stack.llm


def test_the_namespace_is_the_env_unless_set():
    assert RunConfig().memory.namespace == "household"
    assert RunConfig.model_validate({"env": {"name": "alfworld"}}).memory.namespace == "alfworld"
    odd = RunConfig.model_validate({"env": {"name": "my_pkg.envs:Toy"}})
    assert odd.memory.namespace == "my_pkg_envs_toy"
    mine = RunConfig.model_validate({"memory": {"namespace": "shared"}})
    assert mine.memory.namespace == "shared"
    assert RunConfig.model_validate(mine.model_dump()).memory.namespace == "shared"
    assert MemoryConfig().namespace == "default"  # no env: no env's name


def test_a_run_stack_speaks_its_env_language():
    """What the validator actor builds: the env's language, resolved in this process."""
    stack = MemoryStack.from_config(RunConfig())
    assert type(stack.language).__name__ == "HouseholdLanguage"
    assert stack.decider().decide(traj(*TASKS[0], 1)).action == "build"


def test_a_run_stack_makes_the_agent_and_builder_clients():
    same = MemoryStack.from_config(RunConfig())
    assert same.build_llm is same.llm and same.llm.cfg.model == "sim/household"
    cfg = RunConfig.model_validate({"memory": {"builder": {"model": "sim/household"}}})
    apart = MemoryStack.from_config(cfg)
    assert apart.build_llm is not apart.llm
    assert apart.updater().llm is apart.build_llm and apart.builder().llm is apart.build_llm
