"""Settings of the LLM policy: per seat (``agents: {x: {policy: llm, params: ...}}``) and per run (``llm:``).

The scenario's top-level ``llm:`` block (``LLMRunSettings``) gives the
defaults for every LLM seat plus what is shared by the whole run: the cache,
the budget and the concurrency bound. A seat's ``params`` (``LLMSettings``)
override the per-seat fields for that seat only::

    llm:
      base_url: http://127.0.0.1:8080/v1
      model: smollm2
      api_key_env: OPENAI_API_KEY     # the NAME of the variable; the key is never stored
      mode: json_object_schema
      max_concurrency: 16
      budget: {calls: 500, tokens: 200000}
      cache: record                   # record | replay | off  (agora run --llm-cache wins)
    agents:
      default: llm
      bob: {policy: llm, params: {temperature: 0.7}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.llm.prices import Price
from agents.run_settings import RunPolicySettings

Mode = Literal["tools", "json_schema", "json_object_schema", "json_object", "prompt"]
Provider = Literal["openai", "anthropic"]
ProfileChoice = Literal["auto", "chat", "reasoning"]
Effort = Literal["minimal", "low", "medium", "high"]
CacheMode = Literal["record", "replay", "off"]

DEFAULT_CACHE_FILE = "agora_llm_cache.db"
# The packaged SmolLM2 on a 2-core CPU took 145 s for its first call under load; hosted APIs answer in seconds.
LOCAL_TIMEOUT = 600.0
REMOTE_TIMEOUT = 60.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")


def endpoint_timeout(base_url: str, timeout: float | None) -> float:
    """The request timeout for an endpoint: the one set, else long for a loopback (local) server."""
    if timeout is not None:
        return timeout
    host = urlsplit(base_url).hostname or ""
    return LOCAL_TIMEOUT if host in LOOPBACK_HOSTS or host.startswith("127.") else REMOTE_TIMEOUT


def http_url(value: str, example: str) -> str:
    """``value`` if it is an http(s) URL with a host (an endpoint's typo would otherwise "finish" a run on
    fallback moves), else a ``ValueError`` naming what is allowed, with ``example``."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc}); allowed: http:// or https:// URLs such as {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(f"not an http(s) URL; allowed: http:// or https:// URLs such as {example}")
    return value


