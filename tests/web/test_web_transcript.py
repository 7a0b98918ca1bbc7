"""The web run page's per-agent LLM transcript, in headless Chromium against a real ``agora serve`` on 127.0.0.1.

The LLM run is made against the loopback stub server (tests/llm/stub_server.py) and stored in the
server's own database; what the page shows is checked against the store's transcript.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from simulator.run import stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
from stub_server import StubServer  # noqa: E402


def pd_llm(base_url: str) -> str:
    return yaml.safe_dump({
        "name": "pd_llm_web",
        "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["alice", "bob"], "rounds": 4},
        "agents": {"default": "llm"},
        "llm": {"base_url": base_url, "model": "stub", "cache": "off", "backoff_base": 0.001},
    })


def test_the_run_page_links_to_each_agents_llm_exchanges(server, page, tmp_path):
    with StubServer(malformed_rate=0.4) as stub:
        text = pd_llm(stub.base_url)
        with Store(server.db) as store:
            run_id, result = stored_run(load_scenario_text(text), text, store, seed=6)
            rows = {agent: store.transcript(run_id, agent=agent) for agent in ("alice", "bob")}
    c = result.counters
    assert c["llm_parse_errors"] > 0  # some replies were broken: the page must show those too

    page.goto(f"{server.url}/ui/runs/{run_id}")
    page.wait_for_selector("body[data-ready=run]", timeout=90_000)  # the first page load imports the scenario code: slow under load
    assert page.locator("h1 .badge").inner_text() == result.status
    own = c["llm_decisions"] - c["llm_failed"]
    assert page.locator("#llm-own").inner_text() == f"{own} of {c['llm_decisions']} the model's own"
    if result.status == "degraded":
        assert "fell back" in page.locator("#stop-reason").inner_text()
    page.click("#transcript-link")
    page.wait_for_selector("body[data-ready=transcript]")
    assert page.locator("#agents li").count() == 2
    for agent in ("alice", "bob"):
        page.click(f"#agents li a:text-is('{agent}')")
        page.wait_for_selector(f"body[data-ready=transcript] h2:has-text('{agent}')")
        entries = page.locator("#exchanges > li")
        assert entries.count() == len(rows[agent])
        failed = [r for r in rows[agent] if r["error"]]
        assert page.locator("#exchanges > li.rejected").count() == len(failed)
        first = rows[agent][0]
        assert entries.nth(0).locator("pre.reply").inner_text() == first["reply"]
        assert entries.nth(0).locator("summary").inner_text() == f"{len(first['messages'])} messages sent"
    page.locator("#exchanges > li details").first.click()  # the messages sent, opened
    page.screenshot(path=str(tmp_path / "llm-transcript.png"), full_page=False)
    assert (tmp_path / "llm-transcript.png").stat().st_size > 10_000
