"""How one configured model is called through litellm: its provider handler directly when that is
safe (resolved once per endpoint), else litellm.acompletion for every other provider."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import litellm
from litellm.litellm_core_utils.exception_mapping_utils import exception_type

try:  # litellm's own flag for calls it makes itself; a litellm without it just logs every call
    from litellm._internal_context import is_internal_call as _internal_call
except ImportError:  # pragma: no cover
    from contextvars import ContextVar

    _internal_call = ContextVar("memp_unused_internal_call", default=False)

Call = Callable[[dict[str, Any]], Awaitable[Any]]
# acompletion's own arguments that never reach a provider as optional params.
_NOT_PARAMS = frozenset({"model", "messages", "timeout", "num_retries", "api_base", "api_key"})


def litellm_callbacks() -> bool:
    """Whether the user registered litellm callbacks (then litellm's per-call logging runs)."""
    return any(
        getattr(litellm, name, None)
        for name in ("callbacks", "input_callback", "success_callback", "failure_callback",
                     "_async_input_callback", "_async_success_callback", "_async_failure_callback")
    )  # fmt: skip


async def quiet(fn: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> Any:
    """litellm skips its per-call logging payload and callbacks for a call it marks internal:
    with no callback registered nobody reads them, and they were a third of its CPU per call."""
    if litellm_callbacks():
        return await fn(**kwargs)
    token = _internal_call.set(True)
    try:
        return await fn(**kwargs)
    finally:
        _internal_call.reset(token)


async def via_acompletion(kwargs: dict[str, Any]) -> Any:
    """The full litellm door: every provider, fallbacks, user callbacks."""
    return await quiet(litellm.acompletion, kwargs)


def _sim_handler(model: str) -> Any:
    """The registered sim CustomLLM when `model` routes to it, else None."""
    from litellm.utils import ProviderConfigManager

    from pipeline.sim.provider import SimLLM

    try:
        _, provider, _, _ = litellm.get_llm_provider(model=model)
    except Exception:  # a model litellm cannot route: acompletion raises the mapped error
        return None
    handler = ProviderConfigManager.get_custom_llm_handler(provider)
    return handler if isinstance(handler, SimLLM) else None


def custom_call(model: str, handler: Any) -> Call:
    """litellm's custom-provider layer (CustomLLM.acompletion) without the wrapper around it.

    acompletion hands the handler the bare model and the non-None params; errors are mapped by
    litellm's own exception_type, as acompletion maps them."""
    from litellm.utils import ProviderConfigManager

    provider, _, bare = model.partition("/")

    async def call(kwargs: dict[str, Any]) -> Any:
        if ProviderConfigManager.get_custom_llm_handler(provider) is not handler:
            return await via_acompletion(kwargs)  # re-registered since: litellm knows which
        params = {k: v for k, v in kwargs.items() if k not in _NOT_PARAMS and v is not None}
        try:
            return await handler.acompletion(
                model=bare,
                messages=kwargs["messages"],
                api_base=kwargs.get("api_base"),
                custom_prompt_dict={},
                model_response=litellm.ModelResponse(),
                print_verbose=print,
                encoding=None,
                api_key=kwargs.get("api_key"),
                logging_obj=None,
                optional_params=params,
                litellm_params={},
                headers={},
                timeout=kwargs.get("timeout"),
                client=None,
            )
        except Exception as exc:
            raise exception_type(
                model=model, original_exception=exc, custom_llm_provider=provider
            ) from exc

    return call


# What a self-hosted OpenAI-compatible request may carry on the direct route; anything else
# (user-set litellm params, streaming, extra headers) goes through acompletion.
_HTTP_PARAMS = frozenset({"temperature", "max_tokens", "tools", "response_format", "seed"})


def openai_http_call(model: str, api_base: str) -> Call:
    """litellm's shared HTTP handler (BaseLLMHTTPHandler) with its OpenAI chat config, for an
    `openai/` model at an api_base: the request/response transforms, error classes and pooled
    httpx client acompletion would use, without its wrapper, thread-pool hop and cost path.
    Usage is the server's; memp prices it once from the price map."""
    import datetime
    import uuid

    from litellm.litellm_core_utils.litellm_logging import Logging
    from litellm.main import base_llm_http_handler

    config = litellm.OpenAIGPTConfig()
    bare = model.partition("/")[2]

    async def call(kwargs: dict[str, Any]) -> Any:
        extra = {k for k, v in kwargs.items() if v is not None} - _NOT_PARAMS - _HTTP_PARAMS
        if extra:
            return await via_acompletion(kwargs)
        messages = kwargs["messages"]
        wanted = {k: kwargs[k] for k in _HTTP_PARAMS if kwargs.get(k) is not None}
        try:
            params = config.map_openai_params(wanted, {}, bare, drop_params=True)
            logging_obj = Logging(
                model=bare,
                messages=messages,
                stream=False,
                call_type="acompletion",
                start_time=datetime.datetime.now(),
                litellm_call_id=str(uuid.uuid4()),
                function_id="",
            )
            return await base_llm_http_handler.completion(
                model=bare,
                messages=messages,
                api_base=api_base,
                custom_llm_provider="openai",
                model_response=litellm.ModelResponse(),
                encoding=None,
                logging_obj=logging_obj,
                optional_params=params,
                timeout=kwargs.get("timeout") or 600.0,
                litellm_params={},
                acompletion=True,
                api_key=kwargs.get("api_key"),
                headers={},
                provider_config=config,
            )
        except Exception as exc:
            raise exception_type(
                model=model, original_exception=_as_sdk_error(exc), custom_llm_provider="openai"
            ) from exc

    return call


def _as_sdk_error(exc: Exception) -> Exception:
    """An HTTP error whose message is the whole JSON body, told as the OpenAI SDK tells it (the
    body's error.message, the error object as body, the real response): exception_type reads
    words like "rate_limit" in the text, so the two routes must hand it the same text."""
    from litellm.llms.base_llm.chat.transformation import BaseLLMException

    if not isinstance(exc, BaseLLMException):
        return exc
    raw = exc.__context__  # litellm raised it while handling httpx's error: the real response
    if isinstance(raw, httpx.HTTPStatusError):
        exc.response = raw.response
    try:
        error = json.loads(exc.message).get("error")
    except (ValueError, AttributeError, TypeError):  # a plain-text body: the SDK names the status
        error = {"message": f"Error code: {exc.status_code}"}
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return exc
    exc.message = error["message"]
    exc.args = (exc.message,)
    exc.body = error if len(error) > 1 else None
    return exc


_routes: dict[tuple[str, str | None], Call | None] = {}


def route(model: str, api_base: str | None) -> Call:
    """The cheapest litellm entry point for this endpoint, resolved once per process.

    With litellm callbacks registered every call takes litellm.acompletion so they run."""
    if litellm_callbacks():
        return via_acompletion
    key = (model, api_base)
    if key not in _routes:
        handler = _sim_handler(model) if model.startswith("sim/") else None
        if handler is not None:
            _routes[key] = custom_call(model, handler)
        elif api_base and model.startswith("openai/"):
            _routes[key] = openai_http_call(model, api_base)
        else:
            _routes[key] = None
    return _routes[key] or via_acompletion
