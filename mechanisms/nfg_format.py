"""Gambit's strategic-form file format (.nfg): read and write, payoff and outcome versions.

The format (Gambit manual, "Game representation formats", strategic games)::

    NFG 1 R "title" { "Player 1" "Player 2" } { 3 2 }          <- payoff version: counts
    "optional comment"
    1 1  0 2  0 2  1 1  0 3  2 0                                <- one payoff per player per profile

    NFG 1 R "title" { "Player 1" "Player 2" }                   <- outcome version: names
    { { "1" "2" "3" } { "a" "b" } }
    ""
    { { "" 1, 1 } { "win" 0, 2 } ... }                          <- outcomes: name, one payoff per player
    1 2 0 ...                                                   <- outcome index per profile (0 = none)

Profiles are listed with the *first* player's strategy changing fastest. ``R``
marks rational payoffs and ``D`` decimal ones; both are read as exact
``Fraction``\\ s (decimals as written: ``0.1`` is 1/10). A bad file raises
:class:`NfgFormatError` naming ``file:line:column`` and what was expected.
Pure parsing, no solving: the solvers take ``NfgGame.payoffs``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np


class NfgFormatError(ValueError):
    """A malformed .nfg file; ``source``, ``line``, ``column`` locate the problem."""

    def __init__(self, source: str, line: int | None, column: int | None, message: str) -> None:
        self.source, self.line, self.column, self.message = source, line, column, message
        where = source if line is None else f"{source}:{line}:{column}"
        super().__init__(f"{where}: {message}")


@dataclass
class NfgGame:
    """A strategic game read from (or to be written as) a .nfg file.

    ``payoffs`` is an object array of ``Fraction`` of shape ``(n, a_1, ..., a_n)``:
    ``payoffs[i][s]`` is player i's payoff at pure profile ``s`` (the layout every
    solver in ``mechanisms.normal_form`` takes, after ``.astype(float)``).
    """

    title: str
    players: list[str]
    strategies: list[list[str]]
    payoffs: np.ndarray
    comment: str = ""
    outcome_names: dict[tuple[int, ...], str] = field(default_factory=dict)

    def float_payoffs(self) -> np.ndarray:
        return self.payoffs.astype(float)


# --------------------------------------------------------------------------- tokens


_TOKEN = re.compile(r'(?P<str>"(?:[^"\\]|\\.)*")|(?P<brace>[{}])|(?P<comma>,)|(?P<word>[^\s{},"]+)')


@dataclass(frozen=True)
class _Token:
    kind: str  # "str", "brace", "comma", "word" or "end"
    text: str
    line: int
    column: int


def _tokens(text: str, source: str) -> list[_Token]:
    """Split into quoted strings, braces, commas and words, each with its 1-based line and column."""
    out: list[_Token] = []
    line_starts = [0] + [k + 1 for k, ch in enumerate(text) if ch == "\n"]

    def where(offset: int) -> tuple[int, int]:
        line = int(np.searchsorted(line_starts, offset, side="right"))
        return line, offset - line_starts[line - 1] + 1

    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        m = _TOKEN.match(text, pos)
        if m is None:  # only an unterminated string fails to match
            raise NfgFormatError(source, *where(pos), "unterminated string (a '\"' without its closing '\"')")
        out.append(_Token(m.lastgroup, m.group(), *where(pos)))
        pos = m.end()
    out.append(_Token("end", "", *where(len(text))))
    return out


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.toks = _tokens(text, source)
        self.at = 0

    def peek(self) -> _Token:
        return self.toks[self.at]

    def next(self) -> _Token:
        tok = self.toks[self.at]
        if tok.kind != "end":
            self.at += 1
        return tok

    def fail(self, tok: _Token, message: str) -> NfgFormatError:
        found = "end of file" if tok.kind == "end" else repr(tok.text)
        return NfgFormatError(self.source, tok.line, tok.column, f"{message}; found {found}")

    def expect(self, kind: str, text: str | None = None, what: str = "") -> _Token:
        tok = self.next()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise self.fail(tok, f"expected {what or repr(text)}")
        return tok

    def string(self, what: str) -> str:
        tok = self.expect("str", what=f"a quoted {what}")
        return re.sub(r"\\(.)", r"\1", tok.text[1:-1])

    def number(self, what: str) -> Fraction:
        tok = self.next()
        if tok.kind != "word":
            raise self.fail(tok, f"expected {what} (a number such as 3, -1/2 or 0.25)")
        try:
            return Fraction(tok.text)
        except (ValueError, ZeroDivisionError):
            raise self.fail(tok, f"expected {what} (a number such as 3, -1/2 or 0.25)") from None

    def integer(self, what: str, low: int, high: int | None = None) -> int:
        tok = self.peek()
        value = self.number(what)
        if value.denominator != 1 or value < low or (high is not None and value > high):
            allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
            raise self.fail(tok, f"{what} must be {allowed}")
        return int(value)

    def strings_in_braces(self, what: str) -> list[str]:
        self.expect("brace", "{", what=f"'{{' opening the list of {what}s")
        out = []
        while self.peek().kind == "str":
            out.append(self.string(what))
        self.expect("brace", "}", what=f"a quoted {what} or '}}' closing the list")
        return out


# --------------------------------------------------------------------------- reading


def read_nfg(path: str | Path) -> NfgGame:
    """Read a .nfg file (payoff or outcome version); raises :class:`NfgFormatError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise NfgFormatError(str(path), None, None, f"cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise NfgFormatError(str(path), None, None, "not a text file") from None
    return parse_nfg(text, str(path))


def parse_nfg(text: str, source: str = "<nfg>") -> NfgGame:
    """Parse the text of a .nfg file; ``source`` names it in error messages."""
    r = _Reader(text, source)
    head = r.next()
    if head.kind != "word" or head.text != "NFG":
        raise r.fail(head, "a .nfg file starts with 'NFG 1 R' or 'NFG 1 D'")
    tok = r.next()
    if tok.text != "1":
        raise r.fail(tok, "expected format version 1 after 'NFG'")
    tok = r.next()
    if tok.text not in ("R", "D"):
        raise r.fail(tok, "expected 'R' (rational) or 'D' (decimal) after 'NFG 1'")
    title = r.string("title")
    players = r.strings_in_braces("player name")
    if not players:
        raise r.fail(r.toks[r.at - 1], "a game needs at least one player")
    n = len(players)
    brace = r.expect("brace", "{", what="'{' opening the strategy counts or strategy names")
    if r.peek().kind == "brace" and r.peek().text == "{":  # outcome version: names per player
        strategies = []
        for i in range(n):
            names = r.strings_in_braces(f"strategy name of {players[i]!r}")
            if not names:
                raise r.fail(r.toks[r.at - 1], f"player {players[i]!r} needs at least one strategy")
            strategies.append(names)
        r.expect("brace", "}", what=f"'}}' after the strategy lists of the {n} players")
        counts = [len(s) for s in strategies]
    else:
        counts = [r.integer(f"the number of strategies of {p!r}", 1) for p in players]
        r.expect("brace", "}", what=f"'}}' after {n} strategy counts (one per player)")
        strategies = [[str(k + 1) for k in range(c)] for c in counts]
    del brace
    comment = r.string("comment") if r.peek().kind == "str" else ""
    shape = tuple(counts)
    size = int(np.prod(shape))
    payoffs = np.empty((n,) + shape, dtype=object)
    # Profiles in file order: first player fastest, i.e. reversed itertools.product order.
    order = [tuple(reversed(p)) for p in itertools.product(*[range(c) for c in reversed(counts)])]
    names: dict[tuple[int, ...], str] = {}
    if r.peek().kind == "brace":  # outcome version
        r.expect("brace", "{")
        outcomes: list[tuple[str, list[Fraction]]] = []
        while r.peek().kind == "brace" and r.peek().text == "{":
            r.next()
            label = r.string("outcome name")
            values = []
            for i in range(n):
                values.append(r.number(f"payoff of {players[i]!r} in outcome {len(outcomes) + 1}"))
                if r.peek().kind == "comma":
                    r.next()
            r.expect("brace", "}", what=f"'}}' closing outcome {len(outcomes) + 1} (it has {n} payoffs, one per player)")
            outcomes.append((label, values))
        r.expect("brace", "}", what="'{' opening an outcome or '}' closing the outcome list")
        for profile in order:
            index = r.integer(f"the outcome of profile {tuple(k + 1 for k in profile)}", 0, len(outcomes))
            if index:
                label, values = outcomes[index - 1]
                names[profile] = label
            else:
                values = [Fraction(0)] * n
            for i in range(n):
                payoffs[(i,) + profile] = values[i]
    else:
        for profile in order:
            for i in range(n):
                payoffs[(i,) + profile] = r.number(f"payoff of {players[i]!r} at profile {tuple(k + 1 for k in profile)} "
                                                   f"({size} profiles x {n} players expected)")
    tail = r.peek()
    if tail.kind != "end":
        raise r.fail(tail, f"expected end of file after {size} profiles")
    return NfgGame(title, players, strategies, payoffs, comment, names)


# --------------------------------------------------------------------------- writing


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number_text(value: object) -> str:
    f = value if isinstance(value, Fraction) else Fraction(str(value))
    return str(f)


def write_nfg(game: NfgGame, version: str = "payoff") -> str:
    """The .nfg text of ``game``: ``version="payoff"`` (counts + payoff list) or ``"outcome"``
    (strategy names + one outcome per profile)."""
    if version not in ("payoff", "outcome"):
        raise ValueError(f"version must be 'payoff' or 'outcome', got {version!r}")
    u = game.payoffs
    n = len(game.players)
    counts = list(u.shape[1:])
    order = [tuple(reversed(p)) for p in itertools.product(*[range(c) for c in reversed(counts)])]
    players = " ".join(_quote(p) for p in game.players)
    lines = []
    if version == "payoff":
        if all(names == [str(k + 1) for k in range(len(names))] for names in game.strategies):
            header = " ".join(map(str, counts))
        else:  # names in the header are allowed in the payoff version too
            header = " ".join("{ " + " ".join(_quote(s) for s in names) + " }" for names in game.strategies)
        lines.append(f"NFG 1 R {_quote(game.title)} {{ {players} }} {{ {header} }}")
        lines.append(_quote(game.comment))
        lines.append("")
        lines.append(" ".join(_number_text(u[(i,) + p]) for p in order for i in range(n)))
    else:
        lines.append(f"NFG 1 R {_quote(game.title)} {{ {players} }}")
        lines.append("")
        lines.append("{ " + "\n".join("{ " + " ".join(_quote(s) for s in names) + " }" for names in game.strategies))
        lines.append("}")
        lines.append(_quote(game.comment))
        lines.append("")
        lines.append("{")
        for p in order:
            values = ", ".join(_number_text(u[(i,) + p]) for i in range(n))
            lines.append(f"{{ {_quote(game.outcome_names.get(p, ''))} {values} }}")
        lines.append("}")
        lines.append(" ".join(str(k + 1) for k in range(len(order))))
    return "\n".join(lines) + "\n"


def from_payoffs(payoffs: np.ndarray, title: str = "", players: list[str] | None = None,
                 strategies: list[list[str]] | None = None) -> NfgGame:
    """An :class:`NfgGame` from a payoff array ``(n, a_1, ..., a_n)`` (numbers or Fractions)."""
    u = np.asarray(payoffs, dtype=object)
    n = u.shape[0]
    exact = np.vectorize(lambda v: v if isinstance(v, Fraction) else Fraction(str(v)), otypes=[object])(u)
    return NfgGame(title, players or [f"Player {i + 1}" for i in range(n)],
                   strategies or [[str(k + 1) for k in range(c)] for c in u.shape[1:]], exact)
