"""Pydantic validation errors as ``Problem`` lines a user can act on: file:line:column, field path, what is allowed.

``Locator`` maps a field path to its position in the parsed document (or to
``--set`` when an override put the value there); ``describe_error`` words one
pydantic error. Shared by every reader of user files: scenarios, sweep blocks
and game files.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator.parsing import Positions, Problem


def describe_error(error: dict[str, Any], model: type[BaseModel] | None, loc: tuple) -> str:
    """A pydantic error in words a user can act on: what is wrong and what is allowed."""
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        message = "unknown field"
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message += f"; allowed: {', '.join(allowed)}"
            if close:
                message += f" (did you mean {close[0]!r}?)"
        return message
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    if "input" in error and kind not in ("model_type", "dict_type") and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
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
