"""Train independent tabular Q-learners in the public goods world, with and without punishment.

After Dasgupta & Musolesi, "Investigating the Impact of Direct Punishment on
the Emergence of Cooperation in Multi-Agent Reinforcement Learning Systems"
(arXiv:2301.08278): the two learner seats of ``public_goods_punishment.yaml``
learn their contribution by Q-learning (``simulator.rl.qlearning``) through
the PettingZoo adapter, next to two scripted altruistic punishers, once with
the punishment institution on and once with it off, for several seeds. The
script plots the learners' mean contribution (share of the endowment) over
training, saves the learners trained with punishment as ``learned`` policy
files and runs them with ``agora run``, checking that the run plays exactly
what the greedy rollout in the environment played.

    .venv/bin/python docs/examples/train_public_goods.py --out docs/figures/training/public_goods_punishment.png
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "public_goods_punishment.yaml"
LEARNERS = ["learner_0", "learner_1"]
PUNISHMENT_OFF = [("world.institutions.punishment.enabled", False)]


def q_config():
    from simulator.rl.qlearning import QLearningConfig

    # State: was I punished last round (feature 7 of the public goods view, 2 bins)?
    return QLearningConfig(kind="contribution", fixed={"punish": {"punish": {}}}, state_indices=[7], bins=2,
                           alpha=0.2, gamma=0.5, epsilon_start=1.0, epsilon_end=0.02, explore_share=0.7)


def contribution_share(episode, endowment: float) -> float:
    """The learners' mean contribution in one episode, as a share of the endowment."""
    values = [a["contribution"] for actions in episode.actions.values() for a in actions]
    return float(np.mean(values)) / endowment


def train(punishment: bool, seed: int, episodes: int):
    """Train the learners of the example scenario; returns the trainer and its contribution curve."""
    from simulator.rl.env import agora_env
    from simulator.rl.qlearning import QLearning

    env = agora_env(SCENARIO, learners=LEARNERS, overrides=[] if punishment else PUNISHMENT_OFF)
    trainer = QLearning(env, q_config())
    endowment = env.scenario.world_config.endowment
    history = trainer.train(episodes, seed=seed)
    return trainer, [contribution_share(e, endowment) for e in history]


def plot(curves: dict[str, np.ndarray], out: Path, window: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, runs in curves.items():
        kernel = np.ones(window) / window
        smooth = np.array([np.convolve(r, kernel, mode="valid") for r in runs])
        x = np.arange(smooth.shape[1]) + window
        mean = smooth.mean(axis=0)
        ax.plot(x, mean, label=f"{label} (mean of {len(runs)} seeds)")
        ax.fill_between(x, smooth.min(axis=0), smooth.max(axis=0), alpha=0.2)
    ax.set_xlabel("training episode")
    ax.set_ylabel("learners' contribution / endowment")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Independent Q-learners in a public goods game\n({window}-episode moving mean; band: min to max over seeds)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def run_saved(policies: dict[str, Path], folder: Path, seed: int, agora: str) -> dict:
    """``agora run`` the example scenario with the saved policies in the learner seats; returns its metrics."""
    data = yaml.safe_load(SCENARIO.read_text())
    for seat, path in policies.items():
        data["agents"][seat] = {"policy": "learned", "params": {"path": str(path.resolve())}}
    scenario = folder / "public_goods_learned.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([agora, "run", str(scenario), "--seed", str(seed), "--json", "--db", str(folder / "runs.db")],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the figure (PNG)")
    parser.add_argument("--episodes", type=int, default=200, help="training episodes per run")
    parser.add_argument("--seeds", type=int, default=5, help="training seeds per condition")
    parser.add_argument("--policies", type=Path, default=Path("runs/learned"), help="folder for the saved policies")
    parser.add_argument("--agora", default=str(Path(sys.executable).with_name("agora")), help="the agora command")
    args = parser.parse_args(argv)

    curves: dict[str, list] = {"punishment": [], "no punishment": []}
    kept = None
    for seed in range(args.seeds):
        for label, punishment in (("punishment", True), ("no punishment", False)):
            trainer, curve = train(punishment, 1000 * seed, args.episodes)
            curves[label].append(curve)
            if punishment and seed == 0:
                kept = trainer
            print(f"seed {seed} {label:>13}: last 10% of episodes contribute {np.mean(curve[-args.episodes // 10:]):.2f} of the endowment")
    plot({k: np.array(v) for k, v in curves.items()}, args.out, window=max(1, args.episodes // 20))
    print(f"figure: {args.out}")

    files = kept.save(args.policies, trained={"episodes": args.episodes, "seed": 0})
    greedy = kept.greedy_episode(seed=kept.env.scenario.seed)
    expected = {a: float(np.mean([x["contribution"] for x in acts])) for a, acts in greedy.actions.items()}
    metrics = run_saved(files, args.policies, kept.env.scenario.seed, args.agora)
    endowment = kept.env.scenario.world_config.endowment
    played = {a: metrics["metrics"]["measures"]["mean_contribution_by_agent"][a] * endowment for a in LEARNERS}
    print(f"saved: {', '.join(str(p) for p in files.values())}")
    print(f"greedy rollout in the environment, mean contribution: {expected}")
    print(f"agora run with the learned policy,  mean contribution: {played}")
    same = all(abs(expected[a] - played[a]) < 1e-9 for a in LEARNERS)
    print("same behaviour" if same else "DIFFERENT behaviour")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
