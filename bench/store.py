"""The run store on both backends, side by side: event writes per second and run-listing latency.

    .venv/bin/python bench/store.py [--events 200000] [--batch 1000] [--runs 2000] [--postgres URL]

Event writes: ``Store.append_events`` in batches of ``--batch`` (the engine's event sink hands the
store batches), events shaped like a matrix game's ``action`` events; SQLite inserts with
``executemany`` in one transaction per batch, PostgreSQL with ``COPY``. Listing: a store of
``--runs`` finished runs with 8 metrics each; the median and 95th percentile of one page of 50
(``list_runs(limit=50, metrics=True)``: two queries for the page) and, for comparison, the same
page read the old way, one ``get_run`` per row (51 queries).

Without ``--postgres`` a throw-away PostgreSQL server is started on 127.0.0.1 (initdb + pg_ctl,
tests/store/pg_server.py; fsync off, as the tests run it) and removed at the end; pass the URL of
an empty database on a real server to measure that instead. The SQLite file is in a temporary
directory (WAL, synchronous=NORMAL). The load average is printed beside the numbers: on a shared
machine they move with it, so compare the backends within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.store import Store  # noqa: E402

METRICS = {"welfare": 123.5, "payoffs": {"alice": 61.0, "bob": 62.5}, "rounds": 50, "cooperation": 0.62,
           "theory": {"equilibria": [[0, 0]], "optimum": 150.0}, "price_of_anarchy": 3.0, "gap": 26.5, "events": 100}


def write_events(store: Store, total: int, batch: int) -> float:
    """Events per second through ``append_events``."""
    run_id = store.create_run(scenario_name="bench", world="matrix_game", scenario_text="{}", seed=0)
    seq, started = 0, time.perf_counter()
    while seq < total:
        n = min(batch, total - seq)
        store.append_events(run_id, [(seq + i, float(seq + i), "alice" if i % 2 else "bob", "action",
                                      {"action": "cooperate", "round": (seq + i) // 2}) for i in range(n)])
        seq += n
    return total / (time.perf_counter() - started)


def fill_runs(store: Store, n: int) -> None:
    for i in range(n):
        run_id = store.create_run(scenario_name=f"s{i % 7}", world="matrix_game", scenario_text="world: {}\n" * 20, seed=i)
        store.finish_run(run_id, "finished", METRICS, {"events": 100})


def listing_latency(store: Store, repeats: int) -> tuple[float, float, float]:
    """(median, p95) ms of one page with its metrics in two queries, and the median ms of the same page per row."""
    paged = []
    for _ in range(repeats):
        started = time.perf_counter()
        store.list_runs(limit=50, metrics=True)
        paged.append((time.perf_counter() - started) * 1000)
    per_row = []
    for _ in range(max(3, repeats // 5)):
        started = time.perf_counter()
        [store.get_run(r["id"]) for r in store.list_runs(limit=50)]
        per_row.append((time.perf_counter() - started) * 1000)
    return statistics.median(paged), statistics.quantiles(paged, n=20)[-1], statistics.median(per_row)


def measure(target: str, args: argparse.Namespace) -> dict[str, float]:
    with Store(target) as store:
        rate = write_events(store, args.events, args.batch)
        fill_runs(store, args.runs)
        median, p95, per_row = listing_latency(store, args.repeats)
    return {"events_per_s": rate, "list_median_ms": median, "list_p95_ms": p95, "per_row_median_ms": per_row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--postgres", help="an empty PostgreSQL database (default: start a throw-away server)")
    args = parser.parse_args()

    server = None
    if args.postgres is None:
        from tests.store.pg_server import PostgresServer

        server = PostgresServer().start()
    try:
        pg_url = args.postgres or server.create_database()
        with tempfile.TemporaryDirectory() as folder:
            results = {"sqlite": measure(str(Path(folder) / "bench.db"), args), "postgres": measure(pg_url, args)}
    finally:
        if server is not None:
            from simulator.store.postgres import close_pools

            close_pools()
            server.stop()

    print(f"load average {os.getloadavg()[0]:.1f}; {args.events:,} events in batches of {args.batch:,}; "
          f"{args.runs:,} runs, pages of 50")
    print(f"{'':28}{'sqlite':>12}{'postgres':>12}{'pg / sqlite':>13}")
    rows = [("event writes / s", "events_per_s", "{:,.0f}"), ("list page, median ms", "list_median_ms", "{:.2f}"),
            ("list page, p95 ms", "list_p95_ms", "{:.2f}"), ("page per row (old), ms", "per_row_median_ms", "{:.2f}")]
    for label, key, fmt in rows:
        a, b = results["sqlite"][key], results["postgres"][key]
        print(f"{label:28}{fmt.format(a):>12}{fmt.format(b):>12}{b / a:>12.2f}x")
    for backend, r in results.items():
        print(f"{backend}: one query for the page's metrics is {r['per_row_median_ms'] / r['list_median_ms']:.1f}x faster than a query per row")


if __name__ == "__main__":
    main()
