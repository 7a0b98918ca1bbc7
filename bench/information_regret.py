"""Regret of the online information-acquisition learner (explore-then-commit) for T = 10^3, 10^4, 10^5.

Cacciamani, Castiglioni & Gatti (2023) prove O(T^(2/3)) regret against the
optimal IC mechanism; this prints the learner's mean cumulative (pseudo-)
regret over seeds, a peer that never learns (it hires no one and guesses
from the prior, regret linear in T) side by side, the fitted log-log slope,
and writes ``out/information_regret.png``.

    .venv/bin/python bench/information_regret.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mechanisms import information_design as idesign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("out/information_regret.png"))
    args = parser.parse_args()

    inst = idesign.online_example()
    optimum = idesign.optimal_mechanism(inst).utility
    no_learning = float((inst.utility @ inst.prior).max())
    horizons = [10**3, 10**4, 10**5]
    print(f"instance: online_example (2 agents, binary state); optimal IC mechanism utility {optimum:.4f}; seeds {args.seeds}")
    print(f"{'T':>8} {'explore':>8} {'regret':>10} {'+-se':>8} {'regret/T^(2/3)':>15} {'peer regret':>12} {'learner/peer':>13} {'seconds':>8}")
    means, ses = [], []
    for T in horizons:
        started = time.perf_counter()
        runs = [idesign.explore_then_commit(inst, T, seed, independent_signals=True, optimum=optimum) for seed in range(args.seeds)]
        regret = np.array([r.regret for r in runs])
        seconds = time.perf_counter() - started
        peer = T * (optimum - no_learning)
        means.append(regret.mean())
        ses.append(regret.std(ddof=1) / np.sqrt(len(regret)))
        print(f"{T:>8} {runs[0].explore_rounds:>8} {means[-1]:>10.1f} {ses[-1]:>8.1f} {means[-1] / T ** (2 / 3):>15.3f} "
              f"{peer:>12.1f} {means[-1] / peer:>13.3f} {seconds:>8.2f}")
    slope = idesign.fit_loglog_slope(horizons, means)
    print(f"fitted log-log slope of regret vs T: {slope:.3f} (theory 2/3 = 0.667; peer 1.000)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(horizons, means, yerr=ses, marker="o", label=f"explore-then-commit (slope {slope:.2f})")
    ax.plot(horizons, [T * (optimum - no_learning) for T in horizons], "--", label="no learning (slope 1)")
    ref = means[0] * (np.array(horizons) / horizons[0]) ** (2 / 3)
    ax.plot(horizons, ref, ":", label="T^(2/3) reference")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rounds T")
    ax.set_ylabel("cumulative regret")
    ax.set_title("Online information acquisition")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
