"""An allowed LLM endpoint must not be able to send the server (and its API key) to another host: redirects are refused."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.llm.client import ChatClient, LLMCallError, run_sync


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_redirect_is_not_followed_and_the_target_sees_nothing():
    hits: list[dict[str, str]] = []

    class Target(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            hits.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    target = serve(Target)

    class Redirector(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{target.server_port}/v1/chat/completions")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirector = serve(Redirector)
    try:
        client = ChatClient(f"http://127.0.0.1:{redirector.server_port}/v1", api_key="secret-key", timeout=30, max_retries=2)

        async def call():
            try:
                return await client.complete({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            finally:
                await client.aclose()

        with pytest.raises(LLMCallError) as failure:
            run_sync(call())
        assert "307" in str(failure.value) and "not followed" in str(failure.value)
        assert failure.value.kind == "http_4xx" and failure.value.attempts == 1   # not retried
        assert hits == []   # the key never reached the other host
    finally:
        redirector.shutdown()
        target.shutdown()
