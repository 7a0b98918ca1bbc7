"""The run browser's list page with 1,000 stored runs: navigation to rendered list, in headless Chromium.

Fills a private temporary store with ``--runs`` finished runs (written as
``agora run`` stores them: metrics with welfare, payoffs, measures, theory),
starts ``agora serve`` on 127.0.0.1 (a free port), opens ``/`` in Debian's
headless chromium through Playwright and times, for each page size, from the
start of navigation to the moment the page has drawn its table
(``performance.now()`` when ``body[data-ready=list]`` is set, i.e. fetch +
JSON + DOM). Page size 1000 shows every stored run on one page (five API pages
of 200). The peer, side by side, is the JSON alone: the same ``GET /runs``
request(s) from Python (httpx), no browser. Prints the median of ``--repeat``
loads and the ratio, then stops the server and the browser.

Two more timings of the research pages (issue 21), each against 300 ms:

* the scenario editor's validate round trip: a change typed into the editor ->
  ``POST /scenarios/validate`` -> problems drawn next to their lines (the page's
  debounce excluded; ``window.agoraValidateMs``), alternating a valid and an
  invalid text; peer: the same POST from httpx;
* the comparison page with 20 runs: the page's own work (from the script's start,
  ``window.agoraStartAt``, to parameters, metrics, theory and chart drawn: its
  fetch, JSON and DOM) and, for context, the whole navigation (which adds the
  browser's shell, stylesheet and script load, the same for every page); peer: its
  one JSON request (``GET /ui/api/compare``) from httpx.

And (issue 18) a 2,000-agent marketplace run (``--market-agents``), twice: submitted with
``POST /runs`` (the server's worker draws its figures and chart as it ends, into
``<store>.figures.db``), and stored with ``agora run`` before the server starts (which draws
them the same way as the run ends, ``simulator.draw_ahead``). For each, its run page from navigation to
every plot decoded, against 3 s: the first load (a fresh page of a server that has not shown
the run) and the median of the rest.

    python bench/web.py [--runs 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.store import Store  # noqa: E402

AGORA = str(Path(sys.executable).with_name("agora"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WORLDS = ["matrix_game", "public_goods", "off_switch", "marketplace"]
TEXT = (ROOT / "scenarios" / "prisoners_dilemma.yaml").read_text()  # a real scenario: the comparison page parses it


def fill(db: Path, n: int) -> None:
    with Store(db) as store:
        for i in range(n):
            world = WORLDS[i % len(WORLDS)]
            run_id = store.create_run(scenario_name=f"{world}_bench", world=world, scenario_text=TEXT, seed=i)
            metrics = {
                "welfare": 40.0 + i % 17, "payoffs": {"alice": 20.0 + i % 5, "bob": 20.0 + i % 7},
                "measures": {"rounds": 7, "mean_payoff_per_round": {"alice": 2.8, "bob": 2.9}},
                "theory": {"stage_equilibrium_welfare": [2.0], "stage_optimum_welfare": 6.0},
            }
            store.finish_run(run_id, "finished", metrics, {"events": 21, "sim_time": 7.0, "wall_seconds": 0.01})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # the big marketplace run goes through the API: allow its 2,000 agents (the default limit is 1,000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")} | {
        "AGORA_DB": str(db), "AGORA_MAX_AGENTS": "100000", "AGORA_RUN_MAX_MEMORY": "8192", "AGORA_RUN_MAX_SECONDS": "1800"}
    proc = subprocess.Popen([AGORA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"agora serve did not start:\n{log.read_text()}")


def api_time(client: httpx.Client, url: str, size: int) -> float:
    t0 = time.perf_counter()
    got, cursor = 0, None
    while got < size:
        params = {"limit": min(200, size - got)} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{url}/runs", params=params).json()
        got += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--market-agents", type=int, default=2000, help="customers + businesses of the big run (0: skip it)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="agora-bench-web-") as tmp:
        db = Path(tmp) / "agora.db"
        t0 = time.perf_counter()
        fill(db, args.runs)
        print(f"stored {args.runs} runs in {time.perf_counter() - t0:.2f} s")
        big = store_big_market(db, Path(tmp), args.market_agents) if args.market_agents else None
        proc, url = serve(db, Path(tmp) / "serve.log")
        try:
            with sync_playwright() as p, httpx.Client() as client:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1360, "height": 900})
                page.goto(f"{url}/")  # warm-up: static files cached, server connections open
                page.wait_for_selector("body[data-ready=list]")
                print(f"{'page size':>9}  {'rows':>5}  {'browser: navigation -> list rendered':>37}  {'wall (goto+wait)':>16}  "
                      f"{'peer: GET /runs JSON only':>25}  {'ratio':>6}")
                worst = 0.0
                for size in (50, 200, 1000):
                    rendered, wall, peer = [], [], []
                    for _ in range(args.repeat):
                        t = time.perf_counter()
                        page.goto(f"{url}/?limit={size}")
                        page.wait_for_selector("body[data-ready=list]")
                        wall.append(time.perf_counter() - t)
                        rendered.append(page.evaluate("window.agoraReadyAt") / 1000)
                        peer.append(api_time(client, url, size))
                    rows = page.locator("#runs tbody tr").count()
                    r, w, q = statistics.median(rendered), statistics.median(wall), statistics.median(peer)
                    worst = max(worst, r)
                    print(f"{size:>9}  {rows:>5}  {r * 1000:>34.0f} ms  {w * 1000:>13.0f} ms  {q * 1000:>22.0f} ms  {r / q:>5.2f}x")
                research = research_pages(page, client, url, args.repeat)
                if big:
                    submitted = submit_big_market(client, url, args.market_agents)
                    research |= big_run_page(browser, url, submitted, args.repeat, "submitted through the API, drawn as it ended")
                    research |= big_run_page(browser, url, big, args.repeat, "stored by agora run, drawn as it ended")
                browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    verdict = "under" if worst < 1.0 else "NOT under"
    print(f"slowest median render {worst * 1000:.0f} ms: {verdict} 1 s with {args.runs} stored runs (medians of {args.repeat})")
    for name, value in research.items():
        limit = 3.0 if name.startswith("marketplace") else 0.3
        print(f"{name}: median {value * 1000:.0f} ms: {'under' if value < limit else 'NOT under'} {limit * 1000:.0f} ms")


BIG = """\
name: market_{n}
seed: 3
world:
  type: marketplace
  synthetic: {{domain: restaurants, customers: {customers}, businesses: {businesses}, seed: 3}}
  search: {{mechanism: lexical, page_size: 5}}
  deadline: 50
