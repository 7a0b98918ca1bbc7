"""The REST API under load, on loopback only, bounded and self-stopping.

Starts ``agora serve`` on 127.0.0.1 (a free port, a private temporary store,
``--workers`` run processes), then:

1. idle: one client reads ``GET /runs/{id}`` of a finished run ``--probes`` times;
2. load: ``--clients`` threads submit ``--runs`` runs at once (``POST /runs``,
   the shipped prisoners_dilemma scenario, one seed each) and poll their own runs
   with ``GET /runs/{id}`` until every run has ended; every poll is timed;
3. peer: the same runs executed one after another in this process with
   ``simulator.run.stored_run`` (what ``agora run`` does), no API.
4. solver: a 2x2 ``POST /solve`` timed idle and while four hard 14x14 solves
   fill the general solver lane (the small-game lane keeps it fast).

It checks that every submitted run finished, none was lost and none stored
twice, prints GET latency percentiles idle vs. under load (with the ratio)
and run throughput through the API vs. the in-process peer, then stops the
server. Everything ends within ``--timeout`` seconds.

    python bench/api.py [--runs 200] [--clients 50] [--workers 2] [--timeout 300]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "prisoners_dilemma.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, workers: int, deadline: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")} | {"AGORA_DB": str(db)}
    agora = str(Path(sys.executable).with_name("agora"))
    log = open(db.with_suffix(".log"), "wb")
    process = subprocess.Popen(
        [agora, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"agora serve exited with {process.returncode}; see {log.name}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("agora serve did not start in time")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max())


def solve_latencies(url: str, probes: int = 10) -> tuple[list[float], list[float]]:
    """A 2x2 game's ``/solve`` latency idle, then while four hard 14x14 solves occupy the general solver lane."""
    import numpy as np

    small = {"game": {"A": [[2, 0], [0, 1]], "B": [[1, 0], [0, 2]]}}
    rng = np.random.default_rng(0)
    hard = [{"game": {"A": rng.integers(0, 100, (14, 14)).tolist(), "B": rng.integers(0, 100, (14, 14)).tolist()},
             "method": "support"} for _ in range(4)]

    def timed(c: httpx.Client, n: int) -> list[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            c.post("/solve", json=small).raise_for_status()
            out.append(time.perf_counter() - t)
        return out

    with httpx.Client(base_url=url, timeout=120) as c:
        timed(c, 2)  # start the small-game solver process
        idle = timed(c, probes)
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(lambda body: httpx.post(f"{url}/solve", json=body, timeout=120), body) for body in hard]
            time.sleep(1.0)  # let them reach the solvers
            loaded = timed(c, probes)
            for future in futures:
                future.result()
    return idle, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=300, help="hard limit for the whole benchmark, seconds")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    tmp = Path(tempfile.mkdtemp(prefix="agora-bench-api-"))
    process, url = start_server(tmp / "agora.db", args.workers, deadline)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            # workers are up once a first run finishes
            first = c.post("/runs", json={"file": "prisoners_dilemma", "seed": 0, "name": "warmup"}).json()["id"]
            while c.get(f"/runs/{first}").json()["status"] in ("queued", "running"):
                if time.monotonic() > deadline:
                    raise SystemExit("timed out waiting for the first run")
                time.sleep(0.05)
            idle = []
            for _ in range(args.probes):
                t = time.perf_counter()
                c.get(f"/runs/{first}").raise_for_status()
                idle.append(time.perf_counter() - t)

        latencies: list[float] = []
        lock = threading.Lock()
        per_client = [args.runs // args.clients + (i < args.runs % args.clients) for i in range(args.clients)]
        barrier = threading.Barrier(args.clients)

        def client(index: int) -> list[str]:
            ids, mine = [], []
            with httpx.Client(base_url=url, timeout=60) as c:
                barrier.wait(timeout=60)
                for k in range(per_client[index]):
                    r = c.post("/runs", json={"file": "prisoners_dilemma", "seed": 1000 + index * 1000 + k, "name": "bench"})
                    r.raise_for_status()
                    ids.append(r.json()["id"])
                pending = list(ids)
                while pending and time.monotonic() < deadline:
                    for run_id in list(pending):
                        t = time.perf_counter()
                        r = c.get(f"/runs/{run_id}")
                        mine.append(time.perf_counter() - t)
                        if r.json()["status"] not in ("queued", "running"):
                            pending.remove(run_id)
                    time.sleep(0.05)
            with lock:
                latencies.extend(mine)
            return ids

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            submitted = sum(pool.map(client, range(args.clients)), [])
        api_seconds = time.perf_counter() - started

        solve_idle, solve_loaded = solve_latencies(url)

        with httpx.Client(base_url=url, timeout=30) as c:
            stored, cursor = [], None
            while True:
                page = c.get("/runs", params={"scenario": "bench", "limit": 200} | ({"cursor": cursor} if cursor else {})).json()
                stored += page["items"]
                if not (cursor := page["next_cursor"]):
                    break
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()

    # peer: the same runs in this process, one after another, as `agora run` does them
    from simulator.run import stored_run
    from simulator.scenario import load_scenario
    from simulator.store import Store

    scenario, text = load_scenario(SCENARIO)
    seeds = [1000 + i * 1000 + k for i in range(args.clients) for k in range(per_client[i])]
    with Store(tmp / "peer.db") as store:
        t = time.perf_counter()
        for seed in seeds:
            stored_run(scenario, text, store, seed=seed)
        peer_seconds = time.perf_counter() - t

    statuses = {}
    for run in stored:
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    lost = set(submitted) - {r["id"] for r in stored}
    duplicated = len(stored) - len({r["id"] for r in stored})
    i50, i99, imax = percentiles(idle)
    l50, l99, lmax = percentiles(latencies)
    print(f"agora serve on 127.0.0.1, {args.workers} run workers; {args.runs} runs from {args.clients} concurrent clients")
    print(f"submitted {len(submitted)} (unique {len(set(submitted))}), stored {len(stored)}, statuses {statuses}, "
          f"lost {len(lost)}, duplicated {duplicated}")
    print()
    print(f"{'GET /runs/{id} latency':<28}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(f"{'idle':<28}{len(idle):>10}{i50:>10.2f}{i99:>10.2f}{imax:>10.2f}")
    print(f"{'while 200 runs execute':<28}{len(latencies):>10}{l50:>10.2f}{l99:>10.2f}{lmax:>10.2f}")
    print(f"{'ratio loaded / idle':<28}{'':>10}{l50 / i50:>10.1f}{l99 / i99:>10.1f}")
    print()
    print(f"{'throughput':<28}{'runs':>10}{'seconds':>10}{'runs/s':>10}")
    print(f"{'API (submit + execute)':<28}{len(submitted):>10}{api_seconds:>10.2f}{len(submitted) / api_seconds:>10.1f}")
    print(f"{'in-process stored_run':<28}{len(seeds):>10}{peer_seconds:>10.2f}{len(seeds) / peer_seconds:>10.1f}")
    print(f"{'ratio API / in-process':<28}{'':>10}{'':>10}{(len(submitted) / api_seconds) / (len(seeds) / peer_seconds):>10.2f}")
    ok = not lost and not duplicated and statuses == {"finished": len(submitted)} and len(set(submitted)) == args.runs
    print()
    print(f"{'POST /solve 2x2 latency':<28}{'requests':>10}{'p50 ms':>10}{'max ms':>10}")
    s50, _, smax = percentiles(solve_idle)
    h50, _, hmax = percentiles(solve_loaded)
    print(f"{'idle':<28}{len(solve_idle):>10}{s50:>10.2f}{smax:>10.2f}")
    print(f"{'while 4 hard solves run':<28}{len(solve_loaded):>10}{h50:>10.2f}{hmax:>10.2f}")
    print(f"{'ratio loaded / idle':<28}{'':>10}{h50 / s50:>10.1f}")
    print("\nOK: all runs finished, none lost or duplicated" if ok else "\nFAILED: see the counts above")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
