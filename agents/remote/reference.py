"""A reference remote agent that knows nothing but the wire format: the simplest valid action of any schema.

It reads the request's ``action.schema`` (JSON Schema) and answers the least
action it allows: for a choice of kinds the first kind in the order of
``PREFERRED`` (waiting, fetching, finishing) or else the first one offered,
every required field at its smallest allowed value (the first enum value, the
minimum of a number, an empty string or list). It is a baseline to check the
wiring of a scenario against, not a player: ``python -m agents.remote.reference
--port 9000`` serves it on 127.0.0.1, and the policy-contract test seats it in
every world (``shared_url``).
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFERRED = ("wait", "fetch_messages", "finish")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].split("/")[-1]]
    return node


def _kind_of(node: dict[str, Any], defs: dict[str, Any]) -> str | None:
    kind = _resolve(node, defs).get("properties", {}).get("kind", {})
    return kind.get("const", (kind.get("enum") or [None])[0])


def least(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The simplest value the schema node allows."""
    node = _resolve(node, defs)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    options = node.get("oneOf") or node.get("anyOf")
    if options:
        ranked = sorted(options, key=lambda o: PREFERRED.index(k) if (k := _kind_of(o, defs)) in PREFERRED else len(PREFERRED))
        return least(ranked[0], defs)
    kind = node.get("type")
    if kind == "object":
        return {name: least(prop, defs) for name, prop in node.get("properties", {}).items() if name in node.get("required", [])}
    if kind == "array":
        return [least(node.get("items", {}), defs) for _ in range(node.get("minItems", 0))]
    if kind in ("number", "integer"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        value = low + (1 if "exclusiveMinimum" in node and "minimum" not in node else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "string":
        return "x" * node.get("minLength", 0)
    return None


def answer(request: dict[str, Any]) -> dict[str, Any]:
    schema = request["action"]["schema"]
    return {"v": 1, "action": least(schema, schema.get("$defs", {})), "reason": "the least valid action"}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps(answer(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default 5 drops same-time connects (each then waits a 1 s SYN retry)
    daemon_threads = True


def serve(port: int = 0) -> ThreadingHTTPServer:
    """Start the agent on 127.0.0.1:``port`` (0: any free port) in a daemon thread; ``server_address`` says where."""
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="agora-remote-reference", daemon=True).start()
    return server


_shared: list[ThreadingHTTPServer] = []
_lock = threading.Lock()


def shared_url() -> str:
    """The URL of this process's one reference agent, started on first use."""
    with _lock:
        if not _shared:
            _shared.append(serve())
        host, port = _shared[0].server_address[:2]
        return f"http://{host}:{port}/act"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"reference remote agent on http://127.0.0.1:{args.port}/act", flush=True)
    server.serve_forever()
