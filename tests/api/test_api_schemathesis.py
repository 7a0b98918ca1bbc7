"""Property-based tests of every operation from the app's own OpenAPI schema (schemathesis).

Each generated request (valid and deliberately invalid ones) must get a response
that is not a 5xx and that conforms to the schema: documented status code,
content type, headers and body. At least 1,000 cases in all.

All of schemathesis' default checks run except ``positive_data_acceptance``:
a scenario is YAML text (or an object) whose fields depend on its world, so a
request can match the OpenAPI schema and still be an invalid scenario, which
is rightly a 422 problem with line and field.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.settings import Settings

EXAMPLES_PER_OPERATION = 60
MIN_CASES = 1000

_db = Path(tempfile.mkdtemp(prefix="agora-schemathesis-")) / "agora.db"
app = create_app(Settings(db=_db, api_workers=1, api_max_body=64 * 1024))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
cases: dict[str, int] = {}
replayed: dict[str, int] = {}


existing: dict[str, str] = {}  # a finished run, so that run operations also answer 200


@pytest.fixture(scope="module", autouse=True)
def running_app():
    with TestClient(app) as client:  # runs the lifespan: store recovery and the run pool
        run_id = client.post("/runs", json={"file": "prisoners_dilemma", "seed": 5}).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/runs/{run_id}").json()["status"] != "finished":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        existing["run_id"] = run_id
        yield
    shutil.rmtree(_db.parent, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_conforms(case):
    cases[case.operation.label] = cases.get(case.operation.label, 0) + 1
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
    if "run_id" in (case.path_parameters or {}):  # the same request about a run that exists
        case.path_parameters["run_id"] = existing["run_id"]
        replayed["run"] = replayed.get("run", 0) + 1
        # the case's record of which parts were generated invalid no longer holds: skip the two data checks
        case.call_and_validate(excluded_checks=[positive_data_acceptance, negative_data_rejection])


def test_enough_cases_over_all_operations():
    operations = {op.ok().label for op in schema.get_all_operations()}
    total = sum(cases.values())
    print(f"\nschemathesis: {total} generated cases over {len(operations)} operations "
          f"(+{replayed.get('run', 0)} replayed against an existing run): {dict(sorted(cases.items()))}")
    assert set(cases) == operations
    assert total >= MIN_CASES
