"""``agora market``: marketplace data sets (Magentic Marketplace layout).

    agora market generate --domain restaurants|contractors --customers N --businesses M --seed S OUT_DIR
    agora market baselines DIR [--json] [--ties lowest|all]

Bad data files are reported as ``file: field: message`` on stderr with exit
status 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from simulator.cli.console import fail, out
from simulator.parsing import MAX_SEED

MAX_PARTICIPANTS = 10_000  # per side: the baselines compare every customer with every business

market_app = typer.Typer(help="Marketplace data sets: generate them, compute welfare baselines.", no_args_is_help=True)


@market_app.command("generate")
def generate(
    out_dir: Path = typer.Argument(..., help="directory to write customers/ and businesses/ into"),
    domain: str = typer.Option("restaurants", "--domain", help="restaurants or contractors"),
    customers: int = typer.Option(10, "--customers", min=1, max=MAX_PARTICIPANTS, help=f"number of customers (at most {MAX_PARTICIPANTS:,})"),
    businesses: int = typer.Option(30, "--businesses", min=1, max=MAX_PARTICIPANTS, help=f"number of businesses (at most {MAX_PARTICIPANTS:,})"),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="random seed, 0 .. 2**63-1"),
    force: bool = typer.Option(False, "--force", help="write into a non-empty directory"),
) -> None:
    """Generate a seeded synthetic market in Magentic Marketplace's data layout."""
    from simulator.worlds.marketplace import data as market_data  # lazy: keeps `agora --help` fast

    if out_dir.exists() and not out_dir.is_dir():
        fail(f"error: {out_dir} exists and is not a directory; allowed: a new or empty directory (or --force for a non-empty one)")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        fail(f"error: {out_dir} is not empty (use --force to write into it anyway)")
    started = time.perf_counter()
    try:
        data = market_data.generate(domain, customers, businesses, seed)
    except ValueError as exc:
        fail(f"error: {exc}")
    try:
        market_data.write(out_dir, data)
    except OSError as exc:
        fail(f"error: cannot write {exc.filename or out_dir}: {exc.strerror}")
    typer.echo(f"wrote {customers} customers and {businesses} businesses to {out_dir} in {time.perf_counter() - started:.2f} s", err=True)


@market_app.command("baselines")
def baselines(
    directory: Path = typer.Argument(..., help="data directory with customers/ and businesses/"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    ties: str = typer.Option("lowest", "--ties", help="cheapest ties: 'lowest' id, or 'all' (add up every tied candidate, as Magentic's script)"),
) -> None:
    """Welfare baselines of a market: optimal, cheapest, random, random_with_amenities."""
    from simulator.worlds.marketplace import data as market_data

    if ties not in ("lowest", "all"):
        fail(f"error: --ties must be 'lowest' or 'all', got {ties!r}")
    try:
        data = market_data.load(directory)
    except market_data.MarketDataError as exc:
        fail(f"error: {exc}")
    result = market_data.baselines(data, ties=ties)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    table = Table("baseline", "welfare")
    for key, value in result.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    out.print(table)
