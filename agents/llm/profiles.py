"""Model profiles: what a model's requests must look like, and how much context it has.

A profile is picked by the first pattern (``fnmatch``, case-insensitive) that
matches the model name, or set in the scenario (``profile: reasoning``):

* ``chat`` models get ``temperature``, ``top_p`` and ``max_tokens``;
* ``reasoning`` models (OpenAI o1/o3/o4, gpt-5, DeepSeek-R1...) reject those:
  they get ``max_completion_tokens`` (which covers their hidden reasoning, so
  it should be generous) and ``reasoning_effort`` when one is set.

``context_tokens`` (the model's context window) bounds the conversation kept in
memory (``agents.llm.memory``); ``chars_per_token`` is how the budget is
estimated before a call, conservatively for JSON-heavy text (SmolLM2's
tokenizer makes about 3 characters a token of an observation).
Context sizes are the providers' published ones; check yours.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Literal

ProfileKind = Literal["chat", "reasoning"]


@dataclass(frozen=True)
class Profile:
    kind: ProfileKind
    context_tokens: int
    chars_per_token: float = 3.0


# (pattern, profile), first match wins.
PROFILES: tuple[tuple[str, Profile], ...] = (
    ("smollm2*", Profile("chat", 2048)),
    ("o1*", Profile("reasoning", 128_000)),
    ("o3*", Profile("reasoning", 200_000)),
    ("o4*", Profile("reasoning", 200_000)),
    ("gpt-5*", Profile("reasoning", 400_000)),
    ("*deepseek-r1*", Profile("reasoning", 64_000)),
    ("*qwq*", Profile("reasoning", 32_768)),
    ("gpt-4o*", Profile("chat", 128_000)),
    ("gpt-4.1*", Profile("chat", 1_000_000)),
    ("claude-*", Profile("chat", 200_000)),
    ("gemini-*", Profile("chat", 1_000_000)),
    ("*llama-3*", Profile("chat", 8192)),
)
DEFAULT = Profile("chat", 8192)


def profile_for(model: str, kind: ProfileKind | None = None, context_tokens: int | None = None) -> Profile:
    """The profile of ``model``, with the scenario's ``profile`` / ``context_tokens`` winning when set."""
    name = model.lower()
    found = next((p for pattern, p in PROFILES if fnmatch(name, pattern)), DEFAULT)
    return Profile(kind or found.kind, context_tokens or found.context_tokens, found.chars_per_token)
