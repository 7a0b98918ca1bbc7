"""The web page as a research tool, end to end in headless Chromium against a real ``agora serve`` on 127.0.0.1.

Scenario editor (problems next to their line as you type, run it, launch a sweep), run comparison,
the event table (filters, paging, CSV), theory beside simulation on every world's run page, links
only where there is something behind them, and a run page that holds for many agents. What the page
shows is checked against the REST API's own answers (and the CSV against the event log the API pages
out), never against numbers computed here. Screenshots go to ``SCREENSHOTS`` (a temporary folder
unless scripts/refresh_screenshots.sh points it at docs/screenshots).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from tests.web.conftest import SCREENSHOTS, wait_until_ended

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
EDITOR_TEXT = """\
name: editor_pd
seed: 4
world:
  type: matrix_game
  rounds: -3
  game: prisoners_dilemma
  players: [alice, bob]
  continuation: 1.0
agents:
  alice: tit_for_tat
  bob: always_defect
"""
BAD_LINE = 5  # "  rounds: -3"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def _submit(url: str, body: dict) -> dict:
    response = httpx.post(f"{url}/runs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    run = wait_until_ended(url, response.json()["id"], timeout=120)
    assert run["status"] == "finished", run
    return run


def _events(url: str, run_id: str, **params) -> list[dict]:
    """The whole log through the API's own paging (the oracle for the page and the CSV)."""
    items, after = [], -1
    while True:
        page = httpx.get(f"{url}/runs/{run_id}/events", params={"after": after, "limit": 5000, **params}).json()
        items += page["items"]
        if page["next_after"] is None:
            return items
        after = page["next_after"]


def test_editor_shows_a_field_error_next_to_its_line_then_runs_the_fixed_scenario(server, page):
    page.goto(f"{server.url}/ui/edit")
    page.wait_for_selector("body[data-ready=editor]")
    # A blank scenario of the first world is there to start from, and it validates.
    expect(page.locator("#validity")).to_have_text("valid", timeout=30_000)
    assert "type:" in page.input_value("#yaml")

    page.fill("#yaml", EDITOR_TEXT)
    mark = page.locator(f".mark[data-line='{BAD_LINE}']")
    expect(mark).to_contain_text("rounds", timeout=30_000)
    # The API's own message for that field, and at that line.
    check = httpx.post(f"{server.url}/scenarios/validate", json={"scenario": EDITOR_TEXT}).json()
    problem = next(p for p in check["problems"] if p["path"] == "world.rounds")
    assert problem["line"] == BAD_LINE and problem["message"] in mark.inner_text()
    expect(page.locator("#validity")).to_contain_text("problem")
    assert "bad" in page.locator("#gutter span").nth(BAD_LINE - 1).get_attribute("class")
    # Next to the line: the mark's top is where the textarea draws line 5 (same line height).
    area, box = page.locator("#yaml").bounding_box(), mark.bounding_box()
    assert abs(box["y"] - (area["y"] + 6 + (BAD_LINE - 1) * 18)) < 6
    assert box["x"] >= area["x"] + area["width"] - 2  # to its right, not over the text
    # Field help for the key under the cursor, from the world's schema.
    page.click("#yaml")
    page.keyboard.press("Control+Home")
    for _ in range(BAD_LINE - 1):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#help-current")).to_contain_text("rounds")
    _shot(page, "editor-field-error.png")

    page.fill("#yaml", EDITOR_TEXT.replace("rounds: -3", "rounds: 30"))
    expect(page.locator("#validity")).to_have_text("valid")
    assert page.locator(".mark").count() == 0
    page.click("#run-scenario")
    page.wait_for_url(re.compile(r"/ui/runs/[A-Za-z0-9_-]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#progress-status")).to_have_text("finished", timeout=90_000)
    page.wait_for_selector("#comparison")
    run = httpx.get(f"{server.url}/runs/{run_id}").json()
    assert run["status"] == "finished" and run["scenario_name"] == "editor_pd" and run["seed"] == 4
    assert run["metrics"]["measures"]["rounds"] == 30
    _shot(page, "editor-run-finished.png")


