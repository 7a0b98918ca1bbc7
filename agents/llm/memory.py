"""One conversation per agent across its decisions, trimmed to the model's context.

A turn is what one decision added: the observation (a user message), the
agent's reply (an assistant message: text, or tool calls) and, in tools mode,
one tool result per call, filled in when the next observation shows the
world's ``last_result``. A request is the system prompt, as many past turns as
fit, newest kept, and the current observation; past turns are dropped oldest
first, whole (a tool call is never sent without its result, which chat APIs
reject). The budget is the context window less the completion tokens, the
tools' size and a margin; token counts are estimated from characters
(``chars_per_token`` of the model's profile, conservative for JSON). If the
system prompt and the current observation alone do not fit, ``ContextOverflow``
is raised before anything is sent: a prompt never exceeds the context.

With ``summary`` on, the turns a request had no room for are taken out after
the decision and the same model is asked to fold them into its running summary
(``summary_request``), which then goes with the system prompt.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from agents.llm.client import LLMCallError

MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message (role markers)
MARGIN = 32  # tokens kept free for the template's own text (generation prompt, tool-call syntax)


class ContextOverflow(LLMCallError):
    """The system prompt and the current observation alone exceed the context window."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 400, 0, kind="context_length")


def message_chars(message: dict[str, Any]) -> int:
    chars = len(str(message.get("content") or ""))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        chars += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    return chars


def estimate_tokens(messages: list[dict[str, Any]], chars_per_token: float, extra_chars: int = 0) -> int:
    """Prompt tokens a request will take, before it is sent (characters / chars_per_token + per-message overhead)."""
    return tokens_for(sum(message_chars(m) for m in messages) + extra_chars, len(messages), chars_per_token)


def tokens_for(chars: int, messages: int, chars_per_token: float) -> int:
    """``estimate_tokens`` from the characters and the number of messages (what a kept turn remembers of itself)."""
    return int(chars / chars_per_token) + MESSAGE_OVERHEAD * messages


class Conversation:
    """Past turns of one agent; ``max_turns`` caps them (0: none kept, each decision on its own)."""

    def __init__(self, max_turns: int | None) -> None:
        self.max_turns = max_turns
        self.turns: deque[list[dict[str, Any]]] = deque(maxlen=max_turns or None)
        # Each turn's size as sent (characters, messages), kept beside it: every request weighs the past turns again,
        # and counting their characters anew each time was a tenth of the prompt's rendering.
        self.sizes: deque[tuple[int, int]] = deque(maxlen=max_turns or None)
        self.dropped = 0  # turns left out of the last request for lack of room
        self.summary: str | None = None  # the model's own running summary of turns taken out (``take_dropped``)

    def add(self, user: dict[str, Any], reply: dict[str, Any]) -> None:
        """Keep one decision: the observation and the reply (tool results come with the next observation)."""
        if self.max_turns == 0:
            return
        turn = [user, reply]
        self.turns.append(turn)
        self.sizes.append(self._size(turn))

    def answer_calls(self, result: Any, results: Any = None) -> None:
        """Give the last turn's tool calls their results.

        ``results`` (a world's ``last_results``, one per action of the decision)
        when it has one per call; else ``result`` (``last_result``) for the last
        call and a neutral note for the others.
        """
        if not self.turns:
            return
        turn = self.turns[-1]
        calls = turn[1].get("tool_calls") or []
        if not calls or len(turn) > 2:
            return
        per_call = isinstance(results, list) and len(results) == len(calls)
        for i, call in enumerate(calls):
            if per_call:
                value = results[i]
            elif i == len(calls) - 1:
                value = result
            else:
                value = {"ok": True, "note": "applied; see the last call's result"}
            content = json.dumps(value, separators=(",", ":"), default=str) if value is not None else '{"ok":true}'
            turn.append({"role": "tool", "tool_call_id": call["id"], "content": content})
        self.sizes[-1] = self._size(turn)

    def messages(
        self, system: dict[str, Any], current: list[dict[str, Any]], budget: int, chars_per_token: float, extra_chars: int = 0,
    ) -> list[dict[str, Any]]:
        """System, the newest past turns that fit ``budget`` tokens, and ``current``; raises ``ContextOverflow``."""
        fixed = estimate_tokens([system, *current], chars_per_token, extra_chars)
        if fixed > budget:
            raise ContextOverflow(
                f"the prompt needs about {fixed} tokens without any history but the budget is {budget} "
                "(context_tokens less max_tokens and the tools); raise llm.context_tokens, lower llm.max_tokens "
                "or shorten the system prompt"
            )
        room = budget - fixed
        kept: list[list[dict[str, Any]]] = []
        for turn, (chars, count) in zip(reversed(self.turns), reversed(self.sizes)):
            cost = tokens_for(chars, count, chars_per_token)  # estimate_tokens of the turn as sent
            if cost > room:
                break
            room -= cost
            kept.append(turn)
        self.dropped = len(self.turns) - len(kept)
        history = [m for turn in reversed(kept) for m in self._complete(turn)]
        return [system, *history, *current]

    def take_dropped(self) -> list[list[dict[str, Any]]]:
        """Remove and return the turns the last request had no room for (oldest first), to be summarised."""
        taken = [self.turns.popleft() for _ in range(min(self.dropped, len(self.turns)))]
        for _ in taken:
            self.sizes.popleft()
        self.dropped = 0
        return [self._complete(turn) for turn in taken]

    @classmethod
    def _size(cls, turn: list[dict[str, Any]]) -> tuple[int, int]:
        sent = cls._complete(turn)
        return sum(message_chars(m) for m in sent), len(sent)

    @staticmethod
    def _complete(turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A turn as sent: tool calls without a result yet get a neutral one (every call id must be answered)."""
        calls = turn[1].get("tool_calls") or []
        if calls and len(turn) == 2:
            return turn + [{"role": "tool", "tool_call_id": c["id"], "content": '{"ok":true}'} for c in calls]
        return turn


SUMMARY_SYSTEM = (
    "You keep the running notes of an agent in a simulation. Merge the earlier notes and the turns below into new notes: "
    "the facts, offers, promises and results that matter for later decisions. At most {words} words, plain text."
)


def summary_request(previous: str | None, turns: list[list[dict[str, Any]]], words: int) -> list[dict[str, Any]]:
    """The messages asking the model to fold ``turns`` into its running summary."""
    lines = [f"Earlier notes: {previous or '(none)'}", "Turns:"]
    for turn in turns:
        for m in turn:
            calls = "; ".join(f"{c['function']['name']}({c['function'].get('arguments') or ''})" for c in m.get("tool_calls") or [])
            lines.append(f"[{m['role']}] " + (str(m.get("content") or "") + (" " + calls if calls else "")).strip())
    return [{"role": "system", "content": SUMMARY_SYSTEM.format(words=words)}, {"role": "user", "content": "\n".join(lines)}]
