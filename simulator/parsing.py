"""The one parse path for every YAML or JSON document Agora reads.

Scenario files, game files, ``--set`` values, API request bodies and market
data files all come through here, so one set of rules guards them all (JSON is
read by the same YAML loader, so its errors carry line numbers too):

* **Files** must be regular files (not a directory, FIFO or device, which
  would block or never end) of at most ``MAX_BYTES``.
* **Text** must be UTF-8 (a byte-order mark is allowed); a NUL byte means
  binary data, a UTF-16/32 byte-order mark means the wrong encoding.
* **Structure**: one document, at most ``MAX_DEPTH`` levels of nesting and
  ``MAX_NODES`` nodes *after alias expansion*, so a "billion laughs" alias
  bomb of a few hundred bytes is refused before anything expands it; an alias
  that refers to itself is refused too.
* **Keys** appear once per mapping (YAML and JSON both say keys are unique;
  PyYAML's last-one-wins would silently drop a misspelt block). Merge keys
  (``<<: *base``) may still be overridden, as YAML intends.
* **Numbers** are finite (``.nan``, ``.inf`` refused) and integers fit in 64
  bits (``|n| <= 2**64 - 1``), so no later arithmetic overflows or hangs.

A violation raises ``ScenarioError`` whose ``Problem`` prints as
``file:line:column: what; allowed: ...``. Built on PyYAML's ``SafeLoader``
rules (no arbitrary tags): libyaml's parser, PyYAML's composer that counts
and bounds nodes as it builds them.
"""

from __future__ import annotations

import codecs
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InvalidInput

MAX_BYTES = 1_048_576  # 1 MiB per file: the largest shipped scenario is under 2 kB
MAX_DEPTH = 100  # nesting levels (a game tree of depth d nests about 2d)
MAX_NODES = 50_000  # YAML nodes (scalars, lists, mappings) after alias expansion; ~2 s to compose on a loaded 2-core machine
MAX_INT = 2**64 - 1  # integers: |n| <= MAX_INT
MAX_SEED = 2**63 - 1  # seeds: the run store keeps them in SQLite's signed 64-bit INTEGER
_MAX_INT_DIGITS = 40  # refuse longer integer literals before converting them (Python's int() is quadratic)

Positions = dict[tuple, tuple[int, int]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path, "message": self.message}


class ScenarioError(InvalidInput):
    """An input (scenario, game, ``--set`` value) is invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _error(source: str, message: str, line: int | None = None, column: int | None = None, path: str = "") -> ScenarioError:
    return ScenarioError([Problem(source, line, column, path, message)])


# --------------------------------------------------------------------------- bytes -> text


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file, refusing what is not a regular file of at most ``max_bytes``.

    The file is opened non-blocking, so a FIFO is refused instead of waiting
    for a writer, and at most ``max_bytes + 1`` bytes are read, so
    ``/dev/zero`` or a growing file cannot exhaust memory.
    """
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _error(source, f"cannot read file: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _error(source, f"is {_file_kind(mode)}, not a file; allowed: a regular YAML or JSON file")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise _error(source, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise _error(source, f"file is larger than {max_bytes:,} bytes; allowed: at most {max_bytes:,} bytes")
    return decode(data, source)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


_WRONG_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),  # UTF-32 LE starts with UTF-16 LE's BOM: test it first
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode(data: bytes, source: str) -> str:
    """UTF-8 bytes (an optional byte-order mark) -> text; anything else is a one-line error."""
    for bom, name in _WRONG_BOMS:
        if data.startswith(bom):
            raise _error(source, f"the file is {name} text; allowed: UTF-8 (save it as UTF-8)", 1, 1)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _byte_position(data, nul)
        raise _error(source, "binary data (a NUL byte); allowed: UTF-8 text", line, column)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(data, exc.start)
        raise _error(source, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); allowed: UTF-8 (save the file as UTF-8)", line, column) from None


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


# --------------------------------------------------------------------------- text -> data


class _LimitExceeded(yaml.MarkedYAMLError):
    pass


if yaml.__with_libyaml__:  # libyaml scans and parses ~10x faster than pure Python; events are composed below
    from yaml.cyaml import CParser as EventParser
else:  # pragma: no cover - PyPI wheels ship libyaml

    class EventParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class _Loader(yaml.composer.Composer, EventParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """SafeLoader's rules (no arbitrary tags) with bounded composition, unique keys and finite numbers.

    libyaml (or PyYAML's pure-Python parser) produces the events; PyYAML's
    Python composer turns them into nodes, so that the limits apply while
    composing: a deep or huge document stops at its first node over a limit,
    before it is built, and never reaches Python's recursion limit.
    """

    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        EventParser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.max_depth, self.max_nodes = max_depth, max_nodes
        self.depth = self.composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > self.max_depth:
                raise _LimitExceeded(None, None, f"nested too deeply (more than {self.max_depth} levels); allowed: at most {self.max_depth} levels",
                                     self.peek_event().start_mark)
            if self.composed > self.max_nodes:
                raise _LimitExceeded(None, None, f"more than {self.max_nodes:,} nodes; allowed: at most {self.max_nodes:,}",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            first_at: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue  # merged keys may be overridden; complex keys are refused by PyYAML as unhashable
                key = self.construct_object(key_node)
                try:
                    earlier = first_at.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue
                if earlier is not key_node.start_mark:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {earlier.line + 1}); allowed: each key once per mapping",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a finite number; allowed: finite numbers (no .nan, .inf)", node.start_mark
            )
        return value

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if sum(c.isalnum() for c in node.value) > _MAX_INT_DIGITS:
            value = None
        else:
            value = super().construct_yaml_int(node)
        if value is None or abs(value) > MAX_INT:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer {_short(node.value)} is too large; allowed: at most 64 bits (|n| <= {MAX_INT})", node.start_mark
            )
        return value


