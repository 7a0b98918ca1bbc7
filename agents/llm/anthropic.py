"""Anthropic's Messages API (``provider: anthropic``) behind the same interface as chat completions.

The policy builds every request in the OpenAI chat-completions shape (so the
cache, transcripts and tests see one format); ``AnthropicClient`` translates it
on the wire and translates the answer back (Anthropic, "Messages" and "Tool
use" API reference, version ``2023-06-01``):

* system messages -> the top-level ``system`` text;
* an assistant message's ``tool_calls`` -> ``tool_use`` content blocks; ``tool``
  messages -> ``tool_result`` blocks in the next user message (consecutive
  messages of one role are merged: the API wants user and assistant to alternate);
* ``tools`` -> ``{name, description, input_schema}``; ``tool_choice: required``
  -> ``{"type": "any"}``, and ``disable_parallel_tool_use`` where one call is wanted;
* ``max_tokens`` / ``max_completion_tokens`` -> ``max_tokens`` (required there);
  ``seed``, ``response_format`` and ``reasoning_effort`` have no equivalent and are
  not sent (the JSON modes then rely on the prompt's spec); ``temperature`` and
  ``top_p`` pass through;
* the answer's ``text`` blocks -> content, ``tool_use`` blocks -> tool calls,
  ``usage.input_tokens`` / ``output_tokens`` -> prompt / completion tokens.

Hand-written on the shared chat client (``agents.llm.http``) rather than the ``anthropic`` SDK so
that retries (429, 5xx and 529 ``overloaded``, ``Retry-After``), pacing, the
failure kinds (Anthropic's "prompt is too long" is a ``context_length``) and
the per-request CPU cost stay the same for both providers.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from agents.llm.client import CallResult, ChatClient

API_VERSION = "2023-06-01"


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": str(content)}] if content else []


def to_messages_request(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped chat-completions body as a Messages API body."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def push(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in body.get("messages", []):
        role = message.get("role")
        if role == "system":
            system.append(str(message.get("content") or ""))
        elif role == "assistant":
            blocks = _blocks(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                arguments = function.get("arguments") or "{}"
                try:
                    arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
                except ValueError:
                    arguments = {}
                blocks.append({"type": "tool_use", "id": call["id"], "name": function.get("name"), "input": arguments})
            push("assistant", blocks)
        elif role == "tool":
            push("user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": str(message.get("content") or "")}])
        else:
            push("user", _blocks(message.get("content")))
    out: dict[str, Any] = {
        "model": body.get("model"),
        "max_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or 1024),
        "messages": messages,
    }
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p"):
        if key in body:
            out[key] = body[key]
    if body.get("tools"):
        out["tools"] = [
            {"name": t["function"]["name"], "description": t["function"].get("description") or "",
             "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}}}
            for t in body["tools"]
        ]
        choice: dict[str, Any] = {"type": "any"} if body.get("tool_choice") == "required" else {"type": "auto"}
        if body.get("parallel_tool_calls") is False:
            choice["disable_parallel_tool_use"] = True
        out["tool_choice"] = choice
    return out


def from_messages_response(data: dict[str, Any]) -> CallResult:
    """A Messages API answer as a ``CallResult`` (text joined, tool_use blocks as tool calls)."""
    texts, calls = [], []
    for block in data["content"]:
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            calls.append({"id": str(block["id"]), "name": str(block.get("name") or ""), "arguments": json.dumps(block.get("input") or {})})
    usage = data.get("usage") or {}
    return CallResult(
        content="".join(texts),
        usage={"prompt_tokens": int(usage.get("input_tokens") or 0), "completion_tokens": int(usage.get("output_tokens") or 0)},
        latency_ms=0.0, finish_reason=data.get("stop_reason"), tool_calls=calls or None,
    )


class AnthropicClient(ChatClient):
    """``POST {base_url}/messages`` with ``x-api-key`` and ``anthropic-version`` (base_url e.g. https://api.anthropic.com/v1)."""

    path = "/messages"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def encode(self, body: dict[str, Any]) -> bytes:
        return orjson.dumps(to_messages_request(body))

    def decode(self, data: dict[str, Any]) -> CallResult:
        return from_messages_response(data)
