"""One error base (simulator/errors.py): every module error has a meaning, mapped to HTTP and exit codes once."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import agents
import api
import simulator
from api import errors as api_errors
from simulator.errors import AgoraError, InvalidInput, LimitExceeded, NotFound, Stopped, exit_code

ROOT = Path(__file__).resolve().parents[1]

# Exception classes that are not errors a user meets, with why.
INTERNAL = {
    "simulator.engine.SchedulingError": "a world scheduling in the past: a bug in the world, raised to its author",
    "simulator.engine.EmptySchedule": "fire_next() on an empty engine: a bug in the caller",
    "simulator.engine.StopSimulation": "the engine's own stop signal, never leaves Engine._run",
    "agents.llm.structured.ParseFailure": "a model answer that does not parse: counted as a fallback, never raised out of a run",
    "agents.remote.wire.InvalidReply": "a remote agent's reply that is not a valid action: counted as a fallback, never raised out of a run",
    "agents.llm.http.ConnectFailed": "the chat client's transport failure: classified by ChatClient.complete (connection), never raised out of a run",
    "agents.llm.http.ConnectTimeout": "the chat client's transport failure: classified by ChatClient.complete (timeout), never raised out of a run",
    "agents.llm.http.Disconnected": "the chat client's transport failure: classified by ChatClient.complete (connection), never raised out of a run",
    "agents.llm.http.MalformedReply": "the chat client's transport failure: classified by ChatClient.complete (connection), never raised out of a run",
    "api.errors.ProblemException": "the API's own answer, already an HTTP problem",
    "api.middleware.BodyTooLarge": "an HTTPException (413) from the body-size middleware",
    "api.worker.QueueFull": "answered 503 with Retry-After by the routes that submit",
    "api.solver.SolveTimeout": "answered 422 by POST /solve with advice",
    "api.solver.SolverBusy": "answered 503 with Retry-After by POST /solve",
    "api.solver.SolverFault": "a crashed solver process: a server fault",
    "api.trust.Untrusted": "answered 422 untrusted-scenario with the setting to change",
}


def modules():
    for package in (simulator, agents, api):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".tests" not in info.name and not info.name.endswith("__main__"):
                yield info.name


def agora_exception_classes():
    found = {}
    for name in modules():
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional extra (dask, psycopg, playwright...) not installed here
            continue
        for cls_name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == name and not cls_name.startswith("_"):
                found[f"{name}.{cls_name}"] = cls
    return found


def test_every_error_agora_defines_is_an_agora_error_or_listed_as_internal():
    classes = agora_exception_classes()
    assert len(classes) > 15  # the walk found the modules
    strays = sorted(name for name, cls in classes.items() if not issubclass(cls, AgoraError) and name not in INTERNAL)
    assert strays == [], f"exception classes on no simulator.errors base: {strays}"
    assert sorted(set(INTERNAL) - set(classes)) == []  # the list names classes that exist


@pytest.mark.parametrize("dotted, meaning", [
    ("simulator.parsing.ScenarioError", InvalidInput),
    ("simulator.scenario.ScenarioError", InvalidInput),
    ("simulator.store.StoreError", InvalidInput),
    ("simulator.store.RunNotFound", NotFound),
    ("simulator.store.SweepNotFound", NotFound),
    ("simulator.plots.PlotNotFound", NotFound),
    ("simulator.worlds.marketplace.data.MarketDataError", InvalidInput),
    ("agents.learned.PolicyFileError", InvalidInput),
    ("agents.llm.cache.LLMSettingsError", InvalidInput),
    ("agents.llm.session.EndpointDown", Stopped),
    ("simulator.run.RunStopped", Stopped),
    ("api.worker.LimitExceeded", LimitExceeded),
])
def test_module_errors_keep_their_names_and_have_a_meaning(dotted, meaning):
    module, name = dotted.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, meaning) and issubclass(cls, AgoraError)


def test_meanings_are_also_the_builtin_exceptions_old_callers_catch():
    assert issubclass(InvalidInput, ValueError) and issubclass(NotFound, LookupError)
    from simulator.store import RunNotFound

    assert not issubclass(RunNotFound, KeyError)  # a missing dict key is not a missing run
    assert str(RunNotFound("r1")) == "no run 'r1' in the store"


def test_stopped_errors_survive_pickling_across_processes():
    for error in (Stopped("cancelled", "by the user"), LimitExceeded("ran too long")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and (back.status, back.reason, str(back)) == (error.status, error.reason, error.reason)
    assert LimitExceeded("x").status == "limit_exceeded"


def test_exit_codes_are_todays():
    from agents.llm.cache import LLMCacheMiss, LLMSettingsError
    from simulator.parsing import Problem, ScenarioError
    from simulator.store import RunNotFound, StoreError

    scenario_error = ScenarioError([Problem("f.yaml", 1, 1, "world", "bad")])
    assert [exit_code(e) for e in (scenario_error, StoreError("x"), RunNotFound("r"), LLMSettingsError("no key"))] == [2, 2, 2, 2]
    assert [exit_code(e) for e in (LLMCacheMiss("miss"), RuntimeError("bug"), Stopped("cancelled", "c"))] == [1, 1, 1]
    assert exit_code(Stopped("degraded", "too many fallbacks")) == 3
    assert [exit_code(status=s) for s in ("finished", "degraded", "failed", "limit_exceeded", "budget_exhausted")] == [0, 3, 1, 1, 1]


# --------------------------------------------------------------------------- HTTP, once, in api/errors.py


@pytest.fixture(scope="module")
def client():
    from agents.llm.cache import LLMError
    from simulator.store import RunNotFound, SweepNotFound
    from simulator.worlds.marketplace.data import MarketDataError

    app = FastAPI()
    api_errors.install(app)
    raising = {
        "run": RunNotFound("r1"), "sweep": SweepNotFound("s1"), "market": MarketDataError("c.yaml", "menu", "empty"),
        "limit": LimitExceeded("ran longer than 1 s"), "cancelled": Stopped("cancelled", "by the user"),
        "llm": LLMError("secret endpoint detail"), "plain": NotFound("no such thing"),
    }

    @app.get("/raise/{what}")
    def _raise(what: str):
        raise raising[what]

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("what, status, kind, detail", [
    ("run", 404, "run-not-found", "no run 'r1' in the store (see GET /runs)"),
    ("sweep", 404, "sweep-not-found", "no sweep 's1' in the store (see GET /sweeps)"),
    ("plain", 404, "not-found", "no such thing"),
    ("market", 422, "invalid-market-data", None),
    ("limit", 409, "limit-exceeded", "ran longer than 1 s"),
    ("cancelled", 409, "cancelled", "by the user"),
])
def test_each_meaning_has_one_http_status(client, what, status, kind, detail):
    response = client.get(f"/raise/{what}")
    body = response.json()
    assert response.status_code == status and response.headers["content-type"] == api_errors.PROBLEM_JSON
    assert body["type"] == f"urn:agora:problem:{kind}" and body["status"] == status and body["instance"] == f"/raise/{what}"
    if detail is not None:
        assert body["detail"] == detail
    else:
        assert "c.yaml" in body["detail"] and "menu" in body["detail"]


def test_an_agora_error_of_no_meaning_is_a_server_fault_that_leaks_nothing(client):
    response = client.get("/raise/llm")
    assert response.status_code == 500 and response.json()["type"] == "urn:agora:problem:internal-error"
    assert "secret" not in response.text


def test_the_real_app_answers_a_missing_run_by_meaning(tmp_path):
    from api.app import create_app
    from api.settings import Settings

    with TestClient(create_app(Settings(db=tmp_path / "agora.db"), start_pool=False), raise_server_exceptions=False) as test_client:
        response = test_client.get("/runs/doesnotexist")
    assert response.status_code == 404 and response.json()["detail"] == "no run 'doesnotexist' in the store (see GET /runs)"


def test_no_route_finds_a_404_by_catching_any_key_error():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "api").rglob("*.py") if "except KeyError" in path.read_text()]
    assert offenders == []
