"""``POST /solve`` runs the code of ``agora solve`` (``simulator.solve``) in a separate process.

Equilibrium computation can take exponential time (support enumeration on a
large game), so the solve runs in a one-process ``multiprocessing`` pool and
is abandoned after ``timeout`` seconds: the pool is terminated (which kills
the computation) and a fresh one is made for the next request. The server's
own threads never run a solver.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any


class SolveTimeout(Exception):
    pass


def solve_text(text: str, source: str, method: str, lam: float) -> dict[str, Any]:
    """Load a game file's text and solve it exactly as ``agora solve --json`` does; a JSON-ready dict."""
    from simulator.solve import load_game_text, report_json, solve_game

    game = load_game_text(text, source)
    report = solve_game(game, method, lam)
    return {
        "name": game.name,
        "kind": game.kind,
        "players": list(game.players),
        "actions": [list(a) for a in game.actions],
        "method": report.method,
        "equilibria": report_json(report),
        "welfare": report.summary,
        "notes": list(report.notes),
    }


class Solver:
    """A lazily started one-process pool with a per-call timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pool: Any = None

    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                self._pool = mp.get_context("spawn").Pool(1)
            return self._pool

    def solve(self, text: str, source: str, method: str, lam: float) -> dict[str, Any]:
        pool = self._get_pool()
        pending = pool.apply_async(solve_text, (text, source, method, lam))
        try:
            return pending.get(self.timeout)
        except mp.TimeoutError:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.terminate()
            raise SolveTimeout(f"the game was not solved within {self.timeout:g} s (AGORA_API_SOLVE_TIMEOUT)") from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
