"""N-player mixed equilibria: logit QRE at a lambda and the logit limit, against pygambit 16.

Oracles: ``pygambit.qre.logit_solve_lambda`` (the QRE at given lambdas),
``pygambit.nash.logit_solve`` (the limit of the principal branch) and ``enummixed_solve``
(all equilibria of two-player games) on the same payoff arrays,
plus an exact Nash check in rational arithmetic written here, independently of mechanisms/.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pygambit
import pytest

from mechanisms import logit, simpdiv
from mechanisms import normal_form as nf
from tests.mechanisms.oracles import gambit_profiles


def gambit_game(u: np.ndarray):
    return pygambit.Game.from_arrays(*[np.asarray(u[i]) for i in range(u.shape[0])])


def gambit_vectors(game, profile) -> list[np.ndarray]:
    return [np.array([float(profile[s]) for s in p.strategies]) for p in game.players]


def no_pure_games(shape: tuple[int, ...], count: int, first_seed: int = 0) -> list[tuple[int, np.ndarray]]:
    out = []
    for seed in itertools.count(first_seed):
        u = np.random.default_rng(seed).integers(-5, 6, (len(shape),) + shape)
        if not nf.pure_equilibria(u):
            out.append((seed, u))
        if len(out) == count:
            return out


def exact_regret_is_zero(u: np.ndarray, strategies: list[list[str]]) -> bool:
    """Every player's pure deviations earn at most the equilibrium payoff, in exact arithmetic."""
    sigma = [[Fraction(p) for p in s] for s in strategies]
    n = u.shape[0]
    for i in range(n):
        def value(own: int) -> Fraction:
            total = Fraction(0)
            for others in itertools.product(*[range(len(sigma[j])) for j in range(n) if j != i]):
                profile = list(others)
                profile.insert(i, own)
                weight = Fraction(1)
                for j, a in enumerate(profile):
                    if j != i:
                        weight *= sigma[j][a]
                total += weight * int(u[(i,) + tuple(profile)])
            return total
        values = [value(a) for a in range(len(sigma[i]))]
        if sum(p * v for p, v in zip(sigma[i], values)) != max(values):
            return False
    return True


GAMES = ([("2x2x2", s, u) for s, u in no_pure_games((2, 2, 2), 4)]
         + [("3x2x2", s, u) for s, u in no_pure_games((3, 2, 2), 2)]
         + [("2x2x2x2", s, u) for s, u in no_pure_games((2, 2, 2, 2), 2)]
         + [("3x3x3", s, u) for s, u in no_pure_games((3, 3, 3), 1)])


@pytest.mark.parametrize("shape,seed,u", GAMES, ids=[f"{g[0]}-seed{g[1]}" for g in GAMES])
def test_logit_limit_is_a_verified_mixed_equilibrium_and_gambits(shape, seed, u):
    result = logit.logit_solve(u, np.vectorize(Fraction, otypes=[object])(u))
    assert len(result) == 1, result.notes
    sigma = list(result[0].strategies)
    scale = u.max() - u.min()
    assert nf.regret(u, sigma).max() <= 1e-9 * scale
    assert result.parameters["regret"] <= result.parameters["regret_bound"] == 1e-9 * scale
    assert any((s > 1e-9).sum() > 1 for s in sigma)  # mixed: these games have no pure equilibrium
    game = gambit_game(u)
    theirs = gambit_vectors(game, pygambit.nash.logit_solve(game).equilibria[0])
    assert max(np.abs(a - b).max() for a, b in zip(sigma, theirs)) < 1e-6  # the same branch, the same limit
    if result.parameters.get("exact"):
        assert exact_regret_is_zero(u, result.parameters["exact_strategies"])


@pytest.mark.parametrize("shape,seed,u", GAMES[:5], ids=[f"{g[0]}-seed{g[1]}" for g in GAMES[:5]])
def test_qre_at_lambda_equals_gambits(shape, seed, u):
    game = gambit_game(u)
    assert all(np.allclose(s, 1 / len(s)) for s in logit.logit_qre_at(u, 0.0)[0].strategies)  # lambda 0: uniform
    lams = [0.3, 1.0, 2.5]
    theirs = pygambit.qre.logit_solve_lambda(game, lams)
    for lam, their in zip(lams, theirs):
        ours = logit.logit_qre_at(u, lam)[0].strategies
        assert max(np.abs(a - b).max() for a, b in zip(ours, gambit_vectors(game, their.profile))) < 1e-8, lam


def test_two_player_qre_agrees_between_solvers():
    A, B = np.array([[3, 0, 2], [1, 2, 0]]), np.array([[1, 3, 0], [2, 0, 3]])
    for lam in (0.5, 2.0, 6.0):
        n_player = logit.logit_qre_at(nf.stack(A, B), lam)[0]
        bimatrix = nf.logit_qre(A, B, lam)[0]
        assert max(np.abs(a - b).max() for a, b in zip(n_player.strategies, bimatrix.strategies)) < 1e-9


def test_exact_refinement_of_a_rational_equilibrium():
    # Three-player matching cycle (Jordan 1993): the unique equilibrium is uniform play.
    u = np.zeros((3, 2, 2, 2), dtype=int)
    for s in np.ndindex(2, 2, 2):
        u[0][s], u[1][s], u[2][s] = s[0] == s[1], s[1] == s[2], s[2] != s[0]
    result = logit.logit_solve(u, np.vectorize(Fraction, otypes=[object])(u))
    assert result.parameters["exact_strategies"] == [["1/2", "1/2"]] * 3
    assert exact_regret_is_zero(u, result.parameters["exact_strategies"])


