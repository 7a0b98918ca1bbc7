"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

A real HTTP server (``http.server.ThreadingHTTPServer`` in a thread): clients
talk to it over TCP exactly as to a hosted API. By default it answers every
``POST /v1/chat/completions`` with a JSON object that conforms to the schema
in the request (``response_format``'s schema, else the first JSON Schema found
in the messages), choosing among allowed values by a hash of the messages
(and, when ``temperature`` > 0, of the request's sampling ``seed``, as a real
sampler would), so the same request always gets the same reply whatever the
timing. Knobs:

- ``latency``: seconds from a request's arrival to its answer (the standalone
  asyncio server works out the reply within that time, as a model server does);
- ``malformed_rate``: fraction of replies that are broken JSON (decided by a
  hash of the messages, so a re-ask gets a fresh draw);
- ``fail_statuses``: HTTP statuses returned, in order, to the first requests
  (e.g. ``[429, 500, 503]``); ``fail_every``: every k-th request fails with
  ``fail_status``; both send ``Retry-After: retry_after`` when it is set;
- ``responder``: a function ``body -> content`` (or ``-> {"content", "tool_calls"}``,
  tool calls as ``{"name", "arguments"}``) that replaces the default; the default
  answers a request with ``tools`` by calling one of them with valid arguments;
- ``context_limit``: prompts longer than this many tokens (characters / 4) get
  HTTP 400 with OpenAI's ``context_length_exceeded`` error;
- ``die_after``: after this many requests the server dies: it stops listening
  and drops every connection without answering, as a killed process would;
- ``api_key``: if set, requests without ``Authorization: Bearer <key>`` get 401.

Anthropic's Messages API is spoken too (``POST /v1/messages``): the request is
translated to the chat-completions shape for the responder and its answer back
to ``content`` blocks (``text``, ``tool_use``) with ``usage.input_tokens``.
Prompt tokens are counted as characters / 4 of the messages, tool calls and tools.

