"""Who plays: a scenario's ``agents:`` keys against the world's agents, before anything runs.

An ``agents:`` key names an agent id, a role, or ``default``
(``simulator.scenario.Scenario.policy_for``); a key that is none of these would
seat nobody, so it is an error naming the allowed ids and roles. An agent that
no key covers plays its world's default policy for its role
(``World.default_policy``): that is allowed, and said in a warning that names
the policy, so that a forgotten entry is not silent.

The world's agents come from its optional classmethod ``roster(config) ->
{agent id: role}`` (a world whose construction is costly, e.g. a 13,000-agent
market, declares it), else from a world built with a throwaway generator.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

MAX_LISTED = 12  # ids named in one message before "..."


def roster(world_cls: type, config: Any) -> tuple[dict[str, str], dict[str, str]]:
    """``({agent id: role}, {role: default policy})`` of the world ``world_cls`` built from ``config``."""
    declared = getattr(world_cls, "roster", None)
    if callable(declared):
        roles = dict(declared(config))
        return roles, {role: world_cls.default_policy(role) for role in sorted(set(roles.values()))}
    world = world_cls.from_config(config, np.random.default_rng(0))
    roles = {agent: world.role(agent) for agent in world.agent_ids()}
    # The instance's default_policy: a world's mode may seat other defaults (the matrix game's population mode).
    return roles, {role: world.default_policy(role) for role in sorted(set(roles.values()))}


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def unknown_keys(keys: list[str], roles: dict[str, str]) -> list[tuple[str, str]]:
    """``[(key, message)]`` for every ``agents:`` key that is neither an agent id, a role, nor ``default``."""
    role_names = sorted(set(roles.values()))
    problems = []
    for key in keys:
        if key == "default" or key in roles or key in role_names:
            continue
        allowed = f"an agent id ({_listed(list(roles))}), a role ({', '.join(role_names)}) or default"
        close = difflib.get_close_matches(key, list(roles) + role_names + ["default"], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append((key, f"{key!r} is not an agent of this world; allowed: {allowed}{hint}"))
    return problems


def default_seated(keys: list[str], roles: dict[str, str], defaults: dict[str, str]) -> list[str]:
    """One warning per role whose agents no ``agents:`` key covers, naming the default policy they play."""
    if "default" in keys:
        return []
    uncovered: dict[str, list[str]] = {}
    for agent, role in roles.items():
        if agent not in keys and role not in keys:
            uncovered.setdefault(role, []).append(agent)
    warnings = []
    for role, agents in uncovered.items():
        who = f"agent {agents[0]}" if len(agents) == 1 else f"{len(agents)} agents ({_listed(agents)})"
        warnings.append(f"{who} of role {role!r} named in no agents: entry: "
                        f"{'it plays' if len(agents) == 1 else 'they play'} the world's default policy {defaults[role]!r} "
                        f"(name a policy by agent id, by role {role!r} or as default to choose)")
    return warnings
