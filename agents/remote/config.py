"""Settings of the remote policy: per seat (``params:``) and per run (the scenario's ``remote:`` block).

A seat names the endpoint that decides for it; the run-wide block holds what
all remote seats of a run share: the concurrency bound, the decision window
and the failure policy (the same ``on_error`` / ``max_fallback_share`` as the
LLM policy's, ``agents/llm/README.md``)::

    agents:
      customer: {policy: remote, params: {url: "http://127.0.0.1:9000/act", timeout: 30, headers_env: AGENT_TOKEN}}
    remote:
      max_concurrency: 16
      on_error: fallback
      max_fallback_share: 0.05
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.llm.config import http_url
from agents.run_settings import RunPolicySettings


class RemoteSettings(BaseModel):
    """One remote seat: where its decisions are sent and how patiently."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the agent's HTTP endpoint; each decision is POSTed to it (wire format: docs/remote_agents.md)")
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds per HTTP request")
    retries: int = Field(2, ge=0, le=20, description="retries on 429, 5xx, timeouts and dropped connections")
    headers_env: str | None = Field(
        None, description="NAME of an environment variable holding a token, sent as 'Authorization: Bearer <token>' "
        "(the token itself is never in the scenario)",
    )
    reask: bool = Field(True, description="ask once more, with the validation error, before falling back")
    backoff_base: float = Field(0.5, ge=0, le=60, description="first backoff delay in seconds (doubles each retry, full jitter)")
    backoff_max: float = Field(10.0, ge=0, le=600, description="longest backoff delay in seconds")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value, "http://127.0.0.1:9000/act")


class RemoteRunSettings(RunPolicySettings):
    """The scenario's ``remote:`` block: what every remote seat of a run shares (the LLM's ``llm:`` has the same
    fields, ``agents.run_settings.RunPolicySettings``)."""
