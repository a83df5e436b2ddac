"""How one configured model is called through litellm: its provider handler directly when that is
safe (resolved once per endpoint), else litellm.acompletion for every other provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


_routes: dict[tuple[str, str | None], Call | None] = {}


def route(model: str, api_base: str | None) -> Call:
    """The cheapest litellm entry point for this endpoint, resolved once per process.

    With litellm callbacks registered every call takes litellm.acompletion so they run."""
    if litellm_callbacks():
        return via_acompletion
    key = (model, api_base)
    if key not in _routes:
        handler = _sim_handler(model) if model.startswith("sim/") else None
        _routes[key] = custom_call(model, handler) if handler is not None else None
    return _routes[key] or via_acompletion
