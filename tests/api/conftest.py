"""Fixtures for the API tests: an in-process app (TestClient) and a real ``agora serve`` on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import SHIPPED_SCENARIOS, Settings

AGORA = str(Path(sys.executable).with_name("agora"))
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


def wait_until_ended(client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {timeout}s: {run}")


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
    app = create_app(Settings(db=db_path, api_workers=2, api_max_body=64 * 1024, api_cancel_grace=3.0))
    with TestClient(app) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``agora serve`` as a child process on a free loopback port."""

    def __init__(self, db: Path, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.db, self.workers, self.extra_env = db, workers, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = db.with_suffix(f".{self.port}.log")

    def start(self, timeout: float = 30) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
        env |= {"AGORA_DB": str(self.db)} | self.extra_env
        self.process = subprocess.Popen(
            [AGORA, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"agora serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"agora serve did not answer within {timeout}s:\n{self.log.read_text()}")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("server") / "agora.db").start()
    try:
        yield server
    finally:
        server.stop()
