"""Regression for the conditioning test of support systems: von Stengel's 6x6 game with 75 equilibria.

The matrix A is the published one (B. von Stengel 1999, "New maximal numbers of equilibria in
bimatrix games", Discrete Comput. Geom. 21); B is A with rows and columns permuted
(B[i][j] = A[p(j)][p(i)], p swapping strategies 1<->5 and 2<->6), so the game has the
full-support equilibrium x = (132, 66, 30, 12, 4, 1)/245 and y = x permuted. Its defining
system has determinant 4.3e-15 after rescaling to [1, 2] but condition number 2.3e7: a
determinant threshold dropped it and reported 74 equilibria as complete.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pygambit
import pytest

from mechanisms import normal_form as nf
from tests.mechanisms.oracles import gambit_profiles, same_set

A75 = [
    [9504, -660, 19976, -20526, 1776, -8976],
    [-111771, 31680, -130944, 168124, -8514, 52764],
    [397584, -113850, 451176, -586476, 29216, -178761],
    [171204, -45936, 208626, -263076, 14124, -84436],
    [1303104, -453420, 1227336, -1718376, 72336, -461736],
    [737154, -227040, 774576, -1039236, 48081, -300036],
]
PERM = [4, 5, 2, 3, 0, 1]
B75 = [[A75[PERM[j]][PERM[i]] for j in range(6)] for i in range(6)]
X_FULL = [Fraction(v, 245) for v in (132, 66, 30, 12, 4, 1)]
Y_FULL = [X_FULL[PERM[j]] for j in range(6)]


def concatenated(result) -> list[np.ndarray]:
    return [np.concatenate(e.strategies) for e in result]


@pytest.fixture(scope="module")
def gambit_75() -> list[np.ndarray]:
    game = pygambit.Game.from_arrays(np.array(A75, dtype=int), np.array(B75, dtype=int))
    return gambit_profiles(game, pygambit.nash.enummixed_solve(game, rational=True))


def test_gambit_finds_75_including_the_full_support_one(gambit_75):
    assert len(gambit_75) == 75
    full = np.array([float(v) for v in X_FULL + Y_FULL])
    assert any(np.abs(g - full).max() < 1e-12 for g in gambit_75)


@pytest.mark.parametrize("solver", [nf.support_enumeration, nf.vertex_enumeration, nf.equilibria])
def test_all_75_equilibria_found_and_equal_gambits(solver, gambit_75):
    result = solver(np.array(A75, float), np.array(B75, float))
    assert len(result) == 75
    assert result.complete and result.degenerate is False
    assert same_set(concatenated(result), gambit_75, tol=1e-9)


def test_full_support_equilibrium_is_exact():
    result = nf.support_enumeration(np.array(A75, float), np.array(B75, float))
    full = [e for e in result if len(e.supports[0]) == 6]
    assert len(full) == 1
    x, y, payoffs = nf.rational_equilibrium(A75, B75, full[0])
    assert x == X_FULL and y == Y_FULL
    assert payoffs[0] == 132  # (A y)_i = 132 for every row


def test_exactly_singular_systems_are_still_skipped():
    # A degenerate game with an exactly singular support system: two identical rows.
    A = np.array([[1.0, 0.0], [1.0, 0.0]])
    B = np.array([[0.0, 1.0], [0.0, 1.0]])
    ours = nf.vertex_enumeration(A, B)
    game = pygambit.Game.from_arrays(A.astype(int), B.astype(int))
    theirs = gambit_profiles(game, pygambit.nash.enummixed_solve(game, rational=True))
    assert same_set(concatenated(ours), theirs, tol=1e-9)


def test_a_batch_with_both_well_and_ill_conditioned_candidates():
    """Two nearly equal rows (1e-13 apart) put an ill-conditioned support system beside well-posed ones in one
    batch; the ill one is dropped and the rest are still solved (this raised a shape mismatch once)."""
    A = np.array([[6.0, 2.0, 9.0, 0.0], [6.00000000000009, 1.9999999999999656, 8.999999999999853, -1.10010764711251e-14],
                  [4.0, 8.0, 9.0, 2.0], [4.0, 2.0, 6.0, 6.0]])
    B = np.array([[8.0, 8.0, 9.0, 9.0], [8.0, 1.0, 0.0, 4.0], [3.0, 8.0, 7.0, 4.0], [5.0, 5.0, 8.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.DegenerateGameWarning)
        found = nf.support_enumeration(A, B, on_degenerate="warn")
    assert len(found) >= 1
    for e in found:
        x, y = e.strategies
        assert (A @ y).max() - x @ A @ y < 1e-9 and (x @ B).max() - x @ B @ y < 1e-9
