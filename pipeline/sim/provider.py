"""The litellm custom provider "sim": reply text, usage, cost and latency around roles.respond."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import litellm
from litellm import CustomLLM, ModelResponse

from pipeline.config import SimConfig
from pipeline.sim import pricing
from pipeline.sim.latency import sample_latency
from pipeline.sim.policies import get_policy
from pipeline.sim.roles import call_rng

CONFIG_KWARG = "sim_config"  # reaches the handler in optional_params (unknown kwargs pass through)
SEED_KWARG = "sim_seed"
_configs: dict[str, SimConfig] = {}


def _config(value: Any, default: SimConfig) -> SimConfig:
    if value is None:
        return default
    if isinstance(value, SimConfig):
        return value
    key = repr(value)
    cfg = _configs.get(key)
    if cfg is None:
        cfg = SimConfig.model_validate(value)
        _configs[key] = cfg
    return cfg


class SimLLM(CustomLLM):
    """Scripted stand-in for a chat model; sees only the messages it is sent.

    Async only (the pipeline calls litellm.acompletion); a sync litellm.completion is refused.
    """

    def __init__(self, default: SimConfig | None = None, default_seed: int = 0) -> None:
        super().__init__()
        self.default = default or SimConfig()
        self.default_seed = default_seed

    def _reply(
        self, model: str, messages: list[Any], optional_params: dict[str, Any]
    ) -> tuple[SimConfig, str | dict[str, Any], float]:
        cfg = _config(optional_params.get(CONFIG_KWARG), self.default)
        seed = int(optional_params.get(SEED_KWARG, self.default_seed))
        msgs = [m if isinstance(m, dict) else dict(m) for m in messages]
        policy = get_policy(model.removeprefix("sim/"))
        reply = policy(cfg, seed, msgs, optional_params.get("tools"))
        delay = (
            sample_latency(cfg.latency, call_rng(seed, msgs, b"latency"))
            if cfg.latency.kind != "none"
            else 0.0
        )
        return cfg, reply, delay

    def _fill(
        self,
        response: ModelResponse,
        model: str,
        messages: list[Any],
        cfg: SimConfig,
        reply: str | dict[str, Any],
    ) -> ModelResponse:
        from litellm.types.utils import ChatCompletionMessageToolCall, Function

        prompt = pricing.prompt_tokens(messages)
        message = response.choices[0].message  # type: ignore[union-attr]
        if isinstance(reply, dict):  # one tool call, as an OpenAI-compatible server returns it
            arguments = json.dumps(reply.get("arguments", {}))
            call = ChatCompletionMessageToolCall(
                id=f"call_{len(messages)}",
                type="function",
                function=Function(name=str(reply["name"]), arguments=arguments),
            )
            message.content = None
            message.tool_calls = [call]
            response.choices[0].finish_reason = "tool_calls"
            text = f"{reply['name']}{arguments}"
        else:
            text = reply
            message.content = text
            response.choices[0].finish_reason = "stop"
        completion = pricing.completion_tokens(text)
        response.model = model if model.startswith("sim/") else f"sim/{model}"
        response.usage = litellm.Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )
        # A stamped cost is what litellm reports; its own cost path was a fifth of a sim call.
        cost = (prompt * cfg.price_in_per_mtok + completion * cfg.price_out_per_mtok) / 1e6
        response._hidden_params["response_cost"] = cost
        return response

    async def acompletion(  # type: ignore[override]
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Callable,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: dict | None = None,
        timeout: Any = None,
        client: Any = None,
    ) -> ModelResponse:
        cfg, reply, delay = self._reply(model, messages, optional_params)
        if delay:
            await anyio.sleep(delay)
        return self._fill(model_response, model, messages, cfg, reply)
