"""Bad input gets a clear RFC 9457 problem (application/problem+json) with the right status; no tracebacks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from simulator.store import Store

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if kind is not None:
        assert body["type"] == f"urn:agora:problem:{kind}"
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    settings = Settings(db=tmp_path_factory.mktemp("errors") / "agora.db", api_max_body=4096)
    with TestClient(create_app(settings, start_pool=False)) as c:
        yield c


def test_malformed_yaml_names_line_and_column(app_client):
    body = assert_problem(app_client.post("/runs", json={"scenario": "world:\n  type: matrix_game\n  players: [a, b\n"}), 422, "invalid-scenario")
    (error,) = body["errors"]
    assert error["line"] == 4 and "invalid YAML" in error["message"]
    assert "invalid YAML" in body["detail"]


def test_unknown_world_lists_the_allowed_worlds(app_client):
    body = assert_problem(app_client.post("/runs", json={"scenario": {"world": {"type": "chess"}}}), 422, "invalid-scenario")
    (error,) = body["errors"]
    assert error["path"] == "world.type"
    assert "unknown world 'chess'" in error["message"] and "matrix_game" in error["message"]


def test_field_errors_carry_paths_and_lines(app_client):
    text = "world:\n  type: matrix_game\n  game: prisoners_dilemma\n  rounds: -3\n  colour: red\n"
    body = assert_problem(app_client.post("/runs", json={"scenario": text}), 422)
    located = {e["path"]: e["line"] for e in body["errors"]}
    assert located == {"world.rounds": 4, "world.colour": 5}


def test_bad_override_is_reported_as_set(app_client):
    body = assert_problem(app_client.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["world.rounds=0"]}), 422)
    assert body["errors"][0]["file"] == "--set" and body["errors"][0]["path"] == "world.rounds"
    assert_problem(app_client.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["no equals sign"]}), 422)


def test_request_shape_errors(app_client):
    body = assert_problem(app_client.post("/runs", json={"file": "prisoners_dilemma", "seed": -1}), 422, "invalid-request")
    assert body["errors"][0]["path"] == "body.seed"
    assert_problem(app_client.post("/runs", json={}), 422, "invalid-request")  # neither scenario nor file
    assert_problem(app_client.post("/runs", json={"file": "x", "scenario": "y"}), 422)  # both
    assert_problem(app_client.post("/runs", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert_problem(app_client.get("/runs?limit=0"), 422)
    assert_problem(app_client.get("/runs?cursor=garbage!"), 422)


def test_unknown_things_are_404(app_client):
    assert_problem(app_client.get("/runs/doesnotexist"), 404, "run-not-found")
    assert_problem(app_client.get("/runs/doesnotexist/events"), 404, "run-not-found")
    assert_problem(app_client.get("/runs/doesnotexist/stream"), 404, "run-not-found")
    assert_problem(app_client.delete("/runs/doesnotexist"), 404, "run-not-found")
    assert_problem(app_client.get("/scenarios/nope"), 404, "scenario-not-found")
    assert_problem(app_client.post("/runs", json={"file": "nope"}), 404, "scenario-not-found")
    assert_problem(app_client.get("/no/such/route"), 404)
    assert_problem(app_client.put("/runs"), 405)


def test_oversized_body_is_413(app_client):
    big = {"scenario": "# " + "x" * 5000 + "\nworld: {type: matrix_game}\n"}
    assert_problem(app_client.post("/runs", json=big), 413, "body-too-large")

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 1000

    assert_problem(app_client.post("/scenarios/validate", content=chunks(), headers={"content-type": "application/json"}), 413)


def test_yaml_alias_bomb_is_refused(app_client):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(7)
    )
    body = assert_problem(app_client.post("/runs", json={"scenario": bomb}), 422)
    assert "expands to more than" in body["detail"]


def test_deeply_nested_yaml_is_a_problem_not_a_crash(app_client):
    body = assert_problem(app_client.post("/runs", json={"scenario": "[" * 3000}), 422)
    assert "nested too deeply" in body["detail"]
    checked = app_client.post("/scenarios/validate", json={"scenario": "[" * 3000}).json()
    assert checked["valid"] is False and "nested too deeply" in checked["problems"][0]["message"]


def test_server_fault_is_a_logged_500_without_traceback(tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Store, "list_runs", broken)  # what GET /runs reads, with or without sweep cells
    with TestClient(create_app(Settings(db=tmp_path / "a.db"), start_pool=False), raise_server_exceptions=False) as c:
        body = assert_problem(c.get("/runs"), 500, "internal-error")
    assert "secret internals" not in body["detail"] and "incident" in body["detail"]
    assert any("secret internals" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@pytest.fixture
def keyed(tmp_path):
    settings = Settings(db=tmp_path / "a.db", api_key="s3cret-key")
    with TestClient(create_app(settings, start_pool=False)) as c:
        yield c


def test_api_key_required_everywhere_but_health(keyed):
    assert keyed.get("/health").status_code == 200
    for method, path in [("GET", "/runs"), ("GET", "/runs/abc"), ("GET", "/scenarios"), ("POST", "/runs"), ("DELETE", "/runs/abc")]:
        body = assert_problem(keyed.request(method, path), 401, "unauthorized")
        assert "Authorization: Bearer" in body["detail"]
    response = keyed.get("/runs", headers={"Authorization": "Bearer wrong-key"})
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "not the server's AGORA_API_KEY" in body["detail"]
    assert_problem(keyed.get("/runs", headers={"Authorization": "Basic czNjcmV0LWtleQ=="}), 401)
    assert keyed.get("/runs", headers={"Authorization": "Bearer s3cret-key"}).status_code == 200


def test_key_is_compared_in_constant_time(monkeypatch, keyed):
    """The check goes through secrets.compare_digest on equal-length digests (no early exit on a prefix)."""
    import api.deps as deps

    calls = []
    real = deps.secrets.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(deps.secrets, "compare_digest", spy)
    keyed.get("/runs", headers={"Authorization": "Bearer s"})
    keyed.get("/runs", headers={"Authorization": "Bearer " + "s" * 500})
    assert calls == [(32, 32), (32, 32)]


def test_serve_reports_bad_settings_without_a_traceback():
    from typer.testing import CliRunner

    from simulator.cli import app as cli_app

    result = CliRunner().invoke(cli_app, ["serve", "--port", "0"], env={"AGORA_API_WORKERS": "lots"})
    assert result.exit_code == 2
    assert "AGORA_API_WORKERS" in result.output and "Traceback" not in result.output


def test_openapi_docs_are_served(app_client):
    assert app_client.get("/docs").status_code == 200
    schema = app_client.get("/openapi.json").json()
    assert {"/runs", "/runs/{run_id}/stream", "/solve", "/scenarios/validate"} <= set(schema["paths"])
    errors = schema["paths"]["/runs"]["post"]["responses"]
    assert errors["413"]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_a_full_queue_is_503_with_retry_after_and_stores_nothing(tmp_path):
    settings = Settings(db=tmp_path / "a.db", api_max_queue=1)
    with TestClient(create_app(settings, start_pool=False)) as c:  # no workers: the queue only fills
        assert c.post("/runs", json={"file": "prisoners_dilemma"}).status_code == 202
        response = c.post("/runs", json={"file": "prisoners_dilemma"})
        body = assert_problem(response, 503, "queue-full")
        assert response.headers["retry-after"] == "5" and "queue is full" in body["detail"]
        assert len(c.get("/runs").json()["items"]) == 1
