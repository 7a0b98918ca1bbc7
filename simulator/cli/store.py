"""``agora store migrate --from agora.db --to postgresql://...``: copy a store into another, verified."""

from __future__ import annotations

import json
import os

import typer

from simulator.cli.console import fail

store_app = typer.Typer(help="The run store: copy it from SQLite to PostgreSQL (or between any two stores).",
                        no_args_is_help=True)


@store_app.command("migrate")
def migrate(
    source: str = typer.Option(..., "--from", help="the store to copy: an SQLite file (or a postgresql:// URL)"),
    target: str = typer.Option(..., "--to", help="an empty store to copy into: a postgresql://user@host/db URL (or an SQLite file)"),
    as_json: bool = typer.Option(False, "--json", help="print each table's row count and checksum as JSON"),
) -> None:
    """Copy a store into an empty one, verified by row counts and checksums.

    Every run, event, metric, LLM transcript row and sweep is copied; then each table's row count and
    checksum (the sum of its rows' SHA-256) must be the same in both. The source is not changed.
    """
    from simulator.store import Store, StoreError, is_postgres_url
    from simulator.store.migrate import migrate as copy

    if not is_postgres_url(source) and not os.path.isfile(source):
        fail(f"error: --from: {source} is not a file; allowed: an Agora SQLite store or a postgresql:// URL")
    try:
        origin = Store(source, recover=False)
    except StoreError as exc:
        fail(f"error: --from: {exc}")
    try:
        destination = Store(target, recover=False)
    except StoreError as exc:
        origin.close()
        fail(f"error: --to: {exc}")
    try:
        checks = copy(origin, destination, progress=None)
    except StoreError as exc:
        message = str(exc)
        fail(f"error: --to: {message}" if "already holds" in message or "no column" in message else f"error: {message}",
             2 if "already holds" in message or "no column" in message else 1)
    finally:
        origin.close()
        destination.close()
    if as_json:
        print(json.dumps([{"table": c.table, "rows": c.rows, "checksum": c.checksum} for c in checks], indent=2))
        return
    for check in checks:
        print(f"{check.table:<10} {check.rows:>10,} rows  checksum {check.checksum[:16]}  ok")
    print(f"copied {origin.path} to {destination.path}; counts and checksums match")
