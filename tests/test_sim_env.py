"""Full sim episodes against the household env through litellm: plausible rates, memory helps."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from functools import cache

import litellm
import pytest

from pipeline import prompts, sim
from pipeline.config import EnvConfig, SimConfig

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

household = pytest.importorskip("pipeline.envs.household")
N_TASKS = 60
STEP_LIMIT = 50


@cache
def same_type_memory(task_type: str) -> str:
    """A correct trajectory of this task type from a train scene, as the memory slot renders it."""
    from pipeline.envs.household.tasks import make_task

    for index in range(300):
        task = make_task("train", index)
        if task.task_type == task_type:
            env = household.HouseholdEnv("2.1.2")
            env.reset(task)
            trace = household.solve(env, task.goal)
            lines = prompts.render_steps(trace).splitlines()
            return prompts.render_procedure(1, task.goal, None, lines)
    raise AssertionError(f"no train task of type {task_type}")


async def episode(suite, task, cfg: SimConfig, seed: int, memory: str | None) -> tuple[bool, int]:
    env = suite.make()
    language = suite.language
    opening = env.reset(task)
    example = language.one_shot_example(task)
    messages = [
        {"role": "system", "content": language.system_prompt(task)},
        {"role": "user", "content": language.first_message(opening, task, example, memory)},
    ]
    kw = sim.call_kwargs(cfg, seed)
    for step in range(1, STEP_LIMIT + 1):
        r = await litellm.acompletion(model="sim/household", messages=messages, **kw)
        text = r.choices[0].message.content
        command = language.parse(text).command
        messages.append({"role": "assistant", "content": text})
        if command is None:
            observation = language.format_hint
        else:
            result = env.step(command)
            if result.done:
                return result.success, step
            observation = result.observation
        messages.append({"role": "user", "content": language.observation_prefix + observation})
    return False, STEP_LIMIT


async def run_all(with_memory: bool) -> tuple[float, float]:
    cfg = SimConfig()
    sim.register(cfg)
    suite = household.HouseholdSuite(EnvConfig(split="valid_seen"))
    tasks = list(itertools.islice(suite.tasks("valid_seen"), N_TASKS))
    results = await asyncio.gather(
        *(
            episode(suite, t, cfg, i, same_type_memory(t.task_type) if with_memory else None)
            for i, t in enumerate(tasks)
        )
    )
    success = sum(ok for ok, _ in results) / len(results)
    steps = sum(n for _, n in results) / len(results)
    return success, steps


@pytest.mark.slow
def test_success_band_and_memory_helps():
    base_success, base_steps = asyncio.run(run_all(with_memory=False))
    mem_success, mem_steps = asyncio.run(run_all(with_memory=True))
    print(
        f"no memory {base_success:.2f}/{base_steps:.1f}  memory {mem_success:.2f}/{mem_steps:.1f}"
    )
    assert 0.25 <= base_success <= 0.9
    assert mem_success > base_success
    assert mem_steps < base_steps


def test_no_network_needed_for_tokens_and_calls():
    # A fresh interpreter whose sockets refuse to connect anywhere: litellm import, token
    # counting (bundled tokenizer) and a sim call must all still work, with no litellm
    # environment but what `import pipeline` sets.
    code = (
        "import asyncio, os, socket\n"
        "def deny(*a, **k):\n"
        "    raise OSError('network disabled in test')\n"
        "socket.socket.connect = deny\n"
        "socket.create_connection = deny\n"
        "import pipeline\n"  # sets litellm's offline environment, before litellm is imported
        "import litellm\n"
        "from pipeline import sim\n"
        "from pipeline.config import SimConfig\n"
        "sim.register(SimConfig())\n"
        "msgs = [{'role': 'user', 'content': 'Your task is to: put a mug in cabinet.'}]\n"
        "r = asyncio.run(litellm.acompletion(model='sim/household', messages=msgs))\n"
        "assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0\n"
        "print('ok')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
