"""Every attack of issue 13 replayed against a live ``agora serve`` on 127.0.0.1.

The server has secrets in its environment (``OPENAI_API_KEY``, its own
``AGORA_API_KEY``, ``HOME``), allows one LLM endpoint (``allowed_llm``) and one
key variable; the attacks aim at another loopback listener (``attacker``).
Each must get its 4xx, the attacker must receive nothing, and no file outside
the store may be created or read. A positive control shows the listeners do
record what a server sends, so "received nothing" is not vacuous.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import AGENT_SECRET, API_KEY, OPENAI_SECRET, wait_ended

PD = {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["alice", "bob"], "rounds": 3}
SECRETS = (OPENAI_SECRET, API_KEY, AGENT_SECRET)


def llm_scenario(**llm) -> dict:
    return {"name": "attack", "world": PD, "agents": {"default": "llm"}, "llm": {"model": "m", "cache": "off", **llm}}


def refused(response: httpx.Response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    for secret in SECRETS:
        assert secret not in response.text
    return body


def refusal(response: httpx.Response, path: str, setting: str) -> dict:
    """A 422 from the trust boundary naming ``path`` and the ``setting`` that would allow it."""
    body = refused(response)
    assert body["type"] == "urn:agora:problem:untrusted-scenario", body
    assert any(e["path"].endswith(path) and setting in e["setting"] for e in body["errors"]), body["errors"]
    return body


@pytest.fixture
def quiet(attacker, live):
    """The attacker's listener is empty after the test, and no run of the attack was stored."""
    before = len(attacker.requests)
    yield attacker
    assert attacker.requests[before:] == []


# --------------------------------------------------------------------------- secrets leaving the server


@pytest.mark.parametrize("key_env, setting", [
    ("OPENAI_API_KEY", "AGORA_LLM_KEY_ENVS"),
    ("AGORA_API_KEY", "AGORA_*"),  # listed in AGORA_LLM_KEY_ENVS on this server, refused anyway
    ("HOME", "AGORA_LLM_KEY_ENVS"),
])
def test_llm_endpoint_and_key_variables_are_refused(api, quiet, key_env, setting):
    response = api.post("/runs", json={"scenario": llm_scenario(base_url=quiet.url, api_key_env=key_env)})
    body = refusal(response, "llm.base_url", "AGORA_LLM_ENDPOINTS")
    assert any(e["path"] == "llm.api_key_env" and setting in e["setting"] for e in body["errors"]), body["errors"]


def test_the_same_as_overrides_on_a_shipped_file(api, quiet):
    overrides = ["agents.default=llm", f"llm.base_url={quiet.url}", "llm.api_key_env=OPENAI_API_KEY"]
    refusal(api.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["agents={default: llm}", *overrides[1:]]}),
            "llm.base_url", "AGORA_LLM_ENDPOINTS")


def test_per_seat_params_are_checked_too(api, quiet):
    scenario = {"name": "seat", "world": PD, "agents": {"alice": {"policy": "llm", "params": {
        "base_url": quiet.url, "api_key_env": "OPENAI_API_KEY"}}, "bob": "always_defect"}}
    body = refusal(api.post("/runs", json={"scenario": scenario}), "agents.alice.params.base_url", "AGORA_LLM_ENDPOINTS")
    assert any(e["path"] == "agents.alice.params.api_key_env" for e in body["errors"])


def test_an_llm_seat_on_the_default_endpoint_is_refused(api, quiet):
    scenario = {"name": "default", "world": PD, "agents": {"default": "llm"}}
    refusal(api.post("/runs", json={"scenario": scenario}), "agents.default", "AGORA_LLM_ENDPOINTS")


def test_a_sweep_point_cannot_set_the_endpoint(api, quiet, allowed_llm):
    scenario = llm_scenario(base_url=allowed_llm.url) | {"sweep": {"grid": {"llm.base_url": [allowed_llm.url, quiet.url]}}}
    body = refusal(api.post("/sweeps", json={"scenario": scenario}), "llm.base_url", "AGORA_LLM_ENDPOINTS")
    assert "sweep point" in body["errors"][0]["path"]