agents:
  customer: assistant
  business: service
"""


def big_market(n: int) -> str:
    """The ``n``-agent marketplace run (three customers to one business) whose run page this bench and the web tests load."""
    return BIG.format(n=n, customers=n * 3 // 4, businesses=n - n * 3 // 4)


def submit_big_market(client: httpx.Client, url: str, n: int) -> str:
    """The same run submitted with POST /runs; returns once its worker is idle again (figures drawn)."""
    t = time.perf_counter()
    text = big_market(n).replace(f"market_{n}", f"market_{n}_api")
    created = client.post(f"{url}/runs", json={"scenario": text}, timeout=60)
    if created.status_code != 202:
        raise SystemExit(f"POST /runs of the {n}-agent market failed: {created.status_code} {created.text[:2000]}")
    run_id = created.json()["id"]
    while True:
        run = client.get(f"{url}/runs/{run_id}", timeout=60).json()
        health = client.get(f"{url}/health", timeout=60).json()
        if run["status"] not in ("queued", "running") and health["running"] == 0:
            break
        time.sleep(0.5)
    if run["status"] not in ("finished", "degraded"):
        raise SystemExit(f"the submitted {n}-agent marketplace run ended {run['status']}: {run.get('error')}")
    print(f"ran a {n}-agent marketplace run {run_id} through the API (and drew its figures) in {time.perf_counter() - t:.1f} s")
    return run_id


def store_big_market(db: Path, tmp: Path, n: int) -> str:
    """A marketplace run with n agents (3/4 customers), stored as `agora run` stores it; its run id."""
    import json

    path = tmp / "big.yaml"
    path.write_text(big_market(n))
    t = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")} | {"AGORA_DB": str(db)}
    out = subprocess.run([AGORA, "run", str(path), "--json"], capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode not in (0, 3):
        raise SystemExit(f"the {n}-agent marketplace run failed:\n{out.stderr[-2000:]}")
    run_id = json.loads(out.stdout)["run_id"]
    print(f"stored a {n}-agent marketplace run {run_id} in {time.perf_counter() - t:.1f} s")
    return run_id


ALL_PLOTS = """() => { const imgs = [...document.querySelectorAll('img.plot')];
  return document.body.dataset.ready === 'run' && imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0 && !i.hidden); }"""


def big_run_page(browser, url: str, run_id: str, repeat: int, how: str) -> dict[str, float]:
    """Navigation -> every plot decoded, in a new browser context (no cached images): first load and median after."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        page.goto(f"{url}/ui/runs/{run_id}")
        page.wait_for_function(ALL_PLOTS, timeout=300_000)
        times.append(time.perf_counter() - t)
    plots = page.locator("img.plot").count()
    context.close()
    rest = statistics.median(times[1:])
    print(f"2,000-agent marketplace run page ({how}), navigation -> {plots} plots decoded: first load "
          f"{times[0] * 1000:.0f} ms, then median {rest * 1000:.0f} ms")
    return {f"marketplace run page with plots, {how} (first load)": times[0],
            f"marketplace run page with plots, {how} (median after)": rest}


