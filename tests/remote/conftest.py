"""A remote agent for the tests: a real HTTP server on 127.0.0.1 that answers Agora's v1 decision requests.

``AgentServer(decide)`` calls ``decide(request) -> reply`` for each POST (a
dict is sent as JSON, bytes as they are, an ``int`` as that HTTP status with
an error body, ``(status, headers)`` as that status with those headers) and records every request it received. ``stop()`` shuts it
down and frees the port, so the next request is refused: a server gone down.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

Reply = dict | bytes | int | tuple[int, dict[str, str]]


class Listener(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's 5 drops same-time connects (a 1 s SYN retry each)
    daemon_threads = True


class AgentServer:
    def __init__(self, decide: Callable[[dict[str, Any]], Reply]) -> None:
        self.decide = decide
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                reply = server.decide(body)  # outside the lock: concurrent requests are answered concurrently
                extra: dict[str, str] = {}
                if isinstance(reply, tuple):  # (status, headers): e.g. a redirect
                    (status, extra), data = reply, b"{}"
                elif isinstance(reply, int):
                    status, data = reply, b'{"error": "scripted failure"}'
                else:
                    status, data = 200, reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = Listener(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/act"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def agent_server():
    """A factory: ``agent_server(decide)`` starts a server, stopped after the test."""
    servers: list[AgentServer] = []

    def start(decide: Callable[[dict[str, Any]], Reply]) -> AgentServer:
        server = AgentServer(decide)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def reply(request: dict[str, Any], *actions: dict[str, Any]) -> dict[str, Any]:
    """A v1 reply in the request's shape: several actions for "several", the first for "choice"."""
    shape = request["action"]["shape"]
    if shape == "several":
        return {"v": 1, "action": {"actions": list(actions)}}
    if shape == "choice":
        return {"v": 1, "action": {"action": actions[0]}}
    return {"v": 1, "action": actions[0]}