def test_launch_a_2x2x3_sweep_from_the_editor_and_open_its_figures(server, page):
    page.goto(f"{server.url}/ui/edit?from=file:prisoners_dilemma")
    page.wait_for_selector("body[data-ready=editor]")
    expect(page.locator("#validity")).to_have_text("valid", timeout=30_000)
    page.locator(".axis-path").first.fill("world.rounds")
    page.locator(".axis-values").first.fill("[5, 10]")
    page.click("#add-axis")
    page.locator(".axis-path").nth(1).fill("world.game")
    page.locator(".axis-values").nth(1).fill("[prisoners_dilemma, stag_hunt]")
    page.fill("#sweep-seeds", "3")
    expect(page.locator("#sweep-cells")).to_have_text("4 points × 3 seeds = 12 cells")
    page.click("#launch-sweep")
    page.wait_for_url(re.compile(r"/ui/sweeps/[A-Za-z0-9_-]+$"))
    sweep_id = page.url.rsplit("/", 1)[1]
    # The page follows the sweep's progress until every cell is done.
    expect(page.locator("#sweep-done")).to_have_text("12 / 12 cells", timeout=240_000)
    sweep = httpx.get(f"{server.url}/sweeps/{sweep_id}").json()
    assert sweep["n_cells"] == 12 and sweep["spec"]["seeds"] == 3
    assert sweep["spec"]["grid"] == {"world.rounds": [5, 10], "world.game": ["prisoners_dilemma", "stag_hunt"]}
    # Readable grid, a tidy table in its own scroll box (the page itself does not grow sideways).
    expect(page.locator("#sweep-grid-spec")).to_contain_text("world.game")
    page.wait_for_selector("#sweep-table")
    assert page.locator("#sweep-table tbody tr").count() == 12
    assert page.evaluate("document.documentElement.scrollWidth") <= 1360 + 20
    header = page.locator("#sweep-table thead th").first
    assert header.evaluate("th => getComputedStyle(th).position") == "sticky"
    # Figures decode, and one opens full size on click.
    figure = page.locator(".plots img.plot").first
    figure.wait_for(state="visible", timeout=60_000)
    assert figure.evaluate("img => img.complete && img.naturalWidth") > 0
    figure.click()
    big = page.locator("#lightbox img")
    expect(big).to_be_visible()
    assert big.evaluate("img => img.naturalWidth") > 0
    _shot(page, "sweep-figure.png")
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_have_count(0)
    # The runs of the sweep stay out of the default run list.
    listed = httpx.get(f"{server.url}/runs", params={"limit": 200}).json()["items"]
    assert not any(r["sweep_id"] == sweep_id for r in listed)
    every = httpx.get(f"{server.url}/runs", params={"limit": 200, "include_sweep_cells": True}).json()["items"]
    assert sum(r["sweep_id"] == sweep_id for r in every) == 12


def test_compare_two_runs_from_the_list(server, page):
    a = _submit(server.url, {"file": "prisoners_dilemma", "seed": 1})
    b = _submit(server.url, {"file": "prisoners_dilemma", "seed": 2, "overrides": ["world.rounds=12"]})
    page.goto(f"{server.url}/")
    page.wait_for_selector("body[data-ready=list]")
    page.check(f"#runs tr[data-run='{a['id']}'] input.pick")
    page.check(f"#runs tr[data-run='{b['id']}'] input.pick")
    expect(page.locator("#compare")).to_have_text("Compare 2 runs")
    page.click("#compare")
    page.wait_for_selector("body[data-ready=compare]")
    differing = page.locator("#compare-parameters tr.differs")
    paths = {differing.nth(i).get_attribute("data-path") for i in range(differing.count())}
    assert paths == {"seed", "world.rounds"}, paths
    columns = page.locator("#compare-metrics thead th a").all_inner_texts()  # the runs, in the list's order
    assert sorted(columns) == sorted([a["id"], b["id"]])
    welfare = page.locator("#compare-metrics tr[data-path=welfare] td")
    shown = {columns[i]: float(welfare.nth(i).inner_text().replace(",", "")) for i in range(2)}
    assert shown == pytest.approx({a["id"]: a["metrics"]["welfare"], b["id"]: b["metrics"]["welfare"]})
    assert page.locator("#compare-bars rect.bar").count() == 2
    assert page.locator("#compare-theory tbody tr").count() >= 1
    _shot(page, "compare.png")


def test_filter_events_by_agent_page_through_them_and_download_the_csv(server, page, tmp_path):
    run = _submit(server.url, {"file": "prisoners_dilemma", "overrides": ["world.rounds=150", "world.continuation=1.0"]})
    alice = _events(server.url, run["id"], agent="alice")
    everything = _events(server.url, run["id"])
    assert alice == [e for e in everything if e["agent"] == "alice"] and len(alice) > 100  # more than one page
    page.goto(f"{server.url}/ui/runs/{run['id']}")
    page.wait_for_selector("body[data-ready=run]")
    page.click("#events-link")
    page.wait_for_selector("body[data-ready=events]")
    assert page.locator("#events tbody tr").count() == 100
    page.fill("#agent-filter", "alice")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r"agent=alice"))
    page.wait_for_selector("body[data-ready=events]")
    expect(page.locator("#matched")).to_contain_text(f"{len(alice)} matching")
    agents = page.locator("#events td.agent").all_inner_texts()
    assert agents and set(agents) == {"alice"}
    seqs = [int(s) for s in page.locator("#events tbody tr").evaluate_all("rows => rows.map(r => r.dataset.seq)")]
    assert seqs == [e["seq"] for e in alice[:100]]
    page.click("#events-older")
    page.wait_for_selector("body[data-ready=events]")
    seqs = [int(s) for s in page.locator("#events tbody tr").evaluate_all("rows => rows.map(r => r.dataset.seq)")]
    assert seqs == [e["seq"] for e in alice[100:200]]
    _shot(page, "events-filtered.png")

    with page.expect_download() as download:
        page.click("#events-csv")
    path = tmp_path / "events.csv"
    download.value.save_as(path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in alice]
    assert {r["agent"] for r in rows} == {"alice"}
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in alice]
    assert [float(r["t"]) for r in rows] == [e["t"] for e in alice]


