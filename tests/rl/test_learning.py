"""Learning through the adapter, and what was learned played back by ``agora run``.

The claim (Dasgupta & Musolesi 2023, "Direct Punishment in MARL", on a public
goods game): independent Q-learners contribute more when free-riding is
punished. Here two learner seats share a group with two scripted altruistic
punishers (docs/examples/public_goods_punishment.yaml); the comparison is
paired by training seed, with punishment on and off.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("pettingzoo", reason="the rl extra (pettingzoo, gymnasium) is not installed")

from agents.learned import LearnedPolicy, PolicyFileError, load_policy, save_policy  # noqa: E402
from simulator.rl.env import agora_env  # noqa: E402
from simulator.rl.qlearning import QLearning, QLearningConfig  # noqa: E402

EXAMPLE = Path("docs/examples/public_goods_punishment.yaml")
LEARNERS = ["learner_0", "learner_1"]
OFF = [("world.institutions.punishment.enabled", False)]
AGORA = str(Path(sys.executable).with_name("agora"))
EPISODES = 60


def config():
    return QLearningConfig(kind="contribution", fixed={"punish": {"punish": {}}}, state_indices=[7], bins=2,
                           alpha=0.2, gamma=0.5, explore_share=0.7)


def trained(punishment: bool, seed: int) -> QLearning:
    env = agora_env(EXAMPLE, learners=LEARNERS, overrides=[] if punishment else OFF)
    trainer = QLearning(env, config())
    trainer.train(EPISODES, seed=seed)
    return trainer


def greedy_contribution(trainer: QLearning) -> float:
    episode = trainer.greedy_episode(seed=trainer.env.scenario.seed)
    return float(np.mean([a["contribution"] for acts in episode.actions.values() for a in acts])) / 10.0


def test_learned_contribution_is_higher_with_punishment_for_every_seed():
    with_punishment, without = [], []
    for seed in range(5):
        with_punishment.append(greedy_contribution(trained(True, 100 + seed)))
        without.append(greedy_contribution(trained(False, 100 + seed)))
    assert all(p > q for p, q in zip(with_punishment, without)), (with_punishment, without)
    # Best replies: without punishment, free-ride (0); with it, give the least the punishers accept (6 of 10).
    assert max(without) <= 0.2 and min(with_punishment) >= 0.5, (with_punishment, without)


def run_json(scenario: Path, seed: int, db: Path) -> dict:
    done = subprocess.run([AGORA, "run", str(scenario), "--seed", str(seed), "--json", "--db", str(db)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["metrics"]


def test_the_saved_policy_plays_the_same_under_agora_run(tmp_path):
    trainer = trained(True, 7)
    files = trainer.save(tmp_path / "policies", trained={"episodes": EPISODES})
    assert set(files) == set(LEARNERS)
    data = yaml.safe_load(EXAMPLE.read_text())
    for seat, path in files.items():
        data["agents"][seat] = {"policy": "learned", "params": {"path": str(path)}}
    scenario = tmp_path / "learned.yaml"
    scenario.write_text(yaml.safe_dump(data))
    for seed in (0, 3):
        trainer.greedy_episode(seed=seed)
        in_env = trainer.env.metrics()
        in_run = run_json(scenario, seed, tmp_path / "runs.db")
        assert in_run["payoffs"] == pytest.approx(in_env["payoffs"], abs=1e-12)
        assert in_run["measures"]["contribution_by_round"] == in_env["measures"]["contribution_by_round"]
        assert in_run["measures"]["punishment_points_received"] == in_env["measures"]["punishment_points_received"]
    assert in_run["measures"]["mean_contribution_by_agent"]["learner_0"] >= 0.5  # it plays what it learned


def test_a_policy_file_round_trips_and_plays_greedily_over_legal_actions(tmp_path):
    from simulator.worlds.public_goods import contribution_model

    actions = [{"contribution": float(c)} for c in (0, 5, 10)]
    meta = {"world": "public_goods",
            "features": {"name": "public_goods", "params": {"ids": ["a", "b"], "endowment": 10.0, "most_points_received": 1}},
            "kinds": {"contribution": {"type": "table", "array": "q", "states": [""], "actions": actions}}}
    path = save_policy(tmp_path / "p.npz", meta, {"q": np.array([[0.0, 2.0, 1.0]])})
    loaded, arrays = load_policy(path)
    assert loaded["kinds"] == meta["kinds"] and arrays["q"].tolist() == [[0.0, 2.0, 1.0]]
    policy = LearnedPolicy(LearnedPolicy.Params(path=str(path)), np.random.default_rng(0))
    observation = {"me": "a", "phase": "contribute", "round": 0, "rounds": 1, "endowment": 10.0}
    assert policy.act(observation, contribution_model(10.0, 5.0)) == {"contribution": 5.0}
    # Under a model where 5 is off the grid, the best legal column is taken instead.
    assert policy.act(observation, contribution_model(10.0, 10.0)) == {"contribution": 10.0}


def test_a_bad_policy_file_is_a_one_line_scenario_error(tmp_path):
    (tmp_path / "junk.npz").write_text("not an archive")
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "world: {type: matrix_game, game: prisoners_dilemma, players: [a, b]}\n"
        f"agents:\n  a: {{policy: learned, params: {{path: {tmp_path / 'junk.npz'}}}}}\n"
    )
    done = subprocess.run([AGORA, "run", str(scenario), "--db", str(tmp_path / "r.db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{scenario}:3:" in done.stderr and "not a policy file" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(PolicyFileError, match="no such policy file"):
        load_policy(tmp_path / "missing.npz")


def test_a_linear_policy_plays_the_action_with_the_highest_score(tmp_path):
    from simulator.worlds.matrix_game import action_model_for

    actions = [{"action": "cooperate"}, {"action": "defect"}]
    labels = [["cooperate", "defect"], ["cooperate", "defect"]]
    # Features: [round share, seat 0 cooperated, seat 0 defected, seat 1 cooperated, seat 1 defected, bias]:
    # defect after the other seat defected, else cooperate (tit for tat as a linear policy).
    weights = np.array([[0, 0, 0, 0, 0, 1.0], [0, 0, 0, 0, 2.0, 0]])
    meta = {"world": "matrix_game", "features": {"name": "matrix_game", "params": {"labels": labels}},
            "kinds": {"action": {"type": "linear", "array": "w", "actions": actions}}}
    path = save_policy(tmp_path / "tft.npz", meta, {"w": weights})
    policy = LearnedPolicy(LearnedPolicy.Params(path=str(path)), np.random.default_rng(0))
    model = action_model_for(("cooperate", "defect"))
    base = {"round": 1, "max_rounds": 10}
    assert policy.act({**base, "history": [["cooperate", "defect"]]}, model) == {"action": "defect"}
    assert policy.act({**base, "history": [["defect", "cooperate"]]}, model) == {"action": "cooperate"}
    assert policy.act({"round": 0, "max_rounds": 10, "history": []}, model) == {"action": "cooperate"}


def test_the_saved_policy_plays_in_a_sweep(tmp_path):
    import csv

    trainer = trained(True, 11)
    files = trainer.save(tmp_path / "policies")
    data = yaml.safe_load(EXAMPLE.read_text())
    for seat, path in files.items():
        data["agents"][seat] = {"policy": "learned", "params": {"path": str(path)}}
    data["sweep"] = {"grid": {"world.institutions.punishment.enabled": [True, False]}, "seeds": 1}
    scenario = tmp_path / "sweep.yaml"
    scenario.write_text(yaml.safe_dump(data))
    db = tmp_path / "sweep.db"
    done = subprocess.run([AGORA, "sweep", str(scenario), "--workers", "1", "--json", "-q", "--db", str(db)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "finished" and summary["failed"] == 0 and summary["ran"] == 2
    table = tmp_path / "table.csv"
    subprocess.run([AGORA, "sweeps", "table", summary["sweep_id"], "--out", str(table), "--db", str(db)],
                   capture_output=True, text=True, timeout=120, check=True)
    rows = {row["world.institutions.punishment.enabled"]: row for row in csv.DictReader(table.open())}
    assert set(rows) == {"True", "False"}
    trainer.greedy_episode(seed=int(rows["True"]["seed"]))  # punishment on: what the environment plays
    expected = trainer.env.metrics()["measures"]["mean_contribution_by_agent"]
    for seat in LEARNERS:
        assert float(rows["True"][f"measures.mean_contribution_by_agent.{seat}"]) == pytest.approx(expected[seat], abs=1e-12)
        # punishment off: never punished, so always the greedy action of the "not punished" state
        learner = trainer.learners[seat]
        unpunished = learner.actions[int(np.argmax(learner.table["0"]))]["contribution"] / 10.0
        assert float(rows["False"][f"measures.mean_contribution_by_agent.{seat}"]) == pytest.approx(unpunished, abs=1e-12)
