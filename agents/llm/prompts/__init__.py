"""Prompt templates: ``<world>.system.txt`` / ``<world>.user.txt`` here, ``generic.*`` otherwise.

Templates are ``string.Template`` text (``$name``). Variables:

- ``$world``, ``$agent_id``, ``$role``: who is deciding, where;
- ``$rules``: ``world.rules(agent_id)``, the rules as this agent knows them;
- ``$format``: the output instructions with the action's JSON Schema;
- ``$schema``: the JSON Schema alone;
- ``$observation``: the observation as JSON (less the keys that repeat others,
  ``shown_observation``); ``$time``: the simulated time;
- ``$persona``: the seat's ``persona`` text (also put before the system prompt
  when the template does not use it);
- any key of the agent's observation, and one level below it joined by ``_``:
  ``$request`` (as JSON), ``$request_text``, ``$profile_name``, ``$profile_menu``...
  (strings as they are, anything else as compact JSON). Such a variable is
  checked when the first observation arrives: a name the observation lacks
  is an error listing the ones it has.

A scenario overrides them per run or per seat with ``system_template`` /
``user_template`` (a file) or ``system_prompt`` / ``user_prompt`` (inline).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template

from agents.llm.cache import LLMError

VARIABLES = ("world", "agent_id", "role", "rules", "format", "schema", "observation", "time", "persona")


class TemplateError(LLMError):
    """A prompt template that cannot be read or uses an unknown variable."""


def builtin(world: str | None, part: str) -> tuple[str, str]:
    """The packaged template for a world (``part`` = "system" or "user"), or the generic one, and its name."""
    folder = resources.files(__name__)
    for name in (f"{world}.{part}.txt" if world else None, f"generic.{part}.txt"):
        if name and folder.joinpath(name).is_file():
            return folder.joinpath(name).read_text(), f"agents/llm/prompts/{name}"
    raise TemplateError(f"no {part} prompt template found")


def load(world: str | None, part: str, path: str | None, inline: str | None) -> tuple[str, str]:
    """The template text and where it came from: inline text, else a file, else the packaged one."""
    if inline is not None:
        return inline, f"llm.{part}_prompt"
    if path is not None:
        try:
            return Path(path).read_text(), path
        except OSError as exc:
            raise TemplateError(f"llm.{part}_template: cannot read {path}: {exc.strerror}") from None
    return builtin(world, part)


# Keys of a world's observation that other keys already hold, left out of its prompts (issue 16: no content twice;
# "a.b" is key b of the dict under a). The marketplace keeps every message and proposal in ``threads`` (per
# counterparty, in order; a proposal carries its ``paid`` flag, a customer's payments are in its threads), so
# ``messages`` (the latest fetch), ``proposals`` (those received), ``contacted`` (the threads' counterparties), ``paid``
# and ``proposals_sent`` would repeat them; a request's ``text`` says in words what its ``items`` (with the willingness
# to pay) and ``amenities`` say. Policies that read those keys (the scripted ones) still get the whole observation, and
# the prompt variables ($request_text) are taken from it.
REPEATED_KEYS: dict[str, tuple[str, ...]] = {
    "marketplace": ("messages", "proposals", "contacted", "paid", "proposals_sent", "request.text"),
}
RESULT_KEYS = ("last_result", "last_results")  # in tools mode they answer the previous turn's tool calls


def shown_observation(world: str | None, observation: dict, results_answered: bool = False) -> dict:
    """The observation as a prompt shows it: without the world's ``REPEATED_KEYS`` and, when the previous turn's tool
    calls were answered with them (tools mode), without ``last_result`` / ``last_results`` (a copy; the world's own
    dicts are never edited)."""
    top, inner = _hidden_keys(world, results_answered)
    if not top and not inner:
        return observation
    shown = {}
    for key, value in observation.items():
        if key in top:
            continue
        if key in inner and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in inner[key]}
        shown[key] = value
    return shown


@lru_cache(maxsize=64)
def _hidden_keys(world: str | None, results_answered: bool) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The top-level keys and the keys one level down (per outer key) that ``shown_observation`` leaves out; once per world."""
    hidden = REPEATED_KEYS.get(world or "", ()) + (RESULT_KEYS if results_answered else ())
    inner: dict[str, set[str]] = {}
    for key in hidden:
        if "." in key:
            outer, sub = key.split(".", 1)
            inner.setdefault(outer, set()).add(sub)
    return frozenset(key for key in hidden if "." not in key), {outer: frozenset(subs) for outer, subs in inner.items()}


def observation_variables(observation: dict) -> dict[str, str]:
    """``$key`` and ``$key_sub`` values from an observation (see the module docstring)."""
    values: dict[str, str] = {}

    def text(value: object) -> str:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)

    for key, value in observation.items():
        if isinstance(key, str) and key.isidentifier():
            values[key] = text(value)
            if isinstance(value, dict):
                for sub, inner in value.items():
                    if isinstance(sub, str) and f"{key}_{sub}".isidentifier():
                        values[f"{key}_{sub}"] = text(inner)
    return values


def fill(template: Template, values: dict[str, str], source: str) -> str:
    """Substitute, naming a variable that neither the prompt variables nor the observation provide."""
    try:
        return template.substitute(values)
    except KeyError as exc:
        name = exc.args[0]
        extra = sorted(set(values) - set(VARIABLES))
        raise TemplateError(
            f"{source}: unknown variable(s) ${name}: not a prompt variable ({', '.join('$' + v for v in VARIABLES)}) "
            f"nor in this agent's observation ({', '.join('$' + v for v in extra) or 'none'})"
        ) from None


def check(text: str, source: str) -> Template:
    """Compile a template, failing on a stray '$' (other names may come from the observation: checked by ``fill``)."""
    template = Template(text)
    try:
        identifiers = template.get_identifiers()
    except ValueError as exc:
        raise TemplateError(f"{source}: invalid template: {exc}") from None
    if not template.is_valid():
        raise TemplateError(f"{source}: a stray '$' (write $$ for a dollar sign); variables: {', '.join('$' + v for v in VARIABLES)}")
    del identifiers
    return template