def _small_scenario(world: str) -> Path:
    for path in sorted(SCENARIOS.glob("*.yaml"), key=lambda p: ("small" not in p.stem, p.stat().st_size, p.name)):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and not data.get("llm") and "sweep" not in data and isinstance(data.get("world"), dict) \
                and data["world"].get("type") == world:
            return path
    raise AssertionError(f"no shipped scenario for {world}")


WORLDS = ["information", "marketplace", "matrix_game", "off_switch", "public_goods", "social_learning"]


@pytest.mark.parametrize("world", WORLDS)
def test_every_worlds_run_page_shows_theory_simulated_and_gap(server, page, world):
    run = _submit(server.url, {"file": _small_scenario(world).stem, "overrides": ["run.max_time=50"]})
    page.goto(f"{server.url}/ui/runs/{run['id']}")
    page.wait_for_selector("body[data-ready=run]")
    rows = page.locator("#comparison tbody tr:not(.sim)")
    assert rows.count() >= 1
    filled = 0
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        theory, simulated, gap = cells[1:4]
        if all(re.search(r"\d", text) for text in (theory, simulated, gap)):
            filled += 1
            t, s = (float(text.replace(",", "").split()[0]) for text in (theory, simulated))
            assert float(gap.replace(",", "").replace("+", "").split()[0]) == pytest.approx(s - t, rel=1e-3, abs=1e-3)
    assert filled >= 1, f"{world}: no row with theory, simulated and gap: {page.inner_text('#comparison')}"
    if page.locator("#comparison").get_attribute("data-source") == "api":
        assert len(run["comparison"]) == rows.count()
    if page.locator("#events-link").count():  # a logged run: welfare over time, and the world's per-round series
        page.wait_for_selector("#series[data-ready]")
        numeric = [k for k, v in run["metrics"].get("measures", {}).items()
                   if isinstance(v, list) and len(v) >= 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)]
        if numeric and page.get_attribute("#series", "data-ready") == "chart":
            assert page.locator("#series svg[id^=measure-]").count() >= 1
    _shot(page, f"theory-{world}.png")


def test_links_only_where_something_is_behind_them_and_many_agents_fit(server, page):
    text = (SCENARIOS / "social_learning_cascade.yaml").read_text()
    run = _submit(server.url, {"scenario": text, "overrides": ["world.n_agents=120", "world.episodes=20"]})
    assert len(run["metrics"]["payoffs"]) == 120
    page.goto(f"{server.url}/ui/runs/{run['id']}")
    page.wait_for_selector("body[data-ready=run]")
    # record_events: false in this scenario: no event table, an explanation instead
    assert page.locator("#events-link").count() == 0
    expect(page.locator("#no-events")).to_contain_text("record_events: false")
    # 120 agents: summary and distribution, and a table of 100 at a time
    expect(page.locator("#payoff-summary")).to_contain_text("120")
    assert page.locator("#payoff-histogram rect.bar").count() >= 1
    assert page.locator("#payoffs tr").count() == 100
    page.click("#payoffs-next")
    assert page.locator("#payoffs tr").count() == 20
    expect(page.locator("#payoffs-page")).to_have_text("agents 101–120 of 120")

    logged = _submit(server.url, {"file": "prisoners_dilemma"})
    page.goto(f"{server.url}/ui/runs/{logged['id']}")
    page.wait_for_selector("body[data-ready=run]")
    expect(page.locator("#events-link")).to_be_visible()
    assert page.locator("#conversations-link").count() == 0  # not a marketplace run
    page.wait_for_selector("#series[data-ready=chart]")
    # the cumulative welfare curve ends at the run's welfare; a theory line is drawn beside it
    assert page.locator("#series-chart path.series").count() == 1
    assert page.locator("#series-chart path.theory").count() >= 1
    series = httpx.get(f"{server.url}/ui/api/runs/{logged['id']}/series").json()
    assert series["points"][-1][1] == pytest.approx(logged["metrics"]["welfare"])
    _shot(page, "run-series.png")