def test_positive_control_the_allowed_endpoint_gets_only_the_allowed_key(api, allowed_llm, attacker):
    """What the allowlists allow does reach its listener: the listeners record, and the key sent is the allowed one."""
    before = len(allowed_llm.requests)
    response = api.post("/runs", json={"scenario": llm_scenario(base_url=allowed_llm.url, api_key_env="AGENT_KEY", max_retries=0)})
    assert response.status_code == 202, response.text
    wait_ended(api, response.json()["id"])
    sent = allowed_llm.requests[before:]
    assert sent, "the allowed endpoint received nothing"
    assert {r["headers"].get("Authorization") for r in sent} == {f"Bearer {AGENT_SECRET}"}
    assert not any(secret in str(r) for r in sent for secret in (OPENAI_SECRET, API_KEY))


# --------------------------------------------------------------------------- files read and written


def test_prompt_files_outside_the_package_are_refused(api, quiet, allowed_llm):
    for part in ("system", "user"):
        scenario = llm_scenario(base_url=allowed_llm.url, **{f"{part}_template": "/etc/passwd"})
        refusal(api.post("/runs", json={"scenario": scenario}), f"llm.{part}_template", "prompts")


def test_a_packaged_prompt_by_name_is_allowed(api, allowed_llm):
    before = len(allowed_llm.requests)
    scenario = llm_scenario(base_url=allowed_llm.url, system_template="matrix_game.system.txt", max_retries=0)
    response = api.post("/runs", json={"scenario": scenario})
    assert response.status_code == 202, response.text
    wait_ended(api, response.json()["id"])
    sent = allowed_llm.requests[before:]
    assert sent and "root:" not in sent[0]["body"]


def test_cache_path_is_refused_and_creates_nothing(api, quiet, allowed_llm, live, tmp_path):
    targets = [tmp_path / "elsewhere" / "cache.db", live.db]  # anywhere, and a table inside the server's own store
    for target in targets:
        scenario = llm_scenario(base_url=allowed_llm.url, cache="record", cache_path=str(target))
        refusal(api.post("/runs", json={"scenario": scenario}), "llm.cache_path", "AGORA_API_LLM_CACHE")
    assert not (tmp_path / "elsewhere").exists()
    import sqlite3

    with sqlite3.connect(live.db) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not any("cache" in name for name in tables), tables


@pytest.mark.parametrize("data", ["/etc", "/", "../../../../etc", "..", "/root", "empty/../../../etc"])
def test_market_data_outside_the_root_is_refused_without_revealing_paths(api, quiet, data, data_root, store_dir):
    world = {"type": "marketplace", "data": data}
    body = refused(api.post("/runs", json={"scenario": {"name": "m", "world": world}}))
    text = str(body)
    assert "AGORA_DATA_ROOT" in text
    for secret_path in (str(data_root), str(store_dir), "/etc/", "passwd", "tried", os.getcwd()):
        assert secret_path not in text, (secret_path, text)


def test_market_data_yaml_fields_are_not_echoed(api, quiet, tmp_path):
    """A folder of YAML files outside the root (like the issue's probe): refused before anything is read."""
    probe = tmp_path / "probe"
    (probe / "customers").mkdir(parents=True)
    (probe / "businesses").mkdir()
    (probe / "customers" / "c.yaml").write_text("secret_field: the-secret-value\n")
    body = refused(api.post("/runs", json={"scenario": {"name": "m", "world": {"type": "marketplace", "data": str(probe)}}}))
    assert "the-secret-value" not in str(body) and "secret_field" not in str(body)


def test_market_data_under_the_root_works_and_names_no_server_path(api, data_root):
    world = {"type": "marketplace", "data": "empty"}  # exists under AGORA_DATA_ROOT, but has no customers/
    body = refused(api.post("/runs", json={"scenario": {"name": "m", "world": world}}))
    assert str(data_root) not in str(body) and "customers" in str(body)
    shipped = api.post("/runs", json={"file": "marketplace_small", "overrides": ["run.max_time=5"]})
    assert shipped.status_code == 202, shipped.text  # the shipped data is always allowed


