"""``agora solve GAME_FILE``: the equilibria of a game file, the solver in a child process killed at ``--time-limit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from simulator.cli.console import fail, out

DEFAULT_TIME_LIMIT = 60.0  # seconds for `agora solve`; enumeration on a 14x14 game can take hours


def solve(
    file: Path = typer.Argument(..., help="game file (YAML or JSON): bimatrix A/B, N-player payoffs table, or sequential tree (chance nodes and information sets allowed); or Gambit .nfg / .efg"),
    method: str = typer.Option("auto", "--method", help="auto, support, vertex, lemke-howson, pure, zero-sum, correlated, logit, logit-limit, simpdiv, replicator, backward-induction, all-spne; extensive games also sequence-lp, sequence-lcp, cfr (see README)"),
    lam: float = typer.Option(1.0, "--lam", min=0.0, help="precision lambda for --method logit (finite)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list of equilibria (row, col, payoffs, ...)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="with --method replicator: write the phase portrait (PNG/SVG) here"),
    time_limit: float = typer.Option(
        DEFAULT_TIME_LIMIT, "--time-limit", min=0.0,
        help=f"stop the solver after this many seconds with exit status 2 (default {DEFAULT_TIME_LIMIT:g}; 0 = no limit)",
    ),
) -> None:
    """Compute the equilibria of a game file; probabilities and payoffs print as exact fractions where rational."""
    import math

    from simulator.parsing import parse_document, read_text

    if not math.isfinite(lam):
        fail(f"error: --lam {lam}: not a finite number; allowed: 0 <= lambda < inf")
    if not math.isfinite(time_limit):
        fail(f"error: --time-limit {time_limit}: not a finite number; allowed: seconds, or 0 for no limit")
    # a bad file is a ScenarioError that main() prints as file:line:column lines
    text = read_text(file)  # every reader (YAML, JSON, .nfg) gets a regular, bounded UTF-8 file: a FIFO would block it
    if file.suffix.lower() in (".yaml", ".yml", ".json"):
        parse_document(text, str(file))  # fail fast, before the solvers (scipy) are imported
    from simulator.solve import METHODS, load_game, render, report_json

    if method not in METHODS:
        fail(f"error: --method {method!r}: unknown method; allowed: {', '.join(METHODS)}")
    game = load_game(file)
    try:
        report = _solve_within(game, method, lam, time_limit)
    except (ValueError, RuntimeError) as exc:
        fail(f"error: {file}: {exc}")
    except TimeoutError:
        fail(f"error: {file}: the {method} solve did not finish within --time-limit {time_limit:g} s; "
             "allowed: a longer --time-limit (0 = none) or a faster --method (lemke-howson, pure, logit)")
    if plot is not None:
        if report.method != "replicator":
            fail("error: --plot draws the replicator dynamics; use it with --method replicator")
        from simulator.evolution_plot import plot_replicator
        from simulator.solve import replicator_game

        try:
            A, B = replicator_game(game.payoffs)
            plot_replicator(A, plot, B=B, labels=game.actions[0])
        except ValueError as exc:
            fail(f"error: {file}: {exc}")
    if as_json:
        print(json.dumps(report_json(report), indent=2))
    else:
        render(report, out)
        if plot is not None:
            print(f"phase portrait: {plot}")


def _solve_within(game: Any, method: str, lam: float, limit: float) -> Any:
    """``solve_game`` in a forked child process that is killed after ``limit`` seconds (0: no limit).

    A child process rather than a thread or an alarm: the enumeration and LP
    solvers spend their time inside numpy/scipy C code, which neither a signal
    handler nor a thread can interrupt; killing the child always works.
    """
    from simulator.solve import solve_game

    if not limit:
        return solve_game(game, method, lam)
    import multiprocessing

    context = multiprocessing.get_context("fork")  # the game is already loaded: no re-import, no pickling on the way in
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_solve_child, args=(sender, game, method, lam), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limit):
            raise TimeoutError
        try:
            kind, value = receiver.recv()
        except EOFError:
            child.join(5)
            raise RuntimeError(f"the solver process ended without an answer (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if kind == "error":
        raise ValueError(value)
    return value


def _solve_child(sender: Any, game: Any, method: str, lam: float) -> None:
    from simulator.solve import solve_game

    try:
        sender.send(("ok", solve_game(game, method, lam)))
    except (ValueError, RuntimeError) as exc:
        sender.send(("error", str(exc)))
    except Exception as exc:  # reported by the parent in one line, like any solver fault
        sender.send(("error", f"solver fault: {type(exc).__name__}: {exc}"))
