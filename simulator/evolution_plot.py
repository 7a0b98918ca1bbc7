"""Phase portraits of the replicator dynamics (matplotlib, Agg backend; nothing is shown on screen).

* three strategies, one population: the simplex drawn as an equilateral triangle
  (barycentric coordinates), trajectories from a grid of starts, rest points
  filled (stable), open (unstable) or grey (non-hyperbolic);
* two strategies each, two populations: the unit square ``(x_0, y_0)``;
* two strategies, one population: ``x_0(t)`` from several starts.

``draw_shares`` draws one run of the matrix-game world's population mode on given axes
(``simulator.plots`` run figure ``shares``): the simulated shares, the mean dynamic from
the same start (dashed) and the replicator rest points; on the simplex for three strategies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mechanisms import evolution

_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
_FACE = {"stable": "black", "unstable": "white", "non-hyperbolic": "grey"}


def _to_plane(states: np.ndarray) -> np.ndarray:
    return states @ _CORNERS


def plot_replicator(A, path: str | Path, B=None, labels: list[str] | None = None, t_max: float = 30.0) -> Path:
    """Draw the replicator phase portrait of ``A`` (symmetric) or ``(A, B)`` to ``path`` (PNG, SVG or PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    A = np.asarray(A, dtype=float)
    path = Path(path)
    fig, ax = plt.subplots(figsize=(5, 4.6))
    if B is None and A.shape == (3, 3):
        labels = labels or ["0", "1", "2"]
        ax.plot(*_to_plane(np.r_[np.eye(3), np.eye(3)[:1]]).T, color="black", lw=1)
        starts = [np.array([a, b, 1 - a - b]) for a in np.linspace(0.1, 0.8, 5) for b in np.linspace(0.1, 0.8, 5) if a + b < 0.95]
        for x0 in starts:
            xy = _to_plane(evolution.replicator(A, x0 / x0.sum(), t_max=t_max, points=300).states)
            ax.plot(*xy.T, color="tab:blue", lw=0.7)
            ax.annotate("", xy=xy[len(xy) // 6 + 1], xytext=xy[len(xy) // 6], arrowprops={"arrowstyle": "->", "color": "tab:blue"})
        for p in evolution.rest_points(A):
            ax.scatter(*_to_plane(p.state[None, :]).T, s=60, facecolor=_FACE[p.stability], edgecolor="black", zorder=3)
        for corner, label in zip(_CORNERS, labels):
            ax.annotate(label, corner, textcoords="offset points", xytext=(0, -14 if corner[1] == 0 else 6), ha="center")
        ax.set_aspect("equal")
        ax.axis("off")
    elif B is not None and A.shape == (2, 2):
        for x0 in np.linspace(0.1, 0.9, 5):
            for y0 in np.linspace(0.1, 0.9, 5):
                traj = evolution.replicator(A, [x0, 1 - x0], t_max=t_max, points=300, B=B, y0=[y0, 1 - y0]).states
                ax.plot(traj[:, 0], traj[:, 2], color="tab:blue", lw=0.7)
        for p in evolution.rest_points_bimatrix(A, B):
            ax.scatter(p.state[0], p.state[2], s=60, facecolor=_FACE[p.stability], edgecolor="black", zorder=3)
        ax.set_xlabel("row population: share of strategy 0")
        ax.set_ylabel("column population: share of strategy 0")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    elif B is None and A.shape == (2, 2):
        for x0 in np.linspace(0.05, 0.95, 10):
            traj = evolution.replicator(A, [x0, 1 - x0], t_max=t_max, points=300)
            ax.plot(traj.times, traj.states[:, 0], color="tab:blue", lw=0.8)
        ax.set_xlabel("time")
        ax.set_ylabel("share of strategy 0")
    else:
        plt.close(fig)
        raise ValueError(f"phase portraits are drawn for 2 or 3 strategies (one population) or 2x2 (two); got {A.shape}")
    ax.set_title("replicator dynamics (filled: stable, open: unstable, grey: non-hyperbolic)", fontsize=8)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def draw_shares(ax, trajectory: dict[str, Any], mean_dynamic: dict[str, Any] | None = None,
                rest_points: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Draw a population run's strategy shares on ``ax`` and return the table drawn.

    ``trajectory`` and ``mean_dynamic`` are ``{"t": [...], "shares": {label: [...]}}`` (the run's
    ``measures.share_trajectory`` and ``theory.mean_dynamic``); ``rest_points`` are the theory's
    ``replicator_rest_points`` (``{"state": {label: share}, "stability": ...}``).
    """
    labels = list(trajectory["shares"])
    simulated = np.array([trajectory["shares"][k] for k in labels], dtype=float).T
    theory = None
    if mean_dynamic and list(mean_dynamic.get("shares", {})) == labels and len(mean_dynamic["t"]) == len(trajectory["t"]):
        theory = np.array([mean_dynamic["shares"][k] for k in labels], dtype=float).T
    table = pd.DataFrame({"t": trajectory["t"], **{f"share {k}": simulated[:, i] for i, k in enumerate(labels)}})
    if theory is not None:
        table = table.assign(**{f"mean dynamic {k}": theory[:, i] for i, k in enumerate(labels)})
    points = [(np.array([p["state"].get(k, 0.0) for k in labels]), p["stability"]) for p in rest_points or []]
    if len(labels) == 3:
        ax.plot(*_to_plane(np.r_[np.eye(3), np.eye(3)[:1]]).T, color="black", lw=1)
        ax.plot(*_to_plane(simulated).T, color="tab:blue", lw=0.9, label="simulated")
        if theory is not None:
            ax.plot(*_to_plane(theory).T, color="tab:orange", lw=1.2, ls="--", label="mean dynamic")
        ax.scatter(*_to_plane(simulated[:1]).T, color="tab:blue", marker="s", zorder=3)
        for corner, label in zip(_CORNERS, labels):
            ax.annotate(label, corner, textcoords="offset points", xytext=(0, -14 if corner[1] == 0 else 6), ha="center")
        ax.set_aspect("equal")
        ax.axis("off")
    else:
        shown = labels[:1] if len(labels) == 2 else labels
        for i, label in enumerate(shown):
            ax.plot(table["t"], simulated[:, i], drawstyle="steps-post", lw=0.9, color=f"C{i}", label=f"{label} (simulated)")
            if theory is not None:
                ax.plot(table["t"], theory[:, i], ls="--", lw=1.2, color=f"C{i}", label=f"{label} (mean dynamic)")
        ax.set_xlabel("generation")
        ax.set_ylabel(f"share of {labels[0]}" if len(labels) == 2 else "share")
        ax.set_ylim(-0.02, 1.02)
    for state, stability in points:
        if len(labels) == 3:
            ax.scatter(*_to_plane(state[None, :]).T, s=60, facecolor=_FACE[stability], edgecolor="black", zorder=4)
        elif len(labels) == 2 and 0 < state[0] < 1:
            ax.axhline(state[0], color="grey", lw=0.8, ls=":", label=f"rest point ({stability})")
    ax.legend(fontsize=7, loc="best")
    return table