# --------------------------------------------------------------------------- one request taking the machine


def test_alias_bomb_in_an_override_is_refused_and_not_stored(api, quiet):
    bomb = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
            "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
            "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]")
    before = len(api.get("/runs", params={"limit": 200}).json()["items"])
    body = refused(api.post("/runs", json={"file": "prisoners_dilemma", "overrides": [f"description={{{bomb.replace(chr(10), ', ')}}}"]}))
    assert "nodes" in body["detail"] or "alias" in body["detail"], body
    assert len(api.get("/runs", params={"limit": 200}).json()["items"]) == before


def test_oversized_overrides_are_refused(api, quiet):
    refusal(api.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["description=" + "x" * 60_000]}),
            "overrides", "AGORA_MAX_OVERRIDES")


@pytest.mark.parametrize("override, path, setting", [
    ("world.players=1000000000", "world.players", "AGORA_MAX_AGENTS"),
    ("world.rounds=10000000", "world.rounds", "AGORA_MAX_ROUNDS"),
])
def test_huge_counts_are_refused(api, quiet, override, path, setting):
    file = "public_goods_simultaneous" if "players" in override else "prisoners_dilemma"
    refusal(api.post("/runs", json={"file": file, "overrides": [override]}), path, setting)


def test_a_huge_synthetic_market_is_refused(api, quiet):
    world = {"type": "marketplace", "synthetic": {"customers": 100_000, "businesses": 100_000}}
    body = refused(api.post("/runs", json={"scenario": {"name": "big", "world": world}}))
    assert "AGORA_MAX_AGENTS" in str(body) or "at most" in body["detail"]


def test_sweep_workers_and_a_huge_grid_are_refused(api, quiet):
    sweep = {"name": "s", "world": PD, "sweep": {"grid": {"world.rounds": [1, 2]}}}
    refusal(api.post("/sweeps", json={"scenario": sweep, "workers": 32}), "body.workers", "AGORA_API_WORKERS")
    huge = {"name": "s", "world": PD, "sweep": {"grid": {"world.rounds": list(range(1, 1001)), "world.continuation": [
        round(0.5 + i / 2002, 6) for i in range(1000)]}}}
    refusal(api.post("/sweeps", json={"scenario": huge}), "sweep", "AGORA_MAX_CELLS")


# --------------------------------------------------------------------------- server errors and hygiene


def test_a_huge_seed_is_a_422_not_a_500(api, quiet):
    body = refused(api.post("/runs", json={"scenario": {"name": "s", "seed": 10**30, "world": PD}}))
    assert "64 bits" in body["detail"] or any(e["path"] == "seed" for e in body["errors"]), body
    refused(api.post("/runs", json={"file": "prisoners_dilemma", "seed": 10**30}))
    for seed in (2**64 - 1, 2**63):  # within 64 bits, beyond what the store holds
        refused(api.post("/runs", json={"scenario": {"name": "s", "seed": seed, "world": PD}}))
    assert api.post("/runs", json={"scenario": {"name": "s", "seed": 2**63 - 1, "world": PD}}).status_code == 202


@pytest.mark.parametrize("game", [
    "A: [[.nan, 0], [0, 1]]\nB: [[1, 0], [0, 2]]\n",
    {"A": [[1e309, 0], [0, 1]], "B": [[1, 0], [0, 2]]},
])
def test_non_finite_numbers_in_a_game_are_422(api, quiet, game):
    if isinstance(game, dict):  # JSON has no infinity: send the text Python's json writes for it
        import json

        response = api.post("/solve", content=json.dumps({"game": game}), headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422), response.text
        return
    refused(api.post("/solve", json={"game": game}))


