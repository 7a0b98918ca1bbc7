"""End-to-end tests of the run browser in headless Chromium against a real ``agora serve`` on 127.0.0.1.

What the page shows is checked against the REST API's own answers and the
world's own counts (``customers_satisfied``), not against numbers computed here.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from simulator.worlds.marketplace.data import generate
from simulator.store import Store
from tests.web.conftest import SCREENSHOTS, Server, wait_until_ended

MARKET = """\
name: web_market
seed: 5
world:
  type: marketplace
  synthetic: {domain: restaurants, customers: 5, businesses: 8, seed: 4}
  search: {mechanism: lexical, page_size: 3}
  deadline: 50
agents:  # pays the first proposal and ignores amenities: some customers' needs go unmet
  customer: {policy: assistant, params: {choose: first, check_amenities: false}}
"""


def _num(text: str) -> float:
    return float(text.replace(",", "").split()[0])


def _loaded(image) -> int:
    image.wait_for(state="visible")
    # The page fetches the image with the bearer key and sets a blob: src; wait for it to load or fail.
    return image.evaluate("""img => (img.src && img.complete) ? img.naturalWidth : new Promise(done => {
        img.addEventListener('load', () => done(img.naturalWidth));
        img.addEventListener('error', () => done(-1));
    })""")


def test_start_run_from_form_watch_it_finish_and_read_its_page(server, page):
    page.goto(f"{server.url}/ui/new")
    page.wait_for_selector("body[data-ready=new]")
    page.select_option("#scenario", "axelrod_tournament")  # a few seconds of work: long enough to watch
    page.fill("#seed", "7")
    page.click("#start")
    page.wait_for_url(re.compile(r"/ui/runs/[A-Za-z0-9_-]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    # Live progress over the SSE stream, then the page redraws itself with the results.
    page.wait_for_selector("body[data-stream=ended]", timeout=90_000)
    page.wait_for_selector("#progress-text:text('100%')")
    progress = page.evaluate("window.agoraProgress")
    assert progress and progress[-1] == 1.0 and all(0 <= p <= 1 for p in progress)
    assert progress == sorted(progress)  # never goes backwards
    assert any(0 < p < 1 for p in progress), progress  # seen while running, not only at the end
    print("progress seen on the page:", [round(p, 3) for p in progress])
    page.wait_for_selector("#comparison")

    run = httpx.get(f"{server.url}/runs/{run_id}").json()
    assert run["status"] == "finished" and run["seed"] == 7 and run["progress"] == 1.0
    assert page.inner_text("#progress-status") == "finished"
    # Theory beside simulation: the numbers the API reports, and their gap.
    theory, welfare, rounds = run["metrics"]["theory"], run["metrics"]["welfare"], run["metrics"]["measures"]["rounds"]
    assert _num(page.inner_text("#welfare-total")) == pytest.approx(welfare, rel=1e-4)
    if run.get("comparison"):  # the world's declared pairs (contract 2): the page shows exactly those
        assert page.get_attribute("#comparison", "data-source") == "api"
        rows = page.locator("#comparison tbody tr:not(.sim)")
        assert rows.count() == len(run["comparison"])
        for i, expected in enumerate(run["comparison"]):
            cells = rows.nth(i).locator("td").all_inner_texts()
            assert cells[0] == expected["quantity"]
            for text, key in zip(cells[1:4], ("theory", "simulated", "gap")):
                if isinstance(expected[key], (int, float)):
                    assert _num(text) == pytest.approx(expected[key], rel=1e-3, abs=1e-4)
    else:  # the page's own pairs: per-round welfare against the stage game's benchmarks
        eq = page.locator("#comparison tr[data-kind=equilibrium]").first
        opt = page.locator("#comparison tr[data-kind=optimum]").first
        cells = [eq.locator("td").nth(i).inner_text() for i in range(5)]
        assert "stage_equilibrium_welfare" in cells[0] and "per round" in cells[4]
        assert _num(cells[1]) == pytest.approx(theory["stage_equilibrium_welfare"][0])
        assert _num(cells[2]) == pytest.approx(welfare / rounds, rel=1e-4)
        assert _num(cells[3]) == pytest.approx(welfare / rounds - theory["stage_equilibrium_welfare"][0], rel=1e-3)
        assert _num(opt.locator("td").nth(1).inner_text()) == pytest.approx(theory["stage_optimum_welfare"])
    assert page.locator("#payoffs tr").count() == len(run["metrics"]["payoffs"])
    assert "axelrod" in page.inner_text("#scenario-yaml").lower() or "tournament" in page.inner_text("#scenario-yaml").lower()
    assert page.locator("#parameters").inner_text().count("world.") > 0
    # The plots arrive through the plot route and decode.
    plot = page.locator("img.plot[data-plot=welfare]")
    assert _loaded(plot) > 0
    assert _loaded(page.locator("img.plot[data-plot=payoffs]")) > 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "run-page.png"), full_page=False)


def test_bad_override_and_bad_seed_show_the_api_error_next_to_the_field(server, page):
    page.goto(f"{server.url}/ui/new?scenario=prisoners_dilemma")
    page.wait_for_selector("body[data-ready=new]")
    page.fill("#overrides", "world.rounds=-3")
    page.click("#start")
    page.wait_for_selector("body[data-ready=new-error]")
    error = page.locator("#overrides-error")
    # The same message the API's problem+json carries for that field.
    problem = httpx.post(f"{server.url}/runs", json={"file": "prisoners_dilemma", "overrides": ["world.rounds=-3"]}).json()
    assert problem["status"] == 422
    message = next(e["message"] for e in problem["errors"] if e["path"] == "world.rounds")
    assert "world.rounds" in error.inner_text() and message in error.inner_text()
    # Next to the field: the error is the textarea's next sibling, just below it.
    assert page.locator("#overrides").evaluate("t => t.nextElementSibling.id") == "overrides-error"
    box, field = error.bounding_box(), page.locator("#overrides").bounding_box()
    assert 0 <= box["y"] - (field["y"] + field["height"]) < 40
    assert "invalid" in page.get_attribute("#overrides", "class")
    assert page.inner_text("#seed-error") == ""
    assert page.url.endswith("/ui/new?scenario=prisoners_dilemma")  # nothing was started

    page.fill("#overrides", "no equals sign here")
    page.click("#start")
    expect(page.locator("#overrides-error")).to_contain_text("key=value")

    page.fill("#overrides", "")
    page.fill("#seed", "-1")
    page.click("#start")
    expect(page.locator("#seed-error")).to_contain_text("greater than or equal to 0")
    assert page.inner_text("#overrides-error") == ""


def test_marketplace_conversation(server, page):
    response = httpx.post(f"{server.url}/runs", json={"scenario": MARKET})
    assert response.status_code == 202, response.text
    run = wait_until_ended(server.url, response.json()["id"])
    assert run["status"] == "finished", run
    market = generate("restaurants", 5, 8, 4)  # the synthetic market the scenario asks for
    names = {b.id: b.name for b in market.businesses}

    page.goto(f"{server.url}/ui/runs/{run['id']}")
    page.wait_for_selector("body[data-ready=run]")
    page.click("#conversations-link")
    page.wait_for_selector("body[data-ready=conversation]")
    customers = page.locator("#customers li")
    assert customers.count() == 5
    # The page's verdicts, rebuilt from the event log, agree with the world's own count.
    satisfied = run["metrics"]["measures"]["customers_satisfied"]
    assert page.locator("#customers li:has-text('needs met')").count() == satisfied
    paid = run["metrics"]["measures"]["customers_paid"]
    assert page.locator("#customers li:has-text('no purchase')").count() == 5 - paid
    assert page.locator("#customers li:has-text('needs not met')").count() == paid - satisfied
    assert paid - satisfied > 0  # the scenario is chosen so that both verdicts appear

    unmet = page.locator("#customers li:has-text('needs not met') a").first
    href = unmet.get_attribute("href")
    unmet.click()
    page.wait_for_url(f"**{href}")
    page.wait_for_selector("body[data-ready=conversation]")
    expect(page.locator("#verdict")).to_contain_text("not met ✗")
    assert re.search(r"missing item|business lacks", page.inner_text("#verdict"))
    assert page.locator("#timeline li.proposal.paid").count() == 1

    customer = market.customers[1]
    page.click(f"#customers a[href$='/{customer.id}']")
    page.wait_for_url(re.compile(f"/conversations/{customer.id}$"))
    page.wait_for_selector("body[data-ready=conversation]")
    timeline = page.locator("#timeline")
    assert customer.name in page.inner_text("main h2")
    kinds = timeline.locator("li.entry").evaluate_all("items => items.map(li => li.className)")
    assert "search" in kinds[0]
    assert any("proposal" in k for k in kinds) and any("payment" in k for k in kinds)
    # Business names, not only ids, and the paid proposal is highlighted.
    events = httpx.get(f"{server.url}/runs/{run['id']}/events", params={"limit": 5000}).json()["items"]
    payment = next(e for e in events if e["kind"] == "payment" and e["agent"] == customer.id)
    highlighted = timeline.locator("li.proposal.paid")
    assert highlighted.count() == 1
    assert highlighted.get_attribute("data-proposal") == payment["data"]["proposal_id"]
    assert names[payment["data"]["business"]] in highlighted.inner_text()
    assert "PAID" in highlighted.inner_text()
    search = next(e for e in events if e["kind"] == "search" and e["agent"] == customer.id)
    first = timeline.locator("li.search").first.inner_text()
    assert all(names[b] in first for b in search["data"]["results"])
    verdict = page.inner_text("#verdict")
    assert names[payment["data"]["business"]] in verdict and ("needs met" in verdict or "not met" in verdict)
    # What the customer is willing to pay, said as such (not as a price cap).
    wants = page.inner_text("#wants")
    assert "≤" not in wants and wants.count("willing to pay up to") == len(customer.menu_features)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "marketplace-conversation.png"), full_page=False)

    # The business side: what the paid business received, proposed and was paid, from the same log.
    business = payment["data"]["business"]
    page.click("#business-side")
    page.wait_for_selector("body[data-ready=businesses]")
    page.click(f"#businesses a[href$='/{business}']")
    page.wait_for_selector("body[data-ready=businesses]")
    assert names[business] in page.inner_text("main h2")
    paid_to = [e for e in events if e["kind"] == "payment" and e["data"]["business"] == business]
    received = [e for e in events if e["kind"] == "message" and e["data"].get("to") == business  # payments are counted as paid
                and e["data"].get("message_kind") != "payment"]
    proposed = [e for e in events if e["kind"] == "message" and e["agent"] == business and e["data"].get("message_kind") == "order_proposal"]
    totals = page.inner_text("#business-totals")
    assert totals.startswith(f"{len(received)} messages received · {len(proposed)} proposals sent · {len(paid_to)} paid")
    assert page.locator("#business-timeline li.proposal").count() == len(proposed)
    page.screenshot(path=str(SCREENSHOTS / "marketplace-business.png"), full_page=False)


def test_run_list_filters_and_pages(server, page):
    with Store(server.db, recover=False) as store:  # 30 small stored runs, written as the CLI would
        for seed in range(30):
            run_id = store.create_run(scenario_name="listed", world="matrix_game", scenario_text="name: listed\n", seed=seed)
            store.finish_run(run_id, "finished", {"welfare": float(seed), "payoffs": {}}, {"events": 0})
    page.goto(f"{server.url}/?limit=25")
    page.wait_for_selector("body[data-ready=list]")
    first = page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)")
    assert len(first) == 25
    page.click("#older")
    page.wait_for_selector("body[data-ready=list]")
    second = page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)")
    api = httpx.get(f"{server.url}/runs", params={"limit": 50}).json()["items"]
    assert first + second == [r["id"] for r in api][: len(first) + len(second)]  # newest first, no overlap
    page.click("#newer")
    page.wait_for_selector("body[data-ready=list]")
    assert page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)") == first
    # Filters go to the API: world and status.
    page.fill("input[name=world]", "marketplace")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"world=marketplace"))
    page.wait_for_selector("body[data-ready=list]")
    worlds = page.locator("#runs tbody tr td:nth-child(4)").all_inner_texts()
    assert worlds and set(worlds) == {"marketplace"}
    page.goto(f"{server.url}/?scenario=listed&status=finished&limit=100")
    page.wait_for_selector("body[data-ready=list]")
    assert page.locator("#runs tbody tr").count() == 30
    row = page.locator("#runs tbody tr").first
    assert row.locator("td").nth(8).inner_text() == "29"  # the newest run's headline welfare
    row.locator("a").first.click()
    page.wait_for_selector("body[data-ready=run]")
    assert "listed" in page.inner_text("h1")


def test_sweep_page_figures_table_and_csv(server, page, tmp_path):
    response = httpx.post(f"{server.url}/sweeps", json={"file": "sweep_matrix_game", "overrides": ["sweep.seeds=2", "world.rounds=10"]})
    if response.status_code == 404 and "no route" in response.text:
        pytest.fail("POST /sweeps is missing")
    assert response.status_code == 202, response.text
    sweep_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while (sweep := httpx.get(f"{server.url}/sweeps/{sweep_id}").json())["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sweep["status"] == "finished", sweep
    page.goto(f"{server.url}/")
    page.wait_for_selector("body[data-ready=list]")
    listed = set(page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)"))
    # Sweep cells are left out of the run list unless asked for (issue 18).
    cells = {r["id"]: str(r["seed"]) for r in httpx.get(f"{server.url}/runs", params={"limit": 50, "include_sweep_cells": True}).json()["items"]
             if r["sweep_id"] == sweep_id}
    assert cells and not listed & set(cells)
    page.check("#filters input[name=include_sweep_cells]")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"include_sweep_cells=true"))
    page.wait_for_selector("body[data-ready=list]")
    # Seeds of sweep cells exceed 2**53: the page shows them exactly as the API stores them.
    shown = {row.get_attribute("data-run"): row.locator("td").nth(5).inner_text() for row in page.locator("#runs tbody tr").all()}
    assert set(cells) & set(shown) and all(shown[run_id] == seed for run_id, seed in cells.items() if run_id in shown)
    page.click(f"#sweeps a[href='/ui/sweeps/{sweep_id}']")
    page.wait_for_selector("body[data-ready=sweep]")
    figures = httpx.get(f"{server.url}/sweeps/{sweep_id}/plots").json()["items"]
    assert figures and page.locator("img.plot").count() == len(figures)
    assert _loaded(page.locator("img.plot").first) > 0
    csv = httpx.get(f"{server.url}/sweeps/{sweep_id}/table.csv").text
    assert page.locator("#sweep-table tbody tr").count() == len(csv.strip().splitlines()) - 1 == sweep["n_cells"]
    with page.expect_download() as download:
        page.click("#csv-download")
    path = tmp_path / "table.csv"
    download.value.save_as(path)
    assert path.read_text() == csv


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("web-key") / "agora.db", env={"AGORA_API_KEY": "s3cret-key"}, workers=1).start()
    try:
        yield server
    finally:
        server.stop()


def test_api_key_is_asked_once_and_sent_as_bearer(keyed_server, page):
    url = keyed_server.url
    assert httpx.get(f"{url}/").status_code == 200  # the shell is public
    assert httpx.get(f"{url}/runs").status_code == 401  # the data is not
    assert httpx.get(f"{url}/ui/api/runs/x/details").status_code == 401
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization")) if r.resource_type == "fetch" else None)
    page.goto(f"{url}/")
    page.wait_for_selector("#key-form")
    page.fill("#key-input", "wrong")
    page.click("#key-submit")
    page.wait_for_selector("#key-error:has-text('refused')")
    page.fill("#key-input", "s3cret-key")
    page.click("#key-submit")
    page.wait_for_selector("body[data-ready=list]")
    assert "Bearer s3cret-key" in sent
    page.reload()
    page.wait_for_selector("body[data-ready=list]")
    assert page.locator("#key-form").count() == 0  # asked once: kept in the browser's storage
    assert sent[-1] == "Bearer s3cret-key"
    # Starting a run and following it also carry the key (the stream is read with fetch, not EventSource).
    page.goto(f"{url}/ui/new?scenario=prisoners_dilemma")
    page.wait_for_selector("body[data-ready=new]")
    page.click("#start")
    page.wait_for_url(re.compile(r"/ui/runs/[A-Za-z0-9_-]+$"))
    expect(page.locator("#progress-status")).to_have_text("finished", timeout=30_000)
    assert page.inner_text("#progress-text") == "100%"
    page.wait_for_selector("#comparison")
    assert _loaded(page.locator("img.plot[data-plot=welfare]")) > 0
    assert sent and all(value == "Bearer s3cret-key" for value in sent[sent.index("Bearer s3cret-key"):])
