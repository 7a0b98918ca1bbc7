"""Fixtures for the security tests: a recording loopback listener and a live ``agora serve``.

The listener is a tiny HTTP server on 127.0.0.1 that answers every request
with a minimal chat-completions reply and records what it received (path and
headers), so a test can show that an attack made the server send nothing.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.serve import Server
from tests.serve import wait_until_ended as wait_ended  # noqa: F401  (used by the tests)

OPENAI_SECRET = "sk-server-secret-openai"
AGENT_SECRET = "agent-key-allowed"
API_KEY = "server-api-key"


class Listener:
    """``http://127.0.0.1:<port>/v1``: records each request's method, path and headers."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                listener.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": body.decode("utf-8", "replace")})
                reply = json.dumps({"id": "x", "object": "chat.completion", "model": "m", "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = _record

            def log_message(self, *args) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Listener":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def attacker():
    """Where the attacks try to send things: in no allowlist."""
    with Listener() as listener:
        yield listener


@pytest.fixture(scope="session")
def allowed_llm():
    """An LLM endpoint the server allows (AGORA_LLM_ENDPOINTS): the positive control."""
    with Listener() as listener:
        yield listener


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data_root")
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="session")
def live(store_dir, data_root, allowed_llm, tmp_path_factory):
    """``agora serve`` with secrets in its environment, an API key, one allowed endpoint and key variable."""
    env = {
        "OPENAI_API_KEY": OPENAI_SECRET, "AGENT_KEY": AGENT_SECRET, "AGORA_API_KEY": API_KEY,
        "AGORA_LLM_ENDPOINTS": allowed_llm.url, "AGORA_LLM_KEY_ENVS": "AGENT_KEY,AGORA_API_KEY",
        "AGORA_DATA_ROOT": str(data_root), "HOME": str(tmp_path_factory.mktemp("home")),
    }
    server = Server(store_dir / "agora.db", workers=2, env=env).start(timeout=60)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api(live):
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as client:
        yield client




def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc/<pid>/task/*/children)."""
    found, stack = set(), [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