def test_non_finite_numbers_in_a_scenario_are_422(api, quiet):
    refused(api.post("/runs", json={"scenario": "name: n\nworld: {type: matrix_game, game: prisoners_dilemma, "
                                                  "players: [a, b], rounds: 2, continuation: .nan}\n"}))
    refused(api.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["world.continuation=.inf"]}))


def test_a_foreign_host_header_is_refused(live, quiet):
    for host in ("attacker.example", "attacker.example:80", "127.0.0.1.attacker.example"):
        response = httpx.get(f"{live.url}/health", headers={"Host": host})
        body = refused(response, 400)
        assert body["type"] == "urn:agora:problem:host-not-allowed" and "AGORA_API_ALLOWED_HOSTS" in body["detail"]
    assert httpx.get(f"{live.url}/health", headers={"Host": f"localhost:{live.port}"}).status_code == 200


def test_no_file_outside_the_store_was_created(live, store_dir):
    """The store folder holds the store, its WAL files, the server's LLM cache and the log; nothing else anywhere we
    pointed an attack at (checked in the tests above)."""
    names = {p.name for p in Path(store_dir).iterdir()}
    allowed = {"agora.db", "agora.db-wal", "agora.db-shm", "agora.serve.log", "agora.db.llm-cache.db",
               "agora.db.llm-cache.db-wal", "agora.db.llm-cache.db-shm"}
    assert names <= allowed, names - allowed


def test_a_client_leaving_a_stream_is_not_an_error(api, live):
    run = api.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["world.rounds=100000", "world.continuation=1"]}).json()
    for _ in range(3):  # three clients in a row, each leaving mid-stream
        with api.stream("GET", f"/runs/{run['id']}/stream") as stream:
            for i, _ in enumerate(stream.iter_lines()):
                if i > 5:
                    break  # leave mid-stream
    wait_ended(api, run["id"])
    log = live.log.read_text(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log and "socket.send() raised" not in log, log[-3000:]


def test_no_attack_caused_a_server_error(live):
    """Run last in this file: every attack above was answered without a 500 or a logged traceback."""
    log = live.log.read_text(errors="replace")
    assert "Traceback" not in log and "unhandled error" not in log and " 500 " not in log, log[-3000:]


# --------------------------------------------------------------------------- policy files


def learned_seat(path: str) -> dict:
    pg = {"type": "public_goods", "players": 2, "rounds": 2}
    return {"scenario": {"name": "attack", "world": pg, "agents": {"p0": {"policy": "learned", "params": {"path": path}}}}}


@pytest.mark.parametrize("path", ["/etc/passwd", "/nonexistent/q.npz", "../../etc/passwd", "absent/q.npz", "{root}/../outside.npz"])
def test_a_policy_file_outside_the_data_root_is_refused_alike_whether_or_not_it_exists(api, quiet, data_root, path):
    """A learned policy reads the file it names: from the API only under AGORA_DATA_ROOT, and the answer is
    the same for a file that exists (/etc/passwd) and one that does not; it names no server folder."""
    path = path.format(root=data_root)
    body = refused(api.post("/runs", json=learned_seat(path)))
    errors = body["errors"]
    assert [e["path"] for e in errors] == ["agents.p0.params.path"], errors
    assert errors[0]["message"].replace(repr(path), "P") == (
        "Value error, policy file P is not a file under the server's data root; allowed: a relative path "
        "to a file under AGORA_DATA_ROOT (a server setting) (got P)"), errors
    assert str(data_root) not in str(errors).replace(path, "P") and "root:" not in str(body)


def test_a_policy_file_under_the_data_root_is_resolved_there(api, data_root):
    """Under the root the file is found (relative to the root) and read by the policy itself: here it is not a
    policy file, which the policy reports, naming only the relative path the client gave."""
    (data_root / "policies").mkdir(exist_ok=True)
    (data_root / "policies" / "q.npz").write_bytes(b"not an npz")
    body = refused(api.post("/runs", json=learned_seat("policies/q.npz")))
    assert body["type"] == "urn:agora:problem:invalid-scenario"
    assert "not a policy file" in str(body["errors"]), body["errors"]
