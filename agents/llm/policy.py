"""``policy: llm`` — one LLM policy that plays every world through the World/Policy protocols.

The world's rules (``world.rules(agent)``), the agent's role, its observation
and what it may do now (``world.action_model(agent)``: as tools in ``mode:
tools``, ``agents.llm.tools``; as a short readable spec in the JSON modes,
``agents.llm.spec``) fill a per-world prompt template (``agents/llm/prompts``);
the reply is validated against the action model, the discriminator ``kind``
included. Each seat keeps one conversation across its decisions, trimmed to
the model's context (``agents.llm.memory``); the request's shape follows the
model's profile (``agents.llm.profiles``). No world needs LLM-specific code.

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
from functools import lru_cache
from string import Template
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel

from agents.llm import prompts
from agents.llm.config import LLMRunSettings, LLMSettings
from agents.llm.memory import MARGIN, ContextOverflow, Conversation, summary_request
from agents.llm.profiles import profile_for
from agents.llm.schema import shape_of
from agents.llm.session import LLMRun, counter_lines
from agents.llm.spec import format_text
from agents.llm.structured import parse_reply, reask_text, response_format, schema_text
from agents.llm.tools import parse_tool_calls, tool_choice_fields, tools_for
from agents.policy import SeatContext
from agents.registry import register
from agents.run_settings import SeatOfRun


def observation_json(observation: dict[str, Any]) -> str:
    """The observation as compact JSON for the prompt: orjson (the largest item of prompt rendering), else json."""
    try:
        return orjson.dumps(observation, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(observation, separators=(",", ":"), default=str)


@register("llm", worlds=None, settings=LLMRunSettings, settings_key="llm", describe_counters=counter_lines)
class LLMPolicy(SeatOfRun):
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
        self.profile = profile_for(settings.model, None if settings.profile == "auto" else settings.profile, settings.context_tokens)
        self.memory = Conversation(settings.history_window)
        self.system_template, self.system_source = template(self.world_type, "system", settings.system_template, settings.system_prompt)
        self.user_template, self.user_source = template(self.world_type, "user", settings.user_template, settings.user_prompt)
        self.persona_template = compiled(settings.persona, "llm.persona") if settings.persona else None
        # The observation keys the templates may name ($key, $key_sub): only those are rendered for each prompt.
        self.template_keys = named_keys(*(t for t in (self.system_template, self.user_template, self.persona_template) if t is not None))
        # The system prompt is the same text while the values it names are (rules, format: most decisions); kept, not refilled.
        self.system_names = tuple(sorted(self.system_template.get_identifiers()))
        self.system_prompts: dict[tuple, str] = {}
        self.calls_made = 0  # tool-call ids for servers that send none

    # ------------------------------------------------------------------ hooks used by the host
    def bind(self, seat: SeatContext) -> None:
        """Take ``seat`` in its run: join the run's ``LLMRun`` with this seat's settings."""
        self.seat = seat
        self.agent_id = seat.agent_id
        self.world_type = seat.world_type
        self.run = LLMRun.for_seat(seat)
        self._setup(self.run.settings.seat(self.params))
        self.run.add_seat(seat.agent_id, self, self.settings)

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
    @property
    def tools_mode(self) -> bool:
        return self.settings.mode == "tools"

    def conversation(self, agent_id: str, observation: dict[str, Any], model: type[BaseModel]) -> list[dict[str, Any]]:
        """System prompt, the past turns that fit the context (``agents.llm.memory``), and the current observation.

        In tools mode the world's ``last_result`` (or ``last_results``, one per
        action) answers the previous turn's tool calls and is left out of the
        observation shown. If the observation alone does not fit the context,
        its longest lists are cut to their newest items (``shrink``).
        """
        s = self.settings
        if self.tools_mode:
            self.memory.answer_calls(observation.get("last_result"), observation.get("last_results"))
        shown = prompts.shown_observation(self.world_type, observation, results_answered=self.tools_mode)
        values = prompts.observation_variables({k: v for k, v in observation.items() if k in self.template_keys})
        values.update({
            "world": self.world_type or "game",
            "agent_id": agent_id,
            "role": self.seat.role if self.seat is not None else "agent",
            "rules": (self.seat.rules() if self.seat is not None else None) or "(not stated)",
            "format": tools_text(model, s.reason) if self.tools_mode else format_text(model, s.reason),
            "schema": schema_text(model),
            "observation": observation_json(shown),
            "time": f"{self.run.now() if self.run is not None else 0.0:g}",
            "persona": "",
        })
        if self.persona_template is not None:
            values["persona"] = self._fill(self.persona_template, values, "llm.persona", observation)
        key = tuple(values.get(name) for name in self.system_names)
        system = self.system_prompts.get(key)
        if system is None:
            system = self._fill(self.system_template, values, self.system_source, observation)
            if len(self.system_prompts) >= 8:  # a few action models per seat; never an unbounded store
                self.system_prompts.clear()
            self.system_prompts[key] = system
        if values["persona"] and "persona" not in self.system_template.get_identifiers():
            system = values["persona"] + "\n\n" + system
        if self.memory.summary:
            system += "\n\nYour notes on earlier turns: " + self.memory.summary
        tools_chars = len(orjson.dumps(tools_for(model, s.reason))) if self.tools_mode else 0
        budget = self.profile.context_tokens - s.max_tokens - MARGIN
        for _ in range(SHRINK_ROUNDS):
            current = [{"role": "user", "content": self._fill(self.user_template, values, self.user_source, observation)}]
            try:
                return self.memory.messages({"role": "system", "content": system}, current, budget, self.profile.chars_per_token, tools_chars)
            except ContextOverflow:
                shown = shrink(shown)
                if shown is None:
                    raise
                values["observation"] = observation_json(shown)
        raise ContextOverflow(f"the observation does not fit the context budget of {budget} tokens even with its lists cut")

    def _fill(self, template: Any, values: dict[str, str], source: str, observation: dict[str, Any]) -> str:
        try:
            return prompts.fill(template, values, source)
        except prompts.TemplateError:
            # Say every variable the observation offers, not only those rendered (this raises the complete message).
            prompts.fill(template, {**prompts.observation_variables(observation), **values}, source)
            raise

    def parse(self, response: dict[str, Any], model: type[BaseModel]) -> tuple[BaseModel, str | None]:
        """The action in a reply and its stated reason; raises ``ParseFailure``."""
        if self.tools_mode:
            action, reasons = parse_tool_calls(response.get("tool_calls"), model)
            text = (response.get("content") or "").strip()  # a think-then-act reply's text before its calls
            reason = " ".join(([text] if text else []) + reasons) or None
            return action, reason
        return parse_reply(response.get("content"), model, self.settings.reason)

    def assistant_message(self, response: dict[str, Any]) -> dict[str, Any]:
        """The reply as it goes back into the conversation (tool calls in the OpenAI shape)."""
        message: dict[str, Any] = {"role": "assistant", "content": response.get("content") or ""}
        calls = response.get("tool_calls")
        if calls:
            message["tool_calls"] = []
            for call in calls:
                self.calls_made += 1
                message["tool_calls"].append({"id": call.get("id") or f"call_{self.calls_made}", "type": "function",
                                              "function": {"name": call.get("name"), "arguments": call.get("arguments") or "{}"}})
            if not message["content"]:
                message["content"] = None
        return message

    def reask(self, messages: list[dict[str, Any]], response: dict[str, Any], failure: Exception) -> list[dict[str, Any]]:
        """The conversation for the one re-ask: the invalid reply and what was wrong with it."""
        reply = self.assistant_message(response)
        if reply.get("tool_calls"):
            results = [{"role": "tool", "tool_call_id": c["id"], "content": f"rejected: {failure}"} for c in reply["tool_calls"]]
            return messages + [reply, *results, {"role": "user", "content": reask_tools_text(str(failure))}]
        return messages + [reply if not self.tools_mode else {"role": "assistant", "content": reply["content"] or ""},
                           {"role": "user", "content": reask_tools_text(str(failure)) if self.tools_mode else reask_text(str(failure))}]

    def remember(self, messages: list[dict[str, Any]], response: dict[str, Any] | None, action: Any) -> None:
        """Keep this decision's observation and reply in the conversation (a failed one as a note)."""
        if not self.settings.history_window:
            return
        if isinstance(action, BaseModel) and response is not None:
            reply = self.assistant_message(response)
            if not self.tools_mode:
                reply = {"role": "assistant", "content": response.get("content") or action.model_dump_json()}
        else:
            reply = {"role": "assistant", "content": "(no valid action: the world's default action was played)"}
        self.memory.add(messages[-1], reply)

    def summary_body(self, sampling_seed: int) -> dict[str, Any] | None:
        """A request folding the turns the last prompt had no room for into the running summary (None: nothing to do)."""
        if not self.settings.summary or not self.memory.dropped:
            return None
        turns = self.memory.take_dropped()
        messages = summary_request(self.memory.summary, turns, max(20, self.settings.max_tokens // 2))
        body = self.body(messages, None, sampling_seed)
        return body

    def body(self, messages: list[dict[str, Any]], model: type[BaseModel] | None, sampling_seed: int | None = None) -> dict[str, Any]:
        """The chat-completions request body (everything but the API key).

        ``seed`` is the fixed ``llm.seed`` if one is set, else this call's
        ``sampling_seed`` (drawn from the run seed), unless ``send_seed`` is off.
        A reasoning profile sends ``max_completion_tokens`` and
        ``reasoning_effort`` and no sampling parameters (those models reject them).
        """
        s = self.settings
        body: dict[str, Any] = {"model": s.model, "messages": messages}
        if self.profile.kind == "reasoning":
            body["max_completion_tokens"] = s.max_tokens
            if s.reasoning_effort is not None:
                body["reasoning_effort"] = s.reasoning_effort
        else:
            body["temperature"] = s.temperature
            body["max_tokens"] = s.max_tokens
            if s.top_p is not None:
                body["top_p"] = s.top_p
        seed = s.seed if s.seed is not None else sampling_seed
        if s.send_seed and seed is not None:
            body["seed"] = seed
        if model is None:  # a plain text request (the running summary)
            pass
        elif self.tools_mode:
            body["tools"] = tools_for(model, s.reason)
            body.update(tool_choice_fields(model))
        else:
            fmt = response_format(s.mode, model, s.reason)
            if fmt is not None:
                body["response_format"] = fmt
        body.update(s.extra_body)
        return body


SHRINK_ROUNDS = 40


def template(world: str | None, part: str, path: str | None, inline: str | None) -> tuple[Template, str]:
    """The seat's checked ``part`` template and where it came from (``prompts.load``); a file is read anew each time."""
    if path is not None and inline is None:
        text, source = prompts.load(world, part, path, inline)
        return prompts.check(text, source), source
    return _packaged_or_inline(world, part, inline)


@lru_cache(maxsize=256)
def _packaged_or_inline(world: str | None, part: str, inline: str | None) -> tuple[Template, str]:
    # Cached: a run seats hundreds of LLM agents, and reading and compiling the packaged template for each was most of
    # their set-up. A Template is never changed after it is made, so the seats can share one.
    text, source = prompts.load(world, part, None, inline)
    return prompts.check(text, source), source


@lru_cache(maxsize=256)
def compiled(text: str, source: str) -> Template:
    """``prompts.check`` of an inline template, once per text."""
    return prompts.check(text, source)


def named_keys(*templates: Template) -> frozenset[str]:
    """The observation keys that the templates' names may refer to: ``key`` itself or ``key_sub``
    (``prompts.observation_variables``), i.e. every name and each of its prefixes before an ``_``.

    Rendering every key and sub-key of the observation as JSON for each prompt was a third of a marketplace
    decision's CPU, and the packaged templates name none of them.
    """
    keys = set()
    for template in templates:
        for name in template.get_identifiers():
            keys.add(name)
            keys.update(name[:i] for i, c in enumerate(name) if c == "_" and i)
    return frozenset(keys)


OMITTED = "omitted_older"  # the marker a cut list (its first item) or dict (a key) carries


def _cut(item: Any) -> tuple[int, Any] | None:
    """``item`` cut to its newer half with the marker's count updated, and how many real items it had; None if < 2."""
    if isinstance(item, list):
        marked = bool(item) and isinstance(item[0], dict) and OMITTED in item[0]
        real, omitted = (item[1:], item[0][OMITTED]) if marked else (item, 0)
        if len(real) < 2:
            return None
        keep = len(real) // 2
        return len(real), [{OMITTED: omitted + len(real) - keep}] + real[len(real) - keep:]
    if isinstance(item, dict):  # only a keyed collection (every value a list or dict, e.g. threads per counterparty)
        omitted = item.get(OMITTED, 0) if isinstance(item.get(OMITTED, 0), int) else 0
        real = [k for k in item if k != OMITTED]
        if len(real) < 2 or not all(isinstance(item[k], (list, dict)) for k in real):
            return None
        keep = len(real) // 2
        return len(real), {OMITTED: omitted + len(real) - keep, **{k: item[k] for k in real[len(real) - keep:]}}
    return None


def shrink(observation: dict[str, Any]) -> dict[str, Any] | None:
    """The observation with its largest list or keyed collection (at the top or one or two levels down) cut to its newer half.

    Used only when the system prompt and the whole observation would not fit the
    context: the newest items are kept (the end of a list, the last keys of a
    dict: messages, threads, proposals are in arrival order) and a marker
    (``omitted_older``) says how many older ones were left out. ``None`` when
    nothing is left to cut.
    """
    best: tuple[int, tuple[Any, ...], Any] | None = None

    def visit(path: tuple[Any, ...], item: Any, depth: int) -> None:
        nonlocal best
        cut = _cut(item)
        if cut is not None:
            size = len(orjson.dumps(item, default=str, option=orjson.OPT_NON_STR_KEYS))
            if best is None or size > best[0]:
                best = (size, path, cut[1])
        if depth < 2 and isinstance(item, dict):
            for key, inner in item.items():
                visit((*path, key), inner, depth + 1)

    for key, value in observation.items():
        visit((key,), value, 0)
    if best is None:
        return None
    _, path, replacement = best
    out = dict(observation)
    node = out
    for key in path[:-1]:  # copy the parents on the way down: the world's own dicts stay untouched
        node[key] = dict(node[key])
        node = node[key]
    node[path[-1]] = replacement
    return out


def tools_text(model: type[BaseModel], reason: bool = False) -> str:
    """The ``$format`` text of tools mode: how to act (the tools themselves are sent beside the messages); with
    ``reason`` what every tool's ``reason`` argument is for (said once here, not in each tool)."""
    shape = shape_of(model)
    why = " 'reason': why (optional)." if reason else ""
    if shape.mode == "several":
        limit = f"up to {shape.max_items}" if shape.max_items else "several"
        return f"{limit.capitalize()} tool calls a turn, in order.{why}"
    return "Act by calling exactly one of the tools offered." + why


def reask_tools_text(error: str) -> str:
    return f"That was not a valid action: {error}. Call the tools again, correctly."
