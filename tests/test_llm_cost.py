"""Cost per call over real HTTP: from server-reported usage and the price map, once per call."""

from __future__ import annotations

import anyio
import litellm
import pytest

from pipeline.config import ModelConfig
from pipeline.llm import LLMClient, add_observer, unit_prices
from pipeline.prices import ModelPrice, register_prices
from tests.openai_server import OpenAIServer


def _cfg(server: OpenAIServer, model: str) -> ModelConfig:
    return ModelConfig(
        model=model, api_base=server.base_url, api_key_env="MEMP_TEST_KEY", timeout_s=10
    )


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMP_TEST_KEY", "sk-test-cost")


def test_unpriced_local_model_costs_zero_and_is_looked_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(litellm, "completion_cost", _fail)  # the slow path must not be taken
    with OpenAIServer(lambda msgs: "Think: ok\nAction: look") as server:
        client = LLMClient(_cfg(server, "openai/memp-unpriced-local"), seed=1)
        for _ in range(3):
            result = anyio.run(client.complete, [{"role": "user", "content": "hi there"}], "agent")
    assert result.usage.cost_usd == 0.0
    assert result.usage.prompt_tokens == 2 and result.usage.completion_tokens == 4
    assert unit_prices("openai/memp-unpriced-local", "test-model") is None


def test_configured_price_applies_and_observer_sees_the_same_usage() -> None:
    register_prices(
        {"openai/memp-priced-local": ModelPrice(input_per_mtok=1e6, output_per_mtok=2e6)}
    )
    seen = []
    add_observer(
        lambda ev: seen.append(ev.usage) if ev.model == "openai/memp-priced-local" else None
    )
    with OpenAIServer(lambda msgs: "Think: ok\nAction: look") as server:
        client = LLMClient(_cfg(server, "openai/memp-priced-local"), seed=1)
        result = anyio.run(client.complete, [{"role": "user", "content": "hi there"}], "agent")
    # 2 prompt tokens at $1/token + 4 completion tokens at $2/token, as the server reported.
    assert result.usage.cost_usd == pytest.approx(2 * 1.0 + 4 * 2.0)
    assert seen == [result.usage]


def _fail(*args: object, **kwargs: object) -> float:
    raise AssertionError("litellm.completion_cost called per call")