BAD = "  rounds: -3\n"


def research_pages(page, client: httpx.Client, url: str, repeat: int) -> dict[str, float]:
    """The editor's validate round trip and the 20-run comparison page (medians), with their JSON-only peers."""
    text = client.get(f"{url}/scenarios/prisoners_dilemma").json()["text"]
    bad = text.replace("world:\n", "world:\n" + BAD, 1)
    page.goto(f"{url}/ui/edit?from=file:prisoners_dilemma")
    page.wait_for_selector("body[data-ready=editor]")
    page.wait_for_selector("body[data-validated]")
    browser_ms, peer = [], []
    for i in range(max(repeat, 5) * 2):
        before = page.get_attribute("body", "data-validated")
        page.fill("#yaml", bad if i % 2 == 0 else text)
        page.wait_for_function("n => document.body.dataset.validated !== n", arg=before)
        browser_ms.append(page.evaluate("window.agoraValidateMs") / 1000)
        t = time.perf_counter()
        client.post(f"{url}/scenarios/validate", json={"scenario": bad if i % 2 == 0 else text})
        peer.append(time.perf_counter() - t)
    validate, validate_peer = statistics.median(browser_ms), statistics.median(peer)
    print(f"editor validate round trip (typed change -> problems drawn, debounce excluded): {validate * 1000:.0f} ms; "
          f"peer POST /scenarios/validate alone: {validate_peer * 1000:.0f} ms; ratio {validate / validate_peer:.2f}x")

    ids = [r["id"] for r in client.get(f"{url}/runs", params={"limit": 20}).json()["items"]]
    query = "&".join(f"ids={i}" for i in ids)
    rendered, navigation, peer = [], [], []
    for _ in range(repeat):
        page.goto(f"{url}/ui/compare?{query}")
        page.wait_for_selector("body[data-ready=compare]")
        rendered.append(page.evaluate("window.agoraReadyAt - window.agoraStartAt") / 1000)
        navigation.append(page.evaluate("window.agoraReadyAt") / 1000)
        t = time.perf_counter()
        client.get(f"{url}/ui/api/compare?{query}")
        peer.append(time.perf_counter() - t)
    columns = page.locator("#compare-metrics thead th a").count()
    compare, compare_peer = statistics.median(rendered), statistics.median(peer)
    print(f"comparison page, {columns} runs (script start -> drawn): {compare * 1000:.0f} ms; whole navigation "
          f"{statistics.median(navigation) * 1000:.0f} ms; peer GET /ui/api/compare alone: {compare_peer * 1000:.0f} ms; "
          f"ratio {compare / compare_peer:.2f}x")
    return {"editor validate round trip": validate, f"comparison page with {columns} runs": compare}


if __name__ == "__main__":
    main()
