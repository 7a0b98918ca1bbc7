"""Pydantic validation errors as ``Problem`` lines a user can act on: file:line:column, field path, what is allowed.

``Locator`` maps a field path to its position in the parsed document (or to
``--set`` when an override put the value there); ``describe_error`` words one
pydantic error. Shared by every reader of user files: scenarios, sweep blocks
and game files.
"""

from __future__ import annotations

import difflib
import json
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from simulator.parsing import Positions, Problem


def describe_error(error: dict[str, Any], model: type[BaseModel] | None, loc: tuple) -> str:
    """A pydantic error in words a user can act on: what is wrong and what is allowed."""
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        message = "unknown field"
        if not allowed and _model_at(model, loc[:-1]) is not None:  # a model with no fields at all (a policy's NoParams)
            return message + "; allowed: no keys here (it takes no parameters)"
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message += f"; allowed: {', '.join(allowed)}"
            if close:
                message += f" (did you mean {close[0]!r}?)"
        return message
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        nested = _model_at(model, loc)
        if nested is not None:  # name the keys a mapping here may hold, not the class that validates it
            got = "" if isinstance(error.get("input"), (dict, list)) else f" (got {error.get('input')!r})"
            return f"expected a mapping{got}; allowed keys: {allowed_keys(nested)}"
    message = error["msg"]
    if kind == "union":
        message = _union_in_words(message, model, loc)
    if "input" in error and kind not in ("model_type", "dict_type") and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message


MAX_KEYS = 12  # keys named in one message; a larger block points at the reference


def allowed_keys(model: type[BaseModel]) -> str:
    """``"cost (float, default 1.0), fine (float, required)"``: a model's keys with their types and defaults."""
    from simulator.reference import model_fields  # the reference's words for types and defaults

    rows = [row for row in model_fields(model) if "." not in row["path"]]
    keys = [f"{row['path']} ({row['type']}, {'required' if row['required'] else 'default ' + json.dumps(row['default'])})"
            for row in rows[:MAX_KEYS]]
    more = f", ... {len(rows) - MAX_KEYS} more (see `agora schema` / `agora policies`)" if len(rows) > MAX_KEYS else ""
    return ", ".join(keys) + more


def _members(annotation: Any) -> list[Any]:
    """A union's members without ``None`` (``X | None`` -> ``[X]``); any other annotation alone."""
    union = get_origin(annotation) in (Union, UnionType)
    return [a for a in (get_args(annotation) if union else (annotation,)) if a is not type(None)]


def _annotation_at(model: type[BaseModel] | None, loc: tuple) -> Any:
    """The annotation that validates the value at ``loc`` (``None`` if the path leaves the models).

    Walks a field of a model, a list item, a mapping's value, a union member
    named by pydantic's tag; a value that is a list or mapping of models is not
    itself one of them.
    """
    annotation: Any = model
    for part in loc:
        members = _members(annotation)
        tagged = [a for a in members if getattr(a, "__name__", None) == part]
        if tagged:  # pydantic's union tag: the member it tried
            annotation = tagged[0]
            continue
        if len(members) != 1:
            return None
        (annotation,) = members
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and part in annotation.model_fields:
            annotation = annotation.model_fields[part].annotation
        elif origin in (list, tuple) and isinstance(part, int) and get_args(annotation):
            annotation = get_args(annotation)[0]
        elif origin is dict and get_args(annotation):
            annotation = get_args(annotation)[1]
        else:
            return None
    return annotation


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that validates the value at ``loc`` (``X`` or ``X | None``), if there is one."""
    members = _members(_annotation_at(model, loc))
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _union_in_words(message: str, model: type[BaseModel] | None, loc: tuple) -> str:
    """"a valid dictionary or instance of PolicySpec" -> "a mapping with keys policy (string, required), ..."."""
    for member in _members(_annotation_at(model, loc)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            message = message.replace(f"a valid dictionary or instance of {member.__name__}",
                                      f"a mapping with keys {allowed_keys(member)}")
    return message


def _allowed_fields(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "allowed: ..." messages."""
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int) or part not in model.model_fields:
            continue  # list index or dict key: stay with the item model
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class Locator:
    """Turns a field path into a Problem with file, line and column."""

    def __init__(self, source: str, positions: Positions, overridden: set[str]) -> None:
        self.source = source
        self.positions = positions
        self.overridden = overridden

    def problem(self, loc: tuple, message: str) -> Problem:
        path = ".".join(str(p) for p in loc)
        for dotted in self.overridden:
            if path == dotted or path.startswith(dotted + "."):
                return Problem("--set", None, None, path, message)
        probe = tuple(loc)
        while probe not in self.positions and probe:
            probe = probe[:-1]  # a missing field: point at its parent
        line, column = self.positions.get(probe, (None, None))
        return Problem(self.source, line, column, path, message)

    def from_validation(self, exc: ValidationError, model: type[BaseModel], prefix: tuple = ()) -> list[Problem]:
        problems = []
        for error in _union_errors_merged(exc.errors()):
            loc = prefix + tuple(p for p in error["loc"] if not _is_union_tag(p))
            problems.append(self.problem(loc, describe_error(error, model, tuple(error["loc"]))))
        return problems


def _union_errors_merged(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per value that failed a union (``PolicySpec | str``), not one per member.

    If the value had the shape of one member (a mapping for ``PolicySpec``),
    that member's errors are the ones that matter and the others' "should be a
    valid string" are dropped; if it fitted none, their messages are joined:
    "Input should be a valid dictionary ... or a valid string (got 42)".
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    out: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        tag = next((i for i, part in enumerate(loc) if _is_union_tag(part)), None)
        if tag is None:
            out.append(error)
            continue
        if loc[:tag] not in groups:
            groups[loc[:tag]] = []
            out.append(loc[:tag])  # placeholder: keeps the errors in order
        groups[loc[:tag]].append(dict(error, member_depth=len(loc) - tag - 1))
    merged = []
    for item in out:
        if isinstance(item, dict):
            merged.append(item)
            continue
        members = groups[item]
        deep = [e for e in members if e["member_depth"] > 0]
        if deep:
            merged.extend(deep)
        elif len(members) == 1:
            merged.append(members[0])
        else:
            wants = [e["msg"].removeprefix("Input should be ") for e in members]
            merged.append(dict(members[0], msg="Input should be " + " or ".join(wants), type="union"))
    return merged


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the member type name to locs of union errors ("PolicySpec", "str").
    return isinstance(part, str) and (part[:1].isupper() or part in ("str", "int", "float", "bool"))
