"""Read and write Gambit's extensive-form game files (``.efg``, format version 2).

The format (Gambit's documentation, "The extensive game (.efg) file
format"): a header ``EFG 2 R "title" { "player 1" "player 2" ... }`` and an
optional comment string, then the tree's nodes in pre-order, one per line::

    c "name" <infoset> ["infoset name"] [{ "action" prob ... }] <outcome> ["outcome name" {payoffs}]
    p "name" <player> <infoset> ["infoset name"] [{ "action" ... }] <outcome> ["outcome name" {payoffs}]
    t "name" <outcome> ["outcome name" {payoffs}]

Players are numbered from 1; information set numbers are per player (and
per chance); an information set's name and actions are given where it first
appears and may be repeated (they must then agree). Outcome 0 means none; an
outcome's payoffs are given where it first appears. Outcomes may sit on
non-terminal nodes: a terminal's payoff is the sum of the outcomes on its
path, which is how this reader builds :class:`mechanisms.game_tree.Node`
payoffs. Numbers are integers, decimals or rationals (``1/3``). ``R`` or
``D`` in the header is accepted either way.

Errors are :class:`EfgError` with ``line`` and ``column`` (1-based) and a
message saying what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from mechanisms import game_tree as gt


class EfgError(ValueError):
    """A bad .efg file: ``line``/``column`` locate the problem."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message, self.line, self.column = message, line, column
        where = f"{line}:{column}: " if line is not None else ""
        super().__init__(where + message)


@dataclass
class _Token:
    kind: str  # "str", "num", "word", "{", "}", ","
    text: str
    line: int
    column: int


_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"|[{},]|[^\s{},"]+', re.S)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    line, line_start, pos = 1, 0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or (text[pos] == '"' and not m.group().endswith('"')) or (text[pos] == '"' and len(m.group()) < 2):
            raise EfgError("unterminated string: a closing \" is missing", line, pos - line_start + 1)
        piece = m.group()
        col = pos - line_start + 1
        if not piece.isspace():
            if piece.startswith('"'):
                out.append(_Token("str", re.sub(r"\\(.)", r"\1", piece[1:-1]), line, col))
            elif piece in "{},":
                out.append(_Token(piece, piece, line, col))
            else:
                out.append(_Token("num" if re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(/\d+)?", piece) else "word",
                                  piece, line, col))
        newlines = piece.count("\n")
        if newlines:
            line += newlines
            line_start = pos + piece.rfind("\n") + 1
        pos = m.end()
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        lines = text.splitlines() or [""]
        self.end = (len(lines), len(lines[-1]) + 1)

    def peek(self) -> _Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def fail(self, expected: str, tok: _Token | None = None) -> EfgError:
        tok = tok if tok is not None else self.peek()
        if tok is None:
            return EfgError(f"expected {expected}, found the end of the file", *self.end)
        return EfgError(f"expected {expected}, found {tok.text!r}", tok.line, tok.column)

    def take(self, kind: str, expected: str) -> _Token:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            raise self.fail(expected)
        self.i += 1
        return tok

    def integer(self, expected: str) -> tuple[int, _Token]:
        tok = self.take("num", expected)
        if not re.fullmatch(r"[-+]?\d+", tok.text):
            raise self.fail(expected, tok)
        return int(tok.text), tok

    def number(self, expected: str) -> Fraction:
        tok = self.take("num", expected)
        try:
            return Fraction(tok.text)
        except (ValueError, ZeroDivisionError):
            raise self.fail(expected, tok) from None

    def optional(self, kind: str) -> _Token | None:
        tok = self.peek()
        if tok is not None and tok.kind == kind:
            self.i += 1
            return tok
        return None


