"""The matrix-game world's population mode against evolutionary game theory.

Oracles: the closed-form fixation probability of the Moran and Fermi processes
(Nowak et al. 2004; Traulsen et al. 2006, via ``mechanisms.evolution``), checked
against the fixation frequency over many seeded runs within a 99.9% Clopper-Pearson
interval; the stable rest point V/C of the hawk-dove game (Maynard Smith & Price 1973)
and the replicator dynamics, which proportional imitation follows as N grows (Schlag 1998).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from mechanisms import evolution as ev
from simulator.run import build_simulation, run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario, load_scenario_text
from simulator.world import World
from simulator.worlds.matrix_game import NAMED_GAMES, payoff_tensor

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "evolution_hawk_dove.yaml"
HAWK_DOVE = payoff_tensor(NAMED_GAMES["hawk_dove"][1])[0]  # V = 2, C = 4
STAG_HUNT = payoff_tensor(NAMED_GAMES["stag_hunt"][1])[0]


def population(game: str, agents: str = "", **block) -> Scenario:
    fields = ", ".join(f"{k}: {v}" for k, v in block.items())
    return load_scenario_text(f"world:\n  type: matrix_game\n  game: {game}\n  population: {{{fields}}}\n{agents}")


def events_of(scenario, seed):
    sim = build_simulation(scenario, seed)
    result = sim.run(max_time=scenario.run.max_time)
    return result, [(t, agent, kind, data) for _, t, agent, kind, data in sim.events]


def test_the_hawk_dove_game_is_the_textbook_one():
    V, C = 2, 4
    assert HAWK_DOVE.tolist() == [[(V - C) / 2, V], [0, V / 2]]


def test_population_mode_implements_the_world_protocol_and_logs_revisions():
    scenario, _ = load_scenario(SCENARIO)
    sim = build_simulation(scenario, 1)
    per_game = [name for name, member in vars(World).items() if inspect.isfunction(member) and not name.startswith("_")]
    assert "apply" in per_game and all(callable(getattr(sim.world, name)) for name in per_game)
    assert type(sim.world).type_name == "matrix_game" and sim.world.default_policy("member") == "follow_rule"
    result = sim.run(max_time=scenario.run.max_time)
    measures = result.metrics["measures"]
    revisions = [data for _, _, _, kind, data in sim.events if kind == "revision"]
    assert len(revisions) == measures["revisions"] == result.counters["decisions"] > 0
    assert sum(r["switched"] for r in revisions) == measures["switches"]
    # every revision is one member moving from its strategy to the model's; the counts follow
    counts = np.array([scenario.world_config.population.initial[label] for label in ("hawk", "dove")])
    for r in revisions:
        assert r["from"] != r["offered"]
        if r["switched"]:
            counts += np.where(np.array(["hawk", "dove"]) == r["offered"], 1, -1)
        assert r["counts"] == counts.tolist()
    size = scenario.world_config.population.size
    assert measures["final_shares"] == {"hawk": counts[0] / size, "dove": counts[1] / size}
    assert len(result.metrics["payoffs"]) == size
    trajectory = measures["share_trajectory"]
    assert trajectory["t"][0] == 0 and trajectory["shares"]["hawk"][0] == counts_at_start(scenario, "hawk")
    assert np.all(np.diff(trajectory["t"]) > 0) and len(trajectory["t"]) <= 2 * scenario.world_config.population.samples + 1


def counts_at_start(scenario, label):
    block = scenario.world_config.population
    return block.initial[label] / block.size


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    scenario = population("hawk_dove", size=30, process="fermi", selection=1.0, initial="{hawk: 3, dove: 27}", generations=20)
    first, events = events_of(scenario, 7)
    again, events_again = events_of(scenario, 7)
    other, events_other = events_of(scenario, 8)
    assert first.metrics == again.metrics and events == events_again
    assert events != events_other


@pytest.mark.parametrize("process,game,initial,selection,extra", [
    ("moran", "stag_hunt", {"stag": 4, "hare": 6}, 0.5, {}),
    ("moran", "stag_hunt", {"stag": 5, "hare": 5}, 0.3, {"fitness": "linear"}),
    ("fermi", "hawk_dove", {"hawk": 1, "dove": 9}, 1.0, {}),
])
def test_fixation_frequency_over_seeds_matches_the_closed_form(process, game, initial, selection, extra):
    """Fixation frequency over 400 seeded runs vs the closed form (Fermi: exponential-fitness Moran, w = beta)."""
    N, runs = 10, 400
    labels = NAMED_GAMES[game][0]
    block = {"size": N, "process": process, "selection": selection, "generations": 10_000,
             "initial": "{" + ", ".join(f"{k}: {v}" for k, v in initial.items()) + "}", **extra}
    scenario = population(game, **block)
    A = payoff_tensor(NAMED_GAMES[game][1])[0]
    fitness = extra.get("fitness", "exponential")
    phi = ev.moran_fixation_closed_form(A, N, selection, fitness)[initial[labels[0]]]
    fixed_first, times = 0, []
    for seed in range(runs):
        metrics = run_scenario(scenario, seed=seed).metrics
        fixation = metrics["measures"]["fixation"]
        assert fixation["fixed"], "no mutation: every run ends with one strategy fixed"
        fixed_first += fixation["strategy"] == labels[0]
        times.append(fixation["time"])
        assert metrics["theory"]["fixation_probability"][labels[0]] == pytest.approx(phi, abs=1e-12)
    interval = binomtest(fixed_first, runs).proportion_ci(confidence_level=0.999)
    assert interval.low <= phi <= interval.high, (fixed_first / runs, phi)
    # the test has power: neutral drift (i / N) lies outside the interval, so selection is at work
    neutral = initial[labels[0]] / N
    assert not interval.low <= neutral <= interval.high, (fixed_first / runs, neutral)
    # mean time to fixation vs the chain's absorption time (4 standard errors of the mean)
    expected = metrics["theory"]["expected_fixation_time"]
    assert abs(np.mean(times) - expected) < 4 * np.std(times) / np.sqrt(runs), (np.mean(times), expected)


@pytest.mark.parametrize("process,selection,tolerance", [("proportional", 1.0, 0.02), ("fermi", 2.0, 0.04)])
def test_shares_approach_the_stable_rest_point_of_hawk_dove(process, selection, tolerance):
    """Hawk share -> V/C = 1/2, the replicator dynamics' asymptotically stable rest point.

    Tolerances: the Fermi rule switches with probability near 1/2 at equal payoffs, so its shares
    fluctuate around the rest point with sd about 1/sqrt(2 N beta) (a diffusion approximation);
    proportional imitation hardly switches there."""
    rest = [p for p in ev.rest_points(HAWK_DOVE) if p.stability == "stable"]
    assert len(rest) == 1 and rest[0].state[0] == pytest.approx(0.5)
    scenario = population("hawk_dove", size=400, process=process, selection=selection, initial="{hawk: 40, dove: 360}",
                          generations=60)
    for seed in (0, 1):
        metrics = run_scenario(scenario, seed=seed).metrics
        trajectory = metrics["measures"]["share_trajectory"]
        t, hawk = np.array(trajectory["t"]), np.array(trajectory["shares"]["hawk"])
        assert hawk[0] == 0.1
        late = hawk[t >= 30]
        assert abs(late.mean() - rest[0].state[0]) < tolerance, late.mean()
        stable = [p for p in metrics["theory"]["replicator_rest_points"] if p["stability"] == "stable"]
        assert stable == [{"state": {"hawk": 0.5, "dove": 0.5}, "stability": "stable"}]
        # the simulated path follows the large-population mean dynamic from the same start
        mean = metrics["theory"]["mean_dynamic"]
        assert mean["t"] == trajectory["t"]
        gap = np.abs(np.array(mean["shares"]["hawk"]) - hawk)
        assert gap.max() < 0.1 and gap.mean() < 0.04, (gap.max(), gap.mean())


def test_proportional_imitation_mean_dynamic_is_the_replicator_slowed_by_the_payoff_range():
    times = np.linspace(0, 20, 41)
    mean = ev.imitation_dynamics(HAWK_DOVE, [0.1, 0.9], "proportional", 1.0, times)
    spread = HAWK_DOVE.max() - HAWK_DOVE.min()
    replicator = ev.replicator(HAWK_DOVE / spread, [0.1, 0.9], t_max=20, points=41)
    assert np.abs(mean.states - replicator.states).max() < 1e-6


def test_rock_paper_scissors_population_keeps_three_shares_and_the_centre_is_non_hyperbolic():
    scenario = population("rock_paper_scissors", size=60, process="fermi", selection=0.5,
                          initial="{rock: 40, paper: 10, scissors: 10}", generations=30)
    metrics = run_scenario(scenario, seed=3).metrics
    shares = metrics["measures"]["share_trajectory"]["shares"]
    assert set(shares) == {"rock", "paper", "scissors"}
    totals = np.sum([shares[k] for k in shares], axis=0)
    assert np.allclose(totals, 1)
    centre = [p for p in metrics["theory"]["replicator_rest_points"] if len(p["state"]) == 3]
    assert len(centre) == 1 and centre[0]["stability"] == "non-hyperbolic"
    assert "fixation_probability" not in metrics["theory"]  # a closed form exists for two strategies only


def test_any_policy_can_sit_in_the_seat_under_revision():
    """random_legal answers from the schema alone; a member that keeps its strategy changes nothing."""
    scenario = population("hawk_dove", "agents:\n  default: random_legal\n", size=20, process="moran",
                          initial="{hawk: 10, dove: 10}", generations=10)
    result = run_scenario(scenario, seed=0)
    measures = result.metrics["measures"]
    assert result.counters["decisions"] > 20 and result.counters["fallbacks"] == 0
    # Moran's rule always replaces; a random answer keeps the strategy about half the time
    assert 0.3 < measures["switches"] / measures["revisions"] < 0.7


@pytest.mark.parametrize("block,message", [
    ({"size": 10, "initial": "{hawk: 3, dove: 6}"}, "sum to 9; they must sum to size = 10"),
    ({"size": 10, "initial": "{hawk: 3, eagle: 7}"}, "unknown strategies ['eagle']; allowed: hawk, dove"),
    ({"size": 10, "fitness": "linear", "initial": "{hawk: 3, dove: 7}"}, "not positive for the lowest payoff -1"),
    ({"size": 10, "process": "fermi", "fitness": "linear", "initial": "{hawk: 3, dove: 7}"}, "moran only"),
    ({"size": 10, "process": "proportional", "selection": 2, "initial": "{hawk: 3, dove: 7}"}, "must be in [0, 1]"),
    ({"size": 1, "initial": "{hawk: 1}"}, "size"),
    ({"size": 10_000, "generations": 1e6, "initial": "{hawk: 10000}"}, "1e+10 revision steps; at most 1e+07"),
    ({"size": 10, "initial": "{hawk: -1, dove: 11}"}, "must be non-negative"),
])
def test_bad_population_blocks_are_refused_with_their_position(block, message):
    with pytest.raises(ScenarioError) as error:
        population("hawk_dove", **block)
    text = str(error.value)
    assert message in text and "<scenario>:4:" in text and "world.population" in text


def test_asymmetric_games_and_two_player_fields_are_refused():
    with pytest.raises(ScenarioError, match="symmetric two-player stage game"):
        population("battle_of_the_sexes", size=4, initial="{opera: 4}")
    with pytest.raises(ScenarioError, match="rounds do not apply in population mode"):
        load_scenario_text("world:\n  type: matrix_game\n  game: hawk_dove\n  rounds: 5\n"
                           "  population: {size: 4, initial: {hawk: 4}}\n")


def test_a_population_that_starts_fixed_ends_at_once():
    result = run_scenario(population("hawk_dove", size=5, initial="{hawk: 5}"), seed=0)
    assert result.metrics["measures"]["fixation"] == {"fixed": True, "strategy": "hawk", "time": 0.0}
    assert result.counters["decisions"] == 0


@pytest.mark.parametrize("game,initial", [("hawk_dove", "{hawk: 5, dove: 25}"), ("rock_paper_scissors", "{rock: 20, paper: 6, scissors: 4}")])
def test_agora_plot_draws_the_share_trajectory_of_a_stored_run(tmp_path, game, initial):
    """The run figure "shares": simulated shares beside the mean dynamic (on the simplex for three strategies)."""
    from typer.testing import CliRunner

    from simulator.cli import app

    scenario = tmp_path / "population.yaml"
    scenario.write_text(f"world:\n  type: matrix_game\n  game: {game}\n"
                        f"  population: {{size: 30, process: fermi, initial: {initial}, generations: 15}}\n")
    db, out = tmp_path / "runs.db", tmp_path / "plots"
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(scenario), "--db", str(db), "--json"])
    assert ran.exit_code == 0, ran.output
    run = json.loads(ran.stdout)  # stderr: the warning that the members play follow_rule by default
    plotted = runner.invoke(app, ["plot", run["run_id"], "--db", str(db), "--out", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert (out / "shares.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / "shares.svg").exists()
    import pandas as pd

    drawn = pd.read_csv(out / "shares.csv")
    trajectory = run["metrics"]["measures"]["share_trajectory"]
    assert drawn["t"].tolist() == pytest.approx(trajectory["t"])
    for label, shares in trajectory["shares"].items():
        assert drawn[f"share {label}"].tolist() == pytest.approx(shares)
        assert drawn[f"mean dynamic {label}"].tolist() == pytest.approx(run["metrics"]["theory"]["mean_dynamic"]["shares"][label])


def test_a_sweep_over_seeds_puts_the_closed_form_inside_the_fixation_frequency_interval(tmp_path):
    """scenarios/sweep_evolution.yaml, cut to two selection intensities: `agora sweep` then `agora plot`
    with measures.fixed.stag against theory.fixation_probability.stag; the closed form lies in the 99.9%
    Clopper-Pearson interval of every point's frequency."""
    import pandas as pd
    from typer.testing import CliRunner

    from simulator.cli import app

    db, out = tmp_path / "sweeps.db", tmp_path / "plots"
    runner = CliRunner()
    swept = runner.invoke(app, ["sweep", str(SCENARIO.with_name("sweep_evolution.yaml")), "--workers", "1", "--db", str(db),
                                "--set", "sweep.grid={world.population.selection: [0.0, 1.0]}", "--set", "sweep.seeds=120",
                                "--json", "--quiet"])
    assert swept.exit_code == 0, swept.output
    sweep_id = json.loads(swept.output)["sweep_id"]
    plotted = runner.invoke(app, ["plot", sweep_id, "--db", str(db), "--out", str(out), "--metric", "measures.fixed.stag",
                                  "--x", "world.population.selection", "--theory", "theory.fixation_probability.stag"])
    assert plotted.exit_code == 0, plotted.output
    (csv,) = out.glob("*.csv")
    points = pd.read_csv(csv)
    assert points["world.population.selection"].tolist() == [0.0, 1.0] and points["n"].tolist() == [120, 120]
    assert points["theory.fixation_probability.stag"].tolist() == pytest.approx(
        [0.4, ev.moran_fixation_closed_form(STAG_HUNT, 10, 1.0, "exponential")[4]])
    for _, row in points.iterrows():
        interval = binomtest(round(row["mean"] * row["n"]), int(row["n"])).proportion_ci(confidence_level=0.999)
        assert interval.low <= row["theory.fixation_probability.stag"] <= interval.high, row.to_dict()


def test_payoffs_add_up_the_games_played_and_welfare_per_round_is_a_games_mean_welfare():
    """Coordination game, 5 x and 5 y: equal payoffs (4/9 a game), so proportional imitation never switches.
    Each member plays 9 games a generation for 7 generations (payoff 28); 45 games a generation, of which the
    20 same-strategy ones have welfare 2: welfare per round 40/45."""
    scenario = load_scenario_text("world:\n  type: matrix_game\n  payoffs: [[[1, 1], [0, 0]], [[0, 0], [1, 1]]]\n"
                                  "  actions: [[x, y], [x, y]]\n"
                                  "  population: {size: 10, process: proportional, initial: {x: 5, y: 5}, generations: 7}\n")
    result = run_scenario(scenario, seed=0)
    metrics = result.metrics
    assert metrics["measures"]["switches"] == 0 and metrics["measures"]["generations"] == 7
    assert all(v == pytest.approx(28) for v in metrics["payoffs"].values())
    assert metrics["measures"]["rounds"] == 7 * 45
    assert metrics["welfare"] / metrics["measures"]["rounds"] == pytest.approx(40 / 45)
    assert metrics["theory"]["stage_optimum_welfare"] == 2
