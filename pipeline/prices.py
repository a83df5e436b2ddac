"""Per-model prices from config (`prices: {model: {input_per_mtok, output_per_mtok}}`) for litellm.

Self-hosted or new models are missing from litellm's bundled price map and would cost $0.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(ge=0.0)  # USD per million prompt tokens
    output_per_mtok: float = Field(ge=0.0)  # USD per million completion tokens


def price_entries(prices: dict[str, ModelPrice]) -> dict[str, dict[str, object]]:
    """litellm model-map entries: under the configured string and its provider-less name.

    litellm prices a response by the model name the server answered with, which for an
    OpenAI-compatible server is the name without our `openai/` routing prefix.
    """
    out: dict[str, dict[str, object]] = {}
    for model, price in prices.items():
        provider, _, bare = model.partition("/")
        entry: dict[str, object] = {
            "input_cost_per_token": price.input_per_mtok / 1e6,
            "output_cost_per_token": price.output_per_mtok / 1e6,
            "mode": "chat",
        }
        if bare:
            entry["litellm_provider"] = provider
            out[bare] = dict(entry)
        out[model] = entry
    return out


def register_prices(prices: dict[str, ModelPrice]) -> None:
    """Make litellm's cost (completion_cost, response_cost) use the configured prices."""
    if not prices:
        return
    import litellm  # only when prices are set: config loading must stay light

    litellm.register_model(price_entries(prices))
