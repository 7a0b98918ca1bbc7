"""The run page of a 2,000-agent marketplace run, end to end in headless Chromium (issue 18).

The run is submitted through the API of a real ``agora serve`` on 127.0.0.1 (its agent limit raised
to 2,000): the worker draws its figures and welfare chart as it ends, into the figure cache beside the
store (``simulator.figure_cache``), and the page then shows every plot decoded, the payoffs as a
distribution with a summary of 2,000 agents and no broken image. How long the page takes is measured
in ``bench/web.py`` (no timing assertions here).
"""

from __future__ import annotations

import time

import httpx
import pytest

from bench.web import big_market
from simulator import figure_cache
from tests.web.conftest import SCREENSHOTS, Server, wait_until_ended

CUSTOMERS, BUSINESSES = 1500, 500
BIG = big_market(CUSTOMERS + BUSINESSES)   # the run bench/web.py times
ALL_PLOTS = """() => { const imgs = [...document.querySelectorAll('img.plot')];
  return document.body.dataset.ready === 'run' && imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0 && !i.hidden); }"""


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("big") / "agora.db", workers=1,
                    env={"AGORA_MAX_AGENTS": "2000", "AGORA_RUN_MAX_MEMORY": "4096", "AGORA_RUN_MAX_SECONDS": "1200"}).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_2000_agent_marketplace_run_page_shows_every_plot_drawn_as_the_run_ended(big_server, page):
    created = httpx.post(f"{big_server.url}/runs", json={"scenario": BIG}, timeout=60)
    assert created.status_code == 202, created.text
    run = wait_until_ended(big_server.url, created.json()["id"], timeout=1200)
    assert run["status"] == "finished", run
    assert len(run["metrics"]["payoffs"]) == CUSTOMERS + BUSINESSES
    # the worker has drawn the figures when the pool has nothing running any more
    deadline = time.monotonic() + 600
    while httpx.get(f"{big_server.url}/health").json()["running"] and time.monotonic() < deadline:
        time.sleep(0.2)
    names = httpx.get(f"{big_server.url}/runs/{run['id']}/plots").json()["items"]
    cache = figure_cache.FigureCache(big_server.db.with_name(big_server.db.name + figure_cache.SUFFIX))
    version = figure_cache.version_of(run)
    assert {"welfare", "payoffs"} <= set(names)
    assert all(cache.get(run["id"], name, "png", version) for name in names), "figures not drawn as the run ended"

    page.goto(f"{big_server.url}/ui/runs/{run['id']}")
    page.wait_for_function(ALL_PLOTS, timeout=60_000)
    assert page.locator("img.plot").count() == len(names)
    assert page.locator(".plots .placeholder").count() == 0 and page.locator(".plots .field-error").count() == 0
    for name in names:  # what the page shows is what the plot route serves
        shown = page.locator(f"img.plot[data-plot={name}]")
        assert shown.evaluate("img => img.naturalWidth") > 0
    assert "2,000" in page.inner_text("#payoff-summary")
    page.wait_for_selector("#series[data-ready]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "run-2000-agents.png"), full_page=False)