_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_document(text: str, source: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> tuple[Any, Positions]:
    """Parse one YAML (or JSON) document under the rules above.

    Returns the data and a map from each field path (``("world", "rounds")``,
    list items by index) to its 1-based ``(line, column)``, for error messages.
    """
    try:
        loader = _Loader(text, max_depth, max_nodes)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_expansion(node, max_depth, max_nodes)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_problem(exc, source, max_depth) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = f" #x{exc.character:04x}" if isinstance(exc.character, int) else ""
        raise _error(source, f"control character{character} is not allowed; allowed: printable text, tabs and newlines", line, column) from None
    except yaml.YAMLError as exc:
        raise _error(source, f"invalid YAML: {exc}") from None
    except RecursionError:  # a guard: the limits above should make this unreachable
        raise _error(source, f"nested too deeply; allowed: at most {max_depth} levels") from None
    return data, positions(node)


def parse_value(text: str, key: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Parse a ``--set key=value`` (or API override) value by the same rules; problems name ``--set`` and the key."""
    try:
        data, _ = parse_document(text, "--set", max_depth=max_depth, max_nodes=max_nodes)
    except ScenarioError as exc:
        raise ScenarioError([Problem("--set", None, None, key, f"value: {p.message}") for p in exc.problems]) from None
    return data


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str, max_depth: int) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    if isinstance(exc, (_LimitExceeded, yaml.constructor.ConstructorError)) and "allowed:" in str(exc.problem):
        return _error(source, str(exc.problem), line, column)
    if "maximum nesting depth" in str(exc.problem):  # libyaml's own limit (1000), should ours ever come later
        return _error(source, f"nested too deeply (more than {max_depth} levels); allowed: at most {max_depth} levels", line, column)
    what = exc.problem or str(exc)
    if exc.context and "duplicate anchor" in exc.context:  # PyYAML puts the finding in the context here
        first = f" (first at line {exc.context_mark.line + 1})" if exc.context_mark else ""
        what = f"{exc.context.split(';')[0].removeprefix('found ')}{first}; allowed: each anchor once per document"
        return _error(source, what, line, column)
    if exc.context and exc.problem:
        what = f"{exc.problem} ({exc.context.strip()})"
    return _error(source, f"invalid YAML: {what}", line, column)


def _check_expansion(root: yaml.Node, max_depth: int, max_nodes: int) -> None:
    """Refuse a node graph whose alias expansion is too big, too deep, or infinite.

    Aliases make the composed graph a DAG whose expansion can be exponential
    in its size; sizes and depths are computed once per node (post-order,
    iteratively) so the check itself is linear.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    visited = 0
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        visited += 1
        if visited > 2 * max_nodes:  # each node is visited twice; stop before walking a huge graph to its end
            raise _LimitExceeded(None, None, f"more than {max_nodes:,} nodes; allowed: at most {max_nodes:,}", node.start_mark)
        if children_done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            mark = node.start_mark
            if size[key] > max_nodes:
                raise _LimitExceeded(None, None, f"expands to more than {max_nodes:,} nodes (aliases?); allowed: at most {max_nodes:,}", mark)
            if depth[key] > max_depth:
                raise _LimitExceeded(None, None, f"expands to more than {max_depth} levels of nesting (aliases?); allowed: at most {max_depth}", mark)
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise _LimitExceeded(None, None, "an alias refers to the node that contains it (infinite expansion); allowed: aliases to finished nodes",
                                     child.start_mark)
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def positions(node: yaml.Node | None) -> Positions:
    """Map each field path in a composed YAML tree to its (line, column), 1-based.

    For a mapping entry the position is that of its key, which is where a user
    looks for a misspelt or mistyped field.
    """
    out: Positions = {}
    stack: list[tuple[yaml.Node, tuple]] = [(node, ())] if node is not None else []
    while stack:
        current, path = stack.pop()
        out.setdefault(path, (current.start_mark.line + 1, current.start_mark.column + 1))
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    out.setdefault(path + (key_node.value,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                    stack.append((value_node, path + (key_node.value,)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, path + (index,)) for index, item in enumerate(current.value))
    return out


def load_file(path: str | Path, *, max_bytes: int = MAX_BYTES) -> tuple[Any, Positions, str]:
    """Read and parse a YAML/JSON file: ``(data, positions, text)``."""
    text = read_text(path, max_bytes)
    data, where = parse_document(text, str(path))
    return data, where, text
