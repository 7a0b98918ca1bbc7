"""The trust boundary: what a scenario submitted to the API may name and how big it may be.

A scenario that arrives through the API (inline text, a JSON object, or a
shipped file with overrides alike) is *untrusted*; one given to the CLI is the
user's own and none of this applies to it. This module is the one place that
decides, so every route, every sweep cell and every worker applies the same
rules (the settings are in ``api/settings.py``):

* **LLM endpoints** (``base_url`` of the ``llm:`` block and of every seat's
  ``params``, the default included, and any ``url``/``endpoint`` parameter of
  another policy): only the URLs in ``AGORA_LLM_ENDPOINTS``; none by default.
* **Remote agents** (``url`` of a ``policy: remote`` seat): only the URLs in
  ``AGORA_REMOTE_ENDPOINTS``, compared exactly; none by default. The remote
  client does not follow redirects, so an allowed agent cannot point the
  server elsewhere. A remote seat's ``headers_env`` follows the key rules below.
* **Key variables** (``api_key_env``, a remote seat's ``headers_env``): only names in ``AGORA_LLM_KEY_ENVS``,
  and never an ``AGORA_*`` variable, whatever that list says. Run workers
  start with an environment holding only those variables (``worker_env``), so
  a name outside the list has nothing to read anyway.
* **Prompts**: inline (``system_prompt``/``user_prompt``) or the name of a
  template in the package's ``agents/llm/prompts`` folder; no other file.
* **The LLM cache** is the server's (``AGORA_API_LLM_CACHE``); ``cache_path``
  is refused.
* **Market data** (``world.data``) only under ``AGORA_DATA_ROOT`` or the
  shipped data; the marketplace's validator enforces it from the validation
  context ``context()`` builds, with errors that name no server path.
* **Policy files** (a seat's ``path``/``file``/``*_path``/``*_file`` parameter,
  e.g. a ``learned`` policy's table): only paths under ``AGORA_DATA_ROOT``;
  the policy resolves a relative path under the roots of the validation
  context (as the marketplace does for ``data:``), and this check refuses any
  other, so a policy file outside the root is never opened.
* **Sizes**: agents, rounds, payoff-table profiles, sweep cells and workers,
  overrides, YAML nodes (``AGORA_MAX_*``).

Each refusal names the field and the server setting that would allow it; the
API answers them as one 422 problem (``urn:agora:problem:untrusted-scenario``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from api.settings import SHIPPED_DATA, Settings

PROMPTS_PACKAGE = "agents.llm.prompts"
URL_PARAMS = ("base_url", "url", "endpoint")  # parameters of any policy that name where it connects
FILE_PARAMS = ("path", "file")  # ... and that name a file it reads (also any *_path / *_file)
# Variables every worker keeps: what Python and the C library need, nothing secret.
BASE_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONHASHSEED", "PYTHONPATH")


@dataclass(frozen=True)
class Refusal:
    """One field an untrusted scenario may not set this way, and the setting that would allow it."""

    path: str
    message: str
    setting: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "setting": self.setting, "text": f"{self.path}: {self.message}"}


class Untrusted(Exception):
    """An untrusted scenario asks for what the server's settings do not allow."""

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(f"{r.path}: {r.message}" for r in refusals))


# --------------------------------------------------------------------------- validation context and environment


def context(settings: Settings, scenario_dir: Path | None = None) -> dict[str, Any]:
    """The validation context of an untrusted scenario (see ``simulator.scenario.validate_scenario``)."""
    roots = [str(SHIPPED_DATA)] + ([str(settings.data_root)] if settings.data_root is not None else [])
    # Relative paths are looked up from the scenario's folder first: a shipped file's, and for text the shipped
    # scenarios' folder (shipped scenarios sent as text); whatever they resolve to must lie under a root.
    return {"data_roots": roots, "scenario_dir": str(scenario_dir or settings.scenarios),
            "screen": functools.partial(screen, settings=settings)}


def screen(scenario: Any, settings: Settings) -> None:
    """The size limits inside validation (``simulator.scenario.validate_scenario``'s ``screen``): raises ``Untrusted``
    before the roster check builds the world, so every count is bounded before anything is generated. Endpoints,
    keys and files are checked after validation, where their messages name a sweep point or the resolved file.
    A module-level function in a partial, so that the context pickles into run workers."""
    found = list(_size_refusals(scenario_data(scenario), settings))
    if found:
        raise Untrusted(found)


def worker_env(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The scrubbed environment of a run worker: the base variables, the allowed key variables, the server's cache."""
    environ = dict(os.environ if environ is None else environ)
    names = set(BASE_ENV) | {name for name in settings.llm_key_envs if not name.upper().startswith("AGORA_")}
    env = {name: environ[name] for name in names if name in environ}
    cache = settings.llm_cache_file()
    env["AGORA_LLM_CACHE"] = cache if isinstance(cache, str) else str(cache.resolve())
    return env


def prompt_names() -> list[str]:
    folder = resources.files(PROMPTS_PACKAGE)
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".txt"))