Every request's body, status, headers and arrival time are kept in
``requests`` / ``statuses`` / ``headers`` / ``times``; ``max_in_flight`` is the
most requests it held at once.
Run standalone (its own process, as a real server would be) with
``python tests/llm/stub_server.py --port 8099 --latency 0.1 [--responder module:function]``:
then it serves on one asyncio loop (httptools' parser; ``--threads`` for ``http.server``) and keeps
no requests, so hundreds of requests in flight cost it little (``bench/llm.py``'s peer must
not be what limits the benchmark).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import httptools
import orjson


def loads(raw: bytes | str) -> Any:
    """JSON text to a value: orjson (a request body is most of the stub's CPU per request), else ``json`` for what
    orjson refuses and ``json`` reads (integers beyond 64 bits, NaN)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _digest(value: Any, salt: str = "") -> int:
    text = json.dumps(value, sort_keys=True, separators=(",", ":")) + salt
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def find_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The action schema of a request: from ``response_format``, else the first JSON Schema in the messages."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["schema"]
    if fmt.get("schema"):
        return fmt["schema"]
    decoder = json.JSONDecoder()
    for message in body.get("messages", []):
        text = message.get("content") or ""
        for start in (i for i, ch in enumerate(text) if ch == "{"):
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            if isinstance(value, dict) and "properties" in value:
                return value
    return None


def instance(schema: dict[str, Any], h: int, defs: dict[str, Any] | None = None) -> Any:
    """A value valid under (a common subset of) JSON Schema, choosing by the integer ``h``."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], h, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][h % len(schema["enum"])]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return instance(options[h % len(options)], h // 7, defs)
    if "allOf" in schema:
        return instance(schema["allOf"][0], h, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: instance(sub, h // (i + 2) + i, defs) for i, (name, sub) in enumerate(schema.get("properties", {}).items())}
    if kind == "array":
        n = schema.get("minItems", 0)
        return [instance(schema.get("items", {}), h // (i + 3), defs) for i in range(n)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 10))
        if "exclusiveMinimum" in schema:
            low = low + (1 if kind == "integer" else 1e-6)
        if "exclusiveMaximum" in schema:
            high = high - (1 if kind == "integer" else 1e-6)
        step = schema.get("multipleOf")
        if step:
            first, last = math.ceil(low / step), math.floor(high / step)
            return (first + h % max(1, last - first + 1)) * step
        if kind == "integer":
            low, high = int(low), int(high)
            return low + h % max(1, high - low + 1)
        return round(low + (high - low) * ((h % 1000) / 999), 6)
    if kind == "boolean":
        return bool(h % 2)
    if kind == "null":
        return None
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    return None


def schema_reply(body: dict[str, Any]) -> str | dict[str, Any]:
    sampled = (body.get("temperature") or 0) > 0
    if body.get("tools"):  # call one of the tools offered, with valid arguments
        h = _digest(body.get("messages"), f"seed={body.get('seed')}" if sampled else "")
        tool = body["tools"][h % len(body["tools"])]["function"]
        return {"content": None, "tool_calls": [{"name": tool["name"], "arguments": json.dumps(instance(tool.get("parameters") or {}, h // 3))}]}
    schema = find_schema(body)
    if schema is None:
        return "I do not know what to answer."
    return json.dumps(instance(schema, _digest(body.get("messages"), f"seed={body.get('seed')}" if sampled else "")))


def _is_json(text: str) -> bool:
    try:
        json.loads(text or "{}")
    except ValueError:
        return False
    return True


def prompt_chars(body: dict[str, Any]) -> int:
    """Characters of what a model reads: message texts, earlier tool calls, and the tools offered."""
    chars = len(json.dumps(body.get("tools"), separators=(",", ":"))) if body.get("tools") else 0
    for m in body.get("messages", []):
        chars += len(m.get("content") or "")
        chars += sum(len(c["function"].get("arguments") or "") + len(c["function"].get("name") or "") for c in m.get("tool_calls") or [])
    return chars


def from_anthropic(body: dict[str, Any]) -> dict[str, Any]:
    """A Messages API request in the chat-completions shape (what the responders read)."""
    messages: list[dict[str, Any]] = []
    if body.get("system"):
        messages.append({"role": "system", "content": body["system"]})
    for m in body.get("messages", []):
        blocks = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        texts = [b["text"] for b in blocks if b.get("type") == "text"]
        if m["role"] == "assistant":
            calls = [{"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
                     for b in blocks if b.get("type") == "tool_use"]
            messages.append({"role": "assistant", "content": "".join(texts) or None, **({"tool_calls": calls} if calls else {})})
        else:
            for b in blocks:
                if b.get("type") == "tool_result":
                    messages.append({"role": "tool", "tool_call_id": b["tool_use_id"], "content": b.get("content") or ""})
            if texts:
                messages.append({"role": "user", "content": "\n".join(texts)})
    out = {"model": body.get("model"), "messages": messages, "max_tokens": body.get("max_tokens"), "anthropic": True}
    if "temperature" in body:
        out["temperature"] = body["temperature"]
    if body.get("tools"):
        out["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                          "parameters": t["input_schema"]}} for t in body["tools"]]
        out["parallel_tool_calls"] = not (body.get("tool_choice") or {}).get("disable_parallel_tool_use", False)
    return out


@dataclass
class _Admitted:
    """A request that passed the checks and now waits ``latency`` before it is answered."""

    index: int
    body: dict[str, Any]
    headers: dict[str, str]
    anthropic: bool


def _reason(status: int) -> str:
    """The reason phrase of a status line (529, Anthropic's "Overloaded", is not in the standard's list)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else "Unknown"


class _StubConnection(asyncio.Protocol):
    """One client connection of ``StubServer.serve_asyncio``: requests parsed by httptools, each answered after the latency."""

    def __init__(self, stub: "StubServer", live: set["_StubConnection"]) -> None:
        self.stub = stub
        self.live = live  # the server's open connections, closed when it stops
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.waiting: list[tuple[str, dict[str, str], bytes, bool]] = []  # parsed requests not yet answered, in order
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.live.add(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(400, {"error": {"message": "not an HTTP request"}}, {}, keep_alive=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.live.discard(self)

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url, self.headers, self.body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        path = self.url.decode("latin-1").partition("?")[0]
        self.waiting.append((path, self.headers, b"".join(self.body), self.parser.should_keep_alive()))
        if not self.busy:
            self._next()

    def _next(self) -> None:
        """Admit the oldest waiting request: answer it now (an error) or after the latency."""
        if not self.waiting or self.transport is None:
            self.busy = False
            return
        self.busy = True
        path, headers, raw, keep_alive = self.waiting.pop(0)
        arrived = self.stub._arrive(path, headers, raw)
        if not isinstance(arrived, _Admitted):
            self._finish(arrived, keep_alive)
        elif self.stub.latency:
            # The reply is worked out now and sent when the latency has passed since the request arrived, as a model
            # server computes while its client waits: the stub's own CPU (on the machine it shares with the client)
            # then overlaps the latency instead of queueing after it. A stub killed meanwhile still hangs up.
            answer = self.stub._respond(arrived)
            asyncio.get_running_loop().call_later(self.stub.latency, self._answer, answer, keep_alive)
        else:
            self._answer(self.stub._respond(arrived), keep_alive)

    def _answer(self, answer: "tuple[int, dict[str, Any], dict[str, str]] | None", keep_alive: bool) -> None:
        self.stub._leave()
        self._finish(None if self.stub._dead.is_set() else answer, keep_alive)

    def _finish(self, answer: "tuple[int, dict[str, Any], dict[str, str]] | None", keep_alive: bool) -> None:
        if answer is None:  # dead: hang up without a word
            if self.transport is not None:
                self.transport.close()
            return
        status, payload, extra = answer
        self._write(status, payload, extra, keep_alive)
        self._next()

    def _write(self, status: int, payload: dict[str, Any], extra: dict[str, str], keep_alive: bool) -> None:
        if self.transport is None:
            return
        data = orjson.dumps(payload)
        lines = [f"HTTP/1.1 {status} {_reason(status)}", "Content-Type: application/json",
                 f"Content-Length: {len(data)}", *(f"{name}: {value}" for name, value in extra.items())]
        if not keep_alive:
            lines.append("Connection: close")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        if not keep_alive:
            self.transport.close()
            self.transport = None


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # socketserver's default backlog of 5 drops SYNs when 32 clients connect at once


@dataclass
class StubServer:
    latency: float = 0.0
    malformed_rate: float = 0.0
    fail_statuses: list[int] = field(default_factory=list)
    fail_every: int = 0
    fail_status: int = 429
    retry_after: float | None = None
    responder: Callable[[dict[str, Any]], str] | None = None
    api_key: str | None = None
    context_limit: int | None = None
    die_after: int | None = None
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    replies: list[str | None] = field(default_factory=list)
    tool_calls: list[list[dict] | None] = field(default_factory=list)
    wire: list[dict[str, Any]] = field(default_factory=list)  # request bodies as sent (Anthropic's untranslated)
    max_in_flight: int = 0
    keep: bool = True  # keep every request, reply and status (tests read them); a long benchmark does not

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._in_flight = 0
        self._dead = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "StubServer":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                answer = stub._answer(self.path, dict(self.headers), raw)
                if answer is None:  # dead: hang up without a word
                    self.close_connection = True
                    return
                status, payload, extra = answer
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test): nobody to tell
                    self.close_connection = True

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="llm-stub", daemon=True)
        self._thread.start()
        return self

    def serve_asyncio(self) -> None:
        """Serve on an asyncio loop in this thread until SIGINT or SIGTERM (the standalone process's server).

        One thread, httptools' C request parser (llhttp) and a timer per request rather than a thread per
        connection (``http.server`` took about 2 ms of CPU per request at 256 in flight) or aiohttp's server
        (about 0.2 ms more per request than this): the benchmark's peer must not be what limits it.
        HTTP/1.1 keep-alive; a connection's requests are answered in order. ``die_after`` is not served
        here (a killed server is what the threaded one tests).
        """
        import signal

        asyncio.run(self._serve_forever(signal.SIGINT, signal.SIGTERM))

    async def _serve_forever(self, *signals: int) -> None:
        loop = asyncio.get_running_loop()
        stopped = loop.create_future()
        for number in signals:
            loop.add_signal_handler(number, lambda: stopped.done() or stopped.set_result(None))
        connections: set[_StubConnection] = set()
        server = await loop.create_server(lambda: _StubConnection(self, connections), "127.0.0.1", self.port, backlog=1024)
        await stopped
        server.close()
        for connection in list(connections):  # clients' idle keep-alive connections must not hold the exit up
            connection.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "StubServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ behaviour
    def _die(self) -> None:
        self._dead.set()
        server, self._server = self._server, None
        if server is not None:
            server.socket.close()  # stop listening now: new connections are refused (serve_forever shrugs off the closed socket)
            threading.Thread(target=server.shutdown, daemon=True).start()

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The status, JSON payload and extra headers of one request (None: hang up), after ``latency``."""
        arrived = self._arrive(path, headers, raw)
        if not isinstance(arrived, _Admitted):
            return arrived
        try:
            if self.latency:
                time.sleep(self.latency)
        finally:
            self._leave()
        return self._respond(arrived)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _arrive(self, path: str, headers: dict[str, str], raw: bytes) -> "tuple[int, dict[str, Any], dict[str, str]] | _Admitted | None":
        """Count and check a request: an answer now (an error, or None to hang up), or admitted to wait and be answered."""
        with self._lock:
            if self._dead.is_set() or (self.die_after is not None and self._count >= self.die_after):
                dying = not self._dead.is_set()
                self._dead.set()
            else:
                dying = None
            index = self._count
            self._count += 1
            if self.keep:
                self.times.append(time.monotonic())  # arrival times, in arrival order
        if dying is not None:
            if dying:
                self._die()
            return None
        try:
            body = loads(raw or b"{}")
        except ValueError:
            return self._record({}, headers, 400, {"error": {"message": "body is not JSON"}}, {})
        anthropic = path.rstrip("/").endswith("/messages")
        if self.keep:
            with self._lock:
                self.wire.append(body)
        if anthropic:
            body = from_anthropic(body)
        elif not path.rstrip("/").endswith("/chat/completions"):
            return self._record(body, headers, 404, {"error": {"message": f"no route {path}"}}, {})
        if self.api_key is not None and headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._record(body, headers, 401, {"error": {"message": "invalid API key"}}, {})
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        return _Admitted(index, body, headers, anthropic)

    def _respond(self, admitted: "_Admitted") -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The answer to an admitted request, once its latency has passed."""
        index, body, headers, anthropic = admitted.index, admitted.body, admitted.headers, admitted.anthropic
        if self._dead.is_set():  # killed while this request was in flight
            return None
        prompt_tokens = prompt_chars(body) // 4
        if self.context_limit is not None and prompt_tokens > self.context_limit:
            message = (f"This model's maximum context length is {self.context_limit} tokens. However, your messages "
                       f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages.")
            error = {"message": message, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}
            return self._record(body, headers, 400, {"error": error}, {})
        status = None
        if index < len(self.fail_statuses):
            status = self.fail_statuses[index]
        elif self.fail_every and (index + 1) % self.fail_every == 0:
            status = self.fail_status
        if status is not None:
            extra = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
            return self._record(body, headers, status, {"error": {"message": f"injected failure {status}"}}, extra)
        answer = (self.responder or schema_reply)(body)
        content, calls = (answer.get("content"), answer.get("tool_calls")) if isinstance(answer, dict) else (answer, None)
        if self.malformed_rate and (_digest(body.get("messages"), "malformed") % 10_000) / 10_000 < self.malformed_rate:
            if calls:
                calls = [{**calls[0], "arguments": calls[0]["arguments"][: len(calls[0]["arguments"]) // 2]}]
            else:
                content = "Sure! Here is my answer: {" + (content or "").lstrip("{")[: max(0, len(content or "") // 2)]
        completion = len(content or "") // 4 + sum(len(c["arguments"]) for c in calls or []) // 4 + 1
        if anthropic:
            blocks = ([{"type": "text", "text": content}] if content else []) + [
                {"type": "tool_use", "id": f"toolu_{index}_{k}", "name": c["name"], "input": json.loads(c["arguments"] or "{}")
                 if _is_json(c["arguments"]) else {"_raw": c["arguments"]}} for k, c in enumerate(calls or [])]
            payload = {"id": f"msg_{index}", "type": "message", "role": "assistant", "model": body.get("model", "stub"),
                       "content": blocks, "stop_reason": "tool_use" if calls else "end_turn",
                       "usage": {"input_tokens": prompt_tokens, "output_tokens": completion}}
            return self._record(body, headers, 200, payload, {}, content, calls)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [{"id": f"call_{index}_{k}", "type": "function", "function": c} for k, c in enumerate(calls)]
        payload = {
            "id": f"stub-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion},
        }
        return self._record(body, headers, 200, payload, {}, content, calls)

    def _record(self, body: dict, headers: dict, status: int, payload: dict, extra: dict,
                content: str | None = None, calls: list | None = None) -> tuple[int, dict, dict]:
        if not self.keep:
            return status, payload, extra
        with self._lock:
            self.replies.append(content if status == 200 else None)
            self.tool_calls.append(calls if status == 200 else None)
            self.requests.append(body)
            self.statuses.append(status)
            self.headers.append(headers)
        return status, payload, extra


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--responder", default=None, help="module:function that maps a request body to the reply text")
    parser.add_argument("--threads", action="store_true", help="serve with http.server, a thread per connection "
                        "(default: one asyncio loop, which keeps up with hundreds of requests in flight)")
    args = parser.parse_args()
    responder = None
    if args.responder:
        import importlib

        module, _, name = args.responder.partition(":")
        responder = getattr(importlib.import_module(module), name)
    # Standalone, nothing reads the kept requests, and keeping them all would slow a long benchmark's peer.
    stub = StubServer(latency=args.latency, malformed_rate=args.malformed_rate, port=args.port, responder=responder, keep=False)
    if not args.threads:
        import gc

        gc.freeze()  # what is loaded now lives as long as the server; collections need not rescan it
        # A parsed request (thousands of small objects, freed by reference counting as soon as it is answered) would
        # start a young collection every few requests; every 100,000 allocations is enough for the server's rare cycles.
        gc.set_threshold(100_000, *gc.get_threshold()[1:])
        print(f"stub OpenAI-compatible server at http://127.0.0.1:{args.port}/v1 (Ctrl-C to stop)", flush=True)
        stub.serve_asyncio()
    else:
        server = stub.start()
        print(f"stub OpenAI-compatible server at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.stop()
