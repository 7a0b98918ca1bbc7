"""Evolutionary dynamics against known results: rest points of rock-paper-scissors and hawk-dove,
the conserved quantity of RPS orbits, Moran fixation probabilities against the closed form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mechanisms import evolution as ev
from simulator.cli import app

GAMES = Path(__file__).resolve().parents[2] / "games"
RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])


def hawk_dove(V: float, C: float) -> np.ndarray:
    """Maynard Smith & Price (1973): hawks split V and pay C when they meet; doves share."""
    return np.array([[(V - C) / 2, V], [0.0, V / 2]])


def by_state(points):
    return {tuple(np.round(p.state, 9)): p for p in points}


def test_rock_paper_scissors_rest_points():
    """Hofbauer & Sigmund (1998) Sec. 7.7: the vertices are saddles, the barycentre a centre with
    eigenvalues +-i/sqrt(3) (standard RPS, win 1 / lose -1); there are no rest points on the edges."""
    points = by_state(ev.rest_points(RPS))
    third = round(1 / 3, 9)
    assert set(points) == {(1, 0, 0), (0, 1, 0), (0, 0, 1), (third, third, third)}
    for corner in [(1, 0, 0), (0, 1, 0), (0, 0, 1)]:
        assert points[corner].stability == "unstable"
        assert sorted(points[corner].eigenvalues.real) == pytest.approx([-1, 1])
    centre = points[(third, third, third)]
    assert centre.stability == "non-hyperbolic"
    assert np.abs(centre.eigenvalues.real).max() < 1e-12
    assert sorted(np.abs(centre.eigenvalues.imag)) == pytest.approx([1 / np.sqrt(3)] * 2)


def test_rock_paper_scissors_orbits_conserve_the_product():
    """x_1 x_2 x_3 is a constant of motion of zero-sum RPS (Hofbauer & Sigmund 1998, Sec. 7.7)."""
    states = ev.replicator(RPS, [0.5, 0.3, 0.2], t_max=40.0).states
    product = states.prod(axis=1)
    assert np.abs(product - 0.03).max() < 1e-7
    assert states[:, 0].max() - states[:, 0].min() > 0.2  # it cycles rather than converging


@pytest.mark.parametrize("V,C", [(2, 4), (1, 3), (3, 5)])
def test_hawk_dove_rest_points_and_convergence(V, C):
    """Rest points: all-dove and all-hawk unstable, hawk share V/C asymptotically stable with
    eigenvalue -x*(1-x*)C/2 (the derivative of x(1-x)(V - C x)/2 at x* = V/C)."""
    A = hawk_dove(V, C)
    points = by_state(ev.rest_points(A))
    star = V / C
    assert set(points) == {(1, 0), (0, 1), (round(star, 9), round(1 - star, 9))}
    assert points[(1, 0)].stability == points[(0, 1)].stability == "unstable"
    interior = points[(round(star, 9), round(1 - star, 9))]
    assert interior.stability == "stable"
    assert interior.eigenvalues.real == pytest.approx([-star * (1 - star) * C / 2])
    assert ev.replicator(A, [0.95, 0.05], t_max=80.0).states[-1][0] == pytest.approx(star, abs=1e-6)
    assert ev.best_response_dynamics(A, [0.05, 0.95], t_max=20.0, dt=0.001).states[-1][0] == pytest.approx(star, abs=5e-3)


def test_two_population_rest_points_of_battle_of_the_sexes_and_matching_pennies():
    A, B = np.array([[3, 0], [0, 2]]), np.array([[2, 0], [0, 3]])
    points = by_state(ev.rest_points_bimatrix(A, B))
    # strict equilibria are the stable rest points (Selten 1980; Hofbauer & Sigmund 1998, ch. 10)
    assert points[(1, 0, 1, 0)].stability == points[(0, 1, 0, 1)].stability == "stable"
    assert points[(0.6, 0.4, 0.4, 0.6)].stability == "unstable"  # the mixed equilibrium is a saddle
    assert points[(1, 0, 0, 1)].stability == points[(0, 1, 1, 0)].stability == "unstable"
    M = np.array([[1, -1], [-1, 1]])
    centre = by_state(ev.rest_points_bimatrix(M, -M))[(0.5, 0.5, 0.5, 0.5)]
    assert centre.stability == "non-hyperbolic" and sorted(np.abs(centre.eigenvalues.imag)) == pytest.approx([1, 1])


GAMES_2X2 = {"prisoners_dilemma": [[3, 0], [5, 1]], "stag_hunt": [[4, 0], [3, 3]], "hawk_dove": hawk_dove(2, 4) + 2,
             "snowdrift": [[3, 1], [4, 0.5]]}


@pytest.mark.parametrize("name", sorted(GAMES_2X2))
@pytest.mark.parametrize("N,w", [(2, 0.9), (10, 0.1), (50, 0.5), (200, 0.05)])
def test_moran_chain_equals_closed_form(name, N, w):
    chain = ev.moran_fixation(GAMES_2X2[name], N, w)
    closed = ev.moran_fixation_closed_form(GAMES_2X2[name], N, w)
    assert chain[0] == 0 and chain[-1] == 1
    assert np.abs(chain - closed).max() < 1e-9


@pytest.mark.parametrize("r,N", [(1.1, 20), (2.0, 10), (0.8, 30)])
def test_moran_constant_fitness_and_neutral_drift(r, N):
    """Constant fitness r against 1: phi_i = (1 - r^-i) / (1 - r^-N) (Nowak 2006, eq. 6.13);
    neutral (w = 0): phi_i = i / N."""
    i = np.arange(N + 1)
    game = [[r, r], [1, 1]]
    assert np.abs(ev.moran_fixation(game, N, 1.0) - (1 - r ** -i) / (1 - r ** -N)).max() < 1e-9
    assert np.abs(ev.moran_fixation_closed_form(game, N, 1.0) - (1 - r ** -i) / (1 - r ** -N)).max() < 1e-9
    assert np.abs(ev.moran_fixation(GAMES_2X2["stag_hunt"], N, 0.0) - i / N).max() < 1e-9


def test_moran_simulation_agrees_with_the_fixation_probability():
    rng = np.random.default_rng(11)
    game, N, w, runs = GAMES_2X2["stag_hunt"], 8, 0.8, 3000
    phi = ev.moran_fixation(game, N, w)[2]
    wins = sum(ev.moran_simulate(game, N, 2, w, rng) for _ in range(runs))
    assert abs(wins / runs - phi) < 4 * np.sqrt(phi * (1 - phi) / runs)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="probability vector"):
        ev.replicator(RPS, [0.5, 0.6, 0.1])
    with pytest.raises(ValueError, match="must be positive"):
        ev.moran_fixation([[-5, 0], [0, 1]], 10, 1.0)
    with pytest.raises(ValueError, match="2x2"):
        ev.moran_fixation(RPS, 10, 0.5)


def test_agora_solve_replicator_prints_rest_points_and_plots(tmp_path):
    runner = CliRunner()
    plot = tmp_path / "rps.png"
    result = runner.invoke(app, ["solve", str(GAMES / "rock_paper_scissors.json"), "--method", "replicator", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "4 rest points" in result.output and "non-hyperbolic" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(runner.invoke(app, ["solve", str(GAMES / "hawk_dove.yaml"), "--method", "replicator", "--json"]).output)
    stable = [e for e in data if e["stability"] == "stable"]
    assert len(stable) == 1 and stable[0]["exact"]["strategies"] == [["1/2", "1/2"], ["1/2", "1/2"]] and stable[0]["nash"]
    bad = runner.invoke(app, ["solve", str(GAMES / "hawk_dove.yaml"), "--plot", str(tmp_path / "x.png")])
    assert bad.exit_code == 2 and "--method replicator" in bad.output


def test_matrix_game_world_reports_replicator_rest_points():
    from simulator.worlds.matrix_game import NAMED_GAMES, payoff_tensor, stage_game_theory

    labels, table = NAMED_GAMES["rock_paper_scissors"]
    theory = stage_game_theory(payoff_tensor(table), [labels, labels])
    points = {tuple(sorted(p["state"].items())): p["stability"] for p in theory["replicator_rest_points"]}
    assert points[(("rock", 1.0),)] == "unstable"
    assert [v for k, v in points.items() if len(k) == 3] == ["non-hyperbolic"] and len(points) == 4  # the centre
    labels, table = NAMED_GAMES["battle_of_the_sexes"]  # asymmetric: no one-population dynamics
    assert "replicator_rest_points" not in stage_game_theory(payoff_tensor(table), [labels, labels])


@pytest.mark.parametrize("name", sorted(GAMES_2X2))
@pytest.mark.parametrize("N,beta", [(2, 0.5), (10, 1.0), (50, 0.2), (200, 0.05)])
def test_fermi_chain_and_exponential_moran_equal_the_closed_form(name, N, beta):
    """Pairwise comparison (Fermi) has T-/T+ = exp(-beta (pi_A - pi_B)), the ratio of exponential-fitness
    Moran (Traulsen, Nowak & Pacheco 2006): both chains, solved directly, equal the product formula."""
    closed = ev.moran_fixation_closed_form(GAMES_2X2[name], N, beta, fitness="exponential")
    assert np.abs(ev.pairwise_comparison_fixation(GAMES_2X2[name], N, beta) - closed).max() < 1e-9
    assert np.abs(ev.moran_fixation(GAMES_2X2[name], N, beta, fitness="exponential") - closed).max() < 1e-9


@pytest.mark.parametrize("r,N,w", [(1.1, 20, 1.0), (2.0, 10, 0.3)])
def test_exponential_fitness_with_constant_payoffs(r, N, w):
    """Payoff r against 1: fitness ratio rho = exp(w (r - 1)), phi_i = (1 - rho^-i) / (1 - rho^-N)."""
    i = np.arange(N + 1)
    rho = np.exp(w * (r - 1))
    phi = ev.moran_fixation([[r, r], [1, 1]], N, w, fitness="exponential")
    assert np.abs(phi - (1 - rho ** -i) / (1 - rho ** -N)).max() < 1e-9


def test_mean_dynamics_of_the_finite_population_processes():
    """Proportional imitation = replicator / (max A - min A) (Schlag 1998); Moran with weak selection
    = w * replicator (Nowak 2006, ch. 6); Fermi rests where payoffs are equal and moves towards the better one."""
    A = hawk_dove(2, 4)
    for x in ([0.1, 0.9], [0.7, 0.3], [0.5, 0.5]):
        x = np.array(x)
        replicator = ev.replicator_field(A, x)
        assert ev.imitation_field(A, x, "proportional", 1.0) == pytest.approx(replicator / 3)
        assert ev.imitation_field(A, x, "moran", 1e-6, "linear") / 1e-6 == pytest.approx(replicator, rel=1e-4, abs=1e-9)
        fermi = ev.imitation_field(A, x, "fermi", 1.0)
        assert np.sign(fermi[0]) == np.sign(replicator[0]) and fermi.sum() == pytest.approx(0, abs=1e-15)
    assert np.abs(ev.imitation_field(A, np.array([0.5, 0.5]), "fermi", 2.0)).max() < 1e-15
    x0 = np.array([0.5, 0.3, 0.2])
    orbit = ev.imitation_dynamics(RPS, x0, "proportional", 1.0, np.linspace(0, 20, 50)).states
    assert np.abs(orbit.prod(axis=1) - x0.prod()).max() < 1e-6  # the replicator's constant of motion survives


def test_bad_dynamics_input_is_refused():
    with pytest.raises(ValueError, match="process must be one of"):
        ev.imitation_field(RPS, np.ones(3) / 3, "wright_fisher", 1.0)
    with pytest.raises(ValueError, match="fitness must be one of"):
        ev.fitness_of(np.ones(2), 1.0, "quadratic")
    with pytest.raises(ValueError, match="in \\[0, 1\\] for linear fitness"):
        ev.moran_fixation(GAMES_2X2["stag_hunt"], 10, 2.0)
    assert 0 < ev.moran_fixation(GAMES_2X2["stag_hunt"], 10, 2.0, fitness="exponential")[5] < 1  # any w >= 0 is fine there


@pytest.mark.parametrize("N", [5, 10, 40])
def test_neutral_absorption_time_equals_the_closed_form(N):
    """Neutral Moran process (w = 0), steps to absorption from i mutants (Ewens 2004, eq. 2.152; Nowak 2006, Sec. 6.4):
    tau_i = N ((N - i) sum_{j=1}^{i} 1/(N - j) + i sum_{j=i+1}^{N-1} 1/j)."""
    tau = ev.birth_death_absorption_time(*ev.moran_transitions(GAMES_2X2["stag_hunt"], N, 0.0))
    for i in range(1, N):
        closed = N * ((N - i) * sum(1 / (N - j) for j in range(1, i + 1)) + i * sum(1 / j for j in range(i + 1, N)))
        assert tau[i] == pytest.approx(closed, rel=1e-9)
    assert tau[0] == tau[N] == 0
