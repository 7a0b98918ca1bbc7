"""The ``learned`` policy: plays a saved tabular or linear policy in any scenario.

What a learner trained in the PettingZoo adapter (``simulator.rl``) goes back
into ``agora run``, sweeps and the API as a file, e.g.::

    agents:
      q0: {policy: learned, params: {path: runs/public_goods_q0.npz}}

The file is one ``numpy.savez`` archive: the arrays plus a JSON ``metadata``
entry (format ``agora-learned-policy``, version 1)::

    {"world": "public_goods",
     "features": {"name": ..., "params": {...}},       # simulator.rl.worlds feature view
     "kinds": {                                        # one entry per kind of action model
       "contribution": {"type": "table", "array": "q_contribution",
                        "states": ["0", "1", ...],     # state keys -> table rows
                        "state": {"indices": [...], "bins": 3},
                        "actions": [{"contribution": 0.0}, ...]},   # table columns
       "punish": {"type": "fixed", "action": {"punish": {}}},
       "effort": {"type": "linear", "array": "w_effort", "actions": [...]}},
     "trained": {...}}                                 # free-form provenance

A kind of action model is named by its sorted field names (``contribution``,
``punish``, ``action``, ...). ``table``: the observation's features are binned
into a state key (``state_key``) and the action is the legal column with the
highest value (ties: the first), an unseen state takes row ``unseen`` (default:
the first row); ``linear``: the legal action maximising ``W @ [features, 1]``;
``fixed``: always that action. Greedy play is deterministic, so the same
scenario and seed give the same run as the greedy rollout in the environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agents.registry import Example, register
from agents.tabular import accepts, best_legal, kind_of, state_key  # noqa: F401  (state_key: part of this module's interface)
from simulator.errors import InvalidInput

FORMAT = "agora-learned-policy"
VERSION = 1


class PolicyFileError(InvalidInput):
    """A policy file that cannot be read or does not follow the format."""


def save_policy(path: str | Path, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write a policy file: ``arrays`` plus ``metadata`` (format and version are added)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, **metadata}
    with path.open("wb") as handle:  # a file handle: numpy would otherwise append .npz to the name
        np.savez(handle, metadata=np.array(json.dumps(meta)), **{k: np.asarray(v, dtype=float) for k, v in arrays.items()})
    return path


def load_policy(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a policy file; raises ``PolicyFileError`` naming the file and what is wrong."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except FileNotFoundError:
        raise PolicyFileError(f"{path}: no such policy file") from None
    except (OSError, ValueError) as exc:
        raise PolicyFileError(f"{path}: not a policy file (a numpy .npz archive): {exc}") from None
    if "metadata" not in arrays:
        raise PolicyFileError(f"{path}: no 'metadata' entry; not an {FORMAT} file")
    try:
        meta = json.loads(str(arrays.pop("metadata")))
    except json.JSONDecodeError as exc:
        raise PolicyFileError(f"{path}: metadata is not JSON: {exc}") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise PolicyFileError(f"{path}: format {meta.get('format')!r} version {meta.get('version')!r}; expected {FORMAT!r} version {VERSION}")
    for kind, entry in (meta.get("kinds") or {}).items():
        kind_type = entry.get("type")
        if kind_type not in ("table", "linear", "fixed"):
            raise PolicyFileError(f"{path}: kinds.{kind}.type is {kind_type!r}; allowed: table, linear, fixed")
        if kind_type != "fixed":
            array = arrays.get(entry.get("array", ""))
            if array is None:
                raise PolicyFileError(f"{path}: kinds.{kind}.array names {entry.get('array')!r}, which the file lacks")
            if array.ndim != 2 or array.shape[1 if kind_type == "table" else 0] != len(entry.get("actions") or []):
                raise PolicyFileError(f"{path}: kinds.{kind}: array shape {array.shape} does not match {len(entry.get('actions') or [])} actions")
    if not meta.get("kinds"):
        raise PolicyFileError(f"{path}: metadata has no 'kinds' (what to play for each kind of action)")
    return meta, arrays


def _under_roots(text: str, roots: list[str]) -> str:
    """The policy file an untrusted scenario names: a relative path resolved under one of ``roots``.

    The error names neither the roots nor what exists on the server (the same
    rule as a market's ``data:`` folder, ``simulator/worlds/marketplace/config.py``).
    """
    for root in [Path(r).resolve() for r in roots] if not Path(text).is_absolute() else []:
        path = (root / text).resolve()
        if path.is_relative_to(root) and path.is_file():
            return str(path)
    raise ValueError(f"policy file {text!r} is not a file under the server's data root; allowed: a relative path "
                     "to a file under AGORA_DATA_ROOT (a server setting)")


def example_params(folder: Path) -> dict[str | None, Example]:
    """A policy file to build and play the policy from (the registry's ``examples``): in a two-player
    cooperate/defect matrix game, defect after the second seat defected (tit for tat as the first seat),
    as a linear policy over the matrix-game features."""
    labels = [["cooperate", "defect"], ["cooperate", "defect"]]
    # Features: [round share, seat 0 cooperated, seat 0 defected, seat 1 cooperated, seat 1 defected, bias]:
    # defect after the other seat defected, else cooperate.
    weights = np.array([[0, 0, 0, 0, 0, 1.0], [0, 0, 0, 0, 2.0, 0]])
    meta = {"world": "matrix_game", "features": {"name": "matrix_game", "params": {"labels": labels}},
            "kinds": {"action": {"type": "linear", "array": "w", "actions": [{"action": a} for a in labels[0]]}},
            "trained": {"by": "hand: agents.learned.example_params"}}
    return {"matrix_game": Example({"path": str(save_policy(Path(folder) / "tit_for_tat.npz", meta, {"w": weights}))})}


@register("learned", examples=example_params)
class LearnedPolicy:
    """Play a saved tabular or linear policy (trained in the PettingZoo adapter) greedily."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str = Field(description="the policy file (.npz with metadata), absolute or relative to the working directory")

        @field_validator("path")
        @classmethod
        def _readable(cls, path: str, info: ValidationInfo) -> str:
            try:
                import gymnasium  # noqa: F401  (the feature views need the rl extra)
            except ImportError:
                raise ValueError("the learned policy needs the rl extra: pip install 'agora[rl]'") from None
            roots = (info.context or {}).get("data_roots")
            if roots is not None:  # an untrusted scenario (the API): only files under the server's data roots
                path = _under_roots(path, roots)
            try:
                load_policy(path)
            except PolicyFileError as exc:
                raise ValueError(str(exc)) from None
            return path

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        from simulator.rl.worlds import features_from  # late: the rl extra, only when the policy is used

        self.path = params.path
        self.meta, self.arrays = load_policy(params.path)
        self.features = features_from(self.meta["features"])
        self.kinds = self.meta["kinds"]
        self.rows = {kind: {key: i for i, key in enumerate(entry.get("states") or [])} for kind, entry in self.kinds.items()}

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, Any]:
        kind = kind_of(action_model)
        entry = self.kinds.get(kind)
        if entry is None:
            raise ValueError(f"{self.path} has no policy for {kind!r} actions; it covers: {', '.join(self.kinds)}")
        if entry["type"] == "fixed":
            return entry["action"]
        actions = entry["actions"]
        x = self.features(observation)
        if entry["type"] == "table":
            state = entry.get("state") or {}
            key = state_key(x, state.get("indices", []), state.get("bins", 1), self.features.low, self.features.high)
            row = self.rows[kind].get(key, entry.get("unseen", 0))
            values = self.arrays[entry["array"]][row]
        else:
            values = self.arrays[entry["array"]] @ np.append(x, 1.0)
        legal = np.array([accepts(action_model, a) for a in actions])
        return actions[best_legal(values, legal)]
