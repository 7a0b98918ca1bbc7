"""The trust boundary for remote agents, against a live ``agora serve`` on 127.0.0.1.

An API scenario may seat a remote agent only at a URL the server allows
(``AGORA_REMOTE_ENDPOINTS``, compared exactly) and may name a token variable
only from ``AGORA_LLM_KEY_ENVS`` (never ``AGORA_*``); a refused scenario gets
one 422 naming the field and the setting, and the agent it named receives
nothing. The positive control shows the allowed agent does get requests, with
the allowed token. The CLI (the user's own file) may use any URL.
"""

from __future__ import annotations

import httpx
import pytest

from tests.remote.conftest import AgentServer, reply
from tests.serve import Server, wait_until_ended

TOKEN = "remote-agent-token"
SECRET = "server-secret-not-for-agents"
WORLD = {"type": "public_goods", "players": ["ann", "ben"], "endowment": 10, "step": 1, "multiplier": 1.5, "rounds": 2}


def give(request):
    return reply(request, {"contribution": 1})


@pytest.fixture(scope="module")
def agents():
    allowed, other = AgentServer(give), AgentServer(give)
    yield allowed, other
    allowed.stop()
    other.stop()


@pytest.fixture(scope="module")
def api(agents, tmp_path_factory):
    allowed, _ = agents
    env = {"AGORA_REMOTE_ENDPOINTS": allowed.url + "/", "AGORA_LLM_KEY_ENVS": "H4_REMOTE_TOKEN,AGORA_API_KEY",
           "H4_REMOTE_TOKEN": TOKEN, "H4_SERVER_SECRET": SECRET, "AGORA_API_KEY": SECRET}
    server = Server(tmp_path_factory.mktemp("store") / "agora.db", workers=1, env=env).start(timeout=120)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {SECRET}"}, timeout=120) as client:
        yield client
    server.stop()


def remote_scenario(url: str, **params) -> dict:
    return {"name": "remote_trust", "world": WORLD,
            "agents": {"default": {"policy": "remote", "params": {"url": url, "retries": 0, **params}}}}


def refusal(response: httpx.Response, path: str, setting: str) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "urn:agora:problem:untrusted-scenario", body
    assert any(e["path"].endswith(path) and setting in e["setting"] for e in body["errors"]), body["errors"]
    return body


@pytest.mark.parametrize("url_of", [
    lambda allowed, other: other.url,                         # another loopback agent
    lambda allowed, other: allowed.url + "?next=" + other.url,  # the allowed one, as a prefix
    lambda allowed, other: allowed.url.replace("127.0.0.1", "localhost"),  # the same host under another name
])
def test_the_api_refuses_a_remote_url_not_on_the_allow_list(api, agents, url_of):
    allowed, other = agents
    before = (len(allowed.requests), len(other.requests))
    body = refusal(api.post("/runs", json={"scenario": remote_scenario(url_of(allowed, other))}),
                   "agents.default.params.url", "AGORA_REMOTE_ENDPOINTS")
    assert "is not allowed" in body["errors"][0]["message"]
    assert (len(allowed.requests), len(other.requests)) == before  # nobody was called


def test_a_sweep_cannot_point_a_remote_seat_elsewhere(api, agents):
    allowed, other = agents
    scenario = remote_scenario(allowed.url) | {"sweep": {"grid": {"agents.default.params.url": [allowed.url, other.url]}}}
    refusal(api.post("/sweeps", json={"scenario": scenario}), "params.url", "AGORA_REMOTE_ENDPOINTS")
    assert other.requests == []


@pytest.mark.parametrize("variable", ["H4_SERVER_SECRET", "AGORA_API_KEY"])
def test_the_api_refuses_a_token_variable_it_does_not_allow(api, agents, variable):
    allowed, _ = agents
    before = len(allowed.requests)
    refusal(api.post("/runs", json={"scenario": remote_scenario(allowed.url, headers_env=variable)}),
            "agents.default.params.headers_env", "AGORA_LLM_KEY_ENVS")
    assert len(allowed.requests) == before


def test_positive_control_the_allowed_agent_plays_with_the_allowed_token(api, agents):
    allowed, other = agents
    before = len(allowed.requests)
    response = api.post("/runs", json={"scenario": remote_scenario(allowed.url, headers_env="H4_REMOTE_TOKEN")})
    assert response.status_code == 202, response.text
    run = wait_until_ended(api, response.json()["id"], timeout=120)
    assert run["status"] == "finished", run
    sent = allowed.headers[before:]
    assert len(sent) == 4 and {h.get("Authorization") for h in sent} == {f"Bearer {TOKEN}"}
    assert not any(SECRET in str(r) for r in allowed.requests + allowed.headers)
    assert other.requests == []
    page = api.get(f"/runs/{run['id']}/transcript").json()  # the exchanges, as the API serves LLM transcripts
    assert page["agents"] == {"ann": 2, "ben": 2}
    assert all(row["policy"] == "remote" and row["action"] == {"contribution": 1.0} for row in page["items"])
    assert TOKEN not in str(page)
