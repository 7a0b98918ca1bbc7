"""The web router in-process (FastAPI's TestClient): public shell, static files, keyed data helpers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from simulator.worlds.marketplace.data import generate
from simulator.run import stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store

MARKET = """\
name: tiny_market
seed: 1
world:
  type: marketplace
  synthetic: {domain: contractors, customers: 3, businesses: 4, seed: 9}
  deadline: 20
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("web-routes") / "agora.db"
    ids = {}
    with Store(db) as store:
        for name, text, overrides in [("market", MARKET, [("world.synthetic.customers", 2)]),
                                      ("pd", "name: pd\nworld: {type: matrix_game, game: prisoners_dilemma, players: [a, b], rounds: 5}\n", [])]:
            scenario = load_scenario_text(text, name, overrides)
            ids[name], _ = stored_run(scenario, text, store, overrides=overrides)
    return db, ids


@pytest.fixture(scope="module")
def client(stored):
    db, _ = stored
    with TestClient(create_app(Settings(db=db), start_pool=False)) as c:
        yield c


@pytest.fixture(scope="module")
def keyed(stored):
    db, _ = stored
    with TestClient(create_app(Settings(db=db, api_key="k3y"), start_pool=False)) as c:
        yield c


def test_shell_is_public_html_with_a_strict_policy(keyed):
    for path in ["/", "/ui", "/ui/new", "/ui/runs/abc", "/ui/runs/abc/conversations/customer_0001", "/ui/sweeps/x"]:
        response = keyed.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert '<script src="/ui/static/app.js?v=' in response.text
    js = keyed.get("/ui/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert keyed.get("/ui/static/style.css").headers["content-type"].startswith("text/css")
    assert keyed.get("/ui/static/..%2Fsettings.py").status_code == 404
    assert keyed.get("/ui/static/nope.js").status_code == 404
    assert keyed.get("/ui/api/nothing").headers["content-type"] == "application/problem+json"


def test_data_helpers_need_the_key(keyed, stored):
    _, ids = stored
    for path in [f"/ui/api/runs/{ids['pd']}/details", f"/ui/api/runs/{ids['market']}/market"]:
        assert keyed.get(path).status_code == 401
        assert keyed.get(path, headers={"Authorization": "Bearer k3y"}).status_code == 200


def test_pages_stay_out_of_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui")]


def test_details_give_validated_parameters_with_defaults_and_overrides(client, stored):
    _, ids = stored
    body = client.get(f"/ui/api/runs/{ids['pd']}/details").json()
    assert body["parameters"]["world"]["rounds"] == 5 and body["parameters"]["world"]["type"] == "matrix_game"
    assert "continuation" in body["parameters"]["world"]  # a default the scenario text does not set
    market = client.get(f"/ui/api/runs/{ids['market']}/details").json()["parameters"]
    assert market["world"]["synthetic"]["customers"] == 2 and market["overrides"] == [["world.synthetic.customers", 2]]
    assert client.get("/ui/api/runs/doesnotexist/details").status_code == 404


def test_market_names_come_from_the_runs_own_market(client, stored):
    _, ids = stored
    body = client.get(f"/ui/api/runs/{ids['market']}/market").json()
    expected = generate("contractors", 2, 4, 9)  # the override set customers to 2
    assert [c["name"] for c in body["customers"]] == [c.name for c in expected.customers]
    assert [b["name"] for b in body["businesses"]] == [b.name for b in expected.businesses]
    assert body["customers"][0]["items"] == dict(expected.customers[0].menu_features)
    problem = client.get(f"/ui/api/runs/{ids['pd']}/market")
    assert problem.status_code == 409 and "marketplace" in problem.json()["detail"]