def read_efg(text: str) -> gt.ExtensiveGame:
    """Parse .efg text into an :class:`~mechanisms.game_tree.ExtensiveGame`; raises :class:`EfgError`."""
    r = _Reader(text)
    head = r.take("word", "'EFG' at the start of the file")
    if head.text != "EFG":
        raise r.fail("'EFG' at the start of the file", head)
    version, tok = r.integer("the format version 2")
    if version != 2:
        raise EfgError(f"unsupported format version {version}; allowed: 2", tok.line, tok.column)
    kind = r.take("word", "R or D (number type) after the version")
    if kind.text not in ("R", "D"):
        raise r.fail("R or D (number type) after the version", kind)
    title = r.take("str", "the game's title in quotes").text
    r.take("{", "'{' opening the list of player names")
    players = []
    while r.optional("}") is None:
        players.append(r.take("str", "a player name in quotes or '}'").text)
    if not players:
        raise r.fail("at least one player")
    r.optional("str")  # the comment
    n = len(players)
    infosets: dict[tuple[int, int], tuple[str, tuple[str, ...], tuple[Fraction, ...] | None]] = {}
    outcomes: dict[int, tuple[Fraction, ...]] = {}

    def outcome() -> tuple[Fraction, ...]:
        number, tok = r.integer("an outcome number (0 for none)")
        if number < 0:
            raise EfgError(f"outcome number {number} must be >= 0", tok.line, tok.column)
        r.optional("str")  # the outcome's name
        if r.peek() is not None and r.peek().kind == "{":
            r.take("{", "'{'")
            pay = []
            while r.optional("}") is None:
                r.optional(",")
                if r.peek() is not None and r.peek().kind == "}":
                    continue
                pay.append(r.number("a payoff (number) or '}'"))
            if len(pay) != n:
                raise EfgError(f"outcome {number} has {len(pay)} payoffs; the game has {n} players", tok.line, tok.column)
            if number in outcomes and outcomes[number] != tuple(pay):
                raise EfgError(f"outcome {number} is given different payoffs than before", tok.line, tok.column)
            outcomes[number] = tuple(pay)
        if number == 0:
            return tuple(Fraction(0) for _ in range(n))
        if number not in outcomes:
            raise EfgError(f"outcome {number} is used before its payoffs are given", tok.line, tok.column)
        return outcomes[number]

    def infoset(owner: int, is_chance: bool, tok_node: _Token) -> tuple[int, str, tuple[str, ...], tuple[Fraction, ...] | None]:
        number, tok = r.integer("an information set number")
        if number < 1:
            raise EfgError(f"information set number {number} must be >= 1", tok.line, tok.column)
        name_tok = r.optional("str")
        actions, probs = None, None
        if r.optional("{") is not None:
            actions, probs = [], []
            while r.optional("}") is None:
                actions.append(r.take("str", "an action name in quotes or '}'").text)
                if is_chance:
                    p = r.number("the action's probability")
                    if p < 0:
                        raise EfgError(f"chance probability {p} is negative", r.toks[r.i - 1].line, r.toks[r.i - 1].column)
                    probs.append(p)
            if not actions:
                raise EfgError("an information set needs at least one action", tok.line, tok.column)
            if is_chance and sum(probs) != 1:
                raise EfgError(f"chance probabilities sum to {sum(probs)}, not 1", tok.line, tok.column)
        key = (owner, number)
        if key in infosets:
            name, known, known_p = infosets[key]
            if actions is not None and (tuple(actions) != known or (is_chance and tuple(probs) != known_p)):
                raise EfgError(f"information set {number} is given different actions than before", tok.line, tok.column)
            return number, name, known, known_p
        if actions is None:
            raise EfgError(f"information set {number} appears for the first time without its actions", tok.line, tok.column)
        name = name_tok.text if name_tok is not None else ""
        infosets[key] = (name, tuple(actions), tuple(probs) if is_chance else None)
        return number, name, tuple(actions), infosets[key][2]

    where: dict[tuple[str, ...], _Token] = {}  # history -> the node's first token, to locate tree-level errors

    def node(accumulated: tuple[Fraction, ...], history: tuple[str, ...]) -> gt.Node:
        tok = r.peek()
        if tok is None or tok.kind != "word" or tok.text not in ("c", "p", "t"):
            raise r.fail("a node: 'c' (chance), 'p' (player) or 't' (terminal)")
        where[history] = tok
        r.i += 1
        name = r.take("str", "the node's name in quotes").text or None
        if tok.text == "t":
            pay = tuple(a + b for a, b in zip(accumulated, outcome()))
            return gt.Node(None, {}, None, None, list(pay), name)
        if tok.text == "c":
            number, label, actions, probs = infoset(0, True, tok)
            pay = tuple(a + b for a, b in zip(accumulated, outcome()))
            children = {}
            for a in actions:
                key = _unique(a, children)
                children[key] = node(pay, history + (key,))
            return gt.Node(gt.CHANCE, children, list(probs), ("chance", number, label), None, name)
        player, ptok = r.integer("the player number (1-based)")
        if not 1 <= player <= n:
            raise EfgError(f"player {player} does not exist; allowed: 1..{n}", ptok.line, ptok.column)
        number, label, actions, _ = infoset(player, False, tok)
        pay = tuple(a + b for a, b in zip(accumulated, outcome()))
        children = {}
        for a in actions:
            key = _unique(a, children)
            children[key] = node(pay, history + (key,))
        return gt.Node(player - 1, children, None, (number, label), None, name)

    root = node(tuple(Fraction(0) for _ in range(n)), ())
    extra = r.peek()
    if extra is not None:
        raise EfgError(f"unexpected {extra.text!r} after the last node of the tree", extra.line, extra.column)
    try:
        return gt.ExtensiveGame(root, players, title=title)
    except gt.GameTreeError as exc:
        tok = where.get(exc.history) if exc.history is not None else None
        raise EfgError(str(exc), tok.line if tok else None, tok.column if tok else None) from None


