"""Agora's support enumeration against nashpy's and Gambit's enummixed, on the same random games.

    .venv/bin/python bench/solvers.py [--games 3] [--sizes 4 6 8 10] [--nashpy-max 8] [--seed 1]

For each size n, ``--games`` random n x n games with integer payoffs in
[-10^4, 10^4] (nondegenerate with overwhelming probability; the script checks)
are solved by

* ``mechanisms.normal_form.support_enumeration`` (Agora),
* ``nashpy.Game(A, B).support_enumeration()`` (nashpy 0.0.43, its default
  mode; skipped above ``--nashpy-max``, where it takes minutes per game),
* ``pygambit.nash.enummixed_solve`` in its default exact rational mode and
  with ``rational=False`` (C++ double precision).

Then the N-player section (``--n-player-games`` per shape, 0 to skip): random
3- and 4-player games with integer payoffs in [-5, 5] and no pure equilibrium,
solved by ``mechanisms.logit.logit_solve`` (Agora's logit limit) and
``mechanisms.simpdiv.simpdiv`` (both polished and verified to regret <= 1e-9 x
payoff range) and by pygambit's ``logit_solve`` and ``simpdiv_solve`` (from the
uniform profile); ratios are Gambit's time / Agora's (above 1: Agora faster);
"verified" counts Agora's answers (logit, simpdiv) with regret within the bound, "same"
the games where Agora's logit limit equals Gambit's within 1e-5 (Gambit stops at regret 1e-8 x range).

It prints the mean time per game of each, the ratios (peer time / Agora
time: above 1 means Agora is faster), and the number of equilibria each
found in total, so a faster but incomplete answer shows up. Agora's set is
checked against rational Gambit's (same count, every equilibrium within 1e-8).
The machine load average is printed too: on a shared machine all timings
are noisy, and the ratios are what to read.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from mechanisms.normal_form import support_enumeration


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def _gambit_vectors(game, result):
    return [np.array([float(eq[s]) for p in game.players for s in p.strategies]) for eq in result.equilibria]


def _same(ours, theirs, tol=1e-8):
    if len(ours) != len(theirs):
        return False
    left = list(theirs)
    for o in ours:
        hit = next((k for k, t in enumerate(left) if np.abs(o - t).max() <= tol), None)
        if hit is None:
            return False
        left.pop(hit)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=3, help="games per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 8, 10])
    parser.add_argument("--nashpy-max", type=int, default=8, help="largest size nashpy is run on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-player-games", type=int, default=3, help="games per N-player shape (0: skip)")
    args = parser.parse_args()

    import nashpy

    try:
        import pygambit
    except ImportError:  # optional peer
        pygambit = None

    rng = np.random.default_rng(args.seed)
    support_enumeration(np.eye(3), np.eye(3)[::-1])  # warm-up (imports, caches)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.games} games per size; times are mean seconds per game")
    header = f"{'size':>6} {'agora':>9} {'nashpy':>9} {'gambit':>9} {'gambit-dbl':>10} | {'nashpy/agora':>12} {'gambit/agora':>12} {'dbl/agora':>10} | equilibria agora/nashpy/gambit  complete"
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        games = [(rng.integers(-10_000, 10_001, (n, n)), rng.integers(-10_000, 10_001, (n, n))) for _ in range(args.games)]
        t_agora = t_nashpy = t_gambit = t_double = 0.0
        n_agora = n_nashpy = n_gambit = 0
        complete = True
        for A, B in games:
            dt, result = _timed(support_enumeration, A, B)
            t_agora += dt
            n_agora += len(result)
            ours = [np.concatenate(e.strategies) for e in result]
            if n <= args.nashpy_max:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dt, eqs = _timed(lambda: list(nashpy.Game(A, B).support_enumeration()))
                t_nashpy += dt
                n_nashpy += len(eqs)
            if pygambit is not None:
                game = pygambit.Game.from_arrays(A, B)
                dt, res = _timed(pygambit.nash.enummixed_solve, game)
                t_gambit += dt
                n_gambit += len(res.equilibria)
                complete &= _same(ours, _gambit_vectors(game, res))
                dt, _ = _timed(pygambit.nash.enummixed_solve, game, rational=False)
                t_double += dt
        k = len(games)
        ta, tn, tg, td = t_agora / k, t_nashpy / k, t_gambit / k, t_double / k
        ran_nashpy = n <= args.nashpy_max
        ran_gambit = pygambit is not None

        def cell(value, ran, width):
            return f"{value:>{width}.4f}" if ran else f"{'-':>{width}}"

        def ratio(value, ran, width):
            return f"{value / ta:>{width - 1}.1f}x" if ran else f"{'-':>{width}}"

        print(
            f"{f'{n}x{n}':>6} {ta:>9.4f} {cell(tn, ran_nashpy, 9)} {cell(tg, ran_gambit, 9)} {cell(td, ran_gambit, 10)} | "
            f"{ratio(tn, ran_nashpy, 12)} {ratio(tg, ran_gambit, 12)} {ratio(td, ran_gambit, 10)} | "
            f"{n_agora}/{n_nashpy if ran_nashpy else '-'}/{n_gambit if ran_gambit else '-'}"
            f"  {'yes' if ran_gambit and complete else ('NO' if ran_gambit else '?')}",
            flush=True,
        )
    print("targets: nashpy/agora >= 20x at 8x8; gambit/agora >= 1x at 8x8 and 10x10 (complete = same set as rational Gambit)")
    if args.n_player_games and pygambit is not None:
        n_player_section(args.n_player_games, args.seed, pygambit)


def n_player_section(per_shape: int, seed: int, pygambit) -> None:
    """Agora's logit limit vs Gambit's logit and simpdiv on N-player games without pure equilibria."""
    from mechanisms.logit import logit_solve
    from mechanisms.simpdiv import simpdiv
    from mechanisms.normal_form import pure_equilibria, regret

    print()
    header = (f"{'shape':>8} {'logit':>8} {'g-logit':>8} {'simpdiv':>8} {'g-simpdiv':>9} | "
              f"{'g-logit/logit':>13} {'g-simpdiv/simpdiv':>17} | verified  same")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(seed)
    for shape in [(2, 2, 2), (3, 3, 3), (2, 2, 2, 2), (3, 3, 3, 3)]:
        games = []
        while len(games) < per_shape:
            u = rng.integers(-5, 6, (len(shape),) + shape)
            if not pure_equilibria(u):
                games.append(u)
        t_ours = t_logit = t_simpdiv = t_ours_simpdiv = 0.0
        verified = verified_simpdiv = same = 0
        for u in games:
            dt, result = _timed(logit_solve, u)
            t_ours += dt
            if len(result) and regret(u, result[0].strategies).max() <= 1e-9 * (u.max() - u.min()):
                verified += 1
            game = pygambit.Game.from_arrays(*[u[i] for i in range(len(shape))])
            dt, theirs = _timed(pygambit.nash.logit_solve, game)
            t_logit += dt
            if len(result) and theirs.equilibria:
                g = [np.array([float(theirs.equilibria[0][s]) for s in p.strategies]) for p in game.players]
                same += max(np.abs(a - b).max() for a, b in zip(result[0].strategies, g)) < 1e-5  # Gambit stops at regret ~1e-7
            dt, _ = _timed(pygambit.nash.simpdiv_solve, game.mixed_strategy_profile(rational=True))
            t_simpdiv += dt
            dt, ours_simpdiv = _timed(simpdiv, u)
            t_ours_simpdiv += dt
            if len(ours_simpdiv) and regret(u, ours_simpdiv[0].strategies).max() <= 1e-9 * (u.max() - u.min()):
                verified_simpdiv += 1
        k = len(games)
        print(f"{'x'.join(map(str, shape)):>8} {t_ours / k:>8.4f} {t_logit / k:>8.4f} {t_ours_simpdiv / k:>8.4f} {t_simpdiv / k:>9.4f} | "
              f"{t_logit / t_ours:>12.2f}x {t_simpdiv / t_ours_simpdiv:>16.2f}x | {verified},{verified_simpdiv}/{k}   {same}/{k}",
              flush=True)


def extensive_form_section(seed: int = 1, random_games: int = 5) -> None:
    """Extensive games (mechanisms.sequence_form, mechanisms.cfr) beside pygambit and OpenSpiel, as ratios.

    Kuhn poker: the sequence-form LP against Gambit's ``lp_solve``, the exact Lemke path against
    Gambit's ``lcp_solve`` (both rational and double); random signalling games (chance, 2-3
    states, messages and replies) for the LCP; CFR+ against OpenSpiel's C++ ``CFRPlusSolver`` for
    the same number of iterations on Kuhn and Leduc (their exploitabilities are printed: the
    two implementations follow the same iterates). Gambit's LP on Leduc did not finish within 290 s
    here (a 300 s budget), so Leduc's LP is timed for Agora only.
    """
    import tempfile
    from fractions import Fraction
    from pathlib import Path

    import pygambit

    from mechanisms import cfr, efg_format, poker
    from mechanisms import game_tree as gt
    from mechanisms import sequence_form as sf

    try:
        import pyspiel
    except ImportError:  # optional peer
        pyspiel = None

    def gambit_game(game):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "game.efg"
            path.write_text(efg_format.write_efg(game))
            return pygambit.read_efg(str(path))

    def random_game(rng):
        states = {}
        k_states, k_messages, k_replies = (int(v) for v in rng.integers(2, 4, size=3))
        for s in range(k_states):
            messages = {f"m{m}": gt.Node(1, {f"r{r}": gt.terminal(int(rng.integers(-9, 10)), int(rng.integers(-9, 10)))
                                             for r in range(k_replies)}, infoset=f"heard m{m}") for m in range(k_messages)}
            states[f"s{s}"] = gt.Node(0, messages, infoset=f"state s{s}")
        return gt.ExtensiveGame(gt.Node(gt.CHANCE, states, probs=[Fraction(1, k_states)] * k_states), ["A", "B"])

    kuhn, leduc = poker.kuhn_poker(), poker.leduc_poker()
    g_kuhn = gambit_game(kuhn)
    first = list(g_kuhn.players)[0]
    rows = []
    t_ours, ours = _timed(sf.zero_sum_lp, kuhn)
    for rational in (True, False):
        t_peer, res = _timed(pygambit.nash.lp_solve, g_kuhn, rational=rational)
        rows.append(("Kuhn", "sequence LP", t_ours, f"gambit lp_solve{'' if rational else ' (double)'}", t_peer,
                     abs(float(res.equilibria[0].payoff(first)) - ours.value) < 1e-9))
    for rational in (True, False):
        t_ours, ours_lcp = _timed(sf.lcp_equilibria, kuhn, exact=rational, max_starts=1)
        t_peer, res = _timed(pygambit.nash.lcp_solve, g_kuhn, rational=rational)
        rows.append(("Kuhn", f"sequence LCP{'' if rational else ' (double)'}", t_ours, f"gambit lcp_solve{'' if rational else ' (double)'}",
                     t_peer, abs(float(res.equilibria[0].payoff(first)) - float(ours_lcp.equilibria[0].payoffs[0])) < 1e-9))
    rng = np.random.default_rng(seed)
    t_ours = t_peer = 0.0
    same = True
    for _ in range(random_games):
        game = random_game(rng)
        g = gambit_game(game)
        dt, result = _timed(sf.lcp_equilibria, game, exact=True, max_starts=1)
        t_ours += dt
        dt, res = _timed(pygambit.nash.lcp_solve, g, rational=True)
        t_peer += dt
        same &= [float(res.equilibria[0].payoff(p)) for p in g.players] == [float(v) for v in result.equilibria[0].payoffs]
    rows.append((f"{random_games} random signalling", "sequence LCP", t_ours / random_games, "gambit lcp_solve", t_peer / random_games, same))
    t_ours, _ = _timed(sf.zero_sum_lp, leduc)
    rows.append(("Leduc", "sequence LP", t_ours, "gambit lp_solve", float("nan"), None))
    if pyspiel is not None:
        for name, game, iterations in (("kuhn_poker", kuhn, 1000), ("leduc_poker", leduc, 100)):
            os_game = pyspiel.load_game(name)
            t_ours, r = _timed(cfr.cfr_plus, game, iterations=iterations, check_every=iterations)
            solver = pyspiel.CFRPlusSolver(os_game)

            def run(solver=solver, iterations=iterations):
                for _ in range(iterations):
                    solver.evaluate_and_update_policy()

            t_peer, _ = _timed(run)
            theirs = pyspiel.exploitability(os_game, solver.average_policy())
            rows.append((name.split("_")[0].title(), f"CFR+ x{iterations} ({r.exploitability:.2e})", t_ours,
                         f"open_spiel CFRPlusSolver ({theirs:.2e})", t_peer, abs(theirs - r.exploitability) < 1e-8))
    print()
    print("extensive games (seconds per solve; ratio = peer / agora, above 1 means Agora is faster)")
    header = f"{'game':>22} {'agora':>32} {'s':>8} | {'peer':>38} {'s':>8} | {'ratio':>7}  agree"
    print(header)
    print("-" * len(header))
    for game, ours_name, t_a, peer, t_p, agree in rows:
        ratio = f"{t_p / t_a:>6.1f}x" if np.isfinite(t_p) else f"{'-':>7}"
        peer_time = f"{t_p:>8.4f}" if np.isfinite(t_p) else f"{'>290':>8}"
        print(f"{game:>22} {ours_name:>32} {t_a:>8.4f} | {peer:>38} {peer_time} | {ratio}  "
              f"{'-' if agree is None else ('yes' if agree else 'NO')}", flush=True)


if __name__ == "__main__":
    main()
    extensive_form_section()
