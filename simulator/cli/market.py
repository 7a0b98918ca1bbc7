"""``agora market``: marketplace data sets (Magentic Marketplace layout).

    agora market generate --domain restaurants|contractors --customers N --businesses M --seed S OUT_DIR
    agora market baselines DIR [--json] [--ties lowest|all] [--monte-carlo]
    agora market analyze RUN [--json] [--no-customers] [--db STORE]

Bad data files are reported as ``file: field: message`` on stderr with exit
status 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from simulator.cli.console import DbOption, fail, out, stored_run_or_fail
from simulator.parsing import MAX_SEED

MAX_PARTICIPANTS = 10_000  # per side: the baselines compare every customer with every business

market_app = typer.Typer(help="Marketplace data sets (generate, baselines) and runs (analyze).", no_args_is_help=True)


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
    monte_carlo: bool = typer.Option(False, "--monte-carlo", help="also Magentic's Monte-Carlo random baselines: median and quartiles of 1000 seeded draws"),
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
    if monte_carlo:
        from mechanisms.market_welfare import random_baselines_monte_carlo

        a = market_data.compile_arrays(data)
        mc = random_baselines_monte_carlo(a.value, a.cand_customer, a.cand_price, a.cand_qualifies)
        result.update({f"{name}_{stat}": round(v, 2) for name, stats in mc.items() for stat, v in stats.items() if stat in ("median", "q1", "q3")})
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.table import Table

    table = Table("baseline", "welfare")
    for key, value in result.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    out.print(table)


@market_app.command("analyze")
def analyze(
    run_id: str = typer.Argument(..., help="a stored marketplace run (see `agora runs list`)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as one JSON object"),
    customers: bool = typer.Option(True, "--customers/--no-customers", help="print the per-customer section"),
    db: Optional[Path] = DbOption,
) -> None:
    """A stored marketplace run as Magentic's analytics report it: per customer, the proposal audit, the summary."""
    from simulator.store import Store
    from simulator.worlds.marketplace.analytics import analyze as analyze_run

    with Store(db) as store:
        stored = stored_run_or_fail(store, run_id)
        if stored.get("world") != "marketplace":
            fail(f"error: run {run_id!r} is a {stored.get('world')!r} run; allowed: a marketplace run")
        kinds = ["search", "message", "payment", "max_steps"]
        report = analyze_run(store.iter_events(run_id, kinds=kinds), stored["metrics"])
    if as_json:
        print(json.dumps(report, indent=2))
        return
    _print_report(report, customers)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _print_report(report: dict, with_customers: bool) -> None:
    say = lambda text="": out.print(text, markup=False, highlight=False)  # noqa: E731
    if report["customers"] is None:
        say("(the run was stored without its event log: no per-customer section; run with run.record_events: true)")
    elif with_customers:
        say("CUSTOMERS")
        for cid, row in report["customers"].items():
            say(f"\n{cid}: utility {_money(row['utility'])}, needs met: {'yes' if row['needs_met'] else 'no'}"
                + (" (stopped at max_steps)" if row["out_of_steps"] else ""))
            say(f"  activity: {row['messages_sent']} messages sent, {row['proposals_received']} proposals received, "
                f"{len(row['payments'])} payments")
            for s in row["searches"]:
                say(f"  search {s['query']!r} page {s['page']}: {', '.join(s['businesses']) or 'no businesses'}")
            for pay in row["payments"]:
                say(f"  paid {_money(pay['amount'])} to {pay['business']} ({pay['proposal_id']}): needs "
                    f"{'met' if pay['needs_met'] else 'NOT met'}")
                for item in pay["items"]:
                    say(f"    - {item['name']}: {_money(item['unit_price'])} x {item['quantity']}")
                for finding in pay["audit"]:
                    say(f"    ! {finding}")
    say("\nPROPOSAL AUDIT")
    totals = report["audit"]["totals"]
    say("  " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in totals.items()))
    for business, row in report["audit"]["by_business"].items():
        say(f"  {business}: {row['invalid_proposals']} invalid proposals ({row['invalid_items']} items not on the menu, "
            f"{row['invalid_prices']} prices off the menu, {row['invalid_totals']} wrong totals)")
        for example in row["examples"]:
            say(f"    {example['proposal_id']}: " + "; ".join(example["findings"]))
    say("\nSUMMARY")
    for key, value in report["summary"].items():
        if key == "baselines":
            say("  baselines: " + ", ".join(f"{k} {_money(v)}" for k, v in value.items()))
        else:
            say(f"  {key.replace('_', ' ')}: {_money(value) if isinstance(value, float) else value}")