class LLMSettings(BaseModel):
    """What one LLM seat uses: endpoint, model, output mode, sampling, prompts, retries."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("http://127.0.0.1:8080/v1", description="API root (…/v1): OpenAI-compatible, or Anthropic's with provider: anthropic")
    provider: Provider = Field(
        "openai", description="wire protocol: openai (chat completions, any compatible server) or anthropic (Messages API)",
    )
    model: str = Field("default", description="model name sent to the endpoint")
    api_key_env: str | None = Field(None, description="name of the environment variable holding the API key")
    mode: Mode = Field(
        "json_schema",
        description="how actions are asked for: tools (one function per legal action kind, tool_choice required), "
        "json_schema (OpenAI strict), json_object_schema (llama.cpp server), json_object, or prompt (spec in the prompt only)",
    )
    profile: ProfileChoice = Field(
        "auto",
        description="request shape: chat (temperature, max_tokens) or reasoning (max_completion_tokens, reasoning_effort, "
        "no temperature); auto picks by model name (agents/llm/profiles.py)",
    )
    reasoning_effort: Effort | None = Field(None, description="reasoning models: effort sent as reasoning_effort")
    context_tokens: int | None = Field(
        None, ge=256, le=10_000_000,
        description="the model's context window in tokens; bounds the conversation kept (default from the model's profile, "
        "2048 for SmolLM2)",
    )
    summary: bool = Field(
        False, description="when old turns no longer fit the context, ask the same model to fold them into a running "
        "summary sent with the system prompt (one extra call each time turns are dropped)",
    )
    reason: bool = Field(False, description="offer a free-text 'reason' (tool argument / JSON field), kept in the transcript")
    persona: str | None = Field(
        None, description="who the agent is, put before the system prompt; $variables as in prompts (e.g. $request_text)",
    )
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int = Field(256, ge=1, le=32768, description="completion tokens per call")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value, "http://127.0.0.1:8080/v1")
    seed: int | None = Field(
        None, description="a fixed sampling seed sent with every call; by default each call's seed is drawn from the run seed"
    )
    send_seed: bool = Field(True, description="send the sampling seed in the request (off for endpoints that reject it)")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="extra request fields, sent verbatim")
    timeout: float | None = Field(
        None, gt=0,
        description=f"seconds per HTTP request (default {LOCAL_TIMEOUT:g} for a loopback endpoint, a CPU-bound local "
        f"model; {REMOTE_TIMEOUT:g} otherwise)",
    )
    max_retries: int = Field(4, ge=0, le=20, description="retries on 429, 5xx and connection errors")
    backoff_base: float = Field(0.5, ge=0, description="first backoff delay in seconds (doubles each retry)")
    backoff_max: float = Field(30.0, ge=0, description="longest backoff delay in seconds")
    retry_after_max: float = Field(120.0, ge=0, description="longest Retry-After the client will honour")
    requests_per_minute: float | None = Field(
        None, gt=0, description="pace calls to this endpoint (base_url); shared by every seat and call of the run that uses it",
    )
    tokens_per_minute: float | None = Field(
        None, gt=0, description="pace estimated tokens (prompt characters / 4 + max_tokens) to this endpoint, shared likewise",
    )
    reask: bool = Field(True, description="re-ask once with the validation error before falling back")
    history_window: int = Field(
        50, ge=0, le=1000,
        description="most past turns (observation, reply, tool results) kept in the conversation, newest first, "
        "within context_tokens; 0: each decision on its own",
    )
    system_template: str | None = Field(None, description="file with the system prompt template (string.Template)")
    user_template: str | None = Field(None, description="file with the user prompt template")
    system_prompt: str | None = Field(None, description="inline system prompt template (wins over system_template)")
    user_prompt: str | None = Field(None, description="inline user prompt template (wins over user_template)")


class BudgetSettings(BaseModel):
    """Per-run spending limits; when one is reached the run stops with status ``budget_exhausted``."""

    model_config = ConfigDict(extra="forbid")
    calls: int | None = Field(None, ge=0, description="LLM calls per run (re-asks and cache hits count)")
    tokens: int | None = Field(None, ge=0, description="prompt + completion tokens per run")
    usd: float | None = Field(None, ge=0, description="US dollars per run, priced by llm.prices (checked like tokens)")


class LLMRunSettings(RunPolicySettings, LLMSettings):
    """The scenario's ``llm:`` block: seat defaults plus run-wide cache, budget, concurrency and failure policy.

    The concurrency and failure-policy fields are the remote policy's too (``agents.run_settings``);
    the field order (the seat's, then those, then the cache's) is the order error messages list them in.
    """

    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    cache: CacheMode = Field("record", description="record: reuse and store replies; replay: a miss is an error; off")
    cache_path: str | None = Field(None, description=f"SQLite cache file or postgresql:// URL (default: $AGORA_LLM_CACHE or ./{DEFAULT_CACHE_FILE})")
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="USD per million tokens by model, {model: {input, output}}; adds to / overrides agents/llm/prices.py",
    )

    @field_validator("cache", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    def cache_file(self) -> Path | str:
        """The cache's file, or a ``postgresql://`` URL as given (a path would fold its ``//``)."""
        target = self.cache_path or os.environ.get("AGORA_LLM_CACHE") or DEFAULT_CACHE_FILE
        return target if target.startswith(("postgresql://", "postgres://")) else Path(target)

    def seat(self, overrides: LLMSettings | None) -> LLMSettings:
        """The settings of one seat: these defaults, with the fields the seat set explicitly."""
        base = {name: getattr(self, name) for name in LLMSettings.model_fields}
        if overrides is not None:
            base.update({name: getattr(overrides, name) for name in overrides.model_fields_set})
        return LLMSettings.model_validate(base)