def _prompt_file(value: str) -> Path | None:
    """The packaged template a scenario names (``marketplace.system.txt`` or ``agents/llm/prompts/...``), if any."""
    name = value.removeprefix("agents/llm/prompts/")
    if name in prompt_names():
        return Path(str(resources.files(PROMPTS_PACKAGE).joinpath(name)))
    return None


# --------------------------------------------------------------------------- the checks


def refusals(data: dict[str, Any], settings: Settings) -> list[Refusal]:
    """Everything in raw scenario data (overrides applied) that the server's settings do not allow."""
    return (list(_llm_refusals(data, settings)) + list(_remote_refusals(data, settings)) + list(_file_refusals(data, settings))
            + list(_size_refusals(data, settings)))


def check(data: dict[str, Any], settings: Settings) -> None:
    found = refusals(data, settings)
    if found:
        raise Untrusted(found)


def scenario_data(scenario: Any) -> dict[str, Any]:
    """A validated ``Scenario`` as raw data (its world block as given, not the world's config)."""
    return scenario.model_dump(mode="python", exclude={"world_config"}, exclude_none=True)


def _llm_blocks(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(path prefix, settings mapping, policy name) for the ``llm:`` block and every seat's params."""
    llm = data.get("llm")
    if isinstance(llm, dict):
        yield "llm", llm, "llm"
    for key, spec in (data.get("agents") or {}).items():
        if isinstance(spec, dict):
            params = spec.get("params") or {}
            if isinstance(params, dict):
                yield f"agents.{key}.params", params, str(spec.get("policy"))


def _llm_seats(data: dict[str, Any]) -> list[str]:
    seats = []
    for key, spec in (data.get("agents") or {}).items():
        policy = spec if isinstance(spec, str) else (spec or {}).get("policy") if isinstance(spec, dict) else None
        if policy == "llm":
            seats.append(key)
    return seats


def _llm_refusals(data: dict[str, Any], settings: Settings) -> Iterator[Refusal]:
    from agents.llm.config import LLMSettings

    endpoints = set(settings.llm_endpoints)
    allowed_urls = ", ".join(sorted(endpoints)) or "none on this server"
    key_envs = {name for name in settings.llm_key_envs if not name.upper().startswith("AGORA_")}
    allowed_keys = ", ".join(sorted(key_envs)) or "none on this server"
    llm = data.get("llm") if isinstance(data.get("llm"), dict) else {}
    for prefix, block, policy in _llm_blocks(data):
        if policy == "remote":  # its own allow-list (_remote_refusals)
            continue
        is_llm = prefix == "llm" or policy == "llm"
        for name in URL_PARAMS if not is_llm else ("base_url",):
            if name in block and str(block[name]).rstrip("/") not in endpoints:
                yield Refusal(f"{prefix}.{name}", f"endpoint {str(block[name])[:200]!r} is not allowed; allowed: {allowed_urls}",
                              "AGORA_LLM_ENDPOINTS")
        if not is_llm:
            continue
        env = block.get("api_key_env")
        if env is not None:
            if str(env).upper().startswith("AGORA_"):
                yield Refusal(f"{prefix}.api_key_env", f"{str(env)[:100]!r}: the server's own AGORA_* variables are never sent",
                              "AGORA_LLM_KEY_ENVS (names other than AGORA_*)")
            elif env not in key_envs:
                yield Refusal(f"{prefix}.api_key_env", f"variable {str(env)[:100]!r} is not allowed; allowed: {allowed_keys}",
                              "AGORA_LLM_KEY_ENVS")
        for part in ("system", "user"):
            value = block.get(f"{part}_template")
            if value is not None and _prompt_file(str(value)) is None:
                yield Refusal(f"{prefix}.{part}_template",
                              f"only a packaged template or an inline {part}_prompt; allowed: {', '.join(prompt_names())}",
                              f"none (prompts from files are off for API scenarios; give llm.{part}_prompt inline)")
        if prefix == "llm" and block.get("cache_path") is not None:
            yield Refusal("llm.cache_path", "the server keeps one LLM cache; allowed: leave cache_path out",
                          "AGORA_API_LLM_CACHE (the server's cache file)")
    # Seats that connect to the default endpoint (no base_url anywhere) use LLMSettings' default.
    default_url = LLMSettings.model_fields["base_url"].default.rstrip("/")
    for seat in _llm_seats(data):
        spec = data["agents"][seat]
        params = spec.get("params") or {} if isinstance(spec, dict) else {}
        if "base_url" not in params and "base_url" not in llm and default_url not in endpoints:
            yield Refusal(f"agents.{seat}", f"an LLM seat on the default endpoint {default_url}, which is not allowed; "
                          f"allowed: {allowed_urls}", "AGORA_LLM_ENDPOINTS")


def _remote_refusals(data: dict[str, Any], settings: Settings) -> Iterator[Refusal]:
    """A ``policy: remote`` seat's endpoint (``AGORA_REMOTE_ENDPOINTS``) and token variable (``AGORA_LLM_KEY_ENVS``)."""
    endpoints = set(settings.remote_endpoints)
    allowed_urls = ", ".join(sorted(endpoints)) or "none on this server"
    key_envs = {name for name in settings.llm_key_envs if not name.upper().startswith("AGORA_")}
    for prefix, block, policy in _llm_blocks(data):
        if policy != "remote":
            continue
        url = block.get("url")
        if url is None or str(url).rstrip("/") not in endpoints:
            yield Refusal(f"{prefix}.url", f"remote agent {str(url)[:200]!r} is not allowed; allowed: {allowed_urls}",
                          "AGORA_REMOTE_ENDPOINTS")
        env = block.get("headers_env")
        if env is not None and (str(env).upper().startswith("AGORA_") or env not in key_envs):
            yield Refusal(f"{prefix}.headers_env", f"variable {str(env)[:100]!r} is not allowed; allowed: "
                          f"{', '.join(sorted(key_envs)) or 'none on this server'} (never AGORA_*)", "AGORA_LLM_KEY_ENVS")


def _is_file_param(name: str) -> bool:
    return name in FILE_PARAMS or name.endswith(("_path", "_file"))


def _file_refusals(data: dict[str, Any], settings: Settings) -> Iterator[Refusal]:
    """Seat parameters naming a file the worker would read: only absolute paths under the data root.

    Decided from the text of the path alone (``..`` collapsed by
    ``os.path.normpath``, no ``stat``), so a refusal reveals nothing about
    which server files exist.
    """
    root = os.path.normpath(str(settings.data_root)) if settings.data_root is not None else None
    agents = data.get("agents") if isinstance(data.get("agents"), dict) else {}
    for seat, spec in agents.items():
        params = spec.get("params") if isinstance(spec, dict) else None
        if not isinstance(params, dict):
            continue
        for name, value in params.items():
            if not _is_file_param(str(name)):
                continue
            text = os.path.normpath(str(value))
            inside = (os.path.commonpath([root, text]) == root) if os.path.isabs(text) else not text.startswith("..")
            if root is None or not inside:
                yield Refusal(f"agents.{seat}.params.{name}",
                              "a file the server would read; allowed: a relative path under the server's data root"
                              + ("" if root is not None else " (none is set on this server)"), "AGORA_DATA_ROOT")


def _count(value: Any) -> int:
    return len(value) if isinstance(value, (list, tuple)) else value if isinstance(value, int) and not isinstance(value, bool) else 0


def _profiles(payoffs: Any) -> int:
    """Action profiles of a nested payoff table: its innermost lists (one payoff per player)."""
    count, stack = 0, [payoffs]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if item and all(not isinstance(x, list) for x in item):
                count += 1
            else:
                stack.extend(item)
    return count


def _size_refusals(data: dict[str, Any], settings: Settings) -> Iterator[Refusal]:
    world = data.get("world") if isinstance(data.get("world"), dict) else {}
    agents = max(_count(world.get("players")), _count(world.get("n_agents")), len(data.get("agents") or {}))
    synthetic = world.get("synthetic") if isinstance(world.get("synthetic"), dict) else {}
    market = _count(synthetic.get("customers")) + _count(synthetic.get("businesses"))
    if agents > settings.max_agents:
        field = "world.players" if "players" in world else "world.n_agents" if "n_agents" in world else "agents"
        yield Refusal(field, f"{agents:,} agents; allowed: at most {settings.max_agents:,}", "AGORA_MAX_AGENTS")
    if market > settings.max_agents:
        yield Refusal("world.synthetic", f"{market:,} customers and businesses; allowed: at most {settings.max_agents:,} together",
                      "AGORA_MAX_AGENTS")
    rounds = _count(world.get("rounds")) * max(1, _count(world.get("repetitions")))
    if rounds > settings.max_rounds:
        yield Refusal("world.rounds", f"{rounds:,} rounds; allowed: at most {settings.max_rounds:,}", "AGORA_MAX_ROUNDS")
    profiles = _profiles(world.get("payoffs"))
    if profiles > settings.max_profiles:
        yield Refusal("world.payoffs", f"{profiles:,} action profiles; allowed: at most {settings.max_profiles:,}", "AGORA_MAX_PROFILES")


def size_of_overrides(overrides: list[str]) -> int:
    return sum(len(item.encode("utf-8", "surrogatepass")) for item in overrides)


def resolve_prompts(scenario: Any) -> None:
    """Point packaged template names at the package's files (in place), so a worker reads them from anywhere."""
    llm = scenario.settings_block("llm")  # the LLM policy's run-wide settings block (agents/llm/config.py)
    blocks = [llm] if isinstance(llm, dict) else []
    for spec in scenario.agents.values():
        if not isinstance(spec, str):
            blocks.append(spec.params)
    for block in blocks:
        for part in ("system_template", "user_template"):
            if block.get(part) is not None:
                path = _prompt_file(str(block[part]))
                if path is not None:
                    block[part] = str(path)
