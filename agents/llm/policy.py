"""``policy: llm`` — one LLM policy that plays every world through the World/Policy protocols.

The world's rules (``world.rules(agent)``), the agent's role, its observation
and the action model's JSON Schema fill a per-world prompt template
(``agents/llm/prompts``); the reply is validated against the action model.
No world needs LLM-specific code.

The registry entry declares the scenario's top-level ``llm:`` block as this
policy's run-wide settings (``LLMRunSettings``), so the scenario loader
validates it and the host hands it to each seat. The host builds one
``LLMPolicy`` per seat and then calls ``bind(seat)`` with the seat's context
(``agents/policy.py``): the seat joins the run's shared ``LLMRun`` (cache,
budget, clients, counters), a resource of the run whose identity is the
policy's ``batch_key``, so the host hands all same-time LLM decisions of the
run to one ``act_batch`` call and they go out concurrently; its
``batch_window`` is ``llm.batch_window``. Unbound (outside a run) the policy
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
from agents.llm.session import LLMRun, counter_lines
from agents.llm.structured import format_instructions, response_format, schema_json
from agents.policy import SeatContext
from agents.registry import register


def observation_json(observation: dict[str, Any]) -> str:
    """The observation as compact JSON for the prompt: orjson (the largest item of prompt rendering), else json."""
    try:
        return orjson.dumps(observation, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(observation, separators=(",", ":"), default=str)


@register("llm", worlds=None, settings=LLMRunSettings, settings_key="llm", describe_counters=counter_lines)
class LLMPolicy:
    """An LLM behind any OpenAI-compatible chat endpoint (hosted or local); plays any world."""

    Params = LLMSettings

    def __init__(self, params: LLMSettings, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.agent_id = "agent"
        self.run: LLMRun | None = None
        self.seat: SeatContext | None = None
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
    def bind(self, seat: SeatContext) -> None:
        """Take ``seat`` in its run: join the run's ``LLMRun`` with this seat's settings."""
        self.seat = seat
        self.agent_id = seat.agent_id
        self.world_type = seat.world_type
        self.run = LLMRun.for_seat(seat)
        self._setup(self.run.settings.seat(self.params))
        self.run.add_seat(seat.agent_id, self, self.settings)

    @property
    def batch_key(self) -> Any:
        """Policies with the same key are asked together: all LLM seats of one run."""
        return self.run

    @property
    def batch_window(self) -> float:
        """``llm.batch_window``: the simulated time over which the host gathers LLM decisions."""
        return self.run.settings.batch_window if self.run is not None else 0.0

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
            "role": self.seat.role if self.seat is not None else "agent",
            "rules": (self.seat.rules() if self.seat is not None else None) or "(not stated)",
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
