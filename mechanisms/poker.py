"""Kuhn poker and Leduc hold'em as extensive games (the rules OpenSpiel's ``kuhn_poker`` and ``leduc_poker`` use).

Kuhn poker (Kuhn 1950, "A simplified two-person poker"): a deck J < Q < K,
each player antes 1 and gets one card (chance: 1/3, then 1/2). Player 1
passes or bets 1; after a pass player 2 passes (showdown for 1) or bets; a
bet is answered by pass (fold) or bet (call, showdown for 2). The game value
for player 1 is -1/18 (Kuhn 1950).

Leduc hold'em (Southey et al. 2005, "Bayes' bluff: opponent modelling in
poker"): a deck of two suits of J, Q, K; each player antes 1 and gets a
private card; a betting round (bet/raise size 2, at most two raises); a
public card; a second betting round (size 4, at most two raises); showdown:
a private card that pairs the public one wins, else the higher rank; equal
ranks split. Actions, in OpenSpiel's order: ``fold`` (only facing a bet),
``call`` (check when nothing is owed), ``raise``. Cards are kept with their
suit (``J1``, ``J2``, ...), as in OpenSpiel, so the information sets are
the same as OpenSpiel's (936 in all).

Information sets are labelled by what the mover knows: own card, public card
if dealt, and the betting so far (``p`` pass, ``b`` bet in Kuhn; ``f``,
``c``, ``r`` in Leduc, rounds separated by ``/``).
"""

from __future__ import annotations

from fractions import Fraction

from mechanisms.game_tree import CHANCE, ExtensiveGame, Node, terminal

KUHN_CARDS = ("J", "Q", "K")


def kuhn_poker() -> ExtensiveGame:
    """Two-player Kuhn poker; payoffs are chip gains (antes included)."""

    def showdown(c1: int, c2: int, stake: int) -> Node:
        return terminal(stake, -stake) if c1 > c2 else terminal(-stake, stake)

    def deal2(c1: int) -> Node:
        rest = [c for c in range(3) if c != c1]
        kids = {}
        for c2 in rest:
            a, b = KUHN_CARDS[c1], KUHN_CARDS[c2]
            after_pass_bet = Node(0, {"pass": terminal(-1, 1), "bet": showdown(c1, c2, 2)}, infoset=f"{a}pb")
            after_pass = Node(1, {"pass": showdown(c1, c2, 1), "bet": after_pass_bet}, infoset=f"{b}p")
            after_bet = Node(1, {"pass": terminal(1, -1), "bet": showdown(c1, c2, 2)}, infoset=f"{b}b")
            kids[b] = Node(0, {"pass": after_pass, "bet": after_bet}, infoset=a)
        return Node(CHANCE, kids, probs=[Fraction(1, 2)] * 2, infoset=f"deal 2 after {KUHN_CARDS[c1]}")

    root = Node(CHANCE, {KUHN_CARDS[c]: deal2(c) for c in range(3)}, probs=[Fraction(1, 3)] * 3, infoset="deal 1")
    return ExtensiveGame(root, ["Player 1", "Player 2"], title="Kuhn poker")


LEDUC_CARDS = ("J1", "J2", "Q1", "Q2", "K1", "K2")


def _rank(card: int) -> int:
    return card // 2


def leduc_poker() -> ExtensiveGame:
    """Two-player Leduc hold'em (OpenSpiel's ``leduc_poker`` rules); payoffs are chip gains."""

    def winner(private: tuple[int, int], public: int) -> int:
        """+1 if player 1 wins, -1 if player 2 wins, 0 for a split."""
        pair = [_rank(c) == _rank(public) for c in private]
        if pair[0] != pair[1]:
            return 1 if pair[0] else -1
        r1, r2 = _rank(private[0]), _rank(private[1])
        return (r1 > r2) - (r1 < r2)

    def betting(private, public, history: str, rnd: int, spent: list[int], raises: int, mover: int, acted: int) -> Node:
        """A decision node of ``mover``; ``spent`` is each player's total contribution so far."""
        size = 2 if rnd == 1 else 4
        owed = spent[1 - mover] - spent[mover]
        card = LEDUC_CARDS[private[mover]]
        label = card + ("" if public is None else f"|{LEDUC_CARDS[public]}") + f"|{history}"
        kids: dict[str, Node] = {}
        if owed > 0:
            kids["fold"] = terminal(*(-spent[0], spent[0]) if mover == 0 else (spent[1], -spent[1]))
        after = list(spent)
        after[mover] += owed
        if acted >= 1:  # a call (or check) by anyone but the round's first actor ends the round
            kids["call"] = next_round(private, public, history + "c", rnd, after)
        else:
            kids["call"] = betting(private, public, history + "c", rnd, after, raises, 1 - mover, acted + 1)
        if raises < 2:
            raised = list(after)
            raised[mover] += size
            kids["raise"] = betting(private, public, history + "r", rnd, raised, raises + 1, 1 - mover, acted + 1)
        return Node(mover, kids, infoset=label)

    def next_round(private, public, history: str, rnd: int, spent: list[int]) -> Node:
        if rnd == 2:
            sign = winner(private, public)
            return terminal(sign * spent[1], -sign * spent[1]) if sign else terminal(0, 0)
        rest = [c for c in range(6) if c not in private]
        kids = {LEDUC_CARDS[c]: betting(private, c, history + "/", 2, spent, 0, 0, 0) for c in rest}
        return Node(CHANCE, kids, probs=[Fraction(1, len(rest))] * len(rest),
                    infoset=f"public card after {LEDUC_CARDS[private[0]]} {LEDUC_CARDS[private[1]]} {history}")

    def deal2(c1: int) -> Node:
        rest = [c for c in range(6) if c != c1]
        kids = {LEDUC_CARDS[c2]: betting((c1, c2), None, "", 1, [1, 1], 0, 0, 0) for c2 in rest}
        return Node(CHANCE, kids, probs=[Fraction(1, 5)] * 5, infoset=f"deal 2 after {LEDUC_CARDS[c1]}")

    root = Node(CHANCE, {LEDUC_CARDS[c]: deal2(c) for c in range(6)}, probs=[Fraction(1, 6)] * 6, infoset="deal 1")
    return ExtensiveGame(root, ["Player 1", "Player 2"], title="Leduc hold'em")
