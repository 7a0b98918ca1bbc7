"""The result shape every solver returns: :class:`NashResult` of :class:`Equilibrium` (like Gambit's
``NashComputationResult``), and the degeneracy error / warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np


class DegenerateGameError(ValueError):
    """The bimatrix game is degenerate: support enumeration would not give the full equilibrium set."""


class DegenerateGameWarning(UserWarning):
    """Issued instead of ``DegenerateGameError`` when ``on_degenerate="warn"``."""


@dataclass(frozen=True)
class Equilibrium:
    """One equilibrium: a mixed strategy per player and the expected payoffs.

    ``joint`` is set for correlated equilibria (a distribution over pure
    profiles, shape ``(a_1, ..., a_n)``); ``strategies`` are then its marginals.
    """

    strategies: tuple[np.ndarray, ...]
    payoffs: np.ndarray
    joint: np.ndarray | None = None

    @property
    def row(self) -> np.ndarray:
        return self.strategies[0]

    @property
    def col(self) -> np.ndarray:
        return self.strategies[1]

    @property
    def supports(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(int(i) for i in np.flatnonzero(s > 1e-12)) for s in self.strategies)

    def exact(self, max_denominator: int = 1000, tol: float = 1e-9) -> tuple[list[Fraction], ...] | None:
        """The strategies as fractions, or ``None`` if some probability is not within ``tol`` of a
        fraction with denominator at most ``max_denominator`` (then it is not "nicely" rational).

        Keep ``tol`` well below ``1 / max_denominator**2``: every real number is that close to some
        fraction with such a denominator. For exact answers with large denominators use
        :func:`rational_equilibrium`."""
        out = []
        for s in self.strategies:
            fr = [to_fraction(p, max_denominator, tol) for p in s]
            if any(f is None for f in fr) or sum(fr) != 1:
                return None
            out.append(fr)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"strategies": [s.tolist() for s in self.strategies], "payoffs": self.payoffs.tolist()}
        if len(self.strategies) == 2:
            data["row"], data["col"] = self.row.tolist(), self.col.tolist()
        if self.joint is not None:
            data["joint"] = self.joint.tolist()
        return data


@dataclass(frozen=True)
class NashResult:
    """What every solver returns.

    Attributes
    ----------
    method: name of the algorithm.
    equilibria: the equilibria found (a list of :class:`Equilibrium`).
    degenerate: ``True`` / ``False`` if the solver checked, ``None`` if it did not.
    complete: ``True`` iff the list is claimed to be the full set (of all
        equilibria for nondegenerate games, of all *extreme* equilibria for
        vertex enumeration on degenerate games).
    notes: human-readable remarks (e.g. why a set is incomplete).
    parameters: the solver's parameters (tolerances, lambda, ...).
    """

    method: str
    equilibria: list[Equilibrium]
    degenerate: bool | None = None
    complete: bool = False
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.equilibria)

    def __iter__(self):
        return iter(self.equilibria)

    def __getitem__(self, index: int) -> Equilibrium:
        return self.equilibria[index]

    @property
    def value(self) -> float:
        """The row player's payoff in the first equilibrium: the value of a zero-sum game."""
        return float(self.equilibria[0].payoffs[0])


def to_fraction(x: float, max_denominator: int = 1000, tol: float = 1e-9) -> Fraction | None:
    """``Fraction`` closest to ``x`` with a bounded denominator, or ``None`` if it is further than ``tol``."""
    f = Fraction(float(x)).limit_denominator(max_denominator)
    return f if abs(float(f) - float(x)) <= tol else None
