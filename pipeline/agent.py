"""The episode loop: the env's language makes the prompts and reads the answers; env steps ->
Trajectory. Nothing here knows what any env's commands are."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio

from pipeline.config import AgentConfig, EnvConfig
from pipeline.envs import EnvSuite
from pipeline.envs.base import Action, EnvLanguage, StepResult
from pipeline.llm import LLMClient, LLMError, LLMResult, supports_json_schema
from pipeline.types import AnswerMode, Step, Task, Trajectory, stable_id

# Added to the system prompt when answers are constrained: the schema fixes the fields, this
# tells the model what goes in them (the env's prompt describes the commands themselves).
STRUCTURED_NOTE = (
    '\nAnswer with one JSON object: "thought" (one short sentence of reasoning), then '
    '"action" (your one command).'
)


def episode_id(task: Task, run_seed: int, attempt: int = 0) -> str:
    return stable_id("episode", task.id, str(run_seed), str(attempt))


def _window(messages: list[dict[str, Any]], history_steps: int) -> list[dict[str, Any]]:
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


def constrained(agent: AgentConfig, llm: LLMClient) -> bool:
    """Whether this run asks for structured answers (agent.constrained; auto: if supported)."""
    if agent.constrained == "auto":
        return supports_json_schema(llm.cfg)
    return agent.constrained == "json_schema"


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI json_schema response_format (litellm passes it through; llama.cpp honours it)."""
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


async def _ask(
    llm: LLMClient,
    language: EnvLanguage,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    schema: dict[str, Any] | None,
) -> tuple[LLMResult, Action, dict[str, Any] | None, AnswerMode]:
    """One model answer read in its mode: a structured answer, a tool call or ReAct text."""
    if schema is not None:
        result = await llm.complete(messages, "agent", response_format=response_format(schema))
        return result, language.parse_structured(result.text), None, "json_schema"
    result = await llm.complete(messages, "agent", tools)
    action, call_message = _read(language, result)
    return result, action, call_message, "tool_call" if call_message is not None else "text"


def _read(language: EnvLanguage, result: LLMResult) -> tuple[Action, dict[str, Any] | None]:
    """The answer's action and, for a tool call, the assistant message that carries it."""
    if not result.tool_calls:
        return language.parse(result.text), None
    call = result.tool_calls[0]  # one command per step: further calls are not executed
    action = language.parse_tool_call(call, result.text)
    call_id = call.id or "call_0"
    arguments = call.bad_arguments if call.bad_arguments is not None else json.dumps(call.arguments)
    message = {
        "role": "assistant",
        "content": result.text or None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": arguments},
            }
        ],
    }
    return action, message


async def _reset(env: Any, task: Task) -> str:
    # A slow engine offers `areset`/`astep` that run it off the event loop.
    areset = getattr(env, "areset", None)
    return await areset(task) if areset is not None else env.reset(task)


async def _step(env: Any, command: str) -> StepResult:
    astep = getattr(env, "astep", None)
    return await astep(command) if astep is not None else env.step(command)


async def _play(
    traj: Trajectory,
    suite: EnvSuite,
    llm: LLMClient,
    agent: AgentConfig,
    env_cfg: EnvConfig,
    memory_text: str | None,
) -> None:
    language = suite.language
    env = suite.make()
    try:
        task = traj.task
        opening = await _reset(env, task)
        example = language.one_shot_example(task) if agent.one_shot else None
        tools = language.tools()
        structured = constrained(agent, llm)
        system = language.system_prompt(task) + (STRUCTURED_NOTE if structured else "")
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": language.first_message(opening, task, example, memory_text),
            },
        ]
        for _ in range(env_cfg.step_limit):
            schema = None
            if structured:
                schema = language.action_schema(task, env.admissible_commands())
            result, action, call_message, mode = await _ask(
                llm, language, _window(messages, agent.history_steps), tools, schema
            )
            traj.usage = traj.usage + result.usage
            messages.append(call_message or {"role": "assistant", "content": result.text})
            if action.command is None:
                observation, valid, done, success = language.format_hint, False, False, False
            else:
                outcome = await _step(env, action.command)
                observation, valid = outcome.observation, outcome.valid
                done, success = outcome.done, outcome.success
                if outcome.scores:
                    traj.scores = dict(outcome.scores)
            raw = result.text if call_message is None else json.dumps(call_message["tool_calls"])
            traj.steps.append(
                Step(
                    thought=action.thought,
                    action=action.command or "",
                    observation=observation,
                    valid=valid,
                    tool_call=call_message is not None,
                    mode=mode,
                    raw=None if action.command is not None else raw[:2000],
                    prompt_tokens=result.usage.prompt_tokens,
                    completion_tokens=result.usage.completion_tokens,
                    latency_s=result.latency_s,
                )
            )
            if done:
                traj.success = success
                return
            if call_message is not None:
                tool_id = call_message["tool_calls"][0]["id"]
                messages.append({"role": "tool", "tool_call_id": tool_id, "content": observation})
            else:
                prefixed = language.observation_prefix + observation
                messages.append({"role": "user", "content": prefixed})
    finally:
        close = getattr(env, "close", None)  # an env may hand pooled resources back
        if close is not None:
            close()
