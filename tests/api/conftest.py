"""Fixtures for the API tests: an in-process app (TestClient) and a real ``agora serve`` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import SHIPPED_SCENARIOS, Settings
from tests.serve import AGORA, Server, free_port, wait_until_ended  # noqa: F401  (re-exported for the tests)

SCENARIO_FILES = sorted(SHIPPED_SCENARIOS.glob("*.yaml"))


def _one_per_world() -> dict[str, Path]:
    """For each world that ships a scenario, one that needs no LLM server: a *small* one if there is, else the shortest."""
    chosen: dict[str, Path] = {}
    for path in sorted(SCENARIO_FILES, key=lambda p: ("small" not in p.stem, p.stat().st_size, p.name)):
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict) or data.get("llm") or not isinstance(data.get("world"), dict):
            continue
        chosen.setdefault(str(data["world"].get("type")), path)
    return dict(sorted(chosen.items()))


WORLD_SCENARIOS = _one_per_world()
# Keep every shipped scenario quick: stop each run at simulated time 50.
SMALL = ["run.max_time=50"]




def read_sse(lines) -> list[tuple[str, dict]]:
    """(event name, data) pairs from an SSE line iterator."""
    import json

    out, name, data = [], None, []
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and data:
            out.append((name or "message", json.loads("\n".join(data))))
            name, data = None, []
    return out


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("api") / "agora.db"


@pytest.fixture(scope="module")
def client(db_path) -> Iterator[TestClient]:
    """The app in-process with a 2-worker pool (its lifespan runs: pool started and stopped)."""
    # max_rounds raised: the long runs these tests cancel have 10,000,000 rounds (the API's default limit is 100,000).
    app = create_app(Settings(db=db_path, api_workers=2, api_max_body=64 * 1024, api_cancel_grace=3.0, max_rounds=10**7))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("server") / "agora.db").start()
    try:
        yield server
    finally:
        server.stop()
