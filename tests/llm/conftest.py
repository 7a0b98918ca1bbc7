"""Fixtures for the LLM tests: a stub OpenAI-compatible server on 127.0.0.1 per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stub_server import StubServer  # noqa: E402


@pytest.fixture
def stub():
    """A factory: ``stub(latency=..., malformed_rate=...)`` starts a server, stopped after the test."""
    servers: list[StubServer] = []

    def start(**options) -> StubServer:
        server = StubServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