def _unique(action: str, taken: dict) -> str:
    """Child keys must be distinct; Gambit allows repeated (often empty) action names."""
    if action not in taken:
        return action
    k = 2
    while f"{action}#{k}" in taken:
        k += 1
    return f"{action}#{k}"


def read_efg_file(path: str | Path) -> gt.ExtensiveGame:
    return read_efg(Path(path).read_text())


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def infoset_name(label) -> str:
    """The display name of an information set label (as read from .efg: ``(number, name)``)."""
    if isinstance(label, tuple) and len(label) == 2 and isinstance(label[0], int):
        return label[1] or str(label[0])
    if isinstance(label, tuple) and label and label[0] == "node":
        return "/".join(label[1]) or "(root)"
    return str(label)


def write_efg(game: gt.ExtensiveGame, title: str | None = None, comment: str = "") -> str:
    """The game as .efg text: information sets numbered per player in order, one outcome per terminal."""
    lines = [f"EFG 2 R {_quote(title if title is not None else game.title)} {{ {' '.join(_quote(p) for p in game.players)} }}",
             _quote(comment), ""]
    number_in_player: dict[int, int] = {}
    for i in range(game.n_players):
        for k, index in enumerate(game.player_infosets[i], start=1):
            number_in_player[index] = k
    chance_number = 0
    outcome_number = 0
    stack = [0]
    while stack:
        k = stack.pop()
        name = _quote(game.names[k] or "")
        m = game.mover[k]
        if m == gt.TERMINAL:
            outcome_number += 1
            pay = ", ".join(str(v) for v in game.payoffs_exact[k])
            lines.append(f"t {name} {outcome_number} \"\" {{ {pay} }}")
        elif m == gt.CHANCE:
            chance_number += 1
            label = game.chance_labels.get(k)
            shown = infoset_name(label[1:]) if isinstance(label, tuple) and label and label[0] == "chance" else (label or "")
            acts = " ".join(f"{_quote(a)} {p}" for a, p in zip(game.actions[k], game.chance_probs[k]))
            lines.append(f"c {name} {chance_number} {_quote(shown)} {{ {acts} }} 0")
        else:
            index = game.node_infoset[k]
            info = game.infosets[index]
            acts = " ".join(_quote(a) for a in info.actions)
            lines.append(f"p {name} {m + 1} {number_in_player[index]} {_quote(infoset_name(info.label))} {{ {acts} }} 0")
        stack.extend(reversed(game.children[k]))
    return "\n".join(lines) + "\n"
