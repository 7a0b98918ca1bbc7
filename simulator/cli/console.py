"""What every ``agora`` command shares: the two consoles, the ``--db`` option, one-line failures, value formatting."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from simulator.parsing import ScenarioError


class LazyConsole:
    """A rich ``Console`` made on first use: importing rich.console costs start-up time that
    ``agora validate`` (which prints plain lines) should not pay. ``real`` is the Console itself."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.made: Console | None = None

    @property
    def real(self) -> Console:
        if self.made is None:
            from rich.console import Console

            self.made = Console(**self.options)
        return self.made

    def __getattr__(self, name: str) -> Any:  # only for names LazyConsole lacks: print, width, ...
        return getattr(self.real, name)


# Outside a terminal (pipes, CI) rich would wrap at 80 columns; keep lines whole.
out = LazyConsole(width=None if sys.stdout.isatty() else 200)
err = LazyConsole(stderr=True)

DbOption = typer.Option(None, "--db", help="the store: an SQLite file or a postgresql://user@host/db URL (default: $AGORA_DB or ./agora.db)")


def fail(message: str, code: int = 2) -> None:
    """Print ``message`` as is (plain text: a long path must not be wrapped) and end the command with ``code``."""
    print(message, file=sys.stderr)
    raise typer.Exit(code)


def stored_run_or_fail(store: Any, run_id: str) -> dict[str, Any]:
    """The stored run ``run_id``, or an ``error: no run ...`` line naming the store and exit status 2."""
    from simulator.store import RunNotFound

    try:
        return store.get_run(run_id)
    except RunNotFound:
        fail(f"error: no run {run_id!r} in {store.path} (see `agora runs list`)")


def print_problems(exc: ScenarioError) -> None:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)


def print_warnings(scenario: Any) -> None:
    """What the scenario loader allowed but a reader may not expect (``Scenario.warnings``), one line each on stderr."""
    for problem in getattr(scenario, "warnings", []):
        print(f"warning: {problem}", file=sys.stderr)


def fmt(value: Any) -> str:
    """A metric value in one table cell: floats to 6 significant digits, long JSON cut at 100 characters."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        return text if len(text) <= 100 else text[:97] + "..."
    return str(value)


def one_line(text: str) -> str:
    return " ".join(text.split())


def print_metrics(world_type: str, metrics: dict[str, Any]) -> None:
    """A run's metrics as one table: theory beside simulation first (``simulator.comparison``), then what is unpaired.

    Columns quantity | theory | simulated | gap | note. The paired rows come from the world's
    ``paired`` declarations; below them welfare, payoffs (first 20) and the measures with only a
    simulated value, then the theory with nothing simulated to compare with.
    """
    from rich.table import Table

    from simulator.comparison import comparison_for

    rows = comparison_for(world_type, metrics)
    table = Table("quantity", "theory", "simulated", "gap", "note", show_header=True)
    for row in rows:
        table.add_row(row.quantity, fmt(row.theory), fmt(row.simulated), "" if row.gap is None else fmt(row.gap), row.note)
    if rows:
        table.add_section()
    table.add_row("welfare", "", fmt(metrics.get("welfare")), "", "")
    for agent, payoff in list((metrics.get("payoffs") or {}).items())[:20]:
        table.add_row(f"payoff {agent}", "", fmt(payoff), "", "")
    for name, value in (metrics.get("measures") or {}).items():
        table.add_row(name, "", fmt(value), "", "")
    if metrics.get("theory"):
        table.add_section()
        for name, value in metrics["theory"].items():
            table.add_row(name, fmt(value), "", "", "")
    out.print(table)
