"""The episode loop: ReAct prompt, tolerant action parsing, env steps -> Trajectory."""

from __future__ import annotations

import re
import time

import anyio

from pipeline import prompts
from pipeline.config import AgentConfig, EnvConfig
from pipeline.envs import EnvSuite
from pipeline.llm import LLMClient, LLMError
from pipeline.types import Step, Task, Trajectory, stable_id

# Labels as models write them: "Action:", "**Action:**", "**Action**:", "action ："
_LABEL = r"^\s*(?:\*\*)?\s*{}\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*"
_ACTION_LINE = re.compile(_LABEL.format("action") + r"(?P<cmd>.+?)\s*$", re.I | re.M)
_THINK_LINE = re.compile(_LABEL.format("(?:think|thought)") + r"(?P<t>.*)$", re.I | re.M)
_VERBS = (
    "go to ", "open ", "close ", "take ", "move ", "put ", "heat ", "cool ", "clean ",
    "use ", "examine ", "inventory", "look",
)  # fmt: skip
FORMAT_HINT = (
    "Invalid answer: no command found. Reply as 'Think: <reasoning>' then 'Action: <command>'."
)


def _clean_command(text: str) -> str:
    cmd = text.strip().strip("`'\"").strip()
    cmd = cmd.removeprefix(">").strip()
    cmd = re.sub(r"\s+", " ", cmd)
    return cmd.rstrip(".").strip()


def parse_answer(text: str) -> tuple[str, str | None]:
    """(thought, command) from a model answer; command is None when nothing parsable is there."""
    thought_match = _THINK_LINE.search(text)
    thought = thought_match.group("t").strip() if thought_match else ""
    actions = _ACTION_LINE.findall(text)
    if actions:
        cmd = _clean_command(actions[-1])
        return thought, cmd or None
    # A bare command (some models drop the labels) is still a command.
    lines = [ln for ln in (line.strip() for line in text.strip().splitlines()) if ln]
    if lines:
        candidate = _clean_command(lines[-1])
        if candidate.lower().startswith(_VERBS):
            return thought, candidate
    return thought, None


def episode_id(task: Task, run_seed: int, attempt: int = 0) -> str:
    return stable_id("episode", task.id, str(run_seed), str(attempt))


def _window(messages: list[dict[str, str]], history_steps: int) -> list[dict[str, str]]:
    """System + first user turn + the last N exchanges (all of them when N is 0)."""
    if history_steps <= 0:
        return messages
    head, tail = messages[:2], messages[2:]
    return head + tail[-2 * history_steps :]


async def run_episode(
    task: Task,
    suite: EnvSuite,
    llm: LLMClient,
    agent: AgentConfig,
    env_cfg: EnvConfig,
    *,
    run_seed: int = 0,
    memory_text: str | None = None,
    memory_ids: list[str] | None = None,
    memory_version: int = 0,
    retrieval_latency_s: float = 0.0,
    attempt: int = 0,
) -> Trajectory:
    """Play one episode; failures (model errors, timeouts) come back as data, never raised."""
    traj = Trajectory(
        id=episode_id(task, run_seed, attempt),
        task=task,
        model=llm.cfg.model,
        memory_ids=list(memory_ids or []),
        memory_version=memory_version,
        retrieval_latency_s=retrieval_latency_s,
    )
    started = time.perf_counter()
    try:
        with anyio.fail_after(agent.episode_timeout_s):
            await _play(traj, suite, llm, agent, env_cfg, memory_text)
    except TimeoutError:
        traj.status = "timeout"
        traj.error = f"episode exceeded agent.episode_timeout_s={agent.episode_timeout_s}"
    except LLMError as err:
        traj.status = "error"
        traj.error = f"llm {err.kind}: {err}"
    except Exception as err:  # a broken env or parser bug must not take the worker down
        traj.status = "error"
        traj.error = f"{type(err).__name__}: {err}"[:500]
    traj.wall_s = time.perf_counter() - started
    return traj


async def _play(
    traj: Trajectory,
    suite: EnvSuite,
    llm: LLMClient,
    agent: AgentConfig,
    env_cfg: EnvConfig,
    memory_text: str | None,
) -> None:
    env = suite.make()
    opening = env.reset(traj.task)
    example = suite.one_shot_example(traj.task.task_type) if agent.one_shot else None
    messages = [
        {"role": "system", "content": prompts.agent_system(env_cfg.grammar)},
        {"role": "user", "content": prompts.agent_first_message(opening, example, memory_text)},
    ]
    for _ in range(env_cfg.step_limit):
        result = await llm.complete(_window(messages, agent.history_steps), role="agent")
        traj.usage = traj.usage + result.usage
        thought, command = parse_answer(result.text)
        messages.append({"role": "assistant", "content": result.text})
        if command is None:
            observation, valid, done, success = FORMAT_HINT, False, False, False
        else:
            outcome = env.step(command)
            observation, valid = outcome.observation, outcome.valid
            done, success = outcome.done, outcome.success
        traj.steps.append(
            Step(
                thought=thought,
                action=command or "",
                observation=observation,
                valid=valid,
                raw=None if command is not None else result.text[:2000],
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                latency_s=result.latency_s,
            )
        )
        if done:
            traj.success = success
            return
        messages.append({"role": "user", "content": prompts.OBSERVATION_PREFIX + observation})
