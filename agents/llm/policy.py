"""``policy: llm`` — one LLM policy that plays every world through the World/Policy protocols.

The world's rules (``world.rules(agent)``), the agent's role, its observation
and the action model's JSON Schema fill a per-world prompt template
(``agents/llm/prompts``); the reply is validated against the action model.
No world needs LLM-specific code.

The host builds one ``LLMPolicy`` per seat and then calls ``bind(host,
agent_id, scenario)``: the seat joins the run's shared ``LLMRun`` (cache,
budget, clients, counters), whose identity is the policy's ``batch_key``, so
the host hands all same-time LLM decisions of the run to one ``act_batch``
call and they go out concurrently. Unbound (outside a Simulation) the policy
works alone from its own params.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel

from agents.llm import prompts
from agents.llm.config import LLMRunSettings, LLMSettings
from agents.llm.session import LLMRun
from agents.llm.structured import format_instructions, response_format, schema_json
from agents.registry import register


def observation_json(observation: dict[str, Any]) -> str:
    """The observation as compact JSON for the prompt: orjson (the largest item of prompt rendering), else json."""
    try:
        return orjson.dumps(observation, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(observation, separators=(",", ":"), default=str)


@register("llm", worlds=None)
class LLMPolicy:
    """An LLM behind any OpenAI-compatible chat endpoint (hosted or local); plays any world."""

    Params = LLMSettings

    def __init__(self, params: LLMSettings, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.agent_id = "agent"
        self.run: LLMRun | None = None
        self.world: Any = None
        self.world_type: str | None = None
        self._setup(LLMRunSettings().seat(params))

    def _setup(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.history: deque[tuple[str, str]] = deque(maxlen=settings.history_window or None)
        text, source = prompts.load(self.world_type, "system", settings.system_template, settings.system_prompt)
        self.system_template = prompts.check(text, source)
        text, source = prompts.load(self.world_type, "user", settings.user_template, settings.user_prompt)
        self.user_template = prompts.check(text, source)

    # ------------------------------------------------------------------ hooks used by the host
    def bind(self, host: Any, agent_id: str, scenario: Any = None) -> None:
        """Seat this policy as ``agent_id`` in the run hosted by ``host`` (a ``Simulation``)."""
        self.agent_id = agent_id
        self.world = getattr(host, "world", None)
        self.world_type = getattr(type(self.world), "type_name", None) if self.world is not None else None
        self.run = LLMRun.for_host(host, getattr(scenario, "llm", None))
        self._setup(self.run.settings.seat(self.params))
        self.run.add_seat(agent_id, self, self.settings)

    @property
    def batch_key(self) -> Any:
        """Policies with the same key are asked together: all LLM seats of one run."""
        return self.run

    def act_batch(self, requests: list[tuple[str, dict[str, Any], type[BaseModel]]]) -> list[Any]:
        if self.run is None:
            settings = LLMRunSettings.model_validate({k: getattr(self.params, k) for k in self.params.model_fields_set})
            self.run = LLMRun(settings)
            self.run.add_seat(self.agent_id, self, self.settings)
        for agent_id, _, _ in requests:
            if agent_id not in self.run.seats:
                self.run.seats[agent_id] = self
        return self.run.decide(requests)

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> Any:
        return self.act_batch([(self.agent_id, observation, action_model)])[0]

    # ------------------------------------------------------------------ prompts
    def conversation(self, agent_id: str, observation: dict[str, Any], model: type[BaseModel]) -> list[dict[str, str]]:
        """System prompt, the last ``history_window`` (observation, reply) turns, and the current observation."""
        values = {
            "world": self.world_type or "game",
            "agent_id": agent_id,
            "role": self._ask_world("role", agent_id) or "agent",
            "rules": self._ask_world("rules", agent_id) or "(not stated)",
            "format": format_instructions(model),
            "schema": schema_json(model),
            "observation": observation_json(observation),
            "time": f"{self.run.now() if self.run is not None else 0.0:g}",
        }
        messages = [{"role": "system", "content": self.system_template.substitute(values)}]
        for user, assistant in self.history:
            messages.append({"role": "user", "content": user})
            messages.append({"role": "assistant", "content": assistant})
        messages.append({"role": "user", "content": self.user_template.substitute(values)})
        return messages

    def remember(self, user: str, reply: str) -> None:
        if self.settings.history_window:
            self.history.append((user, reply))

    def body(self, messages: list[dict[str, str]], model: type[BaseModel], sampling_seed: int | None = None) -> dict[str, Any]:
        """The chat-completions request body (everything but the API key).

        ``seed`` is the fixed ``llm.seed`` if one is set, else this call's
        ``sampling_seed`` (drawn from the run seed), unless ``send_seed`` is off.
        """
        s = self.settings
        body: dict[str, Any] = {"model": s.model, "messages": messages, "temperature": s.temperature, "max_tokens": s.max_tokens}
        if s.top_p is not None:
            body["top_p"] = s.top_p
        seed = s.seed if s.seed is not None else sampling_seed
        if s.send_seed and seed is not None:
            body["seed"] = seed
        fmt = response_format(s.mode, model)
        if fmt is not None:
            body["response_format"] = fmt
        body.update(s.extra_body)
        return body

    def _ask_world(self, method: str, agent_id: str) -> str | None:
        if self.world is None:
            return None
        try:
            return str(getattr(self.world, method)(agent_id))
        except Exception:  # a world that cannot say (e.g. between matches): leave it out of the prompt
            return None
