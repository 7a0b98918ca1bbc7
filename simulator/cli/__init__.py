"""The ``agora`` command line: one module per command group, wired here into one typer app.

    agora run FILE [--seed N] [--set key=value ...] [--json] [--llm-cache record|replay|off]   (run.py)
    agora validate FILE...                                                                    (run.py)
    agora solve GAME_FILE [--method M] [--lam L] [--time-limit SECONDS] [--json]              (solve.py)
    agora serve [--host 127.0.0.1] [--port 8000] [--workers N]                                (serve.py)
    agora sweep FILE | --resume SWEEP_ID ...;  agora plot ID ...;  agora sweeps ...          (sweep.py)
    agora runs list|show|transcript ...                                                       (runs.py)
    agora market generate|baselines ...                                                       (market.py)
    agora store migrate --from agora.db --to postgresql://...                                 (store.py)
    agora worlds;  agora policies [--world W];  agora schema WORLD [--json|--markdown]         (reference.py)

Every command that reads a scenario reports bad input as ``file:line:column:
field: message`` lines on stderr and exits with status 2 — never a traceback.
``main`` makes that hold for the whole program, in one place: a command lets
a ``ScenarioError`` or any ``simulator.errors.AgoraError`` through and ``main``
prints it and exits with ``simulator.errors.exit_code`` (2 for invalid input
or not found); a usage error (bad option, out-of-range number), a bad
``--db`` or an unreadable path is one ``error:`` line and status 2; an
unexpected fault is one line and status 1 (``AGORA_DEBUG=1`` shows its traceback). Modules are imported inside the
commands so that ``agora`` starts quickly.
The store is ``./agora.db`` unless ``--db`` or ``AGORA_DB`` says otherwise (a file, or a ``postgresql://`` URL).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from simulator.cli import market, reference, run, runs, serve, solve, store, sweep
from simulator.cli.console import one_line, print_problems
from simulator.errors import EXIT_DEGRADED, EXIT_INVALID

if TYPE_CHECKING:  # typer runs on its own copy of click (typer._click): importing click itself costs start-up time
    import click

__all__ = ["EXIT_DEGRADED", "app", "main"]


class AgoraGroup(TyperGroup):
    """The ``agora`` command group: the one place where an error a command lets through becomes output and a status.

    ``simulator.errors`` says what each meaning's exit status is; the commands
    only raise. Around ``invoke`` rather than in ``main`` so that the app
    behaves the same when called directly (``typer.testing.CliRunner``).
    """

    def invoke(self, ctx: click.Context) -> Any:
        from simulator.errors import AgoraError, exit_code
        from simulator.parsing import ScenarioError
        from simulator.store import StoreError

        try:
            return super().invoke(ctx)
        except ScenarioError as exc:  # file:line:column lines, one per problem
            print_problems(exc)
            raise typer.Exit(EXIT_INVALID) from None
        except StoreError as exc:
            print(f"error: --db: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from None
        except AgoraError as exc:  # not found, invalid input, stopped, limit exceeded
            print(f"error: {one_line(str(exc))}", file=sys.stderr)
            raise typer.Exit(exit_code(exc)) from None
        except BrokenPipeError:  # the reader went away (`agora runs list | head`): stop quietly, as cat does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
            raise typer.Exit(0) from None
        except OSError as exc:  # a path the user gave: missing, a directory, not writable
            name = f"{exc.filename}: " if exc.filename else ""
            print(f"error: {name}{exc.strerror or exc}", file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from None


app = typer.Typer(help="Agora: a multi-agent market and game simulator.", no_args_is_help=True, add_completion=False,
                  cls=AgoraGroup)
# Commands first, then the groups: the order `agora --help` lists them in.
app.command()(run.run)
app.command()(run.validate)
app.command()(solve.solve)
app.command()(serve.serve)
app.command("sweep")(sweep.sweep)
app.command("plot")(sweep.plot)
app.command("worlds")(reference.worlds)
app.command("policies")(reference.policies)
app.command("schema")(reference.schema)
app.add_typer(runs.runs_app, name="runs")
app.add_typer(market.market_app, name="market")
app.add_typer(store.store_app, name="store")
app.add_typer(sweep.sweeps_app, name="sweeps")


def main() -> None:
    """The ``agora`` entry point: bad input ends in one ``error:`` line and exit status 2, never a traceback."""
    try:
        code = app(prog_name="agora", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors: bad option, missing argument, out-of-range number
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `agora` or `agora runs` alone: typer has printed the help
            pass
        else:
            where = f" (see: {context.command_path} --help)" if context is not None else ""
            print(f"error: {one_line(exc.format_message())}{where}", file=sys.stderr)
        code = exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        code = 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        if os.environ.get("AGORA_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))} (AGORA_DEBUG=1 shows the traceback)", file=sys.stderr)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
