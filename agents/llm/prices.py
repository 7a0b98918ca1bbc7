"""What LLM calls cost: a price table per model, in US dollars per million input / output tokens.

``cost_usd = (prompt_tokens * input + completion_tokens * output) / 1e6``.
A model is priced by its exact name, else by the longest table entry its name
starts with (so ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``).
The built-in table lists public list prices when it was written (check your
provider's page: prices change); local models cost nothing. A scenario adds
or overrides entries with ``llm.prices: {model: {input: 0.15, output: 0.60}}``,
and ``$AGORA_LLM_PRICES`` may name a YAML file of the same shape. A model with
no price has no cost (its calls are counted as ``llm_unpriced_calls``).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.llm.cache import LLMSettingsError


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0, description="US dollars per million prompt tokens")
    output: float = Field(ge=0, description="US dollars per million completion tokens")


# US dollars per million tokens (input, output), list prices.
BUILT_IN: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "smollm2": (0.0, 0.0),  # the packaged local model (agents/llm/local.py)
}


def price_table(extra: dict[str, Price] | None = None) -> dict[str, Price]:
    """The built-in prices, then ``$AGORA_LLM_PRICES``'s, then the scenario's (later ones win)."""
    table = {model: Price(input=i, output=o) for model, (i, o) in BUILT_IN.items()}
    path = os.environ.get("AGORA_LLM_PRICES")
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
            table.update({str(model): Price.model_validate(value) for model, value in dict(data).items()})
        except (OSError, yaml.YAMLError, ValidationError, TypeError, ValueError) as exc:
            raise LLMSettingsError(f"$AGORA_LLM_PRICES={path}: not a price file ({type(exc).__name__}: {exc}); "
                           "allowed: YAML mapping model -> {input: USD per 1M tokens, output: USD per 1M tokens}") from None
    table.update(extra or {})
    return table


def price_of(model: str, table: dict[str, Price]) -> Price | None:
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    return table[max(matches, key=len)] if matches else None


def cost_usd(price: Price | None, prompt_tokens: int, completion_tokens: int) -> float:
    if price is None:
        return 0.0
    return (prompt_tokens * price.input + completion_tokens * price.output) / 1e6
