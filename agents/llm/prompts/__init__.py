"""Prompt templates: ``<world>.system.txt`` / ``<world>.user.txt`` here, ``generic.*`` otherwise.

Templates are ``string.Template`` text (``$name``). Variables:

- ``$world``, ``$agent_id``, ``$role``: who is deciding, where;
- ``$rules``: ``world.rules(agent_id)``, the rules as this agent knows them;
- ``$format``: the output instructions with the action's JSON Schema;
- ``$schema``: the JSON Schema alone;
- ``$observation``: the observation as JSON; ``$time``: the simulated time.

A scenario overrides them per run or per seat with ``system_template`` /
``user_template`` (a file) or ``system_prompt`` / ``user_prompt`` (inline).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

from agents.llm.cache import LLMError

VARIABLES = ("world", "agent_id", "role", "rules", "format", "schema", "observation", "time")


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


def check(text: str, source: str) -> Template:
    """Compile a template, failing on variables it does not know."""
    template = Template(text)
    try:
        identifiers = template.get_identifiers()
    except ValueError as exc:
        raise TemplateError(f"{source}: invalid template: {exc}") from None
    unknown = sorted(set(identifiers) - set(VARIABLES))
    if unknown or not template.is_valid():
        what = f"unknown variable(s) {', '.join('$' + u for u in unknown)}" if unknown else "a stray '$' (write $$ for a dollar sign)"
        raise TemplateError(f"{source}: {what}; allowed: {', '.join('$' + v for v in VARIABLES)}")
    return template