def test_games_with_pure_equilibria_also_get_a_verified_one():
    for seed in range(3):
        u = np.random.default_rng(100 + seed).integers(-5, 6, (3, 3, 2, 2))
        result = logit.logit_solve(u)
        assert len(result) == 1 and nf.is_nash(u, result[0].strategies, 1e-9 * (u.max() - u.min()))


def qre_residual(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray, lam: float) -> float:
    """Distance of (x, y) from its own logit response: 0 at a QRE (McKelvey & Palfrey 1995, eq. 4)."""
    sx, sy = np.exp(lam * (A @ y)), np.exp(lam * (B.T @ x))
    return max(np.abs(sx / sx.sum() - x).max(), np.abs(sy / sy.sum() - y).max())


def test_symmetric_game_keeps_the_symmetric_branch_where_gambit_leaves_it():
    """The docstring's claim about branches, checked: at lambda 1.372 on this symmetric 3x3 game
    ours is the symmetric QRE, Gambit's an asymmetric one, and both are QRE."""
    A = np.random.default_rng(9).integers(-3, 4, (3, 3))
    lam = 1.372
    x, y = nf.logit_qre(A, A.T, lam)[0].strategies
    assert np.abs(x - y).max() < 1e-12 and qre_residual(A, A.T, x, y, lam) < 1e-12
    game = gambit_game(nf.stack(A, A.T))
    gx, gy = gambit_vectors(game, pygambit.qre.logit_solve_lambda(game, [lam])[0].profile)
    assert np.abs(gx - gy).max() > 0.1 and qre_residual(A, A.T, gx, gy, lam) < 1e-10
    n_player = logit.logit_qre_at(nf.stack(A, A.T), lam)[0].strategies
    assert np.abs(n_player[0] - x).max() < 1e-9


def test_coordination_game_at_its_bifurcation_point():
    A = np.eye(2)  # the uniform QRE loses stability exactly at lambda = 2 (singular Jacobian)
    x, y = nf.logit_qre(A, A, 2.0)[0].strategies
    assert np.allclose(x, 0.5) and np.allclose(y, 0.5)


@pytest.mark.parametrize("shape,seed,u", GAMES, ids=[f"{g[0]}-seed{g[1]}" for g in GAMES])
def test_simpdiv_returns_a_verified_mixed_equilibrium(shape, seed, u):
    result = simpdiv.simpdiv(u, np.vectorize(Fraction, otypes=[object])(u))
    assert len(result) == 1, result.notes
    sigma = list(result[0].strategies)
    assert nf.regret(u, sigma).max() <= 1e-9 * (u.max() - u.min())
    assert any((s > 1e-9).sum() > 1 for s in sigma)
    if result.parameters.get("exact"):
        assert exact_regret_is_zero(u, result.parameters["exact_strategies"])


@pytest.mark.parametrize("shape,seed,u", GAMES[::3], ids=[f"{g[0]}-seed{g[1]}" for g in GAMES[::3]])
def test_simpdiv_approximations_converge_as_the_mesh_shrinks(shape, seed, u):
    """Unpolished: the restart sequence's approximate fixed points of Nash's map get better with the mesh."""
    regrets = [nf.regret(u, simpdiv.approximate_equilibrium(u, mesh)).max() for mesh in (4, 64, 1024)]
    assert regrets[2] < regrets[0] / 20 and regrets[2] < 2e-3 * (u.max() - u.min())


@pytest.mark.parametrize("seed", range(8))
def test_simpdiv_on_two_player_games_finds_one_of_gambits_equilibria(seed):
    rng = np.random.default_rng(200 + seed)
    A, B = rng.integers(-9, 10, (2, 4, 3))
    result = simpdiv.simpdiv(nf.stack(A, B))
    game = pygambit.Game.from_arrays(A, B)
    every = gambit_profiles(game, pygambit.nash.enummixed_solve(game, rational=True))
    ours = np.concatenate(result[0].strategies)
    assert nf.regret(nf.stack(A, B), result[0].strategies).max() <= 1e-9 * 18
    if not nf.support_enumeration(A, B, on_degenerate="ignore").degenerate:  # else it may lie inside a continuum
        assert min(np.abs(ours - g).max() for g in every) < 1e-9


def test_simpdiv_and_gambits_simpdiv_agree_on_a_unique_equilibrium():
    u = np.zeros((3, 2, 2, 2), dtype=int)
    for s in np.ndindex(2, 2, 2):
        u[0][s], u[1][s], u[2][s] = s[0] == s[1], s[1] == s[2], s[2] != s[0]
    ours = simpdiv.simpdiv(u)[0].strategies
    game = gambit_game(u)
    theirs = gambit_vectors(game, pygambit.nash.simpdiv_solve(game.mixed_strategy_profile(rational=True)).equilibria[0])
    assert max(np.abs(a - b).max() for a, b in zip(ours, theirs)) < 1e-9


def test_agora_solve_n_player_methods():
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from simulator.cli import app

    game = Path(__file__).resolve().parents[2] / "games" / "matching_cycle_3.nfg"
    runner = CliRunner()
    for method in ("simpdiv", "logit-limit", "auto"):
        result = runner.invoke(app, ["solve", str(game), "--method", method, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)[0]["exact"]["strategies"] == [["1/2", "1/2"]] * 3
    qre = json.loads(runner.invoke(app, ["solve", str(game), "--method", "logit", "--lam", "3", "--json"]).output)
    assert np.allclose(qre[0]["strategies"], 0.5)  # uniform play is the QRE at every lambda here
    refused = runner.invoke(app, ["solve", str(game), "--method", "support"])
    assert refused.exit_code == 2 and "simpdiv" in refused.output
